//! GPT-2 byte-level BPE (50,257 tokens) through the `tokenizers` crate, built from the vendored
//! `vocab.json` / `merges.txt` so it works offline. Like the reference code's
//! `GPT2Tokenizer(..., padding='max_length', truncation=True)`: no prefix space, no special
//! tokens added, truncate to `max_len`, pad with `<|endoftext|>` (50256) and mask the padding.

use std::path::Path;

use burn::prelude::*;
use tokenizers::Tokenizer;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{BPE, Merges, Vocab};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;

const VOCAB_JSON: &[u8] = include_bytes!("../../assets/gpt2/vocab.json");
const MERGES_TXT: &[u8] = include_bytes!("../../assets/gpt2/merges.txt");

/// `<|endoftext|>`, GPT-2's only special token, used as padding.
pub const PAD_ID: u32 = 50256;

/// One caption as model input: `ids` and `mask` (`true` = real token), both `max_len` long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub ids: Vec<u32>,
    pub mask: Vec<bool>,
}

pub struct TextTokenizer {
    inner: Tokenizer,
    pub max_len: usize,
}

impl TextTokenizer {
    /// GPT-2 from the vendored files.
    pub fn gpt2(max_len: usize) -> Result<Self, String> {
        let vocab: std::collections::HashMap<String, u32> =
            serde_json::from_slice(VOCAB_JSON).map_err(|e| format!("gpt2 vocab.json: {e}"))?;
        let vocab: Vocab = vocab.into_iter().collect();
        let merges: Merges = std::str::from_utf8(MERGES_TXT)
            .map_err(|e| format!("gpt2 merges.txt: {e}"))?
            .lines()
            .filter(|line| !line.starts_with("#version") && !line.trim().is_empty())
            .map(|line| {
                let (a, b) = line.split_once(' ').ok_or_else(|| format!("gpt2 merges.txt: bad line `{line}`"))?;
                Ok((a.to_string(), b.to_string()))
            })
            .collect::<Result<_, String>>()?;
        let bpe = BPE::builder().vocab_and_merges(vocab, merges).build().map_err(|e| format!("gpt2 BPE: {e}"))?;
        let mut inner = Tokenizer::new(bpe);
        inner.with_pre_tokenizer(Some(ByteLevel::default().add_prefix_space(false)));
        inner.with_decoder(Some(ByteLevelDecoder::default()));
        Ok(Self { inner, max_len })
    }

    /// Any tokenizer saved as a Hugging Face `tokenizer.json`.
    pub fn from_file(path: &Path, max_len: usize) -> Result<Self, String> {
        let inner = Tokenizer::from_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Self { inner, max_len })
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    pub fn encode(&self, text: &str) -> Result<Encoded, String> {
        let encoding = self.inner.encode(text, false).map_err(|e| format!("tokenizing `{text}`: {e}"))?;
        let mut ids: Vec<u32> = encoding.get_ids().iter().copied().take(self.max_len).collect();
        let mut mask = vec![true; ids.len()];
        ids.resize(self.max_len, PAD_ID);
        mask.resize(self.max_len, false);
        Ok(Encoded { ids, mask })
    }

    pub fn decode(&self, ids: &[u32]) -> Result<String, String> {
        self.inner.decode(ids, true).map_err(|e| e.to_string())
    }

    /// A batch of captions as `(ids [batch, max_len], mask [batch, max_len])`.
    pub fn batch(&self, texts: &[&str], device: &Device) -> Result<TokenBatch, String> {
        let encoded = texts.iter().map(|t| self.encode(t)).collect::<Result<Vec<_>, _>>()?;
        Ok(to_tensors(&encoded, device))
    }
}

/// Token ids `[batch, max_len]` and their mask (true on real tokens) `[batch, max_len]`.
pub type TokenBatch = (Tensor<2, Int>, Tensor<2, Bool>);

/// Stack encoded captions into model inputs.
pub fn to_tensors(encoded: &[Encoded], device: &Device) -> TokenBatch {
    let len = encoded.first().map_or(0, |e| e.ids.len());
    let ids: Vec<i64> = encoded.iter().flat_map(|e| e.ids.iter().map(|&id| id as i64)).collect();
    let mask: Vec<bool> = encoded.iter().flat_map(|e| e.mask.iter().copied()).collect();
    (
        Tensor::from_data(TensorData::new(ids, [encoded.len(), len]), device),
        Tensor::from_data(TensorData::new(mask, [encoded.len(), len]), device),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpt2_bpe_matches_known_ids_and_pads() {
        let tokenizer = TextTokenizer::gpt2(8).unwrap();
        assert_eq!(tokenizer.vocab_size(), 50257);
        // GPT-2: "Hello" 15496, " world" 995 (no prefix space before the first word).
        let e = tokenizer.encode("Hello world").unwrap();
        assert_eq!(e.ids, vec![15496, 995, PAD_ID, PAD_ID, PAD_ID, PAD_ID, PAD_ID, PAD_ID]);
        assert_eq!(e.mask, vec![true, true, false, false, false, false, false, false]);
        assert_eq!(tokenizer.decode(&e.ids[..2]).unwrap(), "Hello world");
        let long = tokenizer.encode("a red ball moving left to right on a dark background").unwrap();
        assert_eq!(long.ids.len(), 8);
        assert!(long.mask.iter().all(|&m| m));
    }
}
