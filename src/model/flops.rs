//! Analytic forward FLOPs per sample, per component, along the code path of
//! [`TextToVideo::reason`](super::hrm::TextToVideo::reason): what `ttv-bench perf` divides its
//! throughput by to report achieved FLOP/s.
//!
//! Conventions:
//! - a multiply-add is 2 FLOPs: `Linear(i, o)` on `n` rows costs `2 n i o`;
//! - attention costs its two products, `Q K^T` and `A V`: `2 * 2 q k C` for `q` queries, `k` keys
//!   and width `C`, whatever the number of heads; a causal mask is counted in full (the
//!   decomposed path computes the whole score matrix and masks it; PaLM's MFU counts it so too);
//! - a convolution costs `2 * kernel volume * C_in * C_out` per output position, a transposed
//!   one per *input* position: [`conv_transpose3d`](super::conv::conv_transpose3d) multiplies
//!   each input position by the whole kernel, then overlap-adds the taps;
//! - elementwise work (norms, activations, RoPE, softmax, residual adds and biases, the halting
//!   statistics, the loss) and embedding lookups are ignored: `O(n C)` beside the products'
//!   `O(n C^2)`. The output LayerNorm is therefore listed at zero;
//! - the text is always `max_len` tokens long (the tokenizer pads; padding is masked, not skipped).

use serde::Serialize;

use super::swiglu::inner_width;
use super::video_codec::{PAPER_STRIDES, REFERENCE_PATCH, paper_down_widths, paper_kernel, paper_up_widths};
use crate::spec::types::{EngineKind, Family, HaltingKind, Interaction, ModelSpec};
use crate::spec::validate::ModelConfig;

/// FLOPs of one component, split by what multiplies what.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Flops {
    /// Products with weights: Linear layers and convolutions.
    pub weights: u64,
    /// Products of activations with activations: `Q K^T` and `A V`.
    pub attention: u64,
}

impl Flops {
    pub fn total(self) -> u64 {
        self.weights + self.attention
    }

    fn weights(weights: u64) -> Self {
        Self { weights, attention: 0 }
    }
}

impl std::ops::Add for Flops {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self { weights: self.weights + o.weights, attention: self.attention + o.attention }
    }
}

impl std::ops::Mul<u64> for Flops {
    type Output = Self;
    fn mul(self, k: u64) -> Self {
        Self { weights: self.weights * k, attention: self.attention * k }
    }
}

impl std::iter::Sum for Flops {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::default(), |a, b| a + b)
    }
}

/// `Linear(i, o)` on `rows` rows.
fn linear(rows: u64, i: u64, o: u64) -> u64 {
    2 * rows * i * o
}

/// `Q K^T` and `A V` for `queries` over `keys` at width `c` (all heads together).
fn attend(queries: u64, keys: u64, c: u64) -> u64 {
    2 * 2 * queries * keys * c
}

/// Fused qkv and output projections on `n` tokens, attending to themselves.
fn self_attention(n: u64, c: u64) -> Flops {
    Flops { weights: linear(n, c, 3 * c) + linear(n, c, c), attention: attend(n, n, c) }
}

/// q and output projections on `n` queries; k and v on the `m` context tokens, recomputed at
/// every call as the code does.
fn cross_attention(n: u64, m: u64, c: u64) -> Flops {
    Flops { weights: 2 * linear(n, c, c) + 2 * linear(m, c, c), attention: attend(n, m, c) }
}

/// Gate, up and down projections of width `f` on `n` tokens.
fn swiglu(n: u64, c: u64, f: u64) -> Flops {
    Flops::weights(2 * linear(n, c, f) + linear(n, f, c))
}

/// A convolution `c[0] -> c[1]` with `kernel`, applied at `positions`.
fn conv([c_in, c_out]: [u64; 2], kernel: [usize; 3], positions: u64) -> u64 {
    2 * kernel.iter().product::<usize>() as u64 * c_in * c_out * positions
}

fn volume(size: [u64; 3]) -> u64 {
    size.iter().product()
}

fn shrink(size: [u64; 3], stride: [usize; 3]) -> [u64; 3] {
    [0, 1, 2].map(|a| size[a] / stride[a] as u64)
}

fn grow(size: [u64; 3], stride: [usize; 3]) -> [u64; 3] {
    [0, 1, 2].map(|a| size[a] * stride[a] as u64)
}

/// What one forward pass runs, per sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Reasoning steps the loop runs. A sample that halts is still stepped with its batch (then
    /// restored), so it costs the loop's steps, not its own.
    pub steps: u64,
    /// The target clip is encoded to seed the latent (training with the `paper` objective).
    pub encode_target: bool,
    /// Every step's `z_H` is decoded (training the halting predictor), not only the last.
    pub decode_every_step: bool,
}

impl Pass {
    /// Generation from noise at `steps` reasoning steps: no target to encode, one decode.
    pub fn generate(steps: usize) -> Self {
        Self { steps: steps as u64, encode_target: false, decode_every_step: false }
    }
}

/// Forward FLOPs per component, named as in [`component_counts`](super::registry::component_counts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Breakdown(pub Vec<(&'static str, Flops)>);

impl Breakdown {
    pub fn total(&self) -> u64 {
        self.0.iter().map(|(_, f)| f.total()).sum()
    }

    /// A component's FLOPs; zero for one this model does not have.
    pub fn component(&self, name: &str) -> Flops {
        self.0.iter().find(|(n, _)| *n == name).map_or_else(Flops::default, |(_, f)| *f)
    }
}

/// The sizes a forward pass's FLOPs depend on: a validated model and its clip shape.
#[derive(Debug, Clone)]
pub struct ModelFlops {
    model: ModelSpec,
    clip: [u64; 3],
    grid: [u64; 3],
}

impl ModelFlops {
    pub fn new(config: &ModelConfig) -> Self {
        Self { model: config.spec().clone(), clip: config.clip().map(|s| s as u64), grid: config.grid().map(|g| g as u64) }
    }

    fn hidden(&self) -> u64 {
        self.model.hidden as u64
    }

    /// Latent video tokens N.
    fn tokens(&self) -> u64 {
        volume(self.grid)
    }

    /// Text tokens T.
    fn text(&self) -> u64 {
        self.model.text_encoder.max_len as u64
    }

    /// One transformer block on `n` tokens, cross-attending to `context` tokens if it has a
    /// cross-attention.
    fn block(&self, n: u64, context: Option<u64>) -> Flops {
        let c = self.hidden();
        let f = inner_width(c as usize, self.model.expansion) as u64;
        self_attention(n, c) + context.map_or_else(Flops::default, |m| cross_attention(n, m, c)) + swiglu(n, c, f)
    }

    pub fn text_encoder(&self) -> Flops {
        self.block(self.text(), None) * self.model.text_encoder.layers as u64
    }

    /// One step of a level (or of the flat stack) of `depth` blocks.
    fn level(&self, depth: u64) -> Flops {
        let (n, t) = (self.tokens(), self.text());
        match self.model.engine.interaction {
            // Every block cross-attends to [text ; the other level] (the flat stack: to itself).
            Interaction::CrossAttention => self.block(n, Some(t + n)) * depth,
            // The level cross-attends to the text once, then runs plain blocks.
            Interaction::Additive => cross_attention(n, t, self.hidden()) + self.block(n, None) * depth,
        }
    }

    pub fn video_tokenizer(&self) -> Flops {
        let c = self.hidden();
        Flops::weights(match self.model.video_codec.kind {
            Family::Paper => {
                let widths = paper_down_widths(c as usize).map(|w| w as u64);
                let mut size = self.clip;
                (0..4)
                    .map(|i| {
                        let stride = PAPER_STRIDES[i];
                        size = shrink(size, stride);
                        // The strided conv (kernel stride + 2) and its strided 1x1x1 residual projection.
                        let channels = [widths[i], widths[i + 1]];
                        conv(channels, paper_kernel(stride), volume(size)) + conv(channels, [1; 3], volume(size))
                    })
                    .sum()
            }
            Family::Reference => {
                conv([3, c / 4], [3; 3], volume(self.clip))
                    + conv([c / 4, c / 2], REFERENCE_PATCH, volume(self.grid))
                    + conv([c / 2, c], [3; 3], volume(self.grid))
            }
        })
    }

    /// One decode of `z_H` to a clip (transposed convolutions counted per input position).
    pub fn video_detokenizer(&self) -> Flops {
        let c = self.hidden();
        Flops::weights(match self.model.video_codec.kind {
            Family::Paper => {
                let widths = paper_up_widths(c as usize).map(|w| w as u64);
                let mut size = self.grid;
                let ups: u64 = (0..4)
                    .map(|i| {
                        let stride = PAPER_STRIDES[3 - i];
                        let flops = conv([widths[i], widths[i + 1]], paper_kernel(stride), volume(size));
                        size = grow(size, stride);
                        flops
                    })
                    .sum();
                ups + conv([widths[4], 3], [3; 3], volume(self.clip))
            }
            Family::Reference => {
                linear(self.tokens(), c, c)
                    + conv([c, c / 2], [3; 3], volume(self.grid))
                    + conv([c / 2, c / 4], REFERENCE_PATCH, volume(self.grid))
                    + conv([c / 4, 3], [3; 3], volume(self.clip))
            }
        })
    }

    /// One step of the convergence predictor, on one pooled row per sample.
    pub fn halting(&self) -> Flops {
        let c = self.hidden();
        Flops::weights(match self.model.halting.kind {
            HaltingKind::Mlp => linear(1, 2 * self.tokens(), c) + linear(1, c, 1),
            HaltingKind::Linear => linear(1, c, 1),
            HaltingKind::None => 0,
        })
    }

    /// The forward pass's FLOPs per component.
    pub fn forward(&self, pass: Pass) -> Breakdown {
        let engine = &self.model.engine;
        let (h, l, steps) = (engine.h_layers as u64, engine.l_layers as u64, pass.steps);
        let mut parts = vec![
            ("text_encoder", self.text_encoder()),
            ("video_tokenizer", if pass.encode_target { self.video_tokenizer() } else { Flops::default() }),
        ];
        match engine.kind {
            EngineKind::Hrm => {
                parts.push(("engine.l", self.level(l) * steps));
                parts.push(("engine.h", self.level(h) * steps));
            }
            EngineKind::Flat => parts.push(("engine.flat", self.level(h + l) * steps)),
        }
        parts.push(("halting", self.halting() * steps));
        parts.push(("output_norm", Flops::default()));
        let decodes = if pass.decode_every_step { steps } else { 1 };
        parts.push(("video_detokenizer", self.video_detokenizer() * decodes));
        Breakdown(parts)
    }

    /// The training forward as `batch_loss` runs it from the encoded target (the `paper`
    /// objective, and `ttv-bench perf`'s training step): all K steps, every step decoded when
    /// the halting predictor is trained.
    pub fn train_pass(&self) -> Pass {
        let halting = &self.model.halting;
        Pass {
            steps: self.model.engine.max_steps as u64,
            encode_target: true,
            decode_every_step: halting.kind != HaltingKind::None && halting.loss_weight > 0.0,
        }
    }

    /// One training step per sample: 3 x the training forward, since the backward pass costs
    /// about twice the forward (one product for the activations' gradients, one for the
    /// weights'), the usual convention (Kaplan et al. 2020; PaLM's MFU, Chowdhery et al. 2022).
    /// The optimizer and clipping are elementwise and ignored.
    pub fn train_step_flops_per_sample(&self) -> u64 {
        3 * self.forward(self.train_pass()).total()
    }

    /// Generation at `steps` reasoning steps ([`Pass::generate`]). With early stopping the loop
    /// may run fewer than `max_steps`, so `max_steps` gives the upper bound.
    pub fn generate_flops_per_sample(&self, steps: usize) -> u64 {
        self.forward(Pass::generate(steps)).total()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use burn::module::{Module, ModuleVisitor, Param};
    use burn::prelude::*;

    use super::*;
    use crate::backend::cpu;
    use crate::model::conv::{CpuConv, conv_transpose3d, conv3d};
    use crate::model::video_codec::{VideoDetokenizer, VideoTokenizer};
    use crate::model::{TextToVideo, build};
    use crate::spec::ModelConfig;
    use crate::spec::types::*;

    /// A tiny model of either family: hidden 32, 4 heads, one block per stack, 8 text tokens and
    /// 4 latent tokens (so the two are never confused).
    fn tiny(family: Family, engine: EngineKind) -> (ModelSpec, DataSpec) {
        let mut model = ModelSpec { hidden: 32, heads: 4, ..ModelSpec::default() };
        model.text_encoder = TextEncoderSpec { kind: family, layers: 1, max_len: 8, vocab_size: 50257 };
        model.video_codec.kind = family;
        model.engine.kind = engine;
        model.engine.h_layers = 1;
        model.engine.l_layers = 1;
        let (frames, height, width) = match family {
            Family::Paper => (4, 16, 16),
            Family::Reference => {
                model.engine.interaction = Interaction::Additive;
                model.engine.norm = NormPlacement::Post;
                model.engine.causal = true;
                model.halting.kind = HaltingKind::Linear;
                model.halting.loss_weight = 0.0;
                (2, 8, 8)
            }
        };
        (model, DataSpec { frames, height, width, ..DataSpec::default() })
    }

    /// Every Linear weight of a built module: its path and shape `[in, out]`.
    #[derive(Default)]
    struct Linears {
        path: Vec<(String, String)>,
        found: Vec<(Vec<String>, [u64; 2])>,
    }

    impl ModuleVisitor for Linears {
        fn enter_module(&mut self, name: &str, container: &str) {
            self.path.push((name.to_string(), container.to_string()));
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some((name, container)) = self.path.last()
                && (name.as_str(), container.as_str()) == ("weight", "Struct:Linear")
            {
                let dims = param.val().dims();
                let path = self.path.iter().map(|(n, _)| n.clone()).collect();
                self.found.push((path, [dims[0] as u64, dims[1] as u64]));
            }
        }
    }

    /// Independent count of one call of each component, from the built module: every Linear
    /// weight costs `2 x elements x rows it is applied to`; every attention (found by its q or
    /// qkv projection) `4 x queries x keys x width`; every convolution `2 x weight elements x
    /// positions`, the positions read off the tensors the codec's convolutions really produce.
    fn measured(m: &TextToVideo, text: u64, clip: [usize; 3]) -> BTreeMap<String, Flops> {
        let n = m.tokens as u64;
        let mut walk = Linears::default();
        m.visit(&mut walk);
        let rows = |path: &[String]| -> u64 {
            let joined = path.join(".");
            let context = |attn: &str| [".k.", ".v."].iter().any(|kv| joined.contains(&format!("{attn}{kv}")));
            match path[0].as_str() {
                "text_encoder" => text,
                "halting" => 1,
                _ if context("text_attn") => text,
                _ if context("cross_attn") => text + n,
                _ => n,
            }
        };
        let mut out = BTreeMap::<String, Flops>::new();
        for (path, [fan_in, fan_out]) in &walk.found {
            let name = match (path[0].as_str(), path.get(1).map(String::as_str)) {
                ("engine", Some("low")) if m.engine.high.is_none() => "engine.flat".to_string(),
                ("engine", Some("low")) => "engine.l".to_string(),
                ("engine", Some("high")) => "engine.h".to_string(),
                (top, _) => top.to_string(),
            };
            let entry = out.entry(name).or_default();
            let q_rows = rows(path);
            entry.weights += 2 * fan_in * fan_out * q_rows;
            let projection = path[path.len() - 2].as_str();
            if projection == "qkv" {
                entry.attention += 4 * q_rows * q_rows * (fan_out / 3);
            } else if projection == "q" {
                let mut k = path.clone();
                *k.iter_mut().rev().nth(1).unwrap() = "k".into();
                entry.attention += 4 * q_rows * rows(&k) * fan_out;
            }
        }
        let (tokenizer, detokenizer) = codec(&m.video_tokenizer, &m.video_detokenizer, m.hidden, clip);
        out.insert("video_tokenizer".into(), Flops::weights(tokenizer));
        out.entry("video_detokenizer".into()).or_default().weights += detokenizer;
        out
    }

    fn elements<const D: usize>(p: &Param<Tensor<D>>) -> u64 {
        p.val().shape().num_elements() as u64
    }

    fn positions(x: &Tensor<5>) -> u64 {
        x.dims()[2..].iter().product::<usize>() as u64
    }

    /// Convolution FLOPs of the codec, its convolutions run in order on a zero clip (values do
    /// not matter, shapes do): output positions, input positions for a transposed one.
    fn codec(tok: &VideoTokenizer, detok: &VideoDetokenizer, c: usize, [t, h, w]: [usize; 3]) -> (u64, u64) {
        let device = cpu();
        let clip = [1, 3, t, h, w];
        let tokenizer = match tok {
            VideoTokenizer::Paper(m) => m.blocks.iter().fold((0, Tensor::<5>::zeros(clip, &device)), |(flops, x), block| {
                let y = conv3d(&block.conv, x, CpuConv::Native);
                (flops + 2 * (elements(&block.conv.weight) + elements(&block.project.weight)) * positions(&y), y)
            }),
            VideoTokenizer::Reference(m) => {
                [&m.conv1, &m.conv2, &m.conv3].iter().fold((0, Tensor::zeros(clip, &device)), |(flops, x), conv| {
                    let y = conv3d(conv, x, CpuConv::Native);
                    (flops + 2 * elements(&conv.weight) * positions(&y), y)
                })
            }
        }
        .0;
        let grid = |[t, h, w]: [usize; 3]| Tensor::<5>::zeros([1, c, t, h, w], &device);
        let detokenizer = match detok {
            VideoDetokenizer::Paper(m) => {
                let mut flops = 0;
                let x = m.ups.iter().fold(grid([m.grid_t, m.grid_h, m.grid_w]), |x, up| {
                    flops += 2 * elements(&up.weight) * positions(&x);
                    conv_transpose3d(up, x, CpuConv::Native)
                });
                let y = conv3d(&m.to_rgb, x, CpuConv::Native);
                assert_eq!(y.dims(), clip);
                flops + 2 * elements(&m.to_rgb.weight) * positions(&y)
            }
            VideoDetokenizer::Reference(m) => {
                let mut flops = 0;
                let x = [&m.conv1, &m.conv2, &m.conv3].iter().fold(grid([m.grid_t, m.grid_h, m.grid_w]), |x, up| {
                    flops += 2 * elements(&up.weight) * positions(&x);
                    conv_transpose3d(up, x, CpuConv::Native)
                });
                assert_eq!(x.dims(), clip);
                flops
            }
        };
        (tokenizer, detokenizer)
    }

    #[test]
    fn flops_match_a_count_taken_from_the_built_modules() {
        let device = cpu();
        for family in [Family::Paper, Family::Reference] {
            for engine in [EngineKind::Hrm, EngineKind::Flat] {
                let (spec, data) = tiny(family, engine);
                let config = ModelConfig::new(&spec, &data).unwrap();
                let model: TextToVideo = build(&config, &device);
                let clip = [data.frames, data.height, data.width].map(|s| s as usize);
                let once = measured(&model, 8, clip);
                let analytic = ModelFlops::new(&config);
                let train = analytic.train_pass();
                // The paper trains its predictor (every step decoded), the reference does not.
                assert_eq!(train.decode_every_step, family == Family::Paper);
                for pass in [train, Pass::generate(2)] {
                    let breakdown = analytic.forward(pass);
                    let decodes = if pass.decode_every_step { pass.steps } else { 1 };
                    // Calls per pass: the loop runs the engine and the predictor once a step.
                    let calls = |name: &str| match name {
                        "text_encoder" => 1,
                        "video_tokenizer" => pass.encode_target as u64,
                        "video_detokenizer" => decodes,
                        _ => pass.steps,
                    };
                    for (name, flops) in &breakdown.0 {
                        let expect = once.get(*name).copied().unwrap_or_default() * calls(name);
                        assert_eq!(*flops, expect, "{family:?} {engine:?} {pass:?}: {name}");
                    }
                    let names: Vec<&str> = breakdown.0.iter().map(|(n, _)| *n).collect();
                    assert!(once.keys().all(|k| names.contains(&k.as_str())), "{family:?} {engine:?}: {once:?} not all counted");
                }
            }
        }
    }

    #[test]
    fn flops_grow_linearly_with_the_steps_and_a_train_step_is_three_forwards() {
        for family in [Family::Paper, Family::Reference] {
            let (spec, data) = tiny(family, EngineKind::Hrm);
            let f = ModelFlops::new(&ModelConfig::new(&spec, &data).unwrap());
            let g = |k| f.generate_flops_per_sample(k);
            assert!(g(2) > g(1), "{family:?}");
            assert_eq!(g(1) + g(3), 2 * g(2), "{family:?}");
            assert_eq!(g(5) - g(4), g(2) - g(1), "{family:?}");
            assert_eq!(f.train_step_flops_per_sample(), 3 * f.forward(f.train_pass()).total());
            assert!(f.train_step_flops_per_sample() > 3 * g(3), "training also encodes the target");
        }
    }

    /// The reference family at `experiments/reference.yaml`, to eyeball (`--nocapture`).
    #[test]
    fn flops_at_the_reference_config() {
        let exp = crate::spec::plan(std::path::Path::new("experiments/reference.yaml"), &[]).unwrap();
        let run = &exp.runs[0].spec;
        let f = ModelFlops::new(&run.model_config().unwrap());
        let steps = run.model.engine.max_steps as usize;
        println!("reference, training forward (GFLOP/sample):");
        for (name, flops) in &f.forward(f.train_pass()).0 {
            println!("  {name:<18} weights {:>8.3}  attention {:>8.3}", flops.weights as f64 / 1e9, flops.attention as f64 / 1e9);
        }
        let (train, generate) = (f.train_step_flops_per_sample(), f.generate_flops_per_sample(steps));
        println!(
            "train step {:.3} GFLOP/sample, generate at K = {steps} {:.3} GFLOP/sample",
            train as f64 / 1e9,
            generate as f64 / 1e9
        );
        // Not trained at weight 0, so the reference decodes once, as generation does.
        assert!(!f.train_pass().decode_every_step);
        assert!(train > 3 * generate, "training also encodes the target");
    }
}
