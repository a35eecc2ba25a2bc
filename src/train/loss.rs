//! The training objective of one micro-batch: pixel-space MSE of the final clip against the
//! target clip, plus the convergence predictor's BCE against the paper's "reconstruction stopped
//! improving" labels. The objectives differ only in where the reasoning starts.

use burn::prelude::*;

use crate::model::flow::{FlowNoise, interpolate};
use crate::model::halting::{convergence_labels, halting_bce, per_sample_mse};
use crate::model::{ReasonOptions, TextToVideo};

/// What the reasoning starts from during training.
pub enum Start {
    /// `paper`: the encoded target clip (generation starts from noise: a mismatch by design).
    EncodedTarget,
    /// `noise_regression`: the same noise prior generation uses.
    Noise(Box<Tensor<3>>),
    /// `flow_matching`: the encoded `x_t` between pixel noise and the target at time `t`, with
    /// the time embedded; the clip the model makes of it is its prediction of the target.
    Flow(Box<FlowNoise>),
}

impl Start {
    /// The latent the reasoning starts from for target clips `videos`.
    pub fn latent(self, model: &TextToVideo, videos: Tensor<5>) -> Tensor<3> {
        match self {
            Self::EncodedTarget => model.encode_video(videos),
            Self::Noise(noise) => *noise,
            Self::Flow(flow) => model.encode_flow(interpolate(flow.x0, videos, flow.t.clone()), flow.t),
        }
    }
}

pub struct Loss {
    /// `mse + weight * halting_bce`, `[1]`.
    pub total: Tensor<1>,
    pub mse: Tensor<1>,
    pub halting_bce: Option<Tensor<1>>,
}

/// The loss of a batch of `videos` (`[batch, 3, T, H, W]` in [-1, 1]) with captions `ids, mask`.
/// The halting BCE is computed when the model has a predictor and `halting_weight > 0`; it needs
/// every step's clip, so only then are the intermediate steps decoded.
pub fn batch_loss(
    model: &TextToVideo,
    ids: Tensor<2, Int>,
    mask: Tensor<2, Bool>,
    videos: Tensor<5>,
    start: Start,
    halting_weight: f64,
) -> Loss {
    let train_halting = model.halting.is_some() && halting_weight > 0.0;
    let v = start.latent(model, videos.clone());
    let options = ReasonOptions { early_stop: false, decode_steps: train_halting };
    let out = model.forward(ids, mask, v, options);
    let mse = (out.video - videos.clone()).powf_scalar(2.0).mean();
    if !train_halting {
        return Loss { total: mse.clone(), mse, halting_bce: None };
    }
    let step_mse: Vec<Tensor<1>> =
        out.steps.iter().map(|s| per_sample_mse(s.video.clone().expect("decoded steps"), videos.clone())).collect();
    let labels = convergence_labels(&step_mse);
    let probs: Vec<Tensor<1>> = out.steps.iter().map(|s| s.halt_prob.clone().expect("a halting predictor")).collect();
    let bce = halting_bce(&probs, &labels);
    Loss { total: mse.clone() + bce.clone() * halting_weight, mse, halting_bce: Some(bce) }
}
