//! Executing an expanded spec against the run store: skip what is done, claim the rest one by
//! one, and train each claimed run on the chosen device.

use std::panic::{AssertUnwindSafe, catch_unwind};

use anyhow::Result;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::backend::describe;
use crate::spec::types::Metric;
use crate::spec::{Experiment, RunPlan};
use crate::store::{RunRecord, RunState, Store};
use crate::train::RunContext;

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub device: crate::backend::Device,
    /// Run failed runs again instead of skipping them.
    pub retry_failed: bool,
    /// Where the bars are drawn (`crate::cli::progress` chooses bars or lines).
    pub progress: MultiProgress,
}

/// What happened to each run of an invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Skipped(RunState),
    HeldElsewhere(String),
    /// Trained; how the attempt ended (`done`, `stopped`, `interrupted` or `failed`) and, when
    /// it failed, why.
    Finished(RunState, Option<String>),
}

/// Run every run of `exp` that is not already complete (new, stopped, interrupted, and failed
/// or damaged ones when asked); returns one outcome per run. Whatever goes wrong inside one run
/// fails that run, with the reason, and the next one goes on; only an index that cannot be
/// rebuilt at the end is an error. Orphan temp files of the store are removed first; a damaged
/// run is reported in one line and never stops the others; a done run whose input files
/// changed is reported too.
pub fn execute(exp: &Experiment, store: &Store, opts: &RunOptions) -> Result<Vec<Outcome>> {
    let bars = &opts.progress;
    // Bars are set up before they are shown, so that their first frame already names the run.
    let named = |plan: &RunPlan| format!("{} {} seed {}", plan.short(), plan.label, plan.seed);
    let runs = bars.add(
        ProgressBar::with_draw_target(Some(exp.runs.len() as u64), ProgressDrawTarget::hidden())
            .with_style(ProgressStyle::with_template("{prefix} run {pos}/{len} {msg}").unwrap())
            .with_prefix(exp.name.clone())
            .with_position(1)
            .with_message(exp.runs.first().map(named).unwrap_or_default()),
    );
    let swept = store.sweep_orphans();
    if !swept.removed.is_empty() || !swept.restored.is_empty() {
        bars.suspend(|| eprintln!("{}: {swept}", store.root.display()));
    }
    let mut reported = std::collections::BTreeSet::new();
    let mut outcomes = Vec::new();
    for (i, plan) in exp.runs.iter().enumerate() {
        if crate::signals::requested() {
            break;
        }
        runs.set_position(i as u64 + 1);
        runs.set_message(named(plan));
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
                if let Err(e) = store.add_experiment(plan, &exp.name) {
                    bars.suspend(|| eprintln!("warning: {}: cannot list it under {}: {e}", plan.short(), exp.name));
                }
                Outcome::Skipped(state)
            }
            RunState::Failed | RunState::Damaged if !opts.retry_failed => Outcome::Skipped(state),
            RunState::New | RunState::Stopped | RunState::Interrupted | RunState::Failed | RunState::Damaged => {
                claim_and_run(exp, plan, store, opts)
            }
        };
        outcomes.push(outcome);
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
/// or finished meanwhile, is left to it; a damaged file is set aside before the run starts. A
/// claim or a damaged file that cannot be handled fails the run, with the reason.
fn claim_and_run(exp: &Experiment, plan: &RunPlan, store: &Store, opts: &RunOptions) -> Outcome {
    let bars = &opts.progress;
    let cannot = |what: &str, e: &dyn std::fmt::Display| {
        Outcome::Finished(RunState::Failed, Some(format!("cannot {what} {}: {e}", store.run(&plan.hash).path().display())))
    };
    let mut claim = match store.claim(plan) {
        Err(crate::store::ClaimError::Held(c)) => return Outcome::HeldElsewhere(format!("pid {} on {}", c.pid, c.host)),
        Err(crate::store::ClaimError::Io(e)) => return cannot("claim", &e),
        Ok(claim) => claim,
    };
    if let Some(what) = &claim.took_over {
        bars.suspend(|| eprintln!("run {}: took over {what}", plan.short()));
    }
    claim.start_heartbeat();
    let now = store.inspect(&plan.hash);
    if now.state == RunState::Done {
        if let Err(e) = claim.release().map_err(anyhow::Error::from).and_then(|()| Ok(store.add_experiment(plan, &exp.name)?)) {
            bars.suspend(|| eprintln!("warning: {}: {e}", plan.short()));
        }
        return Outcome::Skipped(RunState::Done);
    }
    if let Some(damage) = &now.damage
        && let Err(e) = store.run(&plan.hash).set_aside(&damage.file)
    {
        let _ = claim.release();
        return cannot("set aside a damaged file of", &e);
    }
    let steps = bars.add(ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden()).with_style(
        ProgressStyle::with_template("  update {pos}/{len} [{bar:30}] {msg} eta {eta}").unwrap().progress_chars("=> "),
    ));
    // Redrawn while an update or an evaluation takes long, so the time keeps moving.
    steps.enable_steady_tick(std::time::Duration::from_secs(1));
    let (state, error) = run_one(exp, plan, store, opts, steps.clone());
    steps.finish_and_clear();
    if let Err(e) = claim.release() {
        // A claim left by a process that has exited is freed by the next runner here.
        bars.suspend(|| eprintln!("warning: {}: cannot release its claim: {e}", plan.short()));
    }
    bars.suspend(|| print!("{}", run_summary(store, plan, state, error.as_deref())));
    Outcome::Finished(state, error)
}

/// Train one claimed run and record how it ended: the state and, for a failed run, the reason.
/// Every error and panic on the way (writing its spec or status included) fails the run; the
/// reason goes into its status whenever the status can still be written.
fn run_one(
    exp: &Experiment,
    plan: &RunPlan,
    store: &Store,
    opts: &RunOptions,
    progress: ProgressBar,
) -> (RunState, Option<String>) {
    let dir = store.run(&plan.hash);
    let wrote_spec = dir.write_spec(plan).map_err(|e| format!("cannot write {}: {e}", dir.spec_path().display()));
    let mut record = match RunRecord::begin(dir.clone(), plan, &exp.name, &describe(opts.device)) {
        Ok(record) => record,
        Err(e) => {
            let reason = format!("cannot write {}: {e}", dir.status_path().display());
            return (RunState::Failed, Some(wrote_spec.err().map_or(reason.clone(), |spec| format!("{spec}; {reason}"))));
        }
    };
    let (state, error) = match wrote_spec {
        Err(reason) => (RunState::Failed, Some(reason)),
        Ok(()) => {
            let mut ctx = RunContext { plan, load: load_options(store, exp), record: &mut record, progress };
            let ended = catch_unwind(AssertUnwindSafe(|| crate::train::train(&mut ctx, opts.device)));
            match ended {
                Ok(Ok(state)) => (state, None),
                Ok(Err(e)) => (RunState::Failed, Some(format!("{e:#}"))),
                Err(panic) => {
                    let message =
                        panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
                    (RunState::Failed, Some(format!("panicked: {}", message.unwrap_or_default())))
                }
            }
        }
    };
    match record.finish(state, error.clone()) {
        Ok(()) => (state, error),
        // The status still says `running`; once this runner exits the run reads as interrupted.
        Err(e) => {
            let reason = format!("cannot write {}: {e}", dir.status_path().display());
            (RunState::Failed, Some(error.map_or(reason.clone(), |first| format!("{first}; {reason}"))))
        }
    }
}

/// What a finished run prints: its state, its notes and its eval history as the paper's Table II.
fn run_summary(store: &Store, plan: &RunPlan, state: RunState, error: Option<&str>) -> String {
    let dir = store.run(&plan.hash);
    let status = dir.read_status().ok();
    let mut out = format!("\n{} {} seed {}: {state}\n", plan.short(), plan.label, plan.seed);
    if let Some(e) = error {
        out += &format!("  error: {e}\n");
    }
    if let Some(status) = &status {
        for note in &status.notes {
            out += &format!("  note: {note}\n");
        }
    }
    // The flag covers FVD too: FID shows as pending only where the run asked for FID or KID.
    let asked_fid = plan.spec.eval.metrics.iter().any(|m| matches!(m, Metric::Fid | Metric::Kid));
    let pending = asked_fid && status.as_ref().is_some_and(|s| s.summary.fid_pending);
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
