//! `ttv-report`: turn the run store into one page per experiment.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use ttv::cli::args::StoreArgs;
use ttv::report::{Format, ReportOptions, render, serve};

/// Render reports from the run store: `<out>/<experiment>/index.html` per experiment (comparison
/// table, curves, parallel coordinates, plots, GIF grids, the paper's Tables II and III beside
/// ours, every run's state and spec, a diff of any two runs) and `<out>/index.html` listing them;
/// or the comparison table on stdout with `--format`. Pages are static files with relative
/// links and their script beside them: open them from disk, no server and no network needed.
/// `--serve` serves them on localhost instead and renders again whenever the store changes.
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

    /// The folder of spec files whose `description:` heads each experiment's page (a spec's
    /// experiment is its `name:` or file stem).
    #[arg(long, default_value = "experiments", value_name = "DIR")]
    specs: PathBuf,

    /// Open the result in the default browser (xdg-open) when done: the experiment's page when
    /// exactly one experiment is rendered, the index of experiments otherwise (with `--serve`:
    /// the served index).
    #[arg(long)]
    open: bool,

    /// Print the comparison table (final values, mean/std/n over seeds per variant) to stdout
    /// in this format instead of writing HTML.
    #[arg(long, value_enum, value_name = "FORMAT", conflicts_with = "serve")]
    format: Option<Format>,

    /// Serve the pages on http://127.0.0.1:PORT/ until stopped, rendering them again when the
    /// store changes (looked at every 2 s); open pages reload themselves.
    #[arg(long)]
    serve: bool,

    /// The port `--serve` listens on (0: any free port; the address is printed).
    #[arg(long, default_value_t = 8470, requires = "serve", value_name = "N")]
    port: u16,
}

fn main() -> ExitCode {
    ttv::cli::exit_code(report(Cli::parse()))
}

fn open(target: &str) {
    let opened = std::process::Command::new("xdg-open").arg(target).status().is_ok_and(|s| s.success());
    if !opened {
        eprintln!("could not start a browser (xdg-open); open {target}");
    }
}

fn report(cli: Cli) -> anyhow::Result<()> {
    let specs = Some(cli.specs).filter(|d| d.is_dir());
    let opts =
        ReportOptions { registry: cli.store.registry, out: cli.out, experiments: cli.experiments, format: cli.format, specs };
    if cli.serve {
        return serve::serve(&opts, &format!("127.0.0.1:{}", cli.port), |addr| {
            eprintln!("serving http://{addr}/ (rendered again when the store changes; Ctrl-C stops)");
            if cli.open {
                open(&format!("http://{addr}/"));
            }
        });
    }
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
        let abs = std::fs::canonicalize(target).unwrap_or_else(|_| target.clone());
        open(&format!("file://{}", abs.display()));
    }
    Ok(())
}
