//! The one writer of `status.json`. A runner begins an attempt with [`RunRecord::begin`] and
//! lends the record to the trainer (heartbeats, notes, the summary); [`RunRecord::finish`]
//! writes the end state. Commands that amend a stored run (`ttv-run fid`, `ttv-run score`) open
//! its record with [`RunRecord::open`]; a second experiment listing a run changes it in place
//! ([`amend`]). Every write reads the stored status again and keeps the experiment labels other
//! processes added, under the run's `status.lock`, so that two writers never lose each other's
//! labels.

use super::atomic::write_atomic;
use super::path_error;
use super::run_dir::RunDir;
use super::status::{RunState, Status, Summary, current_job, git_info, hostname, now, versions};
use crate::spec::RunPlan;

/// Seconds between heartbeats written to `status.json` while a run works.
const HEARTBEAT_S: f64 = 10.0;

#[derive(Debug)]
pub struct RunRecord {
    dir: RunDir,
    status: Status,
}

impl RunRecord {
    /// Start an attempt at `plan` for `experiment` on `device`: the stored status (keeping its
    /// history, notes and experiment labels) or a fresh one, marked `running` by this process
    /// and written at once.
    pub fn begin(dir: RunDir, plan: &RunPlan, experiment: &str, device: &str) -> std::io::Result<Self> {
        let t = now();
        let mut status = dir.read_status().unwrap_or_else(|_| Status {
            hash: plan.hash.clone(),
            state: RunState::New,
            pid: 0,
            host: String::new(),
            heartbeat: t,
            started: t,
            finished: None,
            error: None,
            git: None,
            versions: Default::default(),
            device: String::new(),
            job: None,
            experiments: Default::default(),
            seed: plan.seed,
            summary: Summary::default(),
            notes: Vec::new(),
            data_fingerprint: None,
        });
        status.state = RunState::Running;
        status.pid = std::process::id();
        status.host = hostname();
        status.heartbeat = t;
        status.error = None;
        status.finished = None;
        status.git = git_info();
        status.versions = versions();
        status.device = device.to_string();
        status.job = current_job();
        status.experiments.insert(experiment.to_string(), plan.label.clone());
        let mut record = Self { dir, status };
        record.save()?;
        Ok(record)
    }

    /// The stored record of a run, to amend.
    pub fn open(dir: RunDir) -> std::io::Result<Self> {
        let status = dir.read_status()?;
        Ok(Self { dir, status })
    }

    pub fn dir(&self) -> &RunDir {
        &self.dir
    }

    pub fn status(&self) -> &Status {
        &self.status
    }

    pub fn summary(&mut self) -> &mut Summary {
        &mut self.status.summary
    }

    /// Record that `experiment` lists the run under `label`; whether that is new.
    pub fn list_under(&mut self, experiment: &str, label: &str) -> bool {
        let new = self.status.experiments.get(experiment).map(String::as_str) != Some(label);
        if new {
            self.status.experiments.insert(experiment.to_string(), label.to_string());
        }
        new
    }

    /// Record the fingerprint of the input files this attempt trains on ([`super::inputs`]).
    pub fn set_data_fingerprint(&mut self, fingerprint: Option<String>) {
        self.status.data_fingerprint = fingerprint;
    }

    /// Add `note` unless the run already says it; whether it was added.
    pub fn note(&mut self, note: String) -> bool {
        self.status.add_note(note)
    }

    /// Drop the notes `drop` accepts.
    pub fn drop_notes(&mut self, drop: impl Fn(&str) -> bool) {
        self.status.notes.retain(|n| !drop(n));
    }

    /// Refresh the heartbeat if the last one is [`HEARTBEAT_S`] old, writing what changed since.
    pub fn heartbeat(&mut self) -> std::io::Result<()> {
        let t = now();
        if t - self.status.heartbeat >= HEARTBEAT_S {
            self.status.heartbeat = t;
            self.save()?;
        }
        Ok(())
    }

    /// End the attempt in `state` (`error` says why a failed run failed).
    pub fn finish(&mut self, state: RunState, error: Option<String>) -> std::io::Result<()> {
        let t = now();
        self.status.state = state;
        self.status.finished = Some(t);
        self.status.heartbeat = t;
        self.status.error = error;
        self.save()
    }

    /// Write the record (atomically). Under the run's status lock, the labels of experiments
    /// that list the run as stored now (another runner may have added one) are merged in first.
    pub fn save(&mut self) -> std::io::Result<()> {
        std::fs::create_dir_all(self.dir.path()).map_err(path_error::at(self.dir.path()))?;
        let _lock = lock(&self.dir)?;
        if let Ok(stored) = self.dir.read_status() {
            for (experiment, label) in stored.experiments {
                self.status.experiments.entry(experiment).or_insert(label);
            }
        }
        let bytes = serde_json::to_vec_pretty(&self.status).expect("status serialises");
        write_atomic(&self.dir.status_path(), &bytes)
    }
}

/// Change the stored status of the run in `dir` in place: read, `change`, write, all under the
/// status lock (a reader's copy written back later would undo what another writer did
/// meanwhile). Writes only when `change` says it changed something; whether it did.
pub fn amend(dir: &RunDir, change: impl FnOnce(&mut Status) -> bool) -> std::io::Result<bool> {
    let _lock = lock(dir)?;
    let mut status = dir.read_status()?;
    if !change(&mut status) {
        return Ok(false);
    }
    let bytes = serde_json::to_vec_pretty(&status).expect("status serialises");
    write_atomic(&dir.status_path(), &bytes)?;
    Ok(true)
}

/// The run's status lock, held until the returned file is dropped.
fn lock(dir: &RunDir) -> std::io::Result<std::fs::File> {
    let path = dir.status_lock_path();
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(path_error::at(&path))?;
    file.lock().map_err(path_error::at(&path))?;
    Ok(file)
}
