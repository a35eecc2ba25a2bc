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

use anyhow::{Result, bail};

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

    /// The run whose hash starts with `prefix` (at least 4 hex digits; exactly one run must
    /// match). When none or several match, the error lists the candidates: the matching runs, or
    /// the runs whose hashes begin most like `prefix`.
    pub fn find(&self, prefix: &str) -> Result<RunDir> {
        if prefix.len() < 4 || !prefix.chars().all(|c| c.is_ascii_hexdigit()) {
            bail!("`{prefix}` is not a run hash (give at least 4 hex digits)");
        }
        let prefix = prefix.to_lowercase();
        let short = &prefix[..prefix.len().min(SHORT_LEN)];
        // Directories carry 12 digits; a longer prefix must match the full hash in the status.
        let full = |d: &RunDir| prefix.len() <= SHORT_LEN || d.read_status().is_ok_and(|s| s.hash.starts_with(&prefix));
        let mut all = self.runs();
        let matches: Vec<RunDir> = all.iter().filter(|d| d.short().starts_with(short) && full(d)).cloned().collect();
        let runs = self.runs_dir();
        match matches.as_slice() {
            [one] => Ok(one.clone()),
            [] if all.is_empty() => bail!("no run {prefix} in {}: the store has no runs", runs.display()),
            [] => {
                let common = |d: &RunDir| d.short().chars().zip(short.chars()).take_while(|(a, b)| a == b).count();
                all.sort_by_key(|d| std::cmp::Reverse(common(d)));
                let more = all.len().saturating_sub(8);
                let more = if more > 0 { format!("\n  ... and {more} more (`ttv-run runs ls`)") } else { String::new() };
                bail!(
                    "no run {prefix} in {}; the closest are:{}{more}",
                    runs.display(),
                    self.candidates(&all[..all.len().min(8)])
                )
            }
            many => bail!("{prefix} matches {} runs; give more digits:{}", many.len(), self.candidates(many)),
        }
    }

    /// One line per run: short hash, experiment and variant, seed, state.
    fn candidates(&self, dirs: &[RunDir]) -> String {
        let mut out = String::new();
        for d in dirs {
            let what = match d.read_status() {
                Ok(s) => {
                    let listed: Vec<String> = s.experiments.iter().map(|(e, l)| format!("{e} {l}")).collect();
                    format!("{}  seed {}  {}", listed.join(", "), s.seed, self.state(&s.hash))
                }
                Err(_) => "(no readable status.json)".to_string(),
            };
            out += &format!("\n  {}  {what}", d.short());
        }
        out
    }

    /// Every run directory of the store, in name order.
    pub fn runs(&self) -> Vec<RunDir> {
        let mut dirs: Vec<PathBuf> =
            std::fs::read_dir(self.runs_dir()).into_iter().flatten().flatten().map(|e| e.path()).collect();
        dirs.sort();
        dirs.into_iter().map(RunDir::new).collect()
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
