//! `ttv-report`'s command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use clap_complete::Shell;

use crate::cli::args::StoreArgs;
use crate::report::Format;

/// Render reports from the run store: `<out>/<experiment>/index.html` per experiment (comparison
/// table, curves, parallel coordinates, plots, GIF grids, the paper's Tables II and III beside
/// ours, every run's state and spec, a diff of any two runs) and `<out>/index.html` listing them;
/// or the comparison table on stdout with `--format`. Pages are static files with relative
/// links and their script beside them: open them from disk, no server and no network needed.
/// `--serve` serves them on localhost instead and renders again whenever the store changes.
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

    /// The folder of spec files whose `description:` heads each experiment's page (a spec's
    /// experiment is its `name:` or file stem).
    #[arg(long, default_value = "experiments", value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub specs: PathBuf,

    /// Open the result in the default browser (xdg-open) when done: the experiment's page when
    /// exactly one experiment is rendered, the index of experiments otherwise (with `--serve`:
    /// the served index).
    #[arg(long)]
    pub open: bool,

    /// Print the comparison table (final values, mean/std/n over seeds per variant) to stdout
    /// in this format instead of writing HTML.
    #[arg(long, value_enum, value_name = "FORMAT", conflicts_with = "serve")]
    pub format: Option<Format>,

    /// Serve the pages on http://127.0.0.1:PORT/ until stopped, rendering them again when the
    /// store changes (looked at every 2 s); open pages reload themselves.
    #[arg(long)]
    pub serve: bool,

    /// The port `--serve` listens on (0: any free port; the address is printed).
    #[arg(long, default_value_t = 8470, requires = "serve", value_name = "N")]
    pub port: u16,
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
