//! Reading the run store for a report: the index's entries (each run's status and resolved spec,
//! read in memory) list every (experiment, run) with its key results; each run's metrics,
//! status notes and sample GIFs ([`RunDir`]) fill in the curves, the per-epoch tables and the GIFs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::spec::flatten::{Fields, variant_fields};
use crate::store::index;
use crate::store::status::{Status, hostname, now, pid_alive};
use crate::store::thresholds;
use crate::store::{Damage, Inspection, RunDir, RunState, Store};

/// A value re-evaluated at a halting threshold: (threshold, metric, value).
pub type AtThreshold = (f64, String, f64);

/// One run as the report sees it.
#[derive(Debug, Clone)]
pub struct Run {
    pub hash: String,
    /// The run directory's name (the hash's first 12 hex digits).
    pub short: String,
    /// The label its experiment gives it, e.g. `threshold=0.4`.
    pub label: String,
    /// Its variant ([`index::Entry::variant`]): runs are pooled by this, never by label.
    pub variant: String,
    /// Its resolved spec but the seed, flattened; none when `spec.yaml` is unreadable.
    pub fields: Option<Fields>,
    pub seed: u64,
    /// The lifecycle state's name ([`RunState::as_str`]).
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
    /// FID was asked for but is not computed yet.
    pub fid_pending: bool,
    /// `eval` split: (metric, epoch) -> value (the last one logged for that epoch).
    pub eval: BTreeMap<(String, u32), f64>,
    /// `train` split: metric -> (step, value) in step order.
    pub train: BTreeMap<String, Vec<(u64, f64)>>,
    /// The update each eval epoch was measured at (the last eval logged for it).
    pub eval_steps: BTreeMap<u32, u64>,
    /// `thresholds.parquet` at the latest checkpoint it holds: the update evaluated and its
    /// (threshold, metric, value) rows; none when the run was not re-evaluated.
    pub thresholds: Option<(u64, Vec<AtThreshold>)>,
    pub dir: PathBuf,
}

impl Run {
    /// Whether the run ended with its final evaluation and summary: `done`, or `stopped` by its
    /// time budget (its notes say where).
    pub fn done(&self) -> bool {
        self.state == RunState::Done.as_str() || self.state == RunState::Stopped.as_str()
    }

    /// The run's directory in the store.
    pub fn run_dir(&self) -> RunDir {
        RunDir::new(&self.dir)
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

    /// The halting thresholds the run was re-evaluated at, ascending.
    pub fn thresholds(&self) -> Vec<f64> {
        let mut t: Vec<f64> = self.thresholds.iter().flat_map(|(_, rows)| rows.iter().map(|r| r.0)).collect();
        t.sort_by(f64::total_cmp);
        t.dedup();
        t
    }

    /// `metric` re-evaluated at halting threshold `threshold`.
    pub fn at_threshold(&self, metric: &str, threshold: f64) -> Option<f64> {
        let (_, rows) = self.thresholds.as_ref()?;
        rows.iter().find(|r| (r.0 - threshold).abs() < 1e-9 && r.1 == metric).map(|r| r.2)
    }

    /// The updates of the run's whole schedule: a finished run's count, else the epochs its spec
    /// asks for times the updates of its first evaluated epoch; none when neither is known.
    pub fn total_updates(&self) -> Option<u64> {
        if self.state == RunState::Done.as_str()
            && let Some(u) = self.result("updates")
        {
            return Some(u as u64);
        }
        let epochs = self.fields.as_ref()?.get("training.epochs")?.as_u64()?;
        let (&epoch, &step) = self.eval_steps.iter().find(|(e, _)| **e > 0)?;
        Some(step.div_ceil(epoch as u64) * epochs)
    }

    /// The evaluated epoch whose fraction of the schedule done (update / total updates) is
    /// nearest `fraction`: (epoch, update, total updates); none without evaluations or a known
    /// schedule. The earlier epoch on a tie.
    pub fn epoch_near(&self, fraction: f64) -> Option<(u32, u64, u64)> {
        let total = self.total_updates().filter(|t| *t > 0)?;
        let distance = |step: u64| (step as f64 / total as f64 - fraction).abs();
        let (&epoch, &step) = self
            .eval_steps
            .iter()
            .filter(|(e, _)| self.eval.keys().any(|(_, k)| k == *e))
            .min_by(|a, b| distance(*a.1).total_cmp(&distance(*b.1)))?;
        Some((epoch, step, total))
    }

    /// Why `key` has no value yet, when the trainer said it is pending.
    pub fn pending(&self, key: &str) -> Option<String> {
        if self.result(key).is_some() {
            return None;
        }
        // FID and KID share the Inception features: the flag, or a note about FID, covers both.
        // The flag covers FVD too, so FVD is pending where its note says so, and a pending FVD
        // alone leaves FID and KID unflagged.
        let fvd_note = |n: &str| n.starts_with(crate::train::fvd::PENDING_NOTE);
        let fvd_alone =
            self.notes.iter().any(|n| fvd_note(n)) && !self.notes.iter().any(|n| n.starts_with(crate::train::fid::PENDING_NOTE));
        let about_fid = |n: &str| n.to_lowercase().contains("fid") && !fvd_note(n);
        let (flagged, about): (bool, &dyn Fn(&str) -> bool) = match key {
            "fid" | "kid" => (!fvd_alone && (self.fid_pending || self.notes.iter().any(|n| about_fid(n))), &about_fid),
            "fvd" => (self.notes.iter().any(|n| fvd_note(n)), &fvd_note),
            _ => (false, &about_fid),
        };
        if !flagged {
            return None;
        }
        let about: Vec<&str> = self.notes.iter().map(String::as_str).filter(|n| about(n)).collect();
        let text = if !about.is_empty() {
            about.join("; ")
        } else if !self.notes.is_empty() {
            self.notes.join("; ")
        } else {
            "the trainer gave no reason".to_string()
        };
        Some(text)
    }

    /// Epochs that have sample GIFs, ascending.
    pub fn sample_epochs(&self) -> Vec<u32> {
        self.run_dir().sample_epochs()
    }

    /// The eval prompts and their GIFs at `epoch` (line i of prompts.txt is GIF i).
    pub fn samples(&self, epoch: u32) -> Vec<(String, PathBuf)> {
        let dir = self.run_dir().samples_at(epoch);
        let prompts = std::fs::read_to_string(dir.join("prompts.txt")).unwrap_or_default();
        prompts.lines().enumerate().map(|(i, p)| (p.to_string(), dir.join(format!("{i:02}.gif")))).collect()
    }

    pub fn spec_yaml(&self) -> Option<String> {
        self.run_dir().spec_text()
    }

    /// The grid of the run's first training clips (GIF), if it wrote one.
    pub fn data_preview(&self) -> PathBuf {
        self.run_dir().data_preview()
    }
}

/// Each experiment's runs, by experiment name.
pub type Experiments = BTreeMap<String, Vec<Run>>;

/// Every experiment's runs (all experiments, or those in `wanted`), and every damaged run of
/// the store (one whose status reads is listed `damaged`, its damage as the reason; one whose
/// status does not is only in the list); none when the registry holds no run directory at all.
/// The runs are indexed in memory from every run on disk (what `index.parquet` holds): a report
/// never writes to the store it reads (a result set, a read-only store).
pub fn experiments(registry: &Path, wanted: &[String]) -> Result<Option<(Experiments, Vec<Damage>)>> {
    let store = Store::at(registry);
    if !store.runs_dir().exists() {
        return Ok(None);
    }
    let (entries, damaged) = index::entries_checked(&store);
    let mut out: BTreeMap<String, Vec<Run>> = BTreeMap::new();
    for entry in entries {
        let listed: Vec<(String, String)> = if entry.status.experiments.is_empty() {
            vec![(String::new(), String::new())]
        } else {
            entry.status.experiments.iter().map(|(e, l)| (e.clone(), l.clone())).collect()
        };
        let run = run(&store, &entry);
        for (exp, label) in listed {
            if wanted.is_empty() || wanted.contains(&exp) {
                out.entry(exp).or_default().push(Run { label, ..run.clone() });
            }
        }
    }
    for w in wanted {
        anyhow::ensure!(out.contains_key(w), "no runs of experiment `{w}` in the registry {}", registry.display());
    }
    Ok(Some((out, damaged)))
}

/// The `description:` of every spec in `dir` (`*.yaml`, with its `extends:` chain), by
/// experiment name. A spec that does not load is left out: the report does not validate specs.
pub fn descriptions(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return BTreeMap::new() };
    let mut paths: Vec<PathBuf> =
        entries.filter_map(|e| Some(e.ok()?.path())).filter(|p| p.extension().is_some_and(|x| x == "yaml")).collect();
    paths.sort();
    let mut out = BTreeMap::new();
    for p in paths {
        if let Ok(spec) = crate::spec::load(&p, &[])
            && let Some(d) = spec.spec.description
        {
            out.entry(spec.name).or_insert(d);
        }
    }
    out
}

/// One run with its metrics, under no experiment's label yet.
fn run(store: &Store, entry: &index::Entry) -> Run {
    let status = &entry.status;
    let hash = status.hash.clone();
    let dir = store.run(&hash);
    let results = status.summary.columns().into_iter().filter(|(_, v)| v.is_finite()).collect();
    let seen = store.inspect(&hash);
    let (state, reason) = state_and_reason(&seen);
    // Unreadable metrics are in the damage the state reports; the run shows without curves.
    let rows = dir.metrics(&hash).map(|log| log.rows).unwrap_or_default();
    let mut eval = BTreeMap::new();
    let mut eval_steps: BTreeMap<u32, u64> = BTreeMap::new();
    let mut last_step: BTreeMap<(String, u32), u64> = BTreeMap::new();
    let mut train: BTreeMap<String, Vec<(u64, f64)>> = BTreeMap::new();
    for r in rows {
        match r.split.as_str() {
            "eval" => {
                let key = (r.metric.clone(), r.epoch);
                let at = eval_steps.entry(r.epoch).or_insert(r.step);
                *at = (*at).max(r.step);
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
    Run {
        short: dir.short(),
        hash,
        label: String::new(),
        variant: entry.variant(),
        fields: entry.spec.as_ref().map(variant_fields),
        seed: status.seed,
        state: state.as_str().to_string(),
        reason,
        notes: status.notes.clone(),
        device: status.device.clone(),
        started: Some(status.started),
        finished: status.finished,
        results,
        fid_pending: status.summary.fid_pending,
        eval,
        train,
        eval_steps,
        thresholds: latest_thresholds(&dir),
        dir: dir.path().to_path_buf(),
    }
}

/// The run's re-evaluation at other thresholds, at the latest checkpoint evaluated. An
/// unreadable file leaves the run without it (the report shows the rest), said on stderr.
fn latest_thresholds(dir: &RunDir) -> Option<(u64, Vec<AtThreshold>)> {
    let path = dir.thresholds_path();
    let rows = match thresholds::read(&path) {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!("ttv-report: {} left out: {e:#}", path.display());
            return None;
        }
    };
    let step = rows.iter().map(|r| r.step).max()?;
    let at: Vec<AtThreshold> =
        rows.into_iter().filter(|r| r.step == step && r.value.is_finite()).map(|r| (r.threshold, r.metric, r.value)).collect();
    (!at.is_empty()).then_some((step, at))
}

/// Whether the status names a runner on this host whose process has ended.
fn runner_gone(status: &Status) -> bool {
    status.host == hostname() && !pid_alive(status.pid)
}

/// The state a reader should see, and why a run is not done. The store waits out the heartbeat
/// before taking a claim over; a reader on the runner's own host can already tell a runner whose
/// pid is gone, and shows its run `interrupted` (the next `ttv-run` resumes it).
fn state_and_reason(seen: &Inspection) -> (RunState, Option<String>) {
    let status = seen.status.as_ref();
    let state = match seen.state {
        RunState::Running if status.is_some_and(runner_gone) => RunState::Interrupted,
        state => state,
    };
    let reason = match state {
        RunState::Done => None,
        RunState::Failed => Some(status.and_then(|s| s.error.clone()).unwrap_or_else(|| "no error recorded".into())),
        RunState::Running => status.map(|s| {
            let age = now() - seen.heartbeat.unwrap_or(s.heartbeat);
            format!("in progress: pid {} on {}, last heartbeat {age:.0} s ago", s.pid, s.host)
        }),
        RunState::Interrupted => Some(
            "its runner stopped without finishing; the next `ttv-run` of the spec resumes it from its last checkpoint".into(),
        ),
        RunState::Stopped => Some("stopped by its time budget before the end of its schedule (`training.time_budget`)".into()),
        RunState::New => Some("not trained yet".into()),
        RunState::Damaged => Some(format!(
            "{}; `ttv-run --retry-failed` reruns it",
            seen.damage.as_ref().map_or_else(|| "damaged".to_string(), ToString::to_string)
        )),
    };
    (state, reason)
}
