//! `ttv-run`'s command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use clap_complete::Shell;

use super::values::{hash_prefix, positive_seconds, prompt, run_ref, spec_path, threshold};
use crate::cli::args::{DeviceArgs, LaunchArgs, OverrideArgs, SelectionArgs, StoreArgs};

/// Run TTV-HRM experiments declared in YAML specs.
///
/// Each spec expands into runs (sweep grid x zip rows + include variants, times seeds). A run is
/// identified by the SHA-256 of its fully resolved spec; runs already done in the registry are
/// skipped, interrupted ones resume. Exit status: 0 all went well, 1 a run failed (the others
/// still ran) or the store could not be written, 2 a bad command line or spec (nothing ran),
/// 130 stopped by Ctrl-C (rerun to resume).
#[derive(Parser, Debug)]
#[command(name = "ttv-run", version, args_conflicts_with_subcommands = true, arg_required_else_help = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Spec file(s) to run, e.g. experiments/paper.yaml.
    #[arg(value_parser = spec_path, value_hint = clap::ValueHint::FilePath)]
    pub specs: Vec<PathBuf>,

    /// Print the plan (one row per run: hash, variant, seed, parameters, state) and exit without
    /// running.
    #[arg(long)]
    pub dry_run: bool,

    /// With `--dry-run`: the plan as JSON (one object per run: experiment, hash, variant,
    /// settings, seed, state, and whether a run without `--dry-run` would train it).
    #[arg(long, requires = "dry_run")]
    pub json: bool,

    #[command(flatten)]
    pub overrides: OverrideArgs,

    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub device: DeviceArgs,

    #[command(flatten)]
    pub launch: LaunchArgs,

    /// Run failed runs again instead of skipping them.
    #[arg(long)]
    pub retry_failed: bool,

    /// Only the runs whose hash starts with this (as `--dry-run` shows it); repeatable.
    #[arg(long, value_name = "HASH", value_parser = hash_prefix)]
    pub only: Vec<String>,

    /// How long another host's runner may go without a heartbeat before its runs count as
    /// abandoned: seconds or a duration (`90s`, `5m`). A dead runner on this host is seen at once
    /// by its pid.
    #[arg(long, default_value_t = crate::store::DEFAULT_STALE_AFTER, value_name = "SECS", value_parser = positive_seconds)]
    pub stale_after: f64,
}

/// The subcommands' names, for the hint given when one is mistyped where a spec file goes.
pub const SUBCOMMANDS: &[&str] =
    &["preview", "generate", "fid", "score", "thresholds", "schema", "status", "runs", "completions"];

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Render the first training samples of a spec's dataset (its first run) as a GIF grid,
    /// list their captions in a .txt beside it, and print the dataset's fingerprint.
    Preview {
        /// Spec file.
        #[arg(value_hint = clap::ValueHint::FilePath)]
        spec: PathBuf,
        /// Output GIF.
        #[arg(short, long, default_value = "preview.gif")]
        out: PathBuf,
        /// Number of samples in the grid.
        #[arg(short, long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=4096))]
        n: u32,
        #[command(flatten)]
        overrides: OverrideArgs,
        /// The run store (decoded real clips are cached in DIR/cache/clips).
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Generate clips from a trained run: `ttv-run generate --run <hash> "a red ball moving left to right" -o out.gif`.
    Generate {
        /// The run's hash or a prefix of it naming exactly one run (at least 4 hex digits), as
        /// `ttv-run runs ls` prints it; or a run folder on the Hugging Face Hub,
        /// `hf://owner/name[@revision]/path` (its spec.yaml and ckpt/, as the store lays a run
        /// out), fetched through the Hub cache (HF_HOME; HF_HUB_OFFLINE=1: the cache only).
        #[arg(long, value_name = "HASH|hf://...", value_parser = run_ref)]
        run: String,
        /// Prompt(s); with several, GIFs are written as `<stem>_<i>.gif`.
        #[arg(required = true, value_parser = prompt)]
        prompts: Vec<String>,
        /// Output GIF (nearest-neighbour upscaled, 8 fps).
        #[arg(short, long, default_value = "out.gif")]
        out: PathBuf,
        /// Maximum reasoning steps, from 1 to the run's `model.engine.max_steps` (its default).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        steps: Option<u32>,
        /// Halting threshold in (0, 1] (default: the run's).
        #[arg(long, value_parser = threshold)]
        threshold: Option<f64>,
        /// Euler steps from noise to the clip, each a whole reasoning loop (default: the run's
        /// `training.flow.sampling_steps`); flow_matching runs only.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        sampling_steps: Option<u32>,
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
    /// Compute every FID, KID and FVD left pending (runs trained where the network weights were
    /// absent) from the eval clips those runs kept; needs the weights (TTV_ASSETS).
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
        /// Also FVD for every evaluation of finished runs (done, stopped, failed, interrupted)
        /// that lacks it, whether or not the run asked for it; clips of at least 9 frames only.
        #[arg(long)]
        fvd: bool,
    },
    /// Score alignment and temporal coherence of done, failed or interrupted runs from the eval clips they
    /// kept, on the CPU: for runs trained without those metrics. Adds only the metrics an
    /// evaluation lacks to its metrics.parquet; what is stored stays as it is.
    Score {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        select: SelectionArgs,
    },
    /// Evaluate trained runs again at several halting thresholds, without retraining (the
    /// threshold acts only at generation): avg_steps against gen_mse, halting accuracy,
    /// alignment and temporal coherence on the eval split, stored in each run's
    /// thresholds.parquet and printed as a table per run.
    Thresholds {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        device: DeviceArgs,
        #[command(flatten)]
        select: SelectionArgs,
        /// Thresholds in (0, 1], comma-separated (default: 0.3 to 0.9 by 0.1).
        #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = threshold)]
        values: Vec<f64>,
        /// Which checkpoint: `final` (newest) or `best` (lowest eval FID).
        #[arg(long, default_value = "final", value_parser = ["final", "best"])]
        checkpoint: String,
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
    /// Every run of the specs: state, updates done, the Slurm job of its latest attempt.
    Status {
        /// Spec file(s).
        #[arg(required = true, value_parser = spec_path, value_hint = clap::ValueHint::FilePath)]
        specs: Vec<PathBuf>,
        #[command(flatten)]
        overrides: OverrideArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List, inspect, compare and remove the runs of the store.
    Runs {
        #[command(subcommand)]
        command: RunsCommand,
    },
    /// Print a shell completion script: `ttv-run completions bash > ~/.local/share/bash-completion/completions/ttv-run`.
    Completions {
        /// The shell.
        shell: Shell,
    },
}

#[derive(Subcommand, Debug)]
pub enum RunsCommand {
    /// A table of runs: hash, experiment, variant, seed, state, updates done, last update (UTC).
    /// With a spec, its planned runs (new ones included); without, every run of the store.
    Ls {
        /// List this spec's runs (with `-s` overrides applied) instead of the whole store.
        #[arg(value_hint = clap::ValueHint::FilePath)]
        spec: Option<PathBuf>,
        #[command(flatten)]
        overrides: OverrideArgs,
        /// Only runs in this state (new, running, done, stopped, failed, interrupted); repeatable.
        #[arg(long, value_name = "STATE", value_parser = ["new", "running", "done", "stopped", "failed", "interrupted"])]
        state: Vec<String>,
        /// Only the runs of this experiment (its `name:`); repeatable.
        #[arg(long, value_name = "NAME")]
        experiment: Vec<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// One run: its status, error and notes, summary metrics, and the paths of its spec,
    /// metrics, checkpoints and sample GIFs.
    Show {
        /// The run's hash or a prefix naming exactly one run.
        #[arg(value_name = "HASH", value_parser = hash_prefix)]
        hash: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove runs from the store, without asking. A run held by a live runner is refused; a
    /// removed run is renamed out of the store first, so no reader ever sees half of it.
    Rm {
        /// Hashes or prefixes, each naming exactly one run.
        #[arg(required = true, value_name = "HASH", value_parser = hash_prefix)]
        hashes: Vec<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// A run's trained weights for another framework: `--format pytorch` writes the checkpoint
    /// as safetensors in the reference code's PyTorch layout (TTVHRM's state_dict names, Linear
    /// weights `[out, in]`, its buffers included), for `load_state_dict`. Reference family only.
    Export {
        /// The run's hash or a prefix naming exactly one run.
        #[arg(value_name = "HASH", value_parser = hash_prefix)]
        hash: String,
        /// The layout to write.
        #[arg(long, default_value = "pytorch", value_parser = ["pytorch"])]
        format: String,
        /// The file to write (safetensors).
        #[arg(short, long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
        out: PathBuf,
        /// Which checkpoint: `final` (newest) or `best` (lowest eval FID).
        #[arg(long, default_value = "final", value_parser = ["final", "best"])]
        checkpoint: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Copy ended runs into a result set (`results/<date>-<machine>/`): a store holding each
    /// run's resolved spec, status, metrics and threshold sweep, with training metrics kept at
    /// every N-th update and the last, every evaluation whole; no checkpoints, eval clips,
    /// samples or claims. A run already in the set is replaced, so a set can be thinned in place.
    Freeze {
        /// The runs (hashes or prefixes, each naming exactly one); every ended run of the store
        /// (or of `--experiment`) by default.
        #[arg(value_name = "HASH", value_parser = hash_prefix)]
        hashes: Vec<String>,
        /// Only the runs of this experiment (its `name:`); repeatable.
        #[arg(long, value_name = "NAME")]
        experiment: Vec<String>,
        /// The result set to write (a store; created if missing).
        #[arg(short, long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
        out: PathBuf,
        /// Keep training metrics at every N-th update (and the last one).
        #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
        train_every: u64,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The resolved spec fields two runs differ in, by dotted path: why their results are not one
    /// variant.
    Diff {
        /// One run: its hash or a prefix naming exactly one run.
        #[arg(value_name = "A", value_parser = hash_prefix)]
        a: String,
        /// The other run.
        #[arg(value_name = "B", value_parser = hash_prefix)]
        b: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_hinted_subcommands_are_the_real_ones() {
        let real: Vec<String> = Cli::command().get_subcommands().map(|c| c.get_name().to_string()).collect();
        assert_eq!(real, SUBCOMMANDS.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    }
}
