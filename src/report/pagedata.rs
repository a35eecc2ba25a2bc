//! The JSON a page embeds for its script (static/report.js): variants with their look, every
//! run with its results and varying spec fields, the fields all runs share, and the curves
//! (training loss per run, eval metrics per variant and epoch), rounded to five significant
//! digits and thinned to a few hundred points per curve so a large sweep stays a small page.

use serde_json::{Value, json};

use super::chart::look;
use super::columns::{self, Better, Kind, Metric};
use super::dotted::{self, Fields};
use super::load::Run;
use super::plots;
use super::variants::Variant;

/// Most points one loss curve keeps.
const MAX_POINTS: usize = 300;

/// `x` to five significant digits.
fn round(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(4 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

/// The runs in page order (variant by variant, by seed) with their variant index.
pub fn runs<'a>(variants: &[Variant<'a>]) -> Vec<(usize, &'a Run)> {
    variants.iter().enumerate().flat_map(|(i, v)| v.runs.iter().map(move |r| (i, *r))).collect()
}

/// The resolved specs of `runs`, as dotted paths split into shared and varying fields.
pub fn spec_fields(runs: &[(usize, &Run)]) -> Fields {
    let specs: Vec<_> = runs
        .iter()
        .map(|(_, r)| r.spec_yaml().and_then(|t| serde_norway::from_str::<Value>(&t).ok()).map(|v| dotted::flatten(&v)))
        .collect();
    dotted::split(&specs)
}

fn metric_json(m: &Metric) -> Value {
    json!({
        "key": m.key,
        "title": m.title,
        "better": if m.better == Better::Lower { "lower" } else { "higher" },
        "cost": m.kind == Kind::Cost,
    })
}

/// A run's moving-average loss, thinned to at most [`MAX_POINTS`].
fn loss_points(r: &Run) -> Option<Vec<[f64; 2]>> {
    let s = r.train.get("loss").filter(|s| !s.is_empty())?;
    let half = (s.len() / 50).max(1);
    let stride = s.len().div_ceil(MAX_POINTS).max(1);
    let mut out: Vec<[f64; 2]> = (0..s.len())
        .step_by(stride)
        .map(|i| {
            let w = &s[i.saturating_sub(half)..(i + half + 1).min(s.len())];
            [s[i].0 as f64, round(w.iter().map(|p| p.1).sum::<f64>() / w.len() as f64)]
        })
        .collect();
    if (s.len() - 1) % stride != 0 {
        let w = &s[s.len().saturating_sub(half + 1)..];
        out.push([s[s.len() - 1].0 as f64, round(w.iter().map(|p| p.1).sum::<f64>() / w.len() as f64)]);
    }
    Some(out)
}

/// The page's data.
pub fn json(name: &str, variants: &[Variant], params: &[String], fields: &Fields) -> Value {
    let runs = runs(variants);
    let variants_json: Vec<Value> = variants
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let l = look(i);
            let plotters::style::RGBColor(r, g, b) = l.color;
            json!({
                "label": v.label,
                "color": format!("#{r:02x}{g:02x}{b:02x}"),
                "dash": l.dash.dasharray(),
                "settings": v.settings.iter().map(|(k, x)| (k.clone(), Value::from(x.clone()))).collect::<serde_json::Map<_, _>>(),
            })
        })
        .collect();
    let runs_json: Vec<Value> = runs
        .iter()
        .zip(&fields.per_run)
        .map(|((i, r), spec)| {
            json!({
                "run": r.short,
                "variant": i,
                "seed": r.seed,
                "state": r.state,
                "done": r.done(),
                "results": r.results.iter().map(|(k, v)| (k.clone(), json!(round(*v)))).collect::<serde_json::Map<_, _>>(),
                "spec": spec,
            })
        })
        .collect();
    let has = |key: &str| runs.iter().any(|(_, r)| r.done() && r.result(key).is_some());
    let mut metrics: Vec<Value> = Vec::new();
    let mut listed: Vec<&str> = Vec::new();
    for m in columns::SUMMARY.iter().chain(&columns::TABLE_III) {
        if !listed.contains(&m.key) && has(m.key) {
            listed.push(m.key);
            metrics.push(metric_json(m));
        }
    }
    let mut curves: Vec<Value> = Vec::new();
    let loss: Vec<Value> = runs
        .iter()
        .filter_map(|(i, r)| {
            let points = loss_points(r)?;
            Some(json!({"variant": i, "name": format!("{} · seed {}", variants[*i].label, r.seed), "points": points}))
        })
        .collect();
    if !loss.is_empty() {
        curves.push(json!({
            "id": "loss", "title": "Training loss per run (moving average)", "x": "step", "y": "loss",
            "lo": 0.0, "hi": null, "log": false, "markers": false, "integer_x": false, "series": loss,
        }));
    }
    for m in &columns::EVAL {
        let series: Vec<Value> = variants
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                let points: Vec<[f64; 2]> = plots::eval_curve(v, m.key).iter().map(|p| [p.x, round(p.y)]).collect();
                (!points.is_empty()).then(|| json!({"variant": i, "name": v.label, "points": points}))
            })
            .collect();
        if !series.is_empty() {
            curves.push(json!({
                "id": format!("eval:{}", m.key), "title": format!("{} per epoch (mean over finished seeds)", m.title),
                "x": "epoch", "y": m.title, "lo": m.bounds.0, "hi": m.bounds.1, "log": false, "markers": true,
                "integer_x": true, "series": series,
            }));
        }
    }
    json!({
        "experiment": name,
        "params": params,
        "variants": variants_json,
        "metrics": metrics,
        "runs": runs_json,
        "spec_common": fields.common,
        "spec_varying": fields.varying,
        "curves": curves,
    })
}

/// `v` as the text of a `<script type="application/json">`: `</` cannot end the element early.
pub fn script_text(v: &Value) -> String {
    v.to_string().replace("</", "<\\/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_five_digits_and_scripts_stay_closed() {
        assert_eq!(round(0.123456789), 0.12346);
        assert_eq!(round(123456.7), 123460.0);
        assert_eq!(round(-2.0e-7), -2.0e-7);
        assert_eq!(script_text(&json!({"a": "</script><b>"})), r#"{"a":"<\/script><b>"}"#);
    }
}
