//! `ttv-run score`: alignment and temporal coherence of runs already trained, from the eval
//! clips they kept ([`RunDir::eval_target`], [`RunDir::eval_generated`]), on the CPU and without
//! retraining.
//!
//! The ground truth is rebuilt from the run's own `spec.yaml`: the eval split, capped by
//! `eval.samples`, in the order evaluation keeps its clips (`train::eval::eval_subset`);
//! alignment checks every kept target clip against its re-rendered caption, so a mismatch is an
//! error rather than a wrong score. Only runs no trainer holds are scored (done, failed or
//! interrupted; a live run's trainer rewrites its metrics), and only metrics an evaluation
//! lacks are added: the rows already stored are kept as they are.

use std::collections::BTreeSet;

use anyhow::{Context, Result};

use crate::data::{LoadOptions, load};
use crate::metrics::ClipsU8;
use crate::spec::types::DataKind;
use crate::store::status::Status;
use crate::store::{RunDir, RunRecord, Store};
use crate::train::clip_scores::{Truth, Wanted, score};
use crate::train::eval::eval_subset;

/// Recorded in the notes of a run scored afterwards.
pub const SCORED_NOTE: &str = "alignment and temporal coherence computed afterwards by `ttv-run score`";

/// What `ttv-run score` did to one run.
#[derive(Debug, Clone, PartialEq)]
pub enum ScoreOutcome {
    /// Rows newly stored per evaluation, (epoch, [(metric, value)]), and the notes newly added
    /// to the run's status (chance levels; why a metric has no value).
    Scored { epochs: Vec<(u32, Vec<(String, f64)>)>, notes: Vec<String> },
    /// Every kept evaluation already has every metric it can have.
    UpToDate,
    /// The run kept no eval clips (it trained before runs kept them).
    NoClips,
}

/// Which runs to score: those of `experiments` (all when empty) whose hash starts with one of
/// `runs` (all when empty).
pub struct Selection<'a> {
    pub experiments: &'a [String],
    pub runs: &'a [String],
}

impl Selection<'_> {
    /// Whether the run of `status` is selected.
    pub fn picks(&self, status: &Status) -> bool {
        status.listed_by(self.experiments)
            && (self.runs.is_empty() || self.runs.iter().any(|r| status.hash.starts_with(&r.to_lowercase())))
    }
}

/// Score every selected run that no trainer holds (done, stopped, failed, or interrupted: an
/// interrupted run's evaluations so far are real, and a resume keeps those before its checkpoint), then
/// rebuild the index if anything was added. One run's error does not stop the others.
pub fn score_stored(store: &Store, selection: &Selection) -> Result<Vec<(String, Result<ScoreOutcome>)>> {
    let mut out = Vec::new();
    for status in crate::store::index::scan(store) {
        if selection.picks(&status) && store.state(&status.hash).ended() {
            let hash = status.hash.clone();
            let outcome = score_run(store.run(&hash), &hash).with_context(|| format!("run {}", &hash[..12.min(hash.len())]));
            out.push((hash, outcome));
        }
    }
    if out.iter().any(|(_, o)| matches!(o, Ok(ScoreOutcome::Scored { .. }))) {
        store.rebuild_index()?;
    }
    Ok(out)
}

fn score_run(run_dir: RunDir, hash: &str) -> Result<ScoreOutcome> {
    let target_file = run_dir.eval_target();
    if !target_file.is_file() {
        return Ok(ScoreOutcome::NoClips);
    }
    let spec = run_dir.read_spec()?;
    let truth = match spec.data.kind {
        DataKind::Shapes => {
            let data = load(&spec.data, &LoadOptions::default())?;
            Truth::of(&eval_subset(&data.eval, spec.eval.samples), spec.data.kind)
        }
        // Real clips are not decoded again: nothing here needs them.
        kind => Truth::Without(kind),
    };
    let target = ClipsU8::load(&target_file)?;
    let mut metrics = run_dir.metrics(hash)?;
    let evals: BTreeSet<u32> = metrics.rows.iter().filter(|r| r.split == "eval").map(|r| r.epoch).collect();
    let mut epochs = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for epoch in evals {
        let path = run_dir.eval_generated(epoch);
        if !path.is_file() {
            continue;
        }
        let generated = ClipsU8::load(&path)?;
        let scores = score(&target, &generated, &truth, Wanted::ALL).with_context(|| format!("epoch {epoch}"))?;
        let at_epoch = |name: &str| metrics.rows.iter().any(|r| r.split == "eval" && r.epoch == epoch && r.metric == name);
        let new: Vec<(String, f64)> = scores.values.into_iter().filter(|(name, _)| !at_epoch(name)).collect();
        notes.extend(scores.notes);
        if new.is_empty() {
            continue;
        }
        // The rows belong to the evaluation they score: same epoch, update and wall time.
        let at =
            metrics.rows.iter().filter(|r| r.split == "eval" && r.epoch == epoch).max_by_key(|r| r.step).expect("an eval epoch");
        let (step, wall) = (at.step, at.wall_s);
        for (name, value) in &new {
            metrics.push(epoch, step, "eval", name, *value, wall);
        }
        epochs.push((epoch, new));
    }
    let mut record = RunRecord::open(run_dir)?;
    if !epochs.is_empty() {
        metrics.save()?;
        record.summary().eval.extend(metrics.last_eval());
        notes.push(SCORED_NOTE.into());
    }
    let mut added = Vec::new();
    for note in notes {
        if record.note(note.clone()) {
            added.push(note);
        }
    }
    if epochs.is_empty() && added.is_empty() {
        return Ok(ScoreOutcome::UpToDate);
    }
    record.save()?;
    Ok(ScoreOutcome::Scored { epochs, notes: added })
}

/// Score the selected runs and print what each got; an error on any run fails the command
/// after every run was tried.
pub fn score_and_print(store: &Store, selection: &Selection) -> Result<()> {
    let outcomes = score_stored(store, selection)?;
    if outcomes.is_empty() {
        println!("no run that is done, failed or interrupted in {} matches", store.root.display());
    }
    let mut failed = 0;
    for (hash, outcome) in outcomes {
        let short = &hash[..12.min(hash.len())];
        match outcome {
            Ok(ScoreOutcome::Scored { epochs, notes }) => {
                for (epoch, values) in epochs {
                    let values: Vec<String> = values.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
                    println!("{short}  epoch {epoch:<3} {}", values.join("  "));
                }
                for note in notes {
                    println!("{short}  note: {note}");
                }
            }
            Ok(ScoreOutcome::UpToDate) => println!("{short}  up to date"),
            Ok(ScoreOutcome::NoClips) => println!("{short}  kept no eval clips: nothing to score"),
            Err(e) => {
                eprintln!("{short}  error: {e:#}");
                failed += 1;
            }
        }
    }
    if failed > 0 { anyhow::bail!("{failed} run(s) could not be scored") } else { Ok(()) }
}
