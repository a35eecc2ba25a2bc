//! `ttv-report`: turn the run store into one page per experiment.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use ttv::cli::args::StoreArgs;
use ttv::report::{Format, ReportOptions, render};

/// Render reports from the run store: `<out>/<experiment>/index.html` per experiment (comparison
/// table, plots, GIF grids, the paper's Tables II and III beside ours, every run's state and
/// spec) and `<out>/index.html` listing them; or the comparison table on stdout with `--format`.
/// Pages are static files with relative links: open them from disk, no server needed.
#[derive(Parser, Debug)]
#[command(name = "ttv-report", version)]
struct Cli {
    /// Experiments to report (names as in the specs' `name:` or file stem); all when omitted.
    experiments: Vec<String>,

    /// The run store to read (read only: its runs are indexed in memory).
    #[command(flatten)]
    store: StoreArgs,

    /// Where the pages and their PNG/SVG plots and GIF grids go.
    #[arg(long, default_value = "reports", value_name = "DIR")]
    out: PathBuf,

    /// Open the result in the default browser (xdg-open) when done: the experiment's page when
    /// exactly one experiment is rendered, the index of experiments otherwise.
    #[arg(long)]
    open: bool,

    /// Print the comparison table (final values, mean/std/n over seeds per variant) to stdout
    /// in this format instead of writing HTML.
    #[arg(long, value_enum, value_name = "FORMAT")]
    format: Option<Format>,
}

fn main() -> ExitCode {
    ttv::cli::exit_code(report(Cli::parse()))
}

fn report(cli: Cli) -> anyhow::Result<()> {
    let opts = ReportOptions { registry: cli.store.registry, out: cli.out, experiments: cli.experiments, format: cli.format };
    let out = render(&opts)?;
    for line in &out.damaged {
        eprintln!("warning: {line}");
    }
    print!("{}", out.text);
    for p in out.pages.iter().chain(&out.index) {
        eprintln!("wrote {}", p.display());
    }
    let target = match out.pages.as_slice() {
        [one] => Some(one),
        _ => out.index.as_ref(),
    };
    if let (true, Some(target)) = (cli.open, target) {
        let opened = std::process::Command::new("xdg-open").arg(target).status().is_ok_and(|s| s.success());
        if !opened {
            let abs = std::fs::canonicalize(target).unwrap_or_else(|_| target.clone());
            eprintln!("could not start a browser (xdg-open); open file://{}", abs.display());
        }
    }
    Ok(())
}
