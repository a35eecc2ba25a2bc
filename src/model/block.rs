//! One transformer block: self-attention (RoPE, optionally causal), an optional cross-attention
//! to a context, and a SwiGLU feed-forward, with residuals and either placement of the norm:
//!
//! - pre-norm (the paper): `x = x + f(norm(x))` for each sublayer, learned RMSNorm gains;
//! - post-norm (the reference code): `x = rms(x + f(x))`, weightless RMSNorm.

use burn::prelude::*;

use super::attention::{Context, CrossAttention, SelfAttention};
use super::norm::RmsNorm;
use super::precision::Compute;
use super::rope::Rope;
use super::swiglu::SwiGlu;
use crate::spec::types::NormPlacement;

/// Shape of a block, shared by every block of a stack.
#[derive(Debug, Clone, Copy)]
pub struct BlockConfig {
    pub hidden: usize,
    pub heads: usize,
    pub expansion: f64,
    pub norm: NormPlacement,
    /// Causal self-attention.
    pub causal: bool,
    /// A cross-attention sublayer between self-attention and the feed-forward.
    pub cross: bool,
    /// The format of the matrix products.
    pub compute: Compute,
}

impl BlockConfig {
    pub fn init(&self, device: &Device) -> Block {
        let norm = || self.norm(device);
        Block {
            self_attn: SelfAttention::new(self.hidden, self.heads, self.causal, self.compute, device),
            self_norm: norm(),
            cross_attn: self.cross.then(|| CrossAttention::new(self.hidden, self.heads, self.compute, device)),
            cross_norm: self.cross.then(norm),
            ffn: SwiGlu::new(self.hidden, self.expansion, self.compute, device),
            ffn_norm: norm(),
            pre_norm: self.norm == NormPlacement::Pre,
        }
    }

    /// The norm this placement uses: learned gain before a sublayer, none after a residual add.
    pub fn norm(&self, device: &Device) -> RmsNorm {
        match self.norm {
            NormPlacement::Pre => RmsNorm::weighted(self.hidden, device),
            NormPlacement::Post => RmsNorm::plain(),
        }
    }
}

#[derive(Module, Debug)]
pub struct Block {
    pub self_attn: SelfAttention,
    pub self_norm: RmsNorm,
    pub cross_attn: Option<CrossAttention>,
    pub cross_norm: Option<RmsNorm>,
    pub ffn: SwiGlu,
    pub ffn_norm: RmsNorm,
    pub pre_norm: bool,
}

/// One residual sublayer with the norm where the block puts it.
pub fn residual(x: Tensor<3>, norm: &RmsNorm, pre_norm: bool, f: impl FnOnce(Tensor<3>) -> Tensor<3>) -> Tensor<3> {
    if pre_norm { x.clone() + f(norm.forward(x)) } else { norm.forward(x.clone() + f(x)) }
}

impl Block {
    /// `x: [batch, len, hidden]`. `pad` masks `x`'s own padding keys; `context` feeds the
    /// cross-attention (ignored by blocks built without one).
    pub fn forward(
        &self,
        x: Tensor<3>,
        rope: Option<&Rope>,
        pad: Option<&Tensor<2, Bool>>,
        context: Option<&Context>,
    ) -> Tensor<3> {
        let x = residual(x, &self.self_norm, self.pre_norm, |h| self.self_attn.forward(h, rope, pad));
        let x = match (&self.cross_attn, &self.cross_norm, context) {
            (Some(attn), Some(norm), Some(context)) => residual(x, norm, self.pre_norm, |h| attn.forward(h, context)),
            _ => x,
        };
        residual(x, &self.ffn_norm, self.pre_norm, |h| self.ffn.forward(h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use burn::tensor::Distribution;

    #[test]
    fn block_variants_keep_the_shape_and_count_as_expected() {
        let device = cpu();
        let x = Tensor::<3>::random([2, 6, 32], Distribution::Normal(0.0, 1.0), &device);
        let text = Context::new(Tensor::<3>::random([2, 4, 32], Distribution::Normal(0.0, 1.0), &device), None);
        let rope = Rope::new(8, 6, super::super::rope::ROPE_BASE, &device);
        for (norm, cross, causal) in
            [(NormPlacement::Pre, true, false), (NormPlacement::Post, false, true), (NormPlacement::Post, true, false)]
        {
            let config = BlockConfig { hidden: 32, heads: 4, expansion: 2.0, norm, causal, cross, compute: Compute::F32 };
            let block = config.init(&device);
            assert_eq!(block.forward(x.clone(), Some(&rope), None, Some(&text)).dims(), [2, 6, 32]);
            // self-attention 4C^2 + SwiGLU 3*C*2C (+ cross 4C^2) (+ three C-gains when pre-norm)
            let gains = if norm == NormPlacement::Pre { (2 + cross as usize) * 32 } else { 0 };
            let expect = 4 * 32 * 32 + 3 * 32 * 64 + cross as usize * 4 * 32 * 32 + gains;
            assert_eq!(block.num_params(), expect);
        }
    }
}
