//! `ttv-run`: expand a YAML spec into runs and execute the ones not already done.

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use ttv::cli::exit_code;
use ttv::cli::flags::run::{Cli, Command, RunsCommand};
use ttv::cli::generate::GenerateRequest;
use ttv::cli::run::RunRequest;
use ttv::cli::runs::Filter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Schema { out, check }) => ttv::cli::schema::schema(&out, check),
        Some(Command::Preview { spec, out, n, overrides, store }) => {
            ttv::cli::preview::preview(&spec, &overrides.set, &out, n as usize, &store.store())
        }
        Some(Command::Generate { run, prompts, out, steps, threshold, sampling_steps, seed, checkpoint, store, device }) => {
            let (steps, sampling_steps) = (steps.map(|s| s as usize), sampling_steps.map(|s| s as usize));
            let request = GenerateRequest { run, prompts, out, steps, threshold, sampling_steps, seed, checkpoint };
            (device.device.open())
                .and_then(|device| ttv::cli::generate::generate(&store.store(), &request, &device))
                .map(|written| ttv::cli::generate::print(&written))
        }
        Some(Command::Fid { store, device, experiment, last, fvd }) => {
            let options = ttv::cli::fid::Options { experiments: experiment, last_only: last, all_fvd: fvd };
            (device.device.open())
                .and_then(|device| ttv::cli::fid::score_pending(&store.store(), &options, &device))
                .map(|scored| ttv::cli::fid::print(&store.registry, &options, &scored))
        }
        Some(Command::Thresholds { store, device, select, values, checkpoint }) => {
            let values = if values.is_empty() { ttv::cli::thresholds::DEFAULT_THRESHOLDS.to_vec() } else { values };
            let selection = select.selection();
            (device.device.open()).and_then(|device| {
                ttv::cli::thresholds::sweep_and_print(&store.store(), &selection, &values, &checkpoint, &device)
            })
        }
        Some(Command::Score { store, select }) => ttv::cli::score::score_and_print(&store.store(), &select.selection()),
        Some(Command::Runs { command }) => match command {
            RunsCommand::Ls { spec, overrides, state, experiment, store } => {
                let filter = Filter { states: state, experiments: experiment };
                ttv::cli::runs::ls(&store.store(), spec.as_deref(), &overrides.set, &filter)
            }
            RunsCommand::Show { hash, store } => ttv::cli::runs::show(&store.store(), &hash).map(|text| print!("{text}")),
            RunsCommand::Rm { hashes, store } => ttv::cli::runs::rm(&store.store(), &hashes),
            RunsCommand::Freeze { hashes, experiment, out, train_every, store } => {
                ttv::cli::runs::freeze(&store.store(), &hashes, &experiment, &out, train_every)
            }
            RunsCommand::Diff { a, b, store } => ttv::cli::diff::diff(&store.store(), &a, &b),
            RunsCommand::Export { hash, format, out, checkpoint, store } => {
                ttv::cli::runs::export(&store.store(), &hash, &format, &out, &checkpoint).map(|line| println!("{line}"))
            }
        },
        Some(Command::Status { specs, overrides, store }) => {
            return ttv::cli::status::status(&specs, &overrides.set, &store.store());
        }
        Some(Command::Completions { shell }) => {
            ttv::cli::completions::print(shell, Cli::command());
            Ok(())
        }
        None => {
            let launch =
                (cli.launch.slurm(cli.device.device)).and_then(|slurm| Ok((slurm, cli.launch.workers(cli.device.device)?)));
            let (slurm, workers) = match launch {
                Ok(launch) => launch,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            return ttv::cli::run::run(&RunRequest {
                specs: &cli.specs,
                set: &cli.overrides.set,
                only: &cli.only,
                dry_run: cli.dry_run,
                json: cli.json,
                registry: &cli.store.registry,
                device: cli.device.device,
                retry_failed: cli.retry_failed,
                stale_after: cli.stale_after,
                slurm,
                workers,
            });
        }
    };
    exit_code(result)
}
