//! `ttv-report`'s command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use clap_complete::Shell;

use crate::cli::args::StoreArgs;
use crate::report::Format;
use crate::report::trackers::Tracker;

/// Render reports from the run store: `<out>/<experiment>/index.html` per experiment (comparison
/// table, curves, parallel coordinates, plots, GIF grids, the paper's Tables II and III beside
/// ours, every run's state and spec, a diff of any two runs) and `<out>/index.html` listing them;
/// or the comparison table on stdout with `--format`. Pages are static files with relative
/// links and their script beside them: open them from disk, no server and no network needed.
/// `--serve` serves them on localhost instead and renders again whenever the store changes.
/// `ttv-report export` writes the runs for TensorBoard or MLflow.
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
    /// Export the runs to a tracker: TensorBoard event files or an MLflow file store, with every
    /// metric over update steps, the sample GIFs and the resolved spec of each run.
    /// `ttv-report export --format tensorboard --out tb` then `tensorboard --logdir tb`;
    /// `ttv-report export --format mlflow --out mlruns` then
    /// `MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri mlruns`. Exporting again
    /// replaces each run's files.
    Export(ExportArgs),
    /// Print a shell completion script: `ttv-report completions zsh > ~/.zfunc/_ttv-report`.
    Completions {
        /// The shell.
        shell: Shell,
    },
}

/// `ttv-report export`'s arguments.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// Experiments to export (names as in the specs' `name:` or file stem); all when omitted.
    pub experiments: Vec<String>,

    /// The run store to read (read only).
    #[command(flatten)]
    pub store: StoreArgs,

    /// The tracker: `tensorboard` (one event file per run under
    /// `<out>/<experiment>/<variant>/seed<k>-<hash12>/`) or `mlflow` (an MLflow file store,
    /// `mlruns/` layout). The comparison table's formats are `ttv-report --format csv|json|md`.
    #[arg(long, value_name = "TRACKER", value_parser = TrackerParser)]
    pub format: Tracker,

    /// Where the export goes (made if missing; exporting again replaces each run's files).
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub out: PathBuf,

    /// Export only this run (a hash or a prefix of at least 4 hex digits, as `ttv-run runs ls`
    /// prints it); repeatable. With experiments given, only those of its experiments.
    #[arg(long = "run", value_name = "HASH")]
    pub runs: Vec<String>,

    /// The folder of spec files whose `description:` describes each experiment.
    #[arg(long, default_value = "experiments", value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub specs: PathBuf,
}

/// `--format` of `export`: a [`Tracker`], with a hint when a comparison-table format is given.
#[derive(Clone)]
struct TrackerParser;

impl clap::builder::TypedValueParser for TrackerParser {
    type Value = Tracker;

    fn parse_ref(&self, cmd: &clap::Command, arg: Option<&clap::Arg>, value: &std::ffi::OsStr) -> Result<Tracker, clap::Error> {
        clap::builder::EnumValueParser::<Tracker>::new().parse_ref(cmd, arg, value).map_err(|e| {
            let s = value.to_string_lossy();
            match <Format as clap::ValueEnum>::from_str(&s, true) {
                Ok(_) => clap::Error::raw(
                    clap::error::ErrorKind::InvalidValue,
                    format!(
                        "export writes `tensorboard` or `mlflow`; the comparison table as {s} is `ttv-report --format {s}`\n"
                    ),
                )
                .with_cmd(cmd),
                Err(_) => e,
            }
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new(<Tracker as clap::ValueEnum>::value_variants().iter().filter_map(clap::ValueEnum::to_possible_value)))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
