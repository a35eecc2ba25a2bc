//! `status.json`: what state a run is in, who holds it, and where it came from.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::atomic::write_atomic;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Queued,
    /// Recorded by the placeholder trainer: the run is planned but nothing was trained.
    Planned,
    Running,
    Done,
    Failed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Planned => "planned",
            State::Running => "running",
            State::Done => "done",
            State::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GitInfo {
    pub commit: String,
    /// Uncommitted changes in the working tree when the run started.
    pub dirty: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Status {
    pub hash: String,
    pub state: State,
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
    /// Experiments that list this run, with the variant label each gives it.
    pub experiments: BTreeMap<String, String>,
    pub seed: u64,
    /// Key results (last eval values) for the index.
    #[serde(default)]
    pub results: BTreeMap<String, f64>,
    /// Things a reader of the results must know: a metric left pending and why, a stop on the
    /// time budget, an out-of-memory split.
    #[serde(default)]
    pub notes: Vec<String>,
}

impl Status {
    pub fn read(path: &Path) -> std::io::Result<Status> {
        let bytes = std::fs::read(path)?;
        serde_json::from_slice(&bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        write_atomic(path, &serde_json::to_vec_pretty(self).expect("status serialises"))
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

/// Whether process `pid` exists on this host.
pub fn pid_alive(pid: u32) -> bool {
    // SAFETY: kill with signal 0 only checks for existence and permission.
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

pub fn versions() -> BTreeMap<String, String> {
    BTreeMap::from([("ttv".to_string(), env!("CARGO_PKG_VERSION").to_string()), ("burn".to_string(), "0.21.0".to_string())])
}
