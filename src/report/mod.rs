//! Reports from the run store. For now: the run table per experiment (HTML page, or csv / json /
//! markdown on stdout), read from `registry/index.parquet`. Plots, GIF grids and the paper's
//! tables build on this.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use polars::prelude::*;

use crate::store::{Store, atomic::write_atomic};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Json,
    Md,
}

#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub registry: PathBuf,
    pub out: PathBuf,
    pub experiments: Vec<String>,
    pub format: Option<Format>,
}

/// One table: column names and string cells, one row per (experiment, run).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Read the index, rebuilding it first so the report reflects every run on disk.
pub fn load_index(registry: &Path) -> Result<Option<DataFrame>> {
    let store = Store::at(registry);
    if !store.runs_dir().exists() {
        return Ok(None);
    }
    store.rebuild_index().with_context(|| format!("rebuilding {}", store.index_path().display()))?;
    Ok(Some(crate::store::index::read(&store.index_path())?))
}

/// The index rows of each experiment (all experiments, or those asked for).
pub fn tables(df: &DataFrame, wanted: &[String]) -> Result<BTreeMap<String, Table>> {
    let columns: Vec<String> = df.get_column_names().iter().map(|c| c.to_string()).collect();
    let exp = df.column("experiment")?.str()?.clone();
    let mut out: BTreeMap<String, Table> = BTreeMap::new();
    for i in 0..df.height() {
        let name = exp.get(i).unwrap_or("").to_string();
        if !wanted.is_empty() && !wanted.contains(&name) {
            continue;
        }
        let row: Vec<String> = df
            .columns()
            .iter()
            .map(|c| match c.get(i) {
                Ok(AnyValue::Null) | Err(_) => String::new(),
                Ok(AnyValue::String(s)) => s.to_string(),
                Ok(v) => v.to_string(),
            })
            .collect();
        out.entry(name).or_insert_with(|| Table { columns: columns.clone(), rows: vec![] }).rows.push(row);
    }
    for w in wanted {
        if !out.contains_key(w) {
            anyhow::bail!("no runs of experiment `{w}` in the registry");
        }
    }
    Ok(out)
}

pub fn render(opts: &ReportOptions) -> Result<Vec<PathBuf>> {
    let df = load_index(&opts.registry)?;
    let tables = match &df {
        Some(df) => tables(df, &opts.experiments)?,
        None if !opts.experiments.is_empty() => anyhow::bail!("the registry {} holds no runs", opts.registry.display()),
        None => BTreeMap::new(),
    };
    if let Some(format) = opts.format {
        for (name, t) in &tables {
            print!("{}", text_table(name, t, format));
        }
        return Ok(vec![]);
    }
    let mut pages = Vec::new();
    for (name, t) in &tables {
        let path = opts.out.join(name).join("index.html");
        write_atomic(&path, page(name, &html_table(t)).as_bytes())?;
        pages.push(path);
    }
    let mut list = String::new();
    if tables.is_empty() {
        list.push_str(&format!("<p>The registry <code>{}</code> holds no runs yet.</p>", esc(&opts.registry.display().to_string())));
    } else {
        list.push_str("<ul>");
        for (name, t) in &tables {
            let _ = write!(list, "<li><a href=\"{0}/index.html\">{0}</a> ({1} runs)</li>", esc(name), t.rows.len());
        }
        list.push_str("</ul>");
    }
    let index = opts.out.join("index.html");
    write_atomic(&index, page("ttv experiments", &list).as_bytes())?;
    pages.insert(0, index);
    Ok(pages)
}

pub fn text_table(name: &str, t: &Table, format: Format) -> String {
    let mut s = String::new();
    match format {
        Format::Csv => {
            let line = |cells: &[String]| cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(",");
            let _ = writeln!(s, "{}", line(&t.columns));
            for r in &t.rows {
                let _ = writeln!(s, "{}", line(r));
            }
        }
        Format::Json => {
            let rows: Vec<serde_json::Value> = t
                .rows
                .iter()
                .map(|r| serde_json::Value::Object(t.columns.iter().cloned().zip(r.iter().map(|c| serde_json::json!(c))).collect()))
                .collect();
            let _ = writeln!(s, "{}", serde_json::json!({ "experiment": name, "runs": rows }));
        }
        Format::Md => {
            let _ = writeln!(s, "## {name}\n\n| {} |", t.columns.join(" | "));
            let _ = writeln!(s, "|{}", "---|".repeat(t.columns.len()));
            for r in &t.rows {
                let _ = writeln!(s, "| {} |", r.join(" | "));
            }
            s.push('\n');
        }
    }
    s
}

fn csv_cell(c: &str) -> String {
    if c.contains([',', '"', '\n']) { format!("\"{}\"", c.replace('"', "\"\"")) } else { c.to_string() }
}

fn html_table(t: &Table) -> String {
    let mut s = String::from("<table><thead><tr>");
    for c in &t.columns {
        let _ = write!(s, "<th>{}</th>", esc(c));
    }
    s.push_str("</tr></thead><tbody>");
    for r in &t.rows {
        s.push_str("<tr>");
        for c in r {
            let _ = write!(s, "<td>{}</td>", esc(c));
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title><style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px}}</style></head><body><h1>{t}</h1>{body}</body></html>\n",
        t = esc(title)
    )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
