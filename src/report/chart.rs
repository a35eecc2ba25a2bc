//! Drawing with plotters: a figure is a grid of panels, each a few series of points (lines,
//! dashed reference lines, markers with error bars and labels) under one legend strip that shows
//! each series' mark as drawn. One drawing routine serves both backends, so the PNG on the page
//! and the SVG for papers show the same thing. Each variant has one look (colour, line pattern,
//! marker shape) on every plot and in every table.

use std::path::Path;

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::columns::Bounds;
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

/// A line's pattern. Variants 11 to 20 reuse the palette dashed, 21 to 30 dotted, and so on, so
/// that up to 40 variants each have a look of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dash {
    Solid,
    Dashed,
    Dotted,
    Long,
}

impl Dash {
    const ALL: [Dash; 4] = [Dash::Solid, Dash::Dashed, Dash::Dotted, Dash::Long];

    /// Dash and gap in pixels; none for a solid line.
    pub fn pattern(self) -> Option<(u32, u32)> {
        match self {
            Dash::Solid => None,
            Dash::Dashed => Some((7, 4)),
            Dash::Dotted => Some((2, 3)),
            Dash::Long => Some((14, 4)),
        }
    }

    /// The same pattern as an SVG `stroke-dasharray` (empty for solid).
    pub fn dasharray(self) -> String {
        self.pattern().map(|(d, g)| format!("{d} {g}")).unwrap_or_default()
    }
}

/// A marker's shape, in step with [`Dash`] for markers of variants past the tenth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Circle,
    Square,
    Triangle,
    Diamond,
}

impl Shape {
    const ALL: [Shape; 4] = [Shape::Circle, Shape::Square, Shape::Triangle, Shape::Diamond];
}

/// How a variant is drawn on every plot and marked in every table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Look {
    pub color: RGBColor,
    pub dash: Dash,
    pub shape: Shape,
}

/// The look of the `i`-th variant: colour by `i mod 10`, pattern and marker by `i / 10`.
pub fn look(i: usize) -> Look {
    let k = (i / PALETTE.len()) % Dash::ALL.len();
    Look { color: PALETTE[i % PALETTE.len()], dash: Dash::ALL[k], shape: Shape::ALL[k] }
}

/// The colour of the `i`-th variant.
pub fn color(i: usize) -> RGBColor {
    look(i).color
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
pub struct Line {
    pub width: u32,
    pub alpha: f64,
    pub dash: Dash,
}

/// Markers of this radius, with error bars where points have them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Marker {
    pub radius: u32,
    pub alpha: f64,
    pub shape: Shape,
}

/// What a series draws: a line through its points, a marker at each, or both. The legend shows
/// exactly this.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Style {
    pub line: Option<Line>,
    pub marker: Option<Marker>,
}

impl Style {
    pub fn line(width: u32, alpha: f64) -> Style {
        Style { line: Some(Line { width, alpha, dash: Dash::Solid }), marker: None }
    }

    /// A reference line (the paper's figures, variants without the swept parameter).
    pub fn dashed() -> Style {
        Style::line(2, 1.0).dash(Dash::Dashed)
    }

    pub fn markers(radius: u32, alpha: f64) -> Style {
        Style { line: None, marker: Some(Marker { radius, alpha, shape: Shape::Circle }) }
    }

    /// A line with a marker at each point.
    pub fn line_markers(width: u32, radius: u32) -> Style {
        Style { marker: Style::markers(radius, 1.0).marker, ..Style::line(width, 1.0) }
    }

    pub fn dash(mut self, dash: Dash) -> Style {
        if let Some(l) = &mut self.line {
            l.dash = dash;
        }
        self
    }

    /// The variant's pattern and marker shape (its colour is the series').
    pub fn of(mut self, look: Look) -> Style {
        if let Some(m) = &mut self.marker {
            m.shape = look.shape;
        }
        self.dash(look.dash)
    }
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
    /// Likewise for y (small multiples of one quantity share their axis).
    pub y_span: Option<(f64, f64)>,
    /// The values y can take: the axis stops there (an error in [0, inf) has no axis below 0).
    pub y_bounds: Bounds,
    pub series: Vec<Series>,
}

impl Panel {
    /// A panel of `series` with linear axes, unbounded.
    pub fn new(title: String, x_desc: &str, y_desc: &str, series: Vec<Series>) -> Panel {
        Panel {
            title,
            x_desc: x_desc.into(),
            y_desc: y_desc.into(),
            log_y: false,
            integer_x: false,
            x_span: None,
            y_span: None,
            y_bounds: (None, None),
            series,
        }
    }

    fn ty(&self, y: f64) -> f64 {
        if self.log_y { y.log10() } else { y }
    }

    /// Every y the panel draws (error bars included), on the axis' scale.
    fn ys(&self) -> impl Iterator<Item = f64> + '_ {
        let points = self.series.iter().flat_map(|s| s.points.iter());
        let ys = points.flat_map(|q| [self.ty(q.y - q.y_err.unwrap_or(0.0)), self.ty(q.y + q.y_err.unwrap_or(0.0))]);
        ys.chain(self.y_span.into_iter().flat_map(|(a, b)| [self.ty(a), self.ty(b)]))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub panels: Vec<Panel>,
    pub cols: usize,
    pub panel_size: (u32, u32),
    /// What a reader should know that the drawing cannot say (shown under the figure).
    pub notes: Vec<String>,
}

/// One legend line: a name and the mark its series draws.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub name: String,
    pub color: RGBColor,
    pub style: Style,
}

const LEGEND_ROW: u32 = 20;

/// Most point labels a panel draws (three variants' seven thresholds); past that none, since
/// they would pile up.
const MAX_LABELS: usize = 21;

impl Figure {
    pub fn new(panels: Vec<Panel>, cols: usize, panel_size: (u32, u32)) -> Figure {
        Figure { panels, cols, panel_size, notes: Vec::new() }
    }

    /// The named series of every panel, each name once, in order: drawn as a strip above the
    /// panels.
    pub fn legend(&self) -> Vec<Entry> {
        let mut out: Vec<Entry> = Vec::new();
        for s in self.panels.iter().flat_map(|p| &p.series) {
            if let Some(name) = &s.name
                && !out.iter().any(|e| &e.name == name)
            {
                out.push(Entry { name: name.clone(), color: s.color, style: s.style });
            }
        }
        out
    }

    fn panels_size(&self) -> (u32, u32) {
        let rows = self.panels.len().div_ceil(self.cols.max(1)) as u32;
        (self.panel_size.0 * self.cols.min(self.panels.len()).max(1) as u32, self.panel_size.1 * rows.max(1))
    }

    /// The legend strip's columns (their width in pixels) and rows.
    fn legend_grid(&self, width: u32) -> (u32, u32, u32) {
        let entries = self.legend();
        if entries.is_empty() {
            return (0, 0, 0);
        }
        let longest = entries.iter().map(|e| e.name.chars().count()).max().unwrap_or(0) as u32;
        let col_w = (longest * 7 + 48).clamp(120, width.max(120));
        let cols = (width / col_w).max(1);
        (col_w, cols, (entries.len() as u32).div_ceil(cols))
    }

    fn legend_height(&self) -> u32 {
        let (_, _, rows) = self.legend_grid(self.panels_size().0);
        if rows == 0 { 0 } else { rows * LEGEND_ROW + 12 }
    }

    /// Pixel size of the whole figure.
    pub fn size(&self) -> (u32, u32) {
        let (w, h) = self.panels_size();
        (w, h + self.legend_height())
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
    let (top, body) = root.split_vertically(fig.legend_height());
    draw_legend(fig, &top)?;
    let rows = fig.panels.len().div_ceil(fig.cols.max(1)).max(1);
    let areas = body.split_evenly((rows, fig.cols.min(fig.panels.len()).max(1)));
    for (panel, area) in fig.panels.iter().zip(areas.iter()) {
        draw_panel(panel, area)?;
    }
    Ok(())
}

/// The legend strip: each entry's line (with its pattern) and marker as the plots draw them.
fn draw_legend<DB: DrawingBackend>(fig: &Figure, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    let (col_w, cols, _) = fig.legend_grid(area.dim_in_pixel().0);
    for (k, e) in fig.legend().iter().enumerate() {
        let (c, r) = ((k as u32 % cols.max(1)) as i32, (k as u32 / cols.max(1)) as i32);
        let (x, y) = (12 + c * col_w as i32, 14 + r * LEGEND_ROW as i32);
        if let Some(l) = e.style.line {
            let style = e.color.mix(l.alpha.max(0.6)).stroke_width(l.width.max(2));
            for seg in dashes(x, x + 28, y, l.dash) {
                area.draw(&PathElement::new(seg, style))?;
            }
        }
        if let Some(m) = e.style.marker {
            marker_at(area, (x + 14, y), m, e.color)?;
        }
        area.draw(&Text::new(e.name.clone(), (x + 36, y - 8), ("sans-serif", 13).into_font().color(&BLACK)))?;
    }
    Ok(())
}

/// The horizontal segments of a line from `x0` to `x1` at `y` in `dash`'s pattern.
fn dashes(x0: i32, x1: i32, y: i32, dash: Dash) -> Vec<Vec<(i32, i32)>> {
    let Some((d, g)) = dash.pattern() else { return vec![vec![(x0, y), (x1, y)]] };
    (x0..x1).step_by((d + g) as usize).map(|x| vec![(x, y), ((x + d as i32).min(x1), y)]).collect()
}

/// One marker in pixel coordinates of `area`.
fn marker_at<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, at: (i32, i32), m: Marker, color: RGBColor) -> DrawResult<DB> {
    let style = color.mix(m.alpha).filled();
    let r = m.radius as i32;
    match m.shape {
        Shape::Circle => area.draw(&Circle::new(at, r, style)),
        Shape::Square => area.draw(&Rectangle::new([(at.0 - r, at.1 - r), (at.0 + r, at.1 + r)], style)),
        Shape::Triangle => area.draw(&TriangleMarker::new(at, r + 1, style)),
        Shape::Diamond => {
            let r = r + 1;
            area.draw(&Polygon::new(vec![(at.0, at.1 - r), (at.0 + r, at.1), (at.0, at.1 + r), (at.0 - r, at.1)], style))
        }
    }
}

/// The data range on one axis, padded by 6% (and widened when all values are equal).
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { (hi - lo) * 0.06 } else { (lo.abs() * 0.1).max(0.5) };
    (lo - pad, hi + pad)
}

/// The y axis for `values`: padded as [`range`], then stopped at the metric's bounds, so a score
/// in [0, 1] never shows 1.05 and an error never shows a negative value.
pub fn y_range(values: impl Iterator<Item = f64>, (lo_bound, hi_bound): Bounds) -> (f64, f64) {
    let (mut lo, mut hi) = range(values);
    if let Some(b) = lo_bound {
        lo = lo.max(b);
    }
    if let Some(b) = hi_bound {
        hi = hi.min(b);
    }
    if hi <= lo {
        // Every value sits on a bound: show a sliver inside it.
        let pad = (lo.abs() * 0.1).max(0.5);
        return if hi_bound.is_some_and(|b| lo >= b) { (lo - pad, lo) } else { (lo, lo + pad) };
    }
    (lo, hi)
}

fn draw_panel<DB: DrawingBackend>(p: &Panel, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    let ty = |y: f64| p.ty(y);
    let points = || p.series.iter().flat_map(|s| s.points.iter());
    let span = p.x_span.into_iter().flat_map(|(a, b)| [a, b]);
    let (x0, x1) = range(points().flat_map(|q| [q.x - q.x_err.unwrap_or(0.0), q.x + q.x_err.unwrap_or(0.0)]).chain(span));
    let bounds = if p.log_y { (None, None) } else { p.y_bounds };
    let (y0, y1) = y_range(p.ys(), bounds);
    let clamp_y = |y: f64| y.clamp(y0, y1);
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
    let labelled = p.series.iter().flat_map(|s| &s.points).filter(|q| q.label.is_some()).count();
    for s in &p.series {
        let xy: Vec<(f64, f64)> = s.points.iter().filter(|q| !p.log_y || q.y > 0.0).map(|q| (q.x, ty(q.y))).collect();
        let color = s.color;
        if let Some(l) = s.style.line {
            let style = color.mix(l.alpha).stroke_width(l.width);
            match l.dash.pattern() {
                None => chart.draw_series(LineSeries::new(xy.clone(), style))?,
                Some((d, g)) => chart.draw_series(DashedLineSeries::new(xy.clone(), d, g, style))?,
            };
        }
        let Some(m) = s.style.marker else { continue };
        let bars = s.points.iter().flat_map(|q| {
            let v = q
                .y_err
                .map(|e| PathElement::new(vec![(q.x, clamp_y(ty(q.y - e))), (q.x, clamp_y(ty(q.y + e)))], color.stroke_width(2)));
            let h = q.x_err.map(|e| PathElement::new(vec![(q.x - e, ty(q.y)), (q.x + e, ty(q.y))], color.stroke_width(2)));
            v.into_iter().chain(h)
        });
        chart.draw_series(bars)?;
        // Text beside markers only while few enough not to pile up; the legend names the rest.
        if labelled <= MAX_LABELS {
            chart.draw_series(s.points.iter().filter_map(|q| {
                let text = q.label.clone()?;
                // Labels in the right third go left of their marker so they stay inside.
                let dx = if q.x > x0 + 0.66 * (x1 - x0) { -7 - 7 * text.chars().count() as i32 } else { 7 };
                Some(EmptyElement::at((q.x, ty(q.y))) + Text::new(text, (dx, -16), ("sans-serif", 13).into_font().color(&BLACK)))
            }))?;
        }
        let plot = chart.plotting_area();
        for c in xy {
            marker_at(&plot.use_screen_coord(), plot.map_coordinate(&c), m, color)?;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_axes_stop_at_their_bounds() {
        // An error near zero with a wide spread: no negative axis.
        let (lo, hi) = y_range([0.02, 0.5, -0.1].into_iter(), (Some(0.0), None));
        assert_eq!(lo, 0.0);
        assert!(hi > 0.5);
        // A score near 1: the axis ends at 1.
        let (lo, hi) = y_range([0.8, 1.0, 1.04].into_iter(), (Some(0.0), Some(1.0)));
        assert!(lo < 0.8 && lo > 0.0);
        assert_eq!(hi, 1.0);
        // Every value on the bound: a sliver inside it.
        assert_eq!(y_range([1.0, 1.0].into_iter(), (Some(0.0), Some(1.0))), (0.5, 1.0));
        assert_eq!(y_range([0.0].into_iter(), (Some(0.0), None)), (0.0, 0.5));
        // Unbounded: padded both ways.
        let (lo, hi) = y_range([-1.0, 1.0].into_iter(), (None, None));
        assert!(lo < -1.0 && hi > 1.0);
    }

    #[test]
    fn variants_past_ten_get_a_look_of_their_own() {
        let looks: Vec<Look> = (0..40).map(look).collect();
        for (i, a) in looks.iter().enumerate() {
            assert!(looks[..i].iter().all(|b| b != a), "variant {i} looks like an earlier one");
        }
        assert_eq!(look(3).dash, Dash::Solid);
        assert_eq!((look(13).color, look(13).dash, look(13).shape), (look(3).color, Dash::Dashed, Shape::Square));
    }

    #[test]
    fn the_legend_shows_the_mark_drawn() {
        let s = |name: &str, style| Series { name: Some(name.into()), color: color(0), style, points: vec![] };
        let p = Panel::new("t".into(), "x", "y", vec![s("seeds", Style::markers(3, 0.6)), s("paper", Style::dashed())]);
        let legend = Figure::new(vec![p], 1, (400, 300)).legend();
        assert_eq!(legend[0].style.line, None, "dots are drawn as dots");
        assert_eq!(legend[1].style.line.map(|l| l.dash), Some(Dash::Dashed));
        assert_eq!(dashes(0, 22, 5, Dash::Dashed), vec![vec![(0, 5), (7, 5)], vec![(11, 5), (18, 5)]]);
    }
}
