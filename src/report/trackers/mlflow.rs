//! MLflow: the file store layout of MLflow's `FileStore` (`mlflow/store/tracking/file_store.py`),
//! which MLflow 3 still reads with `MLFLOW_ALLOW_FILE_STORE=true` and converts to its SQLite store
//! with `mlflow migrate-filestore`:
//!
//! ```text
//! <out>/0/meta.yaml                            the Default experiment, as MLflow creates it
//! <out>/.trash/                                deleted experiments (MLflow expects the folder)
//! <out>/<experiment id>/meta.yaml              one MLflow experiment per experiment
//! <out>/<experiment id>/tags/<key>             its description (`mlflow.note.content`)
//! <out>/<experiment id>/<run id>/meta.yaml     one MLflow run per run: name, state, times
//! <out>/<experiment id>/<run id>/params/<path> each resolved spec field and the seed
//! <out>/<experiment id>/<run id>/metrics/<split>/<metric>   lines `<ms> <value> <step>`
//! <out>/<experiment id>/<run id>/tags/<key>    experiment, variant, seed, hash, state, commit
//! <out>/<experiment id>/<run id>/artifacts/    spec.yaml and the sample GIFs (samples/...)
//! ```
//!
//! Ids are numbers (experiments) and 32 hex digits (runs) derived from the experiment's name and
//! the run's hash, so exporting again replaces a run instead of adding one; an experiment that
//! the folder already has under the same name (made by MLflow, say) is reused. Each run is
//! assembled in a temp folder beside its place and renamed into it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Tracked;
use crate::spec::flatten::show;
use crate::store::RunState;
use crate::store::atomic::{OLD_PREFIX, temp_prefix, write_atomic};
use crate::store::path_error;

/// MLflow refuses longer param and tag values when they are logged.
const MAX_PARAM_CHARS: usize = 6000;
const MAX_TAG_CHARS: usize = 8000;
/// MLflow's `SourceType.LOCAL`.
const SOURCE_LOCAL: i64 = 4;

/// The export's MLflow file store: its root and the experiments it holds, by name.
#[derive(Debug)]
pub struct FileStore {
    root: PathBuf,
    by_name: BTreeMap<String, String>,
}

/// One MLflow experiment being written.
#[derive(Debug, Clone)]
pub struct Experiment {
    pub id: String,
    pub dir: PathBuf,
}

#[derive(Serialize)]
struct ExperimentMeta<'a> {
    artifact_location: String,
    creation_time: i64,
    experiment_id: &'a str,
    last_update_time: i64,
    lifecycle_stage: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct RunMeta<'a> {
    artifact_uri: String,
    end_time: Option<i64>,
    entry_point_name: &'a str,
    experiment_id: &'a str,
    lifecycle_stage: &'a str,
    run_id: &'a str,
    run_name: &'a str,
    /// MLflow before 3 reads the id from here.
    run_uuid: &'a str,
    source_name: &'a str,
    source_type: i64,
    source_version: &'a str,
    start_time: i64,
    status: i64,
    tags: [(); 0],
    user_id: &'a str,
}

fn millis(secs: f64) -> i64 {
    (secs * 1000.0).round() as i64
}

fn file_uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

fn write_yaml(path: &Path, value: &impl Serialize) -> Result<()> {
    let text = serde_norway::to_string(value).context("YAML of MLflow metadata")?;
    write_atomic(path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))
}

impl FileStore {
    /// The file store at `out` (made absolute: MLflow's artifact URIs are absolute), with the
    /// Default experiment and the trash folder MLflow expects.
    pub fn open(out: &Path) -> Result<Self> {
        std::fs::create_dir_all(out.join(".trash")).map_err(path_error::at(out))?;
        let root = std::fs::canonicalize(out).map_err(path_error::at(out))?;
        let mut store = Self { root, by_name: BTreeMap::new() };
        for entry in std::fs::read_dir(&store.root).map_err(path_error::at(out))?.flatten() {
            let meta = entry.path().join("meta.yaml");
            let Ok(text) = std::fs::read_to_string(&meta) else { continue };
            let parsed: serde_json::Value = serde_norway::from_str(&text)
                .with_context(|| format!("{}: not an MLflow experiment's meta.yaml", meta.display()))?;
            if let Some(name) = parsed.get("name").and_then(|n| n.as_str()) {
                store.by_name.insert(name.to_string(), entry.file_name().to_string_lossy().into_owned());
            }
        }
        if !store.root.join("0").join("meta.yaml").exists() {
            store.create("0", "Default")?;
        }
        Ok(store)
    }

    fn create(&mut self, id: &str, name: &str) -> Result<()> {
        let dir = self.root.join(id);
        let now = millis(crate::store::status::now());
        let meta = ExperimentMeta {
            artifact_location: file_uri(&dir),
            creation_time: now,
            experiment_id: id,
            last_update_time: now,
            lifecycle_stage: "active",
            name,
        };
        write_yaml(&dir.join("meta.yaml"), &meta)?;
        self.by_name.insert(name.to_string(), id.to_string());
        Ok(())
    }

    /// The MLflow experiment named `name`, made when the store has none; `description` becomes
    /// its note.
    pub fn experiment(&mut self, name: &str, description: Option<&str>) -> Result<Experiment> {
        let id = match self.by_name.get(name) {
            Some(id) => id.clone(),
            None => {
                let id = self.free_id(name);
                self.create(&id, name)?;
                id
            }
        };
        let dir = self.root.join(&id);
        crate::store::orphans::sweep_folder(&dir, std::time::Duration::ZERO);
        let tags = dir.join("tags");
        if let Some(d) = description {
            write_atomic(&tags.join("mlflow.note.content"), cut(d, MAX_TAG_CHARS).as_bytes())?;
        }
        write_atomic(&tags.join("ttv.experiment"), name.as_bytes())?;
        Ok(Experiment { id, dir })
    }

    /// A number from the name's SHA-256 (as MLflow's own ids, a positive 64-bit integer), the
    /// next one when another experiment has it.
    fn free_id(&self, name: &str) -> String {
        let digest = Sha256::digest(format!("ttv experiment\n{name}").as_bytes());
        let mut id = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) >> 4;
        while self.root.join(id.to_string()).exists() {
            id += 1;
        }
        id.to_string()
    }
}

/// The MLflow run id of `t`: 32 hex digits of the SHA-256 of its experiment and hash.
pub fn run_id(t: &Tracked) -> String {
    let digest = Sha256::digest(format!("{}\n{}", t.experiment, t.run.hash).as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// A name MLflow accepts for a param, metric or tag: alphanumerics, `_ - . : /` and spaces,
/// no empty, `.` or `..` path segment.
pub fn key(name: &str) -> String {
    let clean: String = name.chars().map(|c| if c.is_alphanumeric() || "_-.: /".contains(c) { c } else { '_' }).collect();
    let parts: Vec<String> = clean
        .split('/')
        .filter(|p| !p.is_empty())
        .map(|p| if p == "." || p == ".." { p.replace('.', "_") } else { p.to_string() })
        .collect();
    if parts.is_empty() { "_".into() } else { parts.join("/") }
}

fn cut(s: &str, chars: usize) -> String {
    match s.char_indices().nth(chars) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}

/// MLflow's `RunStatus` for a run's state.
fn status(state: &str) -> i64 {
    // RUNNING 1, SCHEDULED 2, FINISHED 3, FAILED 4, KILLED 5.
    match state {
        s if s == RunState::Done.as_str() || s == RunState::Stopped.as_str() => 3,
        s if s == RunState::Failed.as_str() || s == RunState::Damaged.as_str() => 4,
        s if s == RunState::Running.as_str() => 1,
        s if s == RunState::Interrupted.as_str() => 5,
        _ => 2,
    }
}

/// Write `t` as a run of `e`; the run's folder.
pub fn write_run(e: &Experiment, t: &Tracked, warnings: &mut Vec<String>) -> Result<PathBuf> {
    let id = run_id(t);
    let target = e.dir.join(&id);
    let tmp = e.dir.join(format!("{}{id}", temp_prefix()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(path_error::at(&tmp))?;
    }
    let assembled = assemble(&tmp, &target, e, t, &id, warnings);
    if assembled.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    assembled.with_context(|| format!("writing MLflow run {}", target.display()))?;
    if target.exists() {
        let old = e.dir.join(format!("{OLD_PREFIX}{}-{id}", std::process::id()));
        std::fs::rename(&target, &old).map_err(path_error::at(&target))?;
        std::fs::rename(&tmp, &target).map_err(path_error::at(&target))?;
        std::fs::remove_dir_all(&old).map_err(path_error::at(&old))?;
    } else {
        std::fs::rename(&tmp, &target).map_err(path_error::at(&target))?;
    }
    Ok(target)
}

/// A file of a run being assembled: no reader sees the temp folder until it is renamed, so a
/// plain write is whole when it becomes visible (and hundreds of fsyncs per run are saved).
fn put(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(path_error::at(dir))?;
    }
    std::fs::write(path, bytes).map_err(path_error::at(path))
}

/// The run's files in `tmp` (the run's meta.yaml last), with artifact URIs under `target`.
fn assemble(tmp: &Path, target: &Path, e: &Experiment, t: &Tracked, id: &str, warnings: &mut Vec<String>) -> Result<()> {
    let r = t.run;
    for (path, v) in &t.config {
        put(&tmp.join("params").join(key(path)), cut(&show(v), MAX_PARAM_CHARS).as_bytes())?;
    }

    let mut series: BTreeMap<String, String> = BTreeMap::new();
    for row in &t.rows {
        let line = format!("{} {} {}\n", millis(t.time_at(row.wall_s)), row.value, row.step);
        series.entry(key(&format!("{}/{}", row.split, row.metric))).or_default().push_str(&line);
    }
    let end = r.finished.or(r.started).unwrap_or(0.0);
    for (name, v) in &t.figures {
        series.insert(key(&format!("summary/{name}")), format!("{} {v} {}\n", millis(end), t.last_step()));
    }
    for (name, lines) in &series {
        put(&tmp.join("metrics").join(name), lines.as_bytes())?;
    }

    let name = t.name();
    let mut tags: Vec<(&str, String)> = vec![
        ("mlflow.runName", name.clone()),
        ("ttv.experiment", t.experiment.to_string()),
        ("ttv.variant", t.label().to_string()),
        ("ttv.variant_id", r.variant.clone()),
        ("ttv.seed", r.seed.to_string()),
        ("ttv.hash", r.hash.clone()),
        ("ttv.state", r.state.clone()),
        ("ttv.device", r.device.clone()),
    ];
    if let Some(git) = &t.git {
        tags.push(("mlflow.source.git.commit", git.commit.clone()));
        tags.push(("ttv.git_dirty", git.dirty.to_string()));
    }
    let notes = t.notes();
    if !notes.is_empty() {
        // The run's description on its MLflow page.
        tags.push(("mlflow.note.content", notes.iter().map(|n| format!("- {n}\n")).collect()));
    }
    for (k, v) in &tags {
        put(&tmp.join("tags").join(key(k)), cut(v, MAX_TAG_CHARS).as_bytes())?;
    }

    let artifacts = tmp.join("artifacts");
    std::fs::create_dir_all(&artifacts).map_err(path_error::at(&artifacts))?;
    if let Some(spec) = r.spec_yaml() {
        put(&artifacts.join("spec.yaml"), spec.as_bytes())?;
    }
    copy_files(&r.run_dir().samples_dir(), &artifacts.join("samples"), &r.short, warnings);

    let meta = RunMeta {
        artifact_uri: file_uri(&target.join("artifacts")),
        end_time: r.finished.map(millis),
        entry_point_name: "",
        experiment_id: &e.id,
        lifecycle_stage: "active",
        run_id: id,
        run_name: &name,
        run_uuid: id,
        source_name: "",
        source_type: SOURCE_LOCAL,
        source_version: "",
        start_time: millis(r.started.unwrap_or(0.0)),
        status: status(&r.state),
        tags: [],
        user_id: "ttv",
    };
    write_yaml(&tmp.join("meta.yaml"), &meta)
}

/// Copy the files under `from` to `to` (the store's temp files left out); what cannot be read
/// is a warning.
fn copy_files(from: &Path, to: &Path, run: &str, warnings: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(from) else { return };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        if crate::store::orphans::temp_name(&name.to_string_lossy()).is_some() {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_files(&path, &to.join(&name), run, warnings);
        } else if let Err(e) = std::fs::read(&path).and_then(|b| put(&to.join(&name), &b)) {
            warnings.push(format!("run {run}: {} is left out: {e}", path.display()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_names_mlflow_accepts() {
        assert_eq!(key("eval/gen_mse"), "eval/gen_mse");
        assert_eq!(key("model.halting.threshold"), "model.halting.threshold");
        assert_eq!(key("summary/data/skipped"), "summary/data/skipped");
        assert_eq!(key("a,b=c"), "a_b_c");
        assert_eq!(key("/x//../y/"), "x/__/y");
        assert_eq!(key(""), "_");
    }

    #[test]
    fn states_map_to_mlflow_statuses() {
        assert_eq!(status("done"), 3);
        assert_eq!(status("stopped"), 3);
        assert_eq!(status("failed"), 4);
        assert_eq!(status("interrupted"), 5);
        assert_eq!(status("new"), 2);
    }
}
