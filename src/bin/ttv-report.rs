//! `ttv-report`: turn the run store into one page per experiment.

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use ttv::cli::flags::report::{Cli, Command};
use ttv::report::ReportOptions;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Completions { shell }) = cli.command {
        ttv::cli::completions::print(shell, Cli::command());
        return ExitCode::SUCCESS;
    }
    let specs = Some(cli.specs).filter(|d| d.is_dir());
    let opts =
        ReportOptions { registry: cli.store.registry, out: cli.out, experiments: cli.experiments, format: cli.format, specs };
    let result =
        if cli.serve { ttv::cli::report::serve(&opts, cli.port, cli.open) } else { ttv::cli::report::report(&opts, cli.open) };
    ttv::cli::exit_code(result)
}
