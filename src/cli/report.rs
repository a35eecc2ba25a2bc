//! `ttv-report`: render the store's experiments and say where the pages went.

use anyhow::Result;

use crate::report::{ReportOptions, render};

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
        let opened = std::process::Command::new("xdg-open").arg(target).status().is_ok_and(|s| s.success());
        if !opened {
            let abs = std::fs::canonicalize(target).unwrap_or_else(|_| target.clone());
            eprintln!("could not start a browser (xdg-open); open file://{}", abs.display());
        }
    }
    Ok(())
}
