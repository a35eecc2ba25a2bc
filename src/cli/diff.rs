//! `ttv-run runs diff A B`: the resolved spec fields two stored runs differ in, by dotted path
//! (spec/flatten.rs), so a researcher sees at once why two results are not one variant.

use std::fmt::Write as _;

use anyhow::{Context, Result};

use crate::spec::flatten::{differences, flatten, show};
use crate::store::{RunDir, Store};

pub fn diff(store: &Store, a: &str, b: &str) -> Result<()> {
    print!("{}", render(store, a, b)?);
    Ok(())
}

/// The differing fields as an aligned table: `field`, then each run's value.
pub fn render(store: &Store, a: &str, b: &str) -> Result<String> {
    let (a, b) = (store.find(a)?, store.find(b)?);
    let spec = |dir: &RunDir| dir.read_spec().with_context(|| format!("run {}", dir.short()));
    let (fa, fb) = (flatten(&spec(&a)?), flatten(&spec(&b)?));
    let rows: Vec<[String; 3]> = differences(&fa, &fb)
        .into_iter()
        .map(|d| {
            let shown = |v: Option<serde_json::Value>| v.as_ref().map_or_else(|| "(absent)".to_string(), show);
            [d.path, shown(d.a), shown(d.b)]
        })
        .collect();
    let mut out = String::new();
    let (sa, sb) = (a.short(), b.short());
    if rows.is_empty() {
        writeln!(out, "runs {sa} and {sb}: no spec field differs")?;
        return Ok(out);
    }
    let plural = if rows.len() == 1 { "field differs" } else { "fields differ" };
    writeln!(out, "runs {sa} and {sb}: {} {plural}", rows.len())?;
    let header = ["field".to_string(), sa, sb];
    let width = |i: usize| rows.iter().chain([&header]).map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (w0, w1) = (width(0), width(1));
    for r in [&header].into_iter().chain(&rows) {
        writeln!(out, "{:<w0$}  {:<w1$}  {}", r[0], r[1], r[2])?;
    }
    Ok(out)
}
