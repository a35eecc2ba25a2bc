//! `ttv-bench graphs`: does a replayed CUDA graph train like eager updates? The same weights
//! are trained twice for `steps` updates on the same batches under a warmup schedule, once
//! eagerly and once replayed from one recorded update, and the two loss trajectories are
//! compared (they should agree to f32 rounding); then the eagerly trained model generates the
//! same clips eagerly and replayed.

use std::time::Instant;

use anyhow::{Result, anyhow};
use burn::prelude::*;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Distribution;
use serde::Serialize;

use crate::model::generator::Generator;
use crate::model::{TextToVideo, TextTokenizer, build};
use crate::spec::types::RunSpec;
use crate::train::adamw::AdamW;
use crate::train::graph::CapturedStep;
use crate::train::noise::prior;
use crate::train::step::{Inputs, StepStats, Stepper, apply, backward};

/// Distinct batches the updates cycle through.
const BATCHES: usize = 4;

#[derive(Debug, Clone, Serialize)]
pub struct GraphCheck {
    pub batch: usize,
    pub eager_losses: Vec<f64>,
    pub graph_losses: Vec<f64>,
    /// The largest `|graph - eager| / |eager|` over the trajectory, and the first update
    /// where it exceeds 1e-4 (`None`: never).
    pub max_rel_dev: f64,
    pub first_divergence: Option<usize>,
    /// Optimizer writes that were not in place during the replays (each one a stale buffer).
    pub copies: usize,
    pub eager_ms_per_update: f64,
    pub graph_ms_per_update: f64,
    /// Generation by the eagerly trained model, eager against replayed: the largest pixel
    /// difference and whether every sample took the same number of steps.
    pub gen_max_abs_diff: f64,
    pub gen_steps_equal: bool,
}

/// Train `spec`'s model from the same weights eagerly and by graph replay on `device`.
pub fn check(spec: &RunSpec, device: &Device, batch: usize, steps: usize) -> Result<GraphCheck> {
    device.seed(0);
    let config = spec.model_config().map_err(|e| anyhow!("{e}"))?;
    let autodiff = device.clone().autodiff();
    let original: TextToVideo = build(&config, &autodiff);
    let mut store = SafetensorsStore::from_bytes(None);
    original.save_into(&mut store).map_err(|e| anyhow!("{e}"))?;
    let bytes = store.get_bytes().map_err(|e| anyhow!("{e}"))?;
    let copy = || -> Result<TextToVideo> {
        let mut model: TextToVideo = build(&config, &autodiff);
        model.load_from(&mut SafetensorsStore::from_bytes(Some(bytes.clone()))).map_err(|e| anyhow!("{e}"))?;
        Ok(model)
    };

    let tokenizer = TextTokenizer::gpt2(spec.model.text_encoder.max_len as usize).map_err(anyhow::Error::msg)?;
    let d = &spec.data;
    let prompts = ["a red ball moving left to right", "a blue square rotating", "a yellow triangle moving up"];
    let batches: Vec<Inputs> = (0..BATCHES)
        .map(|i| {
            let captions: Vec<&str> = (0..batch).map(|j| prompts[(i + j) % prompts.len()]).collect();
            let (ids, mask) = tokenizer.batch(&captions, device).map_err(anyhow::Error::msg)?;
            let shape = [batch, 3, d.frames as usize, d.height as usize, d.width as usize];
            let videos = Tensor::<5>::random(shape, Distribution::Uniform(-1.0, 1.0), device);
            let stepper = Stepper { spec, seed: 0, tokenizer: &tokenizer, device, latent: [original.tokens, original.hidden] };
            Ok(stepper.with_noise(ids, mask, videos, "graphs", (i * batch) as u64))
        })
        .collect::<Result<_>>()?;
    // A warmup, as training has: the learning rate must reach the recording each update.
    let peak = spec.training.optimizer.lr;
    let lr = |i: usize| peak * ((i + 1) as f64 / 10.0).min(1.0);

    let mut model = copy()?;
    let mut optimizer = AdamW::new(&spec.training.optimizer, &model, 0, device);
    let began = Instant::now();
    let mut eager_losses = Vec::with_capacity(steps);
    for i in 0..steps {
        optimizer.set_lr(lr(i));
        let (grads, sums) = backward(&model, spec, batches[i % BATCHES].clone(), 1.0);
        let (m, stats) = apply(model, &mut optimizer, grads, sums, spec);
        model = m;
        eager_losses.push(StepStats::read(stats)?.loss);
    }
    let eager_ms_per_update = began.elapsed().as_secs_f64() * 1e3 / steps as f64;

    let inference = model.valid();
    let first = &batches[0];
    let start = prior(&inference, 0, "graphs", 0, batch, device);
    let eager = inference.sample(first.ids.clone(), first.mask.clone(), start.clone());
    let mut generator = Generator::new(&inference, device);
    let replayed = generator.sample(first.ids.clone(), first.mask.clone(), start);
    if let Some(why) = generator.refused() {
        anyhow::bail!("generation was not recorded: {why}");
    }
    let gen_max_abs_diff = (eager.video - replayed.video).abs().max().into_scalar::<f64>();
    let gen_steps_equal = eager.steps_taken == replayed.steps_taken;

    let model = copy()?;
    let optimizer = AdamW::new(&spec.training.optimizer, &model, 0, device);
    let (_model, mut optimizer, step) = CapturedStep::capture(model, optimizer, batches[0].clone(), spec);
    let mut step = step.map_err(|e| anyhow!("recording a training update: {e}"))?;
    let copies = optimizer.copies;
    let began = Instant::now();
    let mut graph_losses = Vec::with_capacity(steps);
    for i in 0..steps {
        graph_losses.push(step.replay(&mut optimizer, batches[i % BATCHES].clone(), lr(i))?.loss);
    }
    let graph_ms_per_update = began.elapsed().as_secs_f64() * 1e3 / steps as f64;
    let copies = optimizer.copies - copies;

    let deviations: Vec<f64> = eager_losses.iter().zip(&graph_losses).map(|(e, g)| (g - e).abs() / e.abs().max(1e-12)).collect();
    let max_rel_dev = deviations.iter().copied().fold(0.0, f64::max);
    let first_divergence = deviations.iter().position(|&d| d > 1e-4);
    Ok(GraphCheck {
        batch,
        eager_losses,
        graph_losses,
        max_rel_dev,
        first_divergence,
        copies,
        eager_ms_per_update,
        graph_ms_per_update,
        gen_max_abs_diff,
        gen_steps_equal,
    })
}

/// The table `ttv-bench graphs` prints.
pub fn table(checks: &[GraphCheck]) -> String {
    let mut out = format!(
        "{:>6} {:>7} {:>10} {:>10} {:>21} {:>21} {:>11} {:>9} {:>6} {:>12} {:>9}\n",
        "batch",
        "updates",
        "eager ms",
        "graph ms",
        "first loss eager/graph",
        "last loss eager/graph",
        "max rel dev",
        "diverges",
        "copies",
        "gen max diff",
        "gen steps"
    );
    for c in checks {
        out += &format!(
            "{:>6} {:>7} {:>10.2} {:>10.2} {:>10.6}/{:<10.6} {:>10.6}/{:<10.6} {:>11.2e} {:>9} {:>6} {:>12.2e} {:>9}\n",
            c.batch,
            c.eager_losses.len(),
            c.eager_ms_per_update,
            c.graph_ms_per_update,
            c.eager_losses[0],
            c.graph_losses[0],
            c.eager_losses.last().copied().unwrap_or(f64::NAN),
            c.graph_losses.last().copied().unwrap_or(f64::NAN),
            c.max_rel_dev,
            c.first_divergence.map_or("never".to_string(), |i| format!("at {}", i + 1)),
            c.copies,
            c.gen_max_abs_diff,
            if c.gen_steps_equal { "equal" } else { "differ" }
        );
    }
    out
}
