//! `ttv-run fid`: score every evaluation whose FID, KID or FVD was left pending (the run trained
//! where the network weights were not), from the uint8 clips the run kept; with `--fvd`, also
//! the FVD of finished runs that never asked for it, so they gain it without retraining. A
//! network whose weights are not here leaves its metrics pending and the other's are computed.

use std::collections::BTreeSet;

use anyhow::{Context, Result, anyhow};
use burn::prelude::*;

use crate::metrics::i3d::MIN_FRAMES;
use crate::metrics::{ClipsU8, Features, FidNetwork, FrameFeatures, FvdNetwork, load_fid_network, load_fvd_network};
use crate::spec::types::Metric;
use crate::store::metrics::MetricsLog;
use crate::store::{RunDir, RunRecord, Store};
use crate::train::fid::{self, Scores};
use crate::train::fvd;

/// What `ttv-run fid` does.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only the runs of these experiments (all when empty).
    pub experiments: Vec<String>,
    /// Only each run's newest evaluation.
    pub last_only: bool,
    /// Also FVD for finished runs that lack it, whether or not they asked for it.
    pub all_fvd: bool,
}

/// What `ttv-run fid` did to one run.
#[derive(Debug, Clone)]
pub struct Scored {
    pub run: String,
    /// The metric rows added per newly scored evaluation.
    pub epochs: Vec<(u32, Vec<(String, f64)>)>,
    /// Why a metric the run wants was not computed (too few frames for I3D, a network's
    /// weights missing here); a pending one stays pending.
    pub skipped: Vec<String>,
}

/// The networks, each loaded when a run first needs it. A missing one leaves its metric pending
/// and the other network's metric is still computed: FID and FVD weights may live on different
/// machines.
struct Networks<'a> {
    device: &'a Device,
    fid: Option<Result<FidNetwork, String>>,
    fvd: Option<Result<FvdNetwork, String>>,
}

impl Networks<'_> {
    fn fid(&mut self) -> Result<&FidNetwork, String> {
        let device = self.device;
        self.fid.get_or_insert_with(|| load_fid_network(device)).as_ref().map_err(Clone::clone)
    }

    fn fvd(&mut self) -> Result<&FvdNetwork, String> {
        let device = self.device;
        self.fvd.get_or_insert_with(|| load_fvd_network(device)).as_ref().map_err(Clone::clone)
    }
}

/// Which network metrics one run gets.
struct Wanted {
    fid: bool,
    fvd: bool,
    /// The run asked for them: computing them clears its pending flag.
    pending: bool,
}

/// Score the pending evaluations of every run in `store` (of `options.experiments`, when not
/// empty) and, with `all_fvd`, the missing FVDs of every run no trainer holds; update their
/// metrics, status and the index. With `last_only`, only each run's newest evaluation is
/// scored, and its status says so.
pub fn score_pending(store: &Store, options: &Options, device: &Device) -> Result<Vec<Scored>> {
    let mut networks = Networks { device, fid: None, fvd: None };
    let mut done = Vec::new();
    for status in crate::store::index::scan(store) {
        let hash = status.hash.clone();
        let pending = status.summary.fid_pending;
        if !status.listed_by(&options.experiments) || !(pending || (options.all_fvd && store.state(&hash).ended())) {
            continue;
        }
        let run_dir = store.run(&hash);
        let asked = run_dir.read_spec().with_context(|| format!("run {}", &hash[..12]))?.eval.metrics;
        let asked_fvd = asked.contains(&Metric::Fvd);
        let wanted = Wanted {
            // Runs stored before FVD existed flag FID alone.
            fid: pending && (asked.iter().any(|m| matches!(m, Metric::Fid | Metric::Kid)) || !asked_fvd),
            fvd: (pending && asked_fvd) || options.all_fvd,
            pending,
        };
        let scored =
            score_run(&run_dir, &hash, &wanted, options, &mut networks).with_context(|| format!("run {}", &hash[..12]))?;
        if !scored.epochs.is_empty() || !scored.skipped.is_empty() || pending {
            done.push(scored);
        }
    }
    if !done.is_empty() {
        store.rebuild_index()?;
    }
    // Nothing could be scored because no network is here: a failure, not a quiet success.
    let fid_missing = networks.fid.as_ref().and_then(|n| n.as_ref().err());
    let fvd_missing = networks.fvd.as_ref().and_then(|n| n.as_ref().err());
    let missing: Vec<&str> = [fid_missing, fvd_missing].into_iter().flatten().map(String::as_str).collect();
    if !missing.is_empty() && done.iter().all(|s| s.epochs.is_empty()) {
        return Err(anyhow!("nothing scored: {}", missing.join("; ")));
    }
    Ok(done)
}

/// The evaluations of `metrics` that have no `metric` row yet (with `last_only`, the newest
/// evaluation if it has none).
fn unscored(metrics: &MetricsLog, metric: &str, last_only: bool) -> Vec<u32> {
    let scored: BTreeSet<u32> =
        metrics.rows.iter().filter(|r| r.split == "eval" && r.metric == metric).map(|r| r.epoch).collect();
    let mut evals: BTreeSet<u32> = metrics.rows.iter().filter(|r| r.split == "eval").map(|r| r.epoch).collect();
    if last_only {
        evals = evals.last().copied().into_iter().collect();
    }
    evals.difference(&scored).copied().collect()
}

/// Push `scores` at evaluation `epoch`: the rows belong to the evaluation they score (same
/// epoch, update and wall time).
fn push(metrics: &mut MetricsLog, epoch: u32, scores: &Scores) {
    let at = metrics.rows.iter().filter(|r| r.split == "eval" && r.epoch == epoch).max_by_key(|r| r.step).expect("an eval epoch");
    let (step, wall) = (at.step, at.wall_s);
    for (name, value) in &scores.values {
        metrics.push(epoch, step, "eval", name, *value, wall);
    }
}

fn score_run(run_dir: &RunDir, hash: &str, wanted: &Wanted, options: &Options, networks: &mut Networks) -> Result<Scored> {
    let mut metrics = run_dir.metrics(hash)?;
    let mut added: std::collections::BTreeMap<u32, Vec<(String, f64)>> = Default::default();
    let mut caveats = Vec::new();
    let mut computed = Vec::new();
    let mut skipped = Vec::new();
    if wanted.fid {
        let mut real: Option<FrameFeatures> = None;
        for epoch in unscored(&metrics, "fid", options.last_only) {
            if !run_dir.eval_generated(epoch).is_file() {
                continue;
            }
            let network = match networks.fid() {
                Ok(network) => network,
                Err(why) => {
                    skipped.push(format!("FID and KID not computed: {why}"));
                    break;
                }
            };
            let scores = fid::score_kept(run_dir, epoch, network, &mut real).with_context(|| format!("epoch {epoch}"))?;
            push(&mut metrics, epoch, &scores);
            added.entry(epoch).or_default().extend(scores.values);
            caveats.extend(scores.notes);
            computed.push("FID");
        }
    }
    let mut too_short = false;
    if wanted.fvd && run_dir.eval_target().is_file() {
        let frames = ClipsU8::load(&run_dir.eval_target())?.frames;
        if frames < MIN_FRAMES {
            too_short = true;
            skipped.push(format!("FVD not computed: its clips have {frames} frames, I3D needs at least {MIN_FRAMES}"));
        } else {
            let mut real: Option<Features> = None;
            for epoch in unscored(&metrics, "fvd", options.last_only) {
                if !run_dir.eval_generated(epoch).is_file() {
                    continue;
                }
                let network = match networks.fvd() {
                    Ok(network) => network,
                    Err(why) => {
                        skipped.push(format!("FVD not computed: {why}"));
                        break;
                    }
                };
                let scores = fvd::score_kept(run_dir, epoch, network, &mut real).with_context(|| format!("epoch {epoch}"))?;
                push(&mut metrics, epoch, &scores);
                added.entry(epoch).or_default().extend(scores.values);
                caveats.extend(scores.notes);
                computed.push("FVD");
            }
        }
    }
    computed.dedup();
    let mut record = RunRecord::open(run_dir.clone())?;
    if !added.is_empty() {
        metrics.save()?;
        let finals = metrics.last_eval();
        record.summary().eval.extend(finals);
    }
    let eval = &record.summary().eval;
    let has = |k: &str| eval.contains_key(k);
    let (fid_done, fvd_done) = (has("fid"), has("fvd") || too_short);
    let complete = (!wanted.fid || fid_done) && (!(wanted.pending && wanted.fvd) || fvd_done);
    if wanted.pending && complete {
        record.summary().fid_pending = false;
    }
    // Each metric's pending note goes once that metric is scored, even while the other waits.
    record.drop_notes(|n| (fid_done && n.starts_with(fid::PENDING_NOTE)) || (fvd_done && n.starts_with(fvd::PENDING_NOTE)));
    if !computed.is_empty() {
        let how = match (options.last_only, options.all_fvd) {
            (true, _) => "`ttv-run fid --last`, for the newest evaluation only",
            (false, true) => "`ttv-run fid --fvd`",
            (false, false) => "`ttv-run fid`",
        };
        let best = if computed.contains(&"FID") { " (no best-FID checkpoint was kept)" } else { "" };
        record.note(format!("{} computed afterwards by {how}{best}", computed.join(" and ")));
        for c in caveats {
            record.note(c);
        }
    }
    if !added.is_empty() || (wanted.pending && complete) {
        record.save()?;
    }
    Ok(Scored { run: hash.to_string(), epochs: added.into_iter().collect(), skipped })
}

/// One line per scored evaluation, and why a run got no FVD.
pub fn print(registry: &std::path::Path, options: &Options, scored: &[Scored]) {
    if scored.is_empty() {
        let extra = if options.all_fvd { " and no finished run lacks an FVD its clips allow" } else { "" };
        println!("no run in {} has FID, KID or FVD pending{extra}", registry.display());
    }
    for s in scored {
        let short = &s.run[..12.min(s.run.len())];
        for (epoch, values) in &s.epochs {
            let value = |k: &str| values.iter().find(|(n, _)| n == k).map(|v| v.1);
            let mut line = format!("{short}  epoch {epoch:<3}");
            for (key, title, digits) in [("fid", "FID", 2), ("kid", "KID", 4), ("fvd", "FVD", 2)] {
                if let Some(v) = value(key) {
                    line += &format!(" {title} {v:.digits$} ");
                }
            }
            println!("{}", line.trim_end());
        }
        for why in &s.skipped {
            println!("{short}  {why}");
        }
    }
}
