//! `ttv-run SPEC...`: expand specs into runs and execute (or, with `--dry-run`, plan) them.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::backend::Device;
use crate::launch::Invocation;
use crate::launch::slurm::{self, SlurmOptions};
use crate::runner::{Outcome, RunOptions, execute};
use crate::spec;
use crate::store::RunState;
use crate::store::Store;

/// What to run and how.
pub struct RunRequest<'a> {
    pub specs: &'a [PathBuf],
    pub set: &'a [String],
    pub only: &'a [String],
    pub dry_run: bool,
    pub registry: &'a std::path::Path,
    pub device: Device,
    pub retry_failed: bool,
    pub stale_after: f64,
    /// Submit to Slurm instead of training here.
    pub slurm: Option<SlurmOptions>,
    /// Spread the runs over worker processes: the devices and workers per device.
    pub workers: Option<(Vec<Device>, usize)>,
}

/// Exit 2 when a spec is invalid (then nothing runs and nothing is written), 130 when stopped
/// by a signal (the run in flight is checkpointed and `interrupted`), 1 when a run failed now
/// or the store could not be written, 0 otherwise.
pub fn run(req: &RunRequest) -> ExitCode {
    let Some(experiments) = plan_all(req.specs, req.set, req.only) else { return ExitCode::from(2) };
    let devices = req.workers.as_ref().map_or(vec![req.device], |(devices, _)| devices.clone());
    if !req.dry_run
        && let Some(e) = devices.iter().find_map(|d| crate::backend::available(*d).err())
    {
        eprintln!("error: {e}");
        return ExitCode::from(1);
    }
    if let Some(opts) = &req.slurm {
        return submit(req, &experiments, opts);
    }
    if let Some((devices, per_device)) = &req.workers
        && !req.dry_run
    {
        if let Err(e) = crate::signals::install() {
            eprintln!("warning: Ctrl-C will not stop runs cleanly: {e}");
        }
        let mut call = Invocation::new(req.specs, req.set, req.registry, req.device);
        (call.retry_failed, call.only, call.stale_after) = (req.retry_failed, req.only.to_vec(), req.stale_after);
        return crate::launch::workers::run(&call, devices, *per_device);
    }
    if req.dry_run {
        let store = Store::at(req.registry);
        for exp in &experiments {
            print!("{}", super::plan_table(exp, &store));
        }
        return ExitCode::SUCCESS;
    }
    let mut store = match Store::open(req.registry) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot open registry {}: {e}", req.registry.display());
            return ExitCode::from(1);
        }
    };
    store.stale_after = req.stale_after;
    if let Err(e) = crate::signals::install() {
        eprintln!("warning: Ctrl-C will not stop runs cleanly: {e}");
    }
    let opts = RunOptions { device: req.device, retry_failed: req.retry_failed };
    let mut failed = false;
    for exp in &experiments {
        match execute(exp, &store, &opts) {
            Ok(outcomes) => {
                for (plan, o) in exp.runs.iter().zip(&outcomes) {
                    // A run that failed now fails the command (one skipped as failed before does not).
                    failed |= matches!(o, Outcome::Finished(RunState::Failed));
                    let what = match o {
                        Outcome::Skipped(s) => format!("skipped ({})", s.as_str()),
                        Outcome::HeldElsewhere(who) => format!("skipped (running elsewhere: {who})"),
                        Outcome::Finished(s) => s.as_str().to_string(),
                    };
                    println!("{}  {:<28} seed {:<4} {what}", plan.short(), plan.label, plan.seed);
                }
            }
            Err(e) => {
                eprintln!("error: {}: {e:#}", exp.name);
                failed = true;
            }
        }
    }
    if crate::signals::requested() {
        eprintln!("interrupted: rerun the same command to resume");
        ExitCode::from(crate::signals::INTERRUPTED_EXIT)
    } else if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Submit each experiment's pending runs as one Slurm job array (with `--dry-run`, print the
/// scripts instead). Exit 1 when sbatch refuses one, with its message.
fn submit(req: &RunRequest, experiments: &[spec::Experiment], opts: &SlurmOptions) -> ExitCode {
    let store = Store::at(req.registry);
    let mut failed = false;
    for (exp, path) in experiments.iter().zip(req.specs) {
        // Slurm shows a task only the GPUs it allocated, numbered from 0.
        let device = if matches!(req.device, Device::Cuda(_)) { Device::Cuda(0) } else { Device::Cpu };
        let mut call = Invocation::new(std::slice::from_ref(path), req.set, req.registry, device);
        (call.retry_failed, call.stale_after) = (req.retry_failed, req.stale_after);
        let runs = slurm::pending(exp, &store, req.retry_failed);
        if req.dry_run {
            if runs.is_empty() {
                println!("# {}: nothing to run ({} runs done or running)", exp.name, exp.runs.len());
            } else {
                print!("{}", slurm::script_text(exp, &runs, &call, opts, &store.launch_dir(&exp.name).join("<time>")));
            }
            continue;
        }
        match Store::open(req.registry).map_err(anyhow::Error::from).and_then(|store| slurm::launch(exp, &store, &call, opts)) {
            Ok(Some(job)) => println!(
                "{}: submitted {} of {} runs as Slurm job {} ({})\n  follow with: ttv-run status {}",
                exp.name,
                job.runs,
                exp.runs.len(),
                job.job,
                job.script.display(),
                path.display()
            ),
            Ok(None) => println!("{}: nothing to run ({} runs done or running)", exp.name, exp.runs.len()),
            Err(e) => {
                eprintln!("error: {}: {e:#}", exp.name);
                failed = true;
            }
        }
    }
    if failed { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

/// Expand every spec first, printing every error: an invalid spec anywhere means nothing runs.
pub fn plan_all(specs: &[PathBuf], set: &[String], only: &[String]) -> Option<Vec<spec::Experiment>> {
    let mut experiments = Vec::new();
    let mut bad = false;
    for path in specs {
        match spec::plan(path, set) {
            Ok(exp) => experiments.push(exp),
            Err(errors) => {
                for e in &errors.0 {
                    eprintln!("error: {e}");
                }
                bad = true;
            }
        }
    }
    if let Err(e) = spec::keep_only(&mut experiments, only) {
        eprintln!("error: {e}");
        bad = true;
    }
    (!bad).then_some(experiments)
}
