//! Fault injection for the recovery tests: `TTV_FAULT=<what>=<update>` makes one thing go wrong
//! at a chosen optimizer update, so that crash-resume, divergence and out-of-memory handling are
//! tested on the real code path rather than on a mock.
//!
//! - `abort-after-checkpoint=N`: the process aborts (no cleanup, like `kill -9`) right after
//!   the checkpoint at update N is written.
//! - `nan-at-update=N`: update N's loss reads as NaN.
//! - `oom-at-update=N`: the first micro-batch of update N fails once as out of device memory.
//! - `slow-eval=N`: the evaluation after epoch N takes 2 s longer (a long evaluation, for the
//!   heartbeat).

use super::step::StepStats;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Faults {
    pub abort_after_checkpoint: Option<u64>,
    pub nan_at_update: Option<u64>,
    pub oom_at_update: Option<u64>,
    pub slow_eval: Option<u64>,
}

impl Faults {
    pub fn from_env() -> Self {
        std::env::var("TTV_FAULT").map(|v| Self::parse(&v)).unwrap_or_default()
    }

    pub fn parse(text: &str) -> Self {
        let mut faults = Self::default();
        for part in text.split(',') {
            let Some((what, n)) = part.split_once('=') else { continue };
            let n = n.trim().parse().ok();
            match what.trim() {
                "abort-after-checkpoint" => faults.abort_after_checkpoint = n,
                "nan-at-update" => faults.nan_at_update = n,
                "oom-at-update" => faults.oom_at_update = n,
                "slow-eval" => faults.slow_eval = n,
                _ => {}
            }
        }
        faults
    }
}

impl Faults {
    /// Whether the first micro-batch of update `update` is to fail as out of memory.
    pub fn oom_at(&self, update: u64) -> bool {
        self.oom_at_update == Some(update)
    }

    /// Update `update`'s statistics, with a NaN loss if one is injected there.
    pub fn after_step(&self, update: u64, stats: StepStats) -> StepStats {
        if self.nan_at_update == Some(update) { StepStats { loss: f64::NAN, ..stats } } else { stats }
    }

    /// Stall the evaluation after `epoch` if asked to.
    pub fn during_eval(&self, epoch: u32) {
        if self.slow_eval == Some(epoch as u64) {
            eprintln!("TTV_FAULT: stalling the evaluation after epoch {epoch} for 2 s");
            std::thread::sleep(std::time::Duration::from_secs(2));
        }
    }

    /// Abort the process (no cleanup, like `kill -9`) if asked to after the checkpoint at `update`.
    pub fn after_checkpoint(&self, update: u64) {
        if self.abort_after_checkpoint == Some(update) {
            eprintln!("TTV_FAULT: aborting after the checkpoint at update {update}");
            std::process::abort();
        }
    }
}
