//! TensorBoard: one event file per run in `<out>/<experiment>/<variant>/seed<k>-<hash12>/`, so
//! that TensorBoard's run selector reads as the report does. It holds
//!
//! - every metric as a scalar over update steps, tag `<split>/<metric>` (`train/loss`,
//!   `eval/gen_mse`), and the summary's figures at the last step (`summary/params`); TensorBoard
//!   keeps scalars as 32-bit floats;
//! - the sample GIFs as images (`samples/<i> <prompt>` at each evaluation's step, the training
//!   clips as `data/preview` at step 0): TensorBoard's image summary takes encoded bytes, and a
//!   GIF's are served as `image/gif`, so the dashboard plays the clip (as `add_video` of PyTorch's
//!   SummaryWriter does);
//! - the resolved spec as text (`run/config`, with the run's identity, state and notes), and as
//!   hyperparameters (the HParams dashboard: every spec field and the seed, seeds of a variant
//!   in one HParams trial group, the run's state as the trial's status).
//!
//! Events are written in step order (TensorBoard drops a tag's points behind a step it already
//! saw), the whole file at once and atomically.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

use super::proto::Msg;
use super::tfrecord::push_record;
use super::{Tracked, folder_name};
use crate::store::RunState;
use crate::store::atomic::write_atomic;

/// `DT_FLOAT` and `DT_STRING` of TensorFlow's `DataType`.
const DT_FLOAT: i64 = 1;
const DT_STRING: i64 = 7;
/// `Summary.Image.colorspace` of RGB.
const RGB: i64 = 3;

/// The run's folder under `out`.
pub fn run_folder(out: &Path, t: &Tracked) -> PathBuf {
    out.join(folder_name(t.experiment, super::NO_EXPERIMENT))
        .join(folder_name(t.label(), "base"))
        .join(format!("seed{}-{}", t.run.seed, t.run.short))
}

/// Write the event file of `t` under `out`; the run's folder.
pub fn write_run(out: &Path, t: &Tracked, description: Option<&str>, warnings: &mut Vec<String>) -> Result<PathBuf> {
    let folder = run_folder(out, t);
    crate::store::orphans::sweep_folder(&folder, std::time::Duration::ZERO);
    let started = t.run.started.unwrap_or(0.0);
    // One name per run, so that exporting again replaces the file instead of adding one.
    let path = folder.join(format!("events.out.tfevents.{}.ttv-{}", started as u64, t.run.short));
    let bytes = event_file(t, description, warnings);
    write_atomic(&path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(folder)
}

/// The whole event file of `t`.
pub fn event_file(t: &Tracked, description: Option<&str>, warnings: &mut Vec<String>) -> Vec<u8> {
    let started = t.run.started.unwrap_or(0.0);
    let mut out = Vec::new();
    let mut event = |wall: f64, step: u64, body: Event| {
        let mut e = Msg::new().double(1, wall).int(2, step as i64);
        e = match body {
            Event::Version => e.string(3, "brain.Event:2"),
            Event::Summary(value) => e.message(5, &Msg::new().message(1, &value)),
        };
        push_record(&mut out, e.bytes());
    };
    event(started, 0, Event::Version);
    event(started, 0, Event::Summary(text("run/config", &config_markdown(t, description))));
    event(started, 0, Event::Summary(session_start(t)));

    // Scalars and images, merged in step order (samples after the metrics of their step).
    let mut images = Vec::new();
    for (i, s) in t.samples.iter().enumerate() {
        let tag = match s.epoch {
            None => "data/preview".to_string(),
            Some(_) => {
                let index = s.path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| i.to_string());
                format!("samples/{index} {}", s.prompt)
            }
        };
        match std::fs::read(&s.path).map_err(|e| e.to_string()).and_then(|b| image(&tag, b)) {
            Ok(value) => images.push((s.step, value)),
            Err(e) => warnings.push(format!("run {}: {} is left out: {e}", t.run.short, s.path.display())),
        }
    }
    let mut images = images.into_iter().peekable();
    let mut wall = started;
    for r in &t.rows {
        while let Some((step, value)) = images.next_if(|(step, _)| *step < r.step) {
            event(wall, step, Event::Summary(value));
        }
        wall = t.time_at(r.wall_s);
        event(wall, r.step, Event::Summary(scalar(&format!("{}/{}", r.split, r.metric), r.value)));
    }
    let last = t.last_step();
    let end = t.run.finished.unwrap_or(wall);
    for (key, v) in &t.figures {
        event(end, last, Event::Summary(scalar(&format!("summary/{key}"), *v)));
    }
    // The images of the last step (or later, when no metric of theirs was logged).
    let mut final_step = last;
    for (step, value) in images {
        final_step = final_step.max(step);
        event(end, step, Event::Summary(value));
    }
    event(end, final_step, Event::Summary(session_end(t)));
    out
}

enum Event {
    Version,
    /// One `Summary.Value`.
    Summary(Msg),
}

/// A scalar as `Summary.Value.simple_value` (what every event reader takes).
fn scalar(tag: &str, v: f64) -> Msg {
    Msg::new().string(1, tag).float(2, v as f32)
}

/// An encoded image (`Summary.Image`), its size read from the GIF's header.
fn image(tag: &str, bytes: Vec<u8>) -> Result<Msg, String> {
    let (w, h) = gif_size(&bytes).ok_or("not a GIF")?;
    let img = Msg::new().int(1, i64::from(h)).int(2, i64::from(w)).int(3, RGB).bytes_field(4, &bytes);
    Ok(Msg::new().string(1, tag).message(4, &img))
}

/// Width and height of a GIF (its logical screen).
fn gif_size(b: &[u8]) -> Option<(u16, u16)> {
    if b.len() < 10 || !(b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a")) {
        return None;
    }
    Some((u16::from_le_bytes([b[6], b[7]]), u16::from_le_bytes([b[8], b[9]])))
}

/// A text summary (the text plugin renders its Markdown).
fn text(tag: &str, markdown: &str) -> Msg {
    // A scalar string tensor: an empty shape.
    let tensor = Msg::new().int(1, DT_STRING).message(2, &Msg::new()).bytes_field(8, markdown.as_bytes());
    Msg::new().string(1, tag).message(9, &plugin_metadata("text", &[])).message(8, &tensor)
}

fn plugin_metadata(plugin: &str, content: &[u8]) -> Msg {
    Msg::new().message(1, &Msg::new().string(1, plugin).bytes_field(2, content))
}

/// A summary of the HParams plugin: `HParamsPluginData` (version 0) holding `data` as its field
/// `field`, on the plugin's empty float tensor.
fn hparams(tag: &str, field: u32, data: &Msg) -> Msg {
    let content = Msg::new().int(1, 0).message(field, data);
    let null_tensor = Msg::new().int(1, DT_FLOAT).message(2, &Msg::new().message(2, &Msg::new()));
    Msg::new().string(1, tag).message(9, &plugin_metadata("hparams", content.bytes())).message(8, &null_tensor)
}

/// The HParams start record: the spec's fields as hyperparameters; the seeds of a variant form
/// one trial group, named by the variant's label and id (the HParams table's trial id).
fn session_start(t: &Tracked) -> Msg {
    let mut info = Msg::new();
    for (path, v) in &t.config {
        // google.protobuf.Value: number, string or bool; a list as its JSON text; null left out.
        let value = match v {
            Value::Null => continue,
            Value::Bool(b) => Msg::new().boolean(4, *b),
            Value::Number(n) => Msg::new().double(2, n.as_f64().unwrap_or(f64::NAN)),
            Value::String(s) => Msg::new().string(3, s),
            other => Msg::new().string(3, &other.to_string()),
        };
        info = info.message(1, &Msg::new().string(1, path).message(2, &value));
    }
    let group = format!("{} ({})", t.label(), t.run.variant);
    let info = info.string(4, &group).double(5, t.run.started.unwrap_or(0.0));
    hparams("_hparams_/session_start_info", 3, &info)
}

/// The HParams end record: the run's state as the trial's status.
fn session_end(t: &Tracked) -> Msg {
    // STATUS_UNKNOWN 0, SUCCESS 1, FAILURE 2, RUNNING 3.
    let status = match t.run.state.as_str() {
        s if s == RunState::Done.as_str() || s == RunState::Stopped.as_str() => 1,
        s if s == RunState::Failed.as_str() || s == RunState::Damaged.as_str() => 2,
        s if s == RunState::Running.as_str() => 3,
        _ => 0,
    };
    let mut info = Msg::new().int(1, status);
    if let Some(end) = t.run.finished {
        info = info.double(2, end);
    }
    hparams("_hparams_/session_end_info", 4, &info)
}

/// The run's identity, state, notes and resolved spec as Markdown.
fn config_markdown(t: &Tracked, description: Option<&str>) -> String {
    let r = t.run;
    let mut s = format!(
        "**experiment** `{}` · **variant** `{}` (`{}`) · **seed** {} · **state** {} · **hash** `{}`\n\n",
        t.experiment,
        t.label(),
        r.variant,
        r.seed,
        r.state,
        r.hash
    );
    if let Some(d) = description {
        s.push_str(&format!("{d}\n\n"));
    }
    for n in t.notes() {
        s.push_str(&format!("- {n}\n"));
    }
    if let Some(git) = &t.git {
        s.push_str(&format!("\ncommit `{}`{}\n", git.commit, if git.dirty { " (with uncommitted changes)" } else { "" }));
    }
    // An indented block: Markdown's code block, whatever the spec holds.
    let spec = r.spec_yaml().unwrap_or_else(|| "(spec.yaml cannot be read)".into());
    s.push('\n');
    for line in spec.lines() {
        s.push_str(&format!("    {line}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_size_of_a_gif() {
        let mut gif = b"GIF89a".to_vec();
        gif.extend([128, 0, 64, 1]);
        assert_eq!(gif_size(&gif), Some((128, 320)));
        assert_eq!(gif_size(b"\x89PNG\r\n\x1a\n\0\0"), None);
    }
}
