//! A resolved spec as flat dotted paths (`model.halting.threshold`) -> value. The one owner of
//! that view: variant labels, the index's `cfg.<path>` columns, `ttv-run runs diff` and the
//! report's variant names all read a spec through it.
//!
//! Mappings are walked; every other value (number, string, bool, null, list) is a leaf, so a
//! list such as `eval.prompts` is one field. Paths come in the spec types' declaration order.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::types::RunSpec;

/// Dotted path -> leaf value, in declaration order.
pub type Fields = Map<String, Value>;

/// The top-level field that tells seeds of one variant apart.
pub const SEED: &str = "seed";

/// Every field of a resolved run, its seed included.
pub fn flatten(run: &RunSpec) -> Fields {
    flatten_value(&serde_json::to_value(run).expect("run spec serialises"))
}

/// Every field of a resolved run but its seed: what makes it one variant and not another.
pub fn variant_fields(run: &RunSpec) -> Fields {
    let mut fields = flatten(run);
    fields.shift_remove(SEED);
    fields
}

/// The leaves of any JSON document under their dotted paths.
pub fn flatten_value(v: &Value) -> Fields {
    let mut out = Fields::new();
    walk(v, String::new(), &mut out);
    out
}

fn walk(v: &Value, prefix: String, out: &mut Fields) {
    match v {
        Value::Object(map) if !map.is_empty() || prefix.is_empty() => {
            for (k, child) in map {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                walk(child, path, out);
            }
        }
        leaf => {
            out.insert(prefix, leaf.clone());
        }
    }
}

/// One field that two specs set differently (`None`: the field is absent from that side).
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub path: String,
    pub a: Option<Value>,
    pub b: Option<Value>,
}

/// The fields where `a` and `b` differ: `a`'s order, then fields only `b` has.
pub fn differences(a: &Fields, b: &Fields) -> Vec<Difference> {
    let mut out: Vec<Difference> = a
        .iter()
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, v)| Difference { path: k.clone(), a: Some(v.clone()), b: b.get(k).cloned() })
        .collect();
    out.extend(b.iter().filter(|(k, _)| !a.contains_key(*k)).map(|(k, v)| Difference {
        path: k.clone(),
        a: None,
        b: Some(v.clone()),
    }));
    out
}

/// The shortest name of each path that no other path of `paths` ends with: the last segment
/// (`threshold`) where that is unambiguous, else as many trailing segments as it takes
/// (`engine.kind`, `halting.kind`).
pub fn short_names<'a>(paths: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, String> {
    let mut paths: Vec<&str> = paths.into_iter().collect();
    paths.sort_unstable();
    paths.dedup();
    let segments = |p: &str| p.split('.').map(String::from).collect::<Vec<_>>();
    let all: Vec<Vec<String>> = paths.iter().map(|p| segments(p)).collect();
    let mut out = BTreeMap::new();
    for (i, path) in all.iter().enumerate() {
        let name = (1..=path.len())
            .map(|n| &path[path.len() - n..])
            .find(|tail| all.iter().enumerate().all(|(j, other)| j == i || !other.ends_with(tail)))
            .unwrap_or(path.as_slice());
        out.insert(paths[i].to_string(), name.join("."));
    }
    out
}

/// Values longer than this are cut in labels (a list of prompts would swamp a table).
const LABEL_VALUE_CHARS: usize = 32;

/// `lr=0.002, epochs=41` from (name, value) pairs; `base` when there are none.
pub fn label<'a>(settings: impl IntoIterator<Item = (&'a str, &'a Value)>) -> String {
    let parts: Vec<String> = settings
        .into_iter()
        .map(|(name, value)| {
            let shown = show(value);
            let shown = match shown.char_indices().nth(LABEL_VALUE_CHARS) {
                Some((cut, _)) => format!("{}...", &shown[..cut]),
                None => shown,
            };
            format!("{name}={shown}")
        })
        .collect();
    if parts.is_empty() { BASE.to_string() } else { parts.join(", ") }
}

/// The label of a variant that differs from its experiment's base in nothing.
pub const BASE: &str = "base";

/// A value as a user writes it in YAML: strings bare, everything else as JSON.
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What a field holds, read off the spec's JSON Schema so that a field is typed the same way
/// whatever its value (a `null` included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Float,
    Bool,
    Str,
    /// A list, kept whole as its JSON text.
    List,
}

/// Every field of a resolved run (its seed included) with its kind, in declaration order.
pub fn kinds() -> &'static [(String, Kind)] {
    static KINDS: OnceLock<Vec<(String, Kind)>> = OnceLock::new();
    KINDS.get_or_init(|| {
        let schema = serde_json::to_value(schemars::schema_for!(RunSpec)).expect("schema serialises");
        let defs = schema.get("$defs").cloned().unwrap_or(Value::Null);
        let mut out = Vec::new();
        schema_fields(&schema, &defs, String::new(), &mut out);
        out
    })
}

/// Follow a local `$ref`.
fn resolve<'a>(node: &'a Value, defs: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/$defs/")) {
        Some(name) => resolve(defs.get(name).unwrap_or(&Value::Null), defs),
        None => node,
    }
}

fn schema_fields(node: &Value, defs: &Value, prefix: String, out: &mut Vec<(String, Kind)>) {
    let node = resolve(node, defs);
    match node.get("properties").and_then(Value::as_object) {
        Some(props) => {
            for (k, child) in props {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                schema_fields(child, defs, path, out);
            }
        }
        None => out.push((prefix, leaf_kind(node, defs))),
    }
}

fn leaf_kind(node: &Value, defs: &Value) -> Kind {
    let mut types = Vec::new();
    json_types(node, defs, &mut types);
    types.retain(|t| t != "null");
    let has = |t: &str| types.iter().any(|x| x == t);
    if has("array") {
        Kind::List
    } else if has("number") {
        // A duration is written as a number or as text (`4h`) and stored as seconds.
        Kind::Float
    } else if has("integer") && types.iter().all(|t| t == "integer") {
        Kind::Int
    } else if has("boolean") && types.iter().all(|t| t == "boolean") {
        Kind::Bool
    } else {
        Kind::Str
    }
}

/// The JSON types a schema node admits, through `$ref`, `oneOf`, `anyOf`, `const` and `enum`.
fn json_types(node: &Value, defs: &Value, out: &mut Vec<String>) {
    let node = resolve(node, defs);
    match node.get("type") {
        Some(Value::String(t)) => out.push(t.clone()),
        Some(Value::Array(ts)) => out.extend(ts.iter().filter_map(Value::as_str).map(String::from)),
        _ => {}
    }
    if node.get("const").is_some_and(Value::is_string) || node.get("enum").is_some() {
        out.push("string".into());
    }
    for key in ["oneOf", "anyOf"] {
        for child in node.get(key).and_then(Value::as_array).into_iter().flatten() {
            json_types(child, defs, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run() -> RunSpec {
        let mut file = super::super::types::SpecFile::default();
        file.model.halting.threshold = 0.3;
        RunSpec { data: file.data, model: file.model, training: file.training, eval: file.eval, seed: 4 }
    }

    #[test]
    fn flattens_to_dotted_leaves_in_declaration_order() {
        let fields = flatten(&run());
        let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
        assert_eq!(keys[0], "data.kind");
        assert_eq!(fields["model.halting.threshold"], json!(0.3));
        assert_eq!(fields["training.optimizer.betas"], json!([0.9, 0.999]), "a list is one field");
        assert_eq!(fields["data.source"], Value::Null, "an unset option is a field");
        assert_eq!(fields["seed"], json!(4));
        assert!(!variant_fields(&run()).contains_key("seed"));
        assert!(keys.iter().position(|k| *k == "model.hidden") < keys.iter().position(|k| *k == "training.epochs"));
    }

    #[test]
    fn every_field_has_a_kind_from_the_schema() {
        let fields = flatten(&run());
        let paths: Vec<&str> = kinds().iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(fields.keys().map(String::as_str).collect::<Vec<_>>(), paths);
        let kind = |p: &str| kinds().iter().find(|(k, _)| k == p).unwrap().1;
        assert_eq!(kind("model.hidden"), Kind::Int);
        assert_eq!(kind("data.samples"), Kind::Int);
        assert_eq!(kind("eval.samples"), Kind::Int, "an optional count");
        assert_eq!(kind("model.halting.threshold"), Kind::Float);
        assert_eq!(kind("training.clip_norm"), Kind::Float);
        assert_eq!(kind("training.time_budget"), Kind::Float, "durations are seconds");
        assert_eq!(kind("data.shapes.random_size"), Kind::Bool);
        assert_eq!(kind("model.engine.kind"), Kind::Str);
        assert_eq!(kind("model.engine.norm"), Kind::Str);
        assert_eq!(kind("data.source"), Kind::Str);
        assert_eq!(kind("eval.prompts"), Kind::List);
        assert_eq!(kind("training.optimizer.betas"), Kind::List);
    }

    #[test]
    fn differences_and_short_labels() {
        let a = flatten(&run());
        let mut other = run();
        other.training.epochs = 41;
        other.training.optimizer.lr = 0.002;
        let d = differences(&a, &flatten(&other));
        let paths: Vec<&str> = d.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["training.epochs", "training.optimizer.lr"]);
        assert_eq!(d[0].b, Some(json!(41)));
        let names = short_names(paths.iter().copied());
        assert_eq!(label(d.iter().map(|d| (names[&d.path].as_str(), d.b.as_ref().unwrap()))), "epochs=41, lr=0.002");
        assert_eq!(label(std::iter::empty()), "base");
    }

    #[test]
    fn short_names_disambiguate_by_trailing_segments() {
        let names = short_names(["model.engine.kind", "model.halting.kind", "model.halting.threshold", "kind"]);
        assert_eq!(names["model.engine.kind"], "engine.kind");
        assert_eq!(names["model.halting.kind"], "halting.kind");
        assert_eq!(names["model.halting.threshold"], "threshold");
        assert_eq!(names["kind"], "kind");
    }

    #[test]
    fn long_values_are_cut_in_labels() {
        let long = json!(["a red ball moving left to right", "a blue square rotating clockwise"]);
        let l = label([("prompts", &long)]);
        assert!(l.starts_with("prompts=[\"a red ball") && l.ends_with("..."), "{l}");
        assert!(l.len() < 50);
    }
}
