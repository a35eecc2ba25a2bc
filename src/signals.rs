//! Ctrl-C (SIGINT) and SIGTERM: a runner asked to stop finishes the update in flight, writes a
//! checkpoint, marks its run `interrupted` and releases its claim, instead of dying mid-write and
//! leaving the run to look `running`. A second signal ends the process at once (the claim of a
//! dead process on this host is freed by the next runner), unless it comes within
//! [`SAME_REQUEST_NS`] of the first: one stop often arrives twice (Ctrl-C or `timeout` signal a
//! worker's whole process group and its launcher forwards the stop too; `scancel` signals every
//! process of the job).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);
/// Monotonic time of the first signal, in nanoseconds.
static FIRST_NS: AtomicU64 = AtomicU64::new(0);

/// Signals this close to the first are the same stop, not a "stop now".
const SAME_REQUEST_NS: u64 = 1_000_000_000;

/// Exit status after an interruption (128 + SIGINT, as shells report Ctrl-C).
pub const INTERRUPTED_EXIT: u8 = 130;

/// Catch SIGINT and SIGTERM from now on.
pub fn install() -> anyhow::Result<()> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `on_signal` only touches an atomic and calls async-signal-safe functions.
        let previous = unsafe { libc::signal(signal, on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t) };
        anyhow::ensure!(previous != libc::SIG_ERR, "cannot catch signal {signal}");
    }
    Ok(())
}

extern "C" fn on_signal(_: libc::c_int) {
    let now = monotonic_ns();
    if STOP.swap(true, Ordering::SeqCst) {
        if now.saturating_sub(FIRST_NS.load(Ordering::SeqCst)) < SAME_REQUEST_NS {
            return;
        }
        // SAFETY: `_exit` is async-signal-safe; a second signal means "now".
        unsafe { libc::_exit(INTERRUPTED_EXIT.into()) };
    }
    FIRST_NS.store(now, Ordering::SeqCst);
    const NOTE: &[u8] = b"\nstopping after the current update (send the signal again to stop at once)\n";
    // SAFETY: write(2) is async-signal-safe; a failed note is no reason to do anything else.
    unsafe { libc::write(libc::STDERR_FILENO, NOTE.as_ptr().cast(), NOTE.len()) };
}

/// `CLOCK_MONOTONIC` in nanoseconds (`clock_gettime` is async-signal-safe).
fn monotonic_ns() -> u64 {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `t` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    STOP.load(Ordering::SeqCst)
}
