//! `registry/index.parquet`: one row per (experiment, run) pair, rebuilt from the runs'
//! statuses and resolved specs under a lock and replaced atomically, so concurrent runners never
//! interleave a stale scan with a newer one. registry/README.md documents every column.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use polars::prelude::*;
use serde_json::Value;

use super::atomic::write_atomic_with;
use super::status::{RunState, Status};
use super::{Damage, Store, path_error};
use crate::spec::RunSpec;
use crate::spec::flatten::{Kind, SEED, flatten, kinds};

/// Prefix of the columns that hold a run's resolved spec, one per dotted path.
pub const CFG: &str = "cfg.";

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

/// [`scan`] with each run's resolved spec (`spec.yaml`; an older file lacking a field reads it
/// at its default).
pub fn entries(store: &Store) -> Vec<Entry> {
    scan(store).into_iter().map(|status| entry(store, status)).collect()
}

/// [`scan_checked`] with each run's resolved spec: a damaged run whose status reads is an entry
/// in state `damaged`; every damage found is returned beside them.
pub fn entries_checked(store: &Store) -> (Vec<Entry>, Vec<Damage>) {
    let (statuses, damaged) = scan_checked(store);
    (statuses.into_iter().map(|status| entry(store, status)).collect(), damaged)
}

fn entry(store: &Store, status: Status) -> Entry {
    Entry { spec: store.run(&status.hash).read_spec().ok(), status }
}

/// Unix seconds as a timestamp column (microseconds, UTC). It carries no time zone: this
/// polars build reads Parquet without one (no `timezones` feature), so UTC is documented instead.
fn timestamps(name: &str, secs: Vec<Option<f64>>) -> PolarsResult<Column> {
    let micros: Vec<Option<i64>> = secs.into_iter().map(|s| s.map(|s| (s * 1e6).round() as i64)).collect();
    Column::new(name.into(), micros).cast(&DataType::Datetime(TimeUnit::Microseconds, None))
}

/// One typed column of spec values (`None`: the run's spec is unreadable, or the field is null).
fn cfg_column(name: String, kind: Kind, values: &[Option<&Value>]) -> Column {
    let name: PlSmallStr = name.into();
    match kind {
        Kind::Int => Column::new(name, values.iter().map(|v| v.and_then(Value::as_i64)).collect::<Vec<_>>()),
        Kind::Float => Column::new(name, values.iter().map(|v| v.and_then(Value::as_f64)).collect::<Vec<_>>()),
        Kind::Bool => Column::new(name, values.iter().map(|v| v.and_then(Value::as_bool)).collect::<Vec<_>>()),
        Kind::Str => Column::new(
            name,
            values.iter().map(|v| v.filter(|v| !v.is_null()).map(crate::spec::flatten::show)).collect::<Vec<_>>(),
        ),
        Kind::List => {
            Column::new(name, values.iter().map(|v| v.filter(|v| !v.is_null()).map(Value::to_string)).collect::<Vec<_>>())
        }
    }
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
        "commit" => rows.iter().map(|r| status(r).git.as_ref().map(|g| g.commit.as_str())).collect::<Vec<_>>(),
        "dirty" => rows.iter().map(|r| status(r).git.as_ref().map(|g| g.dirty)).collect::<Vec<_>>(),
        "notes" => rows.iter().map(|r| status(r).notes.join("; ")).collect::<Vec<_>>(),
        "fid_pending" => rows.iter().map(|r| status(r).summary.fid_pending).collect::<Vec<_>>(),
    )?;
    df.with_column(timestamps("started", rows.iter().map(|r| Some(status(r).started)).collect())?)?;
    df.with_column(timestamps("finished", rows.iter().map(|r| status(r).finished).collect())?)?;
    // The resolved spec, one typed column per field (the seed has its own column above).
    let specs: Vec<Option<serde_json::Map<String, Value>>> = entries.iter().map(|e| e.spec.as_ref().map(flatten)).collect();
    for (path, kind) in kinds().iter().filter(|(p, _)| p != SEED) {
        let values: Vec<Option<&Value>> = rows.iter().map(|r| specs[r.0].as_ref().and_then(|f| f.get(path))).collect();
        df.with_column(cfg_column(format!("{CFG}{path}"), *kind, &values))?;
    }
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
/// file is dropped); the damaged runs found on the way.
pub fn rebuild(store: &Store, index: &Path) -> std::io::Result<Vec<Damage>> {
    let lock_path = index.with_extension("lock");
    let at = path_error::at(&lock_path);
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(at)?;
    lock.lock().map_err(path_error::at(&lock_path))?;
    let (entries, damaged) = entries_checked(store);
    let mut df = frame(&entries).map_err(|e| path_error::io(index, std::io::Error::other(e)))?;
    write_atomic_with(index, |f| ParquetWriter::new(f).finish(&mut df).map(|_| ()).map_err(std::io::Error::other))?;
    Ok(damaged)
}

/// The stored index; an error names the file.
pub fn read(index: &Path) -> anyhow::Result<DataFrame> {
    super::metrics::read_frame(index)
}
