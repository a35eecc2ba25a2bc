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
pub struct MlpHalting<B: Backend> {
    pub hidden_layer: Linear<B>,
    pub out: Linear<B>,
}

#[derive(Module, Debug)]
pub struct LinearHalting<B: Backend> {
    pub linear: Linear<B>,
}

#[derive(Module, Debug)]
pub enum Halting<B: Backend> {
    Mlp(MlpHalting<B>),
    Linear(LinearHalting<B>),
}

impl<B: Backend> Halting<B> {
    /// `None` for `kind: none` (always run `max_steps`). The MLP's hidden width is `hidden`.
    pub fn new(kind: HaltingKind, tokens: usize, hidden: usize, device: &B::Device) -> Option<Self> {
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
    pub fn probability(&self, z: Tensor<B, 3>) -> Tensor<B, 1> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::NdArray;
    use burn::tensor::Distribution;

    type B = NdArray;

    #[test]
    fn both_predictors_give_one_probability_per_sample() {
        let device = Default::default();
        let z = Tensor::<B, 3>::random([3, 4, 32], Distribution::Normal(0.0, 1.0), &device);
        let mlp = Halting::<B>::new(HaltingKind::Mlp, 4, 32, &device).unwrap();
        let linear = Halting::<B>::new(HaltingKind::Linear, 4, 32, &device).unwrap();
        for p in [mlp.probability(z.clone()), linear.probability(z)] {
            assert_eq!(p.dims(), [3]);
            let p = p.into_data().to_vec::<f32>().unwrap();
            assert!(p.iter().all(|p| (0.0..=1.0).contains(p)));
        }
        assert_eq!(mlp.num_params(), (8 * 32 + 32) + (32 + 1));
        assert_eq!(linear.num_params(), 33);
        assert!(Halting::<B>::new(HaltingKind::None, 4, 32, &device).is_none());
    }
}
