//! The component registry: a `ModelSpec` names a text encoder, a video codec, an engine and a
//! halting predictor; this builds them for a clip shape and counts their parameters.

use burn::nn::{Initializer, LayerNormConfig};
use burn::prelude::*;

use super::block::BlockConfig;
use super::engine::EngineConfig;
use super::halting::Halting;
use super::hrm::TextToVideo;
use super::swiglu::inner_width;
use super::text_encoder::TextEncoderConfig;
use super::tokenizer::PAD_ID;
use super::video_codec::{token_grid, video_codec};
use crate::spec::types::{DataSpec, HaltingScope, ModelSpec};

/// Everything about a spec that would make the model unbuildable or meaningless, as one message
/// per problem, each naming the field.
pub fn validate(model: &ModelSpec, data: &DataSpec) -> Result<(), String> {
    let mut problems = Vec::new();
    let (hidden, heads) = (model.hidden as usize, model.heads as usize);
    if heads == 0 || hidden % heads != 0 {
        problems.push(format!("model.hidden = {hidden} must be divisible by model.heads = {heads}"));
    } else if (hidden / heads) % 2 != 0 {
        problems.push(format!("model.hidden / model.heads = {} must be even for the rotary embedding", hidden / heads));
    }
    if !(model.expansion > 0.0) || inner_width(hidden, model.expansion) == 0 {
        problems.push(format!("model.expansion = {} gives an empty feed-forward layer", model.expansion));
    }
    let text = &model.text_encoder;
    if text.max_len == 0 {
        problems.push("model.text_encoder.max_len must be at least 1".into());
    }
    if text.vocab_size <= PAD_ID {
        problems.push(format!(
            "model.text_encoder.vocab_size = {} is too small for the GPT-2 tokenizer (ids up to {PAD_ID})",
            text.vocab_size
        ));
    }
    if let Err(e) = token_grid(model.video_codec.kind, hidden, data.frames as usize, data.height as usize, data.width as usize) {
        problems.push(format!("model.video_codec.kind: {e}"));
    }
    let engine = &model.engine;
    if engine.h_layers + engine.l_layers == 0 {
        problems.push("model.engine: h_layers + l_layers must be at least 1".into());
    }
    if engine.max_steps == 0 {
        problems.push("model.engine.max_steps must be at least 1".into());
    }
    if !(0.0..=1.0).contains(&model.halting.threshold) {
        problems.push(format!("model.halting.threshold = {}: must be in [0, 1]", model.halting.threshold));
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
}

/// Build the model a spec describes, for clips of `data`'s shape.
pub fn build<B: Backend>(model: &ModelSpec, data: &DataSpec, device: &B::Device) -> Result<TextToVideo<B>, String> {
    validate(model, data)?;
    let (hidden, heads) = (model.hidden as usize, model.heads as usize);
    let grid = token_grid(model.video_codec.kind, hidden, data.frames as usize, data.height as usize, data.width as usize)?;
    let tokens = grid.iter().product();
    let text_encoder = TextEncoderConfig {
        family: model.text_encoder.kind,
        vocab_size: model.text_encoder.vocab_size as usize,
        max_len: model.text_encoder.max_len as usize,
        layers: model.text_encoder.layers as usize,
        hidden,
        heads,
        expansion: model.expansion,
    }
    .init(device);
    let (video_tokenizer, video_detokenizer) = video_codec(model.video_codec.kind, hidden, grid, device);
    let engine = EngineConfig {
        kind: model.engine.kind,
        interaction: model.engine.interaction,
        h_layers: model.engine.h_layers as usize,
        l_layers: model.engine.l_layers as usize,
        block: BlockConfig {
            hidden,
            heads,
            expansion: model.expansion,
            norm: model.engine.norm,
            causal: model.engine.causal,
            cross: false,
        },
    }
    .init(device);
    Ok(TextToVideo {
        text_encoder,
        video_tokenizer,
        video_detokenizer,
        engine,
        output_norm: LayerNormConfig::new(hidden).init(device),
        start_positions: model
            .video_codec
            .position_embedding
            .then(|| Initializer::Normal { mean: 0.0, std: 0.02 }.init([tokens, hidden], device)),
        halting: Halting::new(model.halting.kind, tokens, hidden, device),
        max_steps: model.engine.max_steps as usize,
        threshold: model.halting.threshold,
        min_steps: model.halting.min_steps.max(1) as usize,
        halt_batch: model.halting.scope == HaltingScope::Batch,
        tokens,
        hidden,
        heads,
    })
}

#[cfg(any(feature = "flex", feature = "ndarray"))]
type CountingBackend = crate::backend::Cpu;
#[cfg(all(not(feature = "ndarray"), not(feature = "flex"), feature = "cuda"))]
type CountingBackend = burn::backend::Cuda;

/// Trainable parameters per component of the built model, then `("total", n)`. Fixed buffers
/// (the reference's random initial states) are not parameters, as in PyTorch.
pub fn param_counts(model: &ModelSpec, data: &DataSpec) -> Result<Vec<(String, usize)>, String> {
    let m = build::<CountingBackend>(model, data, &Default::default())?;
    Ok(component_counts(&m))
}

/// The per-component counts of an already built model, then `("total", n)`.
pub fn component_counts<B: Backend>(m: &TextToVideo<B>) -> Vec<(String, usize)> {
    let mut counts = vec![
        ("text_encoder".to_string(), m.text_encoder.num_params()),
        ("video_tokenizer".to_string(), m.video_tokenizer.num_params()),
        ("video_detokenizer".to_string(), m.video_detokenizer.num_params()),
    ];
    match &m.engine.high {
        Some(high) => {
            counts.push(("engine.l".to_string(), m.engine.low.num_params()));
            counts.push(("engine.h".to_string(), high.num_params()));
        }
        None => counts.push(("engine.flat".to_string(), m.engine.low.num_params())),
    }
    counts.push(("output_norm".to_string(), m.output_norm.num_params()));
    counts.push(("start_positions".to_string(), m.start_positions.as_ref().map_or(0, |p| p.num_params())));
    counts.push(("halting".to_string(), m.halting.as_ref().map_or(0, |h| h.num_params())));
    let total = m.num_params();
    debug_assert_eq!(total, counts.iter().map(|(_, n)| n).sum::<usize>(), "a component is missing from the counts");
    counts.push(("total".to_string(), total));
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::types::*;

    /// Weights saved from one model and loaded into freshly initialised ones reproduce the
    /// same outputs (the path `ttv-bench parity` uses to copy CPU weights to CUDA). Note: burn
    /// initialises parameters lazily and a clone of an uninitialised model draws its own
    /// weights, so save with `into_record()` of the model itself, never of a clone.
    #[test]
    fn a_record_round_trip_reproduces_the_outputs() {
        use burn::module::Module;
        use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
        use burn::tensor::Distribution;
        type B = crate::backend::Cpu;
        let device = Default::default();
        let model = ModelSpec { hidden: 32, heads: 4, ..reference_spec() };
        let data = DataSpec { frames: 2, height: 8, width: 8, ..DataSpec::default() };
        let rec = BinBytesRecorder::<FullPrecisionSettings>::default();
        let a: TextToVideo<B> = build(&model, &data, &device).unwrap();
        let bytes = Recorder::<B>::record(&rec, a.into_record(), ()).unwrap();
        let load = || -> TextToVideo<B> {
            let fresh: TextToVideo<B> = build(&model, &data, &device).unwrap();
            fresh.load_record(Recorder::<B>::load(&rec, bytes.clone(), &device).unwrap())
        };
        let (b, c) = (load(), load());
        let video = Tensor::<B, 5>::random([1, 3, 2, 8, 8], Distribution::Uniform(-1.0, 1.0), &device);
        let (vb, vc) = (b.encode_video(video.clone()), c.encode_video(video.clone()));
        let diff: f32 = (vb - vc).abs().max().into_scalar();
        assert!(diff < 1e-6, "outputs differ by {diff} after a record round trip");
        // Without the record, two fresh models differ: the check above can fail.
        let (x, y): (TextToVideo<B>, TextToVideo<B>) =
            (build(&model, &data, &device).unwrap(), build(&model, &data, &device).unwrap());
        let fresh_diff: f32 = (x.encode_video(video.clone()) - y.encode_video(video)).abs().max().into_scalar();
        assert!(fresh_diff > 1e-3);
    }

    /// The public code's configuration (`experiments/reference.yaml`).
    pub fn reference_spec() -> ModelSpec {
        ModelSpec {
            hidden: 256,
            heads: 8,
            expansion: 2.0,
            text_encoder: TextEncoderSpec { kind: Family::Reference, layers: 3, max_len: 77, vocab_size: 50257 },
            video_codec: VideoCodecSpec { kind: Family::Reference, ..VideoCodecSpec::default() },
            engine: EngineSpec {
                kind: EngineKind::Hrm,
                h_layers: 2,
                l_layers: 2,
                max_steps: 3,
                interaction: Interaction::Additive,
                norm: NormPlacement::Post,
                causal: true,
            },
            halting: HaltingSpec {
                kind: HaltingKind::Linear,
                threshold: 0.5,
                loss_weight: 0.0,
                min_steps: 2,
                scope: HaltingScope::Batch,
            },
        }
    }

    fn count(counts: &[(String, usize)], name: &str) -> usize {
        counts.iter().find(|(n, _)| n == name).map(|(_, c)| *c).unwrap_or_else(|| panic!("no {name} in {counts:?}"))
    }

    #[test]
    fn reference_family_has_exactly_the_public_codes_parameters() {
        let counts = param_counts(&reference_spec(), &DataSpec::default()).unwrap();
        // Worked out from codewithdark-git/TTV-HRM models/*.py:
        // embedding 50257*256 + positions 77*256 + 3 blocks * (qkv 3C^2 + out C^2 + SwiGLU 3*C*2C) + LayerNorm 2C
        assert_eq!(count(&counts, "text_encoder"), 12_865_792 + 19_712 + 3 * 655_360 + 512);
        assert_eq!(count(&counts, "video_tokenizer"), 5_248 + 262_272 + 884_992 + 512);
        assert_eq!(count(&counts, "video_detokenizer"), 65_792 + 884_864 + 262_208 + 5_187);
        // Each HRMLayer: text cross-attention 4C^2 + 2 blocks.
        assert_eq!(count(&counts, "engine.l"), 262_144 + 2 * 655_360);
        assert_eq!(count(&counts, "engine.h"), 262_144 + 2 * 655_360);
        assert_eq!(count(&counts, "output_norm"), 512);
        assert_eq!(count(&counts, "halting"), 257);
        assert_eq!(count(&counts, "total"), 20_369_668);
    }

    #[test]
    fn flat_baseline_is_within_two_percent_of_the_matching_hrm() {
        let small_data = DataSpec { frames: 4, height: 16, width: 16, ..DataSpec::default() };
        let paper = ModelSpec { hidden: 32, heads: 4, ..ModelSpec::default() };
        for (spec, data) in [(reference_spec(), DataSpec::default()), (paper, small_data)] {
            let hrm = count(&param_counts(&spec, &data).unwrap(), "total");
            let mut flat_spec = spec.clone();
            flat_spec.engine.kind = EngineKind::Flat;
            let flat = count(&param_counts(&flat_spec, &data).unwrap(), "total");
            let gap = (hrm as f64 - flat as f64).abs() / hrm as f64;
            assert!(gap < 0.02, "hrm {hrm} vs flat {flat}: {:.2}%", 100.0 * gap);
        }
    }

    #[test]
    fn paper_family_counts_at_table_one() {
        let counts = param_counts(&ModelSpec::default(), &DataSpec::default()).unwrap();
        println!("paper (Table I): {counts:?}");
        // Same text embedding as the reference; 32 tokens instead of 256, so the MLP halting head
        // sees 64 statistics.
        assert_eq!(count(&counts, "halting"), (64 * 256 + 256) + (256 + 1));
        let mut flat = ModelSpec::default();
        flat.engine.kind = EngineKind::Flat;
        let flat = param_counts(&flat, &DataSpec::default()).unwrap();
        println!("paper flat: {flat:?}");
        assert_eq!(count(&flat, "total"), count(&counts, "total"));
    }

    #[test]
    fn an_unfit_spec_is_refused_with_the_reason() {
        let data = DataSpec { frames: 6, ..DataSpec::default() };
        let e = param_counts(&ModelSpec::default(), &data).unwrap_err();
        assert!(e.contains("data.frames = 6"), "{e}");
        let e = validate(&ModelSpec { heads: 5, ..ModelSpec::default() }, &DataSpec::default()).unwrap_err();
        assert!(e.contains("divisible by model.heads"), "{e}");
    }
}
