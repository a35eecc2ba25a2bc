//! Fréchet Video Distance (Unterthiner et al., 2018): the Fréchet distance ([`super::fid`])
//! between the I3D embeddings ([`super::i3d`]) of real and generated clips, one embedding per
//! clip.
//!
//! Preprocessing follows the reference code (google-research `frechet_video_distance`): every
//! frame is resized to 224x224 with TensorFlow 1's `resize_bilinear` convention
//! ([`Bilinear::Legacy`]; it is the reference's, and FVDs are comparable only under one resize)
//! and scaled by `v / 127.5 - 1`; the clip keeps its frames. I3D needs at least 9 frames
//! ([`MIN_FRAMES`]): fewer leave its logits pool no time position, so the reference yields no
//! number (an empty mean) and neither does this; repeating or interpolating frames would measure
//! a different video, so no clip is changed in time.
//!
//! Few clips: the usual protocol (the FVD paper, StyleGAN-V) uses 2048 clips per set. With fewer
//! the number is biased upward by an amount that shrinks with the count, strongly so at or below
//! the 400 dimensions of the embedding (singular covariances): [`Fvd::caveat`] says so, and such
//! FVDs compare only at equal clip counts.

use std::path::Path;

use anyhow::{Result, ensure};
use burn::tensor::{Device, Tensor, TensorData};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::clips::ClipsU8;
use super::features::Features;
use super::fid::fid;
use super::i3d::{I3d, INPUT_SIZE, LOGITS, MIN_FRAMES};
use super::resize::{Bilinear, resize_planes};

/// Clips per forward pass: bounds activation memory (the first convolution's output alone is
/// 64 x T/2 x 112 x 112 floats, 26 MB per 16-frame clip).
pub const DEFAULT_BATCH: usize = 4;
/// Clips per set in the usual FVD protocol.
pub const USUAL_CLIPS: usize = 2048;

/// I3D with its preprocessing, on one device (without autodiff: nothing here needs gradients).
#[derive(Debug)]
pub struct FvdNetwork {
    net: I3d,
    device: Device,
    batch: usize,
}

impl FvdNetwork {
    pub fn load(weights: &Path, device: &Device) -> Result<Self, String> {
        Ok(Self { net: I3d::load(weights, device)?, device: device.clone(), batch: DEFAULT_BATCH })
    }

    pub fn with_batch(mut self, batch: usize) -> Self {
        assert!(batch > 0, "FvdNetwork batch must be positive");
        self.batch = batch;
        self
    }

    /// The 400-d embedding of every clip, in order; an error for clips of fewer than 9 frames.
    pub fn embeddings(&self, clips: &ClipsU8) -> Result<Features> {
        ensure!(
            clips.frames >= MIN_FRAMES,
            "FVD needs clips of at least {MIN_FRAMES} frames (I3D downsamples time by 8 and pools two positions), these have {}",
            clips.frames
        );
        let (t, side) = (clips.frames, INPUT_SIZE);
        let frame = 3 * side * side;
        let mut data = Vec::with_capacity(clips.n * LOGITS);
        for first in (0..clips.n).step_by(self.batch) {
            let b = self.batch.min(clips.n - first);
            // Frame-major `[b, t, 3, side, side]` so frames resize in parallel; permuted on the device.
            let mut input = vec![0f32; b * t * frame];
            input.par_chunks_mut(frame).enumerate().for_each(|(k, out)| {
                let image = clips.frame(first + k / t, k % t);
                resize_planes(image, clips.height, clips.width, side, Bilinear::Legacy, out, side * side);
            });
            let x = Tensor::<5>::from_data(TensorData::new(input, [b, t, 3, side, side]), &self.device).permute([0, 2, 1, 3, 4]);
            let logits = self.net.forward(x).into_data().convert::<f32>();
            data.extend(logits.try_to_vec::<f32>().expect("logits are float"));
        }
        Ok(Features::new(clips.n, LOGITS, data))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fvd {
    pub fvd: f64,
    /// Real and generated clips behind it.
    pub real: usize,
    pub generated: usize,
    /// A set has at most 400 clips: the covariances are singular.
    pub rank_deficient: bool,
}

impl Fvd {
    /// What a reader must know before comparing the number: set whenever a set has fewer clips
    /// than the usual protocol's.
    pub fn caveat(&self) -> Option<String> {
        let few = self.real.min(self.generated);
        (few < USUAL_CLIPS).then(|| {
            let singular = match self.rank_deficient {
                true => format!(", not more than the {LOGITS}-d embedding (singular covariances)"),
                false => String::new(),
            };
            format!(
                "FVD on {} real / {} generated clips, fewer than the usual {USUAL_CLIPS}{singular}: it is biased upward \
                 by an amount that shrinks with the count, so it compares only with FVDs on as many clips",
                self.real, self.generated
            )
        })
    }
}

/// FVD from precomputed embeddings (one row per clip).
pub fn fvd_from_embeddings(real: &Features, generated: &Features) -> Result<Fvd> {
    let f = fid(real, generated).map_err(|e| anyhow::anyhow!("FVD: {e}"))?;
    Ok(Fvd { fvd: f.fid, real: f.n_a, generated: f.n_b, rank_deficient: f.rank_deficient })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::testing::{gaussian, mixing};

    #[test]
    fn a_set_against_itself_is_zero_and_a_shift_is_not() {
        let mix = mixing(LOGITS, 1);
        let a = gaussian(40, 1, &mix, 0.0);
        let same = fvd_from_embeddings(&a, &a).unwrap();
        let trace: f64 = (0..LOGITS).map(|j| (0..40).map(|i| (a.row(i)[j] as f64).powi(2)).sum::<f64>() / 40.0).sum();
        assert!(same.fvd.abs() < 1e-9 * trace, "{same:?} vs scale {trace}");
        // The same clips shifted by 0.5 in every dimension: only |Δμ|² = 400 * 0.25 is added.
        let shifted = Features::new(40, LOGITS, a.data.iter().map(|v| v + 0.5).collect());
        let far = fvd_from_embeddings(&a, &shifted).unwrap();
        assert!((far.fvd - 100.0).abs() < 1e-6 * 100.0, "{far:?}");
        assert_eq!((far.real, far.generated, far.rank_deficient), (40, 40, true));
        let caveat = far.caveat().unwrap();
        assert!(caveat.contains("40 real / 40 generated") && caveat.contains("singular"), "{caveat}");
        let many = Fvd { fvd: 1.0, real: USUAL_CLIPS, generated: USUAL_CLIPS, rank_deficient: false };
        assert_eq!(many.caveat(), None);
    }

    #[test]
    fn short_clips_are_refused_with_the_reason() {
        let Some(dir) = crate::metrics::testing::i3d_assets() else { return };
        let net = FvdNetwork::load(&dir.join(crate::metrics::I3D_WEIGHTS), &crate::backend::cpu()).unwrap();
        let clips = ClipsU8::new(2, 8, 4, 4, vec![0; 2 * 8 * 4 * 4 * 3]).unwrap();
        let e = net.embeddings(&clips).unwrap_err().to_string();
        assert!(e.contains("at least 9 frames") && e.contains("these have 8"), "{e}");
    }
}
