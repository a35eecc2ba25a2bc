//! `registry/index.parquet`: one row per (experiment, run) pair, rebuilt from the runs'
//! statuses under a lock and replaced atomically, so concurrent runners never
//! interleave a stale scan with a newer one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use polars::prelude::*;

use super::atomic::write_atomic_with;
use super::status::{RunState, Status};
use super::{Damage, Store, path_error};

/// The status of every undamaged run in `store`, sorted by hash, with the state a reader should
/// see ([`Store::inspect`]: `running` only while its runner lives). Damaged runs are left out
/// (reported by [`scan_checked`]), so that commands amending runs never trip over one.
pub fn scan(store: &Store) -> Vec<Status> {
    let (statuses, damaged) = scan_checked(store);
    statuses.into_iter().filter(|s| !damaged.iter().any(|d| s.hash.starts_with(&d.run))).collect()
}

/// [`scan`], and every damaged run found: a damaged run never stops the scan. A run whose
/// status reads but whose metrics do not is listed `damaged`, the damage as its error.
pub fn scan_checked(store: &Store) -> (Vec<Status>, Vec<Damage>) {
    let mut out = Vec::new();
    let mut damaged = Vec::new();
    for dir in store.runs() {
        let seen = store.inspect(&dir.short());
        if let Some(mut status) = seen.status {
            status.state = seen.state;
            if seen.state == RunState::Damaged {
                status.error = seen.damage.as_ref().map(ToString::to_string);
            }
            out.push(status);
        }
        damaged.extend(seen.damage);
    }
    out.sort_by(|a, b| a.hash.cmp(&b.hash));
    (out, damaged)
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
/// file is dropped); the damaged runs found on the way.
pub fn rebuild(store: &Store, index: &Path) -> std::io::Result<Vec<Damage>> {
    let lock_path = index.with_extension("lock");
    let at = path_error::at(&lock_path);
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(at)?;
    lock.lock().map_err(path_error::at(&lock_path))?;
    let (statuses, damaged) = scan_checked(store);
    let mut df = frame(&statuses).map_err(|e| path_error::io(index, std::io::Error::other(e)))?;
    write_atomic_with(index, |f| ParquetWriter::new(f).finish(&mut df).map(|_| ()).map_err(std::io::Error::other))?;
    Ok(damaged)
}

/// The stored index; an error names the file.
pub fn read(index: &Path) -> anyhow::Result<DataFrame> {
    super::metrics::read_frame(index)
}
