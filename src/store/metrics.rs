//! `metrics.parquet`: one row per measured value, long format
//! (run, epoch, step, split, metric, value, wall_s), so any metric can be added without a
//! schema change and polars can pivot it for the report.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use polars::prelude::*;

use super::atomic::write_atomic_with;

#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    pub epoch: u32,
    pub step: u64,
    /// `train`, `eval`, `heldout`, ...
    pub split: String,
    pub metric: String,
    pub value: f64,
    /// Seconds of training wall time when the value was measured.
    pub wall_s: f64,
}

/// The metrics of one run, kept in memory and rewritten atomically on `save`.
#[derive(Debug)]
pub struct MetricsLog {
    path: PathBuf,
    run: String,
    pub rows: Vec<MetricRow>,
}

impl MetricsLog {
    /// Open the log of run `run` at `path`, reading what an earlier attempt saved; an error
    /// names the file.
    pub fn open(path: &Path, run: &str) -> Result<Self> {
        let rows = if path.exists() { read_rows(path).with_context(|| path.display().to_string())? } else { Vec::new() };
        Ok(Self { path: path.to_path_buf(), run: run.to_string(), rows })
    }

    /// An empty log to be saved at `path` (a restart from scratch).
    pub fn empty(path: &Path, run: &str) -> Self {
        Self { path: path.to_path_buf(), run: run.to_string(), rows: Vec::new() }
    }

    pub fn push(&mut self, epoch: u32, step: u64, split: &str, metric: &str, value: f64, wall_s: f64) {
        self.rows.push(MetricRow { epoch, step, split: split.into(), metric: metric.into(), value, wall_s });
    }

    /// Forget rows after `step` (a resume continues from a checkpoint taken at that step).
    pub fn truncate_after(&mut self, step: u64) {
        self.rows.retain(|r| r.step <= step);
    }

    /// Every metric of the last evaluated epoch: the run's final eval values.
    pub fn last_eval(&self) -> Vec<(String, f64)> {
        let last = self.rows.iter().filter(|r| r.split == "eval").map(|r| r.epoch).max();
        self.rows.iter().filter(|r| r.split == "eval" && Some(r.epoch) == last).map(|r| (r.metric.clone(), r.value)).collect()
    }

    pub fn save(&self) -> Result<()> {
        let mut df = to_frame(&self.run, &self.rows).with_context(|| self.path.display().to_string())?;
        write_atomic_with(&self.path, |f| ParquetWriter::new(f).finish(&mut df).map(|_| ()).map_err(std::io::Error::other))?;
        Ok(())
    }
}

pub fn to_frame(run: &str, rows: &[MetricRow]) -> PolarsResult<DataFrame> {
    df!(
        "run" => rows.iter().map(|_| run).collect::<Vec<_>>(),
        "epoch" => rows.iter().map(|r| r.epoch).collect::<Vec<_>>(),
        "step" => rows.iter().map(|r| r.step).collect::<Vec<_>>(),
        "split" => rows.iter().map(|r| r.split.as_str()).collect::<Vec<_>>(),
        "metric" => rows.iter().map(|r| r.metric.as_str()).collect::<Vec<_>>(),
        "value" => rows.iter().map(|r| r.value).collect::<Vec<_>>(),
        "wall_s" => rows.iter().map(|r| r.wall_s).collect::<Vec<_>>(),
    )
}

/// The frame of a Parquet file; an error names the file.
pub fn read_frame(path: &Path) -> Result<DataFrame> {
    let file = std::fs::File::open(path).with_context(|| path.display().to_string())?;
    ParquetReader::new(file).finish().with_context(|| path.display().to_string())
}

fn read_rows(path: &Path) -> Result<Vec<MetricRow>> {
    let df = read_frame(path)?;
    let epoch = df.column("epoch")?.u32()?.clone();
    let step = df.column("step")?.u64()?.clone();
    let split = df.column("split")?.str()?.clone();
    let metric = df.column("metric")?.str()?.clone();
    let value = df.column("value")?.f64()?.clone();
    let wall = df.column("wall_s")?.f64()?.clone();
    Ok((0..df.height())
        .map(|i| MetricRow {
            epoch: epoch.get(i).unwrap_or(0),
            step: step.get(i).unwrap_or(0),
            split: split.get(i).unwrap_or("").to_string(),
            metric: metric.get(i).unwrap_or("").to_string(),
            value: value.get(i).unwrap_or(f64::NAN),
            wall_s: wall.get(i).unwrap_or(0.0),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_parquet_and_truncates_on_resume() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.parquet");
        let mut log = MetricsLog::open(&p, "abc").unwrap();
        log.push(1, 10, "train", "loss", 0.5, 1.0);
        log.push(1, 20, "eval", "fid", 120.5, 2.0);
        log.save().unwrap();
        let mut again = MetricsLog::open(&p, "abc").unwrap();
        assert_eq!(again.rows, log.rows);
        again.truncate_after(10);
        assert_eq!(again.rows.len(), 1);
        let df = read_frame(&p).unwrap();
        assert_eq!(df.column("run").unwrap().str().unwrap().get(0), Some("abc"));
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("metrics.parquet");
        std::fs::write(&p, b"PAR1 not parquet").unwrap();
        let err = format!("{:#}", MetricsLog::open(&p, "abc").unwrap_err());
        assert!(err.starts_with(&format!("{}: ", p.display())), "{err}");
    }
}
