//! `ttv-report`: render the store's experiments and say where the pages went, serve them, or
//! export the runs to a tracker.

use anyhow::Result;

use crate::report::trackers::{self, ExportOptions, Tracker};
use crate::report::{ReportOptions, render, serve};

/// Render `opts`; print the table (with `--format`) and the pages written; with `open`, open the
/// experiment's page (one experiment) or the index of experiments in the default browser.
pub fn report(opts: &ReportOptions, open: bool) -> Result<()> {
    let out = render(opts)?;
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
    if let (true, Some(target)) = (open, target) {
        let abs = std::fs::canonicalize(target).unwrap_or_else(|_| target.clone());
        browse(&format!("file://{}", abs.display()));
    }
    Ok(())
}

/// Serve `opts`' pages on localhost `port` until stopped (`--serve`), rendering them again when
/// the store changes; with `open`, open the served index in the default browser.
pub fn serve(opts: &ReportOptions, port: u16, open: bool) -> Result<()> {
    serve::serve(opts, &format!("127.0.0.1:{port}"), |addr| {
        eprintln!("serving http://{addr}/ (rendered again when the store changes; Ctrl-C stops)");
        if open {
            browse(&format!("http://{addr}/"));
        }
    })
}

/// Export `opts` to its tracker and say what was written and how to look at it.
pub fn export(opts: &ExportOptions) -> Result<()> {
    let out = trackers::export(opts)?;
    for line in out.damaged.iter().chain(&out.warnings) {
        eprintln!("warning: {line}");
    }
    let (tool, view) = match opts.tracker {
        Tracker::Tensorboard => ("TensorBoard", format!("tensorboard --logdir {}", opts.out.display())),
        Tracker::Mlflow => {
            ("MLflow", format!("MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri {}", opts.out.display()))
        }
    };
    let s = |n: usize| if n == 1 { "" } else { "s" };
    eprintln!(
        "wrote {} run{} of {} experiment{} for {tool} to {}",
        out.runs.len(),
        s(out.runs.len()),
        out.experiments,
        s(out.experiments),
        opts.out.display()
    );
    eprintln!("view them: {view}");
    Ok(())
}

fn browse(target: &str) {
    let opened = std::process::Command::new("xdg-open").arg(target).status().is_ok_and(|s| s.success());
    if !opened {
        eprintln!("could not start a browser (xdg-open); open {target}");
    }
}
