//! Convergence predictors: the probability that reasoning may stop after the current step.
//!
//! - paper (`mlp`): a 2-layer MLP on the per-token mean and variance of the latent (2 x tokens
//!   inputs: 64 for 32 tokens), sigmoid; trained with BCE against "the reconstruction stopped
//!   improving" labels.
//! - reference (`linear`): `sigmoid(Linear(hidden, 1)(mean over tokens of z_H))`, never trained.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{gelu, sigmoid};

use crate::spec::types::HaltingKind;

#[derive(Module, Debug)]
pub struct MlpHalting {
    pub hidden_layer: Linear,
    pub out: Linear,
}

#[derive(Module, Debug)]
pub struct LinearHalting {
    pub linear: Linear,
}

// One per model: a boxed variant would save nothing and change the module's record.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Halting {
    Mlp(MlpHalting),
    Linear(LinearHalting),
}

impl Halting {
    /// `None` for `kind: none` (always run `max_steps`). The MLP's hidden width is `hidden`.
    pub fn new(kind: HaltingKind, tokens: usize, hidden: usize, device: &Device) -> Option<Self> {
        match kind {
            HaltingKind::Mlp => Some(Self::Mlp(MlpHalting {
                hidden_layer: LinearConfig::new(2 * tokens, hidden).init(device),
                out: LinearConfig::new(hidden, 1).init(device),
            })),
            HaltingKind::Linear => Some(Self::Linear(LinearHalting { linear: LinearConfig::new(hidden, 1).init(device) })),
            HaltingKind::None => None,
        }
    }

    /// `z: [batch, tokens, hidden]` -> halting probability `[batch]`.
    pub fn probability(&self, z: Tensor<3>) -> Tensor<1> {
        let [batch, tokens, width] = z.dims();
        let logit = match self {
            Self::Mlp(m) => {
                // Statistics over each token's channels: where every token sits and how spread it is.
                let (variance, mean) = z.var_mean_bias(2);
                let features = Tensor::cat(vec![mean, variance], 1).reshape([batch, 2 * tokens]);
                m.out.forward(gelu(m.hidden_layer.forward(features)))
            }
            Self::Linear(m) => m.linear.forward(z.mean_dim(1).reshape([batch, width])),
        };
        sigmoid(logit).reshape([batch])
    }
}

/// The paper's convergence criterion: a step whose reconstruction MSE changed by less than 5%
/// relative to the previous step's counts as converged (label 1).
pub const CONVERGED_RELATIVE_CHANGE: f64 = 0.05;

/// Per-sample mean squared error `[batch]` between two clips `[batch, ...]`.
pub fn per_sample_mse<const D: usize>(video: Tensor<D>, target: Tensor<D>) -> Tensor<1> {
    let batch = video.dims()[0];
    let per_sample = video.shape().num_elements() / batch;
    (video - target).powf_scalar(2.0).reshape([batch, per_sample]).mean_dim(1).reshape([batch])
}

/// Halting labels per step from each step's per-sample reconstruction MSE (`[batch]` each). The
/// first step has nothing to compare with and is labelled 0. Labels carry no gradient.
pub fn convergence_labels(mse: &[Tensor<1>]) -> Vec<Tensor<1>> {
    let mut labels = Vec::with_capacity(mse.len());
    for (k, now) in mse.iter().enumerate() {
        let now = now.clone().detach();
        labels.push(match k {
            0 => now.zeros_like(),
            _ => {
                let previous = mse[k - 1].clone().detach();
                let change = (now - previous.clone()).abs() / previous.clamp_min(1e-12);
                change.lower_elem(CONVERGED_RELATIVE_CHANGE).float()
            }
        });
    }
    labels
}

/// Mean binary cross-entropy of halting probabilities against labels over all steps and samples.
pub fn halting_bce(probs: &[Tensor<1>], labels: &[Tensor<1>]) -> Tensor<1> {
    let p = Tensor::cat(probs.to_vec(), 0).clamp(1e-7, 1.0 - 1e-7);
    let y = Tensor::cat(labels.to_vec(), 0);
    let loss = y.clone() * p.clone().log() + (y.neg() + 1.0) * (p.neg() + 1.0).log();
    loss.mean().neg()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use burn::tensor::Distribution;

    #[test]
    fn both_predictors_give_one_probability_per_sample() {
        let device = cpu();
        let z = Tensor::<3>::random([3, 4, 32], Distribution::Normal(0.0, 1.0), &device);
        let mlp = Halting::new(HaltingKind::Mlp, 4, 32, &device).unwrap();
        let linear = Halting::new(HaltingKind::Linear, 4, 32, &device).unwrap();
        for p in [mlp.probability(z.clone()), linear.probability(z)] {
            assert_eq!(p.dims(), [3]);
            let p = p.into_data().try_to_vec::<f32>().unwrap();
            assert!(p.iter().all(|p| (0.0..=1.0).contains(p)));
        }
        assert_eq!(mlp.num_params(), (8 * 32 + 32) + (32 + 1));
        assert_eq!(linear.num_params(), 33);
        assert!(Halting::new(HaltingKind::None, 4, 32, &device).is_none());
    }

    #[test]
    fn labels_mark_steps_whose_mse_stopped_changing() {
        let device = cpu();
        let mse = [[1.0, 1.0], [0.5, 0.97], [0.49, 0.2]].map(|m| Tensor::<1>::from_data(m, &device));
        let labels: Vec<Vec<f32>> = convergence_labels(&mse).into_iter().map(|l| l.into_data().try_to_vec().unwrap()).collect();
        assert_eq!(labels, vec![vec![0.0, 0.0], vec![0.0, 1.0], vec![1.0, 0.0]]);
        let p = [Tensor::<1>::from_data([0.5, 0.5], &device)];
        let bce = halting_bce(&p, &[Tensor::from_data([1.0, 0.0], &device)]).into_scalar::<f32>();
        assert!((bce - std::f32::consts::LN_2).abs() < 1e-5, "{bce}");
    }
}
