//! Cost figures for the run's summary: generation latency per clip and peak memory.

use std::time::Instant;

use burn::prelude::*;

use super::noise::prior;
use crate::model::generator::Generator;
use crate::model::{TextToVideo, TextTokenizer};

/// Median wall time of generating a batch of `batch` clips (warmed up once, synchronised by
/// reading the result back), divided by `batch`: seconds per clip. On a GPU generation is
/// replayed from recorded CUDA graphs ([`Generator`]), as a serving loop would run it.
pub fn generation_seconds_per_clip(
    model: &TextToVideo,
    tokenizer: &TextTokenizer,
    prompt: &str,
    batch: usize,
    repeats: usize,
    device: &Device,
) -> anyhow::Result<f64> {
    let captions = vec![prompt; batch];
    let (ids, mask) = tokenizer.batch(&captions, device).map_err(anyhow::Error::msg)?;
    let start = prior(model, 0, "latency", 0, batch, device);
    let mut generator = Generator::new(model, device);
    let mut run = || {
        let t = Instant::now();
        let out = generator.sample(ids.clone(), mask.clone(), start.clone());
        let _ = out.video.into_data();
        t.elapsed().as_secs_f64()
    };
    run();
    let mut times: Vec<f64> = (0..repeats.max(1)).map(|_| run()).collect();
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2] / batch as f64)
}

/// Peak resident memory of this process in bytes (Linux `ru_maxrss`): on the CPU backends the
/// model, activations and optimizer state all live there. (On CUDA this is host memory only.)
pub fn peak_rss_bytes() -> Option<f64> {
    // SAFETY: getrusage fills the struct we pass; RUSAGE_SELF is always valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    (unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } == 0).then_some(usage.ru_maxrss as f64 * 1024.0)
}

/// Restart the peak-resident-memory count (Linux: `5` into /proc/self/clear_refs resets VmHWM),
/// so that [`resident_peak_since_reset`] measures one phase, e.g. generation after training.
/// False where the kernel does not allow it: then there is no per-phase figure.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// VmHWM of /proc/self/status in bytes: the peak resident memory since the last reset.
pub fn resident_peak_since_reset() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phase_peak_restarts_below_the_process_peak() {
        // Touch 64 MiB, let it go, reset: the phase peak is back below the process peak.
        let big = vec![1u8; 64 << 20];
        assert!(big.iter().map(|&b| b as u64).sum::<u64>() > 0);
        drop(big);
        let process = peak_rss_bytes().unwrap();
        if !reset_peak_rss() {
            eprintln!("SKIPPED: /proc/self/clear_refs is not writable here");
            return;
        }
        let phase = resident_peak_since_reset().unwrap();
        assert!(phase < process, "phase {phase} vs process {process}");
    }
}
