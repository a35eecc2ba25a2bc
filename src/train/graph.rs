//! A whole training update (forward, backward, clipping and AdamW) recorded once per batch
//! shape as a CUDA graph and replayed. The model is small enough that launching its ~2,000
//! kernels one by one from the host costs more than running them; a replay is one launch.
//!
//! A replay reruns the recorded kernels on the buffers they used when recorded, so everything
//! that changes between updates is written into those buffers in place: the batch and its noise
//! (copied into the captured inputs), the learning rate and step count (device tensors of [`AdamW`]), the
//! weights and moments (updated in place by AdamW). Recording runs the update four times
//! (warm-up, then capture) with the learning rate at zero, and the moments and step count are
//! put back afterwards, so capturing changes nothing.

use std::cell::RefCell;
use std::rc::Rc;

use anyhow::Result;
use burn::prelude::*;
use burn::tensor::{Graph, capture};

use super::adamw::AdamW;
use super::step::{Inputs, StepStats, apply, backward};
use crate::backend::copy_into;
use crate::model::TextToVideo;
use crate::model::flow::FlowNoise;
use crate::spec::types::RunSpec;

type Update = Box<dyn FnMut() -> Tensor<1>>;

/// The model and optimizer while an update is being recorded (the recorded closure keeps a
/// handle to this cell, emptied once recording is over).
struct Learner {
    model: Option<TextToVideo>,
    optimizer: Option<AdamW>,
}

/// One recorded update for one batch shape.
pub struct CapturedStep {
    graph: Graph<Tensor<1>, Update>,
    inputs: Rc<RefCell<Inputs>>,
}

impl CapturedStep {
    /// Record an update of `model` on batches shaped like `inputs` (plain-device tensors). The
    /// model and optimizer come back unchanged; the step is `Err` with the reason when the
    /// device recorded no graph (a CPU backend, or a capture the driver refused).
    pub fn capture(
        model: TextToVideo,
        mut optimizer: AdamW,
        inputs: Inputs,
        spec: &RunSpec,
    ) -> (TextToVideo, AdamW, Result<Self, String>) {
        let device = inputs.videos.device();
        let saved = optimizer.snapshot();
        optimizer.set_lr(0.0);
        let learner = Rc::new(RefCell::new(Learner { model: Some(model), optimizer: Some(optimizer) }));
        // Buffers of its own: the caller's batch may live on beside them.
        let inputs = Rc::new(RefCell::new(inputs.copy()));
        let update: Update = {
            let (learner, inputs, spec) = (learner.clone(), inputs.clone(), spec.clone());
            Box::new(move || {
                let mut learner = learner.borrow_mut();
                let model = learner.model.take().expect("the model");
                // Through a copy: what autodiff keeps of the batch is the copy, so the inputs
                // stay single-owner and each refresh writes into the buffers recorded here.
                let batch = inputs.borrow().copy();
                let (grads, sums) = backward(&model, &spec, batch, 1.0);
                let (model, stats) = apply(model, learner.optimizer.as_mut().expect("the optimizer"), grads, sums, &spec);
                learner.model = Some(model);
                stats
            })
        };
        let copies_before = learner.borrow().optimizer.as_ref().map_or(0, |o| o.copies);
        let graph = capture(&device, update);
        let (model, mut optimizer) = {
            let mut learner = learner.borrow_mut();
            (learner.model.take().expect("the model"), learner.optimizer.take().expect("the optimizer"))
        };
        optimizer.restore(&model, saved);
        // Writes that missed their buffer while recording or putting the state back.
        let copies = optimizer.copies - copies_before;
        let step = match (graph.is_hardware(), copies) {
            (false, _) => Err(format!("the {device:?} device recorded no graph")),
            (true, 0) => Ok(Self { graph, inputs }),
            (true, n) => Err(format!("{n} optimizer writes were not in place")),
        };
        (model, optimizer, step)
    }

    /// One update on `batch` (shaped as when recorded) at learning rate `lr`.
    pub fn replay(&mut self, optimizer: &mut AdamW, batch: Inputs, lr: f64) -> Result<StepStats> {
        optimizer.set_lr(lr);
        if !self.inputs.borrow_mut().refresh(batch) {
            anyhow::bail!("a batch could not be written into the recorded inputs");
        }
        // SAFETY: every buffer the recording touched stays alive: the inputs are held here, the
        // weights and moments by the trainer's model and optimizer (updated in place only,
        // which `AdamW::copies` checks); the statistics are read back before the next replay.
        let stats = unsafe { self.graph.replay() }.clone();
        StepStats::read(stats)
    }
}

impl Inputs {
    /// Copy `batch` into these buffers, keeping them (a recorded graph reads them); false if
    /// one had another owner, so the write went elsewhere.
    fn refresh(&mut self, batch: Inputs) -> bool {
        let mut in_place = copy_into(&mut self.ids, batch.ids);
        in_place &= copy_into(&mut self.mask, batch.mask);
        in_place &= copy_into(&mut self.videos, batch.videos);
        if let (Some(noise), Some(new)) = (&mut self.noise, batch.noise) {
            in_place &= copy_into(noise, new);
        }
        if let (Some(flow), Some(new)) = (&mut self.flow, batch.flow) {
            in_place &= copy_into(&mut flow.x0, new.x0);
            in_place &= copy_into(&mut flow.t, new.t);
        }
        in_place
    }

    /// The same values in new buffers.
    fn copy(&self) -> Inputs {
        Inputs {
            ids: self.ids.clone().add_scalar(0),
            mask: self.mask.clone().bool_not().bool_not(),
            videos: self.videos.clone().mul_scalar(1.0),
            noise: self.noise.as_ref().map(|n| n.clone().mul_scalar(1.0)),
            flow: self.flow.as_ref().map(|f| FlowNoise { x0: f.x0.clone().mul_scalar(1.0), t: f.t.clone().mul_scalar(1.0) }),
        }
    }
}
