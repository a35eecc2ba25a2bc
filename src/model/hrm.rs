//! The whole text-to-video model and its reasoning loop.
//!
//! `text -> TextEncoder -> text features`; `v` (the encoded target clip in training, noise at
//! generation; for `flow_matching` the encoded `x_t` plus its time embedding) seeds the latent;
//! the engine refines it for up to K = `max_steps` steps; a convergence predictor may halt each
//! sample early; the final `z_H` is normalised and decoded.

use burn::module::Param;
use burn::nn::LayerNorm;
use burn::prelude::*;
use burn::tensor::Distribution;

use super::attention::Context;
use super::engine::{Engine, State};
use super::halting::Halting;
use super::rope::{ROPE_BASE, Rope};
use super::text_encoder::TextEncoder;
use super::time_embedding::TimeEmbedding;
use super::video_codec::{VideoDetokenizer, VideoTokenizer};

/// Scale of the generation noise, as in the reference code (`randn * 0.02`).
pub const NOISE_STD: f64 = 0.02;

#[derive(Module, Debug)]
pub struct TextToVideo {
    pub text_encoder: TextEncoder,
    pub video_tokenizer: VideoTokenizer,
    pub video_detokenizer: VideoDetokenizer,
    pub engine: Engine,
    pub output_norm: LayerNorm,
    /// `[tokens, hidden]`, added to the starting latent (`model.video_codec.position_embedding`).
    pub start_positions: Option<Param<Tensor<2>>>,
    pub halting: Option<Halting>,
    /// `flow_matching` only: the flow time's embedding, added to the encoded `x_t`.
    pub time_embedding: Option<TimeEmbedding>,
    /// `flow_matching` only: Euler steps of generation (`training.flow.sampling_steps`).
    pub sampling_steps: usize,
    /// Clip (frames, height, width): the shape of a flow-matching model's pixel noise.
    pub clip: [usize; 3],
    pub max_steps: usize,
    /// Halt when the predicted probability exceeds this.
    pub threshold: f64,
    /// First step at which halting is checked.
    pub min_steps: usize,
    /// Halt the whole batch at once (reference) instead of each sample on its own (paper).
    pub halt_batch: bool,
    pub tokens: usize,
    pub hidden: usize,
    pub heads: usize,
}

/// What the reasoning loop should do besides stepping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReasonOptions {
    /// Stop samples whose halting probability exceeds the threshold (inference).
    pub early_stop: bool,
    /// Decode every step's `z_H` to a clip (the paper's halting labels need per-step MSE).
    pub decode_steps: bool,
}

impl ReasonOptions {
    /// Training: all `max_steps` steps, every step decoded.
    pub const TRAIN: Self = Self { early_stop: false, decode_steps: true };
    /// Generation: halt early, decode only the end.
    pub const GENERATE: Self = Self { early_stop: true, decode_steps: false };
}

/// One reasoning step's outputs.
#[derive(Debug, Clone)]
pub struct StepOutput {
    /// `[batch, tokens, hidden]` after this step (frozen samples keep their earlier value).
    pub z_h: Tensor<3>,
    /// Halting probability `[batch]`; `None` without a predictor.
    pub halt_prob: Option<Tensor<1>>,
    /// `[batch, 3, frames, height, width]` decoded from `z_h`, when asked for.
    pub video: Option<Tensor<5>>,
}

#[derive(Debug, Clone)]
pub struct Reasoning {
    /// The decoded final clip `[batch, 3, frames, height, width]` in [-1, 1].
    pub video: Tensor<5>,
    /// One entry per step run (fewer than `max_steps` when everything halted early).
    pub steps: Vec<StepOutput>,
    /// Steps each sample actually took (1..=max_steps).
    pub steps_taken: Vec<usize>,
}

impl TextToVideo {
    /// `ids, mask: [batch, max_len]` (`mask` true = real token) -> text features + pad mask.
    pub fn encode_text(&self, ids: Tensor<2, Int>, mask: Tensor<2, Bool>) -> Context {
        self.text_encoder.forward(ids, mask)
    }

    /// `[batch, 3, frames, height, width]` in [-1, 1] -> `v: [batch, tokens, hidden]`.
    pub fn encode_video(&self, video: Tensor<5>) -> Tensor<3> {
        self.video_tokenizer.forward(video)
    }

    /// `flow_matching`: `x_t` at times `t: [batch]` -> the latent reasoning starts from, the
    /// encoded clip with the time embedding added to every token.
    pub fn encode_flow(&self, x_t: Tensor<5>, t: Tensor<1>) -> Tensor<3> {
        let embedding = self.time_embedding.as_ref().expect("a flow-matching model embeds the time").forward(t);
        self.encode_video(x_t) + embedding.unsqueeze_dim(1)
    }

    /// A latent `z_H` -> clip.
    pub fn decode(&self, z_h: Tensor<3>) -> Tensor<5> {
        self.video_detokenizer.forward(self.output_norm.forward(z_h))
    }

    /// Generation's starting point: `randn * 0.02`, `[batch, tokens, hidden]`.
    pub fn noise(&self, batch: usize, device: &Device) -> Tensor<3> {
        Tensor::random([batch, self.tokens, self.hidden], Distribution::Normal(0.0, NOISE_STD), device)
    }

    /// The device of the weights, with their autodiff and gradient-checkpointing settings.
    pub fn device(&self) -> Device {
        self.output_norm.gamma.val().device()
    }

    /// The latent reasoning starts from: `v` plus the start positions, when the model has them.
    pub fn start(&self, v: Tensor<3>) -> Tensor<3> {
        match &self.start_positions {
            Some(p) => v + p.val().unsqueeze_dim(0),
            None => v,
        }
    }

    /// Text + starting latent `v` -> clip and per-step outputs.
    pub fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2, Bool>, v: Tensor<3>, options: ReasonOptions) -> Reasoning {
        let text = self.encode_text(ids, mask);
        self.reason(v, &text, options)
    }

    /// Generation from `noise` (see [`Self::noise`]) with per-sample early stopping.
    pub fn generate(&self, ids: Tensor<2, Int>, mask: Tensor<2, Bool>, noise: Tensor<3>) -> Reasoning {
        self.forward(ids, mask, noise, ReasonOptions::GENERATE)
    }

    /// The reasoning loop: up to K steps of L then H; a sample that halts is frozen; the loop
    /// ends when every sample has halted or K is reached.
    pub fn reason(&self, v: Tensor<3>, text: &Context, options: ReasonOptions) -> Reasoning {
        let [batch, tokens, _] = v.dims();
        let v = self.start(v);
        let rope = Rope::new(self.hidden / self.heads, tokens, ROPE_BASE, &v.device());
        let mut z: State = self.engine.init_state(&v);
        let mut halted = vec![false; batch];
        let mut steps_taken = vec![0; batch];
        let mut steps = Vec::with_capacity(self.max_steps);
        for step in 1..=self.max_steps {
            z = self.engine.step(z.clone(), &v, text, &rope).unless_frozen(&z, &halted);
            steps_taken.iter_mut().zip(&halted).for_each(|(n, &h)| *n += !h as usize);
            let halting = self.halting.as_ref().map(|predictor| predictor.probability(z.z_h.clone()));
            let video = options.decode_steps.then(|| self.decode(z.z_h.clone()));
            steps.push(StepOutput { z_h: z.z_h.clone(), halt_prob: halting.clone(), video });
            if let (true, Some(p)) = (options.early_stop && step >= self.min_steps, halting) {
                self.update_halted(p, &mut halted);
                if halted.iter().all(|&h| h) {
                    break;
                }
            }
        }
        let video = match steps.last().and_then(|s| s.video.clone()) {
            Some(video) => video,
            None => self.decode(z.z_h),
        };
        Reasoning { video, steps, steps_taken }
    }

    /// Mark samples whose halting probability exceeds the threshold (all or none for the
    /// batch scope).
    pub(crate) fn update_halted(&self, p: Tensor<1>, halted: &mut [bool]) {
        let p = p.into_data().convert::<f32>().try_to_vec::<f32>().expect("halting probabilities");
        let over: Vec<bool> = p.iter().map(|&p| p as f64 > self.threshold).collect();
        if self.halt_batch {
            if over.iter().all(|&o| o) {
                halted.iter_mut().for_each(|h| *h = true);
            }
        } else {
            halted.iter_mut().zip(over).for_each(|(h, o)| *h |= o);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use crate::model::registry::build;
    use crate::model::tokenizer::TextTokenizer;
    use crate::spec::ModelConfig;
    use crate::spec::types::*;

    /// A tiny model of either family: hidden 32, 4 heads, one block per stack.
    fn tiny(family: Family) -> (ModelSpec, DataSpec) {
        let mut model = ModelSpec { hidden: 32, heads: 4, ..ModelSpec::default() };
        model.text_encoder = TextEncoderSpec { kind: family, layers: 1, max_len: 8, vocab_size: 50257 };
        model.video_codec.kind = family;
        model.engine.h_layers = 1;
        model.engine.l_layers = 1;
        let (frames, height, width) = match family {
            Family::Paper => (4, 16, 16),
            Family::Reference => {
                model.engine.interaction = Interaction::Additive;
                model.engine.norm = NormPlacement::Post;
                model.engine.causal = true;
                model.halting.kind = HaltingKind::Linear;
                (2, 8, 8)
            }
        };
        (model, DataSpec { frames, height, width, ..DataSpec::default() })
    }

    fn captions(device: &burn::tensor::Device) -> (Tensor<2, Int>, Tensor<2, Bool>) {
        TextTokenizer::gpt2(8).unwrap().batch(&["a red ball moving left to right", "a blue square"], device).unwrap()
    }

    #[test]
    fn forward_shapes_for_every_family_and_engine() {
        let device = cpu();
        for family in [Family::Paper, Family::Reference] {
            for kind in [EngineKind::Hrm, EngineKind::Flat] {
                let (mut spec, data) = tiny(family);
                spec.engine.kind = kind;
                let model = build(&ModelConfig::new(&spec, &data).unwrap(), &device);
                let (ids, mask) = captions(&device);
                let clip = Tensor::<5>::random(
                    [2, 3, data.frames as usize, data.height as usize, data.width as usize],
                    Distribution::Uniform(-1.0, 1.0),
                    &device,
                );
                let v = model.encode_video(clip);
                assert_eq!(v.dims(), [2, 4, 32]);
                let out = model.forward(ids, mask, v, ReasonOptions::TRAIN);
                let video_dims = [2, 3, data.frames as usize, data.height as usize, data.width as usize];
                assert_eq!(out.video.dims(), video_dims, "{family:?} {kind:?}");
                assert_eq!(out.steps.len(), 3);
                assert_eq!(out.steps_taken, vec![3, 3]);
                for step in &out.steps {
                    assert_eq!(step.z_h.dims(), [2, 4, 32]);
                    assert_eq!(step.video.as_ref().unwrap().dims(), video_dims);
                    assert_eq!(step.halt_prob.as_ref().unwrap().dims(), [2]);
                }
            }
        }
    }

    #[test]
    fn halting_stops_each_sample_on_its_own_and_freezes_it() {
        let device = cpu();
        let (spec, data) = tiny(Family::Paper);
        let mut model = build(&ModelConfig::new(&spec, &data).unwrap(), &device);
        let (ids, mask) = captions(&device);
        let noise = model.noise(2, &device);
        // Put the threshold between the two samples' first-step probabilities: exactly one halts.
        let full = model.forward(ids.clone(), mask.clone(), noise.clone(), ReasonOptions::TRAIN);
        let p = full.steps[0].halt_prob.clone().unwrap().into_data().try_to_vec::<f32>().unwrap();
        assert_ne!(p[0], p[1]);
        let (first, second) = if p[0] > p[1] { (0, 1) } else { (1, 0) };
        model.threshold = (p[0] + p[1]) as f64 / 2.0;
        let out = model.generate(ids, mask, noise);
        assert_eq!(out.steps_taken[first], 1, "{:?}", out.steps_taken);
        assert!(out.steps_taken[second] >= 2, "{:?}", out.steps_taken);
        // The halted sample's latent is its step-1 latent, untouched by the later steps.
        let frozen = |s: &StepOutput| s.z_h.clone().narrow(0, first, 1);
        let drift = (frozen(&out.steps[0]) - frozen(out.steps.last().unwrap())).abs().max().into_scalar::<f32>();
        assert_eq!(drift, 0.0);
        let live = |s: &StepOutput| s.z_h.clone().narrow(0, second, 1);
        assert!((live(&out.steps[0]) - live(&out.steps[1])).abs().max().into_scalar::<f32>() > 0.0);

        // The batch scope waits for everyone; a threshold of 1 never halts; no predictor never halts.
        model.halt_batch = true;
        let (ids, mask) = captions(&device);
        let out = model.generate(ids.clone(), mask.clone(), model.noise(2, &device));
        assert_eq!(out.steps_taken[0], out.steps_taken[1]);
        model.halt_batch = false;
        model.threshold = 1.0;
        assert_eq!(model.generate(ids.clone(), mask.clone(), model.noise(2, &device)).steps_taken, vec![3, 3]);
        model.threshold = 0.0;
        model.min_steps = 2;
        assert_eq!(model.generate(ids.clone(), mask.clone(), model.noise(2, &device)).steps_taken, vec![2, 2]);
        model.halting = None;
        assert_eq!(model.generate(ids, mask, model.noise(2, &device)).steps_taken, vec![3, 3]);
    }

    /// From a start where every token is alike (noise is nearly so), nothing in either family
    /// tells the tokens apart: attention mixes identical values and RoPE only rotates queries
    /// and keys, so every token of `z_H` ends up the same. The start position embedding fixes it.
    #[test]
    fn only_a_start_position_embedding_tells_the_tokens_apart() {
        let device = cpu();
        for family in [Family::Paper, Family::Reference] {
            for positions in [false, true] {
                let (mut spec, data) = tiny(family);
                spec.video_codec.position_embedding = positions;
                let model = build(&ModelConfig::new(&spec, &data).unwrap(), &device);
                let (ids, mask) = captions(&device);
                let start = Tensor::<3>::ones([2, model.tokens, model.hidden], &device) * 0.1;
                let z_h = model.forward(ids, mask, start, ReasonOptions::TRAIN).steps.last().unwrap().z_h.clone();
                let first = z_h.clone().narrow(1, 0, 1);
                let spread: f32 = (z_h - first).abs().max().into_scalar::<f32>();
                if positions {
                    assert!(spread > 1e-2, "{family:?}: tokens still alike ({spread})");
                } else {
                    assert!(spread < 1e-4, "{family:?}: tokens differ ({spread}) without positions");
                }
            }
        }
    }
}
