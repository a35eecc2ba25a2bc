//! Gradient clipping by the global norm over all parameters, as `torch.nn.utils.clip_grad_norm_`
//! does (burn's built-in clipping works per tensor). The scale stays on the device: no host
//! synchronisation inside the step.

use burn::module::{ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::prelude::*;

/// Sum of squared gradients, visiting every float parameter that has one.
struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            let sq = g.square().sum();
            self.total = Some(match self.total.take() {
                Some(t) => t + sq,
                None => sq,
            });
        }
    }
}

/// Multiply every gradient by a one-element scale.
struct Scale<'a> {
    grads: &'a mut GradientsParams,
    scale: Tensor<1>,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            let scale: Tensor<D> = self.scale.clone().reshape([1; D]);
            self.grads.register(param.id, g * scale);
        }
    }
}

/// The global L2 norm of `grads` (`[1]`, before clipping); when `max_norm` is set, gradients are
/// scaled by `min(1, max_norm / (norm + 1e-6))`.
pub fn clip_global_norm<M: Module>(model: &M, mut grads: GradientsParams, max_norm: Option<f64>) -> (GradientsParams, Tensor<1>) {
    let mut visitor = SquaredNorm { grads: &grads, total: None };
    model.visit(&mut visitor);
    let norm = visitor.total.expect("a model with trainable parameters").sqrt();
    if let Some(max_norm) = max_norm {
        let scale = (norm.clone().add_scalar(1e-6).recip() * max_norm).clamp_max(1.0);
        model.visit(&mut Scale { grads: &mut grads, scale });
    }
    (grads, norm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use burn::nn::LinearConfig;

    #[test]
    fn clips_the_global_norm_not_each_tensor() {
        let device = cpu().autodiff();
        let linear = LinearConfig::new(3, 2).init(&device);
        let x = Tensor::<2>::ones([4, 3], &device);
        let loss = linear.forward(x).sum() * 10.0;
        let grads = GradientsParams::from_grads(loss.backward(), &linear);
        let norm_of = |g: &GradientsParams| {
            let w = g.get::<2>(linear.weight.id).unwrap().square().sum().into_scalar::<f32>();
            let b = g.get::<1>(linear.bias.as_ref().unwrap().id).unwrap().square().sum().into_scalar::<f32>();
            (w + b).sqrt()
        };
        // d(10 * sum(xW + b)) / dW = 40 everywhere (6 entries), / db = 40 (2 entries).
        let before = norm_of(&grads);
        assert!((before - 40.0 * 8f32.sqrt()).abs() < 1e-3, "{before}");
        let (clipped, norm) = clip_global_norm(&linear, grads, Some(1.0));
        assert!((norm.into_scalar::<f32>() - before).abs() < 1e-3);
        assert!((norm_of(&clipped) - 1.0).abs() < 1e-4);
        // The direction is kept: weight and bias are scaled by the same factor.
        let w = clipped.get::<2>(linear.weight.id).unwrap().into_data().try_to_vec::<f32>().unwrap();
        assert!(w.iter().all(|&v| (v - 1.0 / 8f32.sqrt()).abs() < 1e-4), "{w:?}");
        // Below the threshold nothing changes.
        let loss = linear.forward(Tensor::<2>::ones([1, 3], &device)).sum() * 0.01;
        let grads = GradientsParams::from_grads(loss.backward(), &linear);
        let small = norm_of(&grads);
        let (kept, _) = clip_global_norm(&linear, grads, Some(1.0));
        assert!((norm_of(&kept) - small).abs() < 1e-7);
    }
}
