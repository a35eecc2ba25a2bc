//! SwiGLU feed-forward: `W3 (silu(W1 x) * W2 x)`, bias-free, inner width `int(hidden * expansion)`.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::silu;

use super::precision::{self, Compute};

#[derive(Module, Debug)]
pub struct SwiGlu {
    pub gate: Linear,
    pub up: Linear,
    pub down: Linear,
    #[module(skip)]
    pub compute: Compute,
}

/// The inner width, truncated like Python's `int(hidden * expansion)`.
pub fn inner_width(hidden: usize, expansion: f64) -> usize {
    (hidden as f64 * expansion) as usize
}

impl SwiGlu {
    pub fn new(hidden: usize, expansion: f64, compute: Compute, device: &Device) -> Self {
        let inner = inner_width(hidden, expansion);
        let linear = |i, o| LinearConfig::new(i, o).with_bias(false).init(device);
        Self { gate: linear(hidden, inner), up: linear(hidden, inner), down: linear(inner, hidden), compute }
    }

    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let linear = |lin, x| precision::linear(self.compute, lin, x);
        linear(&self.down, silu(linear(&self.gate, x.clone())) * linear(&self.up, x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;

    #[test]
    fn swiglu_keeps_the_width_and_has_three_bias_free_matrices() {
        let device = cpu();
        let ffn = SwiGlu::new(32, 2.0, Compute::F32, &device);
        let y = ffn.forward(Tensor::<3>::zeros([2, 5, 32], &device));
        assert_eq!(y.dims(), [2, 5, 32]);
        assert_eq!(ffn.num_params(), 3 * 32 * 64);
    }
}
