//! `status.json`: a run's lifecycle state, who holds it, where it came from, and its summary.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where a run is in its life. `running`, `done`, `stopped` and `failed` are stored; `new`,
/// `interrupted` and `damaged` are what the store shows for a run with no status, a `running`
/// one whose holder is gone, or one whose files cannot be read ([`super::Store::inspect`]).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Nothing trained yet. Older stores wrote `planned` and `queued` for this.
    #[serde(alias = "planned", alias = "queued")]
    New,
    /// Claimed by a live runner.
    Running,
    /// The schedule is complete.
    Done,
    /// Stopped by `training.time_budget` with a checkpoint; resumed by the next run of the spec.
    Stopped,
    /// Ended by an error (the status's `error` says which); resumed only with `--retry-failed`.
    Failed,
    /// Its runner ended without recording an end; resumed from its last checkpoint.
    Interrupted,
    /// Its status cannot be read, or it ended and its metrics cannot be read: never shown as
    /// done; rerun (from scratch where its metrics are lost) only with `--retry-failed`.
    Damaged,
}

impl RunState {
    /// Whether a runner trains a run in this state: new, stopped and interrupted ones, and
    /// failed or damaged ones when asked (`--retry-failed`); never a done run or a held one.
    pub fn to_do(self, retry_failed: bool) -> bool {
        match self {
            RunState::New | RunState::Stopped | RunState::Interrupted => true,
            RunState::Failed | RunState::Damaged => retry_failed,
            RunState::Done | RunState::Running => false,
        }
    }

    /// Whether a run in this state has trained and no trainer holds it: its stored
    /// evaluations and checkpoints are final and can be scored or re-evaluated afterwards.
    pub fn ended(self) -> bool {
        matches!(self, RunState::Done | RunState::Stopped | RunState::Failed | RunState::Interrupted)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunState::New => "new",
            RunState::Running => "running",
            RunState::Done => "done",
            RunState::Stopped => "stopped",
            RunState::Failed => "failed",
            RunState::Interrupted => "interrupted",
            RunState::Damaged => "damaged",
        }
    }
}

impl std::fmt::Display for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GitInfo {
    pub commit: String,
    /// Uncommitted changes in the working tree when the run started.
    pub dirty: bool,
}

/// What a run measured about itself: the cost figures of the summary row and the final eval
/// values, the key results of the index.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Summary {
    /// Trainable parameters.
    pub params: Option<u64>,
    /// Size of the model file of a checkpoint.
    pub ckpt_bytes: Option<u64>,
    /// Training wall time over every attempt.
    pub train_s: Option<f64>,
    /// Optimizer updates done.
    pub updates: Option<u64>,
    /// Generation latency per clip at batch 1 and 64, milliseconds.
    pub gen_ms_b1: Option<f64>,
    pub gen_ms_b64: Option<f64>,
    /// Peak resident memory of training and of generation.
    pub peak_mem_bytes: Option<f64>,
    pub peak_infer_mem_bytes: Option<f64>,
    /// Times a micro-batch was split in halves for lack of device memory.
    pub oom_splits: Option<u64>,
    /// Source clips the data pipeline could not use.
    pub data_skipped: Option<u64>,
    /// FID, KID or FVD was asked for but is not computed yet (the notes say which and why).
    pub fid_pending: bool,
    /// Every metric of the last evaluation (`recon_mse`, `fid`, `alignment`, ...).
    pub eval: BTreeMap<String, f64>,
}

impl Summary {
    /// The summary as the index's result columns: name and value, flags left out.
    pub fn columns(&self) -> Vec<(String, f64)> {
        let figures = [
            ("params", self.params.map(|v| v as f64)),
            ("ckpt_bytes", self.ckpt_bytes.map(|v| v as f64)),
            ("train_s", self.train_s),
            ("updates", self.updates.map(|v| v as f64)),
            ("gen_ms_b1", self.gen_ms_b1),
            ("gen_ms_b64", self.gen_ms_b64),
            ("peak_mem_bytes", self.peak_mem_bytes),
            ("peak_infer_mem_bytes", self.peak_infer_mem_bytes),
            ("oom_splits", self.oom_splits.map(|v| v as f64)),
            ("data/skipped", self.data_skipped.map(|v| v as f64)),
        ];
        let figures = figures.into_iter().filter_map(|(k, v)| Some((k.to_string(), v?)));
        figures.chain(self.eval.iter().map(|(k, v)| (k.clone(), *v))).collect()
    }

    /// One result column's value (see [`Summary::columns`]).
    pub fn get(&self, key: &str) -> Option<f64> {
        self.columns().into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The untyped `results` map older stores wrote: its named figures, `fid_pending` as a
    /// flag, and every other key an eval metric. Whether it flagged a stop on the time budget.
    fn from_results(results: BTreeMap<String, f64>) -> (Self, bool) {
        let mut s = Summary::default();
        let mut budget_stopped = false;
        let count = |v: f64| Some(v as u64);
        for (key, v) in results {
            match key.as_str() {
                "params" => s.params = count(v),
                "ckpt_bytes" => s.ckpt_bytes = count(v),
                "train_s" => s.train_s = Some(v),
                "updates" => s.updates = count(v),
                "gen_ms_b1" => s.gen_ms_b1 = Some(v),
                "gen_ms_b64" => s.gen_ms_b64 = Some(v),
                "peak_mem_bytes" => s.peak_mem_bytes = Some(v),
                "peak_infer_mem_bytes" => s.peak_infer_mem_bytes = Some(v),
                "oom_splits" => s.oom_splits = count(v),
                "data/skipped" => s.data_skipped = count(v),
                "fid_pending" => s.fid_pending = v != 0.0,
                "budget_stopped" => budget_stopped = v != 0.0,
                _ => {
                    s.eval.insert(key, v);
                }
            }
        }
        (s, budget_stopped)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(from = "StoredStatus")]
pub struct Status {
    pub hash: String,
    pub state: RunState,
    pub pid: u32,
    pub host: String,
    /// Unix seconds; refreshed while the run works so others can tell a live claim from a stale one.
    pub heartbeat: f64,
    pub started: f64,
    pub finished: Option<f64>,
    pub error: Option<String>,
    pub git: Option<GitInfo>,
    /// Tool versions: ttv, burn.
    pub versions: BTreeMap<String, String>,
    pub device: String,
    /// The Slurm job (`<array job>_<task>`) of the latest attempt, when Slurm ran it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// Experiments that list this run, with the variant label each gives it.
    pub experiments: BTreeMap<String, String>,
    pub seed: u64,
    pub summary: Summary,
    /// Things a reader of the results must know: a metric left pending and why, a stop on the
    /// time budget, an out-of-memory split.
    pub notes: Vec<String>,
    /// The fingerprint of the input files the run trained on ([`super::inputs`]); none for
    /// generated data and for runs stored before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_fingerprint: Option<String>,
}

/// `status.json` as any version of the store wrote it: a `summary`, or the older untyped
/// `results` map (where a stop on the time budget was `done` with `budget_stopped: 1`).
#[derive(Deserialize)]
struct StoredStatus {
    hash: String,
    state: RunState,
    pid: u32,
    host: String,
    heartbeat: f64,
    started: f64,
    finished: Option<f64>,
    error: Option<String>,
    git: Option<GitInfo>,
    versions: BTreeMap<String, String>,
    device: String,
    #[serde(default)]
    job: Option<String>,
    experiments: BTreeMap<String, String>,
    seed: u64,
    #[serde(default)]
    summary: Option<Summary>,
    #[serde(default)]
    results: Option<BTreeMap<String, f64>>,
    #[serde(default)]
    notes: Vec<String>,
    #[serde(default)]
    data_fingerprint: Option<String>,
}

impl From<StoredStatus> for Status {
    fn from(s: StoredStatus) -> Self {
        let (summary, budget_stopped) = match (s.summary, s.results) {
            (Some(summary), _) => (summary, false),
            (None, Some(results)) => Summary::from_results(results),
            (None, None) => (Summary::default(), false),
        };
        let state = if budget_stopped && s.state == RunState::Done { RunState::Stopped } else { s.state };
        Status {
            hash: s.hash,
            state,
            pid: s.pid,
            host: s.host,
            heartbeat: s.heartbeat,
            started: s.started,
            finished: s.finished,
            error: s.error,
            git: s.git,
            versions: s.versions,
            device: s.device,
            job: s.job,
            experiments: s.experiments,
            seed: s.seed,
            summary,
            notes: s.notes,
            data_fingerprint: s.data_fingerprint,
        }
    }
}

impl Status {
    /// Parse `status.json` text.
    pub fn parse(bytes: &[u8]) -> std::io::Result<Status> {
        serde_json::from_slice(bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    /// Add `note` unless the run already says it (an evaluation repeats its caveats); whether it
    /// was added.
    pub fn add_note(&mut self, note: String) -> bool {
        let new = !self.notes.contains(&note);
        if new {
            self.notes.push(note);
        }
        new
    }

    /// Whether one of `experiments` lists this run (any run, when `experiments` is empty).
    pub fn listed_by(&self, experiments: &[String]) -> bool {
        experiments.is_empty() || self.experiments.keys().any(|e| experiments.contains(e))
    }
}

pub fn now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// The Slurm job this process runs in, as `squeue` names it: `<array job>_<task>` for an array
/// task, the job id otherwise; `None` outside Slurm.
pub fn current_job() -> Option<String> {
    let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
    match (var("SLURM_ARRAY_JOB_ID"), var("SLURM_ARRAY_TASK_ID")) {
        (Some(job), Some(task)) => Some(format!("{job}_{task}")),
        _ => var("SLURM_JOB_ID"),
    }
}

/// Whether process `pid` exists on this host. Signal 0 is the POSIX existence check; std has no
/// query for a process it did not spawn, and a crate for this one call would wrap the same libc.
pub fn pid_alive(pid: u32) -> bool {
    // SAFETY: kill with signal 0 sends nothing; it only checks existence and permission.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The git commit of the working directory and whether it has uncommitted changes.
pub fn git_info() -> Option<GitInfo> {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = run(&["rev-parse", "HEAD"])?;
    let dirty = run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(GitInfo { commit, dirty })
}

/// The burn release ttv is built on: Cargo.toml pins it exactly (a test holds the two equal).
pub const BURN_VERSION: &str = "0.22.1";

pub fn versions() -> BTreeMap<String, String> {
    BTreeMap::from([("ttv".to_string(), env!("CARGO_PKG_VERSION").to_string()), ("burn".to_string(), BURN_VERSION.to_string())])
}

#[cfg(test)]
mod tests {
    /// A status names the burn that computed the run: the exact version Cargo.toml pins.
    #[test]
    fn the_recorded_burn_version_is_the_pinned_one() {
        let manifest = include_str!("../../Cargo.toml");
        let pin = manifest.lines().find(|l| l.starts_with("burn = ")).expect("a burn dependency");
        assert!(pin.contains(&format!("version = \"={}\"", super::BURN_VERSION)), "{pin}");
    }
}
