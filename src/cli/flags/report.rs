//! `ttv-report`'s command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use clap_complete::Shell;

use crate::cli::args::StoreArgs;
use crate::report::Format;

/// Render reports from the run store: `<out>/<experiment>/index.html` per experiment (comparison
/// table, plots, GIF grids, the paper's Tables II and III beside ours, every run's state and
/// spec) and `<out>/index.html` listing them; or the comparison table on stdout with `--format`.
/// Pages are static files with relative links: open them from disk, no server needed.
#[derive(Parser, Debug)]
#[command(name = "ttv-report", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Experiments to report (names as in the specs' `name:` or file stem); all when omitted.
    pub experiments: Vec<String>,

    /// The run store to read (read only: its runs are indexed in memory).
    #[command(flatten)]
    pub store: StoreArgs,

    /// Where the pages and their PNG/SVG plots and GIF grids go.
    #[arg(long, default_value = "reports", value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub out: PathBuf,

    /// Open the result in the default browser (xdg-open) when done: the experiment's page when
    /// exactly one experiment is rendered, the index of experiments otherwise.
    #[arg(long)]
    pub open: bool,

    /// Print the comparison table (final values, mean/std/n over seeds per variant) to stdout
    /// in this format instead of writing HTML.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print a shell completion script: `ttv-report completions zsh > ~/.zfunc/_ttv-report`.
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
