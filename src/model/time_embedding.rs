//! The flow time `t` as a `flow_matching` model sees it: sinusoids of `t`, one Linear into the
//! hidden width, added to every video token of the encoded `x_t`. Without it a noisy clip early
//! on the path and a clean clip late on it could look alike, and the clean clip the model
//! predicts depends on how far along the path it is. Only flow-matching models have one, so the
//! parameters (and hashes) of the other objectives' models are as before.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use super::precision::{self, Compute};

/// Sinusoid pairs of `t`; their frequencies fall geometrically, as transformer positions' do.
pub const FREQUENCIES: usize = 32;
/// Ratio of the fastest to the slowest frequency.
const MAX_PERIOD: f64 = 10_000.0;
/// `t` in [0, 1] is scaled as diffusion models scale their 1,000 timesteps, so that the fastest
/// sinusoid turns over many times along the path and the slowest one about a tenth of a radian.
const TIME_SCALE: f64 = 1_000.0;

#[derive(Module, Debug)]
pub struct TimeEmbedding {
    pub linear: Linear,
    #[module(skip)]
    pub compute: Compute,
}

impl TimeEmbedding {
    pub fn new(hidden: usize, compute: Compute, device: &Device) -> Self {
        Self { linear: LinearConfig::new(2 * FREQUENCIES, hidden).init(device), compute }
    }

    /// `t: [batch]` -> `[batch, hidden]`.
    pub fn forward(&self, t: Tensor<1>) -> Tensor<2> {
        precision::linear(self.compute, &self.linear, features(t))
    }
}

/// `t: [batch]` -> `[batch, 2 * FREQUENCIES]`: `sin(t s f_i)` then `cos(t s f_i)`, with
/// `f_i = MAX_PERIOD^(-i / FREQUENCIES)` and `s` = [`TIME_SCALE`].
pub fn features(t: Tensor<1>) -> Tensor<2> {
    let device = t.device();
    let [batch] = t.dims();
    // Uploaded once per device: a CUDA graph of generation records this without a host copy.
    let frequencies = super::constants::floats("flow time frequencies", [1, FREQUENCIES], &device, || {
        (0..FREQUENCIES).map(|i| (TIME_SCALE * (-MAX_PERIOD.ln() * i as f64 / FREQUENCIES as f64).exp()) as f32).collect()
    });
    let angles = t.reshape([batch, 1]) * frequencies;
    Tensor::cat(vec![angles.clone().sin(), angles.cos()], 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;

    #[test]
    fn features_are_sinusoids_of_the_scaled_time() {
        let device = cpu();
        let t = Tensor::<1>::from_data(TensorData::new(vec![0.0f32, 0.5], [2]), &device);
        let f = features(t).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(f.len(), 2 * 2 * FREQUENCIES);
        // t = 0: every sine 0, every cosine 1.
        assert!(f[..FREQUENCIES].iter().all(|&v| v == 0.0) && f[FREQUENCIES..2 * FREQUENCIES].iter().all(|&v| v == 1.0));
        // t = 0.5, the fastest frequency: sin(500), cos(500).
        let (sin, cos) = (f[2 * FREQUENCIES], f[3 * FREQUENCIES]);
        assert!((sin - 500f32.sin()).abs() < 1e-3 && (cos - 500f32.cos()).abs() < 1e-3, "{sin} {cos}");
        // The slowest: about a tenth of a radian over the whole path.
        let slowest = (TIME_SCALE / MAX_PERIOD.powf((FREQUENCIES - 1) as f64 / FREQUENCIES as f64)) as f32;
        assert!((f[3 * FREQUENCIES - 1] - (0.5 * slowest).sin()).abs() < 1e-5);
        assert_eq!(TimeEmbedding::new(16, Compute::F32, &device).forward(Tensor::zeros([3], &device)).dims(), [3, 16]);
    }
}
