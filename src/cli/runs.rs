//! `ttv-run runs ls|show|rm|freeze|export`: the store's runs as a table, one run in full,
//! removing runs, ended runs copied into a result set, and a run's weights in PyTorch's layout.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail, ensure};

use crate::store::claim::{self, ClaimError};
use crate::store::{RunDir, RunState, Status, Store};
use crate::train::checkpoint;

/// Which rows `runs ls` keeps: states and experiments (each: all when empty).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub states: Vec<String>,
    pub experiments: Vec<String>,
}

/// One row of `runs ls`: a run as one experiment lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub short: String,
    pub experiment: String,
    pub label: String,
    pub seed: Option<u64>,
    pub state: RunState,
    pub updates: Option<u64>,
    /// Unix seconds of the last heartbeat or the end.
    pub updated: Option<f64>,
}

/// Optimizer updates a run has done: its summary's count, else its newest checkpoint's.
fn updates(dir: &RunDir, status: Option<&Status>) -> Option<u64> {
    status.and_then(|s| s.summary.updates).or_else(|| checkpoint::newest(&dir.ckpt_dir()).map(|(_, s)| s.updates))
}

/// The rows of a stored run: one per experiment that lists it.
fn rows_of(store: &Store, dir: &RunDir, status: Option<&Status>) -> Vec<Row> {
    let short = dir.short();
    let row = |experiment: &str, label: &str| Row {
        short: short.clone(),
        experiment: experiment.to_string(),
        label: label.to_string(),
        seed: status.map(|s| s.seed),
        state: store.state(&short),
        updates: updates(dir, status),
        updated: status.map(|s| s.finished.unwrap_or(s.heartbeat)),
    };
    match status {
        Some(s) if !s.experiments.is_empty() => s.experiments.iter().map(|(e, l)| row(e, l)).collect(),
        _ => vec![row("-", "-")],
    }
}

/// Every run of `store`, one row per experiment that lists it. A run directory without a
/// readable status still gets a row; a damaged status.json is named on stderr.
pub fn store_rows(store: &Store) -> Vec<Row> {
    let mut rows = Vec::new();
    for dir in store.runs().iter().filter(|d| d.path().is_dir()) {
        let status = match dir.read_status() {
            Ok(s) => Some(s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                eprintln!("warning: {}: {e}", dir.status_path().display());
                None
            }
        };
        rows.extend(rows_of(store, dir, status.as_ref()));
    }
    rows.sort_by(|a, b| (&a.experiment, &a.label, a.seed, &a.short).cmp(&(&b.experiment, &b.label, b.seed, &b.short)));
    rows
}

/// The runs `spec` expands to (new ones included), in plan order.
pub fn spec_rows(store: &Store, spec: &Path, set: &[String]) -> Result<Vec<Row>> {
    let exp = crate::spec::plan(spec, set)?;
    Ok(exp
        .runs
        .iter()
        .map(|plan| {
            let dir = store.run(&plan.hash);
            let status = dir.read_status().ok();
            Row {
                short: plan.short().to_string(),
                experiment: exp.name.clone(),
                label: plan.label.clone(),
                seed: Some(plan.seed),
                state: store.state(&plan.hash),
                updates: updates(&dir, status.as_ref()),
                updated: status.map(|s| s.finished.unwrap_or(s.heartbeat)),
            }
        })
        .collect())
}

/// Unix seconds as `2026-11-24 10:31` (UTC).
fn utc(t: f64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(t.max(0.0));
    let text = humantime::format_rfc3339_seconds(time).to_string();
    text.replace('T', " ").chars().take(16).collect()
}

/// The rows as an aligned table with a header.
pub fn table(rows: &[Row]) -> String {
    let header = ["hash", "experiment", "variant", "seed", "state", "updates", "updated (UTC)"];
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
            [
                r.short.clone(),
                r.experiment.clone(),
                r.label.clone(),
                or_dash(r.seed.map(|s| s.to_string())),
                r.state.to_string(),
                or_dash(r.updates.map(|u| u.to_string())),
                or_dash(r.updated.map(utc)),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cols: &[String]| {
        let padded: Vec<String> = cols
            .iter()
            .zip(widths)
            .enumerate()
            // Numbers right-aligned (seed, updates), text left-aligned.
            .map(|(i, (c, w))| if i == 3 || i == 5 { format!("{c:>w$}") } else { format!("{c:<w$}") })
            .collect();
        let _ = writeln!(out, "{}", padded.join("  ").trim_end());
    };
    line(&header.map(String::from));
    for row in &cells {
        line(row);
    }
    out
}

/// `runs ls`: the table of `spec`'s runs, or of the whole store.
pub fn ls(store: &Store, spec: Option<&Path>, set: &[String], filter: &Filter) -> Result<()> {
    let mut rows = match spec {
        Some(spec) => spec_rows(store, spec, set)?,
        None => store_rows(store),
    };
    rows.retain(|r| {
        (filter.states.is_empty() || filter.states.iter().any(|s| s == r.state.as_str()))
            && (filter.experiments.is_empty() || filter.experiments.contains(&r.experiment))
    });
    if rows.is_empty() {
        println!("no runs in {} match", store.root.display());
    } else {
        print!("{}", table(&rows));
    }
    Ok(())
}

/// The prompt GIFs of a run's newest evaluation, each with its prompt.
pub fn newest_samples(dir: &RunDir) -> Vec<(PathBuf, String)> {
    let Some(&epoch) = dir.sample_epochs().last() else { return Vec::new() };
    let folder = dir.samples_at(epoch);
    let prompts = std::fs::read_to_string(folder.join("prompts.txt")).unwrap_or_default();
    prompts
        .lines()
        .enumerate()
        .map(|(i, prompt)| (folder.join(format!("{i:02}.gif")), prompt.to_string()))
        .filter(|(path, _)| path.is_file())
        .collect()
}

/// The summary's counts and sizes, shown as whole numbers; every other figure is a measurement.
const COUNTS: &[&str] =
    &["params", "ckpt_bytes", "updates", "peak_mem_bytes", "peak_infer_mem_bytes", "oom_splits", "data/skipped"];

/// A summary figure: counts grouped by thousands, measurements to 4 decimals.
fn figure(name: &str, v: f64) -> String {
    if COUNTS.contains(&name) && v.is_finite() && v >= 0.0 { super::group(v.round() as usize) } else { format!("{v:.4}") }
}

/// `runs show`: everything a reader needs to know about one run, and where its files are.
pub fn show(store: &Store, prefix: &str) -> Result<String> {
    let dir = store.find(prefix)?;
    let status = dir.read_status().with_context(|| format!("reading {}", dir.status_path().display()))?;
    let mut out = String::new();
    let mut field = |name: &str, value: String| {
        let _ = writeln!(out, "{name:<12}{value}");
    };
    field("run", status.hash.clone());
    field("state", store.state(&status.hash).to_string());
    if let Some(error) = &status.error {
        field("error", error.clone());
    }
    for (experiment, label) in &status.experiments {
        field("experiment", format!("{experiment} ({label})"));
    }
    field("seed", status.seed.to_string());
    field("device", format!("{} on {} (pid {})", status.device, status.host, status.pid));
    let finished = status.finished.map(|t| format!(", finished {}", utc(t))).unwrap_or_default();
    field("started", format!("{}{finished} (UTC)", utc(status.started)));
    if let Some(git) = &status.git {
        field("commit", format!("{}{}", git.commit, if git.dirty { " (uncommitted changes)" } else { "" }));
    }
    let versions: Vec<String> = status.versions.iter().map(|(k, v)| format!("{k} {v}")).collect();
    field("versions", versions.join(", "));
    if let Some(u) = updates(&dir, Some(&status)) {
        field("updates", u.to_string());
    }

    let columns = status.summary.columns();
    if !columns.is_empty() || status.summary.fid_pending {
        let _ = writeln!(out, "\nsummary");
        let width = columns.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (name, value) in &columns {
            let _ = writeln!(out, "  {name:<width$}  {}", figure(name, *value));
        }
        if status.summary.fid_pending {
            let _ = writeln!(out, "  fid pending: `ttv-run fid` computes it where the Inception weights are");
        }
    }
    if !status.notes.is_empty() {
        let _ = writeln!(out, "\nnotes");
        for note in &status.notes {
            let _ = writeln!(out, "  - {note}");
        }
    }

    let _ = writeln!(out, "\nfiles");
    let mut path = |name: &str, p: &Path, what: &str| {
        if p.exists() {
            let _ = writeln!(out, "  {name:<11}{}{what}", p.display());
        }
    };
    path("spec", &dir.spec_path(), "");
    path("status", &dir.status_path(), "");
    path("metrics", &dir.metrics_path(), "");
    let mut ckpts: Vec<(PathBuf, checkpoint::TrainerState)> = std::fs::read_dir(dir.ckpt_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| checkpoint::read_state(&e.path()).map(|s| (e.path(), s)))
        .collect();
    ckpts.sort_by_key(|(p, s)| (s.updates, p.clone()));
    for (p, s) in &ckpts {
        path("checkpoint", p, &format!("  (update {})", s.updates));
    }
    path("data grid", &dir.data_preview(), "");
    for (gif, prompt) in newest_samples(&dir) {
        path("sample", &gif, &format!("  {prompt}"));
    }
    Ok(out)
}

/// `runs export`: a run's checkpoint `which` (`final` or `best`) written to `out` in another
/// framework's layout; `pytorch` (the only format): the reference code's state dict as safetensors
/// (`crate::model::pytorch`). Returns the line to print.
pub fn export(store: &Store, prefix: &str, format: &str, out: &Path, which: &str) -> Result<String> {
    ensure!(format == "pytorch", "--format {format}: the only export format is pytorch");
    let dir = store.find(prefix)?;
    let spec = dir.read_spec()?;
    let ckpt = super::generate::checkpoint_dir(&dir, which)?;
    let device = crate::backend::cpu();
    let config = spec.model_config().map_err(|e| anyhow!("model: {e}"))?;
    let model = checkpoint::load_model(&ckpt, crate::model::build(&config, &device))?;
    let hash = dir.read_status().map(|s| s.hash).unwrap_or_else(|_| dir.short());
    let name = ckpt.file_name().unwrap_or_default().to_string_lossy().into_owned();
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let metadata = [("ttv_run", hash.as_str()), ("ttv_checkpoint", name.as_str()), ("ttv_layout", "TTVHRM (bench/torch_ref.py)")];
    let n = crate::model::pytorch::write_safetensors(&model, out, &metadata)
        .with_context(|| format!("run {}: cannot export to the PyTorch layout", dir.short()))?;
    Ok(format!("{}  {n} tensors, PyTorch layout, run {} checkpoint {name}", out.display(), dir.short()))
}

/// `runs freeze`: the runs `prefixes` name (every ended run of the store, or of `experiments`,
/// when none) copied into the result set at `out`.
pub fn freeze(store: &Store, prefixes: &[String], experiments: &[String], out: &Path, train_every: u64) -> Result<()> {
    let runs = if prefixes.is_empty() {
        let (mut ended, mut open) = (Vec::new(), Vec::new());
        for dir in store.runs() {
            match dir.read_status() {
                Ok(status) if status.listed_by(experiments) => match store.state(&status.hash).ended() {
                    true => ended.push(dir),
                    false => open.push(dir.short()),
                },
                _ => {}
            }
        }
        if !open.is_empty() {
            eprintln!("left out, not ended: {}", open.join(", "));
        }
        ended
    } else {
        prefixes.iter().map(|p| store.find(p)).collect::<Result<Vec<RunDir>>>()?
    };
    if runs.is_empty() {
        bail!("no ended run to freeze in {}", store.root.display());
    }
    let dest = Store::open(out).with_context(|| out.display().to_string())?;
    crate::store::freeze::freeze(store, &runs, &dest, train_every)?;
    println!("{} runs frozen into {} (training metrics every {train_every} updates)", runs.len(), out.display());
    Ok(())
}

/// `runs rm`: remove each run that `prefixes` name, without asking. Every prefix must name
/// exactly one run before anything is removed. A run held by a live runner is refused (the
/// others are still removed); the rest are claimed (no runner can start them meanwhile), renamed
/// out of `runs/` in one step, then deleted, and the index is rebuilt.
pub fn rm(store: &Store, prefixes: &[String]) -> Result<()> {
    let mut dirs = prefixes.iter().map(|p| store.find(p)).collect::<Result<Vec<RunDir>>>()?;
    // Two prefixes of one run remove it once.
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| seen.insert(d.path().to_path_buf()));
    let trash = store.root.join(".removing");
    // What an earlier removal left half deleted is not a run any more: finish it.
    if let Ok(entries) = std::fs::read_dir(&trash) {
        for entry in entries.flatten() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let mut refused = Vec::new();
    let mut removed = 0;
    for dir in dirs {
        match remove(&dir, &trash, store.stale_after) {
            Ok(()) => {
                println!("removed {}", dir.path().display());
                removed += 1;
            }
            Err(e) => {
                eprintln!("error: {}: {e:#}", dir.short());
                refused.push(dir.short());
            }
        }
    }
    if removed > 0 {
        store.rebuild_index().context("rebuilding the index")?;
    }
    if !refused.is_empty() {
        bail!("not removed: {}", refused.join(", "));
    }
    Ok(())
}

fn remove(dir: &RunDir, trash: &Path, stale_after: f64) -> Result<()> {
    // Held from here on: a runner that looks now sees a live holder and leaves the run alone.
    let _claim = claim::claim(dir, stale_after).map_err(|e| match e {
        ClaimError::Held(c) => anyhow!("held by a live runner (pid {} on {}); stop it first", c.pid, c.host),
        ClaimError::Io(e) => anyhow!("cannot claim {}: {e}", dir.path().display()),
    })?;
    std::fs::create_dir_all(trash).with_context(|| format!("creating {}", trash.display()))?;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let parked = trash.join(format!("{}-{}-{nanos}", dir.short(), std::process::id()));
    std::fs::rename(dir.path(), &parked).with_context(|| format!("moving {} out of the store", dir.path().display()))?;
    // The claim went with the folder: nothing to release.
    std::fs::remove_dir_all(&parked).with_context(|| format!("deleting {} (left there)", parked.display()))
}
