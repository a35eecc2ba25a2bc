//! The report's plots, built from the runs: training loss per variant, eval metrics per epoch,
//! metric vs each numeric swept parameter, and quality vs compute; pooled values are the mean
//! over seeds with bars of its 95% confidence interval (none for a single seed).
//! Each returns none when the registry holds nothing to draw. Past ten variants, curves go into
//! small multiples of at most ten; variants whose curves are identical are drawn once and named
//! in the figure's notes, so no curve hides another unsaid.

use plotters::style::{BLACK, RGBColor};

use super::chart::{Figure, Panel, Point, Series, Style, color, look};
use super::columns::{self, Metric};
use super::load::Run;
use super::paper;
use super::stats::{Agg, Stat};
use super::variants::Variant;

const SPREAD_GREY: RGBColor = RGBColor(120, 120, 120);

/// Most curves one panel holds; more go into small multiples.
pub const PER_PANEL: usize = 10;

/// Items with equal keys, grouped in first-seen order: `(indices, key)`.
pub fn identical<T: PartialEq>(items: Vec<(usize, T)>) -> Vec<(Vec<usize>, T)> {
    let mut groups: Vec<(Vec<usize>, T)> = Vec::new();
    for (i, key) in items {
        match groups.iter_mut().find(|g| g.1 == key) {
            Some(g) => g.0.push(i),
            None => groups.push((vec![i], key)),
        }
    }
    groups
}

/// The note for a group of variants with identical curves, drawn once as the first.
fn identical_note(what: &str, variants: &[Variant], group: &[usize]) -> Option<String> {
    (group.len() > 1).then(|| {
        let labels: Vec<&str> = group.iter().map(|&i| variants[i].label.as_str()).collect();
        format!("{} variants have identical {what} curves, drawn once as {}: {}.", group.len(), labels[0], labels.join(", "))
    })
}

/// The settings every variant of `chunk` shares (the title of its small multiple), else its
/// position.
fn chunk_title(variants: &[Variant], chunk: &[usize]) -> String {
    let first = &variants[chunk[0]];
    let shared: Vec<String> = first
        .settings
        .iter()
        .filter(|(k, v)| chunk.iter().all(|&i| variants[i].setting(k) == Some(v.as_str())))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if shared.is_empty() { format!("variants {} to {}", chunk[0] + 1, chunk[chunk.len() - 1] + 1) } else { shared.join(", ") }
}

/// `ids` (variant indices in page order) cut into small multiples of at most [`PER_PANEL`]: by
/// the values of the first swept parameter, else of the first two, and so on, so each panel is
/// one setting of the leading parameters; in runs of [`PER_PANEL`] when no prefix cuts them into
/// few enough panels. One chunk when all fit.
fn chunks(variants: &[Variant], ids: &[usize]) -> Vec<Vec<usize>> {
    if ids.len() <= PER_PANEL {
        return vec![ids.to_vec()];
    }
    let mut params: Vec<&str> = Vec::new();
    for (k, _) in variants.iter().flat_map(|v| &v.settings) {
        if !params.contains(&k.as_str()) {
            params.push(k);
        }
    }
    for depth in 1..=params.len() {
        let key = |i: usize| -> Vec<Option<&str>> { params[..depth].iter().map(|p| variants[i].setting(p)).collect() };
        let mut cut: Vec<Vec<usize>> = Vec::new();
        for &i in ids {
            match cut.last_mut() {
                Some(c) if key(c[0]) == key(i) => c.push(i),
                _ => cut.push(vec![i]),
            }
        }
        // Fine enough, and not so fine that panels hold a curve or two each.
        if cut.iter().all(|c| c.len() <= PER_PANEL) {
            if cut.len() <= 3 * ids.len().div_ceil(PER_PANEL) {
                return cut;
            }
            break;
        }
    }
    ids.chunks(PER_PANEL).map(<[usize]>::to_vec).collect()
}

/// The min and max y of every series (error bars included): one span for all small multiples
/// of a quantity, so their axes agree.
fn y_span<'a>(series: impl Iterator<Item = &'a Series>) -> Option<(f64, f64)> {
    let ys = series.flat_map(|s| &s.points).flat_map(|q| [q.y - q.y_err.unwrap_or(0.0), q.y + q.y_err.unwrap_or(0.0)]);
    let (lo, hi) = ys.filter(|y| y.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| (a.min(y), b.max(y)));
    lo.is_finite().then_some((lo, hi))
}

/// Curves per variant split into panels of at most [`PER_PANEL`] variants (one panel when they
/// fit), every panel on one y span, titled `title` alone or `short` and its chunk's settings.
/// `curves` are (variant index, its series).
fn multiples(
    variants: &[Variant],
    curves: Vec<(usize, Vec<Series>)>,
    title: &str,
    short: &str,
    make: impl Fn(String, Vec<Series>) -> Panel,
) -> Vec<Panel> {
    let span = y_span(curves.iter().flat_map(|c| &c.1));
    let ids: Vec<usize> = curves.iter().map(|c| c.0).collect();
    let mut curves = curves.into_iter();
    let chunks: Vec<Vec<(usize, Vec<Series>)>> =
        chunks(variants, &ids).iter().map(|c| curves.by_ref().take(c.len()).collect()).collect();
    let single = chunks.len() == 1;
    chunks
        .into_iter()
        .map(|chunk| {
            let ids: Vec<usize> = chunk.iter().map(|c| c.0).collect();
            let t = if single { title.to_string() } else { format!("{short}: {}", chunk_title(variants, &ids)) };
            let mut p = make(t, chunk.into_iter().flat_map(|c| c.1).collect());
            p.y_span = span;
            p
        })
        .collect()
}

/// A run's seed and its (step, loss) points.
type SeedCurve = (u64, Vec<(u64, f64)>);

/// Training loss per optimizer step: each run faint, its moving average bold, one look per
/// variant. Every run with logged steps is drawn, finished or not, so a live run can be watched.
pub fn loss(variants: &[Variant]) -> Option<Figure> {
    let series_of = |r: &Run| r.train.get("loss").filter(|s| !s.is_empty()).cloned();
    let keyed: Vec<(usize, Vec<SeedCurve>)> = variants
        .iter()
        .enumerate()
        .map(|(i, v)| (i, v.runs.iter().filter_map(|r| Some((r.seed, series_of(r)?))).collect::<Vec<_>>()))
        .filter(|(_, runs)| !runs.is_empty())
        .collect();
    let all: Vec<f64> = keyed.iter().flat_map(|k| &k.1).flat_map(|r| &r.1).map(|p| p.1).collect();
    if all.is_empty() {
        return None;
    }
    let (lo, hi) = all.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
    let groups = identical(keyed);
    let notes: Vec<String> = groups.iter().filter_map(|g| identical_note("loss", variants, &g.0)).collect();
    let curves: Vec<(usize, Vec<Series>)> = groups
        .into_iter()
        .map(|(ids, runs)| {
            let i = ids[0];
            let name = if ids.len() > 1 {
                format!("{} (and {} identical)", variants[i].label, ids.len() - 1)
            } else {
                variants[i].label.clone()
            };
            let mut series = Vec::new();
            for (k, (_, s)) in runs.iter().enumerate() {
                let raw: Vec<Point> = s.iter().map(|&(x, y)| Point::at(x as f64, y)).collect();
                series.push(Series { name: None, color: color(i), style: Style::line(1, 0.3).of(look(i)), points: raw });
                let name = (k == 0).then(|| name.clone());
                series.push(Series { name, color: color(i), style: Style::line(2, 1.0).of(look(i)), points: smooth(s) });
            }
            (i, series)
        })
        .collect();
    let panels_of = chunks(variants, &curves.iter().map(|c| c.0).collect::<Vec<_>>()).len();
    let log_y = lo > 0.0 && hi / lo > 10.0;
    let panels = multiples(variants, curves, "Training loss (faint: per step; bold: moving average)", "loss", |title, series| {
        Panel { log_y, y_bounds: (Some(0.0), None), ..Panel::new(title, "optimizer step", "loss", series) }
    });
    let mut fig = match panels_of {
        1 => Figure::new(panels, 1, (1100, 440)),
        2 | 4 => Figure::new(panels, 2, (640, 340)),
        _ => Figure::new(panels, 3, (460, 320)),
    };
    fig.notes = notes;
    Some(fig)
}

/// Centered moving average over ~2% of the steps (at least 1 point each side).
fn smooth(s: &[(u64, f64)]) -> Vec<Point> {
    let half = (s.len() / 50).max(1);
    (0..s.len())
        .map(|i| {
            let w = &s[i.saturating_sub(half)..(i + half + 1).min(s.len())];
            Point::at(s[i].0 as f64, w.iter().map(|p| p.1).sum::<f64>() / w.len() as f64)
        })
        .collect()
}

/// The mean at `x` with its 95% interval as the error bar.
fn stat_point(x: f64, s: &Stat) -> Point {
    Point { y_err: s.half_width(), ..Point::at(x, s.mean) }
}

/// A variant's mean (95% interval) of eval metric `key` per epoch over its finished seeds.
pub fn eval_curve(v: &Variant, key: &str) -> Vec<Point> {
    let mut epochs: Vec<u32> = v.done().flat_map(|r| r.eval_epochs()).collect();
    epochs.sort_unstable();
    epochs.dedup();
    epochs.iter().filter_map(|&e| v.eval(key, e).stat().map(|s| stat_point(e as f64, s))).collect()
}

/// Each eval metric per epoch: mean over seeds with 95% interval bars; the paper's Table II as a
/// dashed line where it has the metric. Past ten variants each metric is a row of small
/// multiples.
pub fn eval_epochs(variants: &[Variant]) -> Option<Figure> {
    let mut panels = Vec::new();
    // Groups of variants with identical curves, and the metrics they are identical on.
    let mut same: Vec<(Vec<usize>, Vec<&str>)> = Vec::new();
    let mut chunks = 1;
    for m in &columns::EVAL {
        let keyed: Vec<(usize, Vec<Point>)> =
            variants.iter().enumerate().map(|(i, v)| (i, eval_curve(v, m.key))).filter(|(_, p)| !p.is_empty()).collect();
        if keyed.is_empty() {
            continue;
        }
        let groups = identical(keyed);
        for (ids, _) in groups.iter().filter(|g| g.0.len() > 1) {
            match same.iter_mut().find(|s| &s.0 == ids) {
                Some(s) => s.1.push(m.title),
                None => same.push((ids.clone(), vec![m.title])),
            }
        }
        let curves: Vec<(usize, Vec<Series>)> = groups
            .into_iter()
            .map(|(ids, points)| {
                let i = ids[0];
                let style = Style::line_markers(2, 4).of(look(i));
                (i, vec![Series { name: Some(variants[i].label.clone()), color: color(i), style, points }])
            })
            .collect();
        let paper: Vec<Point> =
            paper::TABLE_II.iter().filter_map(|r| Some(Point::at(r.epoch as f64, paper::table_ii(m.key, r.epoch)?))).collect();
        let row = multiples(variants, curves, &format!("{} per epoch", m.title), m.title, |title, mut series| {
            if !paper.is_empty() {
                let points = paper.clone();
                series.push(Series { name: Some("paper (Table II)".into()), color: BLACK, style: Style::dashed(), points });
            }
            Panel { integer_x: true, y_bounds: m.bounds, ..Panel::new(title, "epoch", m.title, series) }
        });
        chunks = chunks.max(row.len());
        panels.extend(row);
    }
    if panels.is_empty() {
        return None;
    }
    let mut fig = match chunks {
        1 => Figure::new(panels, 3, (430, 340)),
        n => Figure::new(panels, n.min(3), (400, 290)),
    };
    fig.notes = same.iter().filter_map(|(ids, metrics)| identical_note(&metrics.join(", "), variants, ids)).collect();
    Some(fig)
}

/// Final metrics against a numeric swept parameter: every seed as a grey dot, the mean with its
/// 95% interval in colour; variants that do not set the parameter (e.g. halting off) as dashed horizontal lines.
/// A halting threshold (`threshold`, `model.halting.threshold`) always shows average steps, and
/// quality against those steps with a point per threshold.
pub fn sweep(variants: &[Variant], param: &str) -> Option<Figure> {
    let measured = |m: &&Metric| variants.iter().any(|v| v.result(m.key).stat().is_some());
    let halting = param.rsplit('.').next() == Some("threshold");
    let mut metrics: Vec<&Metric> = columns::SUMMARY
        .iter()
        .filter(|m| ["fid", "avg_steps", "gen_mse", "kid"].contains(&m.key))
        .filter(|m| !(halting && m.key == "avg_steps"))
        .filter(measured)
        .take(if halting { 2 } else { 3 })
        .collect();
    let steps = columns::SUMMARY.iter().find(|m| m.key == "avg_steps").filter(measured);
    if halting && let Some(steps) = steps {
        metrics.push(steps);
    }
    let xs: Vec<f64> = variants.iter().filter_map(|v| v.setting(param)?.parse().ok()).collect();
    let (xmin, xmax) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(*x), b.max(*x)));
    let mut panels = Vec::new();
    for &m in &metrics {
        let mut seeds = Vec::new();
        let mut means = Vec::new();
        let mut series = Vec::new();
        for (i, v) in variants.iter().enumerate() {
            let x = v.setting(param).and_then(|s| s.parse::<f64>().ok());
            match (x, v.result(m.key)) {
                (Some(x), Agg::Stat(s)) => {
                    seeds.extend(v.done().filter_map(|r| r.result(m.key)).map(|y| Point::at(x, y)));
                    means.push(stat_point(x, &s));
                }
                (None, Agg::Stat(s)) => series.push(Series {
                    name: Some(v.label.clone()),
                    color: color(i),
                    style: Style::dashed(),
                    points: vec![Point::at(xmin, s.mean), Point::at(xmax, s.mean)],
                }),
                _ => {}
            }
        }
        if means.is_empty() {
            continue;
        }
        series.push(Series { name: Some("each seed".into()), color: SPREAD_GREY, style: Style::markers(3, 0.6), points: seeds });
        series.push(Series {
            name: Some("mean, 95% CI".into()),
            color: color(0),
            style: Style::line_markers(2, 5),
            points: means,
        });
        panels.push(Panel {
            x_span: Some((xmin, xmax)),
            y_bounds: m.bounds,
            ..Panel::new(format!("{} vs {param}", m.title), param, m.title, series)
        });
    }
    if halting
        && steps.is_some()
        && let Some(quality) = metrics.iter().find(|m| m.key != "avg_steps")
    {
        let mut points: Vec<(f64, Point)> = variants
            .iter()
            .filter_map(|v| {
                let t = v.setting(param)?.parse::<f64>().ok()?;
                let (Agg::Stat(x), Agg::Stat(y)) = (v.result("avg_steps"), v.result(quality.key)) else { return None };
                Some((t, steps_point(t, &x, &y)))
            })
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        if !points.is_empty() {
            let points: Vec<Point> = points.into_iter().map(|(_, p)| p).collect();
            let series = vec![Series { name: None, color: color(0), style: Style::line_markers(2, 5), points }];
            let title = format!("{} vs avg. steps", quality.title);
            panels
                .push(Panel { y_bounds: quality.bounds, ..Panel::new(title, "average reasoning steps", quality.title, series) });
        }
    }
    let cols = if panels.len() == 4 { 2 } else { 3 };
    (!panels.is_empty()).then(|| Figure::new(panels, cols, (430, 360)))
}

/// Quality `y` against average steps `x` at halting threshold `t`, labelled with it, with 95%
/// interval bars on both axes.
fn steps_point(t: f64, x: &Stat, y: &Stat) -> Point {
    Point { x_err: x.half_width(), y_err: y.half_width(), label: Some(format!("{t}")), ..Point::at(x.mean, y.mean) }
}

/// The quality metrics drawn against average steps per threshold.
const THRESHOLD_QUALITY: [&str; 2] = ["gen_mse", "alignment"];

/// Runs re-evaluated at other halting thresholds (`thresholds.parquet`): average reasoning
/// steps (x) against generation MSE and alignment (y), one point per threshold labelled with it,
/// a line per variant through its thresholds, each the mean over seeds with 95% interval bars
/// on both axes. None when no run of the experiment was re-evaluated.
pub fn thresholds(variants: &[Variant]) -> Option<Figure> {
    let mut panels = Vec::new();
    for key in THRESHOLD_QUALITY {
        let Some(m) = columns::find(key) else { continue };
        let mut series = Vec::new();
        for (i, v) in variants.iter().enumerate() {
            let points: Vec<Point> = v
                .thresholds()
                .into_iter()
                .filter_map(|t| match (v.at_threshold("avg_steps", t), v.at_threshold(key, t)) {
                    (Agg::Stat(x), Agg::Stat(y)) => Some(steps_point(t, &x, &y)),
                    _ => None,
                })
                .collect();
            if !points.is_empty() {
                let style = Style::line_markers(2, 5).of(look(i));
                series.push(Series { name: Some(v.label.clone()), color: color(i), style, points });
            }
        }
        if !series.is_empty() {
            let title = format!("{} vs avg. steps, per halting threshold", m.title);
            panels.push(Panel { y_bounds: m.bounds, ..Panel::new(title, "average reasoning steps", m.title, series) });
        }
    }
    (!panels.is_empty()).then(|| Figure::new(panels, 2, (560, 400)))
}

/// Quality (FID, or generation MSE while FID is pending everywhere) against generation latency
/// and against average reasoning steps: one point per variant with 95% interval bars, labelled beside
/// it while there are at most ten, named in the legend past that.
pub fn quality_vs_compute(variants: &[Variant]) -> Option<Figure> {
    let quality = ["fid", "gen_mse"].into_iter().find(|k| variants.iter().any(|v| v.result(k).stat().is_some()))?;
    let title = columns::SUMMARY.iter().find(|m| m.key == quality).map_or(quality, |m| m.title);
    let many = variants.len() > PER_PANEL;
    let mut panels = Vec::new();
    for (cost, desc) in [("gen_ms_b1", "generation time per clip, batch 1 (ms)"), ("avg_steps", "average reasoning steps")] {
        let mut series = Vec::new();
        for (i, v) in variants.iter().enumerate() {
            if let (Agg::Stat(x), Agg::Stat(y)) = (v.result(cost), v.result(quality)) {
                let label = (!many).then(|| v.label.clone());
                let p = Point { x_err: x.half_width(), y_err: y.half_width(), label, ..Point::at(x.mean, y.mean) };
                let name = many.then(|| v.label.clone());
                series.push(Series { name, color: color(i), style: Style::markers(6, 1.0).of(look(i)), points: vec![p] });
            }
        }
        if series.is_empty() {
            continue;
        }
        if cost == "avg_steps" && quality == "fid" {
            let last = paper::TABLE_II[paper::TABLE_II.len() - 1];
            let p = Point { label: Some(format!("paper, epoch {}", last.epoch)), ..Point::at(last.avg_steps, last.fid) };
            series.push(Series { name: None, color: BLACK, style: Style::markers(6, 1.0), points: vec![p] });
        }
        let what = if cost == "avg_steps" { "reasoning steps" } else { "latency" };
        panels
            .push(Panel { y_bounds: columns::bounds(quality), ..Panel::new(format!("{title} vs {what}"), desc, title, series) });
    }
    (!panels.is_empty()).then(|| Figure::new(panels, 2, (600, 420)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::variants;

    /// A finished run of variant `label` whose loss falls from `start`, with a final gen. MSE.
    fn run(label: &str, seed: u64, start: f64) -> Run {
        let loss: Vec<(u64, f64)> = (1..=50).map(|s| (s, start / (1.0 + s as f64 / 10.0))).collect();
        let eval = (1..=3).map(|e| (("alignment".to_string(), e), 0.2 * e as f64 + start / 100.0)).collect();
        Run {
            hash: format!("{label}-{seed}"),
            variant: label.into(),
            fields: None,
            short: format!("{label}-{seed}"),
            label: label.into(),
            seed,
            state: "done".into(),
            reason: None,
            notes: vec![],
            device: "cpu".into(),
            started: None,
            finished: None,
            results: [("gen_mse".to_string(), start / 4.0)].into_iter().collect(),
            fid_pending: false,
            eval,
            train: [("loss".to_string(), loss)].into_iter().collect(),
            eval_steps: Default::default(),
            thresholds: None,
            dir: std::path::PathBuf::new(),
        }
    }

    #[test]
    fn many_variants_go_into_small_multiples() {
        let runs: Vec<Run> =
            (0..36).map(|i| run(&format!("h={},l={},k={}", i / 12 + 1, i / 4 % 3 + 1, i % 4 + 1), 0, 1.0 + i as f64)).collect();
        let (vs, _) = variants::group(&runs);
        let fig = loss(&vs).unwrap();
        assert_eq!(fig.panels.len(), 9, "36 variants in panels of one (h, l) each: h alone leaves 12");
        for p in &fig.panels {
            assert!(p.series.iter().filter(|s| s.name.is_some()).count() <= PER_PANEL);
            assert_eq!(p.y_span, fig.panels[0].y_span, "one y axis for all");
        }
        assert_eq!(fig.panels[0].title, "loss: h=1, l=1");
        assert_eq!(fig.legend().len(), 36, "every variant named once, with its look");
        let epochs = eval_epochs(&vs).unwrap();
        assert_eq!(epochs.panels.len(), 9, "one metric, nine multiples");
        assert!(epochs.panels.iter().all(|p| p.y_bounds == (Some(0.0), Some(1.0))), "alignment stays in [0, 1]");
        if let Some(dir) = std::env::var_os("TTV_PLOTS_TO") {
            crate::report::chart::save(&fig, std::path::Path::new(&dir), "many_loss").unwrap();
            crate::report::chart::save(&epochs, std::path::Path::new(&dir), "many_eval").unwrap();
        }
    }

    #[test]
    fn identical_loss_curves_are_drawn_once_and_said() {
        let mut runs: Vec<Run> = (1..=7).map(|t| run(&format!("threshold=0.{t}"), 0, 2.0)).collect();
        runs.push(run("halting.kind=none", 0, 3.0));
        let (vs, _) = variants::group(&runs);
        let fig = loss(&vs).unwrap();
        let named: Vec<&str> = fig.panels[0].series.iter().filter_map(|s| s.name.as_deref()).collect();
        assert_eq!(named, ["threshold=0.1 (and 6 identical)", "halting.kind=none"]);
        assert_eq!(fig.notes.len(), 1);
        assert!(fig.notes[0].starts_with("7 variants have identical loss curves, drawn once as threshold=0.1: threshold=0.1, "));
        if let Some(dir) = std::env::var_os("TTV_PLOTS_TO") {
            crate::report::chart::save(&fig, std::path::Path::new(&dir), "identical_loss").unwrap();
        }
    }

    #[test]
    fn multiples_follow_the_leading_parameters() {
        let runs: Vec<Run> = (0..24).map(|i| run(&format!("a={},b={}", i / 6, i % 6), 0, 1.0)).collect();
        let (vs, _) = variants::group(&runs);
        let ids: Vec<usize> = (0..24).collect();
        assert_eq!(chunks(&vs, &ids).iter().map(Vec::len).collect::<Vec<_>>(), [6, 6, 6, 6], "one panel per value of a");
        assert_eq!(chunks(&vs, &ids[..9]).len(), 1, "ten or fewer share one panel");
        let flat: Vec<Run> = (0..25).map(|i| run(&format!("x={i}"), 0, 1.0)).collect();
        let (vs, _) = variants::group(&flat);
        let ids: Vec<usize> = (0..25).collect();
        assert_eq!(chunks(&vs, &ids).iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5], "runs of ten otherwise");
    }

    #[test]
    fn identical_curves_are_grouped() {
        let groups = identical(vec![(0, vec![1.0, 2.0]), (1, vec![1.0, 2.0]), (2, vec![1.0, 3.0]), (3, vec![1.0, 2.0])]);
        assert_eq!(groups, vec![(vec![0, 1, 3], vec![1.0, 2.0]), (vec![2], vec![1.0, 3.0])]);
    }
}
