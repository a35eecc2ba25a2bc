//! Multi-head attention: self-attention (fused, bias-free qkv; optional RoPE and causal mask)
//! and cross-attention (separate bias-free q, k, v). In f32 both run on burn's fused `attention`
//! op, which backends with a flash kernel (CUDA) accelerate and the others decompose; in bf16 on
//! [`precision::scaled_dot_product`]'s spelled-out form.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use super::precision::{self, Compute};
use super::rope::Rope;

/// Tokens to attend to, with an optional key-padding mask `[batch, len]` (`true` = padding,
/// never attended to).
#[derive(Debug, Clone)]
pub struct Context {
    pub tokens: Tensor<3>,
    pub pad: Option<Tensor<2, Bool>>,
}

impl Context {
    pub fn new(tokens: Tensor<3>, pad: Option<Tensor<2, Bool>>) -> Self {
        Self { tokens, pad }
    }

    /// `[self ; other]` along the sequence: the paper's "[text ; other level]". The appended
    /// latent tokens are never padding.
    pub fn with(&self, other: Tensor<3>) -> Self {
        let [batch, len, _] = other.dims();
        let pad = self.pad.clone().map(|pad| {
            let none = Tensor::<2, Bool>::zeros([batch, len], &pad.device());
            Tensor::cat(vec![pad, none], 1)
        });
        Self { tokens: Tensor::cat(vec![self.tokens.clone(), other], 1), pad }
    }
}

/// `[batch, len, heads * head_dim]` -> `[batch, heads, len, head_dim]`.
fn split_heads(x: Tensor<3>, heads: usize) -> Tensor<4> {
    let [batch, len, width] = x.dims();
    x.reshape([batch, len, heads, width / heads]).swap_dims(1, 2)
}

/// `[batch, heads, len, head_dim]` -> `[batch, len, heads * head_dim]`.
fn merge_heads(x: Tensor<4>) -> Tensor<3> {
    let [batch, heads, len, head_dim] = x.dims();
    x.swap_dims(1, 2).reshape([batch, len, heads * head_dim])
}

/// softmax(q k^T / sqrt(d) [masked]) v, its products in `compute`.
fn scaled_dot_product(
    compute: Compute,
    q: Tensor<4>,
    k: Tensor<4>,
    v: Tensor<4>,
    pad: Option<&Tensor<2, Bool>>,
    causal: bool,
) -> Tensor<4> {
    let [batch, heads, q_len, _] = q.dims();
    let k_len = k.dims()[2];
    // The op wants the full [batch, heads, q_len, k_len] mask.
    let mask = pad.map(|pad| pad.clone().reshape([batch, 1, 1, k_len]).expand([batch, heads, q_len, k_len]));
    precision::scaled_dot_product(compute, q, k, v, mask, causal)
}

#[derive(Module, Debug)]
pub struct SelfAttention {
    pub qkv: Linear,
    pub out: Linear,
    pub heads: usize,
    pub causal: bool,
    #[module(skip)]
    pub compute: Compute,
}

impl SelfAttention {
    pub fn new(hidden: usize, heads: usize, causal: bool, compute: Compute, device: &Device) -> Self {
        assert!(hidden.is_multiple_of(heads), "hidden {hidden} is not divisible by heads {heads}");
        Self {
            qkv: LinearConfig::new(hidden, 3 * hidden).with_bias(false).init(device),
            out: LinearConfig::new(hidden, hidden).with_bias(false).init(device),
            heads,
            causal,
            compute,
        }
    }

    /// `x: [batch, len, hidden]`; `pad` masks keys (`true` = padding).
    pub fn forward(&self, x: Tensor<3>, rope: Option<&Rope>, pad: Option<&Tensor<2, Bool>>) -> Tensor<3> {
        let [q, k, v]: [Tensor<3>; 3] =
            precision::linear(self.compute, &self.qkv, x).chunk(3, 2).try_into().expect("three chunks");
        let (mut q, mut k, v) = (split_heads(q, self.heads), split_heads(k, self.heads), split_heads(v, self.heads));
        if let Some(rope) = rope {
            q = rope.apply(q);
            k = rope.apply(k);
        }
        let attended = scaled_dot_product(self.compute, q, k, v, pad, self.causal);
        precision::linear(self.compute, &self.out, merge_heads(attended))
    }
}

#[derive(Module, Debug)]
pub struct CrossAttention {
    pub q: Linear,
    pub k: Linear,
    pub v: Linear,
    pub out: Linear,
    pub heads: usize,
    #[module(skip)]
    pub compute: Compute,
}

impl CrossAttention {
    pub fn new(hidden: usize, heads: usize, compute: Compute, device: &Device) -> Self {
        assert!(hidden.is_multiple_of(heads), "hidden {hidden} is not divisible by heads {heads}");
        let linear = || LinearConfig::new(hidden, hidden).with_bias(false).init(device);
        Self { q: linear(), k: linear(), v: linear(), out: linear(), heads, compute }
    }

    /// Queries from `x: [batch, len, hidden]`, keys and values from the context.
    pub fn forward(&self, x: Tensor<3>, context: &Context) -> Tensor<3> {
        let linear = |lin, x| split_heads(precision::linear(self.compute, lin, x), self.heads);
        let (q, k, v) = (linear(&self.q, x), linear(&self.k, context.tokens.clone()), linear(&self.v, context.tokens.clone()));
        let attended = scaled_dot_product(self.compute, q, k, v, context.pad.as_ref(), false);
        precision::linear(self.compute, &self.out, merge_heads(attended))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use burn::tensor::Distribution;

    fn max_abs_diff(a: Tensor<3>, b: Tensor<3>) -> f32 {
        (a - b).abs().max().into_scalar::<f32>()
    }

    #[test]
    fn attention_shapes_and_parameter_counts() {
        let device = cpu();
        let sa = SelfAttention::new(32, 4, false, Compute::F32, &device);
        let ca = CrossAttention::new(32, 4, Compute::F32, &device);
        let x = Tensor::<3>::random([2, 6, 32], Distribution::Normal(0.0, 1.0), &device);
        let text = Tensor::<3>::random([2, 9, 32], Distribution::Normal(0.0, 1.0), &device);
        assert_eq!(sa.forward(x.clone(), None, None).dims(), [2, 6, 32]);
        assert_eq!(ca.forward(x, &Context::new(text, None)).dims(), [2, 6, 32]);
        assert_eq!(sa.num_params(), 4 * 32 * 32);
        assert_eq!(ca.num_params(), 4 * 32 * 32);
    }

    #[test]
    fn causal_mask_blocks_the_future() {
        let device = cpu();
        let sa = SelfAttention::new(32, 4, true, Compute::F32, &device);
        let rope = Rope::new(8, 6, super::super::rope::ROPE_BASE, &device);
        let x = Tensor::<3>::random([1, 6, 32], Distribution::Normal(0.0, 1.0), &device);
        // Change only the last three positions: the first three outputs must not move.
        let changed =
            Tensor::cat(vec![x.clone().narrow(1, 0, 3), Tensor::random([1, 3, 32], Distribution::Normal(0.0, 1.0), &device)], 1);
        let (a, b) = (sa.forward(x, Some(&rope), None), sa.forward(changed, Some(&rope), None));
        assert!(max_abs_diff(a.clone().narrow(1, 0, 3), b.clone().narrow(1, 0, 3)) < 1e-6);
        assert!(max_abs_diff(a.narrow(1, 3, 3), b.narrow(1, 3, 3)) > 1e-3);
    }

    #[test]
    fn padded_keys_are_ignored() {
        let device = cpu();
        let ca = CrossAttention::new(32, 4, Compute::F32, &device);
        let x = Tensor::<3>::random([1, 4, 32], Distribution::Normal(0.0, 1.0), &device);
        let text = Tensor::<3>::random([1, 5, 32], Distribution::Normal(0.0, 1.0), &device);
        let pad = Tensor::<2, Bool>::from_data([[false, false, true, true, true]], &device);
        let full = ca.forward(x.clone(), &Context::new(text.clone(), Some(pad)));
        let short = ca.forward(x, &Context::new(text.narrow(1, 0, 2), None));
        assert!(max_abs_diff(full, short) < 1e-5);
    }
}
