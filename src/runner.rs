//! Executing an expanded spec against the run store: skip what is done, claim the rest one by
//! one, and hand each claimed run to the trainer.

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};

use crate::spec::{Experiment, RunPlan};
use crate::store::{RunState, State, Store};

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `cpu` or `cuda`.
    pub device: String,
    /// Run failed runs again instead of skipping them.
    pub retry_failed: bool,
}

/// What happened to each run of an invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Skipped(RunState),
    HeldElsewhere(String),
    Finished(State),
}

/// Run every run of `exp` that is not already complete; returns one outcome per run.
pub fn execute(exp: &Experiment, store: &Store, opts: &RunOptions) -> Result<Vec<Outcome>> {
    let bar = ProgressBar::new(exp.runs.len() as u64);
    bar.set_style(ProgressStyle::with_template("{prefix} [{bar:30}] run {pos}/{len} {msg}").unwrap().progress_chars("=> "));
    bar.set_prefix(exp.name.clone());
    let mut outcomes = Vec::new();
    for plan in &exp.runs {
        bar.set_message(format!("{} {} seed {}", plan.short(), plan.label, plan.seed));
        let state = store.state(&plan.hash);
        let outcome = match state {
            RunState::Done | RunState::Running => {
                store.add_experiment(plan, &exp.name)?;
                Outcome::Skipped(state)
            }
            RunState::Failed if !opts.retry_failed => Outcome::Skipped(state),
            _ => match store.claim(plan) {
                Err(crate::store::ClaimError::Held(c)) => Outcome::HeldElsewhere(format!("pid {} on {}", c.pid, c.host)),
                Err(crate::store::ClaimError::Io(e)) => return Err(e.into()),
                Ok(claim) => {
                    let result = placeholder_train(exp, plan, store, opts);
                    claim.release()?;
                    Outcome::Finished(result?)
                }
            },
        };
        outcomes.push(outcome);
        bar.inc(1);
    }
    bar.finish_and_clear();
    store.rebuild_index()?;
    Ok(outcomes)
}

/// Until the trainer lands: record the resolved spec, a preview of the run's training data and
/// a `planned` status; train nothing.
fn placeholder_train(exp: &Experiment, plan: &RunPlan, store: &Store, opts: &RunOptions) -> Result<State> {
    store.write_spec(plan)?;
    let mut status = store.begin_status(plan, &exp.name, &opts.device, State::Planned);
    store.write_status(&status)?;
    let data = crate::data::load(&plan.spec.data, &load_options(store, exp))?;
    crate::data::write_preview(&data.train, 16, &store.run_dir(&plan.hash).join("samples/data_preview.gif"))?;
    status.results.insert("data/skipped".into(), data.skipped() as f64);
    status.heartbeat = crate::store::status::now();
    store.write_status(&status)?;
    Ok(State::Planned)
}

/// Data loading options for a run of `exp`: decoded real clips are cached in the store.
pub fn load_options(store: &Store, exp: &Experiment) -> crate::data::LoadOptions {
    crate::data::LoadOptions { cache_dir: Some(store.root.join("cache/clips")), base_dir: Some(exp.base_dir.clone()) }
}
