//! Workers: the runs of a sweep spread over processes on this host's devices.
//!
//! `--devices cuda:0,cuda:1 --workers-per-device K` starts K `ttv-run` processes per device on
//! the same specs and store. Each walks the plan and trains the next run nobody holds (the claim
//! protocol), so every run trains once whatever the number of workers. Their output comes here,
//! each line prefixed with its worker's name. A worker that dies (killed, out of host memory) is
//! replaced, and its replacement takes over the run it held: the holder's pid is dead, so the
//! claim is free at once and the run resumes from its checkpoint.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::Invocation;
use crate::backend::Device;

/// Replacements per worker slot: a worker that keeps dying is not restarted forever.
const MAX_RESTARTS: u32 = 2;

/// `--devices`: `cpu`, `cuda:all`, or a comma-separated list (`cuda:0,cuda:1`).
pub fn parse_devices(list: &str) -> Result<Vec<Device>, String> {
    if list == "cuda:all" {
        let n = gpu_count().map_err(|e| format!("cuda:all: {e}"))?;
        return Ok((0..n).map(Device::Cuda).collect());
    }
    let devices: Vec<Device> = list.split(',').map(|d| d.trim().parse()).collect::<Result<_, _>>()?;
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = devices.iter().find(|d| !seen.insert(**d)) {
        return Err(format!("{twice} is listed twice (use --workers-per-device for several runs per device)"));
    }
    Ok(devices)
}

/// The GPUs `nvidia-smi` lists.
fn gpu_count() -> Result<usize> {
    let out = Command::new("nvidia-smi").arg("-L").output().context("nvidia-smi could not be started")?;
    let n = String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.starts_with("GPU ")).count();
    if !out.status.success() || n == 0 {
        bail!("nvidia-smi lists no GPU");
    }
    Ok(n)
}

struct Worker {
    name: String,
    device: Device,
    child: Option<Child>,
    restarts: u32,
    /// How it ended: its exit code, or none while it works.
    code: Option<i32>,
}

/// Train the runs of `call`'s specs with `per_device` workers on each of `devices`; one exit
/// code: 130 if stopped by a signal, 1 if a run failed or a worker died for good, 0 otherwise.
pub fn run(call: &Invocation, devices: &[Device], per_device: usize) -> ExitCode {
    let (lines, received) = mpsc::channel::<(usize, String)>();
    let mut workers: Vec<Worker> = Vec::new();
    for device in devices {
        for k in 0..per_device {
            let name = if per_device == 1 { device.to_string() } else { format!("{device}#{k}") };
            workers.push(Worker { name, device: *device, child: None, restarts: 0, code: None });
        }
    }
    let width = workers.iter().map(|w| w.name.len()).max().unwrap_or(0);
    for (i, w) in workers.iter_mut().enumerate() {
        if let Err(e) = start(call, i, w, &lines) {
            eprintln!("error: worker {}: {e:#}", w.name);
            w.code = Some(1);
        }
    }
    eprintln!("{} workers on {}", workers.len(), devices.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "));
    while workers.iter().any(|w| w.child.is_some()) {
        while let Ok((i, line)) = received.recv_timeout(Duration::from_millis(200)) {
            println!("{:<width$} | {line}", workers[i].name);
        }
        for (i, w) in workers.iter_mut().enumerate() {
            let Some(child) = &mut w.child else { continue };
            let Ok(Some(status)) = child.try_wait() else { continue };
            w.child = None;
            match status.code() {
                // 0, 1 (a run failed), 2 (bad spec), 130 (stopped by a signal): its own ending.
                Some(code @ (0 | 1 | 2 | 130)) => w.code = Some(code),
                _ if crate::signals::requested() => w.code = Some(130),
                _ if w.restarts < MAX_RESTARTS => {
                    w.restarts += 1;
                    eprintln!("worker {} died ({status}); a replacement takes over its run", w.name);
                    if let Err(e) = start(call, i, w, &lines) {
                        eprintln!("error: worker {}: {e:#}", w.name);
                        w.code = Some(1);
                    }
                }
                _ => {
                    eprintln!("worker {} died ({status}) {} times; not restarted", w.name, w.restarts + 1);
                    w.code = Some(1);
                }
            }
        }
    }
    // Output still in the pipes of workers that just ended.
    while let Ok((i, line)) = received.try_recv() {
        println!("{:<width$} | {line}", workers[i].name);
    }
    let codes: Vec<i32> = workers.iter().filter_map(|w| w.code).collect();
    if crate::signals::requested() || codes.contains(&130) {
        ExitCode::from(crate::signals::INTERRUPTED_EXIT)
    } else if codes.iter().any(|c| *c != 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Start worker `i`'s process, its stdout and stderr read line by line into `lines`.
fn start(call: &Invocation, i: usize, w: &mut Worker, lines: &mpsc::Sender<(usize, String)>) -> Result<()> {
    let call = Invocation { device: w.device, ..call.clone() };
    let mut child = Command::new(&call.exe)
        .args(call.args())
        .current_dir(&call.workdir)
        .env("TTV_WORKER", &w.name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", call.exe.display()))?;
    let pipes: [Box<dyn std::io::Read + Send>; 2] =
        [Box::new(child.stdout.take().expect("piped")), Box::new(child.stderr.take().expect("piped"))];
    for pipe in pipes {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if lines.send((i, line)).is_err() {
                    break;
                }
            }
        });
    }
    w.child = Some(child);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_lists_parse_and_refuse_repeats() {
        assert_eq!(parse_devices("cuda:0,cuda:1").unwrap(), [Device::Cuda(0), Device::Cuda(1)]);
        assert_eq!(parse_devices("cpu").unwrap(), [Device::Cpu]);
        assert!(parse_devices("cuda:0,cuda:0").unwrap_err().contains("listed twice"));
        assert!(parse_devices("gpu0").unwrap_err().contains("unknown device"));
    }
}
