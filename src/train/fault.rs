//! Fault injection for the recovery tests: `TTV_FAULT=<what>=<update>` makes one thing go wrong
//! at a chosen optimizer update, so that crash-resume, divergence and out-of-memory handling are
//! tested on the real code path rather than on a mock.
//!
//! - `abort-after-checkpoint=N`: the process aborts (no cleanup, like `kill -9`) right after
//!   the checkpoint at update N is written.
//! - `nan-at-update=N`: update N's loss reads as NaN.
//! - `oom-at-update=N`: the first micro-batch of update N fails once as out of device memory.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Faults {
    pub abort_after_checkpoint: Option<u64>,
    pub nan_at_update: Option<u64>,
    pub oom_at_update: Option<u64>,
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
                _ => {}
            }
        }
        faults
    }
}
