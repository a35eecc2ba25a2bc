//! Rotary position embedding (RoPE), half-split form.
//!
//! A head vector `x = [x0 ; x1]` (two halves of `head_dim / 2`) at position `t` is rotated by the
//! angles `t * theta_i`, `theta_i = base^(-2i / head_dim)`:
//! `[x0 cos - x1 sin ; x0 sin + x1 cos]`. This is the reference code's `apply_rotary_pos_emb`
//! (the same rotation as GPT-NeoX / LLaMA's `rotate_half`), not burn's interleaved-pair
//! `RotaryEncoding`, so we keep our own.

use burn::prelude::*;

/// The standard base of the rotation frequencies.
pub const ROPE_BASE: f64 = 10_000.0;

/// Precomputed `cos` / `sin` tables for one sequence length, shape `[seq_len, head_dim / 2]`.
#[derive(Debug, Clone)]
pub struct Rope<B: Backend> {
    cos: Tensor<B, 2>,
    sin: Tensor<B, 2>,
}

impl<B: Backend> Rope<B> {
    pub fn new(head_dim: usize, seq_len: usize, base: f64, device: &B::Device) -> Self {
        assert!(head_dim.is_multiple_of(2), "RoPE needs an even head dimension, got {head_dim}");
        let half = head_dim / 2;
        let (mut cos, mut sin) = (Vec::with_capacity(seq_len * half), Vec::with_capacity(seq_len * half));
        for t in 0..seq_len {
            for i in 0..half {
                // Angles in f64 so long sequences do not lose precision before the cast.
                let angle = t as f64 * base.powf(-((2 * i) as f64) / head_dim as f64);
                cos.push(angle.cos() as f32);
                sin.push(angle.sin() as f32);
            }
        }
        let table = |v: Vec<f32>| Tensor::<B, 2>::from_data(TensorData::new(v, [seq_len, half]), device);
        Self { cos: table(cos), sin: table(sin) }
    }

    /// Rotate `x: [batch, heads, seq_len, head_dim]`.
    pub fn apply(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let [_, _, seq_len, head_dim] = x.dims();
        let half = head_dim / 2;
        let cos = self.cos.clone().narrow(0, 0, seq_len).unsqueeze::<4>();
        let sin = self.sin.clone().narrow(0, 0, seq_len).unsqueeze::<4>();
        let x0 = x.clone().narrow(3, 0, half);
        let x1 = x.narrow(3, half, half);
        Tensor::cat(vec![x0.clone() * cos.clone() - x1.clone() * sin.clone(), x0 * sin + x1 * cos], 3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;

    type B = Cpu;

    #[test]
    fn rope_matches_a_hand_computed_rotation() {
        let device = Default::default();
        // head_dim 4: two frequencies, theta_0 = 1, theta_1 = 10000^(-1/2) = 0.01.
        let rope = Rope::<B>::new(4, 3, ROPE_BASE, &device);
        let x = Tensor::<B, 4>::from_data([[[[1.0, 2.0, 3.0, 4.0]; 3]]], &device);
        let y = rope.apply(x).into_data().to_vec::<f32>().unwrap();
        for t in 0..3 {
            let (a0, a1) = (t as f64, t as f64 * 0.01);
            // Pairs are (x[0], x[2]) rotated by a0 and (x[1], x[3]) rotated by a1.
            let expect = [
                1.0 * a0.cos() - 3.0 * a0.sin(),
                2.0 * a1.cos() - 4.0 * a1.sin(),
                1.0 * a0.sin() + 3.0 * a0.cos(),
                2.0 * a1.sin() + 4.0 * a1.cos(),
            ];
            for i in 0..4 {
                assert!((y[t * 4 + i] as f64 - expect[i]).abs() < 1e-5, "t {t} i {i}: {} vs {}", y[t * 4 + i], expect[i]);
            }
        }
    }

    #[test]
    fn rope_preserves_norm_and_leaves_position_zero_alone() {
        let device = Default::default();
        let rope = Rope::<B>::new(8, 5, ROPE_BASE, &device);
        let x = Tensor::<B, 4>::random([2, 3, 5, 8], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let y = rope.apply(x.clone());
        let norm = |t: Tensor<B, 4>| t.powf_scalar(2.0).sum_dim(3);
        let diff = (norm(x.clone()) - norm(y.clone())).abs().max().into_scalar();
        assert!(diff < 1e-4);
        let first = (x.narrow(2, 0, 1) - y.narrow(2, 0, 1)).abs().max().into_scalar();
        assert!(first < 1e-6);
    }
}
