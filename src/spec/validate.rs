//! Semantic checks on a resolved run: values that parse but make no sense. Each problem is
//! blamed on the dotted path a user should edit.

use super::types::{DataKind, Family, Objective, Precision, RunSpec, SplitKind};

/// A problem with one field: (dotted path, message).
pub type Problem = (&'static str, String);

pub fn validate(run: &RunSpec) -> Vec<Problem> {
    let mut out: Vec<Problem> = Vec::new();
    let mut check = |ok: bool, path: &'static str, msg: &str| {
        if !ok {
            out.push((path, msg.to_string()));
        }
    };
    let (d, m, t, e) = (&run.data, &run.model, &run.training, &run.eval);

    // data
    check(d.samples >= 2, "data.samples", "must be at least 2 (one train and one eval sample)");
    check(d.eval_fraction > 0.0 && d.eval_fraction < 1.0, "data.eval_fraction", "must be in (0, 1)");
    let n_eval = (d.samples as f64 * d.eval_fraction).round() as u64;
    check(
        d.samples < 2 || !(d.eval_fraction > 0.0 && d.eval_fraction < 1.0) || (n_eval >= 1 && n_eval < d.samples),
        "data.eval_fraction",
        &format!("leaves {n_eval} of {} samples for eval; both splits need at least one", d.samples),
    );
    check(d.frames >= 1 && d.height >= 1 && d.width >= 1, "data.frames", "frames, height and width must be >= 1");
    check(d.kind == DataKind::Shapes || d.source.is_some(), "data.source", "`folder` and `finevideo` need a source");
    check(d.split != SplitKind::Heldout || d.kind == DataKind::Shapes, "data.split", "`heldout` needs shapes data");

    // model
    check(m.hidden >= 1, "model.hidden", "must be >= 1");
    check(m.heads >= 1, "model.heads", "must be >= 1");
    if m.hidden >= 1 && m.heads >= 1 {
        check(m.hidden % m.heads == 0, "model.heads", &format!("hidden {} is not divisible by heads {}", m.hidden, m.heads));
        check(
            m.hidden % m.heads != 0 || (m.hidden / m.heads) % 2 == 0,
            "model.heads",
            &format!("head dim {} must be even for RoPE", m.hidden / m.heads.max(1)),
        );
    }
    check(m.expansion > 0.0, "model.expansion", "must be > 0");
    check(m.text_encoder.layers >= 1, "model.text_encoder.layers", "must be >= 1");
    check(m.text_encoder.max_len >= 1, "model.text_encoder.max_len", "must be >= 1");
    check(m.text_encoder.vocab_size >= 50257, "model.text_encoder.vocab_size", "must be >= 50257 (the GPT-2 BPE vocabulary)");
    let (t_div, s_div) = match m.video_codec.kind {
        Family::Paper => (4, 8),
        Family::Reference => (2, 4),
    };
    check(
        d.frames % t_div == 0 && d.height % s_div == 0 && d.width % s_div == 0,
        "model.video_codec.kind",
        &format!(
            "the {:?} codec needs frames divisible by {t_div} and height/width by {s_div}; data is {}x{}x{}",
            m.video_codec.kind, d.frames, d.height, d.width
        )
        .to_lowercase(),
    );
    let g = &m.engine;
    check(g.max_steps >= 1, "model.engine.max_steps", "must be >= 1");
    check(g.h_layers + g.l_layers >= 1, "model.engine.h_layers", "h_layers + l_layers must be >= 1");
    let h = &m.halting;
    check((0.0..=1.0).contains(&h.threshold), "model.halting.threshold", "must be in [0, 1]");
    check(h.loss_weight >= 0.0, "model.halting.loss_weight", "must be >= 0");
    check(h.min_steps >= 1 && h.min_steps <= g.max_steps.max(1), "model.halting.min_steps", "must be in [1, max_steps]");

    // training
    check(t.epochs >= 1, "training.epochs", "must be >= 1");
    check(t.batch_size >= 1, "training.batch_size", "must be >= 1");
    check(t.grad_accum >= 1, "training.grad_accum", "must be >= 1");
    check(t.optimizer.lr > 0.0, "training.optimizer.lr", "must be > 0");
    check(t.optimizer.betas.iter().all(|b| (0.0..1.0).contains(b)), "training.optimizer.betas", "each beta must be in [0, 1)");
    check(t.optimizer.weight_decay >= 0.0, "training.optimizer.weight_decay", "must be >= 0");
    check(t.optimizer.eps > 0.0, "training.optimizer.eps", "must be > 0");
    check(t.clip_norm.is_none_or(|c| c > 0.0), "training.clip_norm", "must be > 0 (or null for no clipping)");
    check(t.time_budget.is_none_or(|b| b.0 > 0.0), "training.time_budget", "must be > 0");
    check(t.checkpoint_every >= 1, "training.checkpoint_every", "must be >= 1");
    // Declared in the schema for what comes next; refuse them rather than silently train
    // something else.
    check(
        t.objective != Objective::FlowMatching,
        "training.objective",
        "flow_matching is not implemented yet (use paper or noise_regression)",
    );
    check(t.precision == Precision::Fp32, "training.precision", "only fp32 is implemented yet");

    // eval
    check(e.every >= 1, "eval.every", "must be >= 1");
    check(e.samples.is_none_or(|s| s >= 1), "eval.samples", "must be >= 1 (or null for the whole eval split)");
    check(e.prompts.iter().all(|p| !p.trim().is_empty()), "eval.prompts", "prompts must not be empty");
    out
}
