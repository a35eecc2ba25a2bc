//! Data-parallel training of one run (`training.devices: N`): N replicas of the model on N
//! devices, each taking a contiguous share of every micro-batch. Each replica's gradients are
//! weighted by its share of the update's samples (as accumulated micro-batches are, [`step`]),
//! summed on the first device, clipped and applied there once; the updated weights are then
//! copied to the other replicas. The update is the one a single device makes on the whole
//! batch, up to the order of fp32 sums.
//!
//! The reduction goes through the first device (gather, update, broadcast) rather than an
//! all-reduce: it needs only copies between devices, which every burn backend has, so the same
//! code runs on CPU replicas in the tests and on GPUs, and the optimizer state lives once.
//!
//! [`step`]: super::step

use anyhow::{Result, anyhow};
use burn::module::Module;
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::prelude::*;

use super::adamw::AdamW;
use super::step::{MicroBatch, StepStats, Stepper, apply, backward};
use crate::model::TextToVideo;

/// The replicas beyond the first device's model, which the trainer owns.
pub struct Replicas {
    /// (autodiff device, plain device, weights) per replica.
    others: Vec<(Device, Device, TextToVideo)>,
}

impl Replicas {
    /// Copies of `model` on each of `devices` (autodiff devices; the first device is the
    /// model's own and is not among them).
    pub fn new(model: &TextToVideo, devices: Vec<Device>) -> Self {
        let others = devices.into_iter().map(|d| (d.clone(), d.clone().inner(), model.clone().fork(&d))).collect();
        Self { others }
    }

    /// How many devices train, the first one included.
    pub fn count(&self) -> usize {
        self.others.len() + 1
    }

    /// One optimizer update of `model` over `window`, its micro-batches split over the replicas.
    pub fn step(
        &mut self,
        stepper: &Stepper,
        model: TextToVideo,
        optimizer: &mut AdamW,
        window: Vec<MicroBatch>,
        lr: f64,
    ) -> Result<(TextToVideo, StepStats)> {
        let n = self.count();
        let mut shares: Vec<Vec<MicroBatch>> = vec![Vec::new(); n];
        for micro in window {
            for (i, part) in micro.shards(n).into_iter().enumerate() {
                shares[i].push(part);
            }
        }
        let first = model.device().inner();
        let results = std::thread::scope(|scope| {
            let (own, rest) = shares.split_first().expect("one device at least");
            let handles: Vec<_> = self
                .others
                .iter()
                .zip(rest)
                .map(|((_, plain, replica), parts)| {
                    let stepper = Stepper { device: plain, ..*stepper };
                    scope.spawn(move || gradients(&stepper, replica, parts))
                })
                .collect();
            let mut results = vec![gradients(stepper, &model, own)];
            results
                .extend(handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(anyhow!("a replica's backward panicked")))));
            results
        });
        let mut grads = GradientsAccumulator::<TextToVideo>::new();
        let mut sums: Option<Tensor<1>> = None;
        for result in results {
            let Some((g, s)) = result? else { continue };
            grads.accumulate(&model, g.to_device(&first, &model));
            let s = s.to_device(&first);
            sums = Some(sums.map_or(s.clone(), |sum| sum + s));
        }
        let sums = sums.ok_or_else(|| anyhow!("an update with no samples"))?;
        optimizer.set_lr(lr);
        let (model, stats) = apply(model, optimizer, grads.grads(), sums, stepper.spec);
        for (device, _, replica) in &mut self.others {
            *replica = model.clone().fork(device);
        }
        Ok((model, StepStats::read(stats)?))
    }
}

/// The weighted gradients and (loss, mse, halting BCE) sums of `model` over `parts`, or
/// nothing when this replica's share is empty (a batch smaller than the replicas).
fn gradients(stepper: &Stepper, model: &TextToVideo, parts: &[MicroBatch]) -> Result<Option<(GradientsParams, Tensor<1>)>> {
    let mut grads = GradientsAccumulator::<TextToVideo>::new();
    let mut sums: Option<Tensor<1>> = None;
    for part in parts.iter().filter(|p| !p.host.is_empty()) {
        let weight = part.host.len() as f64 / part.update_samples as f64;
        let (g, s) = backward(model, stepper.spec, stepper.inputs(part)?, weight);
        grads.accumulate(model, g);
        sums = Some(sums.map_or(s.clone(), |sum| sum + s));
    }
    Ok(sums.map(|sums| (grads.grads(), sums)))
}
