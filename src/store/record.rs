//! The one writer of `status.json`. A runner begins an attempt with [`RunRecord::begin`] and
//! lends the record to the trainer (heartbeats, notes, the summary); [`RunRecord::finish`]
//! writes the end state. Commands that amend a stored run (`ttv-run fid`, `ttv-run score`, a
//! second experiment listing it) open its record with [`RunRecord::open`].

use super::atomic::write_atomic;
use super::run_dir::RunDir;
use super::status::{RunState, Status, Summary, git_info, hostname, now, versions};
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
        status.job = crate::launch::slurm::current_job();
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

    /// Add `note` unless the run already says it; whether it was added.
    pub fn note(&mut self, note: String) -> bool {
        self.status.add_note(note)
    }

    /// Keep only the notes `keep` accepts.
    pub fn keep_notes(&mut self, keep: impl Fn(&str) -> bool) {
        self.status.notes.retain(|n| keep(n));
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

    /// Write the record (atomically): the only serialisation of `status.json`.
    pub fn save(&mut self) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(&self.status).expect("status serialises");
        write_atomic(&self.dir.status_path(), &bytes)
    }
}
