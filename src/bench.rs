//! `ttv-bench perf`: the figures the PyTorch anchors are quoted in, measured the same way.
//!
//! - Training step: forward from the encoded target, pixel MSE (+ the halting BCE when the spec
//!   trains it), backward, clipping at global norm 1.0, AdamW; samples/s at each batch size.
//! - Generation: from noise with early stopping, latency at batch 1 and clips/s at batch 64.
//! - Each figure is the median over timed repeats after warm-up, each repeat ended by a device
//!   sync; the first call (kernels compiling, autotune) is reported on its own.
//! - Per-component forward times (text encoder, video tokenizer, reasoning, detokenizer) show
//!   where a step's time goes.

use std::time::Instant;

use anyhow::{Result, anyhow};
use burn::module::AutodiffModule;
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use crate::backend::WithBackend;
use crate::model::{ReasonOptions, TextTokenizer, TextToVideo, build};
use crate::spec::types::RunSpec;
use crate::train::clip::clip_global_norm;
use crate::train::loss::{Start, batch_loss};
use crate::train::noise::noise;

#[derive(Debug, Clone)]
pub struct PerfOptions {
    pub train_batches: Vec<usize>,
    pub gen_batches: Vec<usize>,
    /// Timed repeats per figure (after `warmup`).
    pub repeats: usize,
    pub warmup: usize,
}

/// One measured figure.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub what: String,
    pub batch: usize,
    /// Median seconds per call.
    pub median_s: f64,
    /// Samples (or clips) per second at the median.
    pub per_s: f64,
    /// The first call, compiling included.
    pub first_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Perf {
    pub spec: String,
    pub params: usize,
    pub device: String,
    pub figures: Vec<Figure>,
}

pub struct PerfJob {
    pub name: String,
    pub spec: RunSpec,
    pub options: PerfOptions,
    pub device_name: String,
}

impl WithBackend for PerfJob {
    type Output = Result<Perf>;
    fn run<B: AutodiffBackend>(self, device: B::Device) -> Result<Perf> {
        perf::<B>(&self, &device)
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Time `f` (which must leave its work queued) `warmup + repeats` times, each ended by a sync.
fn time<B: Backend>(device: &B::Device, warmup: usize, repeats: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut first = 0.0;
    for i in 0..warmup.max(1) {
        let t = Instant::now();
        f();
        B::sync(device).expect("device sync");
        if i == 0 {
            first = t.elapsed().as_secs_f64();
        }
    }
    let times = (0..repeats.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            B::sync(device).expect("device sync");
            t.elapsed().as_secs_f64()
        })
        .collect();
    (median(times), first)
}

fn perf<B: AutodiffBackend>(job: &PerfJob, device: &B::Device) -> Result<Perf> {
    let spec = &job.spec;
    let opts = &job.options;
    B::seed(device, 0);
    let model: TextToVideo<B> = build(&spec.model, &spec.data, device).map_err(|e| anyhow!("{e}"))?;
    let tokenizer = TextTokenizer::gpt2(spec.model.text_encoder.max_len as usize).map_err(anyhow::Error::msg)?;
    let shape = [spec.data.frames as usize, spec.data.height as usize, spec.data.width as usize];
    let prompt = "a red ball moving left to right";
    let mut figures = Vec::new();
    let mut record = |what: &str, batch: usize, (median_s, first_s): (f64, f64)| {
        let fig = Figure { what: what.into(), batch, median_s, per_s: batch as f64 / median_s, first_s };
        eprintln!("{:<22} b={:<4} {:>10.2} ms {:>10.1}/s  first {:>8.2} s", fig.what, batch, median_s * 1e3, fig.per_s, first_s);
        figures.push(fig);
    };

    // Generation from noise (no autodiff; first, as it compiles the fewest kernels), and where
    // a forward pass spends its time.
    let inference = model.valid();
    for &batch in &opts.gen_batches {
        let (ids, mask) = tokenizer.batch::<B::InnerBackend>(&vec![prompt; batch], device).map_err(anyhow::Error::msg)?;
        let start = noise::<B::InnerBackend>(0, "bench", 0, [batch, inference.tokens, inference.hidden], device);
        let timing = time::<B::InnerBackend>(device, opts.warmup, opts.repeats, || {
            let out = inference.generate(ids.clone(), mask.clone(), start.clone());
            let _ = out.video;
        });
        record("generate", batch, timing);
    }
    let batch = 16;
    let (ids, mask) = tokenizer.batch::<B::InnerBackend>(&vec![prompt; batch], device).map_err(anyhow::Error::msg)?;
    let video = Tensor::<B::InnerBackend, 5>::random([batch, 3, shape[0], shape[1], shape[2]], burn::tensor::Distribution::Uniform(-1.0, 1.0), device);
    let text = inference.encode_text(ids.clone(), mask.clone());
    let v = inference.encode_video(video.clone());
    record("fwd text encoder", batch, time::<B::InnerBackend>(device, opts.warmup, opts.repeats, || {
        let _ = inference.encode_text(ids.clone(), mask.clone());
    }));
    record("fwd video tokenizer", batch, time::<B::InnerBackend>(device, opts.warmup, opts.repeats, || {
        let _ = inference.encode_video(video.clone());
    }));
    let all_steps = ReasonOptions { early_stop: false, decode_steps: false };
    record("fwd reasoning+decode", batch, time::<B::InnerBackend>(device, opts.warmup, opts.repeats, || {
        let _ = inference.reason(v.clone(), &text, all_steps);
    }));
    let tokens = v.clone();
    record("fwd detokenizer", batch, time::<B::InnerBackend>(device, opts.warmup, opts.repeats, || {
        let _ = inference.decode(tokens.clone());
    }));
    // Training steps: one model and optimizer per batch size, as a fresh run would have.
    let weight = spec.model.halting.loss_weight;
    for &batch in &opts.train_batches {
        let (ids, mask) = tokenizer.batch::<B>(&vec![prompt; batch], device).map_err(anyhow::Error::msg)?;
        let videos = Tensor::<B, 5>::random([batch, 3, shape[0], shape[1], shape[2]], burn::tensor::Distribution::Uniform(-1.0, 1.0), device);
        let mut optimizer = AdamWConfig::new().with_weight_decay(0.01).init::<B, TextToVideo<B>>();
        let mut current = Some(model.clone());
        let timing = time::<B>(device, opts.warmup, opts.repeats, || {
            let m = current.take().expect("model");
            let loss = batch_loss(&m, ids.clone(), mask.clone(), videos.clone(), Start::EncodedTarget, weight);
            let grads = GradientsParams::from_grads(loss.total.backward(), &m);
            let (grads, _norm) = clip_global_norm(&m, grads, Some(1.0));
            current = Some(optimizer.step(1e-4, m, grads));
        });
        record("train step", batch, timing);
    }

    Ok(Perf { spec: job.name.clone(), params: model.num_params(), device: job.device_name.clone(), figures })
}

/// The table `ttv-bench perf` prints.
pub fn table(perf: &Perf) -> String {
    let mut out = format!("{} ({} parameters) on {}\n", perf.spec, crate::cli::group(perf.params), perf.device);
    out += &format!("{:<22} {:>6} {:>12} {:>14} {:>10}\n", "figure", "batch", "median ms", "samples/s", "first s");
    for f in &perf.figures {
        out += &format!("{:<22} {:>6} {:>12.2} {:>14.1} {:>10.2}\n", f.what, f.batch, f.median_s * 1e3, f.per_s, f.first_s);
    }
    out
}
