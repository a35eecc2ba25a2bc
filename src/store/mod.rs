//! The run store: `registry/runs/<hash12>/` per run (spec.yaml, status.json, metrics.parquet,
//! ckpt/, samples/) and `registry/index.parquet`. Content-addressed by the run's spec hash;
//! every write is a temp file renamed into place, and `done` is the last thing written.

pub mod atomic;
pub mod claim;
pub mod index;
pub mod metrics;
pub mod status;

use std::path::{Path, PathBuf};

pub use claim::{Claim, ClaimError};
pub use status::{State, Status};

use crate::spec::{RunPlan, hash::SHORT_LEN};

/// Seconds without a heartbeat after which a dead runner's claim may be taken over.
pub const DEFAULT_STALE_AFTER: f64 = 120.0;

/// What a spec's run looks like in the store, as `--dry-run` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Nothing stored.
    New,
    /// Recorded by the placeholder trainer; nothing trained.
    Planned,
    /// Claimed by a live runner.
    Running,
    /// Started but interrupted: will resume from its last checkpoint.
    Partial,
    Done,
    Failed,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::New => "new",
            RunState::Planned => "planned",
            RunState::Running => "running",
            RunState::Partial => "partial",
            RunState::Done => "done",
            RunState::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Store {
    pub root: PathBuf,
    /// Heartbeat age after which a dead runner's claim is stale.
    pub stale_after: f64,
}

impl Store {
    /// Open (and create if needed) the store at `root`.
    pub fn open(root: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(root.join("runs"))?;
        Ok(Self { root: root.to_path_buf(), stale_after: DEFAULT_STALE_AFTER })
    }

    /// Look at a store without creating anything (for `--dry-run` and reports).
    pub fn at(root: &Path) -> Self {
        Self { root: root.to_path_buf(), stale_after: DEFAULT_STALE_AFTER }
    }

    pub fn runs_dir(&self) -> PathBuf {
        self.root.join("runs")
    }

    pub fn run_dir(&self, hash: &str) -> PathBuf {
        self.runs_dir().join(&hash[..SHORT_LEN.min(hash.len())])
    }

    pub fn index_path(&self) -> PathBuf {
        self.root.join("index.parquet")
    }

    pub fn status(&self, hash: &str) -> Option<Status> {
        Status::read(&self.run_dir(hash).join("status.json")).ok()
    }

    pub fn state(&self, hash: &str) -> RunState {
        let dir = self.run_dir(hash);
        let Some(status) = self.status(hash) else {
            return if dir.join("ckpt").exists() { RunState::Partial } else { RunState::New };
        };
        match status.state {
            State::Done => RunState::Done,
            State::Failed => RunState::Failed,
            State::Planned => RunState::Planned,
            State::Queued => RunState::New,
            State::Running => {
                let held = std::fs::read(dir.join("claim"))
                    .ok()
                    .and_then(|b| serde_json::from_slice::<claim::ClaimInfo>(&b).ok())
                    .is_some_and(|c| !claim::is_stale(&c, Some(&status), self.stale_after));
                if held { RunState::Running } else { RunState::Partial }
            }
        }
    }

    /// Claim a planned run; see [`claim::claim`].
    pub fn claim(&self, plan: &RunPlan) -> Result<Claim, ClaimError> {
        claim::claim(&self.run_dir(&plan.hash), self.stale_after)
    }

    /// Write the resolved spec beside the run (atomically); returns its path.
    pub fn write_spec(&self, plan: &RunPlan) -> std::io::Result<PathBuf> {
        let path = self.run_dir(&plan.hash).join("spec.yaml");
        let header = format!("# ttv resolved run spec\n# hash: {}\n# format: {}\n", plan.hash, crate::spec::FORMAT_VERSION);
        let body = serde_norway::to_string(&plan.spec).map_err(std::io::Error::other)?;
        atomic::write_atomic(&path, format!("{header}{body}").as_bytes())?;
        Ok(path)
    }

    /// The status a new attempt at `plan` starts from: the stored one (keeping its history and
    /// experiment labels) or a fresh one.
    pub fn begin_status(&self, plan: &RunPlan, experiment: &str, device: &str, state: State) -> Status {
        let now = status::now();
        let mut s = self.status(&plan.hash).unwrap_or_else(|| Status {
            hash: plan.hash.clone(),
            state,
            pid: 0,
            host: String::new(),
            heartbeat: now,
            started: now,
            finished: None,
            error: None,
            git: None,
            versions: Default::default(),
            device: String::new(),
            experiments: Default::default(),
            seed: plan.seed,
            results: Default::default(),
            notes: Vec::new(),
        });
        s.state = state;
        s.pid = std::process::id();
        s.host = status::hostname();
        s.heartbeat = now;
        s.error = None;
        s.finished = None;
        s.git = status::git_info();
        s.versions = status::versions();
        s.device = device.to_string();
        s.experiments.insert(experiment.to_string(), plan.label.clone());
        s
    }

    pub fn write_status(&self, status: &Status) -> std::io::Result<()> {
        status.write(&self.run_dir(&status.hash).join("status.json"))
    }

    /// Record that `experiment` lists a finished run (re-running a spec under a new name).
    pub fn add_experiment(&self, plan: &RunPlan, experiment: &str) -> std::io::Result<()> {
        if let Some(mut s) = self.status(&plan.hash) {
            if s.experiments.get(experiment) != Some(&plan.label) {
                s.experiments.insert(experiment.to_string(), plan.label.clone());
                self.write_status(&s)?;
            }
        }
        Ok(())
    }

    pub fn rebuild_index(&self) -> std::io::Result<()> {
        index::rebuild(&self.runs_dir(), &self.index_path())
    }
}
