//! Claiming a run so that two runners on one store never run the same hash twice.
//!
//! A claim is a file in the run's directory ([`RunDir::claim_path`]), made with an atomic
//! exclusive create. Its holder's heartbeat ([`super::heartbeat`]) touches it while the run is
//! held. A claim is stale when its holder is gone: on this host as soon as its pid is dead; from
//! another host once its heartbeat (the claim's modification time, or the status's heartbeat)
//! is older than the stale limit. A claim that cannot be read (empty or garbage, as a full disk
//! leaves one) is judged by what can be read of it: the pid and host where readable, else as
//! stale once it is older than a claim being written can be. Taking over a stale claim happens
//! under a short-lived `takeover` lock, re-checking that the claim is still the one judged, so
//! two takers cannot both win.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use super::heartbeat::Heartbeat;
use super::path_error;
use super::run_dir::RunDir;
use super::status::{Status, hostname, now, pid_alive};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClaimInfo {
    pub pid: u32,
    pub host: String,
    /// When the claim was made; as read ([`holder`]), when its holder's heartbeat last touched it.
    pub time: f64,
    /// Unique per claim, so a taker can tell the claim it judged stale from a fresh one.
    pub nonce: String,
}

/// A held claim; dropping it does not release it (a crash must leave it for takeover), call
/// [`Claim::release`]. Dropping it stops its heartbeat.
#[derive(Debug)]
pub struct Claim {
    pub path: PathBuf,
    pub info: ClaimInfo,
    /// The stale claim this one replaced, and why it was judged stale.
    pub took_over: Option<String>,
    heartbeat: Option<Heartbeat>,
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
    /// Keep the claim fresh from a background thread until it is released or dropped, so that
    /// evaluation and checkpointing (which write no status for minutes) never look stale.
    pub fn start_heartbeat(&mut self) {
        self.heartbeat = Some(Heartbeat::start(self.path.clone(), super::heartbeat::interval()));
    }

    pub fn release(mut self) -> std::io::Result<()> {
        drop(self.heartbeat.take());
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(path_error::io(&self.path, e)),
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

/// Create `path` exclusively with our claim info; `Ok(None)` if it already exists. A claim whose
/// content could not be written (a full disk) is removed again, not left empty.
fn try_create(path: &Path) -> std::io::Result<Option<Claim>> {
    let info = new_info();
    match std::fs::OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(mut f) => {
            let written = f.write_all(&serde_json::to_vec(&info).expect("claim serialises")).and_then(|_| f.sync_all());
            if let Err(e) = written {
                let _ = std::fs::remove_file(path);
                return Err(path_error::io(path, e));
            }
            Ok(Some(Claim { path: path.to_path_buf(), info, took_over: None, heartbeat: None }))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(None),
        Err(e) => Err(path_error::io(path, e)),
    }
}

/// A claim file as found: its bytes and modification time (what a taker compares before
/// removing it).
#[derive(Debug, Clone, PartialEq)]
struct Found {
    bytes: Vec<u8>,
    modified: Option<SystemTime>,
}

impl Found {
    fn read(path: &Path) -> Option<Self> {
        let bytes = std::fs::read(path).ok()?;
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        Some(Self { bytes, modified })
    }

    /// Seconds since the claim was written or touched.
    fn age(&self) -> f64 {
        self.modified.and_then(|m| m.elapsed().ok()).map_or(0.0, |d| d.as_secs_f64())
    }

    /// The claim, with `time` raised to its last heartbeat.
    fn info(&self) -> Option<ClaimInfo> {
        let mut info: ClaimInfo = serde_json::from_slice(&self.bytes).ok()?;
        let touched = self.modified.and_then(|m| m.duration_since(SystemTime::UNIX_EPOCH).ok()).map(|d| d.as_secs_f64());
        info.time = info.time.max(touched.unwrap_or(0.0));
        Some(info)
    }
}

/// Who holds the run in `dir`, if anyone does (stale or not); `time` is its last heartbeat.
pub fn holder(dir: &RunDir) -> Option<ClaimInfo> {
    Found::read(&dir.claim_path())?.info()
}

/// Whether a claim is stale: on this host, its holder's pid is dead; on another host, its
/// heartbeat (the claim's or the status's, whichever is newer) is older than `stale_after`.
pub fn is_stale(info: &ClaimInfo, status: Option<&Status>, stale_after: f64) -> bool {
    if info.host == hostname() {
        // This host sees its own processes: a dead holder is gone at once.
        return !pid_alive(info.pid);
    }
    // Another host's pids mean nothing here: its heartbeat must have stopped.
    let beat = status.filter(|s| s.pid == info.pid).map(|s| s.heartbeat).unwrap_or(info.time).max(info.time);
    now() - beat > stale_after
}

/// Seconds an unreadable claim may be one being written (created, then written a moment later)
/// before what it holds is judged.
const WRITING_GRACE_S: f64 = 1.0;

/// How long a claim is retried while it keeps changing (other takers, claims being written).
const PATIENCE: Duration = Duration::from_secs(10);

/// What an unreadable claim says: held by a live holder, or stale and why.
fn judge_unreadable(found: &Found, path: &Path, stale_after: f64) -> Result<String, ClaimInfo> {
    let text = String::from_utf8_lossy(&found.bytes);
    let what = if text.trim().is_empty() {
        "empty".to_string()
    } else {
        let error = serde_json::from_slice::<ClaimInfo>(&found.bytes).err().map(|e| e.to_string()).unwrap_or_default();
        format!("not a claim ({error})")
    };
    let pid =
        field(&text, "pid").map(|v| v.chars().take_while(char::is_ascii_digit).collect::<String>()).and_then(|d| d.parse().ok());
    let host = field(&text, "host").and_then(|v| Some(v.strip_prefix('"')?.split_once('"')?.0.to_string()));
    let age = found.age();
    let shown = path.display();
    match (pid, host) {
        (Some(pid), Some(host)) if host == hostname() && !pid_alive(pid) => {
            Ok(format!("{shown} was {what}; its pid {pid} on this host is gone"))
        }
        (Some(pid), Some(host)) if age <= stale_after => {
            let time = now() - age;
            Err(ClaimInfo { pid, host, time, nonce: String::new() })
        }
        (Some(pid), Some(host)) => Ok(format!("{shown} was {what}; pid {pid} on {host} has not touched it for {age:.0} s")),
        _ => Ok(format!("{shown} was {what}, naming no holder")),
    }
}

/// The raw JSON value after `"key":` in `text`, if the key is there.
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let quoted = format!("\"{key}\"");
    let at = text.find(&quoted)? + quoted.len();
    Some(text[at..].trim_start().strip_prefix(':')?.trim_start())
}

/// Claim the run in `dir`, taking over a stale or unreadable claim ([`Claim::took_over`] says
/// which and why). Errors name the run and the file.
pub fn claim(dir: &RunDir, stale_after: f64) -> Result<Claim, ClaimError> {
    std::fs::create_dir_all(dir.path()).map_err(path_error::at(dir.path()))?;
    let path = dir.claim_path();
    let began = Instant::now();
    let mut took_over = None;
    while began.elapsed() < PATIENCE {
        if let Some(mut c) = try_create(&path)? {
            c.took_over = took_over;
            return Ok(c);
        }
        let Some(found) = Found::read(&path) else {
            // Released this instant (or unreadable to us): try again in a moment.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        let verdict = match found.info() {
            Some(held) => {
                let status = dir.read_status().ok();
                if !is_stale(&held, status.as_ref(), stale_after) {
                    return Err(ClaimError::Held(held));
                }
                let why = if held.host == hostname() {
                    "is gone".to_string()
                } else {
                    format!("has not beaten for {:.0} s", now() - held.time)
                };
                format!("the claim of pid {} on {} (its runner {why})", held.pid, held.host)
            }
            // A claim being written this instant reads empty: give its writer a moment.
            None if found.age() < WRITING_GRACE_S => {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            None => match judge_unreadable(&found, &path, stale_after) {
                Ok(why) => why,
                Err(held) => return Err(ClaimError::Held(held)),
            },
        };
        if take_over(dir, &path, &found)? {
            took_over = Some(verdict);
        }
    }
    match holder(dir) {
        Some(h) => Err(ClaimError::Held(h)),
        None => Err(ClaimError::Io(std::io::Error::other(format!(
            "{}: could not claim run {}: the claim kept changing for {} s",
            path.display(),
            dir.short(),
            PATIENCE.as_secs()
        )))),
    }
}

/// Remove the stale claim `judged` (if it is still the one there) under the takeover lock;
/// whether this taker removed it.
fn take_over(dir: &RunDir, path: &Path, judged: &Found) -> std::io::Result<bool> {
    let lock = dir.takeover_path();
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&lock) {
        Ok(_) => {
            let still_same = Found::read(path).as_ref() == Some(judged);
            if still_same {
                let _ = std::fs::remove_file(path);
            }
            std::fs::remove_file(&lock).map_err(path_error::at(&lock))?;
            Ok(still_same)
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
            std::thread::sleep(Duration::from_millis(20));
            Ok(false)
        }
        Err(e) => Err(path_error::io(&lock, e)),
    }
}
