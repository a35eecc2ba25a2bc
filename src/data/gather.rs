//! Decode inputs in parallel, keep their order, and stop at the first `limit` usable ones.
//! Work proceeds in fixed-size chunks (not per thread) so which inputs are looked at, and so
//! the skip count, is the same on any number of threads.

use super::sample::Clip;
use super::skip::Skips;
use rayon::prelude::*;

const CHUNK: usize = 16;

/// Why one input was skipped: (file, reason).
pub type Rejection = (String, String);

pub fn gather<I, F>(mut items: impl Iterator<Item = I>, limit: usize, decode: F, skips: &mut Skips) -> Vec<Clip>
where
    I: Send,
    F: Fn(I) -> Result<Clip, Rejection> + Sync + Send,
{
    let mut clips = Vec::new();
    while clips.len() < limit {
        let chunk: Vec<I> = items.by_ref().take(CHUNK).collect();
        if chunk.is_empty() {
            break;
        }
        let results: Vec<Result<Clip, Rejection>> = chunk.into_par_iter().map(&decode).collect();
        for r in results {
            if clips.len() == limit {
                break;
            }
            match r {
                Ok(c) => clips.push(c),
                Err((file, reason)) => skips.add(file, reason),
            }
        }
    }
    clips
}
