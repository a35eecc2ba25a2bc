//! Workers: the runs of a sweep spread over processes on this host's devices.
//!
//! `--devices cuda:0,cuda:1 --workers-per-device K` starts K `ttv-run` processes per device on
//! the same specs and store. Each walks the plan and trains the next run nobody holds (the claim
//! protocol), so every run trains once whatever the number of workers. Their output comes here,
//! each line prefixed with its worker's name. A worker that dies (killed, out of host memory) is
//! replaced, and its replacement takes over the run it held: the holder's pid is dead, so the
//! claim is free at once and the run resumes from its checkpoint. A stop asked of the launcher
//! (SIGINT, SIGTERM) is passed on to every worker, which checkpoints its run and ends.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::Invocation;
use crate::backend::Device;
use crate::spec::budget::{Footprint, bytes};
use crate::spec::types::RunSpec;

/// Replacements per worker slot: a worker that keeps dying is not restarted forever.
const MAX_RESTARTS: u32 = 2;

/// `--devices`: `cpu`, `cuda:all`, or a comma-separated list (`cuda:0,cuda:1`).
pub fn parse_devices(list: &str) -> Result<Vec<Device>, String> {
    if list == "cuda:all" {
        let n = crate::backend::gpu_count().map_err(|e| format!("cuda:all: {e}"))?;
        return Ok((0..n).map(Device::Cuda).collect());
    }
    let devices: Vec<Device> = list.split(',').map(|d| d.trim().parse()).collect::<Result<_, _>>()?;
    let mut seen = std::collections::HashSet::new();
    if let Some(twice) = devices.iter().find(|d| !seen.insert(**d)) {
        return Err(format!("{twice} is listed twice (use --workers-per-device for several runs per device)"));
    }
    Ok(devices)
}

/// What `--devices` and `--workers-per-device` ask for: the devices, and the workers on each
/// (none: as many as memory holds, [`place`]).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkersWanted {
    pub devices: Vec<Device>,
    pub per_device: Option<usize>,
}

/// Workers per GPU at most when their number is chosen from memory.
const MAX_AUTO_WORKERS: usize = 8;
/// What a training process holds on a GPU beyond the footprint's estimate: CubeCL's memory pool
/// keeps freed pages for reuse (a reference-family run at batch 64 estimated at ~4.5 GB held
/// 14.2 GB on the H200, benches/README.md), plus the CUDA context and compiled kernels.
const POOL_FACTOR: f64 = 3.0;
const CONTEXT_BYTES: f64 = 0.6e9;

/// Where the workers go: the first device of each worker's group and how many per device,
/// with the reason when the number was chosen here.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    pub devices: Vec<Device>,
    pub per_device: usize,
    pub why: Option<String>,
}

/// Place workers for `runs` on `devices`. A data-parallel run (`training.devices: N`) takes N
/// consecutive GPUs from its worker's device, so the list is cut into groups of N and each
/// group gets workers on its first GPU. Without `per_device`, each GPU gets as many workers as
/// its free memory holds by the largest run's estimated footprint (at most 8), the CPU one.
pub fn place(devices: &[Device], per_device: Option<usize>, runs: &[&RunSpec]) -> Result<Placement> {
    let group = runs.iter().map(|r| r.training.devices as usize).max().unwrap_or(1);
    if group > 1 && runs.iter().any(|r| r.training.devices as usize != group) {
        bail!("the runs ask for different numbers of devices (training.devices): launch them separately");
    }
    // CPU replicas share the one CPU device.
    let group = if devices.iter().all(|d| *d == Device::Cpu) { 1 } else { group };
    let mut firsts = Vec::new();
    for chunk in devices.chunks(group) {
        let consecutive = chunk.windows(2).all(|w| matches!((w[0], w[1]), (Device::Cuda(a), Device::Cuda(b)) if b == a + 1));
        if chunk.len() < group || !consecutive {
            let list = chunk.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(",");
            bail!("runs with training.devices = {group} need groups of {group} consecutive GPUs; `{list}` is not one");
        }
        firsts.push(chunk[0]);
    }
    if let Some(k) = per_device {
        return Ok(Placement { devices: firsts, per_device: k, why: None });
    }
    let gpus: Vec<usize> = firsts.iter().filter_map(|d| if let Device::Cuda(i) = d { Some(*i) } else { None }).collect();
    let need = runs.iter().map(|r| Footprint::of(r).total()).fold(0.0, f64::max) * POOL_FACTOR + CONTEXT_BYTES;
    let free = gpus.iter().map(|i| free_memory(*i)).collect::<Result<Vec<u64>>>()?.into_iter().min();
    let Some(free) = free else { return Ok(Placement { devices: firsts, per_device: 1, why: None }) };
    let fits = ((free as f64 / need).floor() as usize).clamp(1, MAX_AUTO_WORKERS);
    // No worker without a run to take.
    let per_device = fits.min(runs.len().div_ceil(firsts.len()).max(1));
    let why = format!(
        "{per_device} worker(s) per device: {} free on the fullest GPU, a run needs about {} (--workers-per-device sets it)",
        bytes(free as f64),
        bytes(need)
    );
    Ok(Placement { devices: firsts, per_device, why: Some(why) })
}

/// Free memory of GPU `index` in bytes, as `nvidia-smi` reports it.
fn free_memory(index: usize) -> Result<u64> {
    let out = Command::new("nvidia-smi")
        .args(["--query-gpu=memory.free", "--format=csv,noheader,nounits", "-i", &index.to_string()])
        .output()
        .context("nvidia-smi could not be started")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mib: u64 =
        text.trim().parse().with_context(|| format!("nvidia-smi gave no free memory for cuda:{index}: `{}`", text.trim()))?;
    Ok(mib << 20)
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
    let mut forwarded = false;
    while workers.iter().any(|w| w.child.is_some()) {
        if crate::signals::requested() && !forwarded {
            forwarded = true;
            for child in workers.iter().filter_map(|w| w.child.as_ref()) {
                // SAFETY: kill(2) on the pid of a child not yet waited for (so not reused).
                unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            }
        }
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

    #[test]
    fn data_parallel_runs_take_groups_of_consecutive_gpus() {
        use crate::spec::types::{DataSpec, EvalSpec, ModelSpec, TrainingSpec};
        let single = RunSpec {
            data: DataSpec::default(),
            model: ModelSpec::default(),
            training: TrainingSpec::default(),
            eval: EvalSpec::default(),
            seed: 0,
        };
        let mut run = single.clone();
        run.training.devices = 2;
        let runs = [&run];
        let gpus: Vec<Device> = (0..4).map(Device::Cuda).collect();
        let placed = place(&gpus, Some(3), &runs).unwrap();
        assert_eq!(placed, Placement { devices: vec![Device::Cuda(0), Device::Cuda(2)], per_device: 3, why: None });
        let err = place(&[Device::Cuda(0), Device::Cuda(2)], Some(1), &runs).unwrap_err().to_string();
        assert!(err.contains("consecutive") && err.contains("cuda:0,cuda:2"), "{err}");
        let err = place(&gpus[..3], Some(1), &runs).unwrap_err().to_string();
        assert!(err.contains("cuda:2"), "{err}");
        let err = place(&gpus, Some(1), &[&run, &single]).unwrap_err().to_string();
        assert!(err.contains("different numbers of devices"), "{err}");
        // The CPU: its replicas share the cores; workers default to one.
        assert_eq!(place(&[Device::Cpu], None, &[&run]).unwrap().per_device, 1);
    }
}
