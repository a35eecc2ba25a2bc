//! `registry/index.parquet`: one row per (experiment, run) pair, rebuilt from the runs'
//! statuses and resolved specs under a lock and replaced atomically, so concurrent runners never
//! interleave a stale scan with a newer one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use polars::prelude::*;

use super::Store;
use super::atomic::write_atomic_with;
use super::status::Status;
use crate::spec::RunSpec;

/// One stored run as the index sees it: its status and, when readable, its resolved spec.
#[derive(Debug, Clone)]
pub struct Entry {
    pub status: Status,
    pub spec: Option<RunSpec>,
}

impl Entry {
    /// The variant the run belongs to ([`crate::spec::variant_id`]); a run whose spec cannot
    /// be read is a variant of its own, never pooled with another.
    pub fn variant(&self) -> String {
        match &self.spec {
            Some(spec) => crate::spec::variant_id(spec),
            None => format!("run:{}", &self.status.hash[..self.status.hash.len().min(12)]),
        }
    }
}

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

/// [`scan`] with each run's resolved spec (`spec.yaml`; an older file lacking a field reads it
/// at its default).
pub fn entries(store: &Store) -> Vec<Entry> {
    scan(store).into_iter().map(|status| Entry { spec: store.run(&status.hash).read_spec().ok(), status }).collect()
}

pub fn frame(entries: &[Entry]) -> PolarsResult<DataFrame> {
    // One row per experiment that lists the run (a run shared by two specs appears twice).
    let rows: Vec<(usize, &str, &str)> = entries
        .iter()
        .enumerate()
        .flat_map(|(i, e)| {
            if e.status.experiments.is_empty() {
                vec![(i, "", "")]
            } else {
                e.status.experiments.iter().map(|(x, l)| (i, x.as_str(), l.as_str())).collect()
            }
        })
        .collect();
    let status = |r: &(usize, &str, &str)| &entries[r.0].status;
    let variants: Vec<String> = entries.iter().map(Entry::variant).collect();
    let mut df = df!(
        "hash" => rows.iter().map(|r| status(r).hash.as_str()).collect::<Vec<_>>(),
        "experiment" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        "label" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        "variant" => rows.iter().map(|r| variants[r.0].as_str()).collect::<Vec<_>>(),
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
    let results: Vec<BTreeMap<String, f64>> = entries.iter().map(|e| e.status.summary.columns().into_iter().collect()).collect();
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
    let mut df = frame(&entries(store)).map_err(std::io::Error::other)?;
    write_atomic_with(index, |f| ParquetWriter::new(f).finish(&mut df).map(|_| ()).map_err(std::io::Error::other))
}

pub fn read(index: &Path) -> PolarsResult<DataFrame> {
    ParquetReader::new(std::fs::File::open(index)?).finish()
}
