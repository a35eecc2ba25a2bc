//! `registry/index.parquet`: one row per (experiment, run) pair, rebuilt from the runs'
//! statuses under a lock and replaced atomically, so concurrent runners never
//! interleave a stale scan with a newer one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use polars::prelude::*;

use super::Store;
use super::atomic::write_atomic_with;
use super::status::Status;

/// Every run's status in `store`, sorted by hash, with the state a reader should see ([`Store::state`]:
/// `running` only while its runner lives); unreadable entries are skipped.
pub fn scan(store: &Store) -> Vec<Status> {
    let mut out: Vec<Status> = store.runs().iter().filter_map(|dir| dir.read_status().ok()).collect();
    for status in &mut out {
        status.state = store.state(&status.hash);
    }
    out.sort_by(|a, b| a.hash.cmp(&b.hash));
    out
}

pub fn frame(statuses: &[Status]) -> PolarsResult<DataFrame> {
    // One row per experiment that lists the run (a run shared by two specs appears twice).
    let rows: Vec<(usize, &str, &str)> = statuses
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            if s.experiments.is_empty() {
                vec![(i, "", "")]
            } else {
                s.experiments.iter().map(|(e, l)| (i, e.as_str(), l.as_str())).collect()
            }
        })
        .collect();
    let status = |r: &(usize, &str, &str)| &statuses[r.0];
    let mut df = df!(
        "hash" => rows.iter().map(|r| status(r).hash.as_str()).collect::<Vec<_>>(),
        "experiment" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        "label" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        "seed" => rows.iter().map(|r| status(r).seed).collect::<Vec<_>>(),
        "status" => rows.iter().map(|r| status(r).state.as_str()).collect::<Vec<_>>(),
        "error" => rows.iter().map(|r| status(r).error.as_deref()).collect::<Vec<_>>(),
        "device" => rows.iter().map(|r| status(r).device.as_str()).collect::<Vec<_>>(),
        "started" => rows.iter().map(|r| status(r).started).collect::<Vec<_>>(),
        "finished" => rows.iter().map(|r| status(r).finished).collect::<Vec<_>>(),
        "notes" => rows.iter().map(|r| status(r).notes.join("; ")).collect::<Vec<_>>(),
        "fid_pending" => rows.iter().map(|r| status(r).summary.fid_pending).collect::<Vec<_>>(),
    )?;
    // The summary's figures and final eval values, one column per name any run has.
    let results: Vec<BTreeMap<String, f64>> = statuses.iter().map(|s| s.summary.columns().into_iter().collect()).collect();
    let keys: BTreeSet<&String> = results.iter().flat_map(|c| c.keys()).collect();
    for k in keys {
        let col: Vec<Option<f64>> = rows.iter().map(|r| results[r.0].get(k).copied()).collect();
        df.with_column(Column::new(k.as_str().into(), col))?;
    }
    Ok(df)
}

/// Rebuild `index` from the runs of `store` under an exclusive lock (released when the lock
/// file is dropped).
pub fn rebuild(store: &Store, index: &Path) -> std::io::Result<()> {
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(index.with_extension("lock"))?;
    lock.lock()?;
    let mut df = frame(&scan(store)).map_err(std::io::Error::other)?;
    write_atomic_with(index, |f| ParquetWriter::new(f).finish(&mut df).map(|_| ()).map_err(std::io::Error::other))
}

pub fn read(index: &Path) -> PolarsResult<DataFrame> {
    ParquetReader::new(std::fs::File::open(index)?).finish()
}
