//! The learning-rate schedule: linear warmup from 0 to the peak, then constant (the paper),
//! linear decay or cosine decay to 0 at the last update.

use crate::spec::types::{ScheduleKind, ScheduleSpec};

#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub peak: f64,
    pub warmup: u64,
    pub kind: ScheduleKind,
    /// Optimizer updates in the whole run.
    pub total: u64,
}

impl Schedule {
    pub fn new(spec: &ScheduleSpec, peak: f64, total: u64) -> Self {
        Self { peak, warmup: spec.warmup_steps as u64, kind: spec.kind, total }
    }

    /// Learning rate of update `k` (1-based): `peak * k / warmup` while warming up.
    pub fn lr(&self, k: u64) -> f64 {
        if k <= self.warmup {
            return self.peak * k as f64 / self.warmup as f64;
        }
        let decay_steps = self.total.saturating_sub(self.warmup).max(1) as f64;
        let progress = ((k - self.warmup) as f64 / decay_steps).min(1.0);
        match self.kind {
            ScheduleKind::Constant => self.peak,
            ScheduleKind::LinearDecay => self.peak * (1.0 - progress),
            ScheduleKind::Cosine => self.peak * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(kind: ScheduleKind, warmup: u32, total: u64) -> Schedule {
        Schedule::new(&ScheduleSpec { kind, warmup_steps: warmup }, 1e-3, total)
    }

    #[test]
    fn warmup_is_linear_from_zero_to_the_peak() {
        let s = schedule(ScheduleKind::Constant, 4, 100);
        let lrs: Vec<f64> = (1..=6).map(|k| s.lr(k)).collect();
        assert_eq!(lrs, vec![2.5e-4, 5e-4, 7.5e-4, 1e-3, 1e-3, 1e-3]);
        // The paper's 500 warmup steps on its 9-update run never reach the peak.
        let paper = schedule(ScheduleKind::Constant, 500, 9);
        assert!((paper.lr(9) - 1.8e-5).abs() < 1e-12);
    }

    #[test]
    fn decays_reach_zero_at_the_last_update() {
        let linear = schedule(ScheduleKind::LinearDecay, 2, 10);
        assert_eq!(linear.lr(2), 1e-3);
        assert!((linear.lr(6) - 5e-4).abs() < 1e-12);
        assert_eq!(linear.lr(10), 0.0);
        let cosine = schedule(ScheduleKind::Cosine, 0, 10);
        assert!((cosine.lr(5) - 5e-4).abs() < 1e-12);
        assert!(cosine.lr(10).abs() < 1e-12);
    }
}
