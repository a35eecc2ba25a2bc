//! Text encoder: token embedding + positions, a stack of bidirectional blocks, final LayerNorm.
//!
//! - paper: sinusoidal positions, pre-norm blocks, padded keys masked out (so padding never
//!   changes the features of real tokens), the mask handed on to the engine's cross-attention;
//! - reference: learned absolute positions, post-norm blocks, no mask anywhere (the public code
//!   attends to its `<|endoftext|>` padding like any other token).

use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig};
use burn::prelude::*;

use super::attention::Context;
use super::block::{Block, BlockConfig};
use super::precision::Compute;
use crate::spec::types::{Family, NormPlacement};

#[derive(Module, Debug)]
pub struct TextEncoder {
    pub token_embedding: Embedding,
    /// Learned positions (reference); `None` means fixed sinusoids (paper).
    pub position_embedding: Option<Embedding>,
    pub blocks: Vec<Block>,
    pub norm: LayerNorm,
    pub mask_padding: bool,
    pub max_len: usize,
}

#[derive(Debug, Clone, Copy)]
pub struct TextEncoderConfig {
    pub family: Family,
    pub vocab_size: usize,
    pub max_len: usize,
    pub layers: usize,
    pub hidden: usize,
    pub heads: usize,
    pub expansion: f64,
    /// The format of the blocks' matrix products.
    pub compute: Compute,
}

impl TextEncoderConfig {
    pub fn init(&self, device: &Device) -> TextEncoder {
        let paper = self.family == Family::Paper;
        let block = BlockConfig {
            hidden: self.hidden,
            heads: self.heads,
            expansion: self.expansion,
            norm: if paper { NormPlacement::Pre } else { NormPlacement::Post },
            causal: false,
            cross: false,
            compute: self.compute,
        };
        TextEncoder {
            token_embedding: EmbeddingConfig::new(self.vocab_size, self.hidden).init(device),
            position_embedding: (!paper).then(|| EmbeddingConfig::new(self.max_len, self.hidden).init(device)),
            blocks: (0..self.layers).map(|_| block.init(device)).collect(),
            norm: LayerNormConfig::new(self.hidden).init(device),
            mask_padding: paper,
            max_len: self.max_len,
        }
    }
}

/// The transformer's fixed sinusoidal positions, `[len, dim]`:
/// `PE[t, 2i] = sin(t / 10000^(2i/dim))`, `PE[t, 2i+1] = cos(t / 10000^(2i/dim))`.
pub fn sinusoidal_positions(len: usize, dim: usize, device: &Device) -> Tensor<2> {
    super::constants::floats("sinusoidal positions", [len, dim], device, || {
        let mut table = Vec::with_capacity(len * dim);
        for t in 0..len {
            for j in 0..dim {
                let angle = t as f64 / 10_000f64.powf((j - j % 2) as f64 / dim as f64);
                table.push(if j % 2 == 0 { angle.sin() } else { angle.cos() } as f32);
            }
        }
        table
    })
}

impl TextEncoder {
    /// `ids: [batch, len]`, `mask: [batch, len]` (`true` = real token, `false` = padding).
    /// Returns the text features with the padding mask the engine should respect (none for the
    /// reference family).
    pub fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2, Bool>) -> Context {
        let len = ids.dims()[1];
        assert!(len <= self.max_len, "{len} text tokens, the encoder takes at most {}", self.max_len);
        let device = ids.device();
        let positions = match &self.position_embedding {
            Some(embedding) => {
                let positions = super::constants::indices(&format!("positions {len}"), &device, || (0..len as i64).collect());
                let positions = positions.reshape([1, len]);
                embedding.forward(positions)
            }
            None => sinusoidal_positions(len, self.norm.gamma.dims()[0], &device).unsqueeze::<3>(),
        };
        let mut x = self.token_embedding.forward(ids) + positions;
        let pad = self.mask_padding.then(|| mask.bool_not());
        for block in &self.blocks {
            x = block.forward(x, None, pad.as_ref(), None);
        }
        Context::new(self.norm.forward(x), pad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;

    fn config(family: Family) -> TextEncoderConfig {
        TextEncoderConfig {
            family,
            vocab_size: 100,
            max_len: 8,
            layers: 1,
            hidden: 32,
            heads: 4,
            expansion: 2.0,
            compute: Compute::F32,
        }
    }

    #[test]
    fn text_encoder_shapes_for_both_families() {
        let device = cpu();
        let ids = Tensor::<2, Int>::from_data([[1, 2, 3, 50, 50], [4, 5, 50, 50, 50]], &device);
        let mask = ids.clone().lower_elem(50);
        for family in [Family::Paper, Family::Reference] {
            let encoder = config(family).init(&device);
            let context = encoder.forward(ids.clone(), mask.clone());
            assert_eq!(context.tokens.dims(), [2, 5, 32]);
            assert_eq!(context.pad.is_some(), family == Family::Paper);
        }
    }

    #[test]
    fn padding_does_not_change_the_features_of_real_tokens() {
        let device = cpu();
        let encoder = config(Family::Paper).init(&device);
        let mask = Tensor::<2, Bool>::from_data([[true, true, true, false, false, false]], &device);
        // Same three real tokens; the padding ids differ (and so would their features).
        let a = Tensor::<2, Int>::from_data([[7, 8, 9, 99, 99, 99]], &device);
        let b = Tensor::<2, Int>::from_data([[7, 8, 9, 11, 42, 0]], &device);
        let (fa, fb) = (encoder.forward(a, mask.clone()).tokens, encoder.forward(b, mask).tokens);
        let real = (fa.clone().narrow(1, 0, 3) - fb.clone().narrow(1, 0, 3)).abs().max().into_scalar::<f32>();
        assert!(real < 1e-5, "real tokens moved by {real}");
        let padded = (fa.narrow(1, 3, 3) - fb.narrow(1, 3, 3)).abs().max().into_scalar::<f32>();
        assert!(padded > 1e-3, "the test must actually change the padding features");
    }

    #[test]
    fn sinusoids_start_with_sin_zero_cos_one() {
        let pe = sinusoidal_positions(3, 4, &Default::default()).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(&pe[0..4], &[0.0, 1.0, 0.0, 1.0]);
        assert!((pe[4] - 1f32.sin()).abs() < 1e-6 && (pe[6] - 0.01f32.sin()).abs() < 1e-6);
    }
}
