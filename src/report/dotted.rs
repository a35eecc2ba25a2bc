//! Resolved specs as dotted paths (`model.halting.threshold = 0.4`), split into the fields every
//! run of an experiment shares and those that vary: the page lists the shared ones once, shows
//! each run's varying ones, and diffs two runs field by field.

use std::collections::BTreeMap;

use serde_json::Value;

/// Every leaf of `v` by its dotted path. Lists of plain values stay one field (`[0.9, 0.99]`);
/// lists holding maps are indexed (`include.0.lr`).
pub fn flatten(v: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    walk(v, String::new(), &mut out);
    out
}

fn walk(v: &Value, path: String, out: &mut BTreeMap<String, String>) {
    let child = |k: &str| if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
    match v {
        Value::Object(map) if !map.is_empty() => map.iter().for_each(|(k, x)| walk(x, child(k), out)),
        Value::Array(xs) if xs.iter().any(|x| x.is_object() || x.is_array()) => {
            xs.iter().enumerate().for_each(|(i, x)| walk(x, child(&i.to_string()), out))
        }
        Value::String(s) => {
            out.insert(path, s.clone());
        }
        other => {
            out.insert(path, other.to_string());
        }
    }
}

/// The runs' flattened specs split by what varies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields {
    /// Fields with one value in every run that has a spec.
    pub common: BTreeMap<String, String>,
    /// Paths whose value differs between runs (or that some runs lack).
    pub varying: Vec<String>,
    /// Each run's values of the varying paths (empty for a run without a spec).
    pub per_run: Vec<BTreeMap<String, String>>,
}

pub fn split(specs: &[Option<BTreeMap<String, String>>]) -> Fields {
    let present: Vec<&BTreeMap<String, String>> = specs.iter().flatten().collect();
    let mut paths: Vec<&String> = present.iter().flat_map(|s| s.keys()).collect();
    paths.sort_unstable();
    paths.dedup();
    let mut f = Fields::default();
    for p in paths {
        let first = present[0].get(p);
        if first.is_some() && present.iter().all(|s| s.get(p) == first) {
            f.common.insert(p.clone(), first.cloned().unwrap_or_default());
        } else {
            f.varying.push(p.clone());
        }
    }
    f.per_run = specs
        .iter()
        .map(|s| s.iter().flat_map(|s| f.varying.iter().filter_map(|p| Some((p.clone(), s.get(p)?.clone())))).collect())
        .collect();
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn specs_flatten_to_dotted_paths() {
        let f = flatten(&json!({"model": {"halting": {"threshold": 0.4, "kind": "learned"}}, "betas": [0.9, 0.99],
            "include": [{"lr": 1}], "seed": 3, "name": null}));
        let want: Vec<(&str, &str)> = vec![
            ("betas", "[0.9,0.99]"),
            ("include.0.lr", "1"),
            ("model.halting.kind", "learned"),
            ("model.halting.threshold", "0.4"),
            ("name", "null"),
            ("seed", "3"),
        ];
        assert_eq!(f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>(), want);
    }

    #[test]
    fn shared_and_varying_fields() {
        let a = flatten(&json!({"seed": 0, "lr": 1, "depth": 2}));
        let b = flatten(&json!({"seed": 1, "lr": 1}));
        let f = split(&[Some(a), None, Some(b)]);
        assert_eq!(f.common.keys().collect::<Vec<_>>(), ["lr"]);
        assert_eq!(f.varying, ["depth", "seed"]);
        assert_eq!(f.per_run[0].get("depth").map(String::as_str), Some("2"));
        assert!(f.per_run[1].is_empty());
        assert_eq!(f.per_run[2].get("depth"), None, "a path a run lacks stays unset");
    }
}
