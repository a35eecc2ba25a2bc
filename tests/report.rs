//! `ttv-report` end to end: a small registry trained here by the real `ttv-run` (two variants x
//! two seeds of a tiny spec on the CPU, plus failed and interrupted runs made with `TTV_FAULT`)
//! rendered to HTML, the page parsed and its tables checked against the Parquet files; the
//! exports and `--help`; the page loaded in headless Chromium, which must load every image; and
//! the TensorBoard and MLflow exports read back by those tools (tests/report/trackers.rs).

mod common;
#[path = "report/trackers.rs"]
mod trackers;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use polars::prelude::*;
use scraper::{ElementRef, Html, Selector};
use ttv::report::{ReportOptions, render, serve};
use ttv::store::RunState;
use ttv::store::Store;

const EXPERIMENT: &str = "tiny";
const EPOCHS: u32 = 3;
const PROMPTS: [&str; 2] = ["a red ball moving left to right", "a blue square rotating clockwise"];

/// The tiny spec (tests/common) with 3 reasoning steps and 8 accumulated micro-batches; FID
/// asked for but the weights hidden (pending), alignment and temporal coherence computed; two
/// thresholds x seeds 0 and 1. Its description (with markup to escape) heads the page.
const SPEC: &str = "
extends: tiny_base.yaml
description: halting threshold on the tiny model, <two> seeds
model:
  engine: {max_steps: 3}
training:
  grad_accum: 8
eval:
  metrics: [fid, recon_mse, gen_mse, avg_steps, halting_accuracy, alignment, temporal_coherence]
seeds: [0, 1]
sweep:
  model.halting.threshold: [0.4, 0.6]
";

/// `ttv-run` on the tiny spec in `dir`, the FID weights out of reach, `TTV_FAULT` as given.
fn ttv_run(dir: &Path, extra: &[&str], fault: Option<&str>) -> std::process::Output {
    let args: Vec<&str> = ["tiny.yaml"].into_iter().chain(extra.iter().copied()).collect();
    let mut env = common::NO_WEIGHTS.to_vec();
    env.extend(fault.map(|f| ("TTV_FAULT", f)));
    common::ttv_run(dir, &args, &env)
}

/// The registry, trained once per test binary: both variants x seeds 0 and 1 done; seed 7 of
/// both variants failed (NaN loss at update 2); seed 8 of the first variant killed after its
/// first checkpoint (running, no live claim: interrupted).
fn registry() -> &'static Path {
    static REGISTRY: OnceLock<PathBuf> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-fixture");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("tiny_base.yaml"), common::TINY).unwrap();
        std::fs::write(dir.join("tiny.yaml"), SPEC).unwrap();
        let done = ttv_run(&dir, &[], None);
        assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
        let failed = ttv_run(&dir, &["-s", "seeds=[7]"], Some("nan-at-update=2"));
        assert!(!failed.status.success(), "the NaN runs fail");
        // Runs go in order: the first variant's is killed, the second never starts.
        let killed = ttv_run(&dir, &["-s", "seeds=[8]"], Some("abort-after-checkpoint=1"));
        assert!(!killed.status.success(), "the run is killed");
        dir.join("registry")
    })
}

/// The reason every run of the fixture gives for its pending FID (from its status.json).
fn fid_note(registry: &Path) -> String {
    let store = Store::at(registry);
    let notes: Vec<String> = std::fs::read_dir(store.runs_dir())
        .unwrap()
        .filter_map(|run| store.status(&run.unwrap().file_name().to_string_lossy()))
        .filter(|s| s.state == RunState::Done)
        .flat_map(|s| s.notes.into_iter().filter(|n| n.starts_with("FID pending")))
        .collect();
    assert_eq!(notes.len(), 4, "{notes:?}");
    notes[0].clone()
}

/// Render the fixture's report into `dir/reports`.
fn rendered(dir: &Path) -> (PathBuf, PathBuf) {
    let registry = registry().to_path_buf();
    let out = dir.join("reports");
    let specs = registry.parent().map(Path::to_path_buf);
    let opts = ReportOptions { registry: registry.clone(), out: out.clone(), experiments: vec![], format: None, specs };
    let r = render(&opts).unwrap();
    assert_eq!(r.pages, vec![out.join(EXPERIMENT).join("index.html")]);
    (registry, out)
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

fn frame(path: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(path).unwrap()).finish().unwrap()
}

/// Eval values from every finished run's metrics.parquet: (label, epoch, metric) -> values.
fn eval_from_parquet(registry: &Path) -> BTreeMap<(String, u32, String), Vec<f64>> {
    let index = frame(&registry.join("index.parquet"));
    let mut out: BTreeMap<(String, u32, String), Vec<f64>> = BTreeMap::new();
    for i in 0..index.height() {
        if index.column("status").unwrap().str().unwrap().get(i) != Some("done") {
            continue;
        }
        let hash = index.column("hash").unwrap().str().unwrap().get(i).unwrap();
        let label = index.column("label").unwrap().str().unwrap().get(i).unwrap().to_string();
        let m = frame(&registry.join("runs").join(&hash[..12]).join("metrics.parquet"));
        let (split, metric) = (m.column("split").unwrap().str().unwrap(), m.column("metric").unwrap().str().unwrap());
        let (epoch, val) = (m.column("epoch").unwrap().u32().unwrap(), m.column("value").unwrap().f64().unwrap());
        for j in 0..m.height() {
            if split.get(j) == Some("eval") {
                let key = (label.clone(), epoch.get(j).unwrap(), metric.get(j).unwrap().to_string());
                out.entry(key).or_default().push(val.get(j).unwrap());
            }
        }
    }
    out
}

/// Results columns of index.parquet for finished runs: (label, key) -> values.
fn results_from_index(registry: &Path) -> BTreeMap<(String, String), Vec<f64>> {
    let index = frame(&registry.join("index.parquet"));
    let mut out: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for key in [
        "params",
        "ckpt_bytes",
        "peak_mem_bytes",
        "peak_infer_mem_bytes",
        "train_s",
        "gen_ms_b1",
        "gen_ms_b64",
        "fid",
        "gen_mse",
        "avg_steps",
    ] {
        // A result no run has (FID while pending) has no column.
        let Ok(col) = index.column(key) else { continue };
        let col = col.f64().unwrap().clone();
        for i in 0..index.height() {
            if index.column("status").unwrap().str().unwrap().get(i) != Some("done") {
                continue;
            }
            let label = index.column("label").unwrap().str().unwrap().get(i).unwrap().to_string();
            if let Some(v) = col.get(i) {
                out.entry((label, key.to_string())).or_default().push(v);
            }
        }
    }
    out
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    (m, (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt())
}

/// Student's t 97.5% quantile for the few degrees of freedom the fixtures have.
fn t975(df: usize) -> f64 {
    match df {
        1 => 12.706204736,
        2 => 4.302652730,
        3 => 3.182446305,
        _ => panic!("no t quantile for {df} degrees of freedom here"),
    }
}

fn cell<'a>(row: ElementRef<'a>, col: &str) -> ElementRef<'a> {
    row.select(&sel(&format!("td[data-col=\"{col}\"]"))).next().unwrap_or_else(|| panic!("no cell {col} in row"))
}

fn attr(e: ElementRef, name: &str) -> f64 {
    e.value().attr(name).unwrap_or_else(|| panic!("no {name} on {}", e.html())).parse().unwrap()
}

fn text(e: ElementRef) -> String {
    e.text().collect::<String>()
}

/// The cell holds `expected` over seeds: exactly in its data attributes, to 4 significant
/// digits in its text.
fn check_stat(e: ElementRef, values: &[f64]) {
    let (m, sd) = mean_std(values);
    assert!((attr(e, "data-mean") - m).abs() <= 1e-12 * m.abs().max(1.0), "{} vs mean {m}", e.html());
    assert!((attr(e, "data-std") - sd).abs() <= 1e-12 * sd.abs().max(1.0), "{} vs std {sd}", e.html());
    assert_eq!(attr(e, "data-n"), values.len() as f64);
    // The 95% interval of the mean: t(0.975, n - 1) * std / sqrt(n) either side.
    let half = t975(values.len() - 1) * sd / (values.len() as f64).sqrt();
    assert!((attr(e, "data-ci-lo") - (m - half)).abs() <= 1e-9 * half.max(m.abs()).max(1e-12), "{}", e.html());
    assert!((attr(e, "data-ci-hi") - (m + half)).abs() <= 1e-9 * half.max(m.abs()).max(1e-12), "{}", e.html());
    // "mean ± half-interval unit": the shown mean, scaled back by its unit, to 4 significant digits.
    let t = text(e);
    let words: Vec<&str> = t.split_whitespace().collect();
    assert_eq!(words[1], "±", "{t}");
    let factor = match words.get(3).copied() {
        None | Some("s") | Some("ms") | Some("B") => 1.0,
        Some("k") | Some("kB") => 1e3,
        Some("M") | Some("MB") => 1e6,
        Some("GB") => 1e9,
        Some("min") => 60.0,
        Some("h") => 3600.0,
        Some(u) => panic!("unit {u} in {t}"),
    };
    let shown: f64 = words[0].parse::<f64>().unwrap() * factor;
    assert!((shown - m).abs() <= 5e-4 * m.abs(), "{t} shows {shown}, mean is {m}");
}

fn rows_of<'a>(doc: &'a Html, table: &str) -> Vec<ElementRef<'a>> {
    doc.select(&sel(&format!("table#{table} tbody tr"))).collect()
}

#[test]
fn report_tables_match_the_parquet_files() {
    let dir = tempfile::tempdir().unwrap();
    let (registry, out) = rendered(dir.path());
    let page = std::fs::read_to_string(out.join(EXPERIMENT).join("index.html")).unwrap();
    let doc = Html::parse_document(&page);
    let eval = eval_from_parquet(&registry);
    let results = results_from_index(&registry);
    let labels = ["threshold=0.4", "threshold=0.6"];

    // Comparison: one row per variant, only the swept parameter as a column.
    let rows = rows_of(&doc, "comparison");
    assert_eq!(rows.iter().map(|r| r.value().attr("data-variant").unwrap()).collect::<Vec<_>>(), labels);
    let header: Vec<String> =
        doc.select(&sel("table#comparison thead th")).map(|h| h.value().attr("data-col").unwrap().to_string()).collect();
    assert_eq!(header[..2], ["threshold".to_string(), "runs".to_string()]);
    assert_eq!(text(cell(rows[0], "threshold")), "0.4");
    assert_eq!(text(cell(rows[0], "runs")), "2 / 4", "the failed and interrupted runs count, but not in the means");
    assert_eq!(text(cell(rows[1], "runs")), "2 / 3");
    let note = fid_note(&registry);
    for (row, label) in rows.iter().zip(labels) {
        for key in ["gen_mse", "avg_steps", "recon_mse", "alignment", "temporal_mse", "persistence"] {
            check_stat(cell(*row, key), &eval[&(label.to_string(), EPOCHS, key.to_string())]);
        }
        check_stat(cell(*row, "gen_ms_b1"), &results[&(label.to_string(), "gen_ms_b1".to_string())]);
        // No weights, no number: FID is pending, with the trainer's reason.
        let pending = cell(*row, "fid");
        assert_eq!(text(pending), "pending");
        assert_eq!(pending.value().attr("title"), Some(note.as_str()));
        assert!(page.contains(&format!("FID, KID pending for threshold=0.4; threshold=0.6: {note}")), "{label}");
        assert!(!pending.value().classes().any(|c| c == "best"));
    }
    // Best starred: the lower mean generation MSE, unless both show the same value (a tie).
    let means: Vec<f64> = labels.iter().map(|l| mean_std(&eval[&(l.to_string(), EPOCHS, "gen_mse".to_string())]).0).collect();
    let shown: Vec<String> = means.iter().map(|m| ttv::report::format::value(*m, ttv::report::format::Unit::Plain)).collect();
    let lowest = means.iter().copied().fold(f64::INFINITY, f64::min);
    for ((row, mean), text) in rows.iter().zip(&means).zip(&shown) {
        let sole = *mean == lowest && shown.iter().filter(|s| *s == text).count() == 1;
        assert_eq!(cell(*row, "gen_mse").value().classes().any(|c| c == "best"), sole, "{means:?}");
    }
    // Costs are never starred.
    for key in ["gen_ms_b1", "avg_steps"] {
        assert!(rows.iter().all(|r| !cell(*r, key).value().classes().any(|c| c == "best")), "{key} starred");
    }

    // Table I: the paper's values as printed, then each variant's resolved values, differences marked.
    let rows = rows_of(&doc, "table-i");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].value().attr("data-variant"), Some("paper (Table I)"));
    let paper_row: Vec<String> =
        ["hidden", "heads", "hl_layers", "max_steps", "threshold", "optimizer", "lr", "batch", "epochs", "params"]
            .iter()
            .map(|k| text(cell(rows[0], &format!("hp_{k}"))))
            .collect();
    assert_eq!(paper_row, ["256", "8", "4–6 total", "3", "0.5", "AdamW", "1 × 10⁻⁴", "2 × 8 steps = 16", "3", "~115M"]);
    for (row, threshold) in rows[1..].iter().zip(["0.4", "0.6"]) {
        let hp = |k: &str| cell(*row, &format!("hp_{k}"));
        let differs = |k: &str| hp(k).value().classes().any(|c| c == "differs");
        for (key, shown, differ) in [
            ("hidden", "32", true),
            ("heads", "4", true),
            ("hl_layers", "1 H + 1 L = 2 (hrm)", true),
            ("max_steps", "3", false),
            ("threshold", threshold, true),
            ("optimizer", "adamw", false),
            ("lr", "0.001", true),
            ("batch", "4 × 8 = 32", true),
            ("epochs", "3", false),
        ] {
            assert_eq!((text(hp(key)), differs(key)), (shown.to_string(), differ), "{key}");
        }
        assert!(differs("params") && text(hp("params")).ends_with(" M"), "{}", text(hp("params")));
    }

    // Table II: per variant and epoch, ours beside the paper's figure and the ratio.
    let rows = rows_of(&doc, "table-ii");
    assert_eq!(rows.len(), 2 * EPOCHS as usize);
    let paper = [(120.5, 2.8, 0.45), (85.2, 2.3, 0.32), (62.1, 2.1, 0.28)];
    for row in &rows {
        let label = row.value().attr("data-variant").unwrap().to_string();
        let epoch: u32 = row.value().attr("data-epoch").unwrap().parse().unwrap();
        let (fid_p, steps_p, mse_p) = paper[epoch as usize - 1];
        // Three epochs like the paper's: its row k is our epoch k, the schedule's k/3.
        assert!(text(cell(*row, "paper_row")).starts_with(&format!("Epoch {epoch} (")), "{}", row.html());
        let at = text(cell(*row, "ours_at"));
        assert!(at.starts_with(&format!("epoch {epoch}, update ")) && at.contains(" of "), "{at}");
        for (key, p) in [("avg_steps", steps_p), ("recon_mse", mse_p)] {
            let values = &eval[&(label.clone(), epoch, key.to_string())];
            check_stat(cell(*row, key), values);
            assert_eq!(attr(cell(*row, &format!("{key}_paper")), "data-value"), p);
            let ratio = attr(cell(*row, &format!("{key}_ratio")), "data-value");
            assert!((ratio - mean_std(values).0 / p).abs() < 1e-12);
        }
        assert_eq!(attr(cell(*row, "fid_paper"), "data-value"), fid_p);
        assert_eq!(text(cell(*row, "fid_paper")), format!("{fid_p:.1}"));
        match eval.get(&(label.clone(), epoch, "fid".to_string())) {
            Some(values) => check_stat(cell(*row, "fid"), values),
            None => assert_eq!(text(cell(*row, "fid")), "pending"),
        }
    }

    // Table III: resources from index.parquet, beside the paper's T4 figures.
    let rows = rows_of(&doc, "table-iii");
    assert_eq!(rows.len(), 2);
    for (row, label) in rows.iter().zip(labels) {
        for key in ["params", "ckpt_bytes", "peak_mem_bytes", "peak_infer_mem_bytes", "train_s", "gen_ms_b1", "gen_ms_b64"] {
            let values = &results[&(label.to_string(), key.to_string())];
            let e = cell(*row, key);
            let (m, _) = mean_std(values);
            assert!((attr(e, "data-mean") - m).abs() <= 1e-9 * m, "{key}: {}", e.html());
        }
        assert_eq!(text(cell(*row, "params_paper")), "~115 million");
        assert_eq!(text(cell(*row, "gen_ms_b1_paper")), "<1 second");
        let ratio = attr(cell(*row, "params_ratio"), "data-value");
        assert!((ratio - mean_std(&results[&(label.to_string(), "params".to_string())]).0 / 115e6).abs() < 1e-15);
        assert_eq!(text(cell(*row, "device")), ttv::backend::describe(ttv::backend::Device::Cpu));
    }

    // Runs that did not finish are listed with their state and reason.
    let open: Vec<String> = rows_of(&doc, "not-finished").iter().map(|r| text(*r)).collect();
    assert_eq!(open.len(), 3, "{open:?}");
    assert_eq!(open.iter().filter(|r| r.contains("failed") && r.contains("NaN")).count(), 2, "{open:?}");
    assert!(open.iter().any(|r| r.contains("interrupted") && r.contains("resumes")), "{open:?}");
    assert_eq!(rows_of(&doc, "runs").len(), 7);
    // What the alignment scores are worth is on the page: their chance levels, in each run's notes.
    assert!(page.contains("alignment chance levels on these 2 eval clips"));
    // Each run lists the spec fields that set it apart; the shared ones are listed once.
    for row in rows_of(&doc, "runs") {
        let spec = text(row.select(&sel("td.spec")).next().unwrap());
        assert!(spec.contains("model.halting.threshold = 0."), "{spec}");
        assert!(!spec.contains("data.kind"), "a shared field is not repeated per run: {spec}");
    }
    let shared = text(doc.select(&sel("details#shared-spec pre")).next().expect("the shared spec fields"));
    assert!(shared.contains("data.kind: shapes") && shared.contains("model.hidden: 32"), "{shared}");
    assert!(!shared.contains("model.halting.threshold"), "{shared}");

    // The spec's description under the title (escaped), a contents list whose links all land.
    assert_eq!(text(doc.select(&sel("p.description")).next().unwrap()), "halting threshold on the tiny model, <two> seeds");
    let links: Vec<&str> = doc.select(&sel("nav#contents a")).map(|a| a.value().attr("href").unwrap()).collect();
    assert!(links.len() >= 9, "{links:?}");
    for l in &links {
        assert!(doc.select(&sel(l)).next().is_some(), "contents link {l} lands nowhere");
    }
    // The script beside the page, and the data it reads: every run, its varying spec fields.
    let js = std::fs::read_to_string(out.join(EXPERIMENT).join("report.js")).unwrap();
    assert!(js.contains("SPDX-License-Identifier: MIT OR Apache-2.0"));
    assert!(!js.replace("http://www.w3.org/2000/svg", "").contains("://"), "the script names no address to load from");
    let data: serde_json::Value =
        serde_json::from_str(&text(doc.select(&sel("script#ttv-data")).next().unwrap()).replace("<\\/", "</")).unwrap();
    assert_eq!(data["runs"].as_array().unwrap().len(), 7);
    assert_eq!(data["runs"][0]["spec"]["model.halting.threshold"], "0.4");
    assert_eq!(data["spec_common"]["data.kind"], "shapes");
    let curves: Vec<&str> = data["curves"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert!(curves.contains(&"loss") && curves.contains(&"eval:gen_mse"), "{curves:?}");
    let index_page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(index_page.contains("halting threshold on the tiny model, &lt;two&gt; seeds"));

    // Every image is a relative path to a file beside the page.
    let srcs: Vec<&str> = doc.select(&sel("img")).map(|i| i.value().attr("src").unwrap()).collect();
    for p in [
        "plots/loss.png",
        "plots/eval_epochs.png",
        "plots/sweep_threshold.png",
        "plots/quality_vs_compute.png",
        "grids/variants.gif",
        "grids/epochs_01.gif",
    ] {
        assert!(srcs.contains(&p), "{p} not in {srcs:?}");
    }
    for s in &srcs {
        assert!(!s.contains("://") && !s.starts_with('/'), "{s} is not relative");
        assert!(out.join(EXPERIMENT).join(s).is_file(), "{s} missing");
    }
    for svg in ["loss", "eval_epochs", "sweep_threshold", "quality_vs_compute"] {
        assert!(std::fs::read_to_string(out.join(EXPERIMENT).join(format!("plots/{svg}.svg"))).unwrap().contains("<svg"));
    }
    // The swept halting threshold's plot shows average steps, and quality against them.
    let sweep = std::fs::read_to_string(out.join(EXPERIMENT).join("plots/sweep_threshold.svg")).unwrap();
    assert!(sweep.contains("avg. steps vs threshold") && sweep.contains("vs avg. steps"), "no steps in the threshold plot");
    // No run was evaluated again at other thresholds: no such plot or table, a line says how.
    assert!(doc.select(&sel("table#thresholds")).next().is_none());
    assert!(!srcs.contains(&"plots/thresholds.png"));
    assert!(text(doc.select(&sel("#sec-thresholds + p")).next().unwrap()).contains("ttv-run thresholds"));
    // The variants grid: prompts as rows, variants as columns, captions as page text.
    let caps: Vec<String> = doc.select(&sel(".gifgrid .rowcap")).map(text).collect();
    assert!(caps.starts_with(&PROMPTS.map(String::from)), "{caps:?}");
    let grid = ttv::report::gifgrid::decode(&out.join(EXPERIMENT).join("grids/variants.gif")).unwrap();
    assert_eq!(grid.frames.len(), 4);

    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(index.contains("href=\"tiny/index.html\""));
}

#[test]
fn an_empty_registry_gives_a_page_that_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    let opts =
        ReportOptions { registry: dir.path().join("nothing"), out: out.clone(), experiments: vec![], format: None, specs: None };
    let r = render(&opts).unwrap();
    assert!(r.pages.is_empty());
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    let doc = Html::parse_document(&page);
    assert!(text(doc.select(&sel("#empty")).next().unwrap()).contains("holds no runs yet"));
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap().map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                files.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

#[test]
fn a_report_never_writes_to_the_store_it_reads() {
    // A copy of the trained store without its index, as a result set checked out of git might be.
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    for (path, bytes) in snapshot(registry()) {
        let to = store.join(path.strip_prefix(registry()).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, bytes).unwrap();
    }
    for name in ["index.parquet", "index.lock"] {
        let _ = std::fs::remove_file(store.join(name));
    }
    let before = snapshot(&store);
    let out = dir.path().join("out");
    let run = ttv_report(&["--registry", store.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(out.join("tiny/index.html").exists());
    assert!(before == snapshot(&store), "ttv-report changed, added or removed a file of the store");
}

/// A copy of the trained store in which every finished run was evaluated again at thresholds
/// 0.3 to 0.9 (`thresholds.parquet`, written by the store's own writer) with values made from
/// its seed and the threshold: the report pools them per variant and threshold.
#[test]
fn thresholds_plot_and_table_appear_with_thresholds_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("store");
    for (path, bytes) in snapshot(self::registry()) {
        let to = registry.join(path.strip_prefix(self::registry()).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, bytes).unwrap();
    }
    let store = Store::at(&registry);
    let thresholds = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
    let value = |metric: &str, t: f64, seed: u64| match metric {
        "avg_steps" => 3.0 - 2.0 * t + 0.1 * seed as f64,
        "gen_mse" => 0.1 + 0.05 * t + 0.01 * seed as f64,
        _ => 0.5 - 0.2 * t + 0.03 * seed as f64,
    };
    let mut written = 0;
    for entry in std::fs::read_dir(store.runs_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        let Some(status) = store.status(&name).filter(|s| s.state == RunState::Done) else { continue };
        let rows: Vec<ttv::store::thresholds::ThresholdRow> = thresholds
            .iter()
            .flat_map(|&t| {
                ["avg_steps", "gen_mse", "alignment"].map(|m| ttv::store::thresholds::ThresholdRow {
                    step: 30,
                    threshold: t,
                    metric: m.into(),
                    value: value(m, t, status.seed),
                })
            })
            .collect();
        let path = store.runs_dir().join(&name).join("thresholds.parquet");
        ttv::store::thresholds::merge(&path, &status.hash, &rows).unwrap();
        written += 1;
    }
    assert_eq!(written, 4);
    let out = dir.path().join("reports");
    let opts = ReportOptions { registry, out: out.clone(), experiments: vec![], format: None, specs: None };
    render(&opts).unwrap();
    let page = std::fs::read_to_string(out.join(EXPERIMENT).join("index.html")).unwrap();
    let doc = Html::parse_document(&page);
    let rows = rows_of(&doc, "thresholds");
    assert_eq!(rows.len(), 2 * thresholds.len(), "one row per variant and threshold");
    for (k, row) in rows.iter().enumerate() {
        let t = thresholds[k % thresholds.len()];
        assert_eq!(row.value().attr("data-variant").unwrap(), ["threshold=0.4", "threshold=0.6"][k / thresholds.len()]);
        assert_eq!(text(cell(*row, "eval_threshold")), format!("{t}"));
        assert_eq!(text(cell(*row, "checkpoint")), "update 30");
        for m in ["avg_steps", "gen_mse", "alignment"] {
            check_stat(cell(*row, m), &[value(m, t, 0), value(m, t, 1)]);
        }
    }
    let srcs: Vec<&str> = doc.select(&sel("img")).map(|i| i.value().attr("src").unwrap()).collect();
    assert!(srcs.contains(&"plots/thresholds.png"), "{srcs:?}");
    let svg = std::fs::read_to_string(out.join(EXPERIMENT).join("plots/thresholds.svg")).unwrap();
    assert!(svg.contains("gen. MSE vs avg. steps") && svg.contains("alignment vs avg. steps"), "two panels");
    for t in thresholds {
        assert!(svg.contains(&format!(">\n{t}\n<")), "threshold {t} is not labelled");
    }
}

fn ttv_report(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ttv-report")).args(args).output().unwrap()
}

/// Two runs of one spec file with different `-s training.optimizer.lr` are two variants of one
/// seed each, never one variant of two "seeds".
#[test]
fn runs_that_differ_in_an_override_are_never_pooled() {
    let d = common::Workspace::new();
    d.write("tiny.yaml", &common::TINY.replace("epochs: 3", "epochs: 1"));
    for lr in ["0.001", "0.002"] {
        let out = common::ttv_run(d.path(), &["tiny.yaml", "-s", &format!("training.optimizer.lr={lr}")], common::NO_WEIGHTS);
        assert!(out.status.success(), "{}", common::text(&out));
    }
    let reg = d.path().join("registry");
    let csv = ttv_report(&["--registry", reg.to_str().unwrap(), "--format", "csv"]);
    assert!(csv.status.success(), "{}", String::from_utf8_lossy(&csv.stderr));
    let csv = String::from_utf8(csv.stdout).unwrap();
    let lines: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    let col = |name: &str| lines[0].iter().position(|c| *c == name).unwrap_or_else(|| panic!("no {name} in {csv}"));
    // The file says lr 1e-3: that run is the base, the other is named by what sets it apart.
    let mut variants: Vec<&str> = lines[1..].iter().map(|l| l[col("variant")]).collect();
    variants.sort();
    assert_eq!(variants, ["base", "lr=0.002"], "{csv}");
    assert!(lines[1..].iter().all(|l| l[col("gen_mse_n")] == "1"), "one run each: {csv}");
}

/// Two schedules, 3 and 6 epochs of the same updates per epoch: Table II lines each up with
/// the paper's three rows by the fraction of its schedule done, so the 6-epoch run's rows are
/// its epochs 2, 4 and 6.
#[test]
fn table_ii_aligns_schedules_by_fraction() {
    let d = common::Workspace::new();
    d.write("tiny.yaml", common::TINY);
    for epochs in ["3", "6"] {
        let out = common::ttv_run(d.path(), &["tiny.yaml", "-s", &format!("training.epochs={epochs}")], common::NO_WEIGHTS);
        assert!(out.status.success(), "{}", common::text(&out));
    }
    let out = d.path().join("reports");
    let opts =
        ReportOptions { registry: d.path().join("registry"), out: out.clone(), experiments: vec![], format: None, specs: None };
    render(&opts).unwrap();
    let doc = Html::parse_document(&std::fs::read_to_string(out.join("tiny/index.html")).unwrap());
    let rows = rows_of(&doc, "table-ii");
    let shown: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (r.value().attr("data-variant").unwrap().to_string(), text(cell(*r, "paper_row")), text(cell(*r, "ours_at"))))
        .collect();
    assert_eq!(shown.len(), 6, "{shown:?}");
    // The tiny spec: 8 training clips in batches of 4, 2 updates per epoch; the variant that sets
    // a field sorts before the base.
    let expect = [
        ("epochs=6", "Epoch 1 (Early) (1/3 of the schedule)", "epoch 2, update 4 of 12 (0.3333)"),
        ("epochs=6", "Epoch 2 (Mid) (2/3 of the schedule)", "epoch 4, update 8 of 12 (0.6667)"),
        ("epochs=6", "Epoch 3 (Final) (3/3 of the schedule)", "epoch 6, update 12 of 12 (1.000)"),
        ("base", "Epoch 1 (Early) (1/3 of the schedule)", "epoch 1, update 2 of 6 (0.3333)"),
        ("base", "Epoch 2 (Mid) (2/3 of the schedule)", "epoch 2, update 4 of 6 (0.6667)"),
        ("base", "Epoch 3 (Final) (3/3 of the schedule)", "epoch 3, update 6 of 6 (1.000)"),
    ];
    for (got, want) in shown.iter().zip(expect) {
        assert_eq!((got.0.as_str(), got.1.as_str(), got.2.as_str()), want);
    }
}

#[test]
fn exports_help_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry();
    let reg = registry.to_str().unwrap();
    let results = results_from_index(registry);
    let note = fid_note(registry);

    let csv = ttv_report(&["--registry", reg, "--format", "csv"]);
    assert!(csv.status.success(), "{}", String::from_utf8_lossy(&csv.stderr));
    let csv = String::from_utf8(csv.stdout).unwrap();
    let lines: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    let col = |name: &str| lines[0].iter().position(|c| *c == name).unwrap_or_else(|| panic!("no {name} in {:?}", lines[0]));
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1][col("variant")], "threshold=0.4");
    assert_eq!(lines[1][col("threshold")], "0.4");
    let latency: f64 = lines[2][col("gen_ms_b1_mean")].parse().unwrap();
    assert!((latency - mean_std(&results[&("threshold=0.6".into(), "gen_ms_b1".into())]).0).abs() < 1e-12);
    assert_eq!(lines[2][col("fid_mean")], "", "pending FID has no number");
    // Two seeds: the interval of the mean is t(0.975, 1) * std / sqrt(2) either side.
    let (m, sd) = mean_std(&results[&("threshold=0.6".into(), "gen_ms_b1".into())]);
    let half = t975(1) * sd / 2f64.sqrt();
    let lo: f64 = lines[2][col("gen_ms_b1_ci95_lo")].parse().unwrap();
    let hi: f64 = lines[2][col("gen_ms_b1_ci95_hi")].parse().unwrap();
    assert!((lo - (m - half)).abs() < 1e-9 * m && (hi - (m + half)).abs() < 1e-9 * m, "{lo} {hi}");

    let json = ttv_report(&["--registry", reg, "--format", "json", EXPERIMENT]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["experiment"], EXPERIMENT);
    assert_eq!(v["variants"][1]["fid"]["pending"], note.as_str());
    assert_eq!(v["variants"][0]["gen_mse"]["n"], 2);
    let g = &v["variants"][0]["gen_mse"];
    let half = t975(1) * g["std"].as_f64().unwrap() / 2f64.sqrt();
    assert!((g["ci95_hi"].as_f64().unwrap() - g["mean"].as_f64().unwrap() - half).abs() < 1e-12, "{g}");

    let md = String::from_utf8(ttv_report(&["--registry", reg, "--format", "md"]).stdout).unwrap();
    // A Markdown table: its cells, with the padding that aligns the columns trimmed.
    let md_rows: Vec<Vec<&str>> =
        md.lines().filter(|l| l.starts_with('|')).map(|l| l.trim_matches('|').split('|').map(str::trim).collect()).collect();
    assert!(md.starts_with("## tiny\n\n|"), "{md}");
    assert!(md_rows[0].starts_with(&["variant", "threshold", "runs done", "FID ↓"]), "{md}");
    assert!(md_rows.iter().any(|r| r.starts_with(&["threshold=0.6", "0.6", "2 / 3", "pending"])), "{md}");

    let help = String::from_utf8(ttv_report(&["--help"]).stdout).unwrap();
    for flag in [
        "--registry",
        "--out",
        "--specs",
        "--open",
        "--format",
        "csv",
        "json",
        "md",
        "--serve",
        "--port",
        "EXPERIMENTS",
        "--help",
        "--version",
    ] {
        assert!(help.contains(flag), "--help does not document {flag}:\n{help}");
    }
    let missing = ttv_report(&["--registry", reg, "--out", dir.path().join("r").to_str().unwrap(), "nope"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no runs of experiment `nope`"));
}

/// Debian's Chromium, if installed; CI must have it (.ci/run installs it).
fn chromium(test: &str) -> Option<&'static Path> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].into_iter().map(Path::new).find(|p| p.exists());
    if found.is_none() {
        assert!(std::env::var_os("CI").is_none(), "CI is set but Chromium is missing: .ci/run must install it");
        eprintln!("SKIPPED {test}: no /usr/bin/chromium (apt-get install chromium)");
    }
    found
}

/// Headless Chromium on `url` with `extra` flags and its own profile under `dir`: (stdout, stderr).
fn headless(chromium: &Path, dir: &Path, extra: &[String], url: &Path) -> (String, String) {
    let out = Command::new(chromium)
        .args(["--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-dev-shm-usage", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", dir.join("chromium-profile").display()))
        .args(extra)
        .arg(format!("file://{}", url.display()))
        .output()
        .expect("chromium runs");
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8(out.stdout).unwrap(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The page in a real browser: Debian's headless Chromium must load every <img> (its
/// naturalWidth above 0), and leaves a screenshot in target/report-screenshot.png. Skipped only
/// off CI when Chromium is not installed; .ci/run installs it.
#[test]
fn chromium_loads_every_image() {
    let Some(chromium) = chromium("chromium_loads_every_image") else { return };
    let dir = tempfile::tempdir().unwrap();
    let (_, out) = rendered(dir.path());
    let page = out.join(EXPERIMENT).join("index.html");
    // A copy of the page beside it (same relative links) that reports its images once loaded.
    let probe = out.join(EXPERIMENT).join("probe.html");
    let script = "<script>window.addEventListener('load',()=>{const imgs=[...document.images];\
const bad=imgs.filter(i=>!(i.complete&&i.naturalWidth>0)).map(i=>i.getAttribute('src'));\
const d=document.createElement('div');d.id='probe';d.dataset.total=imgs.length;d.dataset.broken=bad.join(' ');\
d.textContent='PROBE-DONE';document.body.appendChild(d);});</script></body>";
    std::fs::write(&probe, std::fs::read_to_string(&page).unwrap().replace("</body>", script)).unwrap();
    let (dom, _) = headless(chromium, dir.path(), &["--virtual-time-budget=15000".into(), "--dump-dom".into()], &probe);
    let doc = Html::parse_document(&dom);
    let probe_div = doc.select(&sel("#probe")).next().unwrap_or_else(|| panic!("the page never finished loading:\n{dom}"));
    let total: usize = probe_div.value().attr("data-total").unwrap().parse().unwrap();
    let broken = probe_div.value().attr("data-broken").unwrap();
    assert!(total >= 7, "only {total} images on the page");
    assert_eq!(broken, "", "images that did not load");

    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("report-screenshot.png");
    let _ = std::fs::remove_file(&target);
    headless(chromium, dir.path(), &[format!("--screenshot={}", target.display()), "--window-size=1400,2000".into()], &page);
    let png = std::fs::read(&target).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(png.len() > 20_000, "a blank screenshot? {} bytes", png.len());
}

/// What the probe does to the page once its script has run, as a reader would: note every
/// error, sort the runs by seed (twice), hide and show the first variant's curves from the loss
/// chart's legend, filter the runs, and read the run diff and the parallel coordinates. Its
/// findings go into `div#probe` for `--dump-dom`.
const PROBE: &str = r#"<script>
window.__errors = [];
addEventListener('error', (e) => __errors.push(e.message || ('failed to load ' + (e.target && (e.target.src || e.target.href)))), true);
const consoleError = console.error;
console.error = (...a) => { __errors.push(a.join(' ')); consoleError(...a); };
addEventListener('load', () => setTimeout(() => {
  const out = {};
  try {
    const runs = () => [...document.querySelectorAll('table#runs tbody tr')];
    const seeds = () => runs().map((r) => r.cells[2].textContent.trim()).join(' ');
    out.before = runs().map((r) => r.dataset.run).join(' ');
    out.seedsBefore = seeds();
    const th = document.querySelectorAll('table#runs thead th')[2];
    th.click();
    out.after = runs().map((r) => r.dataset.run).join(' ');
    out.seedsAsc = seeds();
    th.click();
    out.seedsDesc = seeds();
    const curves = (box, v) => document.querySelectorAll(`${box} path.curve[data-variant="${v}"]`).length;
    out.loss0 = curves('#curve-loss', 0); out.loss1 = curves('#curve-loss', 1); out.eval0 = curves('#curve-eval', 0);
    document.querySelector('#curve-loss .legend-entry[data-variant="0"]').click();
    out.hiddenLoss0 = curves('#curve-loss', 0); out.hiddenLoss1 = curves('#curve-loss', 1); out.hiddenEval0 = curves('#curve-eval', 0);
    out.entryOff = document.querySelector('#curve-loss .legend-entry[data-variant="0"]').classList.contains('off');
    document.querySelector('#curve-loss .legend-entry[data-variant="0"]').click();
    out.shownLoss0 = curves('#curve-loss', 0);
    const filter = document.querySelector('input.filter[data-table="runs"]');
    filter.value = 'failed';
    filter.dispatchEvent(new Event('input'));
    out.filtered = runs().filter((r) => !r.hidden).length;
    out.diff = [...document.querySelectorAll('#diff-table tbody tr td:first-child')].map((td) => td.textContent).join(' ');
    out.parallel = document.querySelectorAll('#parcoords path.pc-line').length;
    out.metrics = document.querySelectorAll('#pc-metric option').length;
  } catch (e) { __errors.push('probe: ' + e); }
  const d = document.createElement('div');
  d.id = 'probe';
  d.textContent = JSON.stringify(out);
  d.dataset.errors = JSON.stringify(__errors);
  document.body.appendChild(d);
}, 0));
</script>"#;

#[test]
fn chromium_runs_the_page_script() {
    let Some(chromium) = chromium("chromium_runs_the_page_script") else { return };
    let dir = tempfile::tempdir().unwrap();
    let (_, out) = rendered(dir.path());
    let page = std::fs::read_to_string(out.join(EXPERIMENT).join("index.html")).unwrap();
    // The probe goes first in <head>, so it hears errors of the page's own script too.
    let probe = out.join(EXPERIMENT).join("probe.html");
    std::fs::write(&probe, page.replacen("<head>", &format!("<head>{PROBE}"), 1)).unwrap();
    let flags = ["--virtual-time-budget=15000", "--dump-dom", "--enable-logging=stderr", "--v=0"].map(String::from);
    let (dom, log) = headless(chromium, dir.path(), &flags, &probe);
    let doc = Html::parse_document(&dom);
    let probe_div = doc.select(&sel("#probe")).next().unwrap_or_else(|| panic!("the probe never ran:\n{log}"));
    let errors = probe_div.value().attr("data-errors").unwrap();
    assert_eq!(errors, "[]", "errors on the page");
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
    let r: serde_json::Value = serde_json::from_str(&text(probe_div)).unwrap();

    // Sorting: the rows come grouped by variant; a click on "seed" orders them by seed, a
    // second click the other way.
    assert_eq!(r["seedsBefore"], "0 1 7 8 0 1 7");
    assert_eq!(r["seedsAsc"], "0 0 1 1 7 7 8");
    assert_eq!(r["seedsDesc"], "8 7 7 1 1 0 0");
    assert_ne!(r["before"], r["after"], "the rows moved");
    // Toggling: the first variant's curves go from both charts and come back.
    assert_eq!(r["loss0"], 4, "its runs with a logged loss (seeds 0, 1, 7, 8)");
    assert!(r["loss1"].as_u64().unwrap() > 0 && r["eval0"].as_u64().unwrap() > 0, "{r}");
    assert_eq!((r["hiddenLoss0"].as_u64(), r["hiddenEval0"].as_u64()), (Some(0), Some(0)), "{r}");
    assert_eq!(r["hiddenLoss1"], r["loss1"], "the other variant stays");
    assert_eq!(r["entryOff"], true);
    assert_eq!(r["shownLoss0"], 4);
    // Filtering, the diff of the first two runs (two seeds of one variant), parallel coordinates.
    assert_eq!(r["filtered"], 2, "{r}");
    assert_eq!(r["diff"], "seed", "{r}");
    assert_eq!(r["parallel"], 2, "one line per variant");
    assert!(r["metrics"].as_u64().unwrap() >= 4, "{r}");
}

/// `GET path` from 127.0.0.1:`port`: (status code, body).
fn http_get(port: u16, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no HTTP response: {raw}"));
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, body.to_string())
}

/// The served status's render count.
fn generation(port: u16) -> u64 {
    let (code, body) = http_get(port, "/_ttv/status.json");
    assert_eq!(code, 200, "{body}");
    serde_json::from_str::<serde_json::Value>(&body).unwrap()["generation"].as_u64().unwrap()
}

/// Kills the server when the test ends, passed or not.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_answers_and_follows_the_store() {
    use std::io::BufRead;
    // A copy of the trained store the test may add to, with the spec files beside it.
    let dir = tempfile::tempdir().unwrap();
    for (path, bytes) in snapshot(registry()) {
        let to = dir.path().join("registry").join(path.strip_prefix(registry()).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, bytes).unwrap();
    }
    std::fs::write(dir.path().join("tiny_base.yaml"), common::TINY).unwrap();
    std::fs::write(dir.path().join("tiny.yaml"), SPEC).unwrap();
    let reg = dir.path().join("registry");
    let out = dir.path().join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ttv-report"))
        .args(["--serve", "--port", "0", "--registry", reg.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let server = Server(child);
    let mut lines = stderr.lines();
    let port: u16 = loop {
        let line = lines.next().expect("the server printed its address").unwrap();
        if let Some(rest) = line.strip_prefix("serving http://127.0.0.1:") {
            break rest.split('/').next().unwrap().parse().unwrap();
        }
    };
    // Keep reading the server's log so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));

    let (code, index) = http_get(port, "/");
    assert_eq!(code, 200);
    assert!(index.contains("ttv experiments") && index.contains("href=\"tiny/index.html\""), "{index}");
    let (code, page) = http_get(port, "/tiny/");
    assert_eq!(code, 200);
    assert!(page.contains("<meta name=\"ttv-live\" content=\"/_ttv/status.json\">"), "served pages poll for changes");
    assert_eq!(Html::parse_document(&page).select(&sel("table#runs tbody tr")).count(), 7);
    assert_eq!(http_get(port, "/tiny/report.js").0, 200);
    assert_eq!(http_get(port, "/nope.html").0, 404);
    assert_eq!(http_get(port, "/../registry/index.parquet").0, 400, "nothing outside the output folder");
    let first = generation(port);
    std::thread::sleep(serve::POLL * 2);
    assert_eq!(generation(port), first, "an unchanged store is not rendered again");

    // New runs land (seed 5 of both variants): the status moves on and the page shows them.
    let trained = common::ttv_run(dir.path(), &["tiny.yaml", "-s", "seeds=[5]"], common::NO_WEIGHTS);
    assert!(trained.status.success(), "{}", common::text(&trained));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let rows = loop {
        let (_, page) = http_get(port, "/tiny/");
        let rows = Html::parse_document(&page).select(&sel("table#runs tbody tr")).count();
        if rows == 9 || std::time::Instant::now() > deadline {
            break rows;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    assert_eq!(rows, 9, "the new runs are on the served page");
    assert!(generation(port) > first);
    drop(server);
}
