//! `ttv-report`: turn the run store into one page per experiment, or export it to a tracker.

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use ttv::cli::flags::report::{Cli, Command};
use ttv::report::ReportOptions;
use ttv::report::trackers::ExportOptions;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Completions { shell }) => {
            ttv::cli::completions::print(shell, Cli::command());
            return ExitCode::SUCCESS;
        }
        Some(Command::Export(args)) => {
            let opts = ExportOptions {
                registry: args.store.registry,
                out: args.out,
                experiments: args.experiments,
                runs: args.runs,
                tracker: args.format,
                specs: Some(args.specs).filter(|d| d.is_dir()),
            };
            return ttv::cli::exit_code(ttv::cli::report::export(&opts));
        }
        None => {}
    }
    let specs = Some(cli.specs).filter(|d| d.is_dir());
    let opts =
        ReportOptions { registry: cli.store.registry, out: cli.out, experiments: cli.experiments, format: cli.format, specs };
    let result =
        if cli.serve { ttv::cli::report::serve(&opts, cli.port, cli.open) } else { ttv::cli::report::report(&opts, cli.open) };
    ttv::cli::exit_code(result)
}
