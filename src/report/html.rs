//! HTML building blocks: the page shell (inline CSS, the page's script beside it, no network),
//! tables whose cells carry the exact numbers as data attributes (for sorting, scripts and tests)
//! beside the rounded text, and the captioned GIF grid. Written with maud, which escapes every
//! spliced value.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::chart;
use super::format;

/// The script every page loads from beside it (`report.js`): sorting, filtering, curves,
/// parallel coordinates, the run diff, the reload under `--serve`.
pub const SCRIPT: &str = include_str!("static/report.js");
pub const SCRIPT_NAME: &str = "report.js";

use super::gifgrid::Layout;
use super::stats::Agg;
use super::tables::{Cell, Table};

const CSS: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI','DejaVu Sans',sans-serif;margin:0;color:#222;background:#fafafa}
main{max-width:1400px;margin:0 auto;padding:1.5em 2em 4em}
h1{margin:.2em 0}h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
a{color:#1f5fa8}
.sub{color:#666}
table{border-collapse:collapse;background:#fff;margin:.6em 0;font-size:14px}
td,th{border:1px solid #ddd;padding:4px 9px;text-align:left;vertical-align:top}
th{background:#f0f0f0;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.paper{color:#555;background:#f7f7f2}
td.ratio{color:#555}
td.best{font-weight:700;background:#e3f3e3}
td.best::after{content:' \\2605';color:#2a7d2a}
td.pending,td.missing{color:#999;font-style:italic}
td.differs{background:#fdf1dc}td.differs::after{content:' \\2260';color:#a35c00}
.state{display:inline-block;padding:0 .5em;border-radius:3px;color:#fff;font-size:13px}
.state-done{background:#2a7d2a}.state-failed{background:#c0392b}.state-running{background:#1f5fa8}
.state-interrupted{background:#d68910}.state-planned,.state-queued{background:#888}
svg.mark{vertical-align:middle;margin-right:.35em}
.legend span.item{margin-right:1.4em;white-space:nowrap}
p.description{font-size:17px;color:#333;margin:.2em 0 .8em}
nav#contents{background:#fff;border:1px solid #e3e3e3;padding:.4em 1em;display:inline-block;font-size:14px}
nav#contents ol{margin:.2em 0;padding-left:1.4em;columns:2;column-gap:2.5em}
th.sorter{cursor:pointer;user-select:none}th.sorter:hover{background:#e4e4e4}
th[aria-sort=ascending]::after{content:' \\25B2';font-size:10px}th[aria-sort=descending]::after{content:' \\25BC';font-size:10px}
input.filter{font-size:14px;padding:3px 6px;width:22em}
.chart{background:#fff;border:1px solid #e3e3e3;padding:.5em;margin:.6em 0;max-width:100%;overflow-x:auto}
.chart svg text,.pc-svg text{font-size:12px;fill:#333}.chart svg text.title,.pc-svg text.title{font-size:14px;font-weight:600}
.chart .grid{stroke:#eee}.chart path.curve{fill:none;stroke-width:2}.chart .hover-dot{fill:none;stroke:#000;stroke-width:1.5}
.legend-toggle{font-size:13px;margin-top:.3em}.legend-toggle button{font-size:12px;margin:0 .3em .3em 0}.legend-entry{display:inline-block;margin:0 1.2em .2em 0;cursor:pointer;white-space:nowrap}
.legend-entry.off{opacity:.35;text-decoration:line-through}.legend-entry svg{vertical-align:middle;margin-right:.3em}
.legend-toggle .note,strong.note{color:#6a5200;font-weight:600}
.tip{position:absolute;background:#222;color:#fff;font-size:12px;padding:3px 7px;border-radius:3px;pointer-events:none;white-space:nowrap}
.pc-svg path.pc-line{fill:none;stroke-width:2;opacity:.8}.pc-svg path.pc-line:hover{stroke-width:4;opacity:1}.pc-axis{stroke:#555}
ul.fields{margin:0;padding-left:1.1em;font-size:13px}
ul.notes{color:#6a5200;font-size:14px}
figure{margin:1em 0;background:#fff;border:1px solid #e3e3e3;padding:.5em;display:inline-block;max-width:100%;overflow-x:auto}
figure img{display:block}
figcaption{color:#555;font-size:14px;margin-top:.3em}
.scroll{overflow-x:auto}
.gifgrid{display:grid;gap:0;font-size:13px}
.gifgrid .colcap{padding:0 4px 4px 0;text-align:center;align-self:end;overflow-wrap:anywhere}
.gifgrid .rowcap{padding:0 .8em 0 0;align-self:center;text-align:right;overflow-wrap:anywhere}
.gifgrid img{image-rendering:pixelated;max-width:none}
details pre{background:#f4f4f4;padding:.6em;font-size:12px;max-height:30em;overflow:auto}
blockquote{color:#555;border-left:3px solid #ccc;margin:.5em 0;padding-left:1em;font-size:14px}
";

/// A complete page.
pub fn page(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width";
                title { (title) }
                style { (PreEscaped(CSS)) }
                script src=(SCRIPT_NAME) defer {}
            }
            body { main { (body) } }
        }
    }
    .into_string()
}

/// A state as a coloured badge.
pub fn state(s: &str) -> Markup {
    html! { span class={ "state state-" (s) } { (s) } }
}

/// Variant `i`'s mark: a short line in its colour and pattern, as the plots draw it.
pub fn mark(i: usize) -> Markup {
    let l = chart::look(i);
    let plotters::style::RGBColor(r, g, b) = l.color;
    let color = format!("#{r:02x}{g:02x}{b:02x}");
    html! {
        svg.mark width="24" height="10" aria-hidden="true" {
            line x1="1" x2="23" y1="5" y2="5" stroke=(color) stroke-width="3" stroke-dasharray=(l.dash.dasharray()) {}
        }
    }
}

/// Debug formatting of a number: the shortest text that reads back as the same `f64`.
fn exact(x: f64) -> String {
    format!("{x:?}")
}

/// `t` as an HTML table, sortable by its headers; `variant` gives a row's variant index (its mark
/// is shown in the first cell).
pub fn table(t: &Table, variant: impl Fn(&str) -> Option<usize>) -> Markup {
    html! {
        div.scroll {
            table id=(t.id) class="results sortable" {
                thead { tr { @for c in &t.columns { th data-col=(c.key) { (c.title) } } } }
                tbody {
                    @for r in &t.rows {
                        tr data-variant=(r.variant) data-epoch=[r.epoch] {
                            @for (j, (c, cell)) in t.columns.iter().zip(&r.cells).enumerate() {
                                @let mark = if j == 0 { variant(&r.variant).map(mark) } else { None };
                                @let text = cell.display();
                                @match cell {
                                    Cell::Ours { agg: Agg::Stat(st), best, unit } => {
                                        @let ci = st.ci95();
                                        td data-col=(c.key) data-mean=(exact(st.mean)) data-std=(st.std.map(exact).unwrap_or_default())
                                            data-n=(st.n) data-ci-lo=(ci.map(|c| exact(c.0)).unwrap_or_default())
                                            data-ci-hi=(ci.map(|c| exact(c.1)).unwrap_or_default()) title=(format::stat_detail(st, *unit))
                                            class={ "num" @if *best { " best" } } { @if let Some(m) = &mark { (m) } (text) }
                                    }
                                    Cell::Ours { agg: Agg::Pending(why), .. } => {
                                        td data-col=(c.key) class="pending" title=(why) { @if let Some(m) = &mark { (m) } (text) }
                                    }
                                    Cell::Ours { agg: Agg::Missing, .. } | Cell::Blank => {
                                        td data-col=(c.key) class="missing" { @if let Some(m) = &mark { (m) } (text) }
                                    }
                                    Cell::Paper { value, .. } => {
                                        td data-col=(c.key) data-value=(exact(*value)) class="num paper" { @if let Some(m) = &mark { (m) } (text) }
                                    }
                                    Cell::Ratio(v) => {
                                        td data-col=(c.key) data-value=(exact(*v)) class="num ratio" { @if let Some(m) = &mark { (m) } (text) }
                                    }
                                    Cell::Text(_) => { td data-col=(c.key) { @if let Some(m) = &mark { (m) } (text) } }
                                    Cell::Setting { differs, .. } => {
                                        td data-col=(c.key) class={ "setting" @if *differs { " differs" } }
                                            title=[differs.then_some("differs from the paper's")] { @if let Some(m) = &mark { (m) } (text) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !t.notes.is_empty() {
            ul.notes { @for n in &t.notes { li { (n) } } }
        }
    }
}

/// A composed GIF with its column captions above and row captions to the left, on the cells'
/// pitch so each caption sits by its cell.
pub fn gif_grid(src: &str, layout: &Layout, cols: &[String], rows: &[String], alt: &str) -> Markup {
    let grid = format!(
        "grid-template-columns:minmax(8em,18em) repeat({}, {}px);grid-template-rows:auto repeat({}, {}px)",
        layout.cols, layout.pitch_x, layout.rows, layout.pitch_y
    );
    let span = format!("grid-row:2 / span {};grid-column:2 / span {}", layout.rows.max(1), layout.cols.max(1));
    html! {
        div.scroll {
            div.gifgrid style=(grid) {
                div {}
                @for c in cols { div.colcap { (c) } }
                @for (i, r) in rows.iter().enumerate() {
                    div.rowcap style={ "grid-row:" (i + 2) ";grid-column:1" } { (r) }
                }
                img src=(src) width=(layout.width) height=(layout.height) alt=(alt) style=(span);
            }
        }
    }
}
