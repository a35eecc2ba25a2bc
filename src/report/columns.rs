//! The metrics a report shows, with their titles, units, which direction is better, whether they
//! are a quality or a cost, and the range their values can take: one catalogue so the tables,
//! the exports and the plots agree on names, "best" and axes.

use super::format::Unit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
}

/// What a metric measures: a quality (the table stars its best value) or a cost (parameters,
/// steps, time, memory: lower is cheaper, not "better", so never starred).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Quality,
    Cost,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metric {
    /// The key in `status.json` results and in `metrics.parquet`.
    pub key: &'static str,
    pub title: &'static str,
    pub unit: Unit,
    pub better: Better,
    pub kind: Kind,
    /// The values the metric can take (`[0, 1]` for a score, `>= 0` for an error): plot axes
    /// stop there instead of padding past them.
    pub bounds: Bounds,
}

/// A closed range; `None` is unbounded on that side.
pub type Bounds = (Option<f64>, Option<f64>);

const UNIT: Bounds = (Some(0.0), Some(1.0));
const NONNEG: Bounds = (Some(0.0), None);
/// KID's unbiased estimate can dip below zero on small sets.
const ANY: Bounds = (None, None);

const fn m(key: &'static str, title: &'static str, unit: Unit, better: Better, bounds: Bounds) -> Metric {
    Metric { key, title, unit, better, kind: Kind::Quality, bounds }
}

const fn cost(key: &'static str, title: &'static str, unit: Unit) -> Metric {
    Metric { key, title, unit, better: Better::Lower, kind: Kind::Cost, bounds: NONNEG }
}

/// The catalogue entry of `key` (summary, eval or resource metric), if it has one.
pub fn find(key: &str) -> Option<&'static Metric> {
    SUMMARY.iter().chain(&EVAL).chain(&TABLE_III).find(|m| m.key == key)
}

/// The bounds of `key`; an unknown metric is unbounded.
pub fn bounds(key: &str) -> Bounds {
    find(key).map_or(ANY, |m| m.bounds)
}

/// Final quality and cost: the comparison table (and `--format`).
pub const SUMMARY: [Metric; 13] = [
    m("fid", "FID", Unit::Plain, Better::Lower, NONNEG),
    m("kid", "KID", Unit::Plain, Better::Lower, ANY),
    m("fvd", "FVD", Unit::Plain, Better::Lower, NONNEG),
    m("gen_mse", "gen. MSE", Unit::Plain, Better::Lower, NONNEG),
    m("alignment", "alignment", Unit::Plain, Better::Higher, UNIT),
    m("temporal_mse", "temporal MSE", Unit::Plain, Better::Lower, NONNEG),
    m("persistence", "persistence", Unit::Plain, Better::Higher, UNIT),
    m("recon_mse", "recon. MSE", Unit::Plain, Better::Lower, NONNEG),
    cost("avg_steps", "avg. steps", Unit::Plain),
    m("halt_acc", "halting acc.", Unit::Plain, Better::Higher, UNIT),
    cost("params", "params", Unit::Count),
    cost("gen_ms_b1", "gen. time / clip", Unit::Millis),
    cost("train_s", "train time", Unit::Seconds),
];

/// Table II: per epoch.
pub const TABLE_II: [Metric; 3] = [
    m("recon_mse", "recon. MSE", Unit::Plain, Better::Lower, NONNEG),
    m("fid", "FID", Unit::Plain, Better::Lower, NONNEG),
    cost("avg_steps", "avg. steps", Unit::Plain),
];

/// Table III: resources.
pub const TABLE_III: [Metric; 7] = [
    cost("params", "params", Unit::Count),
    cost("ckpt_bytes", "checkpoint", Unit::Bytes),
    cost("peak_mem_bytes", "peak memory (train)", Unit::Bytes),
    cost("peak_infer_mem_bytes", "peak memory (inference)", Unit::Bytes),
    cost("train_s", "train time", Unit::Seconds),
    cost("gen_ms_b1", "inference / clip (batch 1)", Unit::Millis),
    cost("gen_ms_b64", "inference / clip (batch 64)", Unit::Millis),
];

/// Eval metrics plotted per epoch, in this order.
pub const EVAL: [Metric; 14] = [
    m("fid", "FID", Unit::Plain, Better::Lower, NONNEG),
    m("kid", "KID", Unit::Plain, Better::Lower, ANY),
    m("fvd", "FVD", Unit::Plain, Better::Lower, NONNEG),
    m("gen_mse", "gen. MSE", Unit::Plain, Better::Lower, NONNEG),
    m("recon_mse", "recon. MSE", Unit::Plain, Better::Lower, NONNEG),
    cost("avg_steps", "avg. steps", Unit::Plain),
    m("halt_acc", "halting acc.", Unit::Plain, Better::Higher, UNIT),
    m("alignment", "alignment", Unit::Plain, Better::Higher, UNIT),
    m("align_colour", "colour alignment", Unit::Plain, Better::Higher, UNIT),
    m("align_object", "object alignment", Unit::Plain, Better::Higher, UNIT),
    m("align_motion", "motion alignment", Unit::Plain, Better::Higher, UNIT),
    m("align_background", "background alignment", Unit::Plain, Better::Higher, UNIT),
    m("temporal_mse", "temporal MSE", Unit::Plain, Better::Lower, NONNEG),
    m("persistence", "persistence", Unit::Plain, Better::Higher, UNIT),
];
