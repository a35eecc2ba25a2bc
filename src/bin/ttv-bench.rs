//! `ttv-bench`: speed measurements that print a table (never timed unit tests).

use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};

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
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Data { batch, seconds } => bench_data(batch, seconds),
    }
}

fn bench_data(batch: usize, seconds: f64) -> ExitCode {
    println!("shapes data, {} threads, batch {batch}", rayon::current_num_threads());
    println!("{:<10} {:>10} {:>14} {:>12}", "shape", "samples", "samples/s", "MB/s");
    for (frames, height, width) in [(8u32, 32u32, 32u32), (16, 64, 64)] {
        let spec = DataSpec { frames, height, width, samples: 2000, eval_fraction: 0.05, ..DataSpec::default() };
        let data = match ttv::data::load(&spec, &Default::default()) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::from(1);
            }
        };
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
    ExitCode::SUCCESS
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
