//! The heartbeat of a held run: a background thread touches the run's claim (its modification
//! time) every [`interval`] while the run is held, through evaluation and checkpointing as
//! through training, so that another host never takes a live run over
//! ([`super::claim::is_stale`]). It stops when dropped: a runner that ends, or unwinds, stops
//! beating, and its claim goes stale.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

/// Seconds between beats: `TTV_HEARTBEAT_S`, or 10 (a claim is stale after `--stale-after`,
/// 120 s by default, without one).
pub fn interval() -> Duration {
    let s = std::env::var("TTV_HEARTBEAT_S").ok().and_then(|v| v.parse::<f64>().ok()).filter(|s| *s > 0.0 && s.is_finite());
    Duration::from_secs_f64(s.unwrap_or(10.0))
}

#[derive(Debug)]
pub struct Heartbeat {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Heartbeat {
    /// Touch `path` now and every `every` until dropped.
    pub fn start(path: PathBuf, every: Duration) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        touch(&path);
        let thread = std::thread::Builder::new()
            .name("ttv-heartbeat".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    touch(&path);
                }
            })
            .ok();
        Self { stop: Some(stop), thread }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Set `path`'s modification time to now; nothing if it is gone (the claim was released).
fn touch(path: &Path) {
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.set_modified(SystemTime::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modified(p: &Path) -> SystemTime {
        std::fs::metadata(p).unwrap().modified().unwrap()
    }

    /// While the main thread is busy (a long evaluation), the claim keeps being touched; once
    /// the heartbeat is dropped, it is not.
    #[test]
    fn beats_while_the_holder_is_busy_and_stops_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let claim = dir.path().join("claim");
        std::fs::write(&claim, b"{}").unwrap();
        let old = SystemTime::now() - Duration::from_secs(600);
        std::fs::File::open(&claim).unwrap().set_modified(old).unwrap();
        let beat = Heartbeat::start(claim.clone(), Duration::from_millis(20));
        std::thread::sleep(Duration::from_millis(30));
        let first = modified(&claim);
        assert!(first > old + Duration::from_secs(590), "touched at start");
        std::thread::sleep(Duration::from_millis(150));
        assert!(modified(&claim) > first, "touched again while busy");
        drop(beat);
        let last = modified(&claim);
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(modified(&claim), last, "no beat after the end");
    }
}
