//! `thresholds.parquet`: a trained run evaluated again at other halting thresholds (the
//! threshold acts only at generation, so no retraining), long format (run, step, threshold,
//! metric, value): `step` is the update of the checkpoint evaluated.

use std::path::Path;

use anyhow::{Context, Result};
use polars::prelude::*;

use super::atomic::write_atomic_with;
use super::metrics::read_frame;

#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdRow {
    pub step: u64,
    pub threshold: f64,
    pub metric: String,
    pub value: f64,
}

/// The rows stored at `path`; none when there is no file.
pub fn read(path: &Path) -> Result<Vec<ThresholdRow>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let df = read_frame(path)?;
    let columns = || -> PolarsResult<_> {
        Ok((
            df.column("step")?.u64()?.clone(),
            df.column("threshold")?.f64()?.clone(),
            df.column("metric")?.str()?.clone(),
            df.column("value")?.f64()?.clone(),
        ))
    };
    let (step, threshold, metric, value) = columns().with_context(|| path.display().to_string())?;
    Ok((0..df.height())
        .map(|i| ThresholdRow {
            step: step.get(i).unwrap_or(0),
            threshold: threshold.get(i).unwrap_or(f64::NAN),
            metric: metric.get(i).unwrap_or("").to_string(),
            value: value.get(i).unwrap_or(f64::NAN),
        })
        .collect())
}

/// Store `new` for run `run`, replacing what was stored for the same (step, threshold) and
/// keeping the rest; one atomic write.
pub fn merge(path: &Path, run: &str, new: &[ThresholdRow]) -> Result<()> {
    let same = |a: &ThresholdRow, b: &ThresholdRow| a.step == b.step && a.threshold == b.threshold;
    let mut rows: Vec<ThresholdRow> = read(path)?.into_iter().filter(|old| !new.iter().any(|n| same(old, n))).collect();
    rows.extend(new.iter().cloned());
    rows.sort_by(|a, b| (a.step, a.threshold).partial_cmp(&(b.step, b.threshold)).expect("finite thresholds"));
    let mut df = df!(
        "run" => rows.iter().map(|_| run).collect::<Vec<_>>(),
        "step" => rows.iter().map(|r| r.step).collect::<Vec<_>>(),
        "threshold" => rows.iter().map(|r| r.threshold).collect::<Vec<_>>(),
        "metric" => rows.iter().map(|r| r.metric.as_str()).collect::<Vec<_>>(),
        "value" => rows.iter().map(|r| r.value).collect::<Vec<_>>(),
    )
    .with_context(|| path.display().to_string())?;
    write_atomic_with(path, |f| ParquetWriter::new(f).finish(&mut df).map(|_| ()).map_err(std::io::Error::other))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_replaces_the_same_checkpoint_and_threshold_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("thresholds.parquet");
        let row = |step, threshold, value| ThresholdRow { step, threshold, metric: "avg_steps".into(), value };
        merge(&p, "abc", &[row(10, 0.3, 1.0), row(10, 0.5, 2.0)]).unwrap();
        merge(&p, "abc", &[row(10, 0.5, 2.5), row(20, 0.5, 3.0)]).unwrap();
        assert_eq!(read(&p).unwrap(), [row(10, 0.3, 1.0), row(10, 0.5, 2.5), row(20, 0.5, 3.0)]);
    }
}
