//! `ttv-report`: the run store as static HTML, one page per experiment plus an index of
//! experiments, or the comparison table on stdout (`--format`). Everything is written with
//! relative links and no network, so the folder opens from a file:// URL or any static host.
//!
//! `load` reads the store, `variants` groups runs, `tables` / `plots` / `gifgrid` compute what
//! the page shows, `html` / `page` / `export` write it; `trackers` exports the runs to TensorBoard
//! and MLflow (`ttv-report export`).

pub mod chart;
pub mod columns;
pub mod dotted;
pub mod export;
pub mod font;
pub mod format;
pub mod gifgrid;
pub mod html;
pub mod load;
pub mod page;
pub mod pagedata;
pub mod paper;
pub mod plots;
pub mod serve;
pub mod stats;
pub mod tables;
pub mod trackers;
pub mod variants;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::Result;

pub use export::Format;
use load::Run;

use crate::store::atomic::write_atomic;

#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub registry: PathBuf,
    pub out: PathBuf,
    pub experiments: Vec<String>,
    pub format: Option<Format>,
    /// Where the experiments' spec files are (their `description:` heads each page); none
    /// reads no spec.
    pub specs: Option<PathBuf>,
}

/// What a render produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rendered {
    /// `reports/index.html`; none with `--format`.
    pub index: Option<PathBuf>,
    /// One page per experiment.
    pub pages: Vec<PathBuf>,
    /// The `--format` export (printed by the binary).
    pub text: String,
    /// Damaged runs of the store, one line each (printed by the binary); the report shows the
    /// rest.
    pub damaged: Vec<String>,
}

pub fn render(opts: &ReportOptions) -> Result<Rendered> {
    let (experiments, damaged) = match load::experiments(&opts.registry, &opts.experiments)? {
        Some(e) => e,
        None if !opts.experiments.is_empty() => anyhow::bail!("the registry {} holds no runs", opts.registry.display()),
        None => Default::default(),
    };
    let damaged: Vec<String> = damaged.iter().map(ToString::to_string).collect();
    if let Some(format) = opts.format {
        let mut text = String::new();
        for (name, runs) in &experiments {
            let (variants, params) = variants::group(runs);
            text.push_str(&export::render(name, &tables::comparison(&variants, &params), format));
        }
        return Ok(Rendered { text, damaged, ..Default::default() });
    }
    let descriptions = opts.specs.as_deref().map(load::descriptions).unwrap_or_default();
    let mut pages = Vec::new();
    for (name, runs) in &experiments {
        pages.push(page::write(name, descriptions.get(name).map(String::as_str), runs, &opts.out.join(name))?);
    }
    let index = opts.out.join("index.html");
    write_atomic(&opts.out.join(html::SCRIPT_NAME), html::SCRIPT.as_bytes())?;
    write_atomic(&index, index_page(&opts.registry, &experiments, &descriptions, &damaged).as_bytes())?;
    Ok(Rendered { index: Some(index), pages, text: String::new(), damaged })
}

/// `reports/index.html`: every experiment with its runs' states, or a note that there are none;
/// the store's damaged runs below.
fn index_page(
    registry: &Path,
    experiments: &BTreeMap<String, Vec<Run>>,
    descriptions: &BTreeMap<String, String>,
    damaged: &[String],
) -> String {
    let body = maud::html! {
        h1 { "ttv experiments" }
        @if !damaged.is_empty() {
            div id="damaged" {
                p { "Damaged runs (left out where their status cannot be read; " code { "ttv-run --retry-failed" } " reruns them):" }
                ul { @for d in damaged { li { code { (d) } } } }
            }
        }
        @if experiments.is_empty() {
            p id="empty" {
                "The registry " code { (registry.display()) } " holds no runs yet. Run "
                code { "ttv-run experiments/<spec>.yaml" } ", then " code { "ttv-report" } " again."
            }
        } @else {
            table id="experiments" class="sortable" {
                thead { tr { th { "experiment" } th { "description" } th { "variants" } th { "runs" } th { "states" } } }
                tbody {
                    @for (name, runs) in experiments {
                        @let states: Vec<&str> = runs.iter().map(|r| r.state.as_str()).collect();
                        tr {
                            td { a href={ (name) "/index.html" } { (name) } }
                            td { (descriptions.get(name).map_or("", String::as_str)) }
                            td.num { (variants::group(runs).0.len()) }
                            td.num { (runs.len()) }
                            td {
                                @for (i, s) in states.iter().copied().collect::<BTreeSet<_>>().into_iter().enumerate() {
                                    @if i > 0 { ", " }
                                    (states.iter().filter(|x| **x == s).count()) " " (html::state(s))
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    html::page("ttv experiments", body)
}
