//! The number format of the model's matrix products (`training.precision`).
//!
//! Parameters are always f32 (the master weights, which the optimizer updates in f32). With
//! [`Compute::Bf16`] every `Linear` of the transformer blocks, the cross-attentions, the time
//! embedding and the reference codec's projection, and the two attention products (`q kᵀ` and
//! `p v`), round their inputs and weights to bf16, multiply, and return f32: the casts are
//! differentiable, so the gradients reach the f32 weights in f32. Everything else stays f32:
//! norms, softmax, the halting predictor, reductions, the loss, and the video codec's
//! convolutions (burn's bf16 convolutions are not used, so the codecs' numbers match `fp32`).
//! With [`Compute::F32`] the functions here are the plain f32 ops, bit for bit.
//!
//! The value is fixed when the model is built (`ModelConfig::compute`) and kept by each module
//! that multiplies, as a constant field outside the module's record.

use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::FloatDType;
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;

use super::rows;
use crate::spec::types::Precision;

/// The number format a module's matrix products compute in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compute {
    /// f32 inputs and weights (TF32 products on a CUDA GPU, see `Precision::Fp32`).
    #[default]
    F32,
    /// bf16 inputs and weights, results returned as f32.
    Bf16,
}

impl Compute {
    /// The products' format of a run trained at `precision`. `tf32` is refused by validation
    /// and computes as `fp32`, which is what the GPU runs already.
    pub fn of(precision: Precision) -> Self {
        match precision {
            Precision::Bf16 => Self::Bf16,
            Precision::Fp32 | Precision::Tf32 => Self::F32,
        }
    }

    /// `x` in this format (unchanged for f32).
    fn narrow<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Self::F32 => x,
            Self::Bf16 => x.cast(FloatDType::BF16),
        }
    }

    /// A product's result back in f32 (unchanged for f32).
    fn widen<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Self::F32 => x,
            Self::Bf16 => x.cast(FloatDType::F32),
        }
    }
}

/// `a` times `b` (batched over the leading axes) in `compute`, an f32 result.
pub fn matmul<const D: usize>(compute: Compute, a: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
    match compute {
        Compute::F32 => a.matmul(b),
        Compute::Bf16 => compute.widen(compute.narrow(a).matmul(compute.narrow(b))),
    }
}

/// burn's `Linear` on `x` `[.., in]` in `compute`; the bias is added in f32.
pub fn linear<const D: usize>(compute: Compute, lin: &Linear, x: Tensor<D>) -> Tensor<D> {
    match compute {
        Compute::F32 => lin.forward(x),
        Compute::Bf16 => {
            let weight = compute.narrow(lin.weight.val());
            let y = compute.widen(burn::tensor::module::linear(compute.narrow(x), weight, None));
            match &lin.bias {
                Some(bias) => y + bias.val().unsqueeze(),
                None => y,
            }
        }
    }
}

/// [`rows::linear`] (the rows split into chunks on a GPU) in `compute`; the bias is added in f32.
pub fn rows_linear<const D: usize>(compute: Compute, lin: &Linear, x: Tensor<D>) -> Tensor<D> {
    match compute {
        Compute::F32 => rows::linear(lin, x),
        Compute::Bf16 => {
            let y = compute.widen(rows::matmul(compute.narrow(x), compute.narrow(lin.weight.val())));
            match &lin.bias {
                Some(bias) => rows::add(y, bias.val()),
                None => y,
            }
        }
    }
}

/// softmax(q kᵀ / sqrt(d) [masked]) v for `[batch, heads, len, head_dim]` tensors; `mask`
/// (`true` = never attended to) is `[batch, heads, q_len, k_len]`; `causal` also hides the keys
/// after each query.
///
/// f32 runs burn's fused op (a flash kernel where the backend has one). bf16 spells it out: the
/// two products in bf16, the scaling, masking and softmax in f32.
pub fn scaled_dot_product(
    compute: Compute,
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    mask: Option<Tensor<4, Bool>>,
    causal: bool,
) -> Tensor<4> {
    if compute == Compute::F32 {
        let options = AttentionModuleOptions { is_causal: causal, ..Default::default() };
        return attention(q, k, v, mask, None, options);
    }
    let [batch, heads, q_len, head_dim] = q.dims();
    let k_len = k.dims()[2];
    let scores = matmul(compute, q, k.swap_dims(2, 3)).mul_scalar(1.0 / (head_dim as f64).sqrt());
    let scores = match mask {
        Some(mask) => scores.mask_fill(mask, f32::NEG_INFINITY),
        None => scores,
    };
    let scores = if causal {
        // `true` where key > query, aligned at the last query and key as burn's op does; a
        // constant, so a recorded CUDA graph copies nothing from the host.
        let future = super::constants::bools("causal mask", [1, 1, q_len, k_len], &scores.device(), || {
            (0..q_len).flat_map(|i| (0..k_len).map(move |j| j + q_len > i + k_len)).collect()
        })
        .expand([batch, heads, q_len, k_len]);
        scores.mask_fill(future, f32::NEG_INFINITY)
    } else {
        scores
    };
    // As burn's own decomposition: a row with every key masked gets zero weights, not NaN.
    let max = scores.clone().max_dim(3).clamp_min(f32::MIN);
    let weights = (scores - max).exp();
    let weights = weights.clone() / weights.sum_dim(3).clamp_min(f32::MIN_POSITIVE);
    matmul(compute, weights, v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use burn::nn::LinearConfig;
    use burn::tensor::{DType, Distribution};

    fn relative<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
        let scale = b.clone().abs().max().into_scalar::<f32>();
        (a - b).abs().max().into_scalar::<f32>() / scale
    }

    #[test]
    fn bf16_products_are_within_bf16_rounding_and_return_f32() {
        let device = cpu();
        let lin = LinearConfig::new(64, 48).init(&device);
        let x = Tensor::<3>::random([2, 5, 64], Distribution::Normal(0.0, 1.0), &device);
        for f in [linear::<3>, rows_linear::<3>] {
            let (full, half) = (f(Compute::F32, &lin, x.clone()), f(Compute::Bf16, &lin, x.clone()));
            assert_eq!(half.dtype(), DType::F32);
            let rel = relative(half, full);
            assert!(rel > 0.0 && rel < 1e-2, "linear: {rel}");
        }
        let w = Tensor::<3>::random([2, 64, 7], Distribution::Normal(0.0, 1.0), &device);
        let (full, half) = (matmul(Compute::F32, x.clone(), w.clone()), matmul(Compute::Bf16, x, w));
        assert_eq!(half.dtype(), DType::F32);
        let rel = relative(half, full);
        assert!(rel > 0.0 && rel < 1e-2, "matmul: {rel}");
    }

    #[test]
    fn f32_weights_get_f32_gradients_through_bf16_products() {
        let device = cpu().autodiff();
        let lin = LinearConfig::new(16, 8).init(&device);
        let x = Tensor::<2>::random([4, 16], Distribution::Normal(0.0, 1.0), &device);
        let grad = |compute| {
            let grads = linear(compute, &lin, x.clone()).powf_scalar(2.0).sum().backward();
            (lin.weight.val().grad(&grads).expect("weight gradient"), lin.bias.as_ref().unwrap().val().grad(&grads).unwrap())
        };
        let ((w32, b32), (w16, b16)) = (grad(Compute::F32), grad(Compute::Bf16));
        assert_eq!((w16.dtype(), b16.dtype()), (DType::F32, DType::F32));
        assert!(relative(w16, w32) < 2e-2);
        assert!(relative(b16, b32) < 2e-2);
    }

    #[test]
    fn bf16_attention_matches_the_fused_op() {
        let device = cpu();
        let qkv = || Tensor::<4>::random([2, 4, 6, 8], Distribution::Normal(0.0, 1.0), &device);
        let (q, k, v) = (qkv(), qkv(), qkv());
        let mask = Tensor::<2, Bool>::from_data([[false, false, false, false, true, true], [false; 6]], &device)
            .reshape([2, 1, 1, 6])
            .expand([2, 4, 6, 6]);
        for (mask, causal) in [(None, false), (Some(mask.clone()), false), (None, true), (Some(mask), true)] {
            let full = scaled_dot_product(Compute::F32, q.clone(), k.clone(), v.clone(), mask.clone(), causal);
            let half = scaled_dot_product(Compute::Bf16, q.clone(), k.clone(), v.clone(), mask, causal);
            assert_eq!(half.dtype(), DType::F32);
            let rel = relative(half, full);
            assert!(rel < 2e-2, "mask and causal {causal}: {rel}");
        }
    }
}
