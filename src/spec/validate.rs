//! Semantic checks on a resolved run: values that parse but make no sense, or that no machine
//! could hold. Each problem is blamed on the dotted path a user should edit.
//!
//! Every numeric field has a range: its meaning's lower bound, and for every size a hard cap
//! (`MAX_*` below) far above the paper's value. A run whose fields are all in range is then
//! weighed as a whole: its parameters and one batch's activations, estimated from the spec alone
//! ([`super::budget`]), against the memory this machine has available.
//!
//! This is the one place a spec is checked. Its output for the model is a [`ModelConfig`]: the
//! model spec together with the clip shape it was checked against and the token grid the codec
//! makes of it. `model::build` takes only a `ModelConfig`, and one can only be had from here, so
//! every model that is built has passed these checks.

use std::fmt;

use super::types::{DataKind, DataSpec, Metric, ModelSpec, Objective, Precision, RunSpec, SplitKind};
use crate::model::precision::Compute;
use crate::model::swiglu::inner_width;
use crate::model::tokenizer::PAD_ID;
use crate::model::video_codec::token_grid;

/// A problem with one field: (dotted path, message).
pub type Problem = (&'static str, String);

/// Every problem found; shown as `path: message` joined by `; `.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    fn check(&mut self, ok: bool, path: &'static str, message: impl Into<String>) {
        if !ok {
            self.0.push((path, message.into()));
        }
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (path, message)) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, "; ")?;
            }
            write!(f, "{path}: {message}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// A model spec that passed validation for clips of one shape: what model building consumes.
/// Its fields are private, so the only way to make one is [`ModelConfig::new`] or [`validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    spec: ModelSpec,
    /// Clip (frames, height, width).
    clip: [usize; 3],
    /// The latent token grid (time, height, width) the video codec makes of the clip.
    grid: [usize; 3],
    /// `flow_matching`'s Euler steps of generation: the model then has a time embedding.
    flow: Option<usize>,
    /// The format of the model's matrix products (`training.precision`).
    compute: Compute,
}

impl ModelConfig {
    /// Check a model spec for clips of `data`'s shape.
    pub fn new(model: &ModelSpec, data: &DataSpec) -> Result<Self, Problems> {
        let mut problems = Problems::default();
        let grid = check_model(model, data, &mut problems);
        match grid {
            Some(grid) if problems.0.is_empty() => {
                let clip = [data.frames, data.height, data.width].map(|s| s as usize);
                Ok(Self { spec: model.clone(), clip, grid, flow: None, compute: Compute::F32 })
            }
            _ => Err(problems),
        }
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// Clip (frames, height, width).
    pub fn clip(&self) -> [usize; 3] {
        self.clip
    }

    /// Latent token grid (time, height, width).
    pub fn grid(&self) -> [usize; 3] {
        self.grid
    }

    /// Latent video tokens: the grid's size.
    pub fn tokens(&self) -> usize {
        self.grid.iter().product()
    }

    /// The model of a `flow_matching` run: it embeds the flow time and generates in
    /// `sampling_steps` Euler steps (at least one).
    pub fn with_flow(mut self, sampling_steps: u32) -> Self {
        self.flow = Some(sampling_steps.max(1) as usize);
        self
    }

    /// The Euler steps of generation when the model is trained by flow matching.
    pub fn flow(&self) -> Option<usize> {
        self.flow
    }

    /// The model of a run whose matrix products compute in `compute` (f32 unless told).
    pub fn with_compute(mut self, compute: Compute) -> Self {
        self.compute = compute;
        self
    }

    /// The format of the model's matrix products.
    pub fn compute(&self) -> Compute {
        self.compute
    }
}

impl RunSpec {
    /// The run's model, validated for the run's clip shape (with its objective's time
    /// embedding when it is trained by flow matching, and its products in the run's precision).
    pub fn model_config(&self) -> Result<ModelConfig, Problems> {
        let config = ModelConfig::new(&self.model, &self.data)?.with_compute(Compute::of(self.training.precision));
        Ok(match self.training.flow_sampling_steps() {
            Some(steps) => config.with_flow(steps),
            None => config,
        })
    }
}

/// Check a whole run; with no problem, its model's config. A run that passes every field's
/// range is also checked against the memory this machine has ([`super::budget`]).
pub fn validate(run: &RunSpec) -> Result<ModelConfig, Problems> {
    validate_within(run, super::budget::available_memory())
}

/// [`validate`] against `available` bytes of memory (`None`: no memory check).
pub fn validate_within(run: &RunSpec, available: Option<u64>) -> Result<ModelConfig, Problems> {
    let mut problems = Problems::default();
    check_data(&run.data, &mut problems);
    let model = run.model_config();
    if let Err(e) = &model {
        problems.0.extend(e.0.iter().cloned());
    }
    check_training(run, &mut problems);
    if problems.0.is_empty()
        && let Some((field, message)) = available.and_then(|bytes| super::budget::memory_problem(run, bytes))
    {
        problems.0.push((field, message));
    }
    match model {
        Ok(config) if problems.0.is_empty() => Ok(config),
        _ => Err(problems),
    }
}

// Hard caps: far above the paper's sizes, low enough that no single field can ask for more
// memory than a machine has (the memory check then weighs the fields together).

/// Clips in all; the paper used 50 and FineVideo has about 44,000.
pub const MAX_SAMPLES: u64 = 10_000_000;
/// Frames per clip (the paper: 8).
pub const MAX_FRAMES: u32 = 1024;
/// Clip height and width in pixels (the paper: 32).
pub const MAX_SIDE: u32 = 4096;
/// Model width (the paper: 256).
pub const MAX_HIDDEN: u32 = 16_384;
/// Attention heads (the paper: 8).
pub const MAX_HEADS: u32 = 1024;
/// Feed-forward expansion (the paper: 2).
pub const MAX_EXPANSION: f64 = 64.0;
/// Blocks of the text encoder, and of each reasoning level (the paper: 3 and 2).
pub const MAX_LAYERS: u32 = 256;
/// Text tokens (the paper: 77, CLIP's length; GPT-2's context is 1024).
pub const MAX_TEXT_LEN: u32 = 8192;
/// Embedding rows (GPT-2's BPE has 50,257).
pub const MAX_VOCAB: u32 = 1 << 20;
/// Reasoning steps K (the paper: 3).
pub const MAX_STEPS: u32 = 1000;
/// Euler steps of flow-matching generation (the default: 8), each a whole reasoning loop.
pub const MAX_SAMPLING_STEPS: u32 = 10_000;
/// Epochs (the paper: 3).
pub const MAX_EPOCHS: u32 = 1_000_000;
/// Clips per batch and micro-batches per update (the paper: 2 and 8).
pub const MAX_BATCH: u32 = 65_536;
/// Devices of one data-parallel run: more GPUs than one host holds.
pub const MAX_DEVICES: u32 = 64;
/// Prompts rendered at each evaluation (the paper: 5).
pub const MAX_PROMPTS: usize = 1024;
/// Runs one spec may expand into (sweep points x seeds), counted before any is built.
pub const MAX_RUNS: u64 = 10_000;
/// Halting loss weight (the paper: 0.1).
pub const MAX_LOSS_WEIGHT: f64 = 1000.0;
/// Peak learning rate (the paper: 1e-4).
pub const MAX_LR: f64 = 10.0;
/// AdamW's decoupled weight decay (the paper: 0.01).
pub const MAX_WEIGHT_DECAY: f64 = 100.0;
/// A time budget of a year, in seconds.
pub const MAX_TIME_BUDGET_S: f64 = 365.0 * 24.0 * 3600.0;

impl Problems {
    /// `value` must not exceed the hard cap `max` (NaN is left to the field's lower bound).
    fn cap(&mut self, path: &'static str, value: f64, max: f64, paper: &str) {
        self.check(
            value.is_nan() || value <= max,
            path,
            format!("must be <= {max}: a cap far above {paper}, so that no typo can exhaust memory"),
        );
    }
}

fn check_data(d: &DataSpec, p: &mut Problems) {
    p.check(d.samples >= 2, "data.samples", "must be at least 2 (one train and one eval sample)");
    p.cap("data.samples", d.samples as f64, MAX_SAMPLES as f64, "the paper's 50 (FineVideo has about 44,000 clips)");
    let fraction_ok = d.eval_fraction > 0.0 && d.eval_fraction < 1.0;
    p.check(fraction_ok, "data.eval_fraction", "must be in (0, 1)");
    let n_eval = (d.samples as f64 * d.eval_fraction).round() as u64;
    p.check(
        d.samples < 2 || !fraction_ok || (n_eval >= 1 && n_eval < d.samples),
        "data.eval_fraction",
        format!("leaves {n_eval} of {} samples for eval; both splits need at least one", d.samples),
    );
    p.check(d.frames >= 1 && d.height >= 1 && d.width >= 1, "data.frames", "frames, height and width must be >= 1");
    p.cap("data.frames", d.frames.into(), MAX_FRAMES.into(), "the paper's 8");
    p.cap("data.height", d.height.into(), MAX_SIDE.into(), "the paper's 32");
    p.cap("data.width", d.width.into(), MAX_SIDE.into(), "the paper's 32");
    // The index stores a spec's integers as Int64.
    p.check(i64::try_from(d.seed).is_ok(), "data.seed", format!("must be <= {} (the index stores it as Int64)", i64::MAX));
    p.check(d.kind == DataKind::Shapes || d.source.is_some(), "data.source", "`folder` and `finevideo` need a source");
    p.check(d.split != SplitKind::Heldout || d.kind == DataKind::Shapes, "data.split", "`heldout` needs shapes data");
}

/// The model's checks; the codec's token grid when the codec fits the clip.
fn check_model(m: &ModelSpec, d: &DataSpec, p: &mut Problems) -> Option<[usize; 3]> {
    p.check(m.hidden >= 1, "model.hidden", "must be >= 1");
    p.cap("model.hidden", m.hidden.into(), MAX_HIDDEN.into(), "the paper's 256");
    p.check(m.heads >= 1, "model.heads", "must be >= 1");
    p.cap("model.heads", m.heads.into(), MAX_HEADS.into(), "the paper's 8");
    if m.hidden >= 1 && m.heads >= 1 {
        p.check(
            m.hidden.is_multiple_of(m.heads),
            "model.heads",
            format!("hidden {} is not divisible by heads {}", m.hidden, m.heads),
        );
        p.check(
            !m.hidden.is_multiple_of(m.heads) || (m.hidden / m.heads).is_multiple_of(2),
            "model.heads",
            format!("head dim {} must be even for RoPE", m.hidden / m.heads),
        );
    }
    p.check(m.expansion > 0.0, "model.expansion", "must be > 0");
    p.cap("model.expansion", m.expansion, MAX_EXPANSION, "the paper's 2");
    let expansion_ok = m.expansion > 0.0 && m.expansion <= MAX_EXPANSION;
    p.check(
        !expansion_ok || m.hidden == 0 || inner_width(m.hidden as usize, m.expansion) >= 1,
        "model.expansion",
        format!("hidden {} x expansion {} leaves the feed-forward layer empty", m.hidden, m.expansion),
    );
    let text = &m.text_encoder;
    p.check(text.layers >= 1, "model.text_encoder.layers", "must be >= 1");
    p.cap("model.text_encoder.layers", text.layers.into(), MAX_LAYERS.into(), "the paper's 3");
    p.check(text.max_len >= 1, "model.text_encoder.max_len", "must be >= 1");
    p.cap("model.text_encoder.max_len", text.max_len.into(), MAX_TEXT_LEN.into(), "the paper's 77 (GPT-2's context is 1024)");
    // Captions are tokenized with GPT-2's BPE, whose ids run from 0 to PAD_ID = 50256
    // (`<|endoftext|>`, which also pads): the embedding needs a row for each, so at least
    // 50257. More rows are allowed (they are never looked up).
    p.check(
        text.vocab_size > PAD_ID,
        "model.text_encoder.vocab_size",
        format!("must be >= {} (the GPT-2 BPE vocabulary: ids 0..={PAD_ID})", PAD_ID + 1),
    );
    p.cap("model.text_encoder.vocab_size", text.vocab_size.into(), MAX_VOCAB.into(), "GPT-2's 50257");
    let g = &m.engine;
    p.check(g.max_steps >= 1, "model.engine.max_steps", "must be >= 1");
    p.cap("model.engine.max_steps", g.max_steps.into(), MAX_STEPS.into(), "the paper's 3");
    p.check(g.h_layers.saturating_add(g.l_layers) >= 1, "model.engine.h_layers", "h_layers + l_layers must be >= 1");
    p.cap("model.engine.h_layers", g.h_layers.into(), MAX_LAYERS.into(), "the paper's 2");
    p.cap("model.engine.l_layers", g.l_layers.into(), MAX_LAYERS.into(), "the paper's 2");
    let h = &m.halting;
    p.check((0.0..=1.0).contains(&h.threshold), "model.halting.threshold", "must be in [0, 1]");
    p.check(h.loss_weight >= 0.0, "model.halting.loss_weight", "must be >= 0");
    p.cap("model.halting.loss_weight", h.loss_weight, MAX_LOSS_WEIGHT, "the paper's 0.1");
    p.check(h.min_steps >= 1 && h.min_steps <= g.max_steps.max(1), "model.halting.min_steps", "must be in [1, max_steps]");
    // What the codec needs of the clip and of `hidden` is computed from its strides and channel
    // widths (model/video_codec.rs), not restated here; a width out of range is not tried.
    if m.hidden > MAX_HIDDEN {
        return None;
    }
    let grid = token_grid(m.video_codec.kind, m.hidden as usize, d.frames as usize, d.height as usize, d.width as usize);
    if let Err(e) = &grid {
        p.check(false, "model.video_codec.kind", e.as_str());
    }
    grid.ok()
}

fn check_training(run: &RunSpec, p: &mut Problems) {
    let (t, e) = (&run.training, &run.eval);
    p.check(t.epochs >= 1, "training.epochs", "must be >= 1");
    p.cap("training.epochs", t.epochs.into(), MAX_EPOCHS.into(), "the paper's 3");
    p.check(t.batch_size >= 1, "training.batch_size", "must be >= 1");
    p.cap("training.batch_size", t.batch_size.into(), MAX_BATCH.into(), "the paper's 2");
    p.check(t.grad_accum >= 1, "training.grad_accum", "must be >= 1");
    p.check(t.devices >= 1, "training.devices", "must be >= 1");
    p.cap("training.devices", t.devices.into(), MAX_DEVICES.into(), "the 8 GPUs of a large host");
    p.check(
        t.batch_size == 0 || t.devices <= t.batch_size,
        "training.devices",
        "must be <= training.batch_size (each device takes a share of every micro-batch)",
    );
    p.cap("training.grad_accum", t.grad_accum.into(), MAX_BATCH.into(), "the paper's 8");
    p.check(t.optimizer.lr > 0.0, "training.optimizer.lr", "must be > 0");
    p.cap("training.optimizer.lr", t.optimizer.lr, MAX_LR, "the paper's 0.0001");
    p.check(t.optimizer.betas.iter().all(|b| (0.0..1.0).contains(b)), "training.optimizer.betas", "each beta must be in [0, 1)");
    p.check(t.optimizer.weight_decay >= 0.0, "training.optimizer.weight_decay", "must be >= 0");
    p.cap("training.optimizer.weight_decay", t.optimizer.weight_decay, MAX_WEIGHT_DECAY, "the paper's 0.01");
    p.check(t.optimizer.eps > 0.0, "training.optimizer.eps", "must be > 0");
    p.cap("training.optimizer.eps", t.optimizer.eps, 1.0, "the usual 1e-8");
    p.check(t.clip_norm.is_none_or(|c| c > 0.0), "training.clip_norm", "must be > 0 (or null for no clipping)");
    p.check(t.clip_norm.is_none_or(|c| !c.is_infinite()), "training.clip_norm", "must be finite (null turns clipping off)");
    p.check(t.time_budget.is_none_or(|b| b.0 > 0.0), "training.time_budget", "must be > 0");
    p.check(
        t.time_budget.is_none_or(|b| b.0.is_nan() || b.0 <= MAX_TIME_BUDGET_S),
        "training.time_budget",
        format!("must be at most a year ({MAX_TIME_BUDGET_S} s); null means no budget"),
    );
    p.check(t.checkpoint_every >= 1, "training.checkpoint_every", "must be >= 1");
    // Generation settings another objective would ignore: refused, so no run claims them.
    let objective = serde_json::to_value(t.objective).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
    p.check(
        t.flow.is_none() || t.objective == Objective::FlowMatching,
        "training.flow",
        format!("only for training.objective flow_matching (this run's is {objective}); leave it out"),
    );
    if let Some(flow) = &t.flow {
        p.check(flow.sampling_steps >= 1, "training.flow.sampling_steps", "must be >= 1");
        p.cap("training.flow.sampling_steps", flow.sampling_steps.into(), MAX_SAMPLING_STEPS.into(), "the default 8");
    }
    // Declared in the schema for what comes next; refused rather than silently training
    // something else.
    p.check(
        t.precision != Precision::Tf32,
        "training.precision",
        "not implemented yet: fp32 already runs its matmuls as TF32 on a CUDA GPU; bf16 is implemented",
    );

    p.check(e.every >= 1, "eval.every", "must be >= 1");
    p.check(
        !e.metrics.contains(&Metric::Fvd) || run.data.frames as usize >= crate::metrics::i3d::MIN_FRAMES,
        "eval.metrics",
        format!(
            "fvd needs data.frames >= {} (I3D downsamples time by 8 and its logits pool two positions); the clips have {}",
            crate::metrics::i3d::MIN_FRAMES,
            run.data.frames
        ),
    );
    p.check(e.samples.is_none_or(|s| s >= 1), "eval.samples", "must be >= 1 (or null for the whole eval split)");
    if let Some(samples) = e.samples {
        p.cap("eval.samples", samples as f64, MAX_SAMPLES as f64, "the paper's 5");
    }
    p.check(e.prompts.len() <= MAX_PROMPTS, "eval.prompts", format!("at most {MAX_PROMPTS} prompts (the paper shows 5)"));
    p.check(e.prompts.iter().all(|p| !p.trim().is_empty()), "eval.prompts", "prompts must not be empty");
}
