//! Reproducible noise: drawn on the host from a stream keyed by (seed, purpose, index), so a
//! resumed run and every backend see the same numbers (the backend's own RNG state is not
//! checkpointed and differs between CPU and CUDA).

use burn::prelude::*;
use burn::tensor::TensorData;

use crate::data::rng::Rng;
use crate::model::flow::FlowNoise;
use crate::model::hrm::NOISE_STD;
use crate::model::{Prior, TextToVideo};

/// `randn * 0.02` of shape `[batch, tokens, hidden]`; sample `i` uses stream `(seed, purpose, first + i)`.
pub fn noise(seed: u64, purpose: &str, first: u64, [batch, tokens, hidden]: [usize; 3], device: &Device) -> Tensor<3> {
    Tensor::from_data(
        TensorData::new(normal(seed, purpose, first, batch, tokens * hidden, NOISE_STD), [batch, tokens, hidden]),
        device,
    )
}

/// Pixel noise N(0, 1) of shape `[batch, 3, frames, height, width]`; sample `i` uses stream
/// `(seed, purpose, first + i)`.
pub fn pixel_noise(
    seed: u64,
    purpose: &str,
    first: u64,
    [frames, height, width]: [usize; 3],
    batch: usize,
    device: &Device,
) -> Tensor<5> {
    let values = normal(seed, purpose, first, batch, 3 * frames * height * width, 1.0);
    Tensor::from_data(TensorData::new(values, [batch, 3, frames, height, width]), device)
}

/// U[0, 1) of shape `[batch]`; sample `i` uses stream `(seed, purpose, first + i)`.
pub fn uniform(seed: u64, purpose: &str, first: u64, batch: usize, device: &Device) -> Tensor<1> {
    let values: Vec<f32> = (0..batch).map(|i| Rng::keyed(seed, purpose, first + i as u64).unit() as f32).collect();
    Tensor::from_data(TensorData::new(values, [batch]), device)
}

/// What flow-matching training samples `first..first + batch` of `purpose` draw: their pixel
/// noise (stream `<purpose>-x0`) and their times (stream `<purpose>-t`), independent of each other.
pub fn flow_noise(seed: u64, purpose: &str, first: u64, clip: [usize; 3], batch: usize, device: &Device) -> FlowNoise {
    FlowNoise {
        x0: pixel_noise(seed, &format!("{purpose}-x0"), first, clip, batch, device),
        t: uniform(seed, &format!("{purpose}-t"), first, batch, device),
    }
}

/// Generation's starting point for `model`, samples `first..first + batch` of `purpose`: the
/// latent noise, or for a flow-matching model the pixel noise.
pub fn prior(model: &TextToVideo, seed: u64, purpose: &str, first: u64, batch: usize, device: &Device) -> Prior {
    match model.time_embedding {
        Some(_) => Prior::Pixels(pixel_noise(seed, purpose, first, model.clip, batch, device)),
        None => Prior::Latent(noise(seed, purpose, first, [batch, model.tokens, model.hidden], device)),
    }
}

/// `batch` samples of `per_sample` values `N(0, std^2)`, sample `i` from stream `(seed, purpose, first + i)`.
fn normal(seed: u64, purpose: &str, first: u64, batch: usize, per_sample: usize, std: f64) -> Vec<f32> {
    let mut values = Vec::with_capacity(batch * per_sample);
    for i in 0..batch {
        let mut rng = Rng::keyed(seed, purpose, first + i as u64);
        values.extend((0..per_sample).map(|_| (standard_normal(&mut rng) * std) as f32));
    }
    values
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

    #[test]
    fn flow_noise_is_keyed_per_sample_unit_normal_and_uniform_in_time() {
        let device = cpu();
        let a = flow_noise(7, "train-1", 0, [2, 8, 8], 64, &device);
        let b = flow_noise(7, "train-1", 3, [2, 8, 8], 2, &device);
        assert_eq!(a.x0.dims(), [64, 3, 2, 8, 8]);
        assert_eq!(a.x0.clone().narrow(0, 3, 2).into_data(), b.x0.into_data());
        assert_eq!(a.t.clone().narrow(0, 3, 2).into_data(), b.t.into_data());
        let x = a.x0.into_data().try_to_vec::<f32>().unwrap();
        let n = x.len() as f64;
        let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
        let std = (x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
        assert!(mean.abs() < 0.02 && (std - 1.0).abs() < 0.02, "mean {mean} std {std}");
        let t = a.t.into_data().try_to_vec::<f32>().unwrap();
        assert!(t.iter().all(|t| (0.0..1.0).contains(t)), "{t:?}");
        let mean = t.iter().sum::<f32>() / t.len() as f32;
        assert!((mean - 0.5).abs() < 0.1 && t.iter().any(|&t| t < 0.2) && t.iter().any(|&t| t > 0.8), "{t:?}");
    }
}
