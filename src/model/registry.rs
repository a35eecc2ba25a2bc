//! The component registry: a model spec names a text encoder, a video codec, an engine and a
//! halting predictor; this builds them from the spec's [`ModelConfig`] (the spec validated for a
//! clip shape) and counts their parameters.

use burn::nn::{Initializer, LayerNormConfig};
use burn::prelude::*;

use super::block::BlockConfig;
use super::engine::EngineConfig;
use super::halting::Halting;
use super::hrm::TextToVideo;
use super::text_encoder::TextEncoderConfig;
use super::time_embedding::TimeEmbedding;
use super::video_codec::video_codec;
use crate::spec::types::HaltingScope;
use crate::spec::validate::ModelConfig;

/// Build the model a validated config describes (spec/validate.rs checked it for its clip shape).
pub fn build(config: &ModelConfig, device: &Device) -> TextToVideo {
    let model = config.spec();
    let (hidden, heads) = (model.hidden as usize, model.heads as usize);
    let tokens = config.tokens();
    let text_encoder = TextEncoderConfig {
        family: model.text_encoder.kind,
        vocab_size: model.text_encoder.vocab_size as usize,
        max_len: model.text_encoder.max_len as usize,
        layers: model.text_encoder.layers as usize,
        hidden,
        heads,
        expansion: model.expansion,
        compute: config.compute(),
    }
    .init(device);
    let codec = &model.video_codec;
    let (video_tokenizer, video_detokenizer) =
        video_codec(codec.kind, codec.cpu_conv, config.compute(), hidden, config.grid(), device);
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
            compute: config.compute(),
        },
    }
    .init(device);
    TextToVideo {
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
        time_embedding: config.flow().map(|_| TimeEmbedding::new(hidden, config.compute(), device)),
        sampling_steps: config.flow().unwrap_or(1),
        clip: config.clip(),
        max_steps: model.engine.max_steps as usize,
        threshold: model.halting.threshold,
        min_steps: model.halting.min_steps.max(1) as usize,
        halt_batch: model.halting.scope == HaltingScope::Batch,
        tokens,
        hidden,
        heads,
    }
}

/// Trainable parameters per component of the built model, then `("total", n)`. Fixed buffers
/// (the reference's random initial states) are not parameters, as in PyTorch.
pub fn param_counts(config: &ModelConfig) -> Vec<(String, usize)> {
    component_counts(&build(config, &crate::backend::cpu()))
}

/// The per-component counts of an already built model, then `("total", n)`.
pub fn component_counts(m: &TextToVideo) -> Vec<(String, usize)> {
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
    if let Some(time) = &m.time_embedding {
        counts.push(("time_embedding".to_string(), time.num_params()));
    }
    let total = m.num_params();
    debug_assert_eq!(total, counts.iter().map(|(_, n)| n).sum::<usize>(), "a component is missing from the counts");
    counts.push(("total".to_string(), total));
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::types::*;

    fn config(model: &ModelSpec, data: &DataSpec) -> ModelConfig {
        ModelConfig::new(model, data).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Weights saved from one model and loaded into freshly initialised ones reproduce the
    /// same outputs (the path checkpoints and `ttv-bench parity` use). Note: burn initialises
    /// parameters lazily and a clone of an uninitialised model draws its own weights, so save
    /// the model itself, never a clone.
    #[test]
    fn a_safetensors_round_trip_reproduces_the_outputs() {
        use burn::store::{ModuleSnapshot, SafetensorsStore};
        use burn::tensor::Distribution;
        let device = crate::backend::cpu();
        let model = ModelSpec { hidden: 32, heads: 4, ..reference_spec() };
        let data = DataSpec { frames: 2, height: 8, width: 8, ..DataSpec::default() };
        let config = config(&model, &data);
        let a: TextToVideo = build(&config, &device);
        let mut store = SafetensorsStore::from_bytes(None);
        a.save_into(&mut store).unwrap();
        let bytes = store.get_bytes().unwrap();
        let load = || -> TextToVideo {
            let mut fresh: TextToVideo = build(&config, &device);
            fresh.load_from(&mut SafetensorsStore::from_bytes(Some(bytes.clone()))).unwrap();
            fresh
        };
        let (b, c) = (load(), load());
        let video = Tensor::<5>::random([1, 3, 2, 8, 8], Distribution::Uniform(-1.0, 1.0), &device);
        let (vb, vc) = (b.encode_video(video.clone()), c.encode_video(video.clone()));
        let diff: f32 = (vb - vc).abs().max().into_scalar::<f32>();
        assert!(diff < 1e-6, "outputs differ by {diff} after a record round trip");
        // Without the record, two fresh models differ: the check above can fail.
        let (x, y): (TextToVideo, TextToVideo) = (build(&config, &device), build(&config, &device));
        let fresh_diff: f32 = (x.encode_video(video.clone()) - y.encode_video(video)).abs().max().into_scalar::<f32>();
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
        let counts = param_counts(&config(&reference_spec(), &DataSpec::default()));
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
            let hrm = count(&param_counts(&config(&spec, &data)), "total");
            let mut flat_spec = spec.clone();
            flat_spec.engine.kind = EngineKind::Flat;
            let flat = count(&param_counts(&config(&flat_spec, &data)), "total");
            let gap = (hrm as f64 - flat as f64).abs() / hrm as f64;
            assert!(gap < 0.02, "hrm {hrm} vs flat {flat}: {:.2}%", 100.0 * gap);
        }
    }

    #[test]
    fn paper_family_counts_at_table_one() {
        let counts = param_counts(&config(&ModelSpec::default(), &DataSpec::default()));
        println!("paper (Table I): {counts:?}");
        // Same text embedding as the reference; 32 tokens instead of 256, so the MLP halting head
        // sees 64 statistics.
        assert_eq!(count(&counts, "halting"), (64 * 256 + 256) + (256 + 1));
        let mut flat = ModelSpec::default();
        flat.engine.kind = EngineKind::Flat;
        let flat = param_counts(&config(&flat, &DataSpec::default()));
        println!("paper flat: {flat:?}");
        assert_eq!(count(&flat, "total"), count(&counts, "total"));
    }

    #[test]
    fn an_unfit_spec_gets_no_config_to_build_from() {
        let data = DataSpec { frames: 6, ..DataSpec::default() };
        let e = ModelConfig::new(&ModelSpec::default(), &data).unwrap_err().to_string();
        assert!(e.contains("data.frames = 6"), "{e}");
        let e = ModelConfig::new(&ModelSpec { heads: 5, ..ModelSpec::default() }, &DataSpec::default()).unwrap_err();
        assert!(e.to_string().contains("model.heads: hidden 256 is not divisible by heads 5"), "{e}");
    }
}
