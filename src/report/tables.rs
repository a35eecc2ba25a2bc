//! The report's tables as data (rendered to HTML, CSV, JSON or Markdown elsewhere): the
//! comparison of variants, the paper's Table I of hyperparameters, Table II by fraction of the
//! schedule, Table III of resources and the re-evaluation at halting thresholds; values are the
//! mean over seeds with its 95% confidence interval, the paper's figure beside ours with the
//! ratio, and the best quality marked where one variant alone reaches it.

use super::columns::{self, Better, Kind, Metric};
use super::format::{self, Unit};
use super::paper;
use super::stats::Agg;
use super::variants::Variant;

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// Our value over a variant's finished seeds.
    Ours {
        agg: Agg,
        unit: Unit,
        best: bool,
    },
    /// The paper's figure, as printed, and the number it states.
    Paper {
        text: String,
        value: f64,
    },
    /// Our mean over the paper's figure.
    Ratio(f64),
    /// A variant's resolved setting (Table I), and whether it differs from the paper's.
    Setting {
        text: String,
        differs: bool,
    },
    /// Nothing to show (no paper figure for this epoch, or no value to divide).
    Blank,
}

impl Cell {
    /// What a reader sees.
    pub fn display(&self) -> String {
        match self {
            Cell::Text(t) | Cell::Setting { text: t, .. } => t.clone(),
            Cell::Ours { agg: Agg::Stat(s), unit, .. } => format::stat(s, *unit),
            Cell::Ours { agg: Agg::Pending(_), .. } => "pending".into(),
            Cell::Ours { agg: Agg::Missing, .. } | Cell::Blank => "—".into(),
            Cell::Paper { text, .. } => text.clone(),
            Cell::Ratio(r) => format::ratio(*r),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Stable machine name (`fid`, `fid_paper`, `fid_ratio`, a swept parameter, ...).
    pub key: String,
    pub title: String,
    /// Set on our metric columns: which direction is better.
    pub better: Option<Better>,
    /// A quality column: its best value in each group is starred (never a cost column).
    pub star: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub variant: String,
    /// Table II's rows are per epoch; "best" is compared within an epoch.
    pub epoch: Option<u32>,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The HTML id, also the table's name in exports.
    pub id: &'static str,
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
    /// Why some values are pending, one line per distinct reason.
    pub notes: Vec<String>,
}

impl Table {
    fn new(id: &'static str, variants: &[Variant], params: &[String]) -> Table {
        let mut columns: Vec<Column> =
            params.iter().map(|p| Column { key: p.clone(), title: p.clone(), better: None, star: false }).collect();
        if params.is_empty() && variants.len() > 1 {
            columns.push(Column { key: "variant".into(), title: "variant".into(), better: None, star: false });
        }
        Table { id, columns, rows: Vec::new(), notes: Vec::new() }
    }

    fn leading_cells(&self, v: &Variant, params: &[String]) -> Vec<Cell> {
        let mut cells: Vec<Cell> =
            params.iter().map(|p| v.setting(p).map_or(Cell::Blank, |s| Cell::Text(s.to_string()))).collect();
        if self.columns.iter().any(|c| c.key == "variant") {
            cells.push(Cell::Text(v.label.clone()));
        }
        cells
    }

    fn push_metric(&mut self, m: &Metric) {
        self.columns.push(Column {
            key: m.key.into(),
            title: format!("{} {}", m.title, arrow(m.better)),
            better: Some(m.better),
            star: m.kind == Kind::Quality,
        });
    }

    fn push_paper(&mut self, m: &Metric) {
        self.columns.push(Column { key: format!("{}_paper", m.key), title: "paper".into(), better: None, star: false });
        self.columns.push(Column { key: format!("{}_ratio", m.key), title: "ours / paper".into(), better: None, star: false });
    }

    /// Star the best mean of each quality column among the rows of the same epoch, when at
    /// least two rows have a value and no other row shows the same value; collect the pending
    /// reasons.
    fn finish(&mut self) {
        for j in 0..self.columns.len() {
            let (true, Some(better)) = (self.columns[j].star, self.columns[j].better) else { continue };
            let mut epochs: Vec<Option<u32>> = self.rows.iter().map(|r| r.epoch).collect();
            epochs.dedup();
            for epoch in epochs {
                let shown: Vec<(usize, f64, String)> = self
                    .rows
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.epoch == epoch)
                    .filter_map(|(i, r)| match &r.cells[j] {
                        Cell::Ours { agg, unit, .. } => agg.mean().map(|m| (i, m, format::value(m, *unit))),
                        _ => None,
                    })
                    .collect();
                if let Some(i) = sole_best(&shown, better)
                    && let Cell::Ours { best, .. } = &mut self.rows[i].cells[j]
                {
                    *best = true;
                }
            }
        }
        // One note per reason: which columns, for which variants (counted past three).
        let mut pending: Vec<(&str, Vec<&str>, Vec<&str>)> = Vec::new();
        for r in &self.rows {
            for (c, cell) in self.columns.iter().zip(&r.cells) {
                if let Cell::Ours { agg: Agg::Pending(why), .. } = cell {
                    let title = c.title.trim_end_matches([' ', '↓', '↑']);
                    let i = match pending.iter().position(|p| p.0 == why) {
                        Some(i) => i,
                        None => {
                            pending.push((why, Vec::new(), Vec::new()));
                            pending.len() - 1
                        }
                    };
                    let (_, titles, variants) = &mut pending[i];
                    if !titles.contains(&title) {
                        titles.push(title);
                    }
                    if !variants.contains(&r.variant.as_str()) {
                        variants.push(&r.variant);
                    }
                }
            }
        }
        self.notes = pending
            .iter()
            .map(|(why, titles, variants)| {
                let who = if variants.len() <= 3 { variants.join("; ") } else { format!("{} variants", variants.len()) };
                format!("{} pending for {who}: {why}", titles.join(", "))
            })
            .collect();
    }
}

/// The row of the best `(row, mean, shown text)` when there are at least two and the best is
/// alone: a tie, exact or as displayed, stars nobody.
fn sole_best(values: &[(usize, f64, String)], better: Better) -> Option<usize> {
    if values.len() < 2 {
        return None;
    }
    let pick = |a: &&(usize, f64, String), b: &&(usize, f64, String)| a.1.total_cmp(&b.1);
    let best = match better {
        Better::Lower => values.iter().min_by(pick)?,
        Better::Higher => values.iter().max_by(pick)?,
    };
    let ties = values.iter().filter(|v| v.1 == best.1 || v.2 == best.2).count();
    (ties == 1).then_some(best.0)
}

fn arrow(b: Better) -> &'static str {
    match b {
        Better::Lower => "↓",
        Better::Higher => "↑",
    }
}

fn ours(agg: Agg, m: &Metric) -> Cell {
    Cell::Ours { agg, unit: m.unit, best: false }
}

fn paper_and_ratio(agg: &Agg, text: String, value: f64) -> [Cell; 2] {
    let ratio = agg.mean().map_or(Cell::Blank, |m| Cell::Ratio(m / value));
    [Cell::Paper { text, value }, ratio]
}

/// Final values per variant: the table a reader compares variants with, and what `--format`
/// prints. Metrics nobody measured are left out.
pub fn comparison(variants: &[Variant], params: &[String]) -> Table {
    let mut t = Table::new("comparison", variants, params);
    t.columns.push(Column { key: "runs".into(), title: "runs done".into(), better: None, star: false });
    let shown: Vec<&Metric> =
        columns::SUMMARY.iter().filter(|m| variants.iter().any(|v| v.result(m.key) != Agg::Missing)).collect();
    for m in &shown {
        t.push_metric(m);
    }
    for v in variants {
        let mut cells = t.leading_cells(v, params);
        cells.push(Cell::Text(format!("{} / {}", v.done().count(), v.runs.len())));
        cells.extend(shown.iter().map(|m| ours(v.result(m.key), m)));
        t.rows.push(Row { variant: v.label.clone(), epoch: None, cells });
    }
    t.finish();
    t
}

/// Table II per variant, aligned by the fraction of the schedule done: the paper's three rows
/// (end of epoch 1, 2, 3 of 3: 1/3, 2/3 and all of its schedule) each beside ours at the
/// evaluation nearest that fraction (update / total updates), so runs with other schedules line
/// up by progress rather than by epoch number. Recon. MSE, FID and average steps, each beside
/// the paper's figure.
pub fn table_ii(variants: &[Variant], params: &[String]) -> Table {
    let mut t = Table::new("table-ii", variants, params);
    for (key, title) in [("paper_row", "paper row"), ("ours_at", "ours at")] {
        t.columns.push(Column { key: key.into(), title: title.into(), better: None, star: false });
    }
    for m in &columns::TABLE_II {
        t.push_metric(m);
        t.push_paper(m);
    }
    let last = paper::TABLE_II.len();
    for v in variants.iter().filter(|v| v.done().any(|r| !r.eval.is_empty())) {
        for row in &paper::TABLE_II {
            let fraction = row.epoch as f64 / last as f64;
            let mut at: Vec<(u32, u64, u64)> = v.done().filter_map(|r| r.epoch_near(fraction)).collect();
            at.sort_unstable();
            at.dedup();
            let ours_at: Vec<String> = at
                .iter()
                .map(|(e, s, total)| format!("epoch {e}, update {s} of {total} ({})", format::sig(*s as f64 / *total as f64)))
                .collect();
            let mut cells = t.leading_cells(v, params);
            cells.push(Cell::Text(format!("{} ({}/{last} of the schedule)", paper::phase(row.epoch), row.epoch)));
            cells.push(if ours_at.is_empty() { Cell::Blank } else { Cell::Text(ours_at.join("; ")) });
            for m in &columns::TABLE_II {
                let agg = v.eval_near(m.key, fraction);
                let paper = match paper::table_ii(m.key, row.epoch) {
                    // As printed: `{p}` is the shortest form, e.g. 85.2 and 0.45.
                    Some(p) => paper_and_ratio(&agg, format!("{p}"), p),
                    None => [Cell::Blank, Cell::Blank],
                };
                cells.push(ours(agg, m));
                cells.extend(paper);
            }
            t.rows.push(Row { variant: v.label.clone(), epoch: Some(row.epoch), cells });
        }
    }
    t.finish();
    t
}

/// Table I beside ours: the paper's row first (its values as printed), then each variant's
/// resolved hyperparameters, those that differ from the paper's marked. The effective batch is
/// the micro-batch times gradient accumulation; parameters are counted by the trainer.
pub fn table_i(variants: &[Variant], params: &[String]) -> Table {
    let mut t = Table::new("table-i", variants, params);
    let lead = t.columns.len();
    for h in &paper::TABLE_I {
        // `hp_`: a swept parameter's column may have the same name (`threshold`).
        t.columns.push(Column { key: format!("hp_{}", h.key), title: h.name.into(), better: None, star: false });
    }
    let mut cells: Vec<Cell> = (0..lead).map(|_| Cell::Blank).collect();
    cells.extend(paper::TABLE_I.iter().map(|h| Cell::Text(h.text.into())));
    t.rows.push(Row { variant: "paper (Table I)".into(), epoch: None, cells });
    for v in variants {
        let fields = v.runs.iter().find_map(|r| r.fields.as_ref());
        let field = |path: &str| fields.and_then(|f| f.get(path)).map(|x| x.as_str().map_or_else(|| x.to_string(), String::from));
        let num = |path: &str| fields.and_then(|f| f.get(path)).and_then(serde_json::Value::as_f64);
        let mut cells = t.leading_cells(v, params);
        for h in &paper::TABLE_I {
            // (shown, compared): what a reader sees, and the value checked against the paper.
            let value: Option<(String, String)> = match h.key {
                "hidden" => field("model.hidden").map(|x| (x.clone(), x)),
                "heads" => field("model.heads").map(|x| (x.clone(), x)),
                "hl_layers" => num("model.engine.h_layers").zip(num("model.engine.l_layers")).map(|(a, b)| {
                    let engine = field("model.engine.kind").unwrap_or_default();
                    (format!("{a} H + {b} L = {} ({engine})", a + b), (a + b).to_string())
                }),
                "max_steps" => field("model.engine.max_steps").map(|x| (x.clone(), x)),
                "threshold" => match field("model.halting.kind").as_deref() {
                    Some("none") => Some(("none (halting off)".into(), "none".into())),
                    _ => field("model.halting.threshold").map(|x| (x.clone(), x)),
                },
                "optimizer" => field("training.optimizer.kind").map(|x| (x.clone(), x)),
                "lr" => field("training.optimizer.lr").map(|x| (x.clone(), x)),
                "batch" => num("training.batch_size")
                    .zip(num("training.grad_accum"))
                    .map(|(b, a)| (format!("{b} \u{d7} {a} = {}", b * a), (b * a).to_string())),
                "epochs" => field("training.epochs").map(|x| (x.clone(), x)),
                "params" => v.result("params").mean().map(|p| (format::value(p, Unit::Count), p.to_string())),
                _ => None,
            };
            cells.push(match value {
                Some((text, compared)) => Cell::Setting { differs: !h.stated.agrees(&compared), text },
                None => Cell::Blank,
            });
        }
        t.rows.push(Row { variant: v.label.clone(), epoch: None, cells });
    }
    t
}

/// What `thresholds.parquet` holds, in the order the threshold table shows it.
const THRESHOLD_METRICS: [&str; 10] = [
    "avg_steps",
    "gen_mse",
    "alignment",
    "halt_acc",
    "temporal_mse",
    "persistence",
    "align_colour",
    "align_object",
    "align_motion",
    "align_background",
];

/// The runs re-evaluated at other halting thresholds: one row per variant and threshold, the
/// checkpoint update evaluated, each metric pooled over seeds. A trade-off, not a ranking: no
/// star. None when no run has `thresholds.parquet`.
pub fn thresholds(variants: &[Variant], params: &[String]) -> Option<Table> {
    let swept: Vec<(&Variant, Vec<f64>)> = variants.iter().map(|v| (v, v.thresholds())).filter(|(_, t)| !t.is_empty()).collect();
    if swept.is_empty() {
        return None;
    }
    let mut t = Table::new("thresholds", variants, params);
    // Not `threshold`: that is the swept parameter's column in a threshold ablation.
    for (key, title) in [("eval_threshold", "evaluated at threshold"), ("checkpoint", "checkpoint")] {
        t.columns.push(Column { key: key.into(), title: title.into(), better: None, star: false });
    }
    let shown: Vec<&Metric> = THRESHOLD_METRICS
        .iter()
        .filter_map(|k| columns::find(k))
        .filter(|m| swept.iter().any(|(v, ts)| ts.iter().any(|&x| v.at_threshold(m.key, x) != Agg::Missing)))
        .collect();
    for m in &shown {
        t.push_metric(m);
        t.columns.last_mut().expect("just pushed").star = false;
    }
    for (v, ts) in swept {
        let mut steps: Vec<u64> = v.done().filter_map(|r| Some(r.thresholds.as_ref()?.0)).collect();
        steps.sort_unstable();
        steps.dedup();
        let steps: Vec<String> = steps.iter().map(|s| format!("update {s}")).collect();
        for x in ts {
            let mut cells = t.leading_cells(v, params);
            cells.push(Cell::Text(format!("{x}")));
            cells.push(Cell::Text(steps.join(", ")));
            cells.extend(shown.iter().map(|m| ours(v.at_threshold(m.key, x), m)));
            t.rows.push(Row { variant: v.label.clone(), epoch: None, cells });
        }
    }
    t.finish();
    Some(t)
}

/// Table III per variant: parameters, checkpoint, peak memory, time; the paper's T4 figures
/// beside ours (an upper bound where the paper gives one, e.g. "<8 GB").
pub fn table_iii(variants: &[Variant], params: &[String]) -> Table {
    let mut t = Table::new("table-iii", variants, params);
    t.columns.push(Column { key: "device".into(), title: "device".into(), better: None, star: false });
    for m in &columns::TABLE_III {
        t.push_metric(m);
        if paper::table_iii(m.key).is_some() {
            t.push_paper(m);
        }
    }
    for v in variants.iter().filter(|v| v.done().next().is_some()) {
        let mut cells = t.leading_cells(v, params);
        let mut devices: Vec<&str> = v.done().map(|r| r.device.as_str()).collect();
        devices.sort_unstable();
        devices.dedup();
        cells.push(Cell::Text(devices.join(", ")));
        for m in &columns::TABLE_III {
            let agg = v.result(m.key);
            let paper = paper::table_iii(m.key).map(|f| paper_and_ratio(&agg, f.text.to_string(), f.value));
            cells.push(ours(agg, m));
            cells.extend(paper.into_iter().flatten());
        }
        t.rows.push(Row { variant: v.label.clone(), epoch: None, cells });
    }
    t.finish();
    t
}

#[cfg(test)]
mod tests {
    use super::super::load::Run;
    use super::*;

    fn shown(values: &[f64]) -> Vec<(usize, f64, String)> {
        values.iter().enumerate().map(|(i, v)| (i, *v, format::value(*v, Unit::Plain))).collect()
    }

    #[test]
    fn only_a_sole_best_is_starred() {
        assert_eq!(sole_best(&shown(&[0.3, 0.1, 0.2]), Better::Lower), Some(1));
        assert_eq!(sole_best(&shown(&[0.3, 0.1, 0.2]), Better::Higher), Some(0));
        assert_eq!(sole_best(&shown(&[0.1, 0.1, 0.2]), Better::Lower), None, "an exact tie");
        assert_eq!(sole_best(&shown(&[0.12341, 0.12339, 0.2]), Better::Lower), None, "equal as shown (0.1234)");
        assert_eq!(sole_best(&shown(&[0.5]), Better::Lower), None, "nothing to compare with");
    }

    fn variant_of(run: &Run) -> Variant<'_> {
        Variant { label: run.label.clone(), settings: vec![], runs: vec![run] }
    }

    fn run(label: &str, results: &[(&str, f64)]) -> Run {
        Run {
            hash: label.into(),
            short: label.into(),
            variant: label.into(),
            fields: None,
            label: label.into(),
            seed: 0,
            state: "done".into(),
            reason: None,
            notes: vec![],
            device: "cpu".into(),
            started: None,
            finished: None,
            results: results.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            fid_pending: false,
            eval: Default::default(),
            train: Default::default(),
            eval_steps: Default::default(),
            thresholds: None,
            dir: std::path::PathBuf::new(),
        }
    }

    #[test]
    fn ties_and_costs_get_no_star() {
        let a = run("a", &[("gen_mse", 0.2), ("alignment", 0.5), ("params", 100.0), ("train_s", 3.0)]);
        let b = run("b", &[("gen_mse", 0.1), ("alignment", 0.5), ("params", 200.0), ("train_s", 9.0)]);
        let t = comparison(&[variant_of(&a), variant_of(&b)], &[]);
        let starred = |key: &str| -> Vec<bool> {
            let j = t.columns.iter().position(|c| c.key == key).unwrap();
            t.rows.iter().map(|r| matches!(r.cells[j], Cell::Ours { best: true, .. })).collect()
        };
        assert_eq!(starred("gen_mse"), [false, true]);
        assert_eq!(starred("alignment"), [false, false], "a tie stars nobody");
        assert_eq!(starred("params"), [false, false], "a cost is not a quality");
        assert_eq!(starred("train_s"), [false, false]);
    }
}
