//! Generation with its three phases recorded as CUDA graphs and replayed: the start (text
//! encoding and the initial latent), one reasoning step, and the decode. Only the halting
//! decision stays on the host, between step replays, as in [`TextToVideo::reason`]: a replay is
//! one launch where the eager step is a few hundred.
//!
//! Each graph reads and writes fixed buffers ([`Buffers`]): a step reads the latent and writes
//! the next one back in place, keeping the samples already halted (`frozen`) as they were.
//! Where the device records no graphs, generation runs eagerly.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use burn::prelude::*;
use burn::tensor::{Graph, capture};

use super::attention::Context;
use super::engine::State;
use super::hrm::TextToVideo;
use super::rope::{ROPE_BASE, Rope};
use crate::backend::copy_into;

/// A generated batch: the clips `[batch, 3, frames, height, width]` and the steps each took.
pub struct Generation {
    pub video: Tensor<5>,
    pub steps_taken: Vec<usize>,
}

/// Generates with `model`, recording its graphs once per batch size.
pub struct Generator {
    model: Rc<TextToVideo>,
    recorded: HashMap<usize, Recorded>,
    /// Whether this device records graphs (else every call is eager).
    records: bool,
    /// Why generation runs eagerly on a device that records graphs, once a recording failed.
    refused: Option<String>,
}

#[derive(Clone)]
struct Buffers {
    ids: Tensor<2, Int>,
    mask: Tensor<2, Bool>,
    noise: Tensor<3>,
    text: Context,
    v: Tensor<3>,
    z: State,
    /// Samples that have halted: their latent no longer changes.
    frozen: Tensor<1, Bool>,
}

type Phase<T> = Graph<T, Box<dyn FnMut() -> T>>;

struct Recorded {
    buffers: Rc<RefCell<Buffers>>,
    start: Phase<()>,
    /// Writes the next latent; returns the halting probabilities (zeros without a predictor).
    step: Phase<Tensor<1>>,
    decode: Phase<Tensor<5>>,
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

    /// Generation from `noise` with per-sample early stopping: the same clips as
    /// [`TextToVideo::generate`].
    pub fn generate(&mut self, ids: Tensor<2, Int>, mask: Tensor<2, Bool>, noise: Tensor<3>) -> Generation {
        let batch = ids.dims()[0];
        if !self.records {
            let out = self.model.generate(ids, mask, noise);
            return Generation { video: out.video, steps_taken: out.steps_taken };
        }
        if !self.recorded.contains_key(&batch) {
            match Recorded::record(&self.model, ids.clone(), mask.clone(), noise.clone()) {
                Some(recorded) => _ = self.recorded.insert(batch, recorded),
                None => {
                    self.records = false;
                    self.refused = Some("the device recorded no graph for a phase".into());
                    return self.generate(ids, mask, noise);
                }
            }
        }
        let recorded = self.recorded.get_mut(&batch).expect("recorded above");
        recorded.run(&self.model, ids, mask, noise)
    }
}

impl Recorded {
    /// Record the three phases for inputs shaped like these; `None` if the device recorded no
    /// graph for one of them.
    fn record(model: &Rc<TextToVideo>, ids: Tensor<2, Int>, mask: Tensor<2, Bool>, noise: Tensor<3>) -> Option<Self> {
        let device = noise.device();
        let (text, v, z) = start(model, ids.clone(), mask.clone(), noise.clone());
        let frozen = Tensor::<1, Bool>::zeros([noise.dims()[0]], &device);
        let buffers = Rc::new(RefCell::new(Buffers { ids, mask, noise, text, v, z, frozen }));

        let start_phase: Box<dyn FnMut()> = {
            let (model, buffers) = (model.clone(), buffers.clone());
            Box::new(move || {
                let (ids, mask, noise) = {
                    let b = buffers.borrow();
                    (b.ids.clone(), b.mask.clone(), b.noise.clone())
                };
                let (text, v, z) = start(&model, ids, mask, noise);
                let mut b = buffers.borrow_mut();
                let _ = copy_into(&mut b.text.tokens, text.tokens);
                if let (Some(pad), Some(new)) = (&mut b.text.pad, text.pad) {
                    let _ = copy_into(pad, new);
                }
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
                let next = {
                    let b = buffers.borrow();
                    step(&model, &b)
                };
                let (z, p) = next;
                let mut b = buffers.borrow_mut();
                let _ = copy_into(&mut b.z.z_l, z.z_l);
                let _ = copy_into(&mut b.z.z_h, z.z_h);
                p
            })
        };
        let decode_phase: Box<dyn FnMut() -> Tensor<5>> = {
            let (model, buffers) = (model.clone(), buffers.clone());
            Box::new(move || {
                let z_h = buffers.borrow().z.z_h.clone();
                model.decode(z_h)
            })
        };
        let start = capture(&device, start_phase);
        let step = capture(&device, step_phase);
        let decode = capture(&device, decode_phase);
        (start.is_hardware() && step.is_hardware() && decode.is_hardware()).then_some(Self { buffers, start, step, decode })
    }

    fn run(&mut self, model: &TextToVideo, ids: Tensor<2, Int>, mask: Tensor<2, Bool>, noise: Tensor<3>) -> Generation {
        let batch = ids.dims()[0];
        {
            let mut b = self.buffers.borrow_mut();
            let _ = copy_into(&mut b.ids, ids);
            let _ = copy_into(&mut b.mask, mask);
            let _ = copy_into(&mut b.noise, noise);
        }
        // SAFETY (all replays): the buffers the recordings touched are held by `self.buffers`
        // and the model by the generator; outputs are copied or read before the next replay.
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
        let video = unsafe { self.decode.replay() }.clone().mul_scalar(1.0);
        Generation { video, steps_taken }
    }
}

/// The text features, the starting latent `v` and the initial state.
fn start(model: &TextToVideo, ids: Tensor<2, Int>, mask: Tensor<2, Bool>, noise: Tensor<3>) -> (Context, Tensor<3>, State) {
    let text = model.encode_text(ids, mask);
    let v = model.start(noise);
    let z = model.engine.init_state(&v);
    (text, v, z)
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
