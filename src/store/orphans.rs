//! Orphan temp files: what a writer killed mid-write (or failing on a full disk) leaves behind.
//! They are recognised by name, as only the store's writers make them:
//!
//! - `.ttv-tmp-<pid>-…`: the atomic writer's temp files ([`super::atomic`]) and the folders a
//!   checkpoint is assembled in;
//! - `.ttv-old-<pid>-<name>`: a checkpoint being replaced by a new `<name>`;
//! - what earlier versions wrote: `.tmpXXXXXX` (six letters or digits), `.tmp-<name>-<pid>`
//!   and `.old-<name>-<pid>`.
//!
//! [`sweep`] removes those not modified for a safe age (an hour: every write finishes in
//! seconds, and a live writer keeps touching its file) and not held: not in a run whose claim
//! a live runner holds, not written by a live process of this host. A replaced checkpoint whose
//! replacement never arrived is put back instead of removed.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::Store;
use super::atomic::{OLD_PREFIX, TEMP_PREFIX};
use super::claim;
use super::status::pid_alive;

/// How long a temp file must have gone unmodified before it counts as an orphan.
pub const SAFE_AGE: Duration = Duration::from_secs(3600);

/// A temp name of the store's writers: the writer's pid when the name gives it, and the name of
/// the checkpoint a `.old` folder held (to be put back when nothing replaced it).
#[derive(Debug, Clone, PartialEq)]
pub struct TempName {
    pub pid: Option<u32>,
    pub replaced: Option<String>,
}

/// Whether `name` is one of the store's temp names ([the module docs](self)), and what it says.
pub fn temp_name(name: &str) -> Option<TempName> {
    let pid_then = |rest: &str| -> Option<(u32, String)> {
        let (pid, tail) = rest.split_once('-')?;
        Some((pid.parse().ok()?, tail.to_string()))
    };
    if let Some(rest) = name.strip_prefix(TEMP_PREFIX) {
        return Some(TempName { pid: pid_then(rest).map(|p| p.0), replaced: None });
    }
    if let Some(rest) = name.strip_prefix(OLD_PREFIX) {
        let (pid, replaced) = pid_then(rest)?;
        return Some(TempName { pid: Some(pid), replaced: Some(replaced) });
    }
    // Earlier versions: tempfile's default `.tmpXXXXXX`, and the checkpoint writer's folders.
    if let Some(rest) = name.strip_prefix(".tmp")
        && rest.len() == 6
        && rest.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Some(TempName { pid: None, replaced: None });
    }
    for (prefix, is_old) in [(".tmp-", false), (".old-", true)] {
        if let Some(rest) = name.strip_prefix(prefix)
            && let Some((inner, pid)) = rest.rsplit_once('-')
            && let Ok(pid) = pid.parse()
        {
            return Some(TempName { pid: Some(pid), replaced: is_old.then(|| inner.to_string()) });
        }
    }
    None
}

/// What a sweep did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Swept {
    /// Orphans removed, and their size in bytes.
    pub removed: Vec<PathBuf>,
    pub bytes: u64,
    /// Replaced checkpoints put back in place of one that never arrived.
    pub restored: Vec<PathBuf>,
}

impl std::fmt::Display for Swept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "removed {} orphan temp file(s) ({:.1} MB)", self.removed.len(), self.bytes as f64 / 1e6)?;
        for p in &self.restored {
            write!(f, "; put back {}", p.display())?;
        }
        Ok(())
    }
}

/// Remove the orphan temp files of `store` that are older than `min_age` and not held.
pub fn sweep(store: &Store, min_age: Duration) -> Swept {
    let mut swept = Swept::default();
    // The registry's own files (the index) and caches; then each run not held by a live runner.
    sweep_dir(&store.root, min_age, false, &mut swept);
    for dir in store.runs() {
        let held = claim::holder(&dir).is_some_and(|c| !claim::is_stale(&c, dir.read_status().ok().as_ref(), store.stale_after));
        if !held {
            sweep_dir(dir.path(), min_age, true, &mut swept);
        }
    }
    swept
}

/// Remove the orphan temp files directly in `dir` (a folder outside the store written the
/// store's way, e.g. an export) that are older than `min_age` and not held.
pub fn sweep_folder(dir: &Path, min_age: Duration) -> Swept {
    let mut swept = Swept::default();
    sweep_dir(dir, min_age, false, &mut swept);
    swept
}

/// Sweep `dir`, and below it when `deep` (the registry root is swept without `runs/`).
fn sweep_dir(dir: &Path, min_age: Duration, deep: bool, swept: &mut Swept) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        let Some(temp) = temp_name(&name) else {
            let descend = is_dir && (deep || name == "cache");
            if descend {
                sweep_dir(&path, min_age, true, swept);
            }
            continue;
        };
        let live_writer = temp.pid.is_some_and(|pid| pid != std::process::id() && pid_alive(pid));
        if live_writer || newest_change(&path).elapsed().unwrap_or_default() < min_age {
            continue;
        }
        if let Some(replaced) = &temp.replaced {
            let target = dir.join(replaced);
            if !target.exists() && std::fs::rename(&path, &target).is_ok() {
                swept.restored.push(target);
                continue;
            }
        }
        let bytes = size(&path);
        let removed = if is_dir { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
        if removed.is_ok() {
            swept.bytes += bytes;
            swept.removed.push(path);
        }
    }
}

/// The newest modification time in `path` (a file, or a folder and everything in it).
fn newest_change(path: &Path) -> SystemTime {
    let own = std::fs::symlink_metadata(path).and_then(|m| m.modified()).unwrap_or(SystemTime::UNIX_EPOCH);
    let inner = std::fs::read_dir(path).into_iter().flatten().flatten().map(|e| newest_change(&e.path()));
    inner.fold(own, SystemTime::max)
}

/// Bytes in `path` (a file, or a folder and everything in it).
fn size(path: &Path) -> u64 {
    let own = std::fs::symlink_metadata(path).map(|m| if m.is_file() { m.len() } else { 0 }).unwrap_or(0);
    own + std::fs::read_dir(path).into_iter().flatten().flatten().map(|e| size(&e.path())).sum::<u64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_writers_temp_names_and_nothing_else() {
        let pid = |n: &str| temp_name(n).map(|t| t.pid);
        assert_eq!(pid(".ttv-tmp-4242-Ab3xYz"), Some(Some(4242)));
        assert_eq!(pid(".ttv-tmp-4242-update-00000006"), Some(Some(4242)));
        assert_eq!(temp_name(".ttv-old-17-best").unwrap().replaced.as_deref(), Some("best"));
        assert_eq!(pid(".tmpA1b2C3"), Some(None));
        assert_eq!(pid(".tmp-update-00000006-991"), Some(Some(991)));
        assert_eq!(temp_name(".old-update-00000006-991").unwrap().replaced.as_deref(), Some("update-00000006"));
        for other in ["status.json", "claim", "takeover", "status.lock", ".tmp", ".tmpfile-long", "metrics.parquet.damaged"] {
            assert_eq!(temp_name(other), None, "{other}");
        }
    }
}
