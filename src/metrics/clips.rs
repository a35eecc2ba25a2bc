//! Frame-wise FID of clip sets, as the paper reports it: for every frame position t, the FID
//! between frame t of all real clips and frame t of all generated clips; the score is the mean
//! over positions. KID is computed once on all frames pooled.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use burn::store::{ModuleStore, SafetensorsStore};
use burn::tensor::DType;
use serde::{Deserialize, Serialize};

use super::features::Features;
use super::fid::fid;
use super::kid::{KidOptions, kid};
use super::network::FidNetwork;
use crate::store::atomic::write_atomic_with;

/// Name of the single tensor in a clips file.
const CLIPS_TENSOR: &str = "clips";

/// A model value in [-1, 1] as the byte a kept clip stores: `(v + 1) * 127.5`, rounded and
/// clamped.
pub fn to_byte(v: f32) -> u8 {
    ((v + 1.0) * 127.5).round().clamp(0.0, 255.0) as u8
}

/// `n` RGB clips of `frames` frames, uint8, laid out `[n, frames, height, width, 3]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ClipsU8 {
    pub n: usize,
    pub frames: usize,
    pub height: usize,
    pub width: usize,
    pub data: Vec<u8>,
}

impl ClipsU8 {
    pub fn new(n: usize, frames: usize, height: usize, width: usize, data: Vec<u8>) -> Result<Self> {
        let want = n * frames * height * width * 3;
        let got = data.len();
        ensure!(got == want, "clips [{n}, {frames}, {height}, {width}, 3] need {want} bytes, got {got}");
        Ok(Self { n, frames, height, width, data })
    }

    /// From a model's output, `[n, 3, frames, height, width]` floats in [-1, 1] (row-major),
    /// mapped to [0, 255] by `(v + 1) * 127.5`, rounded and clamped.
    pub fn from_channels_first(values: &[f32], [n, c, frames, height, width]: [usize; 5]) -> Self {
        assert_eq!(c, 3, "RGB clips");
        assert_eq!(values.len(), n * 3 * frames * height * width, "values fit the shape");
        let plane = height * width;
        let mut data = vec![0u8; n * frames * plane * 3];
        for i in 0..n {
            for t in 0..frames {
                for p in 0..plane {
                    for ch in 0..3 {
                        let v = values[((i * 3 + ch) * frames + t) * plane + p];
                        data[((i * frames + t) * plane + p) * 3 + ch] = to_byte(v);
                    }
                }
            }
        }
        Self { n, frames, height, width, data }
    }

    /// Append another set of clips of the same shape.
    pub fn extend(&mut self, other: &ClipsU8) {
        assert_eq!((self.frames, self.height, self.width), (other.frames, other.height, other.width));
        self.n += other.n;
        self.data.extend_from_slice(&other.data);
    }

    fn clip_len(&self) -> usize {
        self.frames * self.height * self.width * 3
    }

    /// Clip `i`, `[frames, height, width, 3]`.
    pub fn clip(&self, i: usize) -> &[u8] {
        &self.data[i * self.clip_len()..(i + 1) * self.clip_len()]
    }

    fn shape(&self) -> [usize; 5] {
        [self.n, self.frames, self.height, self.width, 3]
    }

    /// Frame `t` of clip `i`, HWC.
    pub fn frame(&self, i: usize, t: usize) -> &[u8] {
        let size = self.height * self.width * 3;
        let start = (i * self.frames + t) * size;
        &self.data[start..start + size]
    }

    /// Write a safetensors file holding one uint8 tensor `clips`, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let header = serde_json::json!({
            CLIPS_TENSOR: { "dtype": "U8", "shape": self.shape(), "data_offsets": [0, self.data.len()] },
            "__metadata__": { "layout": "n, frames, height, width, rgb" },
        });
        let mut header = serde_json::to_vec(&header)?;
        // The format pads the header with spaces so the data starts 8-byte aligned.
        header.resize(header.len().next_multiple_of(8), b' ');
        write_atomic_with(path, |f| {
            f.write_all(&(header.len() as u64).to_le_bytes())?;
            f.write_all(&header)?;
            f.write_all(&self.data)
        })
        .with_context(|| format!("writing {}", path.display()))
    }

    pub fn load(path: &Path) -> Result<Self> {
        let mut store = SafetensorsStore::from_file(path);
        let tensor = store
            .get_tensor(CLIPS_TENSOR)
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?
            .with_context(|| format!("{} has no `{CLIPS_TENSOR}` tensor", path.display()))?;
        let (_, dtype, shape, _, bytes) =
            tensor.clone().into_parts().map_err(|e| anyhow::anyhow!("reading {}: {e:?}", path.display()))?;
        ensure!(dtype == DType::U8, "{}: clips are {:?}, not uint8", path.display(), dtype);
        let &[n, frames, height, width, 3] = shape.as_slice() else {
            bail!("{}: clips have shape {:?}, not [n, frames, height, width, 3]", path.display(), shape);
        };
        let bytes = bytes.to_vec();
        Self::new(n, frames, height, width, bytes)
    }
}

/// Features of every frame position of a clip set: `per_frame[t]` has one row per clip. Keep
/// the real set's to score several generated sets against it without recomputing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameFeatures {
    pub per_frame: Vec<Features>,
}

impl FrameFeatures {
    pub fn of(clips: &ClipsU8, net: &FidNetwork) -> Self {
        let per_frame = (0..clips.frames)
            .map(|t| {
                let images: Vec<&[u8]> = (0..clips.n).map(|i| clips.frame(i, t)).collect();
                net.features(&images, clips.height, clips.width)
            })
            .collect();
        Self { per_frame }
    }

    fn samples(&self) -> usize {
        self.per_frame.first().map_or(0, |f| f.rows)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FramewiseFid {
    /// FID at each frame position.
    pub per_frame: Vec<f64>,
    /// Mean of `per_frame`: the paper's frame-wise FID.
    pub fid: f64,
    /// KID on all frames of all clips pooled.
    pub kid_mean: f64,
    pub kid_std: f64,
    pub kid_subset_size: usize,
    /// Real and generated clips, i.e. samples behind each frame position's FID.
    pub real_per_frame: usize,
    pub generated_per_frame: usize,
    pub feature_dim: usize,
    /// Fewer samples per frame position than feature_dim + 1: see [`FramewiseFid::caveat`].
    pub rank_deficient: bool,
}

impl FramewiseFid {
    /// What a reader must know before comparing the numbers, if anything.
    pub fn caveat(&self) -> Option<String> {
        self.rank_deficient.then(|| {
            format!(
                "FID on {} real / {} generated samples per frame, not more than the {}-d features: the \
                 covariances are singular, FID is biased upward and comparable only at equal sample \
                 counts; prefer KID",
                self.real_per_frame, self.generated_per_frame, self.feature_dim
            )
        })
    }
}

/// Frame-wise FID and pooled KID from precomputed features.
pub fn framewise_from_features(real: &FrameFeatures, generated: &FrameFeatures) -> Result<FramewiseFid> {
    let frames = real.per_frame.len();
    ensure!(frames > 0, "frame-wise FID of clips without frames");
    ensure!(generated.per_frame.len() == frames, "real clips have {frames} frames, generated ones {}", generated.per_frame.len());
    let scores = real
        .per_frame
        .iter()
        .zip(&generated.per_frame)
        .enumerate()
        .map(|(t, (r, g))| fid(r, g).with_context(|| format!("frame {t}")))
        .collect::<Result<Vec<_>>>()?;
    let (real_all, generated_all) = (Features::concat(&real.per_frame), Features::concat(&generated.per_frame));
    let pooled = kid(&real_all, &generated_all, &KidOptions::default())?;
    let per_frame: Vec<f64> = scores.iter().map(|s| s.fid).collect();
    Ok(FramewiseFid {
        fid: per_frame.iter().sum::<f64>() / frames as f64,
        per_frame,
        kid_mean: pooled.mean,
        kid_std: pooled.std,
        kid_subset_size: pooled.subset_size,
        real_per_frame: real.samples(),
        generated_per_frame: generated.samples(),
        feature_dim: scores[0].dim,
        rank_deficient: scores.iter().any(|s| s.rank_deficient),
    })
}

/// Frame-wise FID and pooled KID of generated clips against real ones.
pub fn framewise(real: &ClipsU8, generated: &ClipsU8, net: &FidNetwork) -> Result<FramewiseFid> {
    ensure!(real.frames == generated.frames, "real clips have {} frames, generated ones {}", real.frames, generated.frames);
    framewise_from_features(&FrameFeatures::of(real, net), &FrameFeatures::of(generated, net))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::testing::{gaussian, mixing};

    #[test]
    fn clips_round_trip_through_safetensors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clips.safetensors");
        let data: Vec<u8> = (0..2 * 3 * 4 * 5 * 3).map(|i| (i * 31 % 256) as u8).collect();
        let clips = ClipsU8::new(2, 3, 4, 5, data).unwrap();
        clips.save(&path).unwrap();
        assert_eq!(ClipsU8::load(&path).unwrap(), clips);
        assert_eq!(clips.frame(1, 2), &clips.data[(5 * 60)..(6 * 60)]);
        assert!(ClipsU8::new(2, 3, 4, 5, vec![0; 7]).is_err());
    }

    #[test]
    fn framewise_averages_the_per_frame_fids_and_flags_few_samples() {
        let mix = mixing(6, 1);
        let set = |seed: u64, shifts: &[f64]| FrameFeatures {
            per_frame: shifts.iter().enumerate().map(|(t, &s)| gaussian(30, seed * 10 + t as u64, &mix, s)).collect(),
        };
        let real = set(1, &[0.0, 0.0, 0.0]);
        let generated = set(2, &[0.0, 0.5, 1.0]);
        let r = framewise_from_features(&real, &generated).unwrap();
        for t in 0..3 {
            assert_eq!(r.per_frame[t], fid(&real.per_frame[t], &generated.per_frame[t]).unwrap().fid);
        }
        assert!(r.per_frame[0] < r.per_frame[1] && r.per_frame[1] < r.per_frame[2], "{r:?}");
        assert!((r.fid - r.per_frame.iter().sum::<f64>() / 3.0).abs() < 1e-12);
        assert_eq!((r.real_per_frame, r.generated_per_frame, r.feature_dim, r.kid_subset_size), (30, 30, 6, 90));
        assert!(!r.rank_deficient && r.caveat().is_none());

        let few = set(3, &[0.0, 0.0, 0.0]);
        let first_five = |f: &Features| Features::new(5, 6, f.data[..30].to_vec());
        let few = FrameFeatures { per_frame: few.per_frame.iter().map(first_five).collect() };
        let r = framewise_from_features(&real, &few).unwrap();
        assert!(r.rank_deficient && r.caveat().unwrap().contains("5 generated"));
        assert!(framewise_from_features(&real, &FrameFeatures { per_frame: few.per_frame[..2].to_vec() }).is_err());
    }
}
