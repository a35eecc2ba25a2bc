//! `ttv-run fid`: score every evaluation whose FID was left pending (the run trained where the
//! Inception weights were not), from the uint8 clips the run kept.

use std::collections::BTreeSet;

use anyhow::{Context, Result, anyhow};
use burn::prelude::*;

use crate::metrics::{FrameFeatures, load_fid_network};
use crate::store::{RunRecord, Store};
use crate::train::fid::{PENDING_NOTE, score_kept};

/// What `ttv-run fid` did to one run.
#[derive(Debug, Clone)]
pub struct Scored {
    pub run: String,
    /// (epoch, FID, KID) per newly scored evaluation.
    pub epochs: Vec<(u32, f64, f64)>,
}

/// Score the pending evaluations of every run in `store` (of `experiments`, when not empty),
/// update their metrics, status and the index. Runs without pending FID are left as they are.
/// With `last_only`, only each run's newest evaluation is scored, and its status says so.
pub fn score_pending(store: &Store, experiments: &[String], last_only: bool, device: &Device) -> Result<Vec<Scored>> {
    let pending: Vec<String> = crate::store::index::scan(store)
        .into_iter()
        .filter(|s| s.summary.fid_pending && s.listed_by(experiments))
        .map(|s| s.hash)
        .collect();
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let network = load_fid_network(device).map_err(|e| anyhow!("{e}"))?;
    let mut done = Vec::new();
    for hash in pending {
        let run_dir = store.run(&hash);
        let mut metrics = run_dir.metrics(&hash)?;
        let scored: BTreeSet<u32> =
            metrics.rows.iter().filter(|r| r.split == "eval" && r.metric == "fid").map(|r| r.epoch).collect();
        let mut evals: BTreeSet<u32> = metrics.rows.iter().filter(|r| r.split == "eval").map(|r| r.epoch).collect();
        if last_only {
            evals = evals.last().copied().into_iter().collect();
        }
        let mut real: Option<FrameFeatures> = None;
        let mut epochs = Vec::new();
        let mut caveats = Vec::new();
        for &epoch in evals.difference(&scored) {
            if !run_dir.eval_generated(epoch).is_file() {
                continue;
            }
            let scores = score_kept(&run_dir, epoch, &network, &mut real).with_context(|| format!("run {hash} epoch {epoch}"))?;
            // The rows belong to the evaluation they score: same epoch, update and wall time.
            let at = metrics
                .rows
                .iter()
                .filter(|r| r.split == "eval" && r.epoch == epoch)
                .max_by_key(|r| r.step)
                .expect("an eval epoch");
            let (step, wall) = (at.step, at.wall_s);
            for (name, value) in &scores.values {
                metrics.push(epoch, step, "eval", name, *value, wall);
            }
            let value = |k: &str| scores.values.iter().find(|(n, _)| n == k).map_or(f64::NAN, |v| v.1);
            epochs.push((epoch, value("fid"), value("kid")));
            caveats.extend(scores.notes);
        }
        metrics.save()?;
        let finals = metrics.last_eval();
        let complete = finals.iter().any(|(k, _)| k == "fid");
        let mut record = RunRecord::open(run_dir)?;
        record.summary().eval.extend(finals);
        if complete {
            record.summary().fid_pending = false;
            record.drop_notes(|n| n.starts_with(PENDING_NOTE));
            let how = if last_only { "`ttv-run fid --last`, for the newest evaluation only" } else { "`ttv-run fid`" };
            record.note(format!("FID computed afterwards by {how} (no best-FID checkpoint was kept)"));
            for c in caveats {
                record.note(c);
            }
        }
        record.save()?;
        done.push(Scored { run: hash, epochs });
    }
    store.rebuild_index()?;
    Ok(done)
}

/// One line per scored evaluation.
pub fn print(registry: &std::path::Path, scored: &[Scored]) {
    if scored.is_empty() {
        println!("no run in {} has FID pending", registry.display());
    }
    for s in scored {
        for (epoch, fid, kid) in &s.epochs {
            println!("{}  epoch {epoch:<3} FID {fid:.2}  KID {kid:.4}", &s.run[..12]);
        }
    }
}
