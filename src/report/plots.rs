//! The report's plots, built from the runs: training loss per variant, eval metrics per epoch,
//! metric vs each numeric swept parameter (mean and spread over seeds), and quality vs compute.
//! Each returns none when the registry holds nothing to draw.

use plotters::style::{BLACK, RGBColor};

use super::chart::{Figure, Panel, Point, Series, Style, color};
use super::columns::{self, Metric};
use super::load::Run;
use super::paper;
use super::stats::{Agg, Stat};
use super::variants::Variant;

const SPREAD_GREY: RGBColor = RGBColor(120, 120, 120);

/// Training loss per optimizer step: each run faint, its moving average bold, one colour per
/// variant. Every run with logged steps is drawn, finished or not, so a live run can be watched.
pub fn loss(variants: &[Variant]) -> Option<Figure> {
    let runs = || variants.iter().enumerate().flat_map(|(i, v)| v.runs.iter().map(move |r| (i, v, *r)));
    let series_of = |r: &Run| r.train.get("loss").filter(|s| !s.is_empty()).cloned();
    let all: Vec<f64> = runs().filter_map(|(_, _, r)| series_of(r)).flatten().map(|p| p.1).collect();
    if all.is_empty() {
        return None;
    }
    let (lo, hi) = all.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
    let mut series = Vec::new();
    let mut named = vec![false; variants.len()];
    for (i, v, r) in runs() {
        let Some(s) = series_of(r) else { continue };
        let raw: Vec<Point> = s.iter().map(|&(x, y)| Point::at(x as f64, y)).collect();
        series.push(Series { name: None, color: color(i), style: Style::Line { width: 1, alpha: 0.3 }, points: raw });
        let name = (!named[i]).then(|| v.label.clone());
        named[i] = true;
        series.push(Series { name, color: color(i), style: Style::Line { width: 2, alpha: 1.0 }, points: smooth(&s) });
    }
    let panel = Panel {
        title: "Training loss (faint: per step; bold: moving average)".into(),
        x_desc: "optimizer step".into(),
        y_desc: "loss".into(),
        log_y: lo > 0.0 && hi / lo > 10.0,
        integer_x: false,
        x_span: None,
        legend: true,
        series,
    };
    Some(Figure { panels: vec![panel], cols: 1, panel_size: (1100, 440) })
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

/// Each eval metric per epoch: mean over seeds with ± std bars; the paper's Table II as a
/// dashed line where it has the metric.
pub fn eval_epochs(variants: &[Variant]) -> Option<Figure> {
    let mut panels = Vec::new();
    for m in &columns::EVAL {
        let mut series = Vec::new();
        for (i, v) in variants.iter().enumerate() {
            let mut epochs: Vec<u32> = v.done().flat_map(|r| r.eval_epochs()).collect();
            epochs.sort_unstable();
            epochs.dedup();
            let points: Vec<Point> =
                epochs.iter().filter_map(|&e| v.eval(m.key, e).stat().map(|s| stat_point(e as f64, s))).collect();
            if points.is_empty() {
                continue;
            }
            series.push(Series {
                name: Some(v.label.clone()),
                color: color(i),
                style: Style::Line { width: 2, alpha: 1.0 },
                points: points.clone(),
            });
            series.push(Series { name: None, color: color(i), style: Style::Markers { radius: 4, alpha: 1.0 }, points });
        }
        if series.is_empty() {
            continue;
        }
        let paper: Vec<Point> =
            paper::TABLE_II.iter().filter_map(|r| Some(Point::at(r.epoch as f64, paper::table_ii(m.key, r.epoch)?))).collect();
        if !paper.is_empty() {
            series.push(Series { name: Some("paper (Table II)".into()), color: BLACK, style: Style::Dashed, points: paper });
        }
        panels.push(Panel {
            title: format!("{} per epoch", m.title),
            x_desc: "epoch".into(),
            y_desc: m.title.into(),
            log_y: false,
            integer_x: true,
            x_span: None,
            legend: false,
            series,
        });
    }
    // One legend, on the panel that names the most series.
    let named = |p: &Panel| p.series.iter().filter(|s| s.name.is_some()).count();
    if let Some(p) = panels.iter_mut().max_by_key(|p| named(p)) {
        p.legend = true;
    }
    (!panels.is_empty()).then_some(Figure { panels, cols: 3, panel_size: (430, 340) })
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
                    style: Style::Dashed,
                    points: vec![Point::at(xmin, s.mean), Point::at(xmax, s.mean)],
                }),
                _ => {}
            }
        }
        if means.is_empty() {
            continue;
        }
        let c = color(0);
        series.push(Series {
            name: Some("each seed".into()),
            color: SPREAD_GREY,
            style: Style::Markers { radius: 3, alpha: 0.6 },
            points: seeds,
        });
        series.push(Series {
            name: Some("mean ± std".into()),
            color: c,
            style: Style::Line { width: 2, alpha: 1.0 },
            points: means.clone(),
        });
        series.push(Series { name: None, color: c, style: Style::Markers { radius: 5, alpha: 1.0 }, points: means });
        panels.push(Panel {
            title: format!("{} vs {param}", m.title),
            x_desc: param.into(),
            y_desc: m.title.into(),
            log_y: false,
            integer_x: false,
            x_span: Some((xmin, xmax)),
            legend: panels.is_empty(),
            series,
        });
    }
    (!panels.is_empty()).then_some(Figure { panels, cols: 3, panel_size: (430, 360) })
}

/// Quality (FID, or generation MSE while FID is pending everywhere) against generation latency
/// and against average reasoning steps: one labelled point per variant with ± std bars.
pub fn quality_vs_compute(variants: &[Variant]) -> Option<Figure> {
    let quality = ["fid", "gen_mse"].into_iter().find(|k| variants.iter().any(|v| v.result(k).stat().is_some()))?;
    let title = columns::SUMMARY.iter().find(|m| m.key == quality).map_or(quality, |m| m.title);
    let mut panels = Vec::new();
    for (cost, desc) in [("gen_ms_b1", "generation time per clip, batch 1 (ms)"), ("avg_steps", "average reasoning steps")] {
        let mut series = Vec::new();
        for (i, v) in variants.iter().enumerate() {
            if let (Agg::Stat(x), Agg::Stat(y)) = (v.result(cost), v.result(quality)) {
                let p = Point { x_err: x.std, y_err: y.std, label: Some(v.label.clone()), ..Point::at(x.mean, y.mean) };
                series.push(Series {
                    name: None,
                    color: color(i),
                    style: Style::Markers { radius: 6, alpha: 1.0 },
                    points: vec![p],
                });
            }
        }
        if series.is_empty() {
            continue;
        }
        if cost == "avg_steps" && quality == "fid" {
            let last = paper::TABLE_II[paper::TABLE_II.len() - 1];
            let p = Point { label: Some(format!("paper, epoch {}", last.epoch)), ..Point::at(last.avg_steps, last.fid) };
            series.push(Series { name: None, color: BLACK, style: Style::Markers { radius: 6, alpha: 1.0 }, points: vec![p] });
        }
        panels.push(Panel {
            title: format!("{title} vs {}", if cost == "avg_steps" { "reasoning steps" } else { "latency" }),
            x_desc: desc.into(),
            y_desc: title.into(),
            log_y: false,
            integer_x: false,
            x_span: None,
            legend: false,
            series,
        });
    }
    (!panels.is_empty()).then_some(Figure { panels, cols: 2, panel_size: (600, 420) })
}
