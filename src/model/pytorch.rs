//! The reference family in PyTorch's layout: the `state_dict` of the reference code's model
//! (`TTVHRM` in bench/torch_ref.py), as safetensors that `model.load_state_dict(safetensors.torch.load_file(f))`
//! takes. Linear weights are transposed to `[out, in]` and LayerNorm's gamma/beta named
//! weight/bias (burn-store's `BurnToPyTorchAdapter`); burn's module paths are renamed to the
//! PyTorch model's attribute names; its three buffers are added (`rope.inv_freq`, `H_init`,
//! `L_init`: the fixed initial states this model was trained with, not the ones
//! `torch.randn` would draw). Convolution weights need nothing: burn keeps PyTorch's
//! `[out, in, k...]` (Conv3d) and `[in, out, k...]` (ConvTranspose3d).
//!
//! ```text
//! text_encoder.token_embedding / position_embedding   text.emb / text.pos
//! text_encoder.blocks.N.self_attn.{qkv,out}           text.layers.N.attn.{qkv,out}
//! *.ffn.{gate,up,down}                                *.ffn.{w1,w2,w3}
//! text_encoder.norm, output_norm                      text.norm, out_norm
//! video_tokenizer.conv{1,2,3}, .norm                  tok.c{1,2,3}, tok.norm
//! video_detokenizer.proj, .conv{1,2,3}                detok.proj, detok.c{1,2,3}
//! engine.low / engine.high                            L / H
//! engine.*.text_attn.{q,k,v,out}                      {L,H}.cross.{q,k,v,o}
//! engine.*.blocks.N.self_attn.{qkv,out}               {L,H}.blocks.N.attn.{qkv,out}
//! halting.linear                                      halt
//! ```
//!
//! The paper family (and any part the reference code does not have: learned start positions, a
//! flow-matching time embedding, an MLP or no halting predictor, a flat or cross-attention
//! engine) has no PyTorch counterpart and is refused.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail, ensure};
use burn::prelude::*;
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot};
use burn::tensor::DType;

use super::halting::Halting;
use super::hrm::TextToVideo;
use super::rope::ROPE_BASE;
use super::video_codec::VideoTokenizer;

/// One tensor of the exported state dict: shape and little-endian f32 bytes.
#[derive(Debug, Clone)]
pub struct TorchTensor {
    pub shape: Vec<usize>,
    pub bytes: Vec<u8>,
}

/// Why `model` has no PyTorch counterpart, if it has none.
fn refuse(model: &TextToVideo) -> Option<&'static str> {
    if matches!(model.video_tokenizer, VideoTokenizer::Paper(_)) || model.text_encoder.position_embedding.is_none() {
        return Some(
            "the paper family has no PyTorch model to load into (only the reference family, the \
             reference code's TTVHRM, has one): model.text_encoder.kind and model.video_codec.kind \
             must be `reference`",
        );
    }
    if model.engine.high.is_none() || !model.engine.additive {
        return Some("TTVHRM has two levels with additive injection: model.engine.kind must be `hrm` and interaction `additive`");
    }
    if !matches!(model.halting, Some(Halting::Linear(_))) {
        return Some("TTVHRM's halting head is one Linear: model.halting.kind must be `linear`");
    }
    if model.start_positions.is_some() {
        return Some("TTVHRM has no learned start positions: model.video_codec.position_embedding must be false");
    }
    if model.time_embedding.is_some() {
        return Some("TTVHRM has no flow-time embedding: training.objective flow_matching has no PyTorch counterpart");
    }
    None
}

/// The PyTorch name of a parameter, from its burn path (enum variants left out, LayerNorm's
/// gamma/beta already named weight/bias).
pub fn torch_name(burn_path: &str) -> Option<String> {
    let parts: Vec<&str> = burn_path.split('.').collect();
    let (head, rest): (String, &[&str]) = match parts.as_slice() {
        ["text_encoder", "token_embedding", rest @ ..] => ("text.emb".into(), rest),
        ["text_encoder", "position_embedding", rest @ ..] => ("text.pos".into(), rest),
        ["text_encoder", "norm", rest @ ..] => ("text.norm".into(), rest),
        ["text_encoder", "blocks", n, rest @ ..] => (format!("text.layers.{n}"), rest),
        ["video_tokenizer", "norm", rest @ ..] => ("tok.norm".into(), rest),
        ["video_tokenizer", conv, rest @ ..] => (format!("tok.{}", conv_name(conv)?), rest),
        ["video_detokenizer", "proj", rest @ ..] => ("detok.proj".into(), rest),
        ["video_detokenizer", conv, rest @ ..] => (format!("detok.{}", conv_name(conv)?), rest),
        ["engine", level, "text_attn", rest @ ..] => (format!("{}.cross", level_name(level)?), rest),
        ["engine", level, "blocks", n, rest @ ..] => (format!("{}.blocks.{n}", level_name(level)?), rest),
        ["output_norm", rest @ ..] => ("out_norm".into(), rest),
        ["halting", "linear", rest @ ..] => ("halt".into(), rest),
        _ => return None,
    };
    let tail = match rest {
        [param @ ("weight" | "bias")] => param.to_string(),
        ["self_attn", proj @ ("qkv" | "out"), param] => format!("attn.{proj}.{param}"),
        ["ffn", ffn, param] => format!("ffn.{}.{param}", ffn_name(ffn)?),
        [proj @ ("q" | "k" | "v"), param] => format!("{proj}.{param}"),
        ["out", param] => format!("o.{param}"),
        _ => return None,
    };
    Some(format!("{head}.{tail}"))
}

fn conv_name(conv: &str) -> Option<&'static str> {
    Some(match conv {
        "conv1" => "c1",
        "conv2" => "c2",
        "conv3" => "c3",
        _ => return None,
    })
}

fn level_name(level: &str) -> Option<&'static str> {
    Some(match level {
        "low" => "L",
        "high" => "H",
        _ => return None,
    })
}

fn ffn_name(ffn: &str) -> Option<&'static str> {
    Some(match ffn {
        "gate" => "w1",
        "up" => "w2",
        "down" => "w3",
        _ => return None,
    })
}

fn f32_tensor(shape: Vec<usize>, values: &[f32]) -> TorchTensor {
    TorchTensor { shape, bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect() }
}

fn values(t: &Tensor<1>) -> Result<Vec<f32>> {
    t.to_data().convert::<f32>().try_to_vec::<f32>().map_err(|e| anyhow!("reading a buffer: {e:?}"))
}

/// `model`'s state dict under the PyTorch model's names, in name order.
pub fn state_dict(model: &TextToVideo) -> Result<BTreeMap<String, TorchTensor>> {
    if let Some(why) = refuse(model) {
        bail!("{why}");
    }
    let mut out = BTreeMap::new();
    let mut unmapped = Vec::new();
    for tensor in model.collect(None, Some(Box::new(BurnToPyTorchAdapter)), true) {
        let path = tensor.name.clone();
        let Some(name) = torch_name(&path) else {
            unmapped.push(path);
            continue;
        };
        ensure!(tensor.dtype == DType::F32, "{path}: stored as {:?}, the export writes float32", tensor.dtype);
        let shape = tensor.shape.to_vec();
        let bytes = tensor.into_bytes().map_err(|e| anyhow!("{path}: {e}"))?.to_vec();
        ensure!(out.insert(name.clone(), TorchTensor { shape, bytes }).is_none(), "{path}: a second tensor named {name}");
    }
    ensure!(unmapped.is_empty(), "no PyTorch counterpart for {}", unmapped.join(", "));
    // The buffers: RoPE's frequencies as torch computes them in float32, and the fixed initial states.
    let head_dim = model.hidden / model.heads;
    let inv_freq: Vec<f32> =
        (0..head_dim).step_by(2).map(|i| 1.0 / (ROPE_BASE as f32).powf(i as f32 / head_dim as f32)).collect();
    out.insert("rope.inv_freq".into(), f32_tensor(vec![inv_freq.len()], &inv_freq));
    out.insert("H_init".into(), f32_tensor(vec![1, 1, model.hidden], &values(&model.engine.h_init)?));
    out.insert("L_init".into(), f32_tensor(vec![1, 1, model.hidden], &values(&model.engine.l_init)?));
    Ok(out)
}

/// Write `model`'s PyTorch state dict to `out` as safetensors (atomically), with `metadata`
/// (`format: pt` is added, as PyTorch's own savers write it). Returns the tensor count.
pub fn write_safetensors(model: &TextToVideo, out: &Path, metadata: &[(&str, &str)]) -> Result<usize> {
    let tensors = state_dict(model)?;
    let views = tensors
        .iter()
        .map(|(name, t)| {
            let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, t.shape.clone(), &t.bytes)
                .map_err(|e| anyhow!("{name}: {e}"))?;
            Ok((name.clone(), view))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut meta: std::collections::HashMap<String, String> =
        metadata.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    meta.insert("format".into(), "pt".into());
    let bytes = safetensors::serialize(views, Some(meta)).map_err(|e| anyhow!("serialising {}: {e}", out.display()))?;
    crate::store::atomic::write_atomic(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    Ok(tensors.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burn_paths_map_to_the_pytorch_names() {
        for (burn, torch) in [
            ("text_encoder.token_embedding.weight", "text.emb.weight"),
            ("text_encoder.blocks.2.self_attn.qkv.weight", "text.layers.2.attn.qkv.weight"),
            ("text_encoder.blocks.0.ffn.down.weight", "text.layers.0.ffn.w3.weight"),
            ("text_encoder.norm.bias", "text.norm.bias"),
            ("video_tokenizer.conv2.weight", "tok.c2.weight"),
            ("video_detokenizer.conv3.bias", "detok.c3.bias"),
            ("video_detokenizer.proj.weight", "detok.proj.weight"),
            ("engine.low.text_attn.out.weight", "L.cross.o.weight"),
            ("engine.high.text_attn.k.weight", "H.cross.k.weight"),
            ("engine.high.blocks.1.ffn.up.weight", "H.blocks.1.ffn.w2.weight"),
            ("engine.low.blocks.0.self_attn.out.weight", "L.blocks.0.attn.out.weight"),
            ("output_norm.weight", "out_norm.weight"),
            ("halting.linear.bias", "halt.bias"),
        ] {
            assert_eq!(torch_name(burn).as_deref(), Some(torch), "{burn}");
        }
        for none in [
            "start_positions",
            "halting.hidden_layer.weight",
            "engine.low.blocks.0.self_norm.gain",
            "video_tokenizer.blocks.0.conv.weight",
        ] {
            assert_eq!(torch_name(none), None, "{none}");
        }
    }
}
