//! `--format csv|json|md`: the comparison table on stdout for papers and scripts. CSV and JSON
//! carry numbers (mean, std, n and the 95% confidence interval of the mean as separate fields);
//! Markdown carries what the page shows (mean ± half the interval).

use std::fmt::Write as _;

use comfy_table::presets::ASCII_MARKDOWN;
use serde_json::{Value, json};

use super::stats::Agg;
use super::tables::{Cell, Table};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One header per experiment; each metric as `<key>_mean`, `<key>_std`, `<key>_n`,
    /// `<key>_ci95_lo`, `<key>_ci95_hi` (the interval empty for one seed).
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
            header.extend(["mean", "std", "n", "ci95_lo", "ci95_hi"].map(|s| format!("{}_{s}", c.key)));
        } else if c.key != "variant" {
            header.push(c.key.clone());
        }
    }
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    w.write_record(&header).expect("CSV into memory");
    for r in &t.rows {
        let mut line = vec![experiment.to_string(), r.variant.clone()];
        for (c, cell) in t.columns.iter().zip(&r.cells) {
            match cell {
                Cell::Ours { agg, .. } => {
                    let st = agg.stat();
                    line.push(st.map(|s| s.mean.to_string()).unwrap_or_default());
                    line.push(st.and_then(|s| s.std).map(|v| v.to_string()).unwrap_or_default());
                    line.push(st.map(|s| s.n.to_string()).unwrap_or_default());
                    let ci = st.and_then(|s| s.ci95());
                    line.push(ci.map(|c| c.0.to_string()).unwrap_or_default());
                    line.push(ci.map(|c| c.1.to_string()).unwrap_or_default());
                }
                _ if c.key == "variant" => {}
                Cell::Blank => line.push(String::new()),
                other => line.push(other.display()),
            }
        }
        w.write_record(&line).expect("CSV into memory");
    }
    String::from_utf8(w.into_inner().expect("CSV into memory")).expect("CSV of UTF-8 fields is UTF-8")
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
                    Cell::Ours { agg: Agg::Stat(s), .. } => {
                        let ci = s.ci95();
                        json!({"mean": s.mean, "std": s.std, "n": s.n, "ci95_lo": ci.map(|c| c.0), "ci95_hi": ci.map(|c| c.1)})
                    }
                    Cell::Ours { agg: Agg::Pending(why), .. } => json!({"pending": why}),
                    Cell::Ours { agg: Agg::Missing, .. } | Cell::Blank => Value::Null,
                    Cell::Text(t) | Cell::Setting { text: t, .. } => json!(t),
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
    let escape = |s: &str| s.replace('|', "\\|");
    let mut table = comfy_table::Table::new();
    table.load_preset(ASCII_MARKDOWN);
    table.set_header(std::iter::once("variant".to_string()).chain(shown.iter().map(|&j| escape(&t.columns[j].title))));
    for r in &t.rows {
        let cells = shown.iter().map(|&j| &r.cells[j]).map(|c| match c {
            Cell::Ours { best: true, .. } => format!("**{}**", c.display()),
            _ => escape(&c.display()),
        });
        table.add_row(std::iter::once(escape(&r.variant)).chain(cells));
    }
    let mut s = format!("## {experiment}\n\n{table}\n");
    for n in &t.notes {
        let _ = writeln!(s, "\n- {n}");
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::columns::Better;
    use crate::report::format::Unit;
    use crate::report::stats::Stat;
    use crate::report::tables::{Column, Row};

    fn table() -> Table {
        let col = |key: &str, better| Column { key: key.into(), title: key.into(), better, star: false };
        let ours = |mean, best| Cell::Ours { agg: Agg::Stat(Stat { mean, std: Some(0.5), n: 2 }), unit: Unit::Plain, best };
        Table {
            id: "comparison",
            columns: vec![col("prompt", None), col("mse", Some(Better::Lower))],
            rows: vec![
                Row { variant: "a|b".into(), epoch: None, cells: vec![Cell::Text("red, \"big\"".into()), ours(1.0, true)] },
                Row { variant: "c".into(), epoch: None, cells: vec![Cell::Blank, ours(2.0, false)] },
            ],
            notes: vec!["a note".into()],
        }
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_splits_the_statistics() {
        assert_eq!(
            csv("x", &table()),
            "experiment,variant,prompt,mse_mean,mse_std,mse_n,mse_ci95_lo,mse_ci95_hi\n\
             x,a|b,\"red, \"\"big\"\"\",1,0.5,2,-3.4923217659851122,5.492321765985112\n\
             x,c,,2,0.5,2,-2.4923217659851122,6.492321765985112\n"
        );
    }

    #[test]
    fn markdown_escapes_pipes_and_bolds_the_best() {
        let md = md("x", &table());
        let rows: Vec<Vec<&str>> = md
            .lines()
            .filter(|l| l.starts_with('|'))
            .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
            .collect();
        assert!(md.starts_with("## x\n\n|"), "{md}");
        assert_eq!(rows[0], ["variant", "prompt", "mse"]);
        assert_eq!(rows[2], ["a\\|b", "red, \"big\"", "**1.000 ± 4.492**"]);
        assert_eq!(rows[3], ["c", "—", "2.000 ± 4.492"]);
        assert!(md.ends_with("\n- a note\n\n"), "{md}");
    }
}
