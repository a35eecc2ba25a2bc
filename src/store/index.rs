//! `registry/index.parquet`: one row per (experiment, run) pair, rebuilt from the runs'
//! `status.json` files under a lock and replaced atomically, so concurrent runners never
//! interleave a stale scan with a newer one.

use std::collections::BTreeSet;
use std::path::Path;

use polars::prelude::*;

use super::atomic::write_atomic_with;
use super::status::Status;

/// Every run's status in `runs_dir`, sorted by hash; unreadable entries are skipped.
pub fn scan(runs_dir: &Path) -> Vec<Status> {
    let mut out: Vec<Status> = std::fs::read_dir(runs_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Status::read(&e.path().join("status.json")).ok())
        .collect();
    out.sort_by(|a, b| a.hash.cmp(&b.hash));
    out
}

pub fn frame(statuses: &[Status]) -> PolarsResult<DataFrame> {
    // One row per experiment that lists the run (a run shared by two specs appears twice).
    let rows: Vec<(&Status, &str, &str)> = statuses
        .iter()
        .flat_map(|s| {
            if s.experiments.is_empty() {
                vec![(s, "", "")]
            } else {
                s.experiments.iter().map(|(e, l)| (s, e.as_str(), l.as_str())).collect()
            }
        })
        .collect();
    let mut df = df!(
        "hash" => rows.iter().map(|r| r.0.hash.as_str()).collect::<Vec<_>>(),
        "experiment" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        "label" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        "seed" => rows.iter().map(|r| r.0.seed).collect::<Vec<_>>(),
        "status" => rows.iter().map(|r| r.0.state.as_str()).collect::<Vec<_>>(),
        "error" => rows.iter().map(|r| r.0.error.as_deref()).collect::<Vec<_>>(),
        "device" => rows.iter().map(|r| r.0.device.as_str()).collect::<Vec<_>>(),
        "started" => rows.iter().map(|r| r.0.started).collect::<Vec<_>>(),
        "finished" => rows.iter().map(|r| r.0.finished).collect::<Vec<_>>(),
        "notes" => rows.iter().map(|r| r.0.notes.join("; ")).collect::<Vec<_>>(),
    )?;
    let keys: BTreeSet<&String> = statuses.iter().flat_map(|s| s.results.keys()).collect();
    for k in keys {
        let col: Vec<Option<f64>> = rows.iter().map(|r| r.0.results.get(k).copied()).collect();
        df.with_column(Column::new(k.as_str().into(), col))?;
    }
    Ok(df)
}

/// Rebuild `index` from `runs_dir` under an exclusive lock.
pub fn rebuild(runs_dir: &Path, index: &Path) -> std::io::Result<()> {
    let lock_path = index.with_extension("lock");
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path)?;
    // SAFETY: flock on a file descriptor we own; released when `lock` is dropped.
    if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut df = frame(&scan(runs_dir)).map_err(std::io::Error::other)?;
    write_atomic_with(index, |f| ParquetWriter::new(f).finish(&mut df).map(|_| ()).map_err(std::io::Error::other))
}

pub fn read(index: &Path) -> PolarsResult<DataFrame> {
    ParquetReader::new(std::fs::File::open(index)?).finish()
}
