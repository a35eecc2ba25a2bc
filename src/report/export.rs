//! `--format csv|json|md`: the comparison table on stdout for papers and scripts. CSV and JSON
//! carry numbers (mean, std, n as separate fields); Markdown carries what the page shows.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::stats::Agg;
use super::tables::{Cell, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One header per experiment; each metric as `<key>_mean`, `<key>_std`, `<key>_n`.
    Csv,
    /// One JSON object per experiment and line: `{"experiment", "variants": [...]}`.
    Json,
    /// A Markdown table per experiment, as the page shows it (best in bold).
    Md,
}

pub fn render(experiment: &str, t: &Table, format: Format) -> String {
    match format {
        Format::Csv => csv(experiment, t),
        Format::Json => format!("{}\n", json(experiment, t)),
        Format::Md => md(experiment, t),
    }
}

fn csv(experiment: &str, t: &Table) -> String {
    let mut header = vec!["experiment".to_string(), "variant".to_string()];
    for c in &t.columns {
        if c.better.is_some() {
            header.extend(["mean", "std", "n"].map(|s| format!("{}_{s}", c.key)));
        } else if c.key != "variant" {
            header.push(c.key.clone());
        }
    }
    let mut s = String::new();
    let _ = writeln!(s, "{}", header.iter().map(|h| csv_cell(h)).collect::<Vec<_>>().join(","));
    for r in &t.rows {
        let mut line = vec![experiment.to_string(), r.variant.clone()];
        for (c, cell) in t.columns.iter().zip(&r.cells) {
            match cell {
                Cell::Ours { agg, .. } => {
                    let st = agg.stat();
                    line.push(st.map(|s| s.mean.to_string()).unwrap_or_default());
                    line.push(st.and_then(|s| s.std).map(|v| v.to_string()).unwrap_or_default());
                    line.push(st.map(|s| s.n.to_string()).unwrap_or_default());
                }
                _ if c.key == "variant" => {}
                Cell::Blank => line.push(String::new()),
                other => line.push(other.display()),
            }
        }
        let _ = writeln!(s, "{}", line.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(","));
    }
    s
}

fn csv_cell(c: &str) -> String {
    if c.contains([',', '"', '\n']) { format!("\"{}\"", c.replace('"', "\"\"")) } else { c.to_string() }
}

fn json(experiment: &str, t: &Table) -> Value {
    let variants: Vec<Value> = t
        .rows
        .iter()
        .map(|r| {
            let mut fields = serde_json::Map::new();
            fields.insert("variant".into(), json!(r.variant));
            for (c, cell) in t.columns.iter().zip(&r.cells) {
                let v = match cell {
                    Cell::Ours { agg: Agg::Stat(s), .. } => json!({"mean": s.mean, "std": s.std, "n": s.n}),
                    Cell::Ours { agg: Agg::Pending(why), .. } => json!({"pending": why}),
                    Cell::Ours { agg: Agg::Missing, .. } | Cell::Blank => Value::Null,
                    Cell::Text(t) => json!(t),
                    Cell::Paper { value, .. } => json!(value),
                    Cell::Ratio(r) => json!(r),
                };
                fields.insert(c.key.clone(), v);
            }
            Value::Object(fields)
        })
        .collect();
    json!({ "experiment": experiment, "table": t.id, "variants": variants, "notes": t.notes })
}

fn md(experiment: &str, t: &Table) -> String {
    // The label is the first column; a `variant` column would repeat it.
    let shown: Vec<usize> = (0..t.columns.len()).filter(|&j| t.columns[j].key != "variant").collect();
    let titles: Vec<&str> = shown.iter().map(|&j| t.columns[j].title.as_str()).collect();
    let mut s = format!("## {experiment}\n\n| variant | {} |\n|---|", titles.join(" | "));
    s.push_str(&"---|".repeat(shown.len()));
    s.push('\n');
    for r in &t.rows {
        let cells: Vec<String> = shown
            .iter()
            .map(|&j| &r.cells[j])
            .map(|c| match c {
                Cell::Ours { best: true, .. } => format!("**{}**", c.display()),
                _ => c.display().replace('|', "\\|"),
            })
            .collect();
        let _ = writeln!(s, "| {} | {} |", r.variant.replace('|', "\\|"), cells.join(" | "));
    }
    for n in &t.notes {
        let _ = writeln!(s, "\n- {n}");
    }
    s.push('\n');
    s
}
