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
    let opts = ReportOptions { registry: cli.store.registry, out: cli.out, experiments: cli.experiments, format: cli.format };
    ttv::cli::exit_code(ttv::cli::report::report(&opts, cli.open))
}
