//! One optimizer update, as in burn's custom training loop: forward, loss, backward, clip,
//! AdamW step. An update's batch is a window of `grad_accum` micro-batches whose gradients are
//! accumulated, each weighted by its share of the window's samples, so 2 x 4 equals 1 x 8.
//! Out of device memory, a micro-batch is done in halves instead ([`split_on_oom`]): the same
//! gradient in two passes.

use std::panic::{AssertUnwindSafe, catch_unwind};

use anyhow::{Result, anyhow};
use burn::optim::{GradientsAccumulator, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;

use super::checkpoint::AdamWOptimizer;
use super::clip::clip_global_norm;
use super::loss::{Start, batch_loss};
use super::noise::noise;
use crate::data::batch::HostBatch;
use crate::model::{TextToVideo, TextTokenizer};
use crate::spec::types::RunSpec;

type Inner<B> = <B as AutodiffBackend>::InnerBackend;

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
        let (a, b) = self.host.split(self.host.len() / 2);
        let second = self.first_sample + a.len() as u64;
        (MicroBatch { host: a, ..self.clone() }, MicroBatch { host: b, first_sample: second, ..self.clone() })
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

/// What a step needs besides the model and the optimizer.
pub struct Stepper<'a, B: AutodiffBackend> {
    pub spec: &'a RunSpec,
    pub seed: u64,
    pub tokenizer: &'a TextTokenizer,
    pub device: &'a B::Device,
}

impl<B: AutodiffBackend> Stepper<'_, B> {
    /// One optimizer update over `window` at learning rate `lr`. `in_parts` does each
    /// micro-batch's backward (given as a closure) however it must: whole, or in halves.
    pub fn step(
        &self,
        model: TextToVideo<B>,
        optimizer: &mut AdamWOptimizer<TextToVideo<B>, B>,
        window: Vec<MicroBatch>,
        lr: f64,
        mut in_parts: impl FnMut(MicroBatch, &mut dyn FnMut(&MicroBatch) -> Result<()>) -> Result<()>,
    ) -> Result<(TextToVideo<B>, StepStats)> {
        let mut grads = GradientsAccumulator::<TextToVideo<B>>::new();
        let mut sums: Option<Tensor<Inner<B>, 1>> = None;
        for micro in window {
            in_parts(micro, &mut |part| {
                let (g, s) = self.backward(&model, part)?;
                grads.accumulate(&model, g);
                sums = Some(match sums.take() {
                    Some(sum) => sum + s,
                    None => s,
                });
                Ok(())
            })?;
        }
        let (grads, norm) = clip_global_norm(&model, grads.grads(), self.spec.training.clip_norm);
        let model = optimizer.step(lr, model, grads);
        // One read-back per update: loss, mse, halting BCE, gradient norm.
        let values = Tensor::cat(vec![sums.expect("a non-empty window"), norm], 0)
            .into_data()
            .convert::<f64>()
            .to_vec::<f64>()
            .map_err(|e| anyhow!("reading the loss back: {e:?}"))?;
        Ok((model, StepStats { loss: values[0], mse: values[1], halt_bce: values[2], grad_norm: values[3] }))
    }

    /// Forward and backward of one micro-batch: its gradients, weighted by its share of the
    /// update, and its weighted (loss, mse, halting BCE) as a `[3]` tensor on the device.
    fn backward(&self, model: &TextToVideo<B>, micro: &MicroBatch) -> Result<(GradientsParams, Tensor<Inner<B>, 1>)> {
        let weight = micro.host.len() as f64 / micro.update_samples as f64;
        let captions: Vec<&str> = micro.host.captions.iter().map(String::as_str).collect();
        let (ids, mask) = self.tokenizer.batch::<B>(&captions, self.device).map_err(anyhow::Error::msg)?;
        let batch = micro.host.clone().to_device::<B>(self.device);
        let dims = [batch.videos.dims()[0], model.tokens, model.hidden];
        let start = Start::new(self.spec.training.objective, || {
            noise::<B>(self.seed, &format!("train-{}", micro.epoch), micro.first_sample, dims, self.device)
        });
        let loss = batch_loss(model, ids, mask, batch.videos, start, self.spec.model.halting.loss_weight);
        let bce = loss.halting_bce.map(|b| b.inner()).unwrap_or_else(|| Tensor::zeros([1], self.device));
        let stats = Tensor::cat(vec![loss.total.clone().inner(), loss.mse.inner(), bce], 0) * weight;
        let grads = GradientsParams::from_grads((loss.total * weight).backward(), model);
        Ok((grads, stats))
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
