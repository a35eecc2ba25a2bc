//! `ttv-run`: expand a YAML spec into runs and execute the ones not already done.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use ttv::backend::dispatch;
use ttv::cli::fid::FidJob;
use ttv::cli::generate::{GenerateJob, GenerateRequest};
use ttv::cli::score::{ScoreOutcome, Selection, score_stored};
use ttv::runner::{Outcome, RunOptions, execute};
use ttv::spec;
use ttv::store::RunState;
use ttv::store::Store;

/// Run TTV-HRM experiments declared in YAML specs.
///
/// Each spec expands into runs (sweep grid x zip rows + include variants, times seeds). A run is
/// identified by the SHA-256 of its fully resolved spec; runs already done in the registry are
/// skipped, interrupted ones resume.
#[derive(Parser, Debug)]
#[command(name = "ttv-run", version, args_conflicts_with_subcommands = true, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Spec file(s) to run, e.g. experiments/paper.yaml.
    specs: Vec<PathBuf>,

    /// Print the plan (one row per run: hash, variant, seed, state) and exit without running.
    #[arg(long)]
    dry_run: bool,

    /// Override a spec value: `-s training.epochs=10`, `-s model.halting.threshold=0.4`.
    /// Values are YAML (`-s eval.prompts='[a, b]'`) and typed by the schema. Repeatable;
    /// later ones win.
    #[arg(short = 's', long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,

    /// The run store.
    #[arg(long, env = "TTV_REGISTRY", default_value = "registry", value_name = "DIR")]
    registry: PathBuf,

    /// Where to train: `cpu` (default) or `cuda` (needs a build with `--features cuda`).
    #[arg(long, default_value = "cpu", value_parser = ["cpu", "cuda"])]
    device: String,

    /// Run failed runs again instead of skipping them.
    #[arg(long)]
    retry_failed: bool,

    /// Only the runs whose hash starts with this (as `--dry-run` shows it); repeatable.
    #[arg(long, value_name = "HASH")]
    only: Vec<String>,

    /// Seconds without a heartbeat after which a dead runner's claim is taken over.
    #[arg(long, default_value_t = ttv::store::DEFAULT_STALE_AFTER, value_name = "SECS")]
    stale_after: f64,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Render the first training samples of a spec's dataset (its first run) as a GIF grid,
    /// list their captions in a .txt beside it, and print the dataset's fingerprint.
    Preview {
        /// Spec file.
        spec: PathBuf,
        /// Output GIF.
        #[arg(short, long, default_value = "preview.gif")]
        out: PathBuf,
        /// Number of samples in the grid.
        #[arg(short, long, default_value_t = 16)]
        n: usize,
        /// Override a spec value (as for running).
        #[arg(short = 's', long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
        /// The run store (decoded real clips are cached in DIR/cache/clips).
        #[arg(long, env = "TTV_REGISTRY", default_value = "registry", value_name = "DIR")]
        registry: PathBuf,
    },
    /// Generate clips from a trained run: `ttv-run generate --run 1a2b3c "a red ball moving left to right" -o out.gif`.
    Generate {
        /// The run's hash (or a unique prefix, at least 4 hex digits), as `--dry-run` prints it.
        #[arg(long)]
        run: String,
        /// Prompt(s); with several, GIFs are written as `<stem>_<i>.gif`.
        #[arg(required = true)]
        prompts: Vec<String>,
        /// Output GIF (nearest-neighbour upscaled, 8 fps).
        #[arg(short, long, default_value = "out.gif")]
        out: PathBuf,
        /// Maximum reasoning steps (default: the run's max_steps).
        #[arg(long)]
        steps: Option<usize>,
        /// Halting threshold (default: the run's).
        #[arg(long)]
        threshold: Option<f64>,
        /// Seed of the starting noise.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Which checkpoint: `final` (newest) or `best` (lowest eval FID).
        #[arg(long, default_value = "final", value_parser = ["final", "best"])]
        checkpoint: String,
        #[arg(long, env = "TTV_REGISTRY", default_value = "registry", value_name = "DIR")]
        registry: PathBuf,
        #[arg(long, default_value = "cpu", value_parser = ["cpu", "cuda"])]
        device: String,
    },
    /// Compute every FID left pending (runs trained where the Inception weights were absent)
    /// from the eval clips those runs kept; needs the weights (TTV_ASSETS).
    Fid {
        #[arg(long, env = "TTV_REGISTRY", default_value = "registry", value_name = "DIR")]
        registry: PathBuf,
        #[arg(long, default_value = "cpu", value_parser = ["cpu", "cuda"])]
        device: String,
        /// Only the runs of this experiment (its `name:`); repeatable. All runs by default.
        #[arg(long, value_name = "NAME")]
        experiment: Vec<String>,
        /// Only each run's newest evaluation: a scaled run's every evaluation x 64 clips costs
        /// about an hour on 2 CPU cores, its last one about 7 minutes.
        #[arg(long)]
        last: bool,
    },
    /// Score alignment and temporal coherence of done, failed or interrupted runs from the eval clips they
    /// kept, on the CPU: for runs trained without those metrics. Adds only the metrics an
    /// evaluation lacks to its metrics.parquet; what is stored stays as it is.
    Score {
        #[arg(long, env = "TTV_REGISTRY", default_value = "registry", value_name = "DIR")]
        registry: PathBuf,
        /// Only the runs of this experiment (its `name:`); repeatable. All runs by default.
        #[arg(long, value_name = "NAME")]
        experiment: Vec<String>,
        /// Only the runs whose hash starts with this; repeatable.
        #[arg(long, value_name = "HASH")]
        run: Vec<String>,
    },
    /// Write the JSON Schema of spec files (for editors) to a file, or check it is current.
    Schema {
        /// Output file.
        #[arg(default_value = "experiments/schema.json")]
        out: PathBuf,
        /// Exit 1 if the file differs from the schema of this build instead of writing it.
        #[arg(long)]
        check: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Some(Command::Schema { out, check }) => schema(out, *check),
        Some(Command::Preview { spec, out, n, set, registry }) => preview(spec, out, *n, set, registry),
        Some(Command::Generate { run, prompts, out, steps, threshold, seed, checkpoint, registry, device }) => {
            let request = GenerateRequest {
                run: run.clone(),
                prompts: prompts.clone(),
                out: out.clone(),
                steps: *steps,
                threshold: *threshold,
                seed: *seed,
                checkpoint: checkpoint.clone(),
            };
            let store = Store::at(registry);
            report(dispatch(device, GenerateJob { store: &store, request }).map(|written| {
                for g in written {
                    println!("{}  {} step(s)  {}", g.path.display(), g.steps, g.prompt);
                }
            }))
        }
        Some(Command::Fid { registry, device, experiment, last }) => {
            let store = Store::at(registry);
            report(dispatch(device, FidJob { store: &store, experiments: experiment, last_only: *last }).map(|scored| {
                if scored.is_empty() {
                    println!("no run in {} has FID pending", registry.display());
                }
                for s in scored {
                    for (epoch, fid, kid) in s.epochs {
                        println!("{}  epoch {epoch:<3} FID {fid:.2}  KID {kid:.4}", &s.run[..12]);
                    }
                }
            }))
        }
        Some(Command::Score { registry, experiment, run }) => score(registry, experiment, run),
        None => run(&cli),
    }
}

/// Exit status of a subcommand: errors go to stderr with their causes.
fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn score(registry: &Path, experiments: &[String], runs: &[String]) -> ExitCode {
    let outcomes = match score_stored(&Store::at(registry), &Selection { experiments, runs }) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(1);
        }
    };
    if outcomes.is_empty() {
        println!("no run that is done, failed or interrupted in {} matches", registry.display());
    }
    let mut failed = false;
    for (hash, outcome) in outcomes {
        let short = &hash[..12.min(hash.len())];
        match outcome {
            Ok(ScoreOutcome::Scored { epochs, notes }) => {
                for (epoch, values) in epochs {
                    let values: Vec<String> = values.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
                    println!("{short}  epoch {epoch:<3} {}", values.join("  "));
                }
                for note in notes {
                    println!("{short}  note: {note}");
                }
            }
            Ok(ScoreOutcome::UpToDate) => println!("{short}  up to date"),
            Ok(ScoreOutcome::NoClips) => println!("{short}  kept no eval clips: nothing to score"),
            Err(e) => {
                eprintln!("{short}  error: {e:#}");
                failed = true;
            }
        }
    }
    if failed { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

fn schema(out: &PathBuf, check: bool) -> ExitCode {
    let text = spec::schema_json();
    if check {
        return match std::fs::read_to_string(out) {
            Ok(current) if current == text => ExitCode::SUCCESS,
            _ => {
                eprintln!("{} is stale: run `ttv-run schema` to regenerate it", out.display());
                ExitCode::from(1)
            }
        };
    }
    match ttv::store::atomic::write_atomic(out, text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}: {e}", out.display());
            ExitCode::from(1)
        }
    }
}

fn preview(path: &PathBuf, out: &PathBuf, n: usize, set: &[String], registry: &PathBuf) -> ExitCode {
    let exp = match spec::plan(path, set) {
        Ok(exp) => exp,
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("error: {e}");
            }
            return ExitCode::from(2);
        }
    };
    let Some(first) = exp.runs.first() else {
        eprintln!("error: {} expands to no runs", path.display());
        return ExitCode::from(2);
    };
    let result = ttv::data::load(&first.spec.data, &ttv::runner::load_options(&Store::at(registry), &exp))
        .and_then(|data| Ok((ttv::data::write_preview(&data.train, n, out)?, data)));
    match result {
        Ok((p, data)) => {
            println!("grid        {}", p.gif.display());
            println!("captions    {}", p.captions_file.display());
            println!("fingerprint {} (train split, {} samples)", data.train.fingerprint(data.train.len()), data.train.len());
            println!("skipped     {}", data.skipped());
            for (i, c) in p.captions.iter().enumerate() {
                println!("{i:3}  {c}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: &Cli) -> ExitCode {
    // Expand every spec first: an invalid spec anywhere means nothing runs and nothing is written.
    let mut experiments = Vec::new();
    let mut bad = false;
    for path in &cli.specs {
        match spec::plan(path, &cli.set) {
            Ok(exp) => experiments.push(exp),
            Err(errors) => {
                for e in &errors.0 {
                    eprintln!("error: {e}");
                }
                bad = true;
            }
        }
    }
    if let Err(e) = spec::keep_only(&mut experiments, &cli.only) {
        eprintln!("error: {e}");
        bad = true;
    }
    if bad {
        return ExitCode::from(2);
    }
    if cli.dry_run {
        let store = Store::at(&cli.registry);
        for exp in &experiments {
            print!("{}", ttv::cli::plan_table(exp, &store));
        }
        return ExitCode::SUCCESS;
    }
    let mut store = match Store::open(&cli.registry) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot open registry {}: {e}", cli.registry.display());
            return ExitCode::from(1);
        }
    };
    store.stale_after = cli.stale_after;
    let opts = RunOptions { device: cli.device.clone(), retry_failed: cli.retry_failed };
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
    if failed { ExitCode::from(1) } else { ExitCode::SUCCESS }
}
