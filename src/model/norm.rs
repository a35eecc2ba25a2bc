//! RMSNorm, with a learned gain (pre-norm blocks) or without one (the reference code's
//! `rms_norm`, used after each residual add in its post-norm blocks).

use burn::module::Param;
use burn::prelude::*;

/// `x / sqrt(mean(x^2) + eps) [* gain]` over the last dimension.
#[derive(Module, Debug)]
pub struct RmsNorm {
    pub gain: Option<Param<Tensor<1>>>,
    pub eps: f64,
}

/// The reference code's epsilon (`rms_norm(x, variance_epsilon=1e-5)`).
pub const RMS_EPS: f64 = 1e-5;

impl RmsNorm {
    /// A learned per-channel gain, initialised to one.
    pub fn weighted(dim: usize, device: &Device) -> Self {
        Self { gain: Some(Param::from_tensor(Tensor::ones([dim], device))), eps: RMS_EPS }
    }

    /// No parameters at all.
    pub fn plain() -> Self {
        Self { gain: None, eps: RMS_EPS }
    }

    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let rms = x.clone().powf_scalar(2.0).mean_dim(D - 1).add_scalar(self.eps).sqrt();
        let y = x / rms;
        match &self.gain {
            Some(gain) => super::rows::mul(y, gain.val()),
            None => y,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;

    #[test]
    fn rms_norm_gives_unit_rms_and_counts_its_gain() {
        let device = cpu();
        let x = Tensor::<3>::from_data([[[3.0, 4.0], [1.0, -1.0]]], &device);
        let y = RmsNorm::plain().forward(x.clone());
        let rms = y.powf_scalar(2.0).mean_dim(2).into_data().try_to_vec::<f32>().unwrap();
        assert!(rms.iter().all(|r| (r - 1.0).abs() < 1e-4), "{rms:?}");
        assert_eq!(RmsNorm::plain().num_params(), 0);
        assert_eq!(RmsNorm::weighted(2, &device).num_params(), 2);
    }
}
