//! Runs grouped into variants (the same resolved spec, different seeds), and the settings that
//! tell variants apart: the spec differences a comparison needs as columns.

use serde_json::Value;

use super::load::Run;
use super::stats::{Agg, Stat};
use crate::spec::flatten::{BASE, differences, label as label_of, short_names};

/// One variant of an experiment: its label, the settings it parses into, its runs (one per seed).
#[derive(Debug, Clone)]
pub struct Variant<'a> {
    pub label: String,
    /// `(parameter, value)` pairs from the label, in label order.
    pub settings: Vec<(String, String)>,
    pub runs: Vec<&'a Run>,
}

impl<'a> Variant<'a> {
    pub fn done(&self) -> impl Iterator<Item = &'a Run> + '_ {
        self.runs.iter().copied().filter(|r| r.done())
    }

    pub fn setting(&self, param: &str) -> Option<&str> {
        self.settings.iter().find(|(k, _)| k == param).map(|(_, v)| v.as_str())
    }

    /// A summary result (`fid`, `params`, ...) over the finished runs.
    pub fn result(&self, key: &str) -> Agg {
        self.agg(key, |r| r.result(key))
    }

    /// An eval metric at `epoch` over the finished runs.
    pub fn eval(&self, metric: &str, epoch: u32) -> Agg {
        self.agg(metric, |r| r.eval_at(metric, epoch))
    }

    /// An eval metric over the finished runs, each at its evaluation nearest `fraction` of its
    /// schedule ([`Run::epoch_near`]).
    pub fn eval_near(&self, metric: &str, fraction: f64) -> Agg {
        self.agg(metric, |r| r.eval_at(metric, r.epoch_near(fraction)?.0))
    }

    /// `metric` re-evaluated at halting threshold `threshold` (`thresholds.parquet`) over the
    /// finished runs.
    pub fn at_threshold(&self, metric: &str, threshold: f64) -> Agg {
        self.agg(metric, |r| r.at_threshold(metric, threshold))
    }

    /// The thresholds any finished run was re-evaluated at, ascending.
    pub fn thresholds(&self) -> Vec<f64> {
        let mut t: Vec<f64> = self.done().flat_map(|r| r.thresholds()).collect();
        t.sort_by(f64::total_cmp);
        t.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
        t
    }

    fn agg(&self, key: &str, value: impl Fn(&Run) -> Option<f64>) -> Agg {
        let values: Vec<f64> = self.done().filter_map(&value).collect();
        if let Some(s) = Stat::of(&values) {
            return Agg::Stat(s);
        }
        let mut reasons: Vec<String> = self.done().filter_map(|r| r.pending(key)).collect();
        reasons.dedup();
        if reasons.is_empty() { Agg::Missing } else { Agg::Pending(reasons.join("; ")) }
    }

    /// The lowest-seed finished run (else any run): the one whose videos represent the variant.
    pub fn representative(&self) -> Option<&'a Run> {
        self.done().min_by_key(|r| r.seed).or_else(|| self.runs.iter().copied().min_by_key(|r| r.seed))
    }
}

/// `threshold=0.4, model.engine.kind=flat` -> pairs (older stores wrote `,` without the space);
/// a comma inside a value (`betas=[0.9,0.99]`) stays in the value because the next piece is not
/// `key=...`.
pub fn parse_label(label: &str) -> Vec<(String, String)> {
    if label == BASE || label.is_empty() {
        return Vec::new();
    }
    let is_key = |k: &str| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    let mut out: Vec<(String, String)> = Vec::new();
    for piece in label.split(',') {
        match piece.trim_start().split_once('=') {
            Some((k, v)) if is_key(k) => out.push((k.to_string(), v.to_string())),
            _ => match out.last_mut() {
                Some(last) => {
                    last.1.push(',');
                    last.1.push_str(piece);
                }
                None => out.push((String::new(), piece.to_string())),
            },
        }
    }
    out
}

/// The variants of an experiment, ordered by their settings (numbers numerically), and the
/// settings' names. Runs are pooled only when their resolved specs agree in everything but the
/// seed ([`Run::variant`]); a label two variants share is told apart by the fields they differ in.
pub fn group(runs: &[Run]) -> (Vec<Variant<'_>>, Vec<String>) {
    let mut by_spec: Vec<(&str, Vec<&Run>)> = Vec::new();
    for r in runs {
        match by_spec.iter_mut().find(|(v, _)| *v == r.variant) {
            Some((_, members)) => members.push(r),
            None => by_spec.push((&r.variant, vec![r])),
        }
    }
    let labels: Vec<String> = by_spec.iter().map(|(_, members)| common_label(members)).collect();
    let labels = distinct(&by_spec, labels);
    let mut variants: Vec<Variant> = by_spec
        .into_iter()
        .zip(labels)
        .map(|((_, runs), label)| Variant { settings: parse_label(&label), label, runs })
        .collect();
    let mut params: Vec<String> = Vec::new();
    for v in &variants {
        for (k, _) in &v.settings {
            if !params.contains(k) {
                params.push(k.clone());
            }
        }
    }
    variants.sort_by(|a, b| {
        for p in &params {
            let o = order_key(a.setting(p)).partial_cmp(&order_key(b.setting(p))).unwrap_or(std::cmp::Ordering::Equal);
            if o.is_ne() {
                return o;
            }
        }
        a.label.cmp(&b.label)
    });
    for v in &mut variants {
        v.runs.sort_by_key(|r| r.seed);
    }
    (variants, params)
}

/// The label most of a variant's runs carry (they differ when its base was edited between
/// runs); the lowest seed's on a tie.
fn common_label(runs: &[&Run]) -> String {
    let mut sorted: Vec<&Run> = runs.to_vec();
    sorted.sort_by_key(|r| r.seed);
    let count = |l: &str| runs.iter().filter(|r| r.label == l).count();
    sorted.iter().max_by_key(|r| (count(&r.label), std::cmp::Reverse(r.seed))).map(|r| r.label.clone()).unwrap_or_default()
}

/// Labels with every clash resolved: variants that share a label get the fields their specs
/// differ in added to it (`base` is replaced by them); a variant whose spec is unreadable gets
/// its run's hash.
fn distinct(variants: &[(&str, Vec<&Run>)], labels: Vec<String>) -> Vec<String> {
    let mut out = labels.clone();
    for (i, label) in labels.iter().enumerate() {
        let clash: Vec<usize> = (0..labels.len()).filter(|&j| labels[j] == *label).collect();
        if clash.len() < 2 {
            continue;
        }
        let fields = |j: usize| variants[j].1.iter().find_map(|r| r.fields.as_ref());
        let mine = fields(i);
        // Paths where some other clashing variant's spec differs from this one's.
        let mut paths: Vec<String> = Vec::new();
        for &j in clash.iter().filter(|&&j| j != i) {
            if let (Some(a), Some(b)) = (mine, fields(j)) {
                for d in differences(a, b) {
                    if !paths.contains(&d.path) {
                        paths.push(d.path);
                    }
                }
            }
        }
        let names = short_names(paths.iter().map(String::as_str));
        let extra = match mine {
            Some(f) if !paths.is_empty() => {
                let null = Value::Null;
                label_of(paths.iter().map(|p| (names.get(p).map_or(p.as_str(), String::as_str), f.get(p).unwrap_or(&null))))
            }
            _ => format!("run={}", variants[i].1[0].short),
        };
        out[i] = if label == BASE || label.is_empty() { extra } else { format!("{label}, {extra}") };
    }
    out
}

/// Set values first (numbers by value, then text), unset last.
fn order_key(v: Option<&str>) -> (u8, f64, String) {
    match v {
        Some(s) => match s.parse::<f64>() {
            Ok(x) => (0, x, String::new()),
            Err(_) => (1, 0.0, s.to_string()),
        },
        None => (2, 0.0, String::new()),
    }
}

/// Swept parameters whose values are all numbers, with at least two distinct ones: the x axes
/// of sweep plots.
pub fn numeric_params(variants: &[Variant], params: &[String]) -> Vec<String> {
    params
        .iter()
        .filter(|p| {
            let mut xs: Vec<f64> = variants.iter().filter_map(|v| v.setting(p)?.parse().ok()).collect();
            let all_numeric = variants.iter().filter_map(|v| v.setting(p)).all(|s| s.parse::<f64>().is_ok());
            xs.sort_by(f64::total_cmp);
            xs.dedup();
            all_numeric && xs.len() >= 2
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_into_settings() {
        assert_eq!(parse_label("base"), vec![]);
        assert_eq!(
            parse_label("threshold=0.4,model.engine.kind=flat"),
            vec![("threshold".into(), "0.4".into()), ("model.engine.kind".into(), "flat".into())]
        );
        assert_eq!(
            parse_label("betas=[0.9,0.99],lr=0.001"),
            vec![("betas".into(), "[0.9,0.99]".into()), ("lr".into(), "0.001".into())]
        );
    }
}
