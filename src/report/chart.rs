//! Drawing with plotters: a figure is a grid of panels, each a few series of points (lines,
//! dashed reference lines, markers with error bars and labels). One drawing routine serves both
//! backends, so the PNG on the page and the SVG for papers show the same thing.

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::store::atomic::write_atomic;

/// Tableau 10: distinguishable, and the same variant keeps its colour on every plot.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The colour of the `i`-th variant (also used by the page's tables and legend).
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

pub fn css_color(i: usize) -> String {
    let RGBColor(r, g, b) = color(i);
    format!("#{r:02x}{g:02x}{b:02x}")
}

#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub x_err: Option<f64>,
    pub y_err: Option<f64>,
    /// Text drawn beside the marker.
    pub label: Option<String>,
}

impl Point {
    pub fn at(x: f64, y: f64) -> Point {
        Point { x, y, x_err: None, y_err: None, label: None }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Style {
    Line {
        width: u32,
        alpha: f64,
    },
    Dashed,
    /// Filled circles of this radius, with error bars where points have them.
    Markers {
        radius: u32,
        alpha: f64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend entry; unnamed series stay out of the legend.
    pub name: Option<String>,
    pub color: RGBColor,
    pub style: Style,
    pub points: Vec<Point>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub x_desc: String,
    pub y_desc: String,
    /// Plot log10(y) (labelled in y): for losses spanning orders of magnitude.
    pub log_y: bool,
    /// Label only integer x ticks (epochs).
    pub integer_x: bool,
    /// Keep these x values in view even where no series reaches them (a sweep's full range).
    pub x_span: Option<(f64, f64)>,
    pub legend: bool,
    pub series: Vec<Series>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub panels: Vec<Panel>,
    pub cols: usize,
    pub panel_size: (u32, u32),
}

impl Figure {
    /// Pixel size of the whole figure.
    pub fn size(&self) -> (u32, u32) {
        let rows = self.panels.len().div_ceil(self.cols.max(1)) as u32;
        (self.panel_size.0 * self.cols.min(self.panels.len()).max(1) as u32, self.panel_size.1 * rows.max(1))
    }
}

/// Write `<dir>/<stem>.png` and `<dir>/<stem>.svg`, each atomically.
pub fn save(fig: &Figure, dir: &Path, stem: &str) -> Result<()> {
    super::font::register();
    let (w, h) = fig.size();
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        draw(fig, &root).map_err(|e| anyhow!("drawing {stem}.png: {e:?}"))?;
        root.present().map_err(|e| anyhow!("drawing {stem}.png: {e:?}"))?;
    }
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header()?.write_image_data(&rgb)?;
    }
    write_atomic(&dir.join(format!("{stem}.png")), &png_bytes)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        draw(fig, &root).map_err(|e| anyhow!("drawing {stem}.svg: {e:?}"))?;
        root.present().map_err(|e| anyhow!("drawing {stem}.svg: {e:?}"))?;
    }
    write_atomic(&dir.join(format!("{stem}.svg")), svg.as_bytes())?;
    Ok(())
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(fig: &Figure, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let rows = fig.panels.len().div_ceil(fig.cols.max(1)).max(1);
    let areas = root.split_evenly((rows, fig.cols.min(fig.panels.len()).max(1)));
    for (panel, area) in fig.panels.iter().zip(areas.iter()) {
        draw_panel(panel, area)?;
    }
    Ok(())
}

/// The panel's data range on one axis, padded by 6% (and widened when all values are equal).
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { (hi - lo) * 0.06 } else { (lo.abs() * 0.1).max(0.5) };
    (lo - pad, hi + pad)
}

fn draw_panel<DB: DrawingBackend>(p: &Panel, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    let ty = |y: f64| if p.log_y { y.log10() } else { y };
    let points = || p.series.iter().flat_map(|s| s.points.iter());
    let span = p.x_span.into_iter().flat_map(|(a, b)| [a, b]);
    let (x0, x1) = range(points().flat_map(|q| [q.x - q.x_err.unwrap_or(0.0), q.x + q.x_err.unwrap_or(0.0)]).chain(span));
    let (y0, y1) = range(points().flat_map(|q| [ty(q.y - q.y_err.unwrap_or(0.0)), ty(q.y + q.y_err.unwrap_or(0.0))]));
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(76)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let x_fmt = |v: &f64| {
        if !p.integer_x {
            tick(*v, x1 - x0)
        } else if (v - v.round()).abs() < 1e-9 {
            format!("{}", v.round())
        } else {
            String::new()
        }
    };
    let y_fmt = |v: &f64| {
        if p.log_y {
            let y = 10f64.powf(*v);
            tick(y, y.abs() * 10.0)
        } else {
            tick(*v, y1 - y0)
        }
    };
    chart
        .configure_mesh()
        .x_desc(&p.x_desc)
        .y_desc(&p.y_desc)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .light_line_style(RGBColor(238, 238, 238))
        .bold_line_style(RGBColor(215, 215, 215))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .draw()?;
    for s in &p.series {
        let xy: Vec<(f64, f64)> = s.points.iter().filter(|q| !p.log_y || q.y > 0.0).map(|q| (q.x, ty(q.y))).collect();
        let color = s.color;
        let anno = match s.style {
            Style::Line { width, alpha } => chart.draw_series(LineSeries::new(xy, color.mix(alpha).stroke_width(width)))?,
            Style::Dashed => chart.draw_series(DashedLineSeries::new(xy, 8, 5, color.stroke_width(2)))?,
            Style::Markers { radius, alpha } => {
                let bars = s.points.iter().flat_map(|q| {
                    let v =
                        q.y_err.map(|e| PathElement::new(vec![(q.x, ty(q.y - e)), (q.x, ty(q.y + e))], color.stroke_width(2)));
                    let h =
                        q.x_err.map(|e| PathElement::new(vec![(q.x - e, ty(q.y)), (q.x + e, ty(q.y))], color.stroke_width(2)));
                    v.into_iter().chain(h)
                });
                chart.draw_series(bars)?;
                chart.draw_series(s.points.iter().filter_map(|q| {
                    let text = q.label.clone()?;
                    // Labels in the right third go left of their marker so they stay inside.
                    let dx = if q.x > x0 + 0.66 * (x1 - x0) { -7 - 7 * text.chars().count() as i32 } else { 7 };
                    Some(
                        EmptyElement::at((q.x, ty(q.y)))
                            + Text::new(text, (dx, -16), ("sans-serif", 13).into_font().color(&BLACK)),
                    )
                }))?;
                chart.draw_series(xy.into_iter().map(|c| Circle::new(c, radius, color.mix(alpha).filled())))?
            }
        };
        if let Some(name) = &s.name {
            anno.label(name.clone()).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3)));
        }
    }
    if p.legend && p.series.iter().any(|s| s.name.is_some()) {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font(("sans-serif", 13))
            .draw()?;
    }
    Ok(())
}

/// A tick label precise enough to tell ticks apart on an axis spanning `span`, without
/// trailing zeros.
fn tick(v: f64, span: f64) -> String {
    let decimals = if span > 0.0 { (2 - span.log10().floor() as i32).clamp(0, 8) as usize } else { 2 };
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
    if s == "-0" { "0".into() } else { s }
}
