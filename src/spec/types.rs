//! The spec types. These Rust types *are* the schema: `experiments/schema.json` is generated
//! from them (`ttv-run schema`), and every default below is the paper's Table I value unless a
//! comment says otherwise. All structs reject unknown keys so a typo never silently becomes a
//! default.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One YAML spec file as the user writes it: an experiment, possibly a sweep over variants.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SpecFile {
    /// Experiment name (defaults to the file stem). Not part of a run's identity.
    pub name: Option<String>,
    /// Free text. Not part of a run's identity.
    pub description: Option<String>,
    /// Base spec to deep-merge under this one, relative to this file.
    pub extends: Option<String>,
    pub data: DataSpec,
    pub model: ModelSpec,
    pub training: TrainingSpec,
    pub eval: EvalSpec,
    /// Every variant runs once per seed (model init, data order, noise).
    pub seeds: Vec<u64>,
    /// Grid product: dotted path -> list of values.
    pub sweep: BTreeMap<String, Vec<serde_json::Value>>,
    /// Paired lists: all lists have one length; the i-th values go together. Combined with
    /// `sweep` by product.
    pub zip: BTreeMap<String, Vec<serde_json::Value>>,
    /// Extra variants beside the grid, each a map of dotted path -> value (like a CI matrix's
    /// `include`), e.g. `- {model.halting.kind: none}` to add "halting off" to a threshold sweep.
    pub include: Vec<BTreeMap<String, serde_json::Value>>,
}

impl Default for SpecFile {
    fn default() -> Self {
        Self {
            name: None,
            description: None,
            extends: None,
            data: DataSpec::default(),
            model: ModelSpec::default(),
            training: TrainingSpec::default(),
            eval: EvalSpec::default(),
            seeds: vec![0],
            sweep: BTreeMap::new(),
            zip: BTreeMap::new(),
            include: Vec::new(),
        }
    }
}

/// One fully resolved run: a sweep point and a seed applied to the spec. Its canonical JSON,
/// with the `name`/`description` left out, is the run's identity.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    pub data: DataSpec,
    pub model: ModelSpec,
    pub training: TrainingSpec,
    pub eval: EvalSpec,
    pub seed: u64,
}

// ---------------------------------------------------------------------------------------------
// data

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DataKind {
    /// Built-in procedural text-video pairs (objects x colours x motions x backgrounds).
    Shapes,
    /// Real videos listed in a CSV/JSONL manifest, decoded with FFmpeg.
    Folder,
    /// HuggingFaceFV/finevideo Parquet shards (hf-hub or local).
    Finevideo,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SplitKind {
    /// Seeded random train/eval split of the samples.
    Random,
    /// Eval on attribute combinations never seen in training (shapes only).
    Heldout,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DataSpec {
    pub kind: DataKind,
    /// Number of text-video pairs in all (train + eval). The paper used 50.
    pub samples: u64,
    /// Fraction held out for evaluation (the paper: 0.1, i.e. 45/5).
    pub eval_fraction: f64,
    pub split: SplitKind,
    pub frames: u32,
    pub height: u32,
    pub width: u32,
    /// Seed of the dataset itself (kept fixed across run seeds so seeds vary training only).
    pub seed: u64,
    /// Manifest (folder) or shard file / folder of shards (finevideo): a local path, or a path on
    /// the Hugging Face Hub, `hf://owner/name[@revision]/path` (model repo) or
    /// `hf://datasets/owner/name[@revision]/path` (dataset repo), read through the Hub cache.
    pub source: Option<String>,
    /// FFmpeg program for `folder`; `ffmpeg` on PATH when unset.
    pub ffmpeg: Option<String>,
    pub shapes: ShapesSpec,
}

impl Default for DataSpec {
    fn default() -> Self {
        Self {
            kind: DataKind::Shapes,
            samples: 50,
            eval_fraction: 0.1,
            split: SplitKind::Random,
            frames: 8,
            height: 32,
            width: 32,
            seed: 0,
            source: None,
            ffmpeg: None,
            shapes: ShapesSpec::default(),
        }
    }
}

/// Nuisance factors of the shapes generator; all off by default so a caption fixes the clip.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ShapesSpec {
    pub random_position: bool,
    pub random_size: bool,
    pub random_speed: bool,
}

// ---------------------------------------------------------------------------------------------
// model

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// What the paper's text describes.
    Paper,
    /// What codewithdark-git/TTV-HRM's code computes.
    Reference,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ModelSpec {
    /// Width of every embedding, attention and latent token.
    pub hidden: u32,
    pub heads: u32,
    /// SwiGLU / MLP expansion factor.
    pub expansion: f64,
    pub text_encoder: TextEncoderSpec,
    pub video_codec: VideoCodecSpec,
    pub engine: EngineSpec,
    pub halting: HaltingSpec,
}

impl Default for ModelSpec {
    fn default() -> Self {
        Self {
            hidden: 256,
            heads: 8,
            expansion: 2.0,
            text_encoder: TextEncoderSpec::default(),
            video_codec: VideoCodecSpec::default(),
            engine: EngineSpec::default(),
            halting: HaltingSpec::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TextEncoderSpec {
    /// Registry name: `paper` (pre-norm, sinusoidal positions, pad mask) or `reference`.
    pub kind: Family,
    pub layers: u32,
    pub max_len: u32,
    pub vocab_size: u32,
}

impl Default for TextEncoderSpec {
    fn default() -> Self {
        Self { kind: Family::Paper, layers: 3, max_len: 77, vocab_size: 50257 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct VideoCodecSpec {
    /// Registry name: `paper` (4 strided Conv3d blocks, 32 tokens) or `reference` (256 tokens).
    pub kind: Family,
    /// Add a learned absolute position embedding to the latent the reasoning starts from (the
    /// encoded clip, or the noise at generation). Neither source has one; from noise every
    /// token starts alike and gets the same update (RoPE rotates queries and keys, not values),
    /// so nothing tells the detokenizer where anything is. Off by default (both sources); left
    /// out of the hash when off, so older runs keep their identity (spec/hash.rs).
    pub position_embedding: bool,
    /// How the CPU backend (burn-flex) computes the codec's convolutions: `native`, burn's own
    /// tiled im2col + gemm (about 3x faster), or `gemm`, one gather and one matmul per
    /// convolution (model/conv.rs), what every other backend runs. The two round differently,
    /// so a CPU run's numbers depend on it; `gemm` reproduces CPU runs trained before `native`
    /// became the default bit for bit. Other backends ignore it. Left out of the hash when
    /// `native`, so older runs keep their identity (spec/hash.rs).
    pub cpu_conv: CpuConv,
}

impl Default for VideoCodecSpec {
    fn default() -> Self {
        Self { kind: Family::Paper, position_embedding: false, cpu_conv: CpuConv::Native }
    }
}

/// The convolution algorithm of the CPU backend.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CpuConv {
    /// burn's own convolution modules.
    Native,
    /// Gather every kernel tap and multiply by the weight matrix (im2col), as on other backends.
    Gemm,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EngineKind {
    /// Two coupled levels, L (fast, fine) and H (slow, coarse).
    Hrm,
    /// One stack of the same depth and parameter budget, no H/L split.
    Flat,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Interaction {
    /// The paper: each level cross-attends to [text ; other level].
    CrossAttention,
    /// The reference code: additive injection `zL = L(zL, zH + v)`, `zH = H(zH, zL)`.
    Additive,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum NormPlacement {
    Pre,
    Post,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSpec {
    pub kind: EngineKind,
    /// Transformer blocks in the H level.
    pub h_layers: u32,
    /// Transformer blocks in the L level.
    pub l_layers: u32,
    /// Upper bound K on reasoning steps.
    pub max_steps: u32,
    pub interaction: Interaction,
    pub norm: NormPlacement,
    /// Causal self-attention over video tokens (the reference code's choice).
    pub causal: bool,
}

impl Default for EngineSpec {
    fn default() -> Self {
        Self {
            kind: EngineKind::Hrm,
            h_layers: 2,
            l_layers: 2,
            max_steps: 3,
            interaction: Interaction::CrossAttention,
            norm: NormPlacement::Pre,
            causal: false,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum HaltingKind {
    /// The paper: 2-layer MLP on per-token mean and variance of z, trained with BCE.
    Mlp,
    /// The reference code: Linear on the token mean of zH, never trained.
    Linear,
    /// No predictor: always `max_steps` steps.
    None,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum HaltingScope {
    /// Each sample halts on its own and is frozen (the paper).
    Sample,
    /// The whole batch halts at once (the reference code).
    Batch,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HaltingSpec {
    pub kind: HaltingKind,
    /// Halt when the predictor's probability exceeds this.
    pub threshold: f64,
    /// Weight of the halting BCE in the total loss (lambda).
    pub loss_weight: f64,
    /// First step at which halting is checked (the reference code checks from step 2).
    pub min_steps: u32,
    pub scope: HaltingScope,
}

impl Default for HaltingSpec {
    fn default() -> Self {
        Self { kind: HaltingKind::Mlp, threshold: 0.5, loss_weight: 0.1, min_steps: 1, scope: HaltingScope::Sample }
    }
}

// ---------------------------------------------------------------------------------------------
// training

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Train from the encoded target, generate from noise (what both sources do).
    Paper,
    /// Train and generate from the same noise prior.
    NoiseRegression,
    /// Rectified flow in pixel space: the model sees `x_t = (1 - t) x_0 + t x_1` between noise
    /// `x_0 ~ N(0, 1)` and the clip `x_1`, and the time `t`, and predicts the clean clip;
    /// generation integrates the velocity that prediction implies with Euler steps from noise
    /// (`training.flow`).
    FlowMatching,
}

/// Generation of a `flow_matching` run.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FlowSpec {
    /// Euler steps from noise (t = 0) to the clip (t = 1), each a whole reasoning loop;
    /// `ttv-run generate --sampling-steps` overrides it.
    pub sampling_steps: u32,
}

impl Default for FlowSpec {
    fn default() -> Self {
        Self { sampling_steps: 8 }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// f32 storage and arithmetic, except on a CUDA GPU, where CubeCL computes every f32 matmul
    /// as TF32 (10-bit mantissa products, f32 sums) and no switch turns that off: CPU and GPU
    /// runs of one spec agree to about 1e-3 relative, not to f32 rounding.
    Fp32,
    /// TF32 matmuls on the GPU (fp32 storage). Not implemented apart from `fp32`, which is this
    /// on the GPU already.
    Tf32,
    /// bf16 matrix products with f32 master weights. Every `Linear` of the text encoder's and
    /// the engine's blocks, of the cross-attentions, of the flow time embedding and the reference
    /// codec's projection, and the two attention products (`q kᵀ`, `p v`) round their inputs and
    /// weights to bf16, multiply, and hand on f32 results. Parameters, gradients, the optimizer
    /// state, norms, softmax, the halting predictor, reductions, the loss and the video codec's
    /// convolutions stay f32. The CPU backend emulates the bf16 products (rounded inputs and
    /// result, f32 sums), so it checks the numbers, not the speed.
    Bf16,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrainingSpec {
    pub epochs: u32,
    /// Samples per micro-batch, over all devices: with `devices: N` each device takes a contiguous
    /// share of every micro-batch, so the update's batch (batch_size x grad_accum) does not
    /// depend on the number of devices.
    pub batch_size: u32,
    /// Micro-batches accumulated per optimizer update (effective batch = batch_size x grad_accum).
    pub grad_accum: u32,
    pub optimizer: OptimizerSpec,
    pub schedule: ScheduleSpec,
    /// Clip the global gradient norm to this; null turns clipping off.
    pub clip_norm: Option<f64>,
    pub objective: Objective,
    /// Only for `objective: flow_matching` (refused otherwise); its defaults when left out.
    pub flow: Option<FlowSpec>,
    /// Stop cleanly (with a checkpoint) when this much wall time is nearly spent: `4h`, `30m`,
    /// `90s` or a number of seconds. Null means no budget.
    pub time_budget: Option<Duration>,
    /// Checkpoint every N epochs (and always at the end and on the best eval FID).
    pub checkpoint_every: u32,
    /// Number formats of the model's arithmetic, in training and in the run's generation:
    /// `fp32` or `bf16` (`tf32` is refused).
    pub precision: Precision,
    /// Recompute the cheap (memory-bound) activations in the backward pass instead of keeping
    /// them from the forward: less memory for some more compute, the same gradients.
    pub gradient_checkpointing: bool,
    /// Devices one run trains on, data-parallel: N replicas of the model on N consecutive devices
    /// from the run's `--device` (`cuda:2` with 2 devices uses cuda:2 and cuda:3), their
    /// gradients summed before one update. On the CPU the replicas share its cores (for tests).
    pub devices: u32,
}

impl TrainingSpec {
    /// The Euler steps of a `flow_matching` run's generation; `None` for the other objectives.
    pub fn flow_sampling_steps(&self) -> Option<u32> {
        (self.objective == Objective::FlowMatching).then(|| self.flow.clone().unwrap_or_default().sampling_steps)
    }
}

impl Default for TrainingSpec {
    fn default() -> Self {
        Self {
            epochs: 3,
            batch_size: 2,
            grad_accum: 8,
            optimizer: OptimizerSpec::default(),
            schedule: ScheduleSpec::default(),
            clip_norm: Some(1.0),
            objective: Objective::Paper,
            flow: None,
            time_budget: None,
            checkpoint_every: 1,
            precision: Precision::Fp32,
            gradient_checkpointing: false,
            devices: 1,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    Adamw,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OptimizerSpec {
    pub kind: OptimizerKind,
    /// Peak learning rate.
    pub lr: f64,
    pub betas: [f64; 2],
    pub weight_decay: f64,
    pub eps: f64,
}

impl Default for OptimizerSpec {
    fn default() -> Self {
        Self { kind: OptimizerKind::Adamw, lr: 1e-4, betas: [0.9, 0.999], weight_decay: 0.01, eps: 1e-8 }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    /// Linear warmup, then constant (the paper).
    Constant,
    /// Linear warmup, then linear decay to zero at the last step.
    LinearDecay,
    /// Linear warmup, then cosine decay to zero at the last step.
    Cosine,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleSpec {
    pub kind: ScheduleKind,
    /// Optimizer updates of linear warmup from 0 to the peak learning rate.
    pub warmup_steps: u32,
}

impl Default for ScheduleSpec {
    fn default() -> Self {
        Self { kind: ScheduleKind::Constant, warmup_steps: 500 }
    }
}

/// A wall-clock duration written as `4h`, `30m`, `90s`, `1h30m` or a plain number of seconds.
/// It is stored (and hashed) as seconds, so `1h` and `3600` are the same run.
#[derive(Debug, Clone, Copy, PartialEq, JsonSchema)]
#[schemars(with = "DurationRepr")]
pub struct Duration(pub f64);

#[allow(dead_code)]
#[derive(JsonSchema)]
#[serde(untagged)]
enum DurationRepr {
    Seconds(f64),
    /// e.g. `4h`, `30m`, `90s`, `1h30m`
    Text(String),
}

impl Duration {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Ok(s) = text.parse::<f64>() {
            return Ok(Self(s));
        }
        let (mut total, mut number) = (0.0, String::new());
        for c in text.chars() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
                continue;
            }
            let unit = match c {
                'h' => 3600.0,
                'm' => 60.0,
                's' => 1.0,
                _ => return Err(format!("`{text}` is not a duration (use e.g. 4h, 30m, 90s)")),
            };
            let n: f64 = number.parse().map_err(|_| format!("`{text}` is not a duration (use e.g. 4h, 30m, 90s)"))?;
            total += n * unit;
            number.clear();
        }
        if !number.is_empty() {
            return Err(format!("`{text}`: a number needs a unit (h, m, s) after it"));
        }
        Ok(Self(total))
    }
}

impl Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Seconds(f64),
            Text(String),
        }
        match Repr::deserialize(d)? {
            Repr::Seconds(s) => Ok(Self(s)),
            Repr::Text(t) => Self::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// eval

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    ReconMse,
    GenMse,
    Fid,
    Kid,
    AvgSteps,
    HaltingAccuracy,
    /// Shapes only: attribute retrieval accuracy (`align_colour`, `align_object`,
    /// `align_motion`, `align_background`) and `alignment`, the mean of the first three.
    Alignment,
    /// `temporal_mse` (frame-to-frame differences vs the target's) and, for shapes,
    /// `persistence` (the object stays in view where the target's is).
    TemporalCoherence,
    /// Fréchet Video Distance on I3D Kinetics-400 embeddings (`fvd`, `fvd_samples`); needs
    /// `data.frames >= 9`.
    Fvd,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EvalSpec {
    /// Evaluate every N epochs (and after the last).
    pub every: u32,
    pub metrics: Vec<Metric>,
    /// Prompts rendered as sample GIFs at each evaluation.
    pub prompts: Vec<String>,
    /// Cap on eval-split samples used for metrics; null = the whole eval split.
    pub samples: Option<u64>,
}

/// The paper's prompt families.
pub const PAPER_PROMPTS: [&str; 5] = [
    "a red ball moving left to right",
    "a blue square rotating clockwise",
    "a circle fading from green to yellow",
    "a white bar moving up and down",
    "a triangle appearing in the center of a dark background",
];

impl Default for EvalSpec {
    fn default() -> Self {
        Self {
            every: 1,
            metrics: vec![Metric::ReconMse, Metric::GenMse, Metric::Fid, Metric::AvgSteps],
            prompts: PAPER_PROMPTS.iter().map(|p| p.to_string()).collect(),
            samples: None,
        }
    }
}
