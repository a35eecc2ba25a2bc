//! AdamW (Loshchilov & Hutter) written in tensor operations, as PyTorch and burn define it:
//!
//! `m = β1 m + (1-β1) g`, `v = β2 v + (1-β2) g²`, `w = w (1 - lr λ) - lr m̂ / (√v̂ + ε)` with
//! `m̂ = m / (1-β1^t)`, `v̂ = v / (1-β2^t)`.
//!
//! Every quantity that changes between updates (the learning rate, the step `t`, the moments
//! and the weights) lives on the device and is written in place, and nothing is read back to
//! the host. So one update can be recorded once as a CUDA graph and replayed: burn's own AdamW
//! writes each weight to a new buffer and bakes the learning rate into the graph as a constant.
//! The moments are checkpointed as two copies of the model's tree (safetensors keyed by the
//! parameter path), so a resume finds them whatever the parameter ids of the rebuilt model.

use std::collections::HashMap;

use burn::module::{ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::tensor::kind::BridgeTensor;

use crate::backend::copy_into;
use crate::spec::types::OptimizerSpec;

pub struct AdamW {
    beta: [f32; 2],
    eps: f32,
    weight_decay: f32,
    /// First and second moments per parameter, rank-erased.
    moments: HashMap<ParamId, [BridgeTensor; 2]>,
    /// `[1]` on the device: the update count `t` and the learning rate of the next update.
    t: Tensor<1>,
    lr: Tensor<1>,
    /// Updates whose in-place writes had to copy (a buffer with a second owner): a replayed
    /// graph would not see them, so graph capture refuses to run when this grows.
    pub copies: usize,
}

impl AdamW {
    /// Zero moments for every parameter of `model`, `t = updates` (a resumed run's count).
    pub fn new<M: Module>(spec: &OptimizerSpec, model: &M, updates: u64, device: &Device) -> Self {
        let device = device.clone().inner();
        let mut zeros = Zeros { device: &device, moments: HashMap::new() };
        model.visit(&mut zeros);
        Self {
            beta: [spec.betas[0] as f32, spec.betas[1] as f32],
            eps: spec.eps as f32,
            weight_decay: spec.weight_decay as f32,
            moments: zeros.moments,
            t: Tensor::full([1], updates as f32, &device),
            lr: Tensor::zeros([1], &device),
            copies: 0,
        }
    }

    /// Set the learning rate of the next update (in place: a captured update reads it).
    pub fn set_lr(&mut self, lr: f64) {
        self.copies += !self.lr.can_mut() as usize;
        self.lr.inplace(|t| t.mul_scalar(0.0).add_scalar(lr));
    }

    /// One update of `model` by `grads`.
    pub fn step<M: Module>(&mut self, model: M, mut grads: GradientsParams) -> M {
        self.copies += !self.t.can_mut() as usize;
        self.t.inplace(|t| t.add_scalar(1.0));
        let correction = |beta: f32| self.t.clone().mul_scalar(beta.ln()).exp().neg().add_scalar(1.0);
        let mut update = Update {
            grads: &mut grads,
            moments: &mut self.moments,
            beta: self.beta,
            eps: self.eps,
            c1: correction(self.beta[0]),
            c2: correction(self.beta[1]),
            lr: self.lr.clone(),
            decay: self.lr.clone().mul_scalar(self.weight_decay).neg().add_scalar(1.0),
            copies: 0,
        };
        let model = model.map(&mut update);
        self.copies += update.copies;
        model
    }

    /// A copy of the moments and step count, for [`Self::restore`].
    pub fn snapshot(&self) -> Snapshot {
        let copy = |t: &BridgeTensor| Tensor::<1>::from_bridge(t.clone()).mul_scalar(1.0).into_bridge();
        let moments = self.moments.iter().map(|(id, [m, v])| (*id, [copy(m), copy(v)])).collect();
        Snapshot { moments, t: self.t.clone().mul_scalar(1.0) }
    }

    /// Put back the moments and step count of `snapshot`, written into the buffers in use
    /// (`model` gives each moment's rank).
    pub fn restore<M: Module>(&mut self, model: &M, snapshot: Snapshot) {
        let mut put = PutBack { live: &mut self.moments, saved: snapshot.moments, copies: 0 };
        model.visit(&mut put);
        self.copies += put.copies + !self.t.can_mut() as usize;
        let t = snapshot.t;
        self.t.inplace(|live| live.slice_assign(s![..], t));
    }

    /// The moments as two copies of `model` (first, second), for a checkpoint.
    pub fn moments_as<M: Module>(&self, model: &M) -> [M; 2] {
        [0, 1].map(|which| model.valid().map(&mut SwapIn { moments: &self.moments, which }))
    }

    /// Continue from a checkpoint: its moments, as two copies of the model's tree, after
    /// `updates` updates.
    pub fn load<M: Module>(&mut self, first: M, second: M, updates: u64) {
        let mut take = TakeOut { moments: &mut self.moments, which: 0 };
        first.visit(&mut take);
        take.which = 1;
        second.visit(&mut take);
        let device = self.t.device();
        self.t = Tensor::full([1], updates as f32, &device);
    }
}

struct Zeros<'a> {
    device: &'a Device,
    moments: HashMap<ParamId, [BridgeTensor; 2]>,
}

impl ModuleVisitor for Zeros<'_> {
    fn visit_float<const R: usize>(&mut self, param: &Param<Tensor<R>>) {
        let zeros = || Tensor::<R>::zeros(param.val().dims(), self.device).into_bridge();
        self.moments.insert(param.id, [zeros(), zeros()]);
    }
}

struct Update<'a> {
    grads: &'a mut GradientsParams,
    moments: &'a mut HashMap<ParamId, [BridgeTensor; 2]>,
    beta: [f32; 2],
    eps: f32,
    /// `1 - β^t`, `lr` and `1 - lr λ`, `[1]` each.
    c1: Tensor<1>,
    c2: Tensor<1>,
    lr: Tensor<1>,
    decay: Tensor<1>,
    copies: usize,
}

impl ModuleMapper for Update<'_> {
    fn map_float<const R: usize>(&mut self, param: Param<Tensor<R>>) -> Param<Tensor<R>> {
        let Some(g) = self.grads.remove::<R>(param.id) else { return param };
        let [m, v] = self.moments.remove(&param.id).expect("moments for every parameter");
        let (mut m, mut v) = (Tensor::<R>::from_bridge(m), Tensor::<R>::from_bridge(v));
        let [b1, b2] = self.beta;
        self.copies += !m.can_mut() as usize + !v.can_mut() as usize;
        m.inplace(|m| m.mul_scalar(b1) + g.clone().mul_scalar(1.0 - b1));
        v.inplace(|v| v.mul_scalar(b2) + g.square().mul_scalar(1.0 - b2));
        let scalar = |t: &Tensor<1>| t.clone().reshape([1; R]);
        let m_hat = m.clone() / scalar(&self.c1);
        let v_hat = v.clone() / scalar(&self.c2);
        let step = m_hat / v_hat.sqrt().add_scalar(self.eps) * scalar(&self.lr);
        let decay = scalar(&self.decay);
        let mut copies = 0;
        let param = param.map(|w| {
            let require_grad = w.is_require_grad();
            let mut w = w.inner();
            copies += !w.can_mut() as usize;
            w.inplace(|w| w * decay - step);
            let w = Tensor::from_inner(w);
            if require_grad { w.require_grad() } else { w }
        });
        self.copies += copies;
        self.moments.insert(param.id, [m.into_bridge(), v.into_bridge()]);
        param
    }
}

/// Moments and step count saved by [`AdamW::snapshot`].
pub struct Snapshot {
    moments: HashMap<ParamId, [BridgeTensor; 2]>,
    t: Tensor<1>,
}

/// Each saved moment written into the live moment's buffer.
struct PutBack<'a> {
    live: &'a mut HashMap<ParamId, [BridgeTensor; 2]>,
    saved: HashMap<ParamId, [BridgeTensor; 2]>,
    copies: usize,
}

impl ModuleVisitor for PutBack<'_> {
    fn visit_float<const R: usize>(&mut self, param: &Param<Tensor<R>>) {
        let (Some(live), Some(saved)) = (self.live.get_mut(&param.id), self.saved.remove(&param.id)) else { return };
        for (live, saved) in live.iter_mut().zip(saved) {
            let placeholder = saved.clone();
            let mut moment = Tensor::<R>::from_bridge(std::mem::replace(live, placeholder));
            self.copies += !copy_into(&mut moment, Tensor::<R>::from_bridge(saved)) as usize;
            *live = moment.into_bridge();
        }
    }
}

/// Put moment `which` in place of each parameter's value.
struct SwapIn<'a> {
    moments: &'a HashMap<ParamId, [BridgeTensor; 2]>,
    which: usize,
}

impl ModuleMapper for SwapIn<'_> {
    fn map_float<const R: usize>(&mut self, param: Param<Tensor<R>>) -> Param<Tensor<R>> {
        let moment = &self.moments[&param.id][self.which];
        // A copy: the checkpoint must not hold a second owner of the live moment.
        let copy = Tensor::<R>::from_bridge(moment.clone()).mul_scalar(1.0);
        param.map(|_| copy)
    }
}

/// Take each parameter's value as moment `which` of the same parameter id (the module is
/// dropped afterwards, leaving the moment its only owner).
struct TakeOut<'a> {
    moments: &'a mut HashMap<ParamId, [BridgeTensor; 2]>,
    which: usize,
}

impl ModuleVisitor for TakeOut<'_> {
    fn visit_float<const R: usize>(&mut self, param: &Param<Tensor<R>>) {
        if let Some(pair) = self.moments.get_mut(&param.id) {
            pair[self.which] = param.val().into_bridge();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::AdamWConfig;

    fn weights(linear: &Linear) -> Vec<f32> {
        linear.weight.val().into_data().try_to_vec::<f32>().unwrap()
    }

    fn grads_of(linear: &Linear, x: &Tensor<2>) -> GradientsParams {
        let loss = linear.forward(x.clone()).powf_scalar(2.0).sum();
        GradientsParams::from_grads(loss.backward(), linear)
    }

    /// Five updates at changing learning rates land where burn's own AdamW lands.
    #[test]
    fn follows_burns_adamw() {
        let device = cpu().autodiff();
        let spec = OptimizerSpec { weight_decay: 0.1, ..OptimizerSpec::default() };
        let x = Tensor::<2>::random([4, 3], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let start = LinearConfig::new(3, 2).init(&device);
        let (mut ours, mut theirs) = (start.clone(), start.clone());
        let mut adamw = AdamW::new(&spec, &ours, 0, &device);
        let mut reference = AdamWConfig::new()
            .with_beta_1(spec.betas[0] as f32)
            .with_beta_2(spec.betas[1] as f32)
            .with_epsilon(spec.eps as f32)
            .with_weight_decay(spec.weight_decay as f32)
            .init();
        for lr in [1e-2, 5e-3, 1e-3, 2e-2, 1e-2] {
            adamw.set_lr(lr);
            ours = adamw.step(ours.clone(), grads_of(&ours, &x));
            theirs = reference.step(lr, theirs.clone(), grads_of(&theirs, &x));
        }
        for (a, b) in weights(&ours).iter().zip(weights(&theirs)) {
            assert!((a - b).abs() <= 1e-6 * b.abs().max(1.0), "{a} vs {b}");
        }
        assert_ne!(weights(&ours), weights(&start));
    }

    /// A snapshot put back undoes the updates made since, and the next update equals the one a
    /// fresh optimizer makes.
    #[test]
    fn restore_undoes_updates() {
        let device = cpu().autodiff();
        let x = Tensor::<2>::random([4, 3], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let linear = LinearConfig::new(3, 2).init(&device);
        let mut adamw = AdamW::new(&OptimizerSpec::default(), &linear, 0, &device);
        let saved = adamw.snapshot();
        adamw.set_lr(0.0);
        let mut model = linear.clone();
        for _ in 0..3 {
            model = adamw.step(model.clone(), grads_of(&model, &x));
        }
        assert_eq!(weights(&model), weights(&linear), "a zero learning rate leaves the weights");
        adamw.restore(&linear, saved);
        let mut fresh = AdamW::new(&OptimizerSpec::default(), &linear, 0, &device);
        adamw.set_lr(1e-2);
        fresh.set_lr(1e-2);
        let a = adamw.step(model.clone(), grads_of(&model, &x));
        let b = fresh.step(linear.clone(), grads_of(&linear, &x));
        assert_eq!(weights(&a), weights(&b));
    }
}
