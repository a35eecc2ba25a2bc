//! A random-access source of samples and a `Dataset` view (a subset of its indices), so a
//! train/eval split never copies clips.

use super::sample::{Clip, Sample, VideoShape};
use super::shapes::ShapeItem;
use std::sync::Arc;

pub trait Source: Send + Sync {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn shape(&self) -> VideoShape;
    /// Must be a pure function of `index`: the same sample whichever thread asks, whenever.
    fn get(&self, index: usize) -> Sample;

    /// Write sample `index`'s clip into `out` (3*T*H*W values) and return the rest of the
    /// sample with an empty `video`: batches are filled in place, without a copy per sample.
    fn get_into(&self, index: usize, out: &mut [f32]) -> Sample {
        let mut s = self.get(index);
        out.copy_from_slice(&s.video);
        s.video = Vec::new();
        s
    }

    /// Ground truth of sample `index` down to its layout, for metrics that re-render what was
    /// asked (shapes only; real clips have none).
    fn shape_item(&self, _index: usize) -> Option<ShapeItem> {
        None
    }
}

/// Decoded real clips held in memory.
pub struct ClipSource {
    pub shape: VideoShape,
    pub clips: Vec<Clip>,
}

impl Source for ClipSource {
    fn len(&self) -> usize {
        self.clips.len()
    }
    fn shape(&self) -> VideoShape {
        self.shape
    }
    fn get(&self, index: usize) -> Sample {
        self.clips[index].to_sample()
    }

    fn get_into(&self, index: usize, out: &mut [f32]) -> Sample {
        let c = &self.clips[index];
        for (o, &p) in out.iter_mut().zip(&c.pixels) {
            *o = p as f32 / 127.5 - 1.0;
        }
        Sample { id: c.id.clone(), caption: c.caption.clone(), video: Vec::new(), attributes: None }
    }
}

#[derive(Clone)]
pub struct Dataset {
    source: Arc<dyn Source>,
    indices: Arc<Vec<usize>>,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Dataset({} samples of {:?})", self.len(), self.shape())
    }
}

impl Dataset {
    pub fn new(source: Arc<dyn Source>, indices: Vec<usize>) -> Self {
        assert!(indices.iter().all(|&i| i < source.len()), "dataset index out of range");
        Self { source, indices: Arc::new(indices) }
    }

    /// Every sample of `source`, in order.
    pub fn all(source: Arc<dyn Source>) -> Self {
        let n = source.len();
        Self::new(source, (0..n).collect())
    }

    pub fn len(&self) -> usize {
        self.indices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    pub fn shape(&self) -> VideoShape {
        self.source.shape()
    }

    pub fn get(&self, i: usize) -> Sample {
        self.source.get(self.indices[i])
    }

    /// See `Source::get_into`.
    pub fn get_into(&self, i: usize, out: &mut [f32]) -> Sample {
        self.source.get_into(self.indices[i], out)
    }

    /// Every sample's shapes ground truth, in order; none unless all have one.
    pub fn shape_items(&self) -> Option<Vec<ShapeItem>> {
        self.indices.iter().map(|&i| self.source.shape_item(i)).collect()
    }

    /// Indices into the underlying source (stable identity of each sample).
    pub fn source_indices(&self) -> &[usize] {
        &self.indices
    }

    /// The dataset of the first `n` samples (or all).
    pub fn head(&self, n: usize) -> Dataset {
        Self { source: self.source.clone(), indices: Arc::new(self.indices[..n.min(self.len())].to_vec()) }
    }

    /// The first `n` samples (or all), in parallel; order is preserved.
    pub fn take(&self, n: usize) -> Vec<Sample> {
        use rayon::prelude::*;
        (0..n.min(self.len())).into_par_iter().map(|i| self.get(i)).collect()
    }
}
