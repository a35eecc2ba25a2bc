//! The run store: `registry/runs/<hash12>/` per run ([`RunDir`] knows its layout) and
//! `registry/index.parquet`. Content-addressed by the run's spec hash; every write is a temp
//! file renamed into place, and the end state is the last thing written.

pub mod atomic;
pub mod claim;
pub mod damage;
pub mod freeze;
pub mod heartbeat;
pub mod index;
pub mod inputs;
pub mod metrics;
pub mod orphans;
pub mod path_error;
pub mod record;
pub mod run_dir;
pub mod status;
pub mod thresholds;

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

pub use claim::{Claim, ClaimError};
pub use damage::Damage;
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
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(self.runs_dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()) && !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| e.path())
            .collect();
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

    /// The run's lifecycle state ([`Store::inspect`]).
    pub fn state(&self, hash: &str) -> RunState {
        self.inspect(hash).state
    }

    /// What a reader can tell of run `hash`: its state as stored, except that a run without a
    /// status is `new` (or `interrupted` if it checkpointed), a `running` one without a live
    /// holder `interrupted`, and a damaged one `damaged`: its status cannot be read, or it
    /// ended (`done`, `stopped`, `failed`) and its metrics cannot be read.
    pub fn inspect(&self, hash: &str) -> Inspection {
        let dir = self.run(hash);
        let status = match dir.read_status() {
            Ok(status) => status,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let state = if dir.ckpt_dir().exists() { RunState::Interrupted } else { RunState::New };
                return Inspection { state, status: None, damage: metrics_damage(&dir, false), heartbeat: None };
            }
            Err(e) => {
                let damage = Some(Damage::new(&dir, &dir.status_path(), e));
                return Inspection { state: RunState::Damaged, status: None, damage, heartbeat: None };
            }
        };
        let mut state = status.state;
        let mut heartbeat = Some(status.heartbeat);
        if state == RunState::Running {
            let holder = claim::holder(&dir);
            heartbeat = holder.as_ref().map_or(heartbeat, |c| Some(c.time.max(status.heartbeat)));
            if holder.is_some_and(|c| !claim::is_stale(&c, Some(&status), self.stale_after)) {
                // Its holder is writing it: what it writes is whole (atomic), so nothing to judge.
                return Inspection { state, status: Some(status), damage: None, heartbeat };
            }
            state = RunState::Interrupted;
        }
        let ended = matches!(state, RunState::Done | RunState::Stopped | RunState::Failed);
        let damage = metrics_damage(&dir, matches!(state, RunState::Done | RunState::Stopped));
        if damage.is_some() && ended {
            state = RunState::Damaged;
        }
        Inspection { state, status: Some(status), damage, heartbeat }
    }

    /// Claim a planned run; see [`claim::claim`].
    pub fn claim(&self, plan: &RunPlan) -> Result<Claim, ClaimError> {
        claim::claim(&self.run(&plan.hash), self.stale_after)
    }

    /// Record that `experiment` lists a stored run (re-running a spec under a new name), in
    /// place: a runner holding the run keeps its own status and this label.
    pub fn add_experiment(&self, plan: &RunPlan, experiment: &str) -> std::io::Result<()> {
        let listed = record::amend(&self.run(&plan.hash), |status| {
            let new = status.experiments.get(experiment) != Some(&plan.label);
            status.experiments.insert(experiment.to_string(), plan.label.clone());
            new
        });
        match listed {
            // No status, or a damaged one (reported where the run is judged): nothing to amend.
            Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::InvalidData) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Remove orphan temp files a killed writer left ([`orphans::sweep`]); what was done.
    pub fn sweep_orphans(&self) -> orphans::Swept {
        orphans::sweep(self, orphans::SAFE_AGE)
    }

    /// Rebuild `index.parquet`; the damaged runs found on the way (left out of the index when
    /// their status cannot be read).
    pub fn rebuild_index(&self) -> std::io::Result<Vec<Damage>> {
        index::rebuild(self, &self.index_path())
    }
}

/// What a reader can tell of a stored run ([`Store::inspect`]).
#[derive(Debug, Clone)]
pub struct Inspection {
    pub state: RunState,
    /// The stored status, when there is one and it reads.
    pub status: Option<Status>,
    /// A file that cannot be read: the status (the run is `damaged`), or the metrics (a run
    /// that ended is `damaged`; one still to train restarts from scratch).
    pub damage: Option<Damage>,
    /// Unix seconds of the run's last heartbeat: its claim's, or its status's if newer.
    pub heartbeat: Option<f64>,
}

/// Why a run's metrics cannot be used: unreadable, or missing where `required` (a run that
/// ended saved them before its end state).
fn metrics_damage(dir: &RunDir, required: bool) -> Option<Damage> {
    let path = dir.metrics_path();
    if !path.exists() {
        return required.then(|| Damage::new(dir, &path, "missing, though the run's status says it ended"));
    }
    metrics::MetricsLog::open(&path, "").err().map(|e| Damage::new(dir, &path, format!("{e:#}")))
}
