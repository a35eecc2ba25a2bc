//! Executing an expanded spec against the run store: skip what is done, claim the rest one by
//! one, and train each claimed run on the chosen device.

use std::panic::{AssertUnwindSafe, catch_unwind};

use anyhow::Result;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::backend::describe;
use crate::spec::{Experiment, RunPlan};
use crate::store::{RunRecord, RunState, Store};
use crate::train::RunContext;

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub device: crate::backend::Device,
    /// Run failed runs again instead of skipping them.
    pub retry_failed: bool,
}

/// What happened to each run of an invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Skipped(RunState),
    HeldElsewhere(String),
    /// Trained; how the attempt ended (`done`, `stopped` or `failed`).
    Finished(RunState),
}

/// Run every run of `exp` that is not already complete (new, stopped, interrupted, and failed
/// or damaged ones when asked); returns one outcome per run. Orphan temp files of the store are
/// removed first; a damaged run is reported in one line and never stops the others; a done run
/// whose input files changed is reported too.
pub fn execute(exp: &Experiment, store: &Store, opts: &RunOptions) -> Result<Vec<Outcome>> {
    let bars = MultiProgress::new();
    let runs = bars.add(ProgressBar::new(exp.runs.len() as u64));
    runs.set_style(ProgressStyle::with_template("{prefix} run {pos}/{len} {msg}").unwrap());
    runs.set_prefix(exp.name.clone());
    let swept = store.sweep_orphans();
    if !swept.removed.is_empty() || !swept.restored.is_empty() {
        bars.suspend(|| eprintln!("{}: {swept}", store.root.display()));
    }
    let mut reported = std::collections::BTreeSet::new();
    let mut outcomes = Vec::new();
    for plan in &exp.runs {
        if crate::signals::requested() {
            break;
        }
        runs.set_message(format!("{} {} seed {}", plan.short(), plan.label, plan.seed));
        let seen = store.inspect(&plan.hash);
        let state = seen.state;
        if let Some(damage) = &seen.damage {
            let then = match state {
                RunState::Damaged if opts.retry_failed => "set aside and rerun (--retry-failed)",
                RunState::Damaged => "treated as failed: --retry-failed reruns it",
                _ => "the run restarts from scratch",
            };
            bars.suspend(|| eprintln!("warning: {damage} ({then})"));
            reported.insert(damage.to_string());
        }
        let outcome = match state {
            RunState::Done | RunState::Running => {
                let recorded =
                    seen.status.as_ref().and_then(|s| s.data_fingerprint.as_deref()).filter(|_| state == RunState::Done);
                if let Some(why) = crate::store::inputs::changed(recorded, &plan.spec.data, &load_options(store, exp)) {
                    let fix = format!("remove {} to train it on them", store.run(&plan.hash).path().display());
                    let line =
                        format!("warning: run {} is done, but {why}: its results are of the earlier files ({fix})", plan.short());
                    bars.suspend(|| eprintln!("{line}"));
                }
                store.add_experiment(plan, &exp.name)?;
                Outcome::Skipped(state)
            }
            RunState::Failed | RunState::Damaged if !opts.retry_failed => Outcome::Skipped(state),
            RunState::New | RunState::Stopped | RunState::Interrupted | RunState::Failed | RunState::Damaged => {
                claim_and_run(exp, plan, store, opts, &bars)?
            }
        };
        outcomes.push(outcome);
        runs.inc(1);
    }
    runs.finish_and_clear();
    // Damaged runs elsewhere in the store: said once, never a reason to stop.
    for damage in store.rebuild_index()? {
        if !reported.contains(&damage.to_string()) {
            eprintln!("warning: {damage} (left as it is)");
        }
    }
    Ok(outcomes)
}

/// Claim a run and train it, its heartbeat beating while it is held. A run another runner holds,
/// or finished meanwhile, is left to it; a damaged file is set aside before the run starts.
fn claim_and_run(exp: &Experiment, plan: &RunPlan, store: &Store, opts: &RunOptions, bars: &MultiProgress) -> Result<Outcome> {
    let mut claim = match store.claim(plan) {
        Err(crate::store::ClaimError::Held(c)) => return Ok(Outcome::HeldElsewhere(format!("pid {} on {}", c.pid, c.host))),
        Err(crate::store::ClaimError::Io(e)) => return Err(e.into()),
        Ok(claim) => claim,
    };
    if let Some(what) = &claim.took_over {
        bars.suspend(|| eprintln!("run {}: took over {what}", plan.short()));
    }
    claim.start_heartbeat();
    let now = store.inspect(&plan.hash);
    if now.state == RunState::Done {
        claim.release()?;
        store.add_experiment(plan, &exp.name)?;
        return Ok(Outcome::Skipped(RunState::Done));
    }
    if let Some(damage) = &now.damage {
        store.run(&plan.hash).set_aside(&damage.file)?;
    }
    let steps = bars.add(ProgressBar::new(0));
    steps.set_style(
        ProgressStyle::with_template("  update {pos}/{len} [{bar:30}] {msg} eta {eta}").unwrap().progress_chars("=> "),
    );
    let result = run_one(exp, plan, store, opts, steps.clone());
    steps.finish_and_clear();
    claim.release()?;
    let state = result?;
    bars.suspend(|| print!("{}", run_summary(store, plan, state)));
    Ok(Outcome::Finished(state))
}

/// Train one claimed run and record how it ended. Errors and panics inside training mark the
/// run failed with the reason; only failures to write the store itself are returned.
fn run_one(exp: &Experiment, plan: &RunPlan, store: &Store, opts: &RunOptions, progress: ProgressBar) -> Result<RunState> {
    let dir = store.run(&plan.hash);
    dir.write_spec(plan)?;
    let mut record = RunRecord::begin(dir, plan, &exp.name, &describe(opts.device))?;
    let mut ctx = RunContext { plan, load: load_options(store, exp), record: &mut record, progress };
    let ended = catch_unwind(AssertUnwindSafe(|| crate::train::train(&mut ctx, &opts.device.open()?)));
    let (state, error) = match ended {
        Ok(Ok(state)) => (state, None),
        Ok(Err(e)) => (RunState::Failed, Some(format!("{e:#}"))),
        Err(panic) => {
            let message = panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
            (RunState::Failed, Some(format!("panicked: {}", message.unwrap_or_default())))
        }
    };
    record.finish(state, error)?;
    Ok(state)
}

/// What a finished run prints: its state, its notes and its eval history as the paper's Table II.
fn run_summary(store: &Store, plan: &RunPlan, state: RunState) -> String {
    let dir = store.run(&plan.hash);
    let status = dir.read_status().ok();
    let mut out = format!("\n{} {} seed {}: {state}\n", plan.short(), plan.label, plan.seed);
    if let Some(status) = &status {
        if let Some(e) = &status.error {
            out += &format!("  error: {e}\n");
        }
        for note in &status.notes {
            out += &format!("  note: {note}\n");
        }
    }
    let pending = status.as_ref().is_some_and(|s| s.summary.fid_pending);
    if let Ok(log) = dir.metrics(&plan.hash)
        && log.rows.iter().any(|r| r.split == "eval")
    {
        out += &crate::train::table::table_ii(&log.rows, pending);
    }
    if let Some(t) = status.as_ref().and_then(|s| s.summary.train_s) {
        let t = humantime::format_duration(std::time::Duration::from_millis((t * 1e3).round() as u64));
        out += &format!("  train wall time {t}\n");
    }
    out
}

/// Data loading options for a run of `exp`: decoded real clips are cached in the store.
pub fn load_options(store: &Store, exp: &Experiment) -> crate::data::LoadOptions {
    crate::data::LoadOptions { cache_dir: Some(store.root.join("cache/clips")), base_dir: Some(exp.base_dir.clone()) }
}
