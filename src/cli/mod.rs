//! The commands of the binaries (each a function the thin `main` calls) and the text they share.

pub mod args;
pub mod bench;
pub mod completions;
pub mod diff;
pub mod fid;
pub mod flags;
pub mod generate;
pub mod preview;
pub mod progress;
pub mod report;
pub mod run;
pub mod runs;
pub mod schema;
pub mod score;
pub mod status;
pub mod thresholds;

use std::fmt::Write;

use crate::spec::Experiment;
use crate::store::Store;

/// The `--dry-run` plan: one row per run with its short hash, variant, seed, trainable
/// parameters and stored state.
pub fn plan_table(exp: &Experiment, store: &Store) -> String {
    let mut out = String::new();
    let width = exp.runs.iter().map(|r| r.label.len()).max().unwrap_or(0).max(7);
    let _ = writeln!(out, "experiment {}: {} runs", exp.name, exp.runs.len());
    let _ = writeln!(out, "{:<12}  {:<width$}  {:>6}  {:>12}  state", "hash", "variant", "seed", "params");
    for r in &exp.runs {
        // Counted from the spec: planning never builds a model.
        let params = match r.spec.model_config() {
            Ok(config) => group(crate::spec::budget::param_count(&config) as usize),
            Err(_) => "invalid".into(),
        };
        let state = store.state(&r.hash);
        let _ = writeln!(out, "{}  {:<width$}  {:>6}  {:>12}  {}", r.short(), r.label, r.seed, params, state.as_str());
    }
    out
}

/// The `--dry-run --json` plan: one object per run with its experiment, full hash, variant label,
/// variant id (index.parquet's `variant`) and swept settings, seed, stored state, and whether `ttv-run` without `--dry-run` would train
/// it (`todo`).
pub fn plan_json(experiments: &[Experiment], store: &Store, retry_failed: bool) -> serde_json::Value {
    let runs = experiments.iter().flat_map(|exp| {
        exp.runs.iter().map(|r| {
            let state = store.state(&r.hash);
            let todo = state.to_do(retry_failed);
            let settings: serde_json::Map<String, serde_json::Value> =
                r.settings.iter().map(|s| (s.path.clone(), s.value.clone())).collect();
            serde_json::json!({
                "experiment": exp.name,
                "hash": r.hash,
                "short": r.short(),
                "variant": r.label,
                "variant_id": crate::spec::variant_id(&r.spec),
                "settings": settings,
                "seed": r.seed,
                "state": state.as_str(),
                "todo": todo,
            })
        })
    });
    serde_json::Value::Array(runs.collect())
}

/// 20369668 -> "20,369,668".
pub fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The exit status of a command: an invalid spec exits 2 (each error on its own line, nothing
/// was written), any other error 1.
pub fn exit_code(result: anyhow::Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => match e.downcast_ref::<crate::spec::SpecErrors>() {
            Some(errors) => {
                for e in &errors.0 {
                    eprintln!("error: {e}");
                }
                std::process::ExitCode::from(2)
            }
            None => {
                eprintln!("error: {e:#}");
                std::process::ExitCode::from(1)
            }
        },
    }
}
