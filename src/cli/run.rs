//! `ttv-run SPEC...`: expand specs into runs and execute (or, with `--dry-run`, plan) them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::backend::Device;
use crate::launch::Invocation;
use crate::launch::slurm::{self, SlurmOptions};
use crate::launch::workers::WorkersWanted;
use crate::runner::{Outcome, RunOptions, execute};
use crate::spec::{self, RunPlan};
use crate::store::RunState;
use crate::store::Store;

/// What to run and how.
pub struct RunRequest<'a> {
    pub specs: &'a [PathBuf],
    pub set: &'a [String],
    pub only: &'a [String],
    pub dry_run: bool,
    /// With `dry_run`: the plan as JSON.
    pub json: bool,
    pub registry: &'a std::path::Path,
    pub device: Device,
    pub retry_failed: bool,
    pub stale_after: f64,
    /// Submit to Slurm instead of training here.
    pub slurm: Option<SlurmOptions>,
    /// Spread the runs over worker processes: the devices and workers per device (none: as
    /// many as memory holds).
    pub workers: Option<WorkersWanted>,
}

/// Exit 2 when a spec is invalid (then nothing runs and nothing is written), 130 when stopped
/// by a signal (the run in flight is checkpointed and `interrupted`), 1 when a run failed now
/// (the others still ran) or the store could not be written, 0 otherwise.
pub fn run(req: &RunRequest) -> ExitCode {
    let Some(experiments) = plan_all(req.specs, req.set, req.only) else { return ExitCode::from(2) };
    let devices = req.workers.as_ref().map_or(vec![req.device], |w| w.devices.clone());
    if !req.dry_run
        && let Some(e) = devices.iter().find_map(|d| crate::backend::available(*d).err())
    {
        eprintln!("error: {e}");
        return ExitCode::from(1);
    }
    if let Some(opts) = &req.slurm {
        return submit(req, &experiments, opts);
    }
    if let Some(wanted) = &req.workers
        && !req.dry_run
    {
        if let Err(e) = crate::signals::install() {
            eprintln!("warning: Ctrl-C will not stop runs cleanly: {e}");
        }
        let runs: Vec<&crate::spec::types::RunSpec> = experiments.iter().flat_map(|e| e.runs.iter().map(|r| &r.spec)).collect();
        let placement = match crate::launch::workers::place(&wanted.devices, wanted.per_device, &runs) {
            Ok(placement) => placement,
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::from(2);
            }
        };
        if let Some(why) = &placement.why {
            eprintln!("{why}");
        }
        let mut call = Invocation::new(req.specs, req.set, req.registry, req.device);
        (call.retry_failed, call.only, call.stale_after) = (req.retry_failed, req.only.to_vec(), req.stale_after);
        return crate::launch::workers::run(&call, &placement.devices, placement.per_device);
    }
    if req.dry_run {
        let store = Store::at(req.registry);
        if req.json {
            let plan = super::plan_json(&experiments, &store, req.retry_failed);
            println!("{}", serde_json::to_string_pretty(&plan).expect("the plan serialises"));
        } else {
            for exp in &experiments {
                print!("{}", super::plan_table(exp, &store));
            }
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
    let opts =
        RunOptions { device: req.device, retry_failed: req.retry_failed, progress: super::progress::Mode::from_env().bars() };
    let mut failures: Vec<String> = Vec::new();
    let mut trained: Vec<(&spec::Experiment, Vec<&RunPlan>)> = Vec::new();
    let mut total = 0;
    let mut error = false;
    for exp in &experiments {
        match execute(exp, &store, &opts) {
            Ok(outcomes) => {
                let mut finished = Vec::new();
                for (plan, o) in exp.runs.iter().zip(&outcomes) {
                    let what = match o {
                        Outcome::Skipped(s) => format!("skipped ({})", s.as_str()),
                        Outcome::HeldElsewhere(who) => format!("skipped (running elsewhere: {who})"),
                        Outcome::Finished(s, _) => s.as_str().to_string(),
                    };
                    println!("{}  {:<28} seed {:<4} {what}", plan.short(), plan.label, plan.seed);
                    if let Outcome::Finished(state, error) = o {
                        total += 1;
                        // A run that failed now fails the command (one skipped as failed before does not).
                        if *state == RunState::Failed {
                            let reason = error.as_deref().unwrap_or("no reason recorded");
                            failures.push(format!("{} {} seed {}: {reason}", plan.short(), plan.label, plan.seed));
                        } else if matches!(state, RunState::Done | RunState::Stopped) {
                            finished.push(plan);
                        }
                    }
                }
                trained.push((exp, finished));
            }
            Err(e) => {
                eprintln!("error: {}: {e:#}", exp.name);
                error = true;
            }
        }
    }
    print!("{}", where_results_are(&store, &trained, req.registry));
    if !failures.is_empty() {
        eprintln!("\n{} of {total} run(s) failed (`ttv-run runs show <hash>` has the details):", failures.len());
        for f in &failures {
            eprintln!("  {f}");
        }
    }
    if crate::signals::requested() {
        eprintln!("interrupted: rerun the same command to resume");
        ExitCode::from(crate::signals::INTERRUPTED_EXIT)
    } else if error || !failures.is_empty() {
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
        // A data-parallel run's task gets the GPUs it trains on.
        let wanted = exp.runs.iter().map(|r| r.spec.training.devices).max().unwrap_or(1);
        let gpus_per_run = if device == Device::Cpu { opts.gpus_per_run } else { opts.gpus_per_run.max(wanted) };
        let opts = &SlurmOptions { gpus_per_run, ..opts.clone() };
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

/// After training: the sample GIFs of each run trained now (their newest evaluation), and the
/// command that renders the experiments' reports, with where the pages will be.
fn where_results_are(store: &Store, trained: &[(&spec::Experiment, Vec<&RunPlan>)], registry: &Path) -> String {
    let trained: Vec<&(&spec::Experiment, Vec<&RunPlan>)> = trained.iter().filter(|(_, runs)| !runs.is_empty()).collect();
    if trained.is_empty() {
        return String::new();
    }
    let samples: Vec<Vec<(PathBuf, String)>> = (trained.iter().flat_map(|(_, runs)| runs))
        .map(|plan| super::runs::newest_samples(&store.run(&plan.hash)))
        .filter(|gifs| !gifs.is_empty())
        .collect();
    let mut out = String::new();
    if !samples.is_empty() {
        out += "\nsamples (newest evaluation):\n";
    }
    // Every GIF of a few runs; a folder per run for a sweep.
    let each = samples.iter().map(Vec::len).sum::<usize>() <= 12;
    for gifs in &samples {
        if each {
            for (gif, prompt) in gifs {
                out += &format!("  {}  {prompt}\n", gif.display());
            }
        } else if let Some(folder) = gifs[0].0.parent() {
            out += &format!("  {}  ({} GIFs)\n", folder.display(), gifs.len());
        }
    }
    let names: Vec<&str> = trained.iter().map(|(exp, _)| exp.name.as_str()).collect();
    // `ttv-report` reads the store from the same place this run wrote it.
    let store_arg = match registry.to_str() {
        Some("registry") => String::new(),
        _ => format!(" --registry {}", registry.display()),
    };
    // Run through cargo (which sets CARGO for what it runs), the binary may not be on PATH.
    let program = if std::env::var_os("CARGO").is_some() { "cargo run --release --bin ttv-report --" } else { "ttv-report" };
    out += &format!("\nreport: {program} {}{store_arg}\n", names.join(" "));
    let page = match names.as_slice() {
        [one] => format!("reports/{one}/index.html"),
        _ => "reports/index.html".to_string(),
    };
    out += &format!("        writes {page}\n");
    out
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
                    if let Some(hint) = sweep_hint(e, set) {
                        eprintln!("  hint: {hint}");
                    }
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

/// A list given with `-s` to a field that takes one value was meant as a sweep (as Hydra's
/// multirun would take it): say how to write one.
fn sweep_hint(error: &spec::SpecError, set: &[String]) -> Option<String> {
    let ov = set.iter().find(|ov| error.file == format!("command line (-s {ov})"))?;
    let (key, values) = ov.split_once('=')?;
    let listed = error.message.starts_with("invalid type: sequence") && !key.starts_with("sweep.") && !key.starts_with("zip.");
    listed.then(|| format!("to run each of these values, sweep them: `-s sweep.{key}={values}`"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_list_for_a_single_value_suggests_a_sweep() {
        let set = vec!["model.halting.threshold=[0.3,0.5]".to_string()];
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("s.yaml");
        std::fs::write(&spec, "seeds: [0]\n").unwrap();
        let errors = crate::spec::plan(&spec, &set).unwrap_err();
        let hint = super::sweep_hint(&errors.0[0], &set);
        assert_eq!(
            hint.as_deref(),
            Some("to run each of these values, sweep them: `-s sweep.model.halting.threshold=[0.3,0.5]`")
        );
    }
}
