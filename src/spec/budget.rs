//! What a run needs of the machine, computed from its spec without building anything: the
//! model's parameter count (exact: the same layers `model::build` makes, counted by formula)
//! and an estimate of one training batch's activations. Validation compares the sum with the
//! memory this machine has available (`MemAvailable` of /proc/meminfo on Linux), so a spec that
//! cannot fit is refused before a byte of it is allocated.
//!
//! CUDA builds train on the GPU, whose memory is not queried: the check is against host memory,
//! which a run needs anyway to build and checkpoint its model.

use std::sync::OnceLock;

use super::types::{
    DataSpec, EngineKind, EngineSpec, Family, HaltingKind, Interaction, ModelSpec, NormPlacement, Objective, RunSpec,
    TextEncoderSpec, TrainingSpec,
};
use super::validate::ModelConfig;
use crate::model::swiglu::inner_width;
use crate::model::time_embedding::FREQUENCIES;
use crate::model::video_codec::{PAPER_STRIDES, REFERENCE_PATCH, paper_down_widths, paper_kernel, paper_up_widths};

/// Bytes a parameter costs in training: its f32 weight, its gradient and AdamW's two moments.
pub const BYTES_PER_PARAM: f64 = 16.0;

/// Bytes of one activation value (f32).
const BYTES_PER_VALUE: f64 = 4.0;

/// Trainable parameters of the model `config` describes (what `model::param_counts` reports for
/// the built model, without building it).
pub fn param_count(config: &ModelConfig) -> u64 {
    Shape::of_config(config).params()
}

/// The sizes the footprint depends on, as plain numbers.
#[derive(Debug, Clone)]
struct Shape {
    spec: ModelSpec,
    clip: [u64; 3],
    grid: [u64; 3],
    batch: u64,
    /// Trained by flow matching: the model embeds the flow time.
    flow: bool,
}

impl Shape {
    fn of_config(config: &ModelConfig) -> Self {
        Self {
            spec: config.spec().clone(),
            clip: config.clip().map(|s| s as u64),
            grid: config.grid().map(|g| g as u64),
            batch: 1,
            flow: config.flow().is_some(),
        }
    }

    /// A run's sizes; the token grid by floor division, so a spec altered to find the dominant
    /// field never needs to fit the codec exactly.
    fn of_run(run: &RunSpec) -> Self {
        let d = &run.data;
        let clip = [d.frames, d.height, d.width].map(u64::from);
        let factor = match run.model.video_codec.kind {
            Family::Paper => PAPER_STRIDES.iter().fold([1; 3], |acc, s| [0, 1, 2].map(|a| acc[a] * s[a])),
            Family::Reference => REFERENCE_PATCH,
        };
        let grid = [0, 1, 2].map(|a| (clip[a] / factor[a] as u64).max(1));
        let flow = run.training.objective == Objective::FlowMatching;
        Self { spec: run.model.clone(), clip, grid, batch: run.training.batch_size.into(), flow }
    }

    fn c(&self) -> u64 {
        self.spec.hidden.into()
    }

    fn f(&self) -> u64 {
        inner_width(self.spec.hidden as usize, self.spec.expansion) as u64
    }

    fn tokens(&self) -> u64 {
        self.grid.iter().product()
    }

    fn text(&self) -> u64 {
        self.spec.text_encoder.max_len.into()
    }

    /// One transformer block (block.rs): self-attention, optional cross-attention, SwiGLU, and
    /// a gain per norm when pre-norm.
    fn block_params(&self, pre_norm: bool, cross: bool) -> u64 {
        let (c, f) = (self.c(), self.f());
        let norms = if pre_norm { 2 + cross as u64 } else { 0 };
        4 * c * c + cross as u64 * 4 * c * c + 3 * c * f + norms * c
    }

    fn params(&self) -> u64 {
        let (c, m) = (self.c(), &self.spec);
        let layer_norm = 2 * c;
        let conv = |cin: u64, cout: u64, kernel: [usize; 3]| cin * cout * kernel.iter().product::<usize>() as u64 + cout;
        let text = &m.text_encoder;
        let paper_text = text.kind == Family::Paper;
        let text_params = u64::from(text.vocab_size) * c
            + if paper_text { 0 } else { self.text() * c }
            + u64::from(text.layers) * self.block_params(paper_text, false)
            + layer_norm;
        let codec = match m.video_codec.kind {
            Family::Paper => {
                let down = paper_down_widths(c as usize).map(|w| w as u64);
                let up = paper_up_widths(c as usize).map(|w| w as u64);
                let tokenizer: u64 = (0..4)
                    .map(|i| {
                        let stride = PAPER_STRIDES[i];
                        conv(down[i], down[i + 1], paper_kernel(stride)) + conv(down[i], down[i + 1], [1; 3]) + 2 * down[i + 1]
                    })
                    .sum();
                let detokenizer: u64 = (0..4).map(|i| conv(up[i], up[i + 1], paper_kernel(PAPER_STRIDES[3 - i]))).sum();
                tokenizer + detokenizer + conv(up[4], 3, [3; 3])
            }
            Family::Reference => {
                let tokenizer =
                    conv(3, c / 4, [3; 3]) + conv(c / 4, c / 2, REFERENCE_PATCH) + conv(c / 2, c, [3; 3]) + layer_norm;
                let detokenizer =
                    c * c + c + conv(c, c / 2, [3; 3]) + conv(c / 2, c / 4, REFERENCE_PATCH) + conv(c / 4, 3, [3; 3]);
                tokenizer + detokenizer
            }
        };
        let g = &m.engine;
        let additive = g.interaction == Interaction::Additive;
        let pre = g.norm == NormPlacement::Pre;
        let level = |depth: u64| {
            let text_attn = if additive { 4 * c * c + if pre { c } else { 0 } } else { 0 };
            text_attn + depth * self.block_params(pre, !additive)
        };
        let (h, l) = (u64::from(g.h_layers), u64::from(g.l_layers));
        let engine = match g.kind {
            EngineKind::Hrm => level(l) + level(h),
            EngineKind::Flat => level(h + l),
        };
        let start = if m.video_codec.position_embedding { self.tokens() * c } else { 0 };
        let halting = match m.halting.kind {
            HaltingKind::Mlp => 2 * self.tokens() * c + c + c + 1,
            HaltingKind::Linear => c + 1,
            HaltingKind::None => 0,
        };
        let time = if self.flow { 2 * FREQUENCIES as u64 * c + c } else { 0 };
        text_params + codec + engine + layer_norm + start + halting + time
    }

    /// Values one transformer block keeps for the backward pass, per sample, for `n` queries
    /// over `keys` context tokens (none: no cross-attention): projections, attention scores and
    /// probabilities per head, the feed-forward's inner activations, norms and residuals.
    fn block_values(&self, n: f64, keys: Option<f64>) -> f64 {
        let (c, f, heads) = (self.c() as f64, self.f() as f64, f64::from(self.spec.heads));
        let attention = 6.0 * n * c + 2.0 * heads * n * n;
        let cross = keys.map_or(0.0, |m| 4.0 * n * c + 2.0 * m * c + 2.0 * heads * n * m);
        let ffn = 4.0 * n * f + 3.0 * n * c;
        attention + cross + ffn
    }

    /// Activation values of one training forward per sample (the `paper` objective's pass: the
    /// target encoded, all `max_steps` steps, every step decoded when the halting predictor is
    /// trained), all kept for the backward pass.
    fn activation_values(&self) -> f64 {
        let m = &self.spec;
        let (n, t, c) = (self.tokens() as f64, self.text() as f64, self.c() as f64);
        let clip: f64 = self.clip.iter().map(|&s| s as f64).product();
        let text = t * c + f64::from(m.text_encoder.layers) * self.block_values(t, None);
        let g = &m.engine;
        let level = |depth: f64| match g.interaction {
            Interaction::CrossAttention => depth * self.block_values(n, Some(t + n)),
            Interaction::Additive => self.block_values(0.0, Some(t)) + 4.0 * n * c + depth * self.block_values(n, None),
        };
        let (h, l) = (f64::from(g.h_layers), f64::from(g.l_layers));
        let step = match g.kind {
            EngineKind::Hrm => level(h) + level(l),
            EngineKind::Flat => level(h + l),
        };
        let steps = f64::from(g.max_steps);
        // The codec: every layer's output (and, going down, its residual projection, GELU and
        // norm) at that layer's resolution; the clip itself in and out.
        let volume = |size: [f64; 3]| size.iter().product::<f64>();
        let clip_size = self.clip.map(|s| s as f64);
        let (encode, decode) = match m.video_codec.kind {
            Family::Paper => {
                let (down, up) = (paper_down_widths(c as usize), paper_up_widths(c as usize));
                let mut size = clip_size;
                let mut encode = 0.0;
                for (i, stride) in PAPER_STRIDES.iter().enumerate() {
                    size = [0, 1, 2].map(|a| (size[a] / stride[a] as f64).max(1.0));
                    encode += 4.0 * down[i + 1] as f64 * volume(size);
                }
                let mut decode = 0.0;
                for (i, stride) in PAPER_STRIDES.iter().rev().enumerate() {
                    size = [0, 1, 2].map(|a| size[a] * stride[a] as f64);
                    decode += 2.0 * up[i + 1] as f64 * volume(size);
                }
                (encode, decode + 2.0 * 3.0 * clip)
            }
            Family::Reference => {
                let grid = volume(self.grid.map(|g| g as f64));
                let encode = 2.0 * (c / 4.0) * clip + 2.0 * (c / 2.0) * grid + 2.0 * c * grid;
                let decode = 2.0 * c * grid + 2.0 * (c / 2.0) * grid + 2.0 * (c / 4.0) * clip + 2.0 * 3.0 * clip;
                (encode, decode)
            }
        };
        let halting_trained = m.halting.kind != HaltingKind::None && m.halting.loss_weight > 0.0;
        let decodes = if halting_trained { steps } else { 1.0 };
        2.0 * 3.0 * clip + text + encode + steps * step + decodes * decode
    }
}

/// What a run's training needs in memory, by part.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Footprint {
    pub params: u64,
    /// Weights, gradients and optimizer moments.
    pub weight_bytes: f64,
    /// One physical batch's activations.
    pub activation_bytes: f64,
}

impl Footprint {
    pub fn of(run: &RunSpec) -> Self {
        let shape = Shape::of_run(run);
        let params = shape.params();
        Self {
            params,
            weight_bytes: params as f64 * BYTES_PER_PARAM,
            activation_bytes: shape.batch as f64 * shape.activation_values() * BYTES_PER_VALUE,
        }
    }

    pub fn total(&self) -> f64 {
        self.weight_bytes + self.activation_bytes
    }
}

/// The fields the footprint grows with, each with a way to set it back to its default: the
/// one whose reset shrinks the footprint most is the one to blame.
type Reset = fn(&mut RunSpec);
const SIZE_FIELDS: &[(&str, Reset)] = &[
    ("model.hidden", |r| r.model.hidden = ModelSpec::default().hidden),
    ("model.expansion", |r| r.model.expansion = ModelSpec::default().expansion),
    ("model.heads", |r| r.model.heads = ModelSpec::default().heads),
    ("model.text_encoder.vocab_size", |r| r.model.text_encoder.vocab_size = TextEncoderSpec::default().vocab_size),
    ("model.text_encoder.max_len", |r| r.model.text_encoder.max_len = TextEncoderSpec::default().max_len),
    ("model.text_encoder.layers", |r| r.model.text_encoder.layers = TextEncoderSpec::default().layers),
    ("model.engine.h_layers", |r| r.model.engine.h_layers = EngineSpec::default().h_layers),
    ("model.engine.l_layers", |r| r.model.engine.l_layers = EngineSpec::default().l_layers),
    ("model.engine.max_steps", |r| r.model.engine.max_steps = EngineSpec::default().max_steps),
    ("data.frames", |r| r.data.frames = DataSpec::default().frames),
    ("data.height", |r| r.data.height = DataSpec::default().height),
    ("data.width", |r| r.data.width = DataSpec::default().width),
    ("training.batch_size", |r| r.training.batch_size = TrainingSpec::default().batch_size),
];

/// The field whose default value would shrink the footprint most.
pub fn dominant_field(run: &RunSpec) -> &'static str {
    let total = Footprint::of(run).total();
    SIZE_FIELDS
        .iter()
        .map(|(path, reset)| {
            let mut smaller = run.clone();
            reset(&mut smaller);
            (*path, total - Footprint::of(&smaller).total())
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .filter(|(_, saved)| *saved > 0.0)
        .map_or("training.batch_size", |(path, _)| path)
}

/// Why `run` cannot train within `available` bytes, blamed on the field that costs most.
pub fn memory_problem(run: &RunSpec, available: u64) -> Option<(&'static str, String)> {
    let need = Footprint::of(run);
    if need.total() <= available as f64 {
        return None;
    }
    let field = dominant_field(run);
    Some((
        field,
        format!(
            "the run needs about {} ({} parameters x {BYTES_PER_PARAM} bytes for weights, gradients and AdamW \
             moments: {}; one batch's activations: {}) but this machine has {} available (MemAvailable); \
             {field} costs the most",
            bytes(need.total()),
            crate::cli::group(need.params as usize),
            bytes(need.weight_bytes),
            bytes(need.activation_bytes),
            bytes(available as f64)
        ),
    ))
}

/// Memory available to a new process: `MemAvailable` of /proc/meminfo, read once. `None` where
/// there is no such file (not Linux): then no run is refused for its size.
pub fn available_memory() -> Option<u64> {
    static AVAILABLE: OnceLock<Option<u64>> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let info = std::fs::read_to_string("/proc/meminfo").ok()?;
        let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    })
}

/// `1.5 GB`: bytes in decimal units, for messages.
pub fn bytes(b: f64) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = b;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{value:.0} bytes") } else { format!("{value:.1} {}", units[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::types::*;

    fn run(model: ModelSpec, data: DataSpec) -> RunSpec {
        RunSpec { data, model, training: TrainingSpec::default(), eval: EvalSpec::default(), seed: 0 }
    }

    /// Small models of every family, engine, interaction, norm and halting kind.
    fn variants() -> Vec<(ModelSpec, DataSpec)> {
        let mut out = Vec::new();
        for family in [Family::Paper, Family::Reference] {
            for engine in [EngineKind::Hrm, EngineKind::Flat] {
                for (interaction, norm, halting, position) in [
                    (Interaction::CrossAttention, NormPlacement::Pre, HaltingKind::Mlp, false),
                    (Interaction::Additive, NormPlacement::Post, HaltingKind::Linear, true),
                    (Interaction::Additive, NormPlacement::Pre, HaltingKind::None, false),
                ] {
                    let mut m = ModelSpec { hidden: 32, heads: 4, expansion: 1.5, ..ModelSpec::default() };
                    m.text_encoder = TextEncoderSpec { kind: family, layers: 2, max_len: 8, vocab_size: 50300 };
                    m.video_codec.kind = family;
                    m.video_codec.position_embedding = position;
                    m.engine = EngineSpec { kind: engine, h_layers: 1, l_layers: 2, interaction, norm, ..EngineSpec::default() };
                    m.halting.kind = halting;
                    let data = match family {
                        Family::Paper => DataSpec { frames: 4, height: 16, width: 16, ..DataSpec::default() },
                        Family::Reference => DataSpec { frames: 2, height: 8, width: 8, ..DataSpec::default() },
                    };
                    out.push((m, data));
                }
            }
        }
        out
    }

    #[test]
    fn parameter_count_matches_the_built_model() {
        for (model, data) in variants() {
            // A flow-matching run's model adds the time embedding.
            for flow in [false, true] {
                let mut run = run(model.clone(), data.clone());
                run.training.objective = if flow { Objective::FlowMatching } else { Objective::Paper };
                let config = run.model_config().unwrap();
                assert_eq!(config.flow().is_some(), flow);
                let built = crate::model::param_counts(&config).into_iter().find(|(k, _)| k == "total").unwrap().1;
                assert_eq!(param_count(&config), built as u64, "{model:?} flow {flow}");
                assert_eq!(Footprint::of(&run).params, built as u64);
            }
        }
        // The paper's defaults: hidden 256, 8 frames of 32x32.
        let config = ModelConfig::new(&ModelSpec::default(), &DataSpec::default()).unwrap();
        let built = crate::model::param_counts(&config).into_iter().find(|(k, _)| k == "total").unwrap().1;
        assert_eq!(param_count(&config), built as u64);
    }

    #[test]
    fn a_run_too_big_for_the_memory_is_blamed_on_its_largest_field() {
        let mut big = run(ModelSpec::default(), DataSpec::default());
        big.model.text_encoder.vocab_size = 1_000_000;
        let need = Footprint::of(&big);
        assert!(need.weight_bytes > 256e6 * 16.0, "a 256-wide embedding of a million rows");
        let (field, message) = memory_problem(&big, 1_000_000_000).expect("over 1 GB");
        assert_eq!(field, "model.text_encoder.vocab_size");
        assert!(message.contains("available (MemAvailable)"), "{message}");
        assert_eq!(memory_problem(&big, 1 << 50), None);

        let mut wide = run(ModelSpec::default(), DataSpec::default());
        wide.data.height = 2048;
        wide.data.width = 2048;
        wide.training.batch_size = 8;
        let (field, _) = memory_problem(&wide, 1_000_000_000).expect("large clips");
        assert!(field == "data.height" || field == "data.width", "{field}");
    }

    #[test]
    fn the_paper_run_fits_in_a_few_gigabytes() {
        let paper = run(ModelSpec::default(), DataSpec::default());
        let need = Footprint::of(&paper);
        assert!(need.total() < 2e9, "{need:?}");
        assert_eq!(bytes(1.5e9), "1.5 GB");
        assert_eq!(bytes(12.0), "12 bytes");
    }
}
