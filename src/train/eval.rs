//! Evaluation on the eval split: how well the model reconstructs a clip it is given (the
//! training path), how close generation from noise gets to the target, how many reasoning
//! steps it takes, and whether the convergence predictor's halting decisions match the paper's
//! convergence labels.
//!
//! For a `flow_matching` model the training path is its clean-clip prediction from `x_t` at a
//! time drawn per eval sample (the same at every epoch), and generation integrates from pixel
//! noise in `training.flow.sampling_steps` Euler steps, each a whole reasoning loop:
//! `avg_steps` is then the reasoning steps per loop (per Euler step), which reads on the same
//! 1..=K scale as the other objectives' and says what halting does in each loop; the steps of a
//! whole generation are that times the sampling steps.

use burn::prelude::*;

use super::loss::Start;
use super::noise::{flow_noise, prior};
use crate::data::loader::Loader;
use crate::data::source::Dataset;
use crate::metrics::ClipsU8;
use crate::model::halting::{convergence_labels, per_sample_mse};
use crate::model::{ReasonOptions, TextToVideo, TextTokenizer};

/// Eval clips go through the model this many at a time.
const EVAL_BATCH: usize = 16;

#[derive(Debug, Clone)]
pub struct EvalResult {
    pub samples: usize,
    /// MSE of the clip reasoned from the encoded target (what training optimises); for
    /// `flow_matching`, of the clean clip predicted from `x_t` (its training loss).
    pub recon_mse: f64,
    /// MSE of the clip generated from noise against the target.
    pub gen_mse: f64,
    /// Mean reasoning steps per generated clip (early stopping on); for `flow_matching`, per
    /// reasoning loop (Euler step).
    pub avg_steps: f64,
    /// Fraction of steps 2..K where "p > threshold" agrees with the convergence label; `None`
    /// without a predictor.
    pub halt_acc: Option<f64>,
    pub target: ClipsU8,
    pub generated: ClipsU8,
}

/// The samples every evaluation scores, in the order its clips are kept: the first
/// `eval.samples` of the eval split (all when `None`). Scoring kept clips afterwards rebuilds
/// their ground truth from this same subset.
pub fn eval_subset(eval: &Dataset, samples: Option<u64>) -> Dataset {
    eval.head(samples.map_or(usize::MAX, |s| s as usize))
}

/// Evaluate on `subset` (see [`eval_subset`]), in order. Generation noise for eval sample `i`
/// is stream `(seed, "eval", i)`, a flow model's reconstruction noise and time `(seed,
/// "eval-flow-x0" / "eval-flow-t", i)`: the same at every epoch, so epochs compare.
pub fn evaluate(
    model: &TextToVideo,
    tokenizer: &TextTokenizer,
    subset: &Dataset,
    seed: u64,
    device: &Device,
) -> anyhow::Result<EvalResult> {
    let n = subset.len();
    let (mut recon, mut generation, mut steps) = (0.0, 0.0, 0.0);
    let (mut agree, mut judged) = (0usize, 0usize);
    let (mut target, mut generated): (Option<ClipsU8>, Option<ClipsU8>) = (None, None);
    let mut first = 0u64;
    for host in Loader::new(subset.clone(), EVAL_BATCH).epoch(0) {
        let b = host.len();
        let captions: Vec<&str> = host.captions.iter().map(String::as_str).collect();
        let (ids, mask) = tokenizer.batch(&captions, device).map_err(anyhow::Error::msg)?;
        let batch = host.to_device(device);
        let videos = batch.videos;
        let dims = videos.dims();

        let text = model.encode_text(ids, mask);
        let with_halting = model.halting.is_some();
        let options = ReasonOptions { early_stop: false, decode_steps: with_halting };
        let start = match model.time_embedding {
            Some(_) => Start::Flow(Box::new(flow_noise(seed, "eval-flow", first, model.clip, b, device))),
            None => Start::EncodedTarget,
        };
        let out = model.reason(start.latent(model, videos.clone()), &text, options);
        recon += sum_of(per_sample_mse(out.video, videos.clone()));
        if with_halting && out.steps.len() > 1 {
            let mse: Vec<Tensor<1>> =
                out.steps.iter().map(|s| per_sample_mse(s.video.clone().expect("decoded"), videos.clone())).collect();
            for (step, label) in out.steps.iter().zip(convergence_labels(&mse)).skip(1) {
                let predicted = step.halt_prob.clone().expect("predictor").greater_elem(model.threshold);
                let label = label.greater_elem(0.5);
                agree += predicted.equal(label).int().sum().into_scalar::<i64>() as usize;
                judged += b;
            }
        }

        let out = model.sample_from(&text, prior(model, seed, "eval", first, b, device));
        steps += out.reasoning_steps().iter().sum::<f64>();
        generation += sum_of(per_sample_mse(out.video.clone(), videos.clone()));

        let bytes = |v: Tensor<5>| {
            ClipsU8::from_channels_first(&v.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 clip"), dims)
        };
        append(&mut target, bytes(videos));
        append(&mut generated, bytes(out.video));
        first += b as u64;
    }
    anyhow::ensure!(n > 0, "the eval split is empty");
    Ok(EvalResult {
        samples: n,
        recon_mse: recon / n as f64,
        gen_mse: generation / n as f64,
        avg_steps: steps / n as f64,
        halt_acc: (judged > 0).then(|| agree as f64 / judged as f64),
        target: target.expect("n > 0"),
        generated: generated.expect("n > 0"),
    })
}

/// Generate one clip per prompt, prompt `i` from noise stream `(seed, "prompt", i)`; with the
/// reasoning steps each took (per reasoning loop, see [`crate::model::Generation::reasoning_steps`]).
pub fn generate_prompts(
    model: &TextToVideo,
    tokenizer: &TextTokenizer,
    prompts: &[String],
    seed: u64,
    device: &Device,
) -> anyhow::Result<(ClipsU8, Vec<f64>)> {
    let captions: Vec<&str> = prompts.iter().map(String::as_str).collect();
    let (ids, mask) = tokenizer.batch(&captions, device).map_err(anyhow::Error::msg)?;
    let out = model.sample(ids, mask, prior(model, seed, "prompt", 0, prompts.len(), device));
    let steps = out.reasoning_steps();
    let dims = out.video.dims();
    let values = out.video.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 clip");
    Ok((ClipsU8::from_channels_first(&values, dims), steps))
}

fn sum_of(t: Tensor<1>) -> f64 {
    t.sum().into_scalar::<f64>()
}

fn append(acc: &mut Option<ClipsU8>, more: ClipsU8) {
    match acc {
        Some(a) => a.extend(&more),
        None => *acc = Some(more),
    }
}
