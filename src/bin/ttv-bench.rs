//! `ttv-bench`: speed measurements that print a table (never timed unit tests).

use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};

use ttv::backend::Device;
use ttv::cli::args::{DeviceArgs, OverrideArgs};
use ttv::data::{Dataset, Loader};
use ttv::spec::types::DataSpec;

/// Measure ttv's speed and print a table.
#[derive(Parser, Debug)]
#[command(name = "ttv-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Shapes data throughput (samples/s through the batching loader) at 8x32x32 and 16x64x64.
    Data {
        /// Batch size of the loader.
        #[arg(long, default_value_t = 16)]
        batch: usize,
        /// Seconds to measure each configuration for (after one warm-up epoch).
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
    /// Training samples/s and generation latency of a spec's model (its first run) on a
    /// device: the figures of the PyTorch anchors, plus per-component forward times, each with
    /// its achieved FLOP/s (analytic FLOPs per sample) against the device's measured matmul
    /// peak. Prints a table and writes it as JSON.
    Perf {
        /// Spec file (its first run's model and clip size are used).
        spec: std::path::PathBuf,
        #[command(flatten)]
        device: DeviceArgs,
        /// Training batch sizes.
        #[arg(long, value_delimiter = ',', default_values_t = vec![2usize, 16, 64])]
        train_batches: Vec<usize>,
        /// Generation batch sizes.
        #[arg(long, value_delimiter = ',', default_values_t = vec![1usize, 64])]
        gen_batches: Vec<usize>,
        /// Timed repeats per figure (median reported).
        #[arg(long, default_value_t = 10)]
        repeats: usize,
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
        json: std::path::PathBuf,
        /// The PyTorch anchors measured on the same machine (`benches/anchors/anchors.sh`'s
        /// anchors.jsonl): printed beside these figures, with ratios.
        #[arg(long)]
        anchors: Option<std::path::PathBuf>,
    },
    /// Build each spec's model on the CPU, copy the same weights to CUDA, run the training
    /// forward (from the encoded target) and generation (from the same noise) on both, and print
    /// the max relative difference. Needs a build with `--features cuda`.
    Parity {
        /// Spec files (their first run's model is used).
        #[arg(default_values = ["experiments/reference.yaml", "experiments/paper.yaml"])]
        specs: Vec<std::path::PathBuf>,
        /// Clips in the batch.
        #[arg(long, default_value_t = 4)]
        batch: usize,
    },
    /// Train a spec's model from the same weights eagerly and by replaying one recorded CUDA
    /// graph of an update, and compare the two loss trajectories (they agree to f32 rounding
    /// when the graph trains as it should). Needs a device that records graphs.
    Graphs {
        /// Spec file (its first run's model, clip size and optimizer are used).
        spec: std::path::PathBuf,
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
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Data { batch, seconds } => ttv::cli::exit_code(bench_data(batch, seconds)),
        Command::Perf { spec, device, train_batches, gen_batches, repeats, warmup, peak_size, overrides, json, anchors } => {
            let peak_n = peak_size.unwrap_or(if device.device == Device::Cpu { 1024 } else { 8192 });
            let options = ttv::bench::PerfOptions { train_batches, gen_batches, repeats, warmup, peak_n };
            ttv::cli::exit_code(perf(&spec, device.device, options, &overrides.set, &json, anchors.as_deref()))
        }
        Command::Parity { specs, batch } => ttv::cli::exit_code(ttv::bench::parity::run(&specs, batch)),
        Command::Graphs { spec, device, batches, updates, overrides } => {
            ttv::cli::exit_code(graphs(&spec, device.device, &batches, updates, &overrides.set))
        }
    }
}

fn perf(
    spec: &std::path::Path,
    device: Device,
    options: ttv::bench::PerfOptions,
    set: &[String],
    json: &std::path::Path,
    anchors: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let exp = ttv::spec::plan(spec, set)?;
    let first = exp.runs.first().ok_or_else(|| anyhow::anyhow!("{} expands to no runs", spec.display()))?;
    let job = ttv::bench::PerfJob {
        name: exp.name.clone(),
        spec: first.spec.clone(),
        options,
        device_name: ttv::backend::describe(device),
    };
    let result = ttv::bench::perf(&job, &device.open()?)?;
    print!("{}", ttv::bench::table(&result));
    if let Some(path) = anchors {
        print!("{}", ttv::bench::anchors::table(&result, &ttv::bench::anchors::load(path)?));
    }
    ttv::store::atomic::write_atomic(json, &serde_json::to_vec_pretty(&result)?)?;
    Ok(())
}

fn graphs(spec: &std::path::Path, device: Device, batches: &[usize], updates: usize, set: &[String]) -> anyhow::Result<()> {
    let exp = ttv::spec::plan(spec, set)?;
    let first = exp.runs.first().ok_or_else(|| anyhow::anyhow!("{} expands to no runs", spec.display()))?;
    let device = device.open()?;
    let checks = batches
        .iter()
        .map(|&b| ttv::bench::graphs::check(&first.spec, &device, b, updates))
        .collect::<anyhow::Result<Vec<_>>>()?;
    print!("{}", ttv::bench::graphs::table(&checks));
    Ok(())
}

fn bench_data(batch: usize, seconds: f64) -> anyhow::Result<()> {
    println!("shapes data, {} threads, batch {batch}", rayon::current_num_threads());
    println!("{:<10} {:>10} {:>14} {:>12}", "shape", "samples", "samples/s", "MB/s");
    for (frames, height, width) in [(8u32, 32u32, 32u32), (16, 64, 64)] {
        let spec = DataSpec { frames, height, width, samples: 2000, eval_fraction: 0.05, ..DataSpec::default() };
        let data = ttv::data::load(&spec, &Default::default())?;
        let rate = measure(&data.train, batch, seconds);
        let bytes = (3 * frames * height * width) as f64 * 4.0;
        println!(
            "{:<10} {:>10} {:>14.0} {:>12.1}",
            format!("{frames}x{height}x{width}"),
            data.train.len(),
            rate,
            rate * bytes / 1e6
        );
    }
    Ok(())
}

/// Samples per second over whole epochs until `seconds` have passed (median-free: total/total).
fn measure(ds: &Dataset, batch: usize, seconds: f64) -> f64 {
    let loader = Loader::new(ds.clone(), batch).prefetch(4);
    let _ = loader.epoch(0).map(|b| b.len()).sum::<usize>(); // warm-up
    let start = Instant::now();
    let (mut n, mut epoch) = (0usize, 1u64);
    while start.elapsed().as_secs_f64() < seconds {
        n += loader.epoch(epoch).map(|b| b.len()).sum::<usize>();
        epoch += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}
