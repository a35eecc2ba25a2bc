//! Batches: collated on the CPU (`HostBatch`, plain vectors, cheap to build on worker threads)
//! and moved to a burn device on the training thread (`Batch`).

use super::sample::{Sample, VideoShape};
use super::shapes::Attributes;
use burn::tensor::{Device, Tensor, TensorData};

#[derive(Clone, Debug)]
pub struct HostBatch {
    /// (B, 3, T, H, W) row-major.
    pub videos: Vec<f32>,
    pub dims: [usize; 5],
    pub captions: Vec<String>,
    pub attributes: Vec<Option<Attributes>>,
    pub ids: Vec<String>,
}

impl HostBatch {
    pub fn from_samples(samples: Vec<Sample>, shape: VideoShape) -> Self {
        let n = shape.numel();
        let mut videos = Vec::with_capacity(n * samples.len());
        let (mut captions, mut attributes, mut ids) = (Vec::new(), Vec::new(), Vec::new());
        let b = samples.len();
        for s in samples {
            assert_eq!(s.video.len(), n, "sample {} has {} values, expected {n}", s.id, s.video.len());
            videos.extend_from_slice(&s.video);
            captions.push(s.caption);
            attributes.push(s.attributes);
            ids.push(s.id);
        }
        let [c, t, h, w] = shape.dims();
        Self { videos, dims: [b, c, t, h, w], captions, attributes, ids }
    }

    /// A batch whose clips are already in `videos` (B * 3*T*H*W); `samples` carry the rest.
    pub fn from_parts(videos: Vec<f32>, samples: Vec<Sample>, shape: VideoShape) -> Self {
        assert_eq!(videos.len(), samples.len() * shape.numel(), "batch buffer size");
        let [c, t, h, w] = shape.dims();
        let dims = [samples.len(), c, t, h, w];
        let (mut captions, mut attributes, mut ids) = (Vec::new(), Vec::new(), Vec::new());
        for s in samples {
            captions.push(s.caption);
            attributes.push(s.attributes);
            ids.push(s.id);
        }
        Self { videos, dims, captions, attributes, ids }
    }

    pub fn len(&self) -> usize {
        self.captions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.captions.is_empty()
    }

    /// The first `n` samples and the rest (an out-of-memory step retries in halves).
    pub fn split(&self, n: usize) -> (HostBatch, HostBatch) {
        let per_sample = self.videos.len() / self.len().max(1);
        let part = |range: std::ops::Range<usize>| {
            let mut dims = self.dims;
            dims[0] = range.len();
            HostBatch {
                videos: self.videos[range.start * per_sample..range.end * per_sample].to_vec(),
                dims,
                captions: self.captions[range.clone()].to_vec(),
                attributes: self.attributes[range.clone()].to_vec(),
                ids: self.ids[range].to_vec(),
            }
        };
        (part(0..n), part(n..self.len()))
    }

    pub fn to_device(self, device: &Device) -> Batch {
        let videos = Tensor::<5>::from_data(TensorData::new(self.videos, self.dims), device);
        Batch { videos, captions: self.captions, attributes: self.attributes, ids: self.ids }
    }
}

#[derive(Clone, Debug)]
pub struct Batch {
    /// (B, 3, T, H, W) in [-1, 1].
    pub videos: Tensor<5>,
    pub captions: Vec<String>,
    /// Ground truth per sample (shapes only).
    pub attributes: Vec<Option<Attributes>>,
    pub ids: Vec<String>,
}
