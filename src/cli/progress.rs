//! Where `ttv-run` shows progress: bars on a terminal; anywhere else (a log file, a batch job, a
//! pipe) the same bars as plain timestamped lines, at most one every few seconds, so that a long
//! first update (kernels compiling) or an evaluation still shows where the run is.
//! `TTV_PROGRESS=bars|lines|off` chooses one explicitly.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressDrawTarget, TermLike};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bars,
    Lines,
    Off,
}

impl Mode {
    /// `TTV_PROGRESS` if it names a mode, else bars on a terminal and lines elsewhere.
    pub fn from_env() -> Self {
        match std::env::var("TTV_PROGRESS").as_deref() {
            Ok("bars") => Mode::Bars,
            Ok("lines") => Mode::Lines,
            Ok("off") => Mode::Off,
            _ if std::io::stderr().is_terminal() => Mode::Bars,
            _ => Mode::Lines,
        }
    }

    /// The bars of a runner, drawn this way on stderr.
    pub fn bars(self) -> MultiProgress {
        let target = match self {
            Mode::Bars => ProgressDrawTarget::stderr(),
            Mode::Lines => ProgressDrawTarget::term_like(Box::new(Lines::new(LINE_EVERY, std::io::stderr()))),
            Mode::Off => ProgressDrawTarget::hidden(),
        };
        MultiProgress::with_draw_target(target)
    }
}

/// The least time between two progress lines.
pub const LINE_EVERY: Duration = Duration::from_secs(5);
/// A line is written this often even when nothing but the estimate changed.
const HEARTBEAT: Duration = Duration::from_secs(60);

/// A terminal stand-in that turns each drawn frame of the bars into one line,
/// `[  12.3 s] <bar> | <bar>`, written when it says something new and the last line is at least
/// `every` old (or a heartbeat old).
#[derive(Debug)]
pub struct Lines<W: Write + Send + std::fmt::Debug> {
    state: Mutex<LineState<W>>,
    every: Duration,
}

#[derive(Debug)]
struct LineState<W> {
    out: W,
    started: Instant,
    /// The frame being drawn, one entry per bar line.
    frame: Vec<String>,
    last_at: Option<Instant>,
    /// The last written frame without its time estimates.
    last_key: String,
}

impl<W: Write + Send + std::fmt::Debug> Lines<W> {
    pub fn new(every: Duration, out: W) -> Self {
        let state =
            LineState { out, started: Instant::now(), frame: vec![String::new()], last_at: None, last_key: String::new() };
        Self { state: Mutex::new(state), every }
    }

    /// The writer, once the bars are done with it (for tests).
    pub fn into_inner(self) -> W {
        self.state.into_inner().unwrap_or_else(|e| e.into_inner()).out
    }
}

/// A frame's text with every `eta ...` left out: what decides whether it says something new.
fn key(lines: &[&str]) -> String {
    lines.iter().map(|l| l.rfind(" eta ").map_or(*l, |i| &l[..i])).collect::<Vec<_>>().join(" | ")
}

impl<W: Write + Send + std::fmt::Debug> TermLike for Lines<W> {
    fn width(&self) -> u16 {
        // Wide enough that no bar is wrapped or cut.
        1000
    }

    fn height(&self) -> u16 {
        100
    }

    fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }

    fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }

    fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }

    fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.write_str(s)?;
        self.state.lock().unwrap_or_else(|e| e.into_inner()).frame.push(String::new());
        Ok(())
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        // Each bar line is followed by spaces up to the width: that padding ends the line.
        if !s.is_empty() && s.trim().is_empty() {
            state.frame.push(String::new());
        } else if let Some(line) = state.frame.last_mut() {
            line.push_str(s.trim_start_matches('\r'));
        }
        Ok(())
    }

    fn clear_line(&self) -> std::io::Result<()> {
        Ok(())
    }

    fn flush(&self) -> std::io::Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let frame = std::mem::replace(&mut state.frame, vec![String::new()]);
        let lines: Vec<&str> = frame.iter().map(|l| l.trim()).filter(|l| !l.is_empty()).collect();
        if lines.is_empty() {
            return Ok(());
        }
        let key = key(&lines);
        let now = Instant::now();
        let due = match state.last_at {
            None => true,
            Some(at) => {
                let since = now - at;
                (since >= self.every && key != state.last_key) || since >= HEARTBEAT
            }
        };
        if due {
            let secs = (now - state.started).as_secs_f64();
            writeln!(state.out, "[{secs:8.1} s] {}", lines.join(" | "))?;
            state.out.flush()?;
            state.last_at = Some(now);
            state.last_key = key;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

    use super::*;

    /// A writer the test can read while the bars hold it.
    #[derive(Debug, Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn text(out: &Shared) -> String {
        String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn frames_become_rate_limited_lines_that_name_every_bar() {
        let out = Shared::default();
        let every = Duration::from_millis(300);
        let bars = MultiProgress::with_draw_target(ProgressDrawTarget::term_like(Box::new(Lines::new(every, out.clone()))));
        let runs = bars.add(ProgressBar::new(2));
        runs.set_style(ProgressStyle::with_template("run {pos}/{len} {msg}").unwrap());
        runs.set_message("abc base seed 0");
        let steps = bars.add(ProgressBar::new(100));
        steps.set_style(ProgressStyle::with_template("update {pos}/{len} {msg} eta {eta}").unwrap());
        for i in 1..=100 {
            steps.set_position(i);
            steps.set_message("epoch 1/1 loss 0.5");
        }
        let burst = text(&out);
        assert_eq!(burst.lines().count(), 1, "the first frame, then nothing within the interval:\n{burst}");
        assert!(burst.contains("run 0/2 abc base seed 0"), "{burst}");

        std::thread::sleep(every + Duration::from_millis(50));
        steps.set_message("epoch 1/1 evaluating");
        let lines: Vec<String> = text(&out).lines().map(String::from).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[1].contains("run 0/2 abc base seed 0 | update 100/100 epoch 1/1 evaluating"), "{lines:?}");
        assert!(lines[1].starts_with('[') && lines[1].contains(" s] "), "timestamped: {lines:?}");

        // Nothing new (only the estimate may change): no line, however long it has been.
        std::thread::sleep(every + Duration::from_millis(50));
        steps.tick();
        assert_eq!(text(&out).lines().count(), 2);
    }
}
