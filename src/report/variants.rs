//! Runs grouped into variants (same label, different seeds), and the swept parameters that tell
//! variants apart: the only spec differences a comparison needs as columns.

use super::load::Run;
use super::stats::{Agg, Stat};

/// One variant of an experiment: its label, the swept settings it parses into, its runs.
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

/// `threshold=0.4,model.engine.kind=flat` -> pairs; a comma inside a value (`betas=[0.9,0.99]`)
/// stays in the value because the next piece is not `key=...`.
pub fn parse_label(label: &str) -> Vec<(String, String)> {
    if label == "base" || label.is_empty() {
        return Vec::new();
    }
    let is_key = |k: &str| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    let mut out: Vec<(String, String)> = Vec::new();
    for piece in label.split(',') {
        match piece.split_once('=') {
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

/// The variants of an experiment, ordered by their swept values (numbers numerically).
pub fn group(runs: &[Run]) -> (Vec<Variant<'_>>, Vec<String>) {
    let mut variants: Vec<Variant> = Vec::new();
    for r in runs {
        match variants.iter_mut().find(|v| v.label == r.label) {
            Some(v) => v.runs.push(r),
            None => variants.push(Variant { label: r.label.clone(), settings: parse_label(&r.label), runs: vec![r] }),
        }
    }
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
