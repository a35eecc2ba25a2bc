//! `ttv-run`: expand a YAML spec into runs and execute the ones not already done.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use ttv::cli::args::{DeviceArgs, OverrideArgs, StoreArgs};
use ttv::cli::generate::GenerateRequest;
use ttv::cli::run::RunRequest;
use ttv::cli::score::Selection;

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

    #[command(flatten)]
    overrides: OverrideArgs,

    #[command(flatten)]
    store: StoreArgs,

    #[command(flatten)]
    device: DeviceArgs,

    /// Run failed runs again instead of skipping them.
    #[arg(long)]
    retry_failed: bool,

    /// Only the runs whose hash starts with this (as `--dry-run` shows it); repeatable.
    #[arg(long, value_name = "HASH")]
    only: Vec<String>,

    /// Seconds without a heartbeat after which another host's runner counts as gone (a dead
    /// runner on this host is seen at once by its pid).
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
        #[command(flatten)]
        overrides: OverrideArgs,
        /// The run store (decoded real clips are cached in DIR/cache/clips).
        #[command(flatten)]
        store: StoreArgs,
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
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        device: DeviceArgs,
    },
    /// Compute every FID left pending (runs trained where the Inception weights were absent)
    /// from the eval clips those runs kept; needs the weights (TTV_ASSETS).
    Fid {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        device: DeviceArgs,
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
        #[command(flatten)]
        store: StoreArgs,
        /// Only the runs of this experiment (its `name:`); repeatable. All runs by default.
        #[arg(long, value_name = "NAME")]
        experiment: Vec<String>,
        /// Only the runs whose hash starts with this; repeatable.
        #[arg(long, value_name = "HASH")]
        run: Vec<String>,
    },
    /// Look into stored runs: `ttv-run runs diff 1a2b3c 4d5e6f` prints the spec fields two runs differ in.
    Runs {
        #[command(subcommand)]
        command: RunsCommand,
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

#[derive(Subcommand, Debug)]
enum RunsCommand {
    /// Print the resolved spec fields two runs differ in (by hash or unique prefix).
    Diff(ttv::cli::diff::DiffArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Schema { out, check }) => ttv::cli::schema::schema(&out, check),
        Some(Command::Preview { spec, out, n, overrides, store }) => {
            ttv::cli::preview::preview(&spec, &overrides.set, &out, n, &store.store())
        }
        Some(Command::Generate { run, prompts, out, steps, threshold, seed, checkpoint, store, device }) => {
            let request = GenerateRequest { run, prompts, out, steps, threshold, seed, checkpoint };
            (device.device.open())
                .and_then(|device| ttv::cli::generate::generate(&store.store(), &request, &device))
                .map(|written| ttv::cli::generate::print(&written))
        }
        Some(Command::Fid { store, device, experiment, last }) => (device.device.open())
            .and_then(|device| ttv::cli::fid::score_pending(&store.store(), &experiment, last, &device))
            .map(|scored| ttv::cli::fid::print(&store.registry, &scored)),
        Some(Command::Runs { command: RunsCommand::Diff(args) }) => ttv::cli::diff::diff(&args),
        Some(Command::Score { store, experiment, run }) => {
            ttv::cli::score::score_and_print(&store.store(), &Selection { experiments: &experiment, runs: &run })
        }
        None => {
            return ttv::cli::run::run(&RunRequest {
                specs: &cli.specs,
                set: &cli.overrides.set,
                only: &cli.only,
                dry_run: cli.dry_run,
                registry: &cli.store.registry,
                device: cli.device.device,
                retry_failed: cli.retry_failed,
                stale_after: cli.stale_after,
            });
        }
    };
    ttv::cli::exit_code(result)
}
