//! Generation with its phases recorded as CUDA graphs and replayed: the text encoding, the start
//! of a reasoning loop (the initial latent), one reasoning step, and the finish (the decode; for
//! a flow-matching model the decode and the Euler step). Only the halting decision stays on the
//! host, between step replays, as in [`TextToVideo::reason`]: a replay is one launch where the
//! eager step is a few hundred. A flow-matching model replays the start, the steps and the
//! finish once per Euler step, with the step's times written into buffers first, so one
//! recording per batch size serves every step and any number of them.
//!
//! Each graph reads and writes fixed buffers ([`Buffers`]): a step reads the latent and writes
//! the next one back in place, keeping the samples already halted (`frozen`) as they were.
//! Where the device records no graphs, generation runs eagerly ([`TextToVideo::sample`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use burn::prelude::*;
use burn::tensor::{Graph, capture};

use super::attention::Context;
use super::engine::State;
use super::flow::{euler_step, step_times, times};
use super::hrm::TextToVideo;
use super::rope::{ROPE_BASE, Rope};
use super::sampling::{Generation, Prior};
use crate::backend::copy_into;

/// Generates with `model`, recording its graphs once per batch size.
pub struct Generator {
    model: Rc<TextToVideo>,
    recorded: HashMap<usize, Recorded>,
    /// Whether this device records graphs (else every call is eager).
    records: bool,
    /// Why generation runs eagerly on a device that records graphs, once a recording failed.
    refused: Option<String>,
}

/// Where a reasoning loop starts.
// One per recording, held for its buffers: boxing would save nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum Origin {
    /// The latent noise itself.
    Latent(Tensor<3>),
    /// A flow-matching model's `x_t` and the times of the current Euler step (all samples alike).
    Flow { x: Tensor<5>, t: Tensor<1>, t_next: Tensor<1> },
}

#[derive(Clone)]
struct Buffers {
    ids: Tensor<2, Int>,
    mask: Tensor<2, Bool>,
    origin: Origin,
    text: Context,
    v: Tensor<3>,
    z: State,
    /// Samples that have halted: their latent no longer changes.
    frozen: Tensor<1, Bool>,
}

type Phase<T> = Graph<T, Box<dyn FnMut() -> T>>;

struct Recorded {
    buffers: Rc<RefCell<Buffers>>,
    text: Phase<()>,
    start: Phase<()>,
    /// Writes the next latent; returns the halting probabilities (zeros without a predictor).
    step: Phase<Tensor<1>>,
    /// The decoded clip (flow: the predicted clean clip, `x_t` moved on by an Euler step).
    finish: Phase<Tensor<5>>,
}

impl Generator {
    pub fn new(model: &TextToVideo, device: &Device) -> Self {
        Self {
            model: Rc::new(model.clone()),
            recorded: HashMap::new(),
            records: crate::backend::records_graphs(device),
            refused: None,
        }
    }

    /// Why generation ran eagerly although this device records graphs (`None`: it did not).
    pub fn refused(&self) -> Option<&str> {
        self.refused.as_deref()
    }

    /// Generation from `prior` with per-sample early stopping: the same clips as
    /// [`TextToVideo::sample`].
    pub fn sample(&mut self, ids: Tensor<2, Int>, mask: Tensor<2, Bool>, prior: Prior) -> Generation {
        let batch = ids.dims()[0];
        if !self.records {
            return self.model.sample(ids, mask, prior);
        }
        if !self.recorded.contains_key(&batch) {
            match Recorded::record(&self.model, ids.clone(), mask.clone(), &prior) {
                Some(recorded) => _ = self.recorded.insert(batch, recorded),
                None => {
                    self.records = false;
                    self.refused = Some("the device recorded no graph for a phase".into());
                    return self.sample(ids, mask, prior);
                }
            }
        }
        let recorded = self.recorded.get_mut(&batch).expect("recorded above");
        recorded.run(&self.model, ids, mask, prior)
    }
}

impl Recorded {
    /// Record the phases for inputs shaped like these; `None` if the device recorded no graph
    /// for one of them.
    fn record(model: &Rc<TextToVideo>, ids: Tensor<2, Int>, mask: Tensor<2, Bool>, prior: &Prior) -> Option<Self> {
        let device = ids.device();
        let batch = ids.dims()[0];
        let text = model.encode_text(ids.clone(), mask.clone());
        // Buffers of their own (a copy), so that writes into them stay in place.
        let origin = match prior {
            Prior::Latent(noise) => Origin::Latent(noise.clone().mul_scalar(1.0)),
            Prior::Pixels(x0) => {
                let (t, t_next) = step_times(0, model.sampling_steps.max(1));
                Origin::Flow { x: x0.clone().mul_scalar(1.0), t: times(t, batch, &device), t_next: times(t_next, batch, &device) }
            }
        };
        let (v, z) = start(model, &origin);
        let frozen = Tensor::<1, Bool>::zeros([batch], &device);
        let buffers = Rc::new(RefCell::new(Buffers { ids, mask, origin, text, v, z, frozen }));

        let text_phase: Box<dyn FnMut()> = {
            let (model, buffers) = (model.clone(), buffers.clone());
            Box::new(move || {
                let text = {
                    let b = buffers.borrow();
                    model.encode_text(b.ids.clone(), b.mask.clone())
                };
                let mut b = buffers.borrow_mut();
                let _ = copy_into(&mut b.text.tokens, text.tokens);
                if let (Some(pad), Some(new)) = (&mut b.text.pad, text.pad) {
                    let _ = copy_into(pad, new);
                }
            })
        };
        let start_phase: Box<dyn FnMut()> = {
            let (model, buffers) = (model.clone(), buffers.clone());
            Box::new(move || {
                let (v, z) = start(&model, &buffers.borrow().origin);
                let mut b = buffers.borrow_mut();
                let _ = copy_into(&mut b.v, v);
                let _ = copy_into(&mut b.z.z_l, z.z_l);
                let _ = copy_into(&mut b.z.z_h, z.z_h);
                let none = Tensor::zeros(b.frozen.dims(), &b.frozen.device());
                let _ = copy_into(&mut b.frozen, none);
            })
        };
        let step_phase: Box<dyn FnMut() -> Tensor<1>> = {
            let (model, buffers) = (model.clone(), buffers.clone());
            Box::new(move || {
                let (z, p) = step(&model, &buffers.borrow());
                let mut b = buffers.borrow_mut();
                let _ = copy_into(&mut b.z.z_l, z.z_l);
                let _ = copy_into(&mut b.z.z_h, z.z_h);
                p
            })
        };
        let finish_phase: Box<dyn FnMut() -> Tensor<5>> = {
            let (model, buffers) = (model.clone(), buffers.clone());
            Box::new(move || {
                let (video, next) = {
                    let b = buffers.borrow();
                    let video = model.decode(b.z.z_h.clone());
                    let next = match &b.origin {
                        Origin::Flow { x, t, t_next } => Some(euler_step(x.clone(), video.clone(), t.clone(), t_next.clone())),
                        Origin::Latent(_) => None,
                    };
                    (video, next)
                };
                if let (Origin::Flow { x, .. }, Some(next)) = (&mut buffers.borrow_mut().origin, next) {
                    let _ = copy_into(x, next);
                }
                video
            })
        };
        let text = capture(&device, text_phase);
        let start = capture(&device, start_phase);
        let step = capture(&device, step_phase);
        let finish = capture(&device, finish_phase);
        let hardware = text.is_hardware() && start.is_hardware() && step.is_hardware() && finish.is_hardware();
        hardware.then_some(Self { buffers, text, start, step, finish })
    }

    fn run(&mut self, model: &TextToVideo, ids: Tensor<2, Int>, mask: Tensor<2, Bool>, prior: Prior) -> Generation {
        let batch = ids.dims()[0];
        {
            let mut b = self.buffers.borrow_mut();
            let _ = copy_into(&mut b.ids, ids);
            let _ = copy_into(&mut b.mask, mask);
            match (&mut b.origin, prior) {
                (Origin::Latent(noise), Prior::Latent(new)) => _ = copy_into(noise, new),
                (Origin::Flow { x, .. }, Prior::Pixels(x0)) => _ = copy_into(x, x0),
                _ => panic!("a model generates from one kind of prior"),
            }
        }
        // SAFETY (all replays): the buffers the recordings touched are held by `self.buffers`
        // and the model by the generator; outputs are copied or read before the next replay.
        unsafe { self.text.replay() };
        let loops = match self.buffers.borrow().origin {
            Origin::Latent(_) => 1,
            Origin::Flow { .. } => model.sampling_steps.max(1),
        };
        let mut steps_taken = vec![0; batch];
        for k in 0..loops {
            if let Origin::Flow { t, t_next, .. } = &mut self.buffers.borrow_mut().origin {
                let (now, next) = step_times(k, loops);
                let _ = copy_into(t, times(now, batch, &t.device()));
                let _ = copy_into(t_next, times(next, batch, &t_next.device()));
            }
            for (sum, n) in steps_taken.iter_mut().zip(self.reason(model, batch)) {
                *sum += n;
            }
            let video = unsafe { self.finish.replay() };
            if k + 1 == loops {
                let video = video.clone().mul_scalar(1.0);
                return Generation { video, steps_taken, sampling_steps: loops };
            }
        }
        unreachable!("at least one reasoning loop")
    }

    /// One reasoning loop from the current origin: the start, then steps until every sample
    /// has halted or K is reached; the steps each sample took.
    fn reason(&mut self, model: &TextToVideo, batch: usize) -> Vec<usize> {
        unsafe { self.start.replay() };
        let mut halted = vec![false; batch];
        let mut steps_taken = vec![0; batch];
        for k in 1..=model.max_steps {
            let p = unsafe { self.step.replay() }.clone();
            steps_taken.iter_mut().zip(&halted).for_each(|(n, &h)| *n += !h as usize);
            if model.halting.is_some() && k >= model.min_steps {
                model.update_halted(p, &mut halted);
                if halted.iter().all(|&h| h) {
                    break;
                }
                let mut b = self.buffers.borrow_mut();
                let device = b.frozen.device();
                let frozen = Tensor::<1, Bool>::from_data(TensorData::new(halted.clone(), [batch]), &device);
                let _ = copy_into(&mut b.frozen, frozen);
            }
        }
        steps_taken
    }
}

/// The starting latent `v` of a reasoning loop from `origin`, and the initial state.
fn start(model: &TextToVideo, origin: &Origin) -> (Tensor<3>, State) {
    let latent = match origin {
        Origin::Latent(noise) => noise.clone(),
        Origin::Flow { x, t, .. } => model.encode_flow(x.clone(), t.clone()),
    };
    let v = model.start(latent);
    let z = model.engine.init_state(&v);
    (v, z)
}

/// One reasoning step from the buffers: the next state (halted samples kept) and the halting
/// probabilities.
fn step(model: &TextToVideo, b: &Buffers) -> (State, Tensor<1>) {
    let [batch, tokens, hidden] = b.v.dims();
    let rope = Rope::new(model.hidden / model.heads, tokens, ROPE_BASE, &b.v.device());
    let next = model.engine.step(b.z.clone(), &b.v, &b.text, &rope);
    let keep = b.frozen.clone().reshape([batch, 1, 1]).expand([batch, tokens, hidden]);
    let next = State { z_l: next.z_l.mask_where(keep.clone(), b.z.z_l.clone()), z_h: next.z_h.mask_where(keep, b.z.z_h.clone()) };
    let p = match &model.halting {
        Some(predictor) => predictor.probability(next.z_h.clone()),
        None => Tensor::zeros([batch], &b.v.device()),
    };
    (next, p)
}
