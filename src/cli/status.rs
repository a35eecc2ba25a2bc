//! `ttv-run status SPEC...`: every run of the specs with its state, progress and Slurm job.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::spec::Experiment;
use crate::store::Store;

/// One table per experiment: hash, variant, seed, state, updates done, the Slurm job of the
/// latest attempt and, for a failed run, why. Exit 2 when a spec is invalid.
pub fn status(specs: &[PathBuf], set: &[String], store: &Store) -> ExitCode {
    let Some(experiments) = super::run::plan_all(specs, set, &[]) else { return ExitCode::from(2) };
    for exp in &experiments {
        print!("{}", table(exp, store));
    }
    ExitCode::SUCCESS
}

fn table(exp: &Experiment, store: &Store) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rows = Vec::new();
    for plan in &exp.runs {
        let state = store.state(&plan.hash);
        *counts.entry(state.as_str()).or_default() += 1;
        let status = store.status(&plan.hash);
        let updates = status.as_ref().and_then(|s| s.summary.updates).map_or("-".into(), |u| u.to_string());
        let job = status.as_ref().and_then(|s| s.job.clone()).unwrap_or_else(|| "-".into());
        let error = status.and_then(|s| s.error).map(|e| format!("  {e}")).unwrap_or_default();
        rows.push((plan.short().to_string(), plan.label.clone(), plan.seed, state.as_str(), updates, job, error));
    }
    let counts: Vec<String> = counts.iter().map(|(state, n)| format!("{n} {state}")).collect();
    let width = exp.runs.iter().map(|r| r.label.len()).max().unwrap_or(0).max(7);
    let mut out = format!("experiment {}: {} runs ({})\n", exp.name, exp.runs.len(), counts.join(", "));
    let _ = writeln!(out, "{:<12}  {:<width$}  {:>6}  {:<11}  {:>8}  job", "hash", "variant", "seed", "state", "updates");
    for (hash, label, seed, state, updates, job, error) in rows {
        let _ = writeln!(out, "{hash}  {label:<width$}  {seed:>6}  {state:<11}  {updates:>8}  {job}{error}");
    }
    out
}
