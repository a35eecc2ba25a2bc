//! `ttv-bench`'s command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use clap_complete::Shell;

use super::values::positive_seconds;
use crate::cli::args::{DeviceArgs, OverrideArgs};

/// Measure ttv's speed and print a table.
#[derive(Parser, Debug)]
#[command(name = "ttv-bench", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Shapes data throughput (samples/s through the batching loader) at 8x32x32 and 16x64x64.
    Data {
        /// Batch size of the loader.
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
        batch: u32,
        /// Seconds to measure each configuration for (after one warm-up epoch).
        #[arg(long, default_value_t = 3.0, value_parser = positive_seconds)]
        seconds: f64,
    },
    /// Training samples/s and generation latency of a spec's model (its first run) on a
    /// device: the figures of the PyTorch anchors, plus per-component forward times, each with
    /// its achieved FLOP/s (analytic FLOPs per sample) against the device's measured matmul
    /// peak. Prints a table and writes it as JSON.
    Perf {
        /// Spec file (its first run's model and clip size are used).
        #[arg(value_hint = clap::ValueHint::FilePath)]
        spec: PathBuf,
        #[command(flatten)]
        device: DeviceArgs,
        /// Training batch sizes.
        #[arg(long, value_delimiter = ',', default_values_t = vec![2usize, 16, 64])]
        train_batches: Vec<usize>,
        /// Generation batch sizes.
        #[arg(long, value_delimiter = ',', default_values_t = vec![1usize, 64])]
        gen_batches: Vec<usize>,
        /// Timed repeats per figure (median reported).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
        repeats: u32,
        /// Untimed calls first (the first one is reported as the cold time).
        #[arg(long, default_value_t = 3)]
        warmup: usize,
        /// Side of the square f32 matmul timed as the device's peak FLOP/s (default 8192 on
        /// cuda, 1024 on cpu).
        #[arg(long)]
        peak_size: Option<usize>,
        #[command(flatten)]
        overrides: OverrideArgs,
        /// JSON output.
        #[arg(long, default_value = "bench-perf.json")]
        json: PathBuf,
        /// The PyTorch anchors measured on the same machine (`benches/anchors/anchors.sh`'s
        /// anchors.jsonl): printed beside these figures, with ratios.
        #[arg(long)]
        anchors: Option<PathBuf>,
    },
    /// Build each spec's model on the CPU, copy the same weights to CUDA, run the training
    /// forward (from the encoded target) and generation (from the same noise) on both, and print
    /// the max relative difference. Needs a build with `--features cuda`.
    Parity {
        /// Spec files (their first run's model is used).
        #[arg(default_values = ["experiments/reference.yaml", "experiments/paper.yaml"])]
        specs: Vec<PathBuf>,
        /// Clips in the batch.
        #[arg(long, default_value_t = 4)]
        batch: usize,
    },
    /// Train a spec's model from the same weights eagerly and by replaying one recorded CUDA
    /// graph of an update, and compare the two loss trajectories (they agree to f32 rounding
    /// when the graph trains as it should). Needs a device that records graphs.
    Graphs {
        /// Spec file (its first run's model, clip size and optimizer are used).
        #[arg(value_hint = clap::ValueHint::FilePath)]
        spec: PathBuf,
        #[command(flatten)]
        device: DeviceArgs,
        /// Batch sizes, one trajectory each.
        #[arg(long, value_delimiter = ',', default_values_t = vec![1usize, 16])]
        batches: Vec<usize>,
        /// Updates per trajectory.
        #[arg(long, default_value_t = 50)]
        updates: usize,
        #[command(flatten)]
        overrides: OverrideArgs,
    },
    /// Print a shell completion script: `ttv-bench completions fish > ~/.config/fish/completions/ttv-bench.fish`.
    Completions {
        /// The shell.
        shell: Shell,
    },
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
