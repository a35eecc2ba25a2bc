//! One optimizer update, as in burn's custom training loop: forward, loss, backward, clip,
//! AdamW step. An update's batch is a window of `grad_accum` micro-batches whose gradients are
//! accumulated, each weighted by its share of the window's samples, so 2 x 4 equals 1 x 8.
//! Out of device memory, a micro-batch is done in halves instead ([`split_on_oom`]): the same
//! gradient in two passes.

use std::panic::{AssertUnwindSafe, catch_unwind};

use anyhow::{Result, anyhow};
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::prelude::*;

use super::adamw::AdamW;
use super::clip::clip_global_norm;
use super::loss::{Start, batch_loss};
use super::noise::{flow_noise, noise};
use crate::data::batch::HostBatch;
use crate::model::flow::FlowNoise;
use crate::model::{TextToVideo, TextTokenizer};
use crate::spec::types::{Objective, RunSpec};

/// One micro-batch of an update: its clips and captions, where its first sample sits in the
/// epoch's noise stream, and how many samples the whole update has (its weight is its share).
#[derive(Debug, Clone)]
pub struct MicroBatch {
    pub host: HostBatch,
    pub epoch: u32,
    pub first_sample: u64,
    pub update_samples: usize,
}

impl MicroBatch {
    /// The first half and the second.
    fn halves(&self) -> (MicroBatch, MicroBatch) {
        let [a, b] = self.shards(2).try_into().expect("two shards");
        (a, b)
    }

    /// `n` contiguous parts whose sizes differ by one at most (the first ones larger); parts
    /// are empty when the micro-batch has fewer than `n` samples.
    pub fn shards(&self, n: usize) -> Vec<MicroBatch> {
        let (len, mut rest, mut first_sample) = (self.host.len(), self.host.clone(), self.first_sample);
        (0..n)
            .map(|i| {
                let size = len / n + usize::from(i < len % n);
                let (part, after) = rest.split(size);
                rest = after;
                let micro = MicroBatch { host: part, epoch: self.epoch, first_sample, update_samples: self.update_samples };
                first_sample += size as u64;
                micro
            })
            .collect()
    }
}

/// What an update measured, read back from the device once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    /// The window's mean loss, and its pixel MSE and halting BCE parts.
    pub loss: f64,
    pub mse: f64,
    pub halt_bce: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
}

/// A micro-batch on the device: caption ids and mask, clips, and the noise the objective
/// starts from (`noise_regression`: latent noise; `flow_matching`: pixel noise and times).
#[derive(Clone)]
pub struct Inputs {
    pub ids: Tensor<2, Int>,
    pub mask: Tensor<2, Bool>,
    pub videos: Tensor<5>,
    pub noise: Option<Tensor<3>>,
    pub flow: Option<FlowNoise>,
}

/// What a step needs besides the model and the optimizer.
pub struct Stepper<'a> {
    pub spec: &'a RunSpec,
    pub seed: u64,
    pub tokenizer: &'a TextTokenizer,
    pub device: &'a Device,
    /// The latent's `[tokens, hidden]`: the shape of the starting noise.
    pub latent: [usize; 2],
}

impl Stepper<'_> {
    /// One optimizer update over `window` at learning rate `lr`. `in_parts` does each
    /// micro-batch's backward (given as a closure) however it must: whole, or in halves.
    pub fn step(
        &self,
        model: TextToVideo,
        optimizer: &mut AdamW,
        window: Vec<MicroBatch>,
        lr: f64,
        mut in_parts: impl FnMut(MicroBatch, &mut dyn FnMut(&MicroBatch) -> Result<()>) -> Result<()>,
    ) -> Result<(TextToVideo, StepStats)> {
        let mut grads = GradientsAccumulator::<TextToVideo>::new();
        let mut sums: Option<Tensor<1>> = None;
        for micro in window {
            in_parts(micro, &mut |part| {
                let weight = part.host.len() as f64 / part.update_samples as f64;
                let (g, s) = backward(&model, self.spec, self.inputs(part)?, weight);
                grads.accumulate(&model, g);
                sums = Some(match sums.take() {
                    Some(sum) => sum + s,
                    None => s,
                });
                Ok(())
            })?;
        }
        optimizer.set_lr(lr);
        let (model, stats) = apply(model, optimizer, grads.grads(), sums.expect("a non-empty window"), self.spec);
        Ok((model, StepStats::read(stats)?))
    }

    /// `micro` on the device; its noise is samples `first_sample..` of stream `train-<epoch>`.
    pub fn inputs(&self, micro: &MicroBatch) -> Result<Inputs> {
        let captions: Vec<&str> = micro.host.captions.iter().map(String::as_str).collect();
        let (ids, mask) = self.tokenizer.batch(&captions, self.device).map_err(anyhow::Error::msg)?;
        let videos = micro.host.clone().to_device(self.device).videos;
        Ok(self.with_noise(ids, mask, videos, &format!("train-{}", micro.epoch), micro.first_sample))
    }

    /// Captions and clips on the device with the noise the objective starts from, drawn for
    /// samples `first..` of stream `purpose`.
    pub fn with_noise(&self, ids: Tensor<2, Int>, mask: Tensor<2, Bool>, videos: Tensor<5>, purpose: &str, first: u64) -> Inputs {
        let [batch, _, frames, height, width] = videos.dims();
        let [tokens, hidden] = self.latent;
        let objective = self.spec.training.objective;
        let noise = (objective == Objective::NoiseRegression)
            .then(|| noise(self.seed, purpose, first, [batch, tokens, hidden], self.device));
        let flow = (objective == Objective::FlowMatching)
            .then(|| flow_noise(self.seed, purpose, first, [frames, height, width], batch, self.device));
        Inputs { ids, mask, videos, noise, flow }
    }
}

/// Forward and backward of one micro-batch: its gradients, weighted by `weight` (its share of
/// the update), and its weighted (loss, mse, halting BCE) as a `[3]` tensor on the device.
pub fn backward(model: &TextToVideo, spec: &RunSpec, inputs: Inputs, weight: f64) -> (GradientsParams, Tensor<1>) {
    // The batch stays off the autodiff graph: a constant for the weights' operations.
    let Inputs { ids, mask, videos, noise, flow } = inputs;
    let start = match spec.training.objective {
        Objective::Paper => Start::EncodedTarget,
        Objective::NoiseRegression => Start::Noise(Box::new(noise.expect("latent noise for noise_regression"))),
        Objective::FlowMatching => Start::Flow(Box::new(flow.expect("pixel noise and times for flow_matching"))),
    };
    let loss = batch_loss(model, ids, mask, videos, start, spec.model.halting.loss_weight);
    let bce = loss.halting_bce.map(|b| b.inner()).unwrap_or_else(|| Tensor::zeros([1], &model.device().inner()));
    let stats = Tensor::cat(vec![loss.total.clone().inner(), loss.mse.inner(), bce], 0) * weight;
    let grads = GradientsParams::from_grads((loss.total * weight).backward(), model);
    (grads, stats)
}

/// Clip `grads` by their global norm and update `model`; `sums` (loss, mse, halting BCE)
/// gains the gradient norm: `[4]`, still on the device.
pub fn apply(
    model: TextToVideo,
    optimizer: &mut AdamW,
    grads: GradientsParams,
    sums: Tensor<1>,
    spec: &RunSpec,
) -> (TextToVideo, Tensor<1>) {
    let (grads, norm) = clip_global_norm(&model, grads, spec.training.clip_norm);
    let model = optimizer.step(model, grads);
    (model, Tensor::cat(vec![sums, norm], 0))
}

impl StepStats {
    /// One read-back per update: loss, mse, halting BCE, gradient norm.
    pub fn read(stats: Tensor<1>) -> Result<Self> {
        let values =
            stats.into_data().convert::<f64>().try_to_vec::<f64>().map_err(|e| anyhow!("reading the loss back: {e:?}"))?;
        Ok(StepStats { loss: values[0], mse: values[1], halt_bce: values[2], grad_norm: values[3] })
    }
}

/// `work` on `micro`; if that runs out of device memory, on each half in turn (recursively).
/// Returns how many times a micro-batch was split.
pub fn split_on_oom(micro: MicroBatch, work: &mut dyn FnMut(&MicroBatch) -> Result<()>) -> Result<u64> {
    match catch_unwind(AssertUnwindSafe(|| work(&micro))) {
        Ok(result) => result.map(|()| 0),
        Err(panic) if is_out_of_memory(&panic) && micro.host.len() > 1 => {
            let (a, b) = micro.halves();
            Ok(1 + split_on_oom(a, work)? + split_on_oom(b, work)?)
        }
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

fn is_out_of_memory(panic: &Box<dyn std::any::Any + Send>) -> bool {
    let message =
        panic.downcast_ref::<String>().map(String::as_str).or_else(|| panic.downcast_ref::<&str>().copied()).unwrap_or("");
    let lower = message.to_lowercase();
    lower.contains("out of memory") || lower.contains("outofmemory")
}
