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
pub struct Rope {
    cos: Tensor<2>,
    sin: Tensor<2>,
}

impl Rope {
    pub fn new(head_dim: usize, seq_len: usize, base: f64, device: &Device) -> Self {
        assert!(head_dim.is_multiple_of(2), "RoPE needs an even head dimension, got {head_dim}");
        let half = head_dim / 2;
        // Angles in f64 so long sequences do not lose precision before the cast.
        let angles = move || {
            (0..seq_len).flat_map(move |t| (0..half).map(move |i| t as f64 * base.powf(-((2 * i) as f64) / head_dim as f64)))
        };
        let table = |name: &str, f: fn(f64) -> f64| {
            super::constants::floats(&format!("rope {name} {base}"), [seq_len, half], device, || {
                angles().map(|a| f(a) as f32).collect()
            })
        };
        Self { cos: table("cos", f64::cos), sin: table("sin", f64::sin) }
    }

    /// Rotate `x: [batch, heads, seq_len, head_dim]`.
    pub fn apply(&self, x: Tensor<4>) -> Tensor<4> {
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
    use crate::backend::cpu;

    #[test]
    fn rope_matches_a_hand_computed_rotation() {
        let device = cpu();
        // head_dim 4: two frequencies, theta_0 = 1, theta_1 = 10000^(-1/2) = 0.01.
        let rope = Rope::new(4, 3, ROPE_BASE, &device);
        let x = Tensor::<4>::from_data([[[[1.0, 2.0, 3.0, 4.0]; 3]]], &device);
        let y = rope.apply(x).into_data().try_to_vec::<f32>().unwrap();
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
        let device = cpu();
        let rope = Rope::new(8, 5, ROPE_BASE, &device);
        let x = Tensor::<4>::random([2, 3, 5, 8], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let y = rope.apply(x.clone());
        let norm = |t: Tensor<4>| t.powf_scalar(2.0).sum_dim(3);
        let diff = (norm(x.clone()) - norm(y.clone())).abs().max().into_scalar::<f32>();
        assert!(diff < 1e-4);
        let first = (x.narrow(2, 0, 1) - y.narrow(2, 0, 1)).abs().max().into_scalar::<f32>();
        assert!(first < 1e-6);
    }
}
