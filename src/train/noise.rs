//! Reproducible noise: drawn on the host from a stream keyed by (seed, purpose, index), so a
//! resumed run and every backend see the same numbers (the backend's own RNG state is not
//! checkpointed and differs between CPU and CUDA).

use burn::prelude::*;
use burn::tensor::TensorData;

use crate::data::rng::Rng;
use crate::model::hrm::NOISE_STD;

/// `randn * 0.02` of shape `[batch, tokens, hidden]`; sample `i` uses stream `(seed, purpose, first + i)`.
pub fn noise(seed: u64, purpose: &str, first: u64, [batch, tokens, hidden]: [usize; 3], device: &Device) -> Tensor<3> {
    let per_sample = tokens * hidden;
    let mut values = Vec::with_capacity(batch * per_sample);
    for i in 0..batch {
        let mut rng = Rng::keyed(seed, purpose, first + i as u64);
        values.extend((0..per_sample).map(|_| (standard_normal(&mut rng) * NOISE_STD) as f32));
    }
    Tensor::from_data(TensorData::new(values, [batch, tokens, hidden]), device)
}

/// Box-Muller (one value per pair of uniforms: simple and exact enough for noise).
fn standard_normal(rng: &mut Rng) -> f64 {
    let u1 = 1.0 - rng.unit(); // (0, 1]: ln is finite
    let u2 = rng.unit();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;

    #[test]
    fn noise_is_keyed_per_sample_and_scaled() {
        let device = cpu();
        let a = noise(7, "gen", 0, [3, 16, 32], &device);
        let b = noise(7, "gen", 1, [2, 16, 32], &device);
        // Sample 1 of the first draw is sample 0 of a draw starting at 1: batching does not matter.
        assert_eq!(a.clone().narrow(0, 1, 2).into_data(), b.into_data());
        let values = a.into_data().try_to_vec::<f32>().unwrap();
        let n = values.len() as f64;
        let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
        let std = (values.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!(mean.abs() < 0.002 && (std - NOISE_STD).abs() < 0.002, "mean {mean} std {std}");
    }
}
