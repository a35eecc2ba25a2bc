//! The PyTorch anchors (`benches/anchors/anchors.sh`, one JSON line per figure) beside
//! `ttv-bench perf`'s own figures from the same machine, with ratios.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

use super::Perf;

/// One line of `anchors.jsonl` (`torch_ref.py`'s output).
#[derive(Debug, Clone, Deserialize)]
pub struct Anchor {
    pub kind: String,
    #[serde(default)]
    pub batch: usize,
    #[serde(default)]
    pub compile: bool,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub tf32: bool,
    #[serde(default)]
    pub sdpa: bool,
    #[serde(default)]
    pub median_ms: Option<f64>,
    #[serde(default)]
    pub median_step_ms: Option<f64>,
    #[serde(default)]
    pub peak_mem_mb: Option<f64>,
}

impl Anchor {
    /// The configuration, as the anchors table names it.
    pub fn label(&self) -> String {
        match (self.compile, self.mode.as_deref()) {
            (true, Some("reduce-overhead")) => "torch.compile + CUDA graphs".into(),
            (true, Some(mode)) => format!("torch.compile {mode}"),
            (true, None) => "torch.compile TF32".into(),
            (false, _) if self.tf32 => "PyTorch eager TF32".into(),
            (false, _) => "PyTorch eager fp32".into(),
        }
    }

    fn seconds(&self) -> Option<f64> {
        self.median_ms.or(self.median_step_ms).map(|ms| ms / 1e3)
    }
}

/// The anchors in `path`, figures only (the `params` line is skipped).
pub fn load(path: &Path) -> Result<Vec<Anchor>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut anchors = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let anchor: Anchor = serde_json::from_str(line).with_context(|| format!("{}:{}", path.display(), i + 1))?;
        if anchor.kind == "generate" || anchor.kind == "train" {
            anchors.push(anchor);
        }
    }
    Ok(anchors)
}

/// The figures both sides measured (generation at each batch, training at each batch > 1), one
/// row per configuration: generation in ms per call at batch 1 and clips/s above, training in
/// samples/s, and each ttv row's ratio to the fastest anchor (> 1: ttv is faster).
pub fn table(perf: &Perf, anchors: &[Anchor]) -> String {
    // (kind, batch) columns in the order of ttv's figures.
    let mut columns: Vec<(&str, usize)> = Vec::new();
    for f in &perf.figures {
        let kind = if f.what.starts_with("generate") {
            "generate"
        } else if f.what.starts_with("train") {
            "train"
        } else {
            continue;
        };
        if anchors.iter().any(|a| a.kind == kind && a.batch == f.batch) && !columns.contains(&(kind, f.batch)) {
            columns.push((kind, f.batch));
        }
    }
    let cell = |kind: &str, batch: usize, seconds: f64| {
        if kind == "generate" && batch == 1 {
            format!("{:.2} ms", seconds * 1e3)
        } else {
            format!("{:.0}/s", batch as f64 / seconds)
        }
    };
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::ASCII_MARKDOWN);
    let mut header = vec!["".to_string()];
    header.extend(columns.iter().map(|(kind, batch)| format!("{kind} b={batch}")));
    table.set_header(header);
    let mut labels: Vec<String> = Vec::new();
    for a in anchors {
        if !labels.contains(&a.label()) {
            labels.push(a.label());
        }
    }
    let best = |kind: &str, batch: usize| {
        anchors.iter().filter(|a| a.kind == kind && a.batch == batch).filter_map(Anchor::seconds).fold(f64::INFINITY, f64::min)
    };
    for label in &labels {
        let mut row = vec![label.clone()];
        for &(kind, batch) in &columns {
            let a = anchors.iter().find(|a| a.label() == *label && a.kind == kind && a.batch == batch);
            row.push(a.and_then(Anchor::seconds).map_or("-".into(), |s| cell(kind, batch, s)));
        }
        table.add_row(row);
    }
    for variant in ["", " (graph)"] {
        let mut row = vec![format!("ttv{}", if variant.is_empty() { " eager" } else { variant })];
        let mut any = false;
        for &(kind, batch) in &columns {
            let what = if kind == "generate" { format!("generate{variant}") } else { format!("train step{variant}") };
            let f = perf.figures.iter().find(|f| f.what == what && f.batch == batch);
            any |= f.is_some();
            row.push(
                f.map_or("-".into(), |f| format!("{} ({:.2}x)", cell(kind, batch, f.median_s), best(kind, batch) / f.median_s)),
            );
        }
        if any {
            table.add_row(row);
        }
    }
    format!("{table}\n(ttv rows: the ratio to the fastest anchor of the column; above 1 ttv is faster)\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::{Figure, Peak};

    fn figure(what: &str, batch: usize, median_s: f64) -> Figure {
        Figure {
            what: what.into(),
            batch,
            median_s,
            per_s: batch as f64 / median_s,
            first_s: 0.0,
            flops_per_sample: 0,
            flop_per_s: 0.0,
            peak_fraction: 0.0,
            peak_allocated_bytes: None,
        }
    }

    #[test]
    fn anchors_sit_beside_the_figures_with_ratios() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("anchors.jsonl");
        let lines = [
            r#"{"kind": "params", "params": 20369668, "gpu": "H200"}"#,
            r#"{"kind": "generate", "batch": 1, "median_ms": 2.0, "compile": true, "mode": "reduce-overhead", "tf32": true}"#,
            r#"{"kind": "train", "batch": 16, "median_step_ms": 10.0, "compile": true, "mode": "reduce-overhead", "tf32": true}"#,
            r#"{"kind": "train", "batch": 16, "median_step_ms": 40.0, "compile": false, "mode": null, "tf32": false}"#,
        ];
        std::fs::write(&path, lines.join("\n")).unwrap();
        let anchors = load(&path).unwrap();
        assert_eq!(anchors.len(), 3);
        assert_eq!(anchors[0].label(), "torch.compile + CUDA graphs");
        assert_eq!(anchors[2].label(), "PyTorch eager fp32");
        let perf = Perf {
            spec: "reference".into(),
            params: 1,
            device: "cuda:0".into(),
            train_step_flops: 0,
            generate_flops: 0,
            generate_steps: 3,
            peak: Peak { n: 1, median_s: 1.0, flop_per_s: 1.0 },
            figures: vec![figure("generate", 1, 0.004), figure("train step", 16, 0.02), figure("train step (graph)", 16, 0.005)],
        };
        let table = table(&perf, &anchors);
        // ttv eager: 4 ms against 2 ms (0.50x), 800/s against 1600/s (0.50x); replayed: 3200/s (2.00x).
        assert!(table.contains("4.00 ms (0.50x)"), "{table}");
        assert!(table.contains("800/s (0.50x)") && table.contains("3200/s (2.00x)"), "{table}");
        assert!(table.contains("400/s"), "the eager anchor's 16 / 0.04 s: {table}");
        assert!(load(&dir.path().join("missing.jsonl")).is_err());
        std::fs::write(&path, "{not json").unwrap();
        assert!(load(&path).unwrap_err().to_string().contains("anchors.jsonl:1"));
    }
}
