//! Cost figures for the run's summary: generation latency per clip and peak memory.

use std::time::Instant;

use burn::prelude::*;

use super::noise::noise;
use crate::model::{TextTokenizer, TextToVideo};

/// Median wall time of generating a batch of `batch` clips (warmed up once, synchronised by
/// reading the result back), divided by `batch`: seconds per clip.
pub fn generation_seconds_per_clip<B: Backend>(
    model: &TextToVideo<B>,
    tokenizer: &TextTokenizer,
    prompt: &str,
    batch: usize,
    repeats: usize,
    device: &B::Device,
) -> anyhow::Result<f64> {
    let captions = vec![prompt; batch];
    let (ids, mask) = tokenizer.batch::<B>(&captions, device).map_err(anyhow::Error::msg)?;
    let start = noise::<B>(0, "latency", 0, [batch, model.tokens, model.hidden], device);
    let run = || {
        let t = Instant::now();
        let out = model.generate(ids.clone(), mask.clone(), start.clone());
        let _ = out.video.into_data();
        t.elapsed().as_secs_f64()
    };
    run();
    let mut times: Vec<f64> = (0..repeats.max(1)).map(|_| run()).collect();
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2] / batch as f64)
}

/// Peak resident memory of this process in bytes (Linux `ru_maxrss`): on the CPU backends the
/// model, activations and optimizer state all live there.
pub fn peak_rss_bytes() -> Option<f64> {
    // SAFETY: getrusage fills the struct we pass; RUSAGE_SELF is always valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    (unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } == 0).then(|| usage.ru_maxrss as f64 * 1024.0)
}
