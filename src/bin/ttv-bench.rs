//! `ttv-bench`: speed measurements that print a table (never timed unit tests).

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use ttv::backend::Device;
use ttv::cli::exit_code;
use ttv::cli::flags::bench::{Cli, Command};

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Data { batch, seconds } => exit_code(ttv::cli::bench::data(batch as usize, seconds)),
        Command::Perf { spec, device, train_batches, gen_batches, repeats, warmup, peak_size, overrides, json, anchors } => {
            let peak_n = peak_size.unwrap_or(if device.device == Device::Cpu { 1024 } else { 8192 });
            let options = ttv::bench::PerfOptions { train_batches, gen_batches, repeats: repeats as usize, warmup, peak_n };
            exit_code(ttv::cli::bench::perf(&spec, device.device, options, &overrides.set, &json, anchors.as_deref()))
        }
        Command::Parity { specs, batch } => exit_code(ttv::bench::parity::run(&specs, batch)),
        Command::Graphs { spec, device, batches, updates, overrides } => {
            exit_code(ttv::cli::bench::graphs(&spec, device.device, &batches, updates, &overrides.set))
        }
        Command::Completions { shell } => {
            ttv::cli::completions::print(shell, Cli::command());
            ExitCode::SUCCESS
        }
    }
}
