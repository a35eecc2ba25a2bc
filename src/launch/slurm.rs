//! The Slurm launcher: one `sbatch` job array per experiment, one array task per run to do.
//!
//! The script is written into the store (`launch/<experiment>/<time>.sbatch`, kept beside the
//! tasks' logs) and submitted with `sbatch --parsable`. Each task runs `ttv-run` on the same
//! spec, overrides and store with `--only <hash>`: it claims its run, trains it on the GPU Slurm
//! gave it (Slurm's `CUDA_VISIBLE_DEVICES` makes that GPU 0) and records its job id in the run's
//! status. Runs that are done or held by a live runner are left out of the array; stopped,
//! interrupted (a cancelled or preempted task checkpoints on SIGTERM) and new ones are in it, so
//! resubmitting the same command finishes a sweep.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use super::Invocation;
use crate::spec::{Experiment, RunPlan};
use crate::store::{Store, atomic::write_atomic};

/// What each array task asks of Slurm.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    pub partition: Option<String>,
    /// GPUs per task (`--gres=gpu:N`); none for a CPU run.
    pub gpus_per_run: u32,
    pub cpus_per_run: Option<u32>,
    /// Wall-time limit per task, in Slurm's syntax (`4:00:00`, `1-00:00:00`).
    pub time: Option<String>,
    /// At most this many tasks at once (`--array=0-N%K`).
    pub max_parallel: Option<usize>,
    /// Further `#SBATCH` lines, verbatim (`--sbatch-arg=--account=lab`).
    pub extra: Vec<String>,
}

/// The runs of `exp` a submission still has to do ([`crate::store::RunState::to_do`]).
pub fn pending<'a>(exp: &'a Experiment, store: &Store, retry_failed: bool) -> Vec<&'a RunPlan> {
    exp.runs.iter().filter(|plan| store.state(&plan.hash).to_do(retry_failed)).collect()
}

/// The sbatch script for `runs` of `exp`; task logs go to `logs` (`<stem>-<job>_<task>.out`).
pub fn script_text(exp: &Experiment, runs: &[&RunPlan], call: &Invocation, opts: &SlurmOptions, logs: &Path) -> String {
    let mut s = String::from("#!/bin/bash\n");
    let array = match opts.max_parallel {
        Some(k) => format!("0-{}%{k}", runs.len() - 1),
        None => format!("0-{}", runs.len() - 1),
    };
    let mut directives = vec![format!("--job-name=ttv-{}", exp.name), format!("--array={array}")];
    directives.push(format!("--output={}-%A_%a.out", logs.display()));
    directives.extend(opts.partition.as_ref().map(|p| format!("--partition={p}")));
    if opts.gpus_per_run > 0 {
        directives.push(format!("--gres=gpu:{}", opts.gpus_per_run));
    }
    directives.extend(opts.cpus_per_run.map(|c| format!("--cpus-per-task={c}")));
    directives.extend(opts.time.as_ref().map(|t| format!("--time={t}")));
    directives.extend(opts.extra.iter().cloned());
    for d in directives {
        let _ = writeln!(s, "#SBATCH {d}");
    }
    // A cancelled or preempted task gets SIGTERM: ttv-run checkpoints, marks its run interrupted
    // and exits, so resubmitting resumes it.
    let _ = writeln!(s, "#SBATCH --signal=TERM@60\nset -euo pipefail");
    let _ = writeln!(s, "# one run per task, by hash (variant, seed)");
    let _ = writeln!(s, "runs=(");
    for plan in runs {
        let _ = writeln!(s, "  {}  # {} seed {}", plan.hash, plan.label, plan.seed);
    }
    let _ = writeln!(s, ")\ncd {}", quote(&call.workdir.display().to_string()));
    let mut args: Vec<String> = std::iter::once(call.exe.display().to_string()).chain(call.args()).map(|a| quote(&a)).collect();
    args.push("--only \"${runs[$SLURM_ARRAY_TASK_ID]}\"".into());
    let _ = writeln!(s, "exec {}", args.join(" "));
    s
}

/// A submitted array: where its script is and Slurm's job id.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub script: PathBuf,
    pub job: String,
    pub runs: usize,
}

/// Write the script for the pending runs of `exp` into the store and submit it; `None` when
/// nothing is left to run. sbatch's own error is returned when it refuses the script.
pub fn launch(exp: &Experiment, store: &Store, call: &Invocation, opts: &SlurmOptions) -> Result<Option<Submitted>> {
    let runs = pending(exp, store, call.retry_failed);
    if runs.is_empty() {
        return Ok(None);
    }
    let dir = store.launch_dir(&exp.name);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let stem = dir.join(stamp());
    let script = stem.with_extension("sbatch");
    write_atomic(&script, script_text(exp, &runs, call, opts, &stem).as_bytes())
        .with_context(|| format!("writing {}", script.display()))?;
    let out = Command::new("sbatch")
        .arg("--parsable")
        .arg(&script)
        .output()
        .context("could not start sbatch (is Slurm installed and on PATH?)")?;
    if !out.status.success() {
        bail!("sbatch refused {}: {}", script.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    // `--parsable` prints `jobid` or `jobid;cluster`.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let job = stdout.trim().split(';').next().unwrap_or_default().to_string();
    Ok(Some(Submitted { script, job, runs: runs.len() }))
}

/// UTC time to the second, as a file name that sorts in time order.
fn stamp() -> String {
    let t = std::time::SystemTime::now();
    humantime::format_rfc3339_seconds(t).to_string().replace(':', "-")
}

/// `s` as one bash word.
fn quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-=:,+@%".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_with_shell_characters_are_single_quoted() {
        assert_eq!(quote("experiments/paper.yaml"), "experiments/paper.yaml");
        assert_eq!(quote("training.epochs=3"), "training.epochs=3");
        assert_eq!(quote("eval.prompts=[a b]"), "'eval.prompts=[a b]'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }
}
