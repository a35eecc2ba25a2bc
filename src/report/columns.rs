//! The metrics a report shows, with their titles, units and which direction is better: one
//! catalogue so the tables, the exports and the plots agree on names and "best".

use super::format::Unit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metric {
    /// The key in `status.json` results and in `metrics.parquet`.
    pub key: &'static str,
    pub title: &'static str,
    pub unit: Unit,
    pub better: Better,
}

const fn m(key: &'static str, title: &'static str, unit: Unit, better: Better) -> Metric {
    Metric { key, title, unit, better }
}

/// Final quality and cost: the comparison table (and `--format`).
pub const SUMMARY: [Metric; 12] = [
    m("fid", "FID", Unit::Plain, Better::Lower),
    m("kid", "KID", Unit::Plain, Better::Lower),
    m("gen_mse", "gen. MSE", Unit::Plain, Better::Lower),
    m("alignment", "alignment", Unit::Plain, Better::Higher),
    m("temporal_mse", "temporal MSE", Unit::Plain, Better::Lower),
    m("persistence", "persistence", Unit::Plain, Better::Higher),
    m("recon_mse", "recon. MSE", Unit::Plain, Better::Lower),
    m("avg_steps", "avg. steps", Unit::Plain, Better::Lower),
    m("halt_acc", "halting acc.", Unit::Plain, Better::Higher),
    m("params", "params", Unit::Count, Better::Lower),
    m("gen_ms_b1", "gen. time / clip", Unit::Millis, Better::Lower),
    m("train_s", "train time", Unit::Seconds, Better::Lower),
];

/// Table II: per epoch.
pub const TABLE_II: [Metric; 3] = [
    m("recon_mse", "recon. MSE", Unit::Plain, Better::Lower),
    m("fid", "FID", Unit::Plain, Better::Lower),
    m("avg_steps", "avg. steps", Unit::Plain, Better::Lower),
];

/// Table III: resources.
pub const TABLE_III: [Metric; 7] = [
    m("params", "params", Unit::Count, Better::Lower),
    m("ckpt_bytes", "checkpoint", Unit::Bytes, Better::Lower),
    m("peak_mem_bytes", "peak memory (train)", Unit::Bytes, Better::Lower),
    m("peak_infer_mem_bytes", "peak memory (inference)", Unit::Bytes, Better::Lower),
    m("train_s", "train time", Unit::Seconds, Better::Lower),
    m("gen_ms_b1", "inference / clip (batch 1)", Unit::Millis, Better::Lower),
    m("gen_ms_b64", "inference / clip (batch 64)", Unit::Millis, Better::Lower),
];

/// Eval metrics plotted per epoch, in this order.
pub const EVAL: [Metric; 13] = [
    m("fid", "FID", Unit::Plain, Better::Lower),
    m("kid", "KID", Unit::Plain, Better::Lower),
    m("gen_mse", "gen. MSE", Unit::Plain, Better::Lower),
    m("recon_mse", "recon. MSE", Unit::Plain, Better::Lower),
    m("avg_steps", "avg. steps", Unit::Plain, Better::Lower),
    m("halt_acc", "halting acc.", Unit::Plain, Better::Higher),
    m("alignment", "alignment", Unit::Plain, Better::Higher),
    m("align_colour", "colour alignment", Unit::Plain, Better::Higher),
    m("align_object", "object alignment", Unit::Plain, Better::Higher),
    m("align_motion", "motion alignment", Unit::Plain, Better::Higher),
    m("align_background", "background alignment", Unit::Plain, Better::Higher),
    m("temporal_mse", "temporal MSE", Unit::Plain, Better::Lower),
    m("persistence", "persistence", Unit::Plain, Better::Higher),
];
