//! The run store: `registry/runs/<hash12>/` per run ([`RunDir`] knows its layout) and
//! `registry/index.parquet`. Content-addressed by the run's spec hash; every write is a temp
//! file renamed into place, and the end state is the last thing written.

pub mod atomic;
pub mod claim;
pub mod index;
pub mod metrics;
pub mod record;
pub mod run_dir;
pub mod status;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

pub use claim::{Claim, ClaimError};
pub use record::RunRecord;
pub use run_dir::RunDir;
pub use status::{RunState, Status, Summary};

use crate::spec::{RunPlan, hash::SHORT_LEN};

/// Seconds without a heartbeat after which another host's claim may be taken over.
pub const DEFAULT_STALE_AFTER: f64 = 120.0;

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

    /// The directory of run `hash` (named by its first 12 hex digits).
    pub fn run(&self, hash: &str) -> RunDir {
        RunDir::new(self.runs_dir().join(&hash[..SHORT_LEN.min(hash.len())]))
    }

    /// The run whose hash starts with `prefix` (at least 4 hex digits; exactly one run must match).
    pub fn find(&self, prefix: &str) -> Result<RunDir> {
        if prefix.len() < 4 || !prefix.chars().all(|c| c.is_ascii_hexdigit()) {
            bail!("`{prefix}` is not a run hash (give at least 4 hex digits)");
        }
        let short = prefix[..prefix.len().min(SHORT_LEN)].to_lowercase();
        let runs = self.runs_dir();
        let matches: Vec<PathBuf> = std::fs::read_dir(&runs)
            .with_context(|| format!("reading {}", runs.display()))?
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&short))
            .map(|e| e.path())
            .collect();
        match matches.as_slice() {
            [one] => Ok(RunDir::new(one.clone())),
            [] => bail!("no run {prefix} in {}", runs.display()),
            many => bail!("{prefix} matches {} runs; give more digits", many.len()),
        }
    }

    /// Every run directory of the store, in name order.
    pub fn runs(&self) -> Vec<RunDir> {
        let mut dirs: Vec<PathBuf> =
            std::fs::read_dir(self.runs_dir()).into_iter().flatten().flatten().map(|e| e.path()).collect();
        dirs.sort();
        dirs.into_iter().map(RunDir::new).collect()
    }

    /// Where the launch scripts of `experiment` and their tasks' logs go.
    pub fn launch_dir(&self, experiment: &str) -> PathBuf {
        self.root.join("launch").join(experiment)
    }

    pub fn index_path(&self) -> PathBuf {
        self.root.join("index.parquet")
    }

    pub fn status(&self, hash: &str) -> Option<Status> {
        self.run(hash).read_status().ok()
    }

    /// The run's lifecycle state: as stored, except that a run without a status is `new` (or
    /// `interrupted` if it checkpointed) and a `running` one without a live holder `interrupted`.
    pub fn state(&self, hash: &str) -> RunState {
        let dir = self.run(hash);
        let Some(status) = self.status(hash) else {
            return if dir.ckpt_dir().exists() { RunState::Interrupted } else { RunState::New };
        };
        match status.state {
            RunState::Running => {
                let held = claim::holder(&dir).is_some_and(|c| !claim::is_stale(&c, Some(&status), self.stale_after));
                if held { RunState::Running } else { RunState::Interrupted }
            }
            state => state,
        }
    }

    /// Claim a planned run; see [`claim::claim`].
    pub fn claim(&self, plan: &RunPlan) -> Result<Claim, ClaimError> {
        claim::claim(&self.run(&plan.hash), self.stale_after)
    }

    /// Record that `experiment` lists a stored run (re-running a spec under a new name).
    pub fn add_experiment(&self, plan: &RunPlan, experiment: &str) -> std::io::Result<()> {
        if let Ok(mut record) = RunRecord::open(self.run(&plan.hash))
            && record.list_under(experiment, &plan.label)
        {
            record.save()?;
        }
        Ok(())
    }

    pub fn rebuild_index(&self) -> std::io::Result<()> {
        index::rebuild(self, &self.index_path())
    }
}
