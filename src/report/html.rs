//! HTML building blocks: the page shell (inline CSS, no network), tables whose cells carry the
//! exact numbers as data attributes (for scripts and tests) beside the rounded text, and the
//! captioned GIF grid.

use std::fmt::Write as _;

use super::gifgrid::Layout;
use super::stats::Agg;
use super::tables::{Cell, Table};

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

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
.state{display:inline-block;padding:0 .5em;border-radius:3px;color:#fff;font-size:13px}
.state-done{background:#2a7d2a}.state-failed{background:#c0392b}.state-running{background:#1f5fa8}
.state-interrupted{background:#d68910}.state-planned,.state-queued{background:#888}
.swatch{display:inline-block;width:.9em;height:.9em;border-radius:2px;vertical-align:-.1em;margin-right:.35em}
.legend span.item{margin-right:1.4em;white-space:nowrap}
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
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>{t}</title><style>{CSS}</style></head>\n<body><main>\n{body}\n</main></body></html>\n",
        t = esc(title)
    )
}

/// A state as a coloured badge.
pub fn state(s: &str) -> String {
    format!("<span class=\"state state-{0}\">{0}</span>", esc(s))
}

pub fn swatch(css_color: &str) -> String {
    format!("<span class=\"swatch\" style=\"background:{css_color}\"></span>")
}

/// `t` as an HTML table; `color` gives a row's variant colour (shown as a swatch).
pub fn table(t: &Table, color: impl Fn(&str) -> Option<String>) -> String {
    let mut s = format!("<div class=\"scroll\"><table id=\"{}\" class=\"results\"><thead><tr>", t.id);
    for c in &t.columns {
        let _ = write!(s, "<th data-col=\"{}\">{}</th>", esc(&c.key), esc(&c.title));
    }
    s.push_str("</tr></thead><tbody>\n");
    for r in &t.rows {
        let epoch = r.epoch.map(|e| format!(" data-epoch=\"{e}\"")).unwrap_or_default();
        let _ = write!(s, "<tr data-variant=\"{}\"{epoch}>", esc(&r.variant));
        for (j, (c, cell)) in t.columns.iter().zip(&r.cells).enumerate() {
            let mark = if j == 0 { color(&r.variant).map(|c| swatch(&c)).unwrap_or_default() } else { String::new() };
            let text = esc(&cell.display());
            let key = esc(&c.key);
            let _ = match cell {
                Cell::Ours { agg: Agg::Stat(st), best, .. } => write!(
                    s,
                    "<td data-col=\"{key}\" data-mean=\"{:?}\" data-std=\"{}\" data-n=\"{}\" class=\"num{}\">{mark}{text}</td>",
                    st.mean,
                    st.std.map(|v| format!("{v:?}")).unwrap_or_default(),
                    st.n,
                    if *best { " best" } else { "" }
                ),
                Cell::Ours { agg: Agg::Pending(why), .. } => {
                    write!(s, "<td data-col=\"{key}\" class=\"pending\" title=\"{}\">{mark}{text}</td>", esc(why))
                }
                Cell::Ours { agg: Agg::Missing, .. } | Cell::Blank => {
                    write!(s, "<td data-col=\"{key}\" class=\"missing\">{mark}{text}</td>")
                }
                Cell::Paper { value, .. } => {
                    write!(s, "<td data-col=\"{key}\" data-value=\"{value:?}\" class=\"num paper\">{mark}{text}</td>")
                }
                Cell::Ratio(v) => write!(s, "<td data-col=\"{key}\" data-value=\"{v:?}\" class=\"num ratio\">{mark}{text}</td>"),
                Cell::Text(_) => write!(s, "<td data-col=\"{key}\">{mark}{text}</td>"),
            };
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody></table></div>\n");
    if !t.notes.is_empty() {
        s.push_str("<ul class=\"notes\">");
        for n in &t.notes {
            let _ = write!(s, "<li>{}</li>", esc(n));
        }
        s.push_str("</ul>\n");
    }
    s
}

/// A composed GIF with its column captions above and row captions to the left, on the cells'
/// pitch so each caption sits by its cell.
pub fn gif_grid(src: &str, layout: &Layout, cols: &[String], rows: &[String], alt: &str) -> String {
    let mut s = format!(
        "<div class=\"scroll\"><div class=\"gifgrid\" style=\"grid-template-columns:minmax(8em,18em) repeat({}, {}px);grid-template-rows:auto repeat({}, {}px)\"><div></div>",
        layout.cols, layout.pitch_x, layout.rows, layout.pitch_y
    );
    for c in cols {
        let _ = write!(s, "<div class=\"colcap\">{}</div>", esc(c));
    }
    for (i, r) in rows.iter().enumerate() {
        let _ = write!(s, "<div class=\"rowcap\" style=\"grid-row:{};grid-column:1\">{}</div>", i + 2, esc(r));
    }
    let _ = writeln!(
        s,
        "<img src=\"{}\" width=\"{}\" height=\"{}\" alt=\"{}\" style=\"grid-row:2 / span {};grid-column:2 / span {}\"></div></div>",
        esc(src),
        layout.width,
        layout.height,
        esc(alt),
        layout.rows.max(1),
        layout.cols.max(1)
    );
    s
}
