//! One experiment's page: what it is for (the spec's description), a contents list, which
//! variant is better (a sortable comparison), curves to hover and toggle, the swept parameters
//! in parallel coordinates, by how much and at what cost (plots, steps vs quality per halting
//! threshold, the paper's Tables I, II and III), what the videos look like (GIF grids), and
//! every run with its state, reason and the spec fields that set it apart, plus a diff of any
//! two runs. Writes the page's images and script beside it.

use std::path::Path;

use anyhow::Result;
use maud::{Markup, PreEscaped, html};

use super::chart::{self, Figure};
use super::dotted::Fields;
use super::gifgrid;
use super::html;
use super::load::Run;
use super::pagedata;
use super::paper;
use super::plots;
use super::tables;
use super::variants::{self, Variant};
use crate::store::atomic::write_atomic;

/// The page's sections: (anchor, title), in order; the contents list links them.
const SECTIONS: [(&str, &str); 12] = [
    ("sec-comparison", "Comparison"),
    ("sec-curves", "Curves"),
    ("sec-parallel", "Parallel coordinates"),
    ("sec-plots", "Plots"),
    ("sec-thresholds", "Halting thresholds: steps vs quality"),
    ("sec-samples", "Samples"),
    ("sec-table-i", "Table I: hyperparameters"),
    ("sec-table-ii", "Table II: training progress by fraction of the schedule"),
    ("sec-table-iii", "Table III: resources"),
    ("sec-runs", "Runs"),
    ("sec-diff", "Run diff"),
    ("sec-spec", "Shared spec"),
];

fn h2(anchor: &str) -> Markup {
    let title = SECTIONS.iter().find(|s| s.0 == anchor).map_or(anchor, |s| s.1);
    html! { h2 id=(anchor) { (title) } }
}

/// Render experiment `name` into `dir` (index.html, report.js, plots/, grids/); returns the page
/// path. `description` is the spec's `description:`, shown under the title.
pub fn write(name: &str, description: Option<&str>, runs: &[Run], dir: &Path) -> Result<std::path::PathBuf> {
    let (variants, params) = variants::group(runs);
    let index_of = |label: &str| variants.iter().position(|v| v.label == label);
    let done = runs.iter().filter(|r| r.done()).count();
    let plots = plots(&variants, &params, dir)?;
    let thresholds = thresholds(&variants, &params, dir)?;
    let samples = samples(&variants, dir)?;
    let ordered = pagedata::runs(&variants);
    let fields = pagedata::spec_fields(&ordered);
    let data = pagedata::json(name, &variants, &params, &fields);
    let table_iii_quote: Vec<String> = paper::TABLE_III.iter().map(|f| format!("{}: {}", f.key, f.text)).collect();
    let body = html! {
        p.sub { a href="../index.html" { "all experiments" } }
        h1 { (name) }
        @if let Some(d) = description { p.description { (d) } }
        (summary(runs))
        nav id="contents" {
            strong { "Contents" }
            ol { @for (anchor, title) in SECTIONS { li { a href={ "#" (anchor) } { (title) } } } }
        }

        (h2("sec-comparison"))
        (legend(&variants))
        @if done == 0 {
            p {
                strong { "No run of this experiment has finished yet" }
                ": the tables and plots fill in as runs reach " code { "done" } ". Their states are listed below."
            }
        }
        p.sub {
            "Final values over each variant's finished seeds: mean ± half its 95% confidence interval (Student t, n − 1 degrees              of freedom; hover a cell for the interval, std and n; n=1: no interval). Compare variants by their intervals. ★ the best quality              where one variant alone reaches it (costs — parameters, steps, time, memory — are not starred).              Columns show only the swept parameters"
            @if params.is_empty() { " (none are swept)" }
            ". Click a header to sort."
        }
        input.filter type="search" placeholder="filter variants" data-table="comparison" aria-label="filter variants";
        (html::table(&tables::comparison(&variants, &params), index_of))
        (not_finished(runs))

        (h2("sec-curves"))
        p.sub { "Hover a curve for its values; click a legend entry to hide or show that variant on both charts." }
        div.chart id="curve-loss" {}
        p { label { "Eval metric " select id="eval-metric" {} } }
        div.chart id="curve-eval" {}

        (h2("sec-parallel"))
        p.sub {
            "One line per variant across its swept parameters to the chosen metric (mean over finished seeds);              the metric's better end is at the top, lines run from red (worst) to green (best)."
        }
        p { label { "Metric " select id="pc-metric" {} } }
        div.chart id="parcoords" {}
        noscript { p { "The curves, parallel coordinates and run diff need JavaScript; the plots below do not." } }

        (h2("sec-plots"))
        (plots)

        (h2("sec-thresholds"))
        (thresholds)

        (h2("sec-samples"))
        (samples)

        (h2("sec-table-i"))
        blockquote {
            "Paper, Table I (key hyperparameters), the entries a spec sets, values as printed; the optimizer is named in its "
            "learning-rate row and the epochs are in Section VI-A. Below it each variant's resolved values; \u{2260} marks one that "
            "differs from the paper's (parameters: by more than 10% of ~115M; layers: outside 4\u{2013}6 in total)."
        }
        (html::table(&tables::table_i(&variants, &params), index_of))
        (h2("sec-table-ii"))
        blockquote {
            "Paper: " (paper::TABLE_II_QUOTE) ". Recon. MSE there is on the training set; ours is the trainer's "
            code { "recon_mse" } " at the end of the epoch."
        }
        p.sub {
            "Rows are aligned by the fraction of the schedule done (update / total updates), not by epoch number: the paper's "
            "three epochs are 1/3, 2/3 and all of its schedule, and each is beside our evaluation nearest that fraction "
            "(\u{201c}ours at\u{201d} names its epoch and update). Values are the mean over finished seeds ± half the 95% "
            "confidence interval."
        }
        (html::table(&tables::table_ii(&variants, &params), index_of))
        (h2("sec-table-iii"))
        blockquote {
            "Paper (single NVIDIA T4, 16 GB): " (table_iii_quote.join("; "))
            ". Where the paper states a bound (<), the ratio is against the bound. Ours ran on the device listed."
        }
        (html::table(&tables::table_iii(&variants, &params), index_of))

        (h2("sec-runs"))
        p.sub { "The spec column lists the resolved spec fields that differ between this experiment's runs; the rest are under " a href="#sec-spec" { "Shared spec" } "." }
        input.filter type="search" placeholder="filter runs (e.g. failed, seed 1)" data-table="runs" aria-label="filter runs";
        (all_runs(&ordered, &variants, &fields))

        (h2("sec-diff"))
        p { label { "Run A " select id="diff-a" {} } " " label { "Run B " select id="diff-b" {} } }
        div id="diff-out" {}

        (h2("sec-spec"))
        (shared_spec(&fields))
        p.sub { "Paper figures: " (paper::CITATION) ". Generated by ttv-report " (env!("CARGO_PKG_VERSION")) "." }
        script type="application/json" id="ttv-data" { (PreEscaped(pagedata::script_text(&data))) }
    };
    let path = dir.join("index.html");
    write_atomic(&dir.join(html::SCRIPT_NAME), html::SCRIPT.as_bytes())?;
    write_atomic(&path, html::page(name, body).as_bytes())?;
    Ok(path)
}

/// The plots, each saved as PNG and SVG under `dir/plots` and shown as a captioned figure.
fn plots(variants: &[Variant], params: &[String], dir: &Path) -> Result<Markup> {
    let mut figures: Vec<Markup> = Vec::new();
    let mut figure = |fig: Option<Figure>, stem: &str, caption: &str| -> Result<()> {
        let Some(fig) = fig else { return Ok(()) };
        chart::save(&fig, &dir.join("plots"), stem)?;
        let (w, h) = fig.size();
        figures.push(html! {
            figure {
                img src={ "plots/" (stem) ".png" } width=(w) height=(h) alt=(caption);
                figcaption {
                    (caption) " " a href={ "plots/" (stem) ".svg" } { "SVG" }
                    @for n in &fig.notes { br; strong.note { (n) } }
                }
            }
        });
        Ok(())
    };
    figure(
        plots::loss(variants),
        "loss",
        "Training loss per optimizer step (faint: each run; bold: its moving average), all runs with logged steps. \
         Past ten variants, one panel per setting of the leading swept parameters, all on one y axis.",
    )?;
    figure(
        plots::eval_epochs(variants),
        "eval_epochs",
        "Eval metrics per epoch: mean over finished seeds with its 95% confidence interval; dashed: the paper's Table II (its recon. MSE is on the training set).",
    )?;
    for p in variants::numeric_params(variants, params) {
        let caption = format!(
            "Final metrics vs {p}: grey dots are seeds, the line is the mean with its 95% confidence interval; dashed lines are variants that do not set {p}."
        );
        figure(plots::sweep(variants, &p), &format!("sweep_{}", slug(&p)), &caption)?;
    }
    figure(
        plots::quality_vs_compute(variants),
        "quality_vs_compute",
        "Quality vs compute: one point per variant (mean over seeds with its 95% confidence interval on both axes).",
    )?;
    Ok(html! {
        @for f in &figures { (f) }
        @if figures.is_empty() { p { "Nothing to plot yet: no run has logged metrics." } }
    })
}

/// The runs re-evaluated at other halting thresholds (`ttv-run thresholds`): the plot of steps
/// against quality and its table, or a line saying how to get them.
fn thresholds(variants: &[Variant], params: &[String], dir: &Path) -> Result<Markup> {
    let (Some(fig), Some(table)) = (plots::thresholds(variants), tables::thresholds(variants, params)) else {
        return Ok(html! {
            p.sub {
                "No finished run of this experiment was evaluated again at other halting thresholds; "
                code { "ttv-run thresholds <spec>" } " does it from the runs' checkpoints."
            }
        });
    };
    chart::save(&fig, &dir.join("plots"), "thresholds")?;
    let (w, h) = fig.size();
    let index_of = |label: &str| variants.iter().position(|v| v.label == label);
    let caption = "Average reasoning steps against quality as the halting threshold is raised: each trained run's last \
                   checkpoint generates again at thresholds 0.3 to 0.9 (the threshold acts only at generation). One point per \
                   threshold, labelled with it; the mean over a variant's finished seeds with its 95% confidence interval on both axes.";
    Ok(html! {
        figure {
            img src="plots/thresholds.png" width=(w) height=(h) alt=(caption);
            figcaption { (caption) " " a href="plots/thresholds.svg" { "SVG" } }
        }
        (html::table(&table, index_of))
    })
}

fn summary(runs: &[Run]) -> Markup {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for r in runs {
        match counts.iter_mut().find(|c| c.0 == r.state) {
            Some(c) => c.1 += 1,
            None => counts.push((r.state.clone(), 1)),
        }
    }
    let mut devices: Vec<&str> = runs.iter().map(|r| r.device.as_str()).filter(|d| !d.is_empty()).collect();
    devices.sort_unstable();
    devices.dedup();
    html! {
        p {
            (runs.len()) " runs: "
            @for (i, (state, n)) in counts.iter().enumerate() {
                @if i > 0 { ", " }
                (n) " " (html::state(state))
            }
            @if !devices.is_empty() { " · device: " (devices.join(", ")) }
        }
    }
}

fn legend(variants: &[Variant]) -> Markup {
    html! {
        p.legend {
            @for (i, v) in variants.iter().enumerate() {
                span.item { (html::mark(i)) (v.label) }
            }
        }
    }
}

fn not_finished(runs: &[Run]) -> Markup {
    let open: Vec<&Run> = runs.iter().filter(|r| !r.done()).collect();
    html! {
        @if !open.is_empty() {
            h3 { "Not finished" }
            table id="not-finished" {
                thead { tr { th { "run" } th { "variant" } th { "seed" } th { "state" } th { "reason" } } }
                tbody {
                    @for r in open {
                        tr data-run=(r.short) {
                            td { code { (r.short) } }
                            td { (r.label) }
                            td { (r.seed) }
                            td { (html::state(&r.state)) }
                            td { (r.reason.as_deref().unwrap_or("")) }
                        }
                    }
                }
            }
        }
    }
}

/// GIF grids: the variants side by side at their last sampled epoch, then each variant's
/// epochs side by side; plus the training data preview.
fn samples(variants: &[Variant], dir: &Path) -> Result<Markup> {
    let reps: Vec<(&Variant, &Run, u32)> = variants
        .iter()
        .filter_map(|v| {
            let r = v.representative()?;
            Some((v, r, *r.sample_epochs().last()?))
        })
        .collect();
    let mut parts: Vec<Markup> = Vec::new();
    if reps.is_empty() {
        parts.push(html! { p { "No sample GIFs yet." } });
    } else {
        parts.push(html! { h3 { "Variants" } });
        let cols: Vec<String> = reps.iter().map(|(v, r, e)| format!("{} (seed {}, epoch {e})", v.label, r.seed)).collect();
        let columns: Vec<(&Run, u32)> = reps.iter().map(|(_, r, e)| (*r, *e)).collect();
        parts.push(grid(dir, "grids/variants.gif", &columns, &cols, "generated samples of each variant")?);
        for (i, (v, r, _)) in reps.iter().enumerate() {
            let epochs = r.sample_epochs();
            if epochs.len() < 2 {
                continue;
            }
            parts.push(html! { h3 { (v.label) " by epoch (seed " (r.seed) ")" } });
            let columns: Vec<(&Run, u32)> = epochs.iter().map(|&e| (*r, e)).collect();
            let cols: Vec<String> = epochs.iter().map(|e| format!("epoch {e}")).collect();
            let rel = format!("grids/epochs_{:02}.gif", i + 1);
            parts.push(grid(dir, &rel, &columns, &cols, &format!("samples of {} per epoch", v.label))?);
        }
    }
    if let Some(r) = variants.iter().filter_map(Variant::representative).find(|r| r.data_preview().exists()) {
        let preview = r.data_preview();
        write_atomic(&dir.join("grids/data_preview.gif"), &std::fs::read(&preview)?)?;
        // The captions sit beside the grid (data::write_preview).
        let captions = std::fs::read_to_string(preview.with_extension("txt")).unwrap_or_default();
        parts.push(html! {
            h3 { "Training data (run " code { (r.short) } ")" }
            figure {
                img src="grids/data_preview.gif" alt="training data preview" style="image-rendering:pixelated";
                figcaption { details { summary { "captions" } pre { (captions) } } }
            }
        });
    }
    Ok(html! { @for p in &parts { (p) } })
}

/// One grid: rows are the eval prompts (of the first column's run), columns are (run, epoch).
fn grid(dir: &Path, rel: &str, columns: &[(&Run, u32)], captions: &[String], alt: &str) -> Result<Markup> {
    let per_col: Vec<Vec<(String, std::path::PathBuf)>> = columns.iter().map(|(r, e)| r.samples(*e)).collect();
    let n_rows = per_col.iter().map(Vec::len).max().unwrap_or(0);
    let mut prompts: Vec<String> = Vec::with_capacity(n_rows);
    let mut cells: Vec<Vec<Option<gifgrid::Clip>>> = Vec::with_capacity(n_rows);
    let mut missing = 0;
    for i in 0..n_rows {
        let mut texts: Vec<&str> = per_col.iter().filter_map(|c| c.get(i).map(|p| p.0.as_str())).collect();
        texts.dedup();
        prompts.push(texts.join(" / "));
        cells.push(
            per_col
                .iter()
                .map(|c| {
                    let clip = c.get(i).and_then(|(_, p)| gifgrid::decode(p).ok());
                    missing += usize::from(clip.is_none());
                    clip
                })
                .collect(),
        );
    }
    if n_rows == 0 {
        return Ok(html! { p { "No eval prompts recorded (prompts.txt is missing)." } });
    }
    let layout = gifgrid::write(&dir.join(rel), &cells)?;
    Ok(html! {
        (html::gif_grid(rel, &layout, captions, &prompts, alt))
        @if missing > 0 { p.sub { (missing) " grey cell(s): the GIF is missing or unreadable." } }
    })
}

/// A training time as a reader says it (`3m 12s`; milliseconds only under a second).
fn duration(seconds: f64) -> String {
    let d = if seconds >= 1.0 {
        std::time::Duration::from_secs(seconds.round() as u64)
    } else {
        std::time::Duration::from_millis((seconds.max(0.0) * 1e3).round() as u64)
    };
    humantime::format_duration(d).to_string()
}

fn all_runs(runs: &[(usize, &Run)], variants: &[Variant], fields: &Fields) -> Markup {
    html! {
        div.scroll {
            table id="runs" class="sortable" {
                thead {
                    tr {
                        @for h in ["run", "variant", "seed", "state", "device", "train time", "FID", "notes / reason", "spec (fields that vary)"] {
                            th { (h) }
                        }
                    }
                }
                tbody {
                    @for ((i, r), spec) in runs.iter().zip(&fields.per_run) {
                        @let fid = match (r.result("fid"), r.pending("fid")) {
                            (Some(f), _) => super::format::sig(f),
                            (None, Some(_)) => "pending".into(),
                            (None, None) => "—".into(),
                        };
                        @let train = r.result("train_s").map_or("—".into(), duration);
                        @let why: Vec<String> = r.reason.iter().chain(&r.notes).cloned().collect();
                        tr data-run=(r.short) {
                            td { (html::mark(*i)) code title=(r.hash) { (r.short) } }
                            td { (variants[*i].label) }
                            td.num data-sort=(r.seed) { (r.seed) }
                            td { (html::state(&r.state)) }
                            td { (r.device) }
                            td.num data-sort=[r.result("train_s")] { (train) }
                            td.num data-sort=[r.result("fid")] { (fid) }
                            td { (why.join("; ")) }
                            td.spec {
                                @if r.spec_yaml().is_none() {
                                    span.sub { "no spec.yaml" }
                                } @else {
                                    ul.fields { @for (k, v) in spec.iter().filter(|(k, _)| *k != "seed") { li { code { (k) } " = " (v) } } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The resolved spec fields every run shares, once.
fn shared_spec(fields: &Fields) -> Markup {
    html! {
        @if fields.common.is_empty() {
            p { "No run has a readable spec.yaml." }
        } @else {
            details id="shared-spec" {
                summary { (fields.common.len()) " resolved spec fields shared by every run" }
                pre { @for (k, v) in &fields.common { (k) ": " (v) "\n" } }
            }
        }
    }
}

/// A file-name-safe form of a parameter name.
fn slug(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}
