//! Result sets: ended runs copied out of a store with what a reader needs to check a finding
//! (resolved spec, status, metrics, threshold sweep) and nothing to resume from (checkpoints,
//! eval clips, samples and claims stay behind). Training metrics, one row per metric and update,
//! are most of a long run's bytes: a set keeps them at every N-th update and the last one, and
//! every evaluation whole.

use anyhow::{Context, Result, bail};

use super::atomic::write_atomic;
use super::metrics::{MetricRow, MetricsLog};
use super::{RunDir, Store};

/// Copy `runs` of `src` into `dest` (a store, created if missing; a run already there is
/// replaced, so a set can be thinned in place), then rebuild `dest`'s index. A run that is not
/// over (new, running, damaged) is refused before anything is written.
pub fn freeze(src: &Store, runs: &[RunDir], dest: &Store, train_every: u64) -> Result<()> {
    let mut ended = Vec::new();
    for run in runs {
        let status = run.read_status().with_context(|| run.status_path().display().to_string())?;
        let state = src.state(&status.hash);
        if !state.ended() {
            bail!("run {} is {state}: only ended runs go into a result set", run.short());
        }
        ended.push((run, status.hash));
    }
    for (run, hash) in ended {
        let to = dest.run(&hash);
        std::fs::create_dir_all(to.path()).with_context(|| to.path().display().to_string())?;
        for (from, into) in [
            (run.spec_path(), to.spec_path()),
            (run.status_path(), to.status_path()),
            (run.thresholds_path(), to.thresholds_path()),
        ] {
            if from.exists() {
                let bytes = std::fs::read(&from).with_context(|| from.display().to_string())?;
                write_atomic(&into, &bytes)?;
            }
        }
        let mut log = MetricsLog::open(&run.metrics_path(), &hash)?;
        let rows = thin(std::mem::take(&mut log.rows), train_every);
        let mut kept = MetricsLog::empty(&to.metrics_path(), &hash);
        kept.rows = rows;
        kept.save()?;
    }
    dest.rebuild_index().with_context(|| dest.index_path().display().to_string())?;
    Ok(())
}

/// `train` rows at updates divisible by `every` and at the last update; every other row.
fn thin(rows: Vec<MetricRow>, every: u64) -> Vec<MetricRow> {
    let last = rows.iter().filter(|r| r.split == "train").map(|r| r.step).max();
    rows.into_iter().filter(|r| r.split != "train" || r.step % every.max(1) == 0 || Some(r.step) == last).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(step: u64, split: &str) -> MetricRow {
        MetricRow { epoch: 1, step, split: split.into(), metric: "loss".into(), value: step as f64, wall_s: 0.0 }
    }

    #[test]
    fn training_rows_are_kept_every_nth_update_and_at_the_last_evaluations_whole() {
        let rows: Vec<MetricRow> = (1..=25).map(|s| row(s, "train")).chain([row(7, "eval"), row(25, "eval")]).collect();
        let kept: Vec<(u64, String)> = thin(rows, 10).into_iter().map(|r| (r.step, r.split)).collect();
        let want = [(10, "train"), (20, "train"), (25, "train"), (7, "eval"), (25, "eval")];
        assert_eq!(kept, want.map(|(s, p)| (s, p.to_string())));
    }

    #[test]
    fn every_update_is_kept_with_a_step_of_one() {
        let rows: Vec<MetricRow> = (1..=5).map(|s| row(s, "train")).collect();
        assert_eq!(thin(rows.clone(), 1), rows);
    }
}
