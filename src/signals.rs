//! Ctrl-C (SIGINT) and SIGTERM: a runner asked to stop finishes the update in flight, writes a
//! checkpoint, marks its run `interrupted` and releases its claim, instead of dying mid-write and
//! leaving the run to look `running`. A second signal ends the process at once (the claim of a
//! dead process on this host is freed by the next runner).

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

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
    if STOP.swap(true, Ordering::SeqCst) {
        // SAFETY: `_exit` is async-signal-safe; a second signal means "now".
        unsafe { libc::_exit(INTERRUPTED_EXIT.into()) };
    }
    const NOTE: &[u8] = b"\nstopping after the current update (send the signal again to stop at once)\n";
    // SAFETY: write(2) is async-signal-safe; a failed note is no reason to do anything else.
    unsafe { libc::write(libc::STDERR_FILENO, NOTE.as_ptr().cast(), NOTE.len()) };
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    STOP.load(Ordering::SeqCst)
}
