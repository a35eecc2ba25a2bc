//! `ttv-report export --format tensorboard|mlflow`: the store's runs in the trackers researchers
//! already have open. Each exporter writes, per (experiment, run), every metric over update
//! steps, the sample GIFs, the resolved spec and the run's identity and state; this module
//! selects the runs and gathers that once, [`tensorboard`] and [`mlflow`] write it.
//!
//! Exports are idempotent: a run's files have fixed names (derived from its hash), so exporting
//! again replaces them. Every file is written atomically, every MLflow run assembled in a temp
//! folder and renamed into place.

pub mod mlflow;
pub mod proto;
pub mod tensorboard;
pub mod tfrecord;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde_json::Value;

use super::load::{self, Run};
use crate::spec::flatten::SEED;
use crate::store::Store;
use crate::store::metrics::MetricRow;
use crate::store::status::GitInfo;

/// The experiment name of runs that no experiment lists.
pub const NO_EXPERIMENT: &str = "no-experiment";

/// The tracker an export writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Tracker {
    /// One event file per run under `<out>/<experiment>/<variant>/seed<k>-<hash12>/`
    /// (`tensorboard --logdir <out>`).
    Tensorboard,
    /// An MLflow file store (`mlruns/` layout): one MLflow experiment per experiment, one
    /// MLflow run per run.
    Mlflow,
}

#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub registry: PathBuf,
    pub out: PathBuf,
    /// Experiments to export; all when empty.
    pub experiments: Vec<String>,
    /// Runs to export (hash prefixes, as `ttv-run runs` takes them); all when empty.
    pub runs: Vec<String>,
    pub tracker: Tracker,
    /// Where the experiments' spec files are (their `description:` describes the experiment).
    pub specs: Option<PathBuf>,
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exported {
    /// One folder per exported (experiment, run).
    pub runs: Vec<PathBuf>,
    pub experiments: usize,
    /// Damaged runs of the store, one line each (exported with what can be read of them).
    pub damaged: Vec<String>,
    /// What could not be exported, one line each (an unreadable sample GIF, say).
    pub warnings: Vec<String>,
}

/// One sample GIF of a run: a prompt's clip at an evaluation, or the grid of training clips.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The evaluation (epoch) that generated it; none for the data preview.
    pub epoch: Option<u32>,
    /// The optimizer updates done when it was generated.
    pub step: u64,
    /// Its prompt (the captions' file name for the data preview).
    pub prompt: String,
    pub path: PathBuf,
}

/// What both trackers write of one run of one experiment.
#[derive(Debug, Clone)]
pub struct Tracked<'a> {
    pub experiment: &'a str,
    pub run: &'a Run,
    /// Every row of metrics.parquet, in step order (rows of one step in the order logged).
    pub rows: Vec<MetricRow>,
    /// The resolved spec as (dotted path, value), the seed included; empty when `spec.yaml`
    /// cannot be read.
    pub config: Vec<(String, Value)>,
    /// The summary's figures that are not eval metrics (`params`, `train_s`, ...).
    pub figures: Vec<(String, f64)>,
    pub samples: Vec<Sample>,
    pub git: Option<GitInfo>,
}

impl Tracked<'_> {
    /// Unix seconds at which the run had trained `wall_s` seconds (its start when unknown).
    pub fn time_at(&self, wall_s: f64) -> f64 {
        self.run.started.unwrap_or(0.0) + if wall_s.is_finite() { wall_s.max(0.0) } else { 0.0 }
    }

    /// The last step any metric was logged at.
    pub fn last_step(&self) -> u64 {
        self.rows.iter().map(|r| r.step).max().unwrap_or(0)
    }

    /// `<variant label>/seed<k>-<hash12>`: how the run is named in the tracker's run list.
    pub fn name(&self) -> String {
        format!("{}/seed{}-{}", self.label(), self.run.seed, self.run.short)
    }

    /// The variant's label, `base` when it has none.
    pub fn label(&self) -> &str {
        if self.run.label.is_empty() { crate::spec::flatten::BASE } else { &self.run.label }
    }

    /// What a reader should know about the run: why it is not done, and the trainer's notes.
    pub fn notes(&self) -> Vec<String> {
        self.run.reason.iter().cloned().chain(self.run.notes.iter().cloned()).collect()
    }
}

/// Export the selected runs of `opts.registry` to `opts.out` in the tracker's layout.
pub fn export(opts: &ExportOptions) -> Result<Exported> {
    let (experiments, damaged) = match load::experiments(&opts.registry, &opts.experiments)? {
        Some(e) => e,
        None => bail!("the registry {} holds no runs", opts.registry.display()),
    };
    let chosen = chosen_runs(&opts.registry, &opts.runs)?;
    let selected: BTreeMap<&String, Vec<&Run>> = experiments
        .iter()
        .map(|(name, runs)| (name, runs.iter().filter(|r| chosen.as_ref().is_none_or(|c| c.contains(&r.short))).collect()))
        .filter(|(_, runs): &(_, Vec<&Run>)| !runs.is_empty())
        .collect();
    if selected.is_empty() {
        bail!("no runs to export in {}: none of the runs given belongs to the experiments given", opts.registry.display());
    }
    let descriptions = opts.specs.as_deref().map(load::descriptions).unwrap_or_default();
    std::fs::create_dir_all(&opts.out).map_err(crate::store::path_error::at(&opts.out))?;
    let mut out = Exported {
        experiments: selected.len(),
        damaged: damaged.iter().map(ToString::to_string).collect(),
        ..Default::default()
    };
    let mut mlflow_store = match opts.tracker {
        Tracker::Mlflow => Some(mlflow::FileStore::open(&opts.out)?),
        Tracker::Tensorboard => None,
    };
    for (experiment, runs) in selected {
        // Runs that no spec lists (older stores) are exported under a name of their own.
        let experiment = if experiment.is_empty() { NO_EXPERIMENT } else { experiment.as_str() };
        let description = descriptions.get(experiment).map(String::as_str);
        let mlflow_experiment = match &mut mlflow_store {
            Some(store) => Some(store.experiment(experiment, description)?),
            None => None,
        };
        for run in runs {
            let tracked = gather(experiment, run, &mut out.warnings);
            let folder = match &mlflow_experiment {
                Some(e) => mlflow::write_run(e, &tracked, &mut out.warnings)?,
                None => tensorboard::write_run(&opts.out, &tracked, description, &mut out.warnings)?,
            };
            out.runs.push(folder);
        }
    }
    Ok(out)
}

/// The run directories (12-digit names) that `prefixes` name; none when no prefix is given.
fn chosen_runs(registry: &Path, prefixes: &[String]) -> Result<Option<BTreeSet<String>>> {
    if prefixes.is_empty() {
        return Ok(None);
    }
    let store = Store::at(registry);
    Ok(Some(prefixes.iter().map(|p| store.find(p).map(|d| d.short())).collect::<Result<_>>()?))
}

/// Everything the trackers write of `run`, read from its directory; what cannot be read is
/// left out with a warning.
fn gather<'a>(experiment: &'a str, run: &'a Run, warnings: &mut Vec<String>) -> Tracked<'a> {
    let dir = run.run_dir();
    let mut rows = match dir.metrics(&run.hash) {
        Ok(log) => log.rows,
        Err(e) => {
            warnings.push(format!("run {}: its metrics are left out: {e:#}", run.short));
            Vec::new()
        }
    };
    rows.sort_by_key(|r| r.step);
    let mut config: Vec<(String, Value)> = run.fields.iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect();
    if run.fields.is_some() {
        config.push((SEED.to_string(), Value::from(run.seed)));
    }
    let eval_metrics: BTreeSet<&str> = rows.iter().filter(|r| r.split == "eval").map(|r| r.metric.as_str()).collect();
    let figures = run.results.iter().filter(|(k, _)| !eval_metrics.contains(k.as_str())).map(|(k, v)| (k.clone(), *v)).collect();
    let samples = samples(run, &rows);
    let git = dir.read_status().ok().and_then(|s| s.git);
    Tracked { experiment, run, rows, config, figures, samples, git }
}

/// The run's sample GIFs: the data preview (step 0), then each evaluation's prompts in order.
fn samples(run: &Run, rows: &[MetricRow]) -> Vec<Sample> {
    let mut out = Vec::new();
    let preview = run.data_preview();
    if preview.is_file() {
        out.push(Sample { epoch: None, step: 0, prompt: "data preview".into(), path: preview });
    }
    for epoch in run.sample_epochs() {
        // The step of that evaluation: its eval rows', else any row's of that epoch.
        let of_epoch =
            |eval: bool| rows.iter().filter(|r| r.epoch == epoch && (!eval || r.split == "eval")).map(|r| r.step).max();
        let step = of_epoch(true).or_else(|| of_epoch(false)).unwrap_or(0);
        for (prompt, path) in run.samples(epoch) {
            out.push(Sample { epoch: Some(epoch), step, prompt, path });
        }
    }
    out
}

/// `name` as one folder name: no separators or control characters, never `.`/`..` or empty
/// (`fallback` then), at most 120 bytes.
pub fn folder_name(name: &str, fallback: &str) -> String {
    let mut s: String = name.chars().map(|c| if c == '/' || c == '\\' || c.is_control() { '_' } else { c }).collect();
    if let Some((cut, _)) = s.char_indices().find(|(i, c)| i + c.len_utf8() > 120) {
        s.truncate(cut);
    }
    match s.trim() {
        "" => fallback.to_string(),
        "." | ".." => s.replace('.', "_"),
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_stay_one_folder() {
        assert_eq!(folder_name("threshold=0.4, lr=0.002", "base"), "threshold=0.4, lr=0.002");
        assert_eq!(folder_name("source=data/clips.csv", "base"), "source=data_clips.csv");
        assert_eq!(folder_name("", "base"), "base");
        assert_eq!(folder_name("..", "base"), "__");
        assert_eq!(folder_name("a\nb", "base"), "a_b");
        let long = "é".repeat(100);
        let cut = folder_name(&long, "base");
        assert_eq!(cut.len(), 120, "cut at a character boundary");
    }
}
