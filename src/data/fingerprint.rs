//! A dataset fingerprint: SHA-256 over captions and the exact f32 bytes of the clips, so two
//! machines (or thread counts) can confirm they train on the same data.

use super::sample::Sample;
use super::source::Dataset;
use sha2::{Digest, Sha256};

pub fn fingerprint(samples: &[Sample]) -> String {
    let mut h = Sha256::new();
    for s in samples {
        h.update((s.caption.len() as u64).to_le_bytes());
        h.update(s.caption.as_bytes());
        h.update((s.video.len() as u64).to_le_bytes());
        for v in &s.video {
            h.update(v.to_le_bytes());
        }
    }
    super::cache::hex(&h.finalize())
}

impl Dataset {
    /// Fingerprint of the first `n` samples (or all of them).
    pub fn fingerprint(&self, n: usize) -> String {
        fingerprint(&self.take(n))
    }
}
