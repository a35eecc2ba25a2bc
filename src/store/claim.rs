//! Claiming a run so that two runners on one store never run the same hash twice.
//!
//! A claim is a file in the run's directory ([`RunDir::claim_path`]), made with an atomic exclusive create. A claim is
//! stale when its holder's pid is dead (same host) and its heartbeat is older than the stale
//! limit, or, for a holder on another host, when only the heartbeat is old. Taking over a stale
//! claim happens under a short-lived `takeover` lock, re-checking that the claim is still the
//! stale one, so two takers cannot both win.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::run_dir::RunDir;
use super::status::{Status, hostname, now, pid_alive};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClaimInfo {
    pub pid: u32,
    pub host: String,
    pub time: f64,
    /// Unique per claim, so a taker can tell the claim it judged stale from a fresh one.
    pub nonce: String,
}

/// A held claim; dropping it does not release it (a crash must leave it for takeover), call
/// [`Claim::release`].
#[derive(Debug)]
pub struct Claim {
    pub path: PathBuf,
    pub info: ClaimInfo,
}

#[derive(Debug)]
pub enum ClaimError {
    /// Another live runner holds the run.
    Held(ClaimInfo),
    Io(std::io::Error),
}

impl std::fmt::Display for ClaimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClaimError::Held(c) => write!(f, "claimed by pid {} on {}", c.pid, c.host),
            ClaimError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<std::io::Error> for ClaimError {
    fn from(e: std::io::Error) -> Self {
        ClaimError::Io(e)
    }
}

impl Claim {
    pub fn release(self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

fn new_info() -> ClaimInfo {
    let t = now();
    ClaimInfo {
        pid: std::process::id(),
        host: hostname(),
        time: t,
        nonce: format!("{}-{}-{:x}", std::process::id(), t, rand_u64()),
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(now().to_bits() as u128);
    h.finish()
}

/// Create `path` exclusively with our claim info; `Ok(None)` if it already exists.
fn try_create(path: &Path) -> std::io::Result<Option<Claim>> {
    let info = new_info();
    match std::fs::OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(mut f) => {
            f.write_all(&serde_json::to_vec(&info).expect("claim serialises"))?;
            f.sync_all()?;
            Ok(Some(Claim { path: path.to_path_buf(), info }))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(None),
        Err(e) => Err(e),
    }
}

fn read_info(path: &Path) -> Option<ClaimInfo> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Who holds the run in `dir`, if anyone does (stale or not).
pub fn holder(dir: &RunDir) -> Option<ClaimInfo> {
    read_info(&dir.claim_path())
}

/// Whether a claim is stale: holder dead (or unknowable) and heartbeat older than `stale_after`.
pub fn is_stale(info: &ClaimInfo, status: Option<&Status>, stale_after: f64) -> bool {
    if info.host == hostname() {
        // This host sees its own processes: a dead holder is gone at once.
        return !pid_alive(info.pid);
    }
    // Another host's pids mean nothing here: its heartbeat must have stopped.
    let beat = status.filter(|s| s.pid == info.pid).map(|s| s.heartbeat).unwrap_or(info.time).max(info.time);
    now() - beat > stale_after
}

/// Claim the run in `dir`, taking over a stale claim.
pub fn claim(dir: &RunDir, stale_after: f64) -> Result<Claim, ClaimError> {
    std::fs::create_dir_all(dir.path())?;
    let path = dir.claim_path();
    for _ in 0..3 {
        if let Some(c) = try_create(&path)? {
            return Ok(c);
        }
        let Some(held) = read_info(&path) else {
            // A claim being written this instant, or one a crash left empty: judge it by age.
            let age = std::fs::metadata(&path).and_then(|m| m.modified()).ok().and_then(|m| m.elapsed().ok());
            if age.is_some_and(|a| a.as_secs_f64() > stale_after.max(1.0)) {
                take_over(dir, &path, None)?;
            } else {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            continue;
        };
        let status = dir.read_status().ok();
        if !is_stale(&held, status.as_ref(), stale_after) {
            return Err(ClaimError::Held(held));
        }
        take_over(dir, &path, Some(&held))?;
    }
    match read_info(&path) {
        Some(h) => Err(ClaimError::Held(h)),
        None => Err(ClaimError::Io(std::io::Error::other("could not claim run"))),
    }
}

/// Remove the stale claim `judged` (if it is still the one there) under the takeover lock.
fn take_over(dir: &RunDir, path: &Path, judged: Option<&ClaimInfo>) -> std::io::Result<()> {
    let lock = dir.takeover_path();
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&lock) {
        Ok(_) => {
            let still_same = read_info(path).as_ref() == judged;
            if still_same {
                let _ = std::fs::remove_file(path);
            }
            std::fs::remove_file(&lock)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            // Another taker is inside; a lock older than 30 s means it died there.
            let old = std::fs::metadata(&lock)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|a| a.as_secs() > 30);
            if old {
                let _ = std::fs::remove_file(&lock);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
            Ok(())
        }
        Err(e) => Err(e),
    }
}
