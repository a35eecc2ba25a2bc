//! Reading the run store for a report: `index.parquet` (polars) lists every (experiment, run)
//! with its key results; each run's `metrics.parquet`, `status.json` notes and `samples/` fill
//! in the curves, the per-epoch tables and the GIFs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use polars::prelude::*;

use crate::store::metrics::MetricsLog;
use crate::store::{RunState, Store};

/// One run as the report sees it.
#[derive(Debug, Clone)]
pub struct Run {
    pub hash: String,
    /// The run directory's name (the hash's first 12 hex digits).
    pub short: String,
    /// The variant label, e.g. `threshold=0.4`.
    pub label: String,
    pub seed: u64,
    /// `done`, `failed`, `running`, `interrupted`, `planned` or `queued`.
    pub state: String,
    /// Why the run is not done (its error, or what its state means); none for done runs.
    pub reason: Option<String>,
    /// What the trainer wants a reader of the results to know (e.g. why FID is pending).
    pub notes: Vec<String>,
    pub device: String,
    pub started: Option<f64>,
    pub finished: Option<f64>,
    /// Summary results (`fid`, `params`, `gen_ms_b1`, ...), finite values only.
    pub results: BTreeMap<String, f64>,
    /// `eval` split: (metric, epoch) -> value (the last one logged for that epoch).
    pub eval: BTreeMap<(String, u32), f64>,
    /// `train` split: metric -> (step, value) in step order.
    pub train: BTreeMap<String, Vec<(u64, f64)>>,
    pub dir: PathBuf,
}

impl Run {
    pub fn done(&self) -> bool {
        self.state == "done"
    }

    pub fn result(&self, key: &str) -> Option<f64> {
        self.results.get(key).copied()
    }

    pub fn eval_at(&self, metric: &str, epoch: u32) -> Option<f64> {
        self.eval.get(&(metric.to_string(), epoch)).copied()
    }

    /// Epochs with at least one eval value, ascending.
    pub fn eval_epochs(&self) -> Vec<u32> {
        let mut e: Vec<u32> = self.eval.keys().map(|(_, e)| *e).collect();
        e.sort_unstable();
        e.dedup();
        e
    }

    /// Why `key` has no value yet, when the trainer said it is pending.
    pub fn pending(&self, key: &str) -> Option<String> {
        if self.result(key).is_some() {
            return None;
        }
        // FID and KID share the Inception features: one flag, or a note about FID, covers both.
        let fid_family = key == "fid" || key == "kid";
        let flagged = self.result(&format!("{key}_pending")).is_some_and(|v| v != 0.0)
            || (fid_family && self.result("fid_pending").is_some_and(|v| v != 0.0))
            || (fid_family && self.notes.iter().any(|n| n.to_lowercase().contains("fid")));
        if !flagged {
            return None;
        }
        let topic = if fid_family { "fid" } else { key };
        let about: Vec<&str> = self.notes.iter().map(String::as_str).filter(|n| n.to_lowercase().contains(topic)).collect();
        let text = if !about.is_empty() {
            about.join("; ")
        } else if !self.notes.is_empty() {
            self.notes.join("; ")
        } else {
            "the trainer gave no reason".to_string()
        };
        Some(text)
    }

    /// Epochs that have sample GIFs (`samples/epoch_<E>/`), ascending.
    pub fn sample_epochs(&self) -> Vec<u32> {
        let mut out: Vec<u32> = std::fs::read_dir(self.dir.join("samples"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.strip_prefix("epoch_")?.parse().ok())
            .collect();
        out.sort_unstable();
        out
    }

    /// The eval prompts and their GIFs at `epoch` (line i of prompts.txt is GIF i).
    pub fn samples(&self, epoch: u32) -> Vec<(String, PathBuf)> {
        let dir = self.dir.join(format!("samples/epoch_{epoch}"));
        let prompts = std::fs::read_to_string(dir.join("prompts.txt")).unwrap_or_default();
        prompts.lines().enumerate().map(|(i, p)| (p.to_string(), dir.join(format!("{i:02}.gif")))).collect()
    }

    pub fn spec_yaml(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.join("spec.yaml")).ok()
    }
}

/// Every experiment's runs (all experiments, or those in `wanted`); none when the registry
/// holds no run directory at all. The index is rebuilt first so it reflects every run on disk.
pub fn experiments(registry: &Path, wanted: &[String]) -> Result<Option<BTreeMap<String, Vec<Run>>>> {
    let store = Store::at(registry);
    if !store.runs_dir().exists() {
        return Ok(None);
    }
    store.rebuild_index().with_context(|| format!("rebuilding {}", store.index_path().display()))?;
    let df =
        crate::store::index::read(&store.index_path()).with_context(|| format!("reading {}", store.index_path().display()))?;
    let mut out: BTreeMap<String, Vec<Run>> = BTreeMap::new();
    for run in runs(&store, &df)? {
        let (exp, run) = run;
        if wanted.is_empty() || wanted.contains(&exp) {
            out.entry(exp).or_default().push(run);
        }
    }
    for w in wanted {
        anyhow::ensure!(out.contains_key(w), "no runs of experiment `{w}` in the registry {}", registry.display());
    }
    Ok(Some(out))
}

/// Index columns that describe a run rather than a result.
const META: [&str; 10] = ["hash", "experiment", "label", "seed", "status", "error", "device", "started", "finished", "notes"];

fn runs(store: &Store, df: &DataFrame) -> Result<Vec<(String, Run)>> {
    let s = |name: &str| -> Result<StringChunked> { Ok(df.column(name)?.str()?.clone()) };
    let f = |name: &str| -> Result<Float64Chunked> { Ok(df.column(name)?.cast(&DataType::Float64)?.f64()?.clone()) };
    let (hash, exp, label, status, error, device) =
        (s("hash")?, s("experiment")?, s("label")?, s("status")?, s("error")?, s("device")?);
    let seed = df.column("seed")?.cast(&DataType::UInt64)?.u64()?.clone();
    let (started, finished) = (f("started")?, f("finished")?);
    let result_cols: Vec<(String, Float64Chunked)> = df
        .columns()
        .iter()
        .filter(|c| !META.contains(&c.name().as_str()) && c.dtype().is_primitive_numeric())
        .map(|c| Ok((c.name().to_string(), c.cast(&DataType::Float64)?.f64()?.clone())))
        .collect::<PolarsResult<_>>()?;
    let mut out = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let hash = hash.get(i).unwrap_or_default().to_string();
        let dir = store.run_dir(&hash);
        let results =
            result_cols.iter().filter_map(|(k, c)| c.get(i).filter(|v| v.is_finite()).map(|v| (k.clone(), v))).collect();
        let raw: serde_json::Value =
            std::fs::read(dir.join("status.json")).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
        let notes = raw["notes"].as_array().into_iter().flatten().filter_map(|n| n.as_str().map(String::from)).collect();
        let (state, reason) = state_and_reason(store, &hash, status.get(i).unwrap_or_default(), error.get(i), &raw);
        let metrics = dir.join("metrics.parquet");
        let rows = if metrics.exists() {
            MetricsLog::open(&metrics, &hash).with_context(|| format!("reading {}", metrics.display()))?.rows
        } else {
            Vec::new()
        };
        let mut eval = BTreeMap::new();
        let mut last_step: BTreeMap<(String, u32), u64> = BTreeMap::new();
        let mut train: BTreeMap<String, Vec<(u64, f64)>> = BTreeMap::new();
        for r in rows {
            match r.split.as_str() {
                "eval" => {
                    let key = (r.metric.clone(), r.epoch);
                    if last_step.get(&key).is_none_or(|s| *s <= r.step) {
                        last_step.insert(key.clone(), r.step);
                        eval.insert(key, r.value);
                    }
                }
                "train" => train.entry(r.metric).or_default().push((r.step, r.value)),
                _ => {}
            }
        }
        for series in train.values_mut() {
            series.sort_by_key(|p| p.0);
        }
        let run = Run {
            short: dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            hash,
            label: label.get(i).unwrap_or_default().to_string(),
            seed: seed.get(i).unwrap_or_default(),
            state,
            reason,
            notes,
            device: device.get(i).unwrap_or_default().to_string(),
            started: started.get(i),
            finished: finished.get(i),
            results,
            eval,
            train,
            dir,
        };
        out.push((exp.get(i).unwrap_or_default().to_string(), run));
    }
    Ok(out)
}

/// Whether the status names a runner on this host whose process has ended.
fn runner_gone(raw: &serde_json::Value) -> bool {
    use crate::store::status::{hostname, pid_alive};
    let (Some(pid), Some(host)) = (raw["pid"].as_u64(), raw["host"].as_str()) else { return false };
    host == hostname() && !pid_alive(pid as u32)
}

/// The state a reader should see, and why a run is not done: a `running` status whose runner
/// is gone is `interrupted` (the next `ttv-run` resumes it).
fn state_and_reason(
    store: &Store,
    hash: &str,
    status: &str,
    error: Option<&str>,
    raw: &serde_json::Value,
) -> (String, Option<String>) {
    match status {
        "done" => ("done".into(), None),
        "failed" => ("failed".into(), Some(error.unwrap_or("no error recorded").to_string())),
        // The store waits out the heartbeat before taking a claim over; a reader on the runner's
        // own host can already tell a runner whose pid is gone.
        "running" if store.state(hash) == RunState::Running && !runner_gone(raw) => {
            let age = raw["heartbeat"].as_f64().map(|h| crate::store::status::now() - h);
            let pid = raw["pid"].as_u64().unwrap_or_default();
            let host = raw["host"].as_str().unwrap_or("?");
            let beat = age.map(|a| format!(", last heartbeat {a:.0} s ago")).unwrap_or_default();
            ("running".into(), Some(format!("in progress: pid {pid} on {host}{beat}")))
        }
        "running" => (
            "interrupted".into(),
            Some(
                "its runner stopped without finishing; the next `ttv-run` of the spec resumes it from its last checkpoint".into(),
            ),
        ),
        "planned" => ("planned".into(), Some("recorded by the placeholder trainer: nothing was trained".into())),
        "queued" => ("queued".into(), Some("waiting for a runner".into())),
        other => (other.to_string(), error.map(String::from)),
    }
}
