//! The report's plots, built from the runs: training loss per variant, eval metrics per epoch,
//! metric vs each numeric swept parameter (mean and spread over seeds), and quality vs compute.
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

/// The min and max y of every series (error bars included): one span for all small multiples
/// of a quantity, so their axes agree.
fn y_span<'a>(series: impl Iterator<Item = &'a Series>) -> Option<(f64, f64)> {
    let ys = series.flat_map(|s| &s.points).flat_map(|q| [q.y - q.y_err.unwrap_or(0.0), q.y + q.y_err.unwrap_or(0.0)]);
    let (lo, hi) = ys.filter(|y| y.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| (a.min(y), b.max(y)));
    lo.is_finite().then_some((lo, hi))
}

/// Curves per variant split into panels of at most [`PER_PANEL`] variants (one panel when they
/// fit), every panel on one y span. `curves` are (variant index, its series).
fn multiples(
    variants: &[Variant],
    curves: Vec<(usize, Vec<Series>)>,
    title: &str,
    make: impl Fn(String, Vec<Series>) -> Panel,
) -> Vec<Panel> {
    let span = y_span(curves.iter().flat_map(|c| &c.1));
    let n = curves.len();
    let chunks: Vec<Vec<(usize, Vec<Series>)>> = if n <= PER_PANEL {
        vec![curves]
    } else {
        let mut it = curves.into_iter().peekable();
        let mut out = Vec::new();
        while it.peek().is_some() {
            out.push(it.by_ref().take(PER_PANEL).collect());
        }
        out
    };
    let single = chunks.len() == 1;
    chunks
        .into_iter()
        .map(|chunk| {
            let ids: Vec<usize> = chunk.iter().map(|c| c.0).collect();
            let t = if single { title.to_string() } else { format!("{title}: {}", chunk_title(variants, &ids)) };
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
    let many = curves.len() > PER_PANEL;
    let log_y = lo > 0.0 && hi / lo > 10.0;
    let panels = multiples(variants, curves, "Training loss (faint: per step; bold: moving average)", |title, series| Panel {
        log_y,
        y_bounds: (Some(0.0), None),
        ..Panel::new(title, "optimizer step", "loss", series)
    });
    let mut fig = if many { Figure::new(panels, 2, (640, 340)) } else { Figure::new(panels, 1, (1100, 440)) };
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

fn stat_point(x: f64, s: &Stat) -> Point {
    Point { y_err: s.std, ..Point::at(x, s.mean) }
}

/// A variant's mean ± std of eval metric `key` per epoch over its finished seeds.
pub fn eval_curve(v: &Variant, key: &str) -> Vec<Point> {
    let mut epochs: Vec<u32> = v.done().flat_map(|r| r.eval_epochs()).collect();
    epochs.sort_unstable();
    epochs.dedup();
    epochs.iter().filter_map(|&e| v.eval(key, e).stat().map(|s| stat_point(e as f64, s))).collect()
}

/// Each eval metric per epoch: mean over seeds with ± std bars; the paper's Table II as a
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
        let row = multiples(variants, curves, &format!("{} per epoch", m.title), |title, mut series| {
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
    let mut fig = if chunks > 1 { Figure::new(panels, chunks, (400, 300)) } else { Figure::new(panels, 3, (430, 340)) };
    fig.notes = same.iter().filter_map(|(ids, metrics)| identical_note(&metrics.join(", "), variants, ids)).collect();
    Some(fig)
}

/// Final metrics against a numeric swept parameter: every seed as a grey dot, the mean ± std in
/// colour; variants that do not set the parameter (e.g. halting off) as dashed horizontal lines.
pub fn sweep(variants: &[Variant], param: &str) -> Option<Figure> {
    let metrics: Vec<&Metric> = columns::SUMMARY
        .iter()
        .filter(|m| ["fid", "avg_steps", "gen_mse", "kid"].contains(&m.key))
        .filter(|m| variants.iter().any(|v| v.result(m.key).stat().is_some()))
        .take(3)
        .collect();
    let xs: Vec<f64> = variants.iter().filter_map(|v| v.setting(param)?.parse().ok()).collect();
    let (xmin, xmax) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(*x), b.max(*x)));
    let mut panels = Vec::new();
    for m in metrics {
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
        series
            .push(Series { name: Some("mean ± std".into()), color: color(0), style: Style::line_markers(2, 5), points: means });
        panels.push(Panel {
            x_span: Some((xmin, xmax)),
            y_bounds: m.bounds,
            ..Panel::new(format!("{} vs {param}", m.title), param, m.title, series)
        });
    }
    (!panels.is_empty()).then(|| Figure::new(panels, 3, (430, 360)))
}

/// Quality (FID, or generation MSE while FID is pending everywhere) against generation latency
/// and against average reasoning steps: one point per variant with ± std bars, labelled beside
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
                let p = Point { x_err: x.std, y_err: y.std, label, ..Point::at(x.mean, y.mean) };
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

    #[test]
    fn identical_curves_are_grouped() {
        let groups = identical(vec![(0, vec![1.0, 2.0]), (1, vec![1.0, 2.0]), (2, vec![1.0, 3.0]), (3, vec![1.0, 2.0])]);
        assert_eq!(groups, vec![(vec![0, 1, 3], vec![1.0, 2.0]), (vec![2], vec![1.0, 3.0])]);
    }
}
