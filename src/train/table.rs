//! The run's eval history shaped like the paper's Table II: one row per evaluated epoch.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::store::metrics::MetricRow;

/// Columns: the paper's (recon MSE, FID, avg steps) then ours (gen MSE, KID, halting accuracy).
const COLUMNS: [(&str, &str); 6] = [
    ("recon_mse", "recon MSE"),
    ("fid", "FID"),
    ("avg_steps", "avg steps"),
    ("gen_mse", "gen MSE"),
    ("kid", "KID"),
    ("halt_acc", "halt acc"),
];

/// A text table of the eval rows; a value not measured prints as `-`, a pending FID as `pending`.
/// FVD gets a last column when the run has one.
pub fn table_ii(rows: &[MetricRow], fid_pending: bool) -> String {
    let mut by_epoch: BTreeMap<u32, BTreeMap<&str, f64>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.split == "eval") {
        by_epoch.entry(r.epoch).or_default().insert(r.metric.as_str(), r.value);
    }
    let with_fvd = by_epoch.values().any(|v| v.contains_key("fvd"));
    let columns: Vec<(&str, &str)> = COLUMNS.into_iter().chain(with_fvd.then_some(("fvd", "FVD"))).collect();
    let mut out = format!("{:>5}", "epoch");
    for (_, title) in &columns {
        let _ = write!(out, "  {title:>10}");
    }
    out.push('\n');
    for (epoch, values) in &by_epoch {
        let _ = write!(out, "{epoch:>5}");
        for &(key, _) in &columns {
            let cell = match values.get(key) {
                Some(v) if key == "fid" || key == "fvd" => format!("{v:.1}"),
                Some(v) if key == "avg_steps" => format!("{v:.2}"),
                Some(v) => format!("{v:.4}"),
                None if fid_pending && (key == "fid" || key == "kid") => "pending".into(),
                None => "-".into(),
            };
            let _ = write!(out, "  {cell:>10}");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(epoch: u32, metric: &str, value: f64) -> MetricRow {
        MetricRow { epoch, step: epoch as u64, split: "eval".into(), metric: metric.into(), value, wall_s: 0.0 }
    }

    #[test]
    fn one_line_per_evaluated_epoch() {
        let rows = vec![row(1, "recon_mse", 0.25), row(1, "avg_steps", 3.0), row(2, "recon_mse", 0.125), row(2, "fid", 88.04)];
        let table = table_ii(&rows, false);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].starts_with("    1      0.2500           -        3.00"), "{table}");
        assert!(lines[2].contains("88.0"), "{table}");
        assert!(table_ii(&rows, true).lines().nth(1).unwrap().contains("pending"));
        assert!(!table.contains("FVD"), "{table}");
        let with_fvd = table_ii(&[row(1, "recon_mse", 0.25), row(1, "fvd", 512.34)], false);
        assert!(with_fvd.lines().next().unwrap().ends_with("FVD") && with_fvd.contains("512.3"), "{with_fvd}");
    }
}
