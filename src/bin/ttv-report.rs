//! `ttv-report`: turn the run store into one page per experiment.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use ttv::report::{Format, ReportOptions, render};

/// Render reports from the run store: `reports/<experiment>/index.html` per experiment and
/// `reports/index.html` listing them, or a comparison table on stdout with `--format`.
#[derive(Parser, Debug)]
#[command(name = "ttv-report", version)]
struct Cli {
    /// Experiments to report (names as in the specs' `name:` or file stem); all when omitted.
    experiments: Vec<String>,

    /// The run store to read.
    #[arg(long, env = "TTV_REGISTRY", default_value = "registry", value_name = "DIR")]
    registry: PathBuf,

    /// Where the HTML reports go.
    #[arg(long, default_value = "reports", value_name = "DIR")]
    out: PathBuf,

    /// Open the rendered page in the default browser (xdg-open) when done.
    #[arg(long)]
    open: bool,

    /// Print the comparison table to stdout in this format instead of writing HTML.
    #[arg(long, value_enum)]
    format: Option<Format>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let opts = ReportOptions {
        registry: cli.registry,
        out: cli.out,
        experiments: cli.experiments,
        format: cli.format,
    };
    match render(&opts) {
        Ok(pages) => {
            for p in &pages {
                eprintln!("wrote {}", p.display());
            }
            if cli.open {
                if let Some(first) = pages.first() {
                    let _ = std::process::Command::new("xdg-open").arg(first).status();
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
