//! Semantic checks on a resolved run: values that parse but make no sense. Each problem is
//! blamed on the dotted path a user should edit.
//!
//! This is the one place a spec is checked. Its output for the model is a [`ModelConfig`]: the
//! model spec together with the clip shape it was checked against and the token grid the codec
//! makes of it. `model::build` takes only a `ModelConfig`, and one can only be had from here, so
//! every model that is built has passed these checks.

use std::fmt;

use super::types::{DataKind, DataSpec, ModelSpec, Objective, Precision, RunSpec, SplitKind};
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
}

impl ModelConfig {
    /// Check a model spec for clips of `data`'s shape.
    pub fn new(model: &ModelSpec, data: &DataSpec) -> Result<Self, Problems> {
        let mut problems = Problems::default();
        let grid = check_model(model, data, &mut problems);
        match grid {
            Some(grid) if problems.0.is_empty() => {
                Ok(Self { spec: model.clone(), clip: [data.frames, data.height, data.width].map(|s| s as usize), grid })
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
}

impl RunSpec {
    /// The run's model, validated for the run's clip shape.
    pub fn model_config(&self) -> Result<ModelConfig, Problems> {
        ModelConfig::new(&self.model, &self.data)
    }
}

/// Check a whole run; with no problem, its model's config.
pub fn validate(run: &RunSpec) -> Result<ModelConfig, Problems> {
    let mut problems = Problems::default();
    check_data(&run.data, &mut problems);
    let model = run.model_config();
    if let Err(e) = &model {
        problems.0.extend(e.0.iter().cloned());
    }
    check_training(run, &mut problems);
    match model {
        Ok(config) if problems.0.is_empty() => Ok(config),
        _ => Err(problems),
    }
}

fn check_data(d: &DataSpec, p: &mut Problems) {
    p.check(d.samples >= 2, "data.samples", "must be at least 2 (one train and one eval sample)");
    let fraction_ok = d.eval_fraction > 0.0 && d.eval_fraction < 1.0;
    p.check(fraction_ok, "data.eval_fraction", "must be in (0, 1)");
    let n_eval = (d.samples as f64 * d.eval_fraction).round() as u64;
    p.check(
        d.samples < 2 || !fraction_ok || (n_eval >= 1 && n_eval < d.samples),
        "data.eval_fraction",
        format!("leaves {n_eval} of {} samples for eval; both splits need at least one", d.samples),
    );
    p.check(d.frames >= 1 && d.height >= 1 && d.width >= 1, "data.frames", "frames, height and width must be >= 1");
    p.check(d.kind == DataKind::Shapes || d.source.is_some(), "data.source", "`folder` and `finevideo` need a source");
    p.check(d.split != SplitKind::Heldout || d.kind == DataKind::Shapes, "data.split", "`heldout` needs shapes data");
}

/// The model's checks; the codec's token grid when the codec fits the clip.
fn check_model(m: &ModelSpec, d: &DataSpec, p: &mut Problems) -> Option<[usize; 3]> {
    p.check(m.hidden >= 1, "model.hidden", "must be >= 1");
    p.check(m.heads >= 1, "model.heads", "must be >= 1");
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
    p.check(
        m.expansion.is_nan() || m.expansion <= 0.0 || m.hidden == 0 || inner_width(m.hidden as usize, m.expansion) >= 1,
        "model.expansion",
        format!("hidden {} x expansion {} leaves the feed-forward layer empty", m.hidden, m.expansion),
    );
    let text = &m.text_encoder;
    p.check(text.layers >= 1, "model.text_encoder.layers", "must be >= 1");
    p.check(text.max_len >= 1, "model.text_encoder.max_len", "must be >= 1");
    // Captions are tokenized with GPT-2's BPE, whose ids run from 0 to PAD_ID = 50256
    // (`<|endoftext|>`, which also pads): the embedding needs a row for each, so at least
    // 50257. More rows are allowed (they are never looked up).
    p.check(
        text.vocab_size > PAD_ID,
        "model.text_encoder.vocab_size",
        format!("must be >= {} (the GPT-2 BPE vocabulary: ids 0..={PAD_ID})", PAD_ID + 1),
    );
    // What the codec needs of the clip and of `hidden` is computed from its strides and channel
    // widths (model/video_codec.rs), not restated here.
    let grid = token_grid(m.video_codec.kind, m.hidden as usize, d.frames as usize, d.height as usize, d.width as usize);
    if let Err(e) = &grid {
        p.check(false, "model.video_codec.kind", e.as_str());
    }
    let g = &m.engine;
    p.check(g.max_steps >= 1, "model.engine.max_steps", "must be >= 1");
    p.check(g.h_layers + g.l_layers >= 1, "model.engine.h_layers", "h_layers + l_layers must be >= 1");
    let h = &m.halting;
    p.check((0.0..=1.0).contains(&h.threshold), "model.halting.threshold", "must be in [0, 1]");
    p.check(h.loss_weight >= 0.0, "model.halting.loss_weight", "must be >= 0");
    p.check(h.min_steps >= 1 && h.min_steps <= g.max_steps.max(1), "model.halting.min_steps", "must be in [1, max_steps]");
    grid.ok()
}

fn check_training(run: &RunSpec, p: &mut Problems) {
    let (t, e) = (&run.training, &run.eval);
    p.check(t.epochs >= 1, "training.epochs", "must be >= 1");
    p.check(t.batch_size >= 1, "training.batch_size", "must be >= 1");
    p.check(t.grad_accum >= 1, "training.grad_accum", "must be >= 1");
    p.check(t.optimizer.lr > 0.0, "training.optimizer.lr", "must be > 0");
    p.check(t.optimizer.betas.iter().all(|b| (0.0..1.0).contains(b)), "training.optimizer.betas", "each beta must be in [0, 1)");
    p.check(t.optimizer.weight_decay >= 0.0, "training.optimizer.weight_decay", "must be >= 0");
    p.check(t.optimizer.eps > 0.0, "training.optimizer.eps", "must be > 0");
    p.check(t.clip_norm.is_none_or(|c| c > 0.0), "training.clip_norm", "must be > 0 (or null for no clipping)");
    p.check(t.time_budget.is_none_or(|b| b.0 > 0.0), "training.time_budget", "must be > 0");
    p.check(t.checkpoint_every >= 1, "training.checkpoint_every", "must be >= 1");
    // Declared in the schema for what comes next; refuse them rather than silently train
    // something else.
    p.check(
        t.objective != Objective::FlowMatching,
        "training.objective",
        "flow_matching is not implemented yet (use paper or noise_regression)",
    );
    p.check(t.precision == Precision::Fp32, "training.precision", "only fp32 is implemented yet");

    p.check(e.every >= 1, "eval.every", "must be >= 1");
    p.check(e.samples.is_none_or(|s| s >= 1), "eval.samples", "must be >= 1 (or null for the whole eval split)");
    p.check(e.prompts.iter().all(|p| !p.trim().is_empty()), "eval.prompts", "prompts must not be empty");
}
