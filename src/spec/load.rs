//! Reading a spec: the `extends:` chain (deep merge, relative paths, cycles), `-s` overrides,
//! and typed deserialisation whose errors point back at `file:line`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::error::{SpecError, SpecErrors, nearest};
use super::locate::{locate, locate_exact};
use super::types::SpecFile;

/// Where a value can come from, in priority order: command-line overrides, then the spec
/// file, then its bases.
#[derive(Debug, Clone)]
pub struct Source {
    /// Display name: the file path, or `command line (-s a.b=c)`.
    pub label: String,
    /// YAML text of a file; `None` for an override.
    pub text: Option<String>,
    /// For an override: the dotted path it sets.
    pub override_path: Option<Vec<String>>,
}

/// A spec file with its bases merged in and overrides applied, not yet expanded into runs.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    pub path: PathBuf,
    /// Experiment name: `name:` or the file stem.
    pub name: String,
    /// Highest priority first.
    pub sources: Vec<Source>,
    /// The merged document, as written (no defaults filled).
    pub merged: Value,
    pub spec: SpecFile,
    /// The spec as its files write it, without the `-s` overrides: the base a variant's label
    /// is relative to (the overridden spec where the files alone do not parse).
    pub written: SpecFile,
}

impl LoadedSpec {
    /// Where `path` was written: (source label, line). Falls back to the spec file itself.
    pub fn origin(&self, path: &[String]) -> (String, Option<usize>) {
        for s in &self.sources {
            match (&s.text, &s.override_path) {
                (None, Some(p)) if path.starts_with(p) || p.starts_with(path) => return (s.label.clone(), None),
                (Some(text), _) => {
                    if let Some(line) = locate_exact(text, path) {
                        return (s.label.clone(), Some(line));
                    }
                }
                _ => {}
            }
        }
        // Not written anywhere (a default): point at the nearest written ancestor in the spec.
        let top = self.sources.iter().find(|s| s.text.is_some());
        match top {
            Some(s) => (s.label.clone(), s.text.as_deref().and_then(|t| locate(t, path).filter(|_| path.len() > 1))),
            None => (display(&self.path), None),
        }
    }

    /// An error blamed on `path`, showing its current value.
    pub fn error_at(&self, path: &[String], message: impl Into<String>) -> SpecError {
        let (file, line) = self.origin(path);
        let field = match get_path(&self.merged, path) {
            Some(v) => format!("{} = {}", path.join("."), show(v)),
            None => path.join("."),
        };
        SpecError::new(file, line, Some(field), message)
    }
}

/// Load `path`, merge its `extends:` chain, apply `overrides` (`a.b.c=value`), and parse.
pub fn load(path: &Path, overrides: &[String]) -> Result<LoadedSpec, SpecErrors> {
    let mut sources = Vec::new();
    let mut merged = load_chain(path, &mut Vec::new(), &mut sources)?;
    sources.reverse(); // load_chain pushes bases first
    let written = merged.clone();

    // Later overrides win, so they come first among the sources.
    let mut from_cli = Vec::new();
    for ov in overrides {
        let bad = |msg: String| SpecError::new("command line", None, Some(format!("-s {ov}")), msg);
        let (dotted, raw) = ov.split_once('=').ok_or_else(|| bad("expected -s dotted.path=value".into()))?;
        let keys = override_keys(dotted.trim());
        let value: Value = serde_norway::from_str(raw).map_err(|e| bad(format!("value is not valid YAML: {e}")))?;
        set_path(&mut merged, &keys, value);
        from_cli.push(Source { label: format!("command line (-s {ov})"), text: None, override_path: Some(keys) });
    }
    from_cli.reverse();
    from_cli.extend(sources);
    let sources = from_cli;

    let name = merged
        .get("name")
        .and_then(Value::as_str)
        .map(String::from)
        .unwrap_or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default());
    let mut loaded =
        LoadedSpec { path: path.to_path_buf(), name, sources, merged, spec: SpecFile::default(), written: SpecFile::default() };
    if let Err(message) = check_name(&loaded.name) {
        return Err(SpecErrors(vec![loaded.error_at(&["name".to_string()], message)]));
    }
    loaded.spec = parse_typed(&loaded, &loaded.merged)?;
    loaded.written = deserialize_at(&written).unwrap_or_else(|_| loaded.spec.clone());
    Ok(loaded)
}

/// An experiment's name becomes a folder of the report (`reports/<name>/`): one plain file name,
/// so no name can write outside the output folder.
fn check_name(name: &str) -> Result<(), String> {
    let plain = name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if name.is_empty() || name.starts_with('.') || !plain {
        return Err("must be a plain file name: letters, digits, `_`, `-` and `.`, not starting with `.`".into());
    }
    Ok(())
}

/// `sweep.model.halting.threshold` addresses the sweep key `model.halting.threshold`.
pub fn override_keys(dotted: &str) -> Vec<String> {
    match dotted.split_once('.') {
        Some((head @ ("sweep" | "zip"), rest)) => vec![head.to_string(), rest.to_string()],
        _ => dotted.split('.').map(String::from).collect(),
    }
}

fn display(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Parse one file and, recursively, the bases it extends; returns the merged document.
fn load_chain(path: &Path, stack: &mut Vec<PathBuf>, sources: &mut Vec<Source>) -> Result<Value, SpecErrors> {
    let label = display(path);
    let text =
        std::fs::read_to_string(path).map_err(|e| SpecError::new(label.clone(), None, None, format!("cannot read spec: {e}")))?;
    if text.trim().is_empty() {
        // Most likely a file saved before it was written: running the paper's defaults would hide that.
        return Err(SpecError::new(label, Some(1), None, "the spec is empty (to run the defaults, write `name: <name>`)").into());
    }
    let mut doc = parse_yaml(&text).map_err(|(line, message)| SpecError::new(label.clone(), line, None, message))?;
    if !doc.is_object() {
        return Err(SpecError::new(label, Some(1), None, "a spec must be a mapping of sections (data, model, ...)").into());
    }
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    stack.push(canonical);

    let base = match doc.as_object_mut().and_then(|m| m.remove("extends")) {
        None | Some(Value::Null) => None,
        Some(Value::String(rel)) => {
            let line = locate(&text, &["extends".to_string()]);
            let base_path = path.parent().unwrap_or(Path::new("")).join(&rel);
            let canon = base_path.canonicalize().map_err(|e| {
                SpecError::new(
                    label.clone(),
                    line,
                    Some(format!("extends = {rel}")),
                    format!("cannot read base spec {}: {e}", display(&base_path)),
                )
            })?;
            if let Some(first) = stack.iter().position(|p| *p == canon) {
                let cycle: Vec<String> =
                    stack[first..].iter().chain([&canon]).map(|p| display(p.file_name().map(Path::new).unwrap_or(p))).collect();
                return Err(SpecError::new(
                    label,
                    line,
                    Some(format!("extends = {rel}")),
                    format!("extends cycle: {}", cycle.join(" -> ")),
                )
                .into());
            }
            Some(load_chain(&base_path, stack, sources)?)
        }
        Some(other) => {
            let line = locate(&text, &["extends".to_string()]);
            return Err(SpecError::new(label, line, Some(format!("extends = {}", show(&other))), "must be a file path").into());
        }
    };
    stack.pop();
    sources.push(Source { label, text: Some(text), override_path: None });
    Ok(match base {
        Some(mut b) => {
            deep_merge(&mut b, doc);
            b
        }
        None => doc,
    })
}

/// Merge `over` into `base`: mappings merge key by key, anything else replaces.
pub fn deep_merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => deep_merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

pub fn get_path<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, k| cur.get(k.as_str()))
}

/// Set a dotted path, creating mappings on the way.
pub fn set_path(v: &mut Value, path: &[String], value: Value) {
    let mut cur = v;
    for k in &path[..path.len() - 1] {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        cur = cur.as_object_mut().unwrap().entry(k.clone()).or_insert_with(|| Value::Object(Map::new()));
    }
    if !cur.is_object() {
        *cur = Value::Object(Map::new());
    }
    cur.as_object_mut().unwrap().insert(path[path.len() - 1].clone(), value);
}

/// A value as a user would write it.
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A spec file's YAML as JSON values. A key written twice in one mapping is an error naming
/// both lines (YAML's own rule; a JSON map would keep the last silently).
fn parse_yaml(text: &str) -> Result<Value, (Option<usize>, String)> {
    let invalid =
        |e: serde_norway::Error| (e.location().map(|l| l.line()), format!("invalid YAML: {}", strip_location(&e.to_string())));
    if let Err(e) = serde_norway::from_str::<serde_norway::Value>(text) {
        // serde_norway points at the mapping's first line; the lines of the key are found here.
        let (line, message) = invalid(e);
        let twice = line.zip(duplicate_key(&message)).and_then(|(line, key)| key_lines(text, line, key));
        return Err(match twice {
            Some((first, second)) => (Some(second), format!("{message} (first written at line {first})")),
            None => (line, message),
        });
    }
    serde_norway::from_str(text).map_err(invalid)
}

/// The key of serde_norway's duplicate-entry message.
fn duplicate_key(message: &str) -> Option<&str> {
    message.split("duplicate entry with key \"").nth(1)?.split('"').next()
}

/// The first two lines (1-based) where `key` starts an entry of the block mapping whose first
/// entry is on line `start`.
fn key_lines(text: &str, start: usize, key: &str) -> Option<(usize, usize)> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let lines: Vec<&str> = text.lines().collect();
    let depth = indent(lines.get(start.checked_sub(1)?)?);
    let mut found = lines
        .iter()
        .enumerate()
        .skip(start - 1)
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .take_while(|(_, l)| indent(l) >= depth)
        .filter(|(_, l)| indent(l) == depth && l.trim_start().strip_prefix(key).is_some_and(|r| r.trim_start().starts_with(':')))
        .map(|(i, _)| i + 1);
    Some((found.next()?, found.next()?))
}

fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(p) => msg[..p].to_string(),
        None => msg.to_string(),
    }
}

/// Deserialize `doc` into `T`, turning the first serde error into a located `SpecError`.
pub fn parse_typed<T: serde::de::DeserializeOwned>(loaded: &LoadedSpec, doc: &Value) -> Result<T, SpecErrors> {
    deserialize_at(doc).map_err(|(path, msg)| SpecErrors(vec![loaded.error_at(&path, msg)]))
}

/// Deserialize `doc` into `T`; on failure, the dotted path of the offending field and a message.
pub fn deserialize_at<T: serde::de::DeserializeOwned>(doc: &Value) -> Result<T, (Vec<String>, String)> {
    serde_path_to_error::deserialize(doc.clone()).map_err(|err| {
        let path: Vec<String> = err
            .path()
            .iter()
            .filter_map(|seg| match seg {
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                _ => None,
            })
            .collect();
        let msg = err.inner().to_string();
        (fix_path(doc, path, &msg), explain(&msg))
    })
}

/// serde reports an unknown field at its parent; put the field itself on the path so the
/// error points at the offending line.
fn fix_path(doc: &Value, mut path: Vec<String>, msg: &str) -> Vec<String> {
    if let Some(field) = msg.strip_prefix("unknown field `").and_then(|r| r.split('`').next())
        && path.last().map(String::as_str) != Some(field)
        && get_path(doc, &path).is_some_and(|v| v.get(field).is_some())
    {
        path.push(field.to_string());
    }
    path
}

/// Rephrase serde's messages: unknown keys and values suggest the closest valid one.
fn explain(msg: &str) -> String {
    for (prefix, what) in [("unknown field `", "key"), ("unknown variant `", "value")] {
        if let Some(rest) = msg.strip_prefix(prefix) {
            // serde lists the valid names in backticks after the offending one.
            let mut parts = rest.split('`');
            let word = parts.next().unwrap_or_default();
            let expected: Vec<&str> = parts.skip(1).step_by(2).collect();
            let hint = nearest(word, expected.iter().copied()).map(|s| format!("; did you mean `{s}`?")).unwrap_or_default();
            return format!("unknown {what} `{word}`{hint} (valid: {})", expected.join(", "));
        }
    }
    msg.to_string()
}
