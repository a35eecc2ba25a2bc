//! Expanding a spec into runs: the `sweep:` grid, times the `zip:` rows, plus the `include:`
//! variants, each once per seed. Every run is validated and hashed here, so a bad value in a
//! sweep is reported before anything runs.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::error::{SpecError, SpecErrors, nearest};
use super::hash::{SHORT_LEN, run_hash};
use super::load::{LoadedSpec, deserialize_at, get_path, set_path, show};
use super::types::RunSpec;
use super::validate::{MAX_RUNS, validate};

/// Where a swept value was declared: `sweep`, `zip` or `include`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    Sweep,
    Zip,
    Include(usize),
}

/// One swept setting of a variant.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub path: String,
    pub value: Value,
    pub axis: Axis,
}

/// One run to execute: a variant of the spec at one seed.
#[derive(Debug, Clone)]
pub struct RunPlan {
    /// Full 64-hex-digit identity.
    pub hash: String,
    /// The variant's name: its swept values and whatever else differs from the spec as its
    /// files write it (`-s` overrides), e.g. `threshold=0.3, lr=0.002`; `base` for none.
    pub label: String,
    pub seed: u64,
    pub settings: Vec<Setting>,
    pub spec: RunSpec,
}

impl RunPlan {
    /// The first 12 hex digits: the run directory's name.
    pub fn short(&self) -> &str {
        &self.hash[..SHORT_LEN]
    }
}

/// A spec expanded into its runs.
#[derive(Debug, Clone)]
pub struct Experiment {
    pub name: String,
    /// The spec file's folder: relative data paths are relative to it.
    pub base_dir: std::path::PathBuf,
    pub runs: Vec<RunPlan>,
    /// Dotted paths the variants' labels name (swept, or set apart from the base), sorted.
    pub swept: Vec<String>,
}

/// Keep only the runs whose hash starts with one of `prefixes` (`ttv-run --only`: one run of
/// a sweep, e.g. when a time-limited machine fits one). Every prefix must name a run of some
/// experiment; the error lists the ones that name none.
pub fn keep_only(experiments: &mut [Experiment], prefixes: &[String]) -> Result<(), String> {
    if prefixes.is_empty() {
        return Ok(());
    }
    // Hashes are lower-case hex; lower the prefixes once, not per run.
    let lowered: Vec<String> = prefixes.iter().map(|p| p.to_ascii_lowercase()).collect();
    let matches = |r: &RunPlan, p: &str| r.hash.starts_with(p);
    let unknown: Vec<&str> = prefixes
        .iter()
        .zip(&lowered)
        .filter(|(_, p)| p.is_empty() || !experiments.iter().any(|e| e.runs.iter().any(|r| matches(r, p))))
        .map(|(given, _)| given.as_str())
        .collect();
    if !unknown.is_empty() {
        return Err(format!("--only {}: no run of these specs has that hash", unknown.join(", ")));
    }
    for e in experiments.iter_mut() {
        e.runs.retain(|r| lowered.iter().any(|p| matches(r, p)));
    }
    Ok(())
}

pub fn expand(loaded: &LoadedSpec) -> Result<Experiment, SpecErrors> {
    let spec = &loaded.spec;
    let mut errors = Vec::new();
    let at = |path: &[&str], msg: &str| loaded.error_at(&path.iter().map(|s| s.to_string()).collect::<Vec<_>>(), msg);

    if spec.seeds.is_empty() {
        errors.push(at(&["seeds"], "needs at least one seed"));
    }
    let mut seen = HashSet::new();
    if let Some(dup) = spec.seeds.iter().find(|s| !seen.insert(**s)) {
        errors.push(at(&["seeds"], &format!("seed {dup} is listed twice")));
    }

    // The base document with every default filled: a sweep path exists iff it is a key here.
    let base_doc = json!({
        "data": spec.data, "model": spec.model, "training": spec.training, "eval": spec.eval,
    });
    let check_path = |section: &str, path: &str, errors: &mut Vec<SpecError>| {
        if let Some(msg) = path_problem(&base_doc, path) {
            errors.push(at(&[section, path], &msg));
        }
    };
    for (path, values) in &spec.sweep {
        check_path("sweep", path, &mut errors);
        if values.is_empty() {
            errors.push(at(&["sweep", path], "empty sweep list: give at least one value"));
        }
    }
    let zip_len = spec.zip.values().next().map(Vec::len);
    for (path, values) in &spec.zip {
        check_path("zip", path, &mut errors);
        if values.is_empty() {
            errors.push(at(&["zip", path], "empty zip list: give at least one value"));
        } else if Some(values.len()) != zip_len {
            errors.push(at(&["zip", path], "zip lists must all have the same length"));
        }
    }
    for variant in &spec.include {
        for path in variant.keys() {
            check_path("include", path, &mut errors);
        }
    }
    if !errors.is_empty() {
        return Err(SpecErrors(errors));
    }

    if let Some(e) = run_count_problem(loaded) {
        return Err(e.into());
    }

    let points = variant_points(spec);
    let base = super::flatten::variant_fields(&RunSpec {
        data: loaded.written.data.clone(),
        model: loaded.written.model.clone(),
        training: loaded.written.training.clone(),
        eval: loaded.written.eval.clone(),
        seed: 0,
    });
    // Each variant's runs and what its label names: its swept settings as written, then every
    // other field where it differs from the base (the `-s` overrides among them).
    let mut variants: Vec<Variant> = Vec::new();
    for settings in &points {
        let mut named: Option<Vec<(String, Value)>> = None;
        let mut seeded = Vec::new();
        for &seed in &spec.seeds {
            let mut doc = base_doc.clone();
            for s in settings {
                set_path(&mut doc, &dotted(&s.path), s.value.clone());
            }
            doc["seed"] = json!(seed);
            let blame = |path: &[String], msg: String| blame(loaded, settings, &doc, path, msg);
            let run: RunSpec = match deserialize_at(&doc) {
                Ok(r) => r,
                Err((path, msg)) => {
                    errors.push(blame(&path, msg));
                    continue;
                }
            };
            if let Err(problems) = validate(&run) {
                for (path, msg) in problems.0 {
                    errors.push(blame(&dotted(path), msg));
                }
            }
            named.get_or_insert_with(|| label_settings(settings, &base, &run));
            seeded.push((seed, run));
        }
        variants.push(Variant { named: named.unwrap_or_default(), seeded, settings });
    }
    if !errors.is_empty() {
        let mut seen = HashSet::new();
        errors.retain(|e| seen.insert(e.to_string()));
        return Err(SpecErrors(errors));
    }
    let names = super::flatten::short_names(variants.iter().flat_map(|v| v.named.iter().map(|(p, _)| p.as_str())));
    let mut swept: Vec<String> = names.keys().cloned().collect();
    swept.sort();
    let mut runs: Vec<RunPlan> = Vec::new();
    let mut hashes = HashSet::new();
    for Variant { named, seeded, settings } in variants {
        let label = super::flatten::label(named.iter().map(|(p, v)| (names[p].as_str(), v)));
        for (seed, run) in seeded {
            let hash = run_hash(&run);
            if hashes.insert(hash.clone()) {
                runs.push(RunPlan { hash, label: label.clone(), seed, settings: settings.to_vec(), spec: run });
            }
        }
    }
    let base_dir = loaded.path.parent().map(|p| p.to_path_buf()).unwrap_or_default();
    Ok(Experiment { name: loaded.name.clone(), base_dir, runs, swept })
}

/// One variant while a spec is expanded: what its label names, its runs by seed, its settings.
struct Variant<'a> {
    named: Vec<(String, Value)>,
    seeded: Vec<(u64, RunSpec)>,
    settings: &'a [Setting],
}

/// What a variant's label names, in order: its swept settings (values as written), then every
/// field of `run` that differs from `base` and no setting covers.
fn label_settings(settings: &[Setting], base: &super::flatten::Fields, run: &RunSpec) -> Vec<(String, Value)> {
    let mut named: Vec<(String, Value)> = settings.iter().map(|s| (s.path.clone(), s.value.clone())).collect();
    let covered = |path: &str| settings.iter().any(|s| path == s.path || path.starts_with(&format!("{}.", s.path)));
    for d in super::flatten::differences(base, &super::flatten::variant_fields(run)) {
        if let Some(value) = d.b
            && !covered(&d.path)
        {
            named.push((d.path, value));
        }
    }
    named
}

/// A count that may have saturated.
fn count(n: u128) -> String {
    if n == u128::MAX { "more than 10^38".into() } else { n.to_string() }
}

/// The runs a spec asks for, counted from its axes before any is built: a sweep over the limit
/// ([`MAX_RUNS`]) is refused, blamed on its longest axis.
fn run_count_problem(loaded: &LoadedSpec) -> Option<SpecError> {
    let spec = &loaded.spec;
    let grid = spec.sweep.values().fold(1u128, |n, v| n.saturating_mul(v.len() as u128));
    let rows = spec.zip.values().next().map_or(1, |v| v.len() as u128);
    let gridded = !spec.sweep.is_empty() || !spec.zip.is_empty();
    let variants = if gridded || spec.include.is_empty() { grid.saturating_mul(rows) } else { 0 };
    let variants = variants.saturating_add(spec.include.len() as u128);
    let total = variants.saturating_mul(spec.seeds.len() as u128);
    if total <= MAX_RUNS as u128 {
        return None;
    }
    let mut axes: Vec<(Vec<String>, usize, String)> =
        spec.sweep.iter().map(|(p, v)| (vec!["sweep".into(), p.clone()], v.len(), format!("sweep.{p}"))).collect();
    if let Some((p, v)) = spec.zip.iter().next() {
        axes.push((vec!["zip".into(), p.clone()], v.len(), format!("zip.{p}")));
    }
    axes.push((vec!["include".into()], spec.include.len(), "include".into()));
    axes.push((vec!["seeds".into()], spec.seeds.len(), "seeds".into()));
    let (path, _, field) = axes.into_iter().max_by_key(|a| a.1).expect("seeds is an axis");
    let (file, line) = loaded.origin(&path);
    Some(SpecError::new(
        file,
        line,
        Some(field),
        format!(
            "the spec asks for {} runs ({} variants x {} seeds), over the limit of {MAX_RUNS} runs per spec: split it \
             into several specs (they can share a base through `extends:`)",
            count(total),
            count(variants),
            spec.seeds.len()
        ),
    ))
}

fn dotted(path: &str) -> Vec<String> {
    path.split('.').map(String::from).collect()
}

/// The variants: grid product of `sweep`, times the rows of `zip`, plus each `include`.
fn variant_points(spec: &super::types::SpecFile) -> Vec<Vec<Setting>> {
    let mut points: Vec<Vec<Setting>> = vec![Vec::new()];
    for (path, values) in &spec.sweep {
        points = points
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    let mut p = p.clone();
                    p.push(Setting { path: path.clone(), value: v.clone(), axis: Axis::Sweep });
                    p
                })
            })
            .collect();
    }
    if let Some(rows) = spec.zip.values().next().map(Vec::len) {
        points = points
            .into_iter()
            .flat_map(|p| {
                (0..rows).map(move |i| {
                    let mut p = p.clone();
                    for (path, values) in &spec.zip {
                        p.push(Setting { path: path.clone(), value: values[i].clone(), axis: Axis::Zip });
                    }
                    p
                })
            })
            .collect();
    }
    for (i, variant) in spec.include.iter().enumerate() {
        let settings =
            variant.iter().map(|(k, v)| Setting { path: k.clone(), value: v.clone(), axis: Axis::Include(i) }).collect();
        // With nothing else swept, `include` lists the variants on its own.
        if points.len() == 1 && points[0].is_empty() {
            points.clear();
        }
        points.push(settings);
    }
    points
}

/// Why `path` is not a settable field of a run, with the closest valid key.
fn path_problem(base: &Value, path: &str) -> Option<String> {
    if path == "seed" || path == "seeds" {
        return Some("seeds are not swept here: list them under `seeds:`".into());
    }
    let mut cur = base;
    for (i, key) in path.split('.').enumerate() {
        let map = cur.as_object()?;
        match map.get(key) {
            Some(next) => cur = next,
            None => {
                let prefix = path.split('.').take(i).collect::<Vec<_>>().join(".");
                let hint = nearest(key, map.keys().map(String::as_str))
                    .map(|s| {
                        format!("; did you mean `{}`?", if prefix.is_empty() { s.to_string() } else { format!("{prefix}.{s}") })
                    })
                    .unwrap_or_default();
                return Some(format!("`{path}` is not a spec field{hint}"));
            }
        }
    }
    None
}

/// An error found in one variant: blamed on the sweep/zip/include entry that set the field
/// when there is one, otherwise on wherever the field was written.
fn blame(loaded: &LoadedSpec, settings: &[Setting], doc: &Value, path: &[String], msg: String) -> SpecError {
    let dotted_path = path.join(".");
    let setting = settings.iter().find(|s| dotted_path == s.path || dotted_path.starts_with(&format!("{}.", s.path)));
    match setting {
        None => loaded.error_at(path, msg),
        Some(s) => {
            let loc: Vec<String> = match s.axis {
                Axis::Sweep => vec!["sweep".into(), s.path.clone()],
                Axis::Zip => vec!["zip".into(), s.path.clone()],
                Axis::Include(_) => vec!["include".into()],
            };
            let (file, line) = loaded.origin(&loc);
            let value = get_path(doc, path).map(show).unwrap_or_else(|| show(&s.value));
            let origin = match s.axis {
                Axis::Sweep => "sweep",
                Axis::Zip => "zip",
                Axis::Include(_) => "include",
            };
            SpecError::new(file, line, Some(format!("{dotted_path} = {value} (in {origin})")), msg)
        }
    }
}
