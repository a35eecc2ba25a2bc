//! `ttv-run thresholds`: trained runs evaluated again at several halting thresholds. The
//! threshold acts only at generation (training learns the convergence predictor, not where to
//! cut it), so one checkpoint answers the paper's question for every threshold: how many
//! reasoning steps generation takes against how good its clips are.
//!
//! Each threshold reruns the eval split exactly as training's evaluation does (same subset,
//! same noise streams): gen_mse, avg_steps, halting accuracy, and alignment and temporal
//! coherence from the generated clips. The rows go to the run's `thresholds.parquet`, keyed by
//! the checkpoint's update.

use anyhow::{Context, Result, anyhow, bail};
use burn::prelude::*;

use super::generate::checkpoint_dir;
use super::score::Selection;
use crate::data::{LoadOptions, load};
use crate::model::{TextToVideo, TextTokenizer, build};
use crate::spec::types::HaltingKind;
use crate::store::thresholds::{ThresholdRow, merge};
use crate::store::{RunDir, Store};
use crate::train::checkpoint;
use crate::train::clip_scores::{Truth, Wanted, score};
use crate::train::eval::{eval_subset, evaluate};

/// The paper's range, 0.3 to 0.9.
pub const DEFAULT_THRESHOLDS: [f64; 7] = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/// One run's evaluations: the checkpoint's update and, per threshold, its metrics.
#[derive(Debug, Clone)]
pub struct Swept {
    pub hash: String,
    pub step: u64,
    pub rows: Vec<ThresholdRow>,
}

/// Evaluate every selected run that ended (done, stopped, failed or interrupted) and has a
/// convergence predictor at each of `thresholds`, from its `which` checkpoint (`final` or
/// `best`). Runs without a predictor are listed as skipped; one run's error does not stop the
/// others.
pub fn sweep(
    store: &Store,
    selection: &Selection,
    thresholds: &[f64],
    which: &str,
    device: &Device,
) -> Vec<(String, Result<Option<Swept>>)> {
    let mut out = Vec::new();
    for status in crate::store::index::scan(store) {
        if selection.picks(&status) && store.state(&status.hash).ended() {
            let hash = status.hash.clone();
            let swept = sweep_run(&store.run(&hash), &hash, thresholds, which, device)
                .with_context(|| format!("run {}", &hash[..12.min(hash.len())]));
            out.push((hash, swept));
        }
    }
    out
}

fn sweep_run(run_dir: &RunDir, hash: &str, thresholds: &[f64], which: &str, device: &Device) -> Result<Option<Swept>> {
    let spec = run_dir.read_spec()?;
    if spec.model.halting.kind == HaltingKind::None {
        return Ok(None);
    }
    let path = checkpoint_dir(run_dir, which)?;
    let step = checkpoint::read_state(&path).map(|s| s.updates).ok_or_else(|| anyhow!("{}: no trainer state", path.display()))?;
    let model: TextToVideo = build(&spec.model_config().map_err(|e| anyhow!("model: {e}"))?, device);
    let mut model = checkpoint::load_model(&path, model)?;
    let tokenizer = TextTokenizer::gpt2(spec.model.text_encoder.max_len as usize).map_err(anyhow::Error::msg)?;
    let data = load(&spec.data, &LoadOptions::default())?;
    let subset = eval_subset(&data.eval, spec.eval.samples);
    let truth = Truth::of(&subset, spec.data.kind);
    let mut rows = Vec::new();
    for &threshold in thresholds {
        model.threshold = threshold;
        let result = evaluate(&model, &tokenizer, &subset, spec.seed, device)?;
        let mut values = vec![("gen_mse".to_string(), result.gen_mse), ("avg_steps".to_string(), result.avg_steps)];
        values.extend(result.halt_acc.map(|a| ("halt_acc".to_string(), a)));
        values.extend(score(&result.target, &result.generated, &truth, Wanted::ALL)?.values);
        rows.extend(values.into_iter().map(|(metric, value)| ThresholdRow { step, threshold, metric, value }));
    }
    merge(&run_dir.thresholds_path(), hash, &rows)?;
    Ok(Some(Swept { hash: hash.to_string(), step, rows }))
}

/// Sweep the selected runs and print one table per run; an error on any run fails the
/// command after every run was tried.
pub fn sweep_and_print(store: &Store, selection: &Selection, thresholds: &[f64], which: &str, device: &Device) -> Result<()> {
    let outcomes = sweep(store, selection, thresholds, which, device);
    if outcomes.is_empty() {
        println!("no ended run in {} matches", store.root.display());
    }
    let mut failed = 0;
    for (hash, outcome) in outcomes {
        let short = &hash[..12.min(hash.len())];
        match outcome {
            Ok(Some(swept)) => print!("{}", table(short, &swept)),
            Ok(None) => println!("{short}  no convergence predictor (model.halting.kind: none): the threshold does nothing"),
            Err(e) => {
                eprintln!("{short}  error: {e:#}");
                failed += 1;
            }
        }
    }
    if failed > 0 { bail!("{failed} run(s) could not be evaluated") } else { Ok(()) }
}

/// `threshold  avg_steps  gen_mse  ...` for one run.
fn table(short: &str, swept: &Swept) -> String {
    let mut metrics: Vec<&str> = Vec::new();
    for row in &swept.rows {
        if !metrics.contains(&row.metric.as_str()) {
            metrics.push(&row.metric);
        }
    }
    let mut out = format!("{short}  update {}\n  threshold", swept.step);
    for m in &metrics {
        out += &format!("  {m:>12}");
    }
    out.push('\n');
    let mut thresholds: Vec<f64> = swept.rows.iter().map(|r| r.threshold).collect();
    thresholds.dedup();
    for t in thresholds {
        out += &format!("  {t:>9.2}");
        for m in &metrics {
            let value = swept.rows.iter().find(|r| r.threshold == t && r.metric == *m).map(|r| r.value);
            out += &value.map_or(format!("  {:>12}", "-"), |v| format!("  {v:>12.4}"));
        }
        out.push('\n');
    }
    out
}
