//! `ttv-bench perf`: the figures the PyTorch anchors are quoted in, measured the same way.
//!
//! - Training step: forward from the encoded target, pixel MSE (+ the halting BCE when the spec
//!   trains it), backward, clipping at global norm 1.0, AdamW; samples/s at each batch size.
//! - Generation: from noise with early stopping, latency at batch 1 and clips/s at batch 64.
//! - Each figure is the median over timed repeats after warm-up, each repeat ended by a device
//!   sync; the first call (kernels compiling, and autotuning in `autotune` builds) is reported
//!   on its own.
//! - Per-component forward times (text encoder, video tokenizer, reasoning, detokenizer) show
//!   where a step's time goes.
//! - Each figure's analytic FLOPs per sample ([`ModelFlops`]) times its samples/s is its achieved
//!   FLOP/s, shown as a fraction of the device's measured peak: a large f32 matmul on the same
//!   backend, timed the same way.

use std::time::Instant;

use anyhow::{Result, anyhow};
use burn::module::AutodiffModule;
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use crate::backend::WithBackend;
use crate::model::flops::{ModelFlops, Pass};
use crate::model::{ReasonOptions, TextToVideo, TextTokenizer, build};
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
    /// Side `n` of the square f32 matmul timed as the peak (8192 on CUDA, 1024 on the CPU).
    pub peak_n: usize,
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
    /// Analytic FLOPs per sample of what was timed.
    pub flops_per_sample: u64,
    /// Achieved: FLOPs per sample x samples per second.
    pub flop_per_s: f64,
    /// `flop_per_s` over the measured peak.
    pub peak_fraction: f64,
}

/// The device's measured peak: an `n x n x n` f32 matmul (`2 n^3` FLOPs), median of repeats.
#[derive(Debug, Clone, Serialize)]
pub struct Peak {
    pub n: usize,
    pub median_s: f64,
    pub flop_per_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Perf {
    pub spec: String,
    pub params: usize,
    pub device: String,
    /// Analytic FLOPs per sample of a training step (3 x the training forward).
    pub train_step_flops: u64,
    /// Analytic FLOPs per sample of generation at `generate_steps` = `max_steps`: an upper
    /// bound, as early stopping may end the loop sooner.
    pub generate_flops: u64,
    pub generate_steps: usize,
    pub peak: Peak,
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

/// Time a square f32 matmul of side `n`: the most FLOP/s this backend reaches.
fn peak<B: Backend>(device: &B::Device, n: usize, warmup: usize, repeats: usize) -> Peak {
    let random = || Tensor::<B, 2>::random([n, n], burn::tensor::Distribution::Uniform(-1.0, 1.0), device);
    let (a, b) = (random(), random());
    // Keep the product alive until the sync, so no backend can skip computing it.
    let mut product = None;
    let (median_s, _) = time::<B>(device, warmup, repeats, || product = Some(a.clone().matmul(b.clone())));
    drop(product);
    Peak { n, median_s, flop_per_s: 2.0 * (n as f64).powi(3) / median_s }
}

fn perf<B: AutodiffBackend>(job: &PerfJob, device: &B::Device) -> Result<Perf> {
    let spec = &job.spec;
    let opts = &job.options;
    B::seed(device, 0);
    let config = spec.model_config().map_err(|e| anyhow!("{e}"))?;
    let model: TextToVideo<B> = build(&config, device);
    let flops = ModelFlops::new(&config);
    let generate_steps = spec.model.engine.max_steps as usize;
    let generate = flops.forward(Pass::generate(generate_steps));
    let (train_step_flops, generate_flops) = (flops.train_step_flops_per_sample(), generate.total());
    let peak = peak::<B::InnerBackend>(device, opts.peak_n, opts.warmup, opts.repeats);
    eprintln!(
        "{:<22} n={:<5} {:>10.2} ms {:>10.3} TFLOP/s",
        "peak f32 matmul",
        peak.n,
        peak.median_s * 1e3,
        peak.flop_per_s / 1e12
    );
    let tokenizer = TextTokenizer::gpt2(spec.model.text_encoder.max_len as usize).map_err(anyhow::Error::msg)?;
    let shape = [spec.data.frames as usize, spec.data.height as usize, spec.data.width as usize];
    let prompt = "a red ball moving left to right";
    let mut figures = Vec::new();
    let mut record = |what: &str, batch: usize, flops_per_sample: u64, (median_s, first_s): (f64, f64)| {
        let per_s = batch as f64 / median_s;
        let flop_per_s = flops_per_sample as f64 * per_s;
        let peak_fraction = flop_per_s / peak.flop_per_s;
        let fig = Figure { what: what.into(), batch, median_s, per_s, first_s, flops_per_sample, flop_per_s, peak_fraction };
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
        record("generate", batch, generate_flops, timing);
    }
    let batch = 16;
    let (ids, mask) = tokenizer.batch::<B::InnerBackend>(&vec![prompt; batch], device).map_err(anyhow::Error::msg)?;
    let video = Tensor::<B::InnerBackend, 5>::random(
        [batch, 3, shape[0], shape[1], shape[2]],
        burn::tensor::Distribution::Uniform(-1.0, 1.0),
        device,
    );
    let text = inference.encode_text(ids.clone(), mask.clone());
    let v = inference.encode_video(video.clone());
    let text_flops = generate.component("text_encoder").total();
    record(
        "fwd text encoder",
        batch,
        text_flops,
        time::<B::InnerBackend>(device, opts.warmup, opts.repeats, || {
            let _ = inference.encode_text(ids.clone(), mask.clone());
        }),
    );
    record(
        "fwd video tokenizer",
        batch,
        flops.video_tokenizer().total(),
        time::<B::InnerBackend>(device, opts.warmup, opts.repeats, || {
            let _ = inference.encode_video(video.clone());
        }),
    );
    let all_steps = ReasonOptions { early_stop: false, decode_steps: false };
    // All K steps and one decode: generation without its text encoder.
    record(
        "fwd reasoning+decode",
        batch,
        generate_flops - text_flops,
        time::<B::InnerBackend>(device, opts.warmup, opts.repeats, || {
            let _ = inference.reason(v.clone(), &text, all_steps);
        }),
    );
    let tokens = v.clone();
    record(
        "fwd detokenizer",
        batch,
        flops.video_detokenizer().total(),
        time::<B::InnerBackend>(device, opts.warmup, opts.repeats, || {
            let _ = inference.decode(tokens.clone());
        }),
    );
    // Training steps: one model and optimizer per batch size, as a fresh run would have.
    let weight = spec.model.halting.loss_weight;
    for &batch in &opts.train_batches {
        let (ids, mask) = tokenizer.batch::<B>(&vec![prompt; batch], device).map_err(anyhow::Error::msg)?;
        let videos = Tensor::<B, 5>::random(
            [batch, 3, shape[0], shape[1], shape[2]],
            burn::tensor::Distribution::Uniform(-1.0, 1.0),
            device,
        );
        let mut optimizer = AdamWConfig::new().with_weight_decay(0.01).init::<B, TextToVideo<B>>();
        let mut current = Some(model.clone());
        let timing = time::<B>(device, opts.warmup, opts.repeats, || {
            let m = current.take().expect("model");
            let loss = batch_loss(&m, ids.clone(), mask.clone(), videos.clone(), Start::EncodedTarget, weight);
            let grads = GradientsParams::from_grads(loss.total.backward(), &m);
            let (grads, _norm) = clip_global_norm(&m, grads, Some(1.0));
            current = Some(optimizer.step(1e-4, m, grads));
        });
        record("train step", batch, train_step_flops, timing);
    }

    let params = model.num_params();
    Ok(Perf {
        spec: job.name.clone(),
        params,
        device: job.device_name.clone(),
        train_step_flops,
        generate_flops,
        generate_steps,
        peak,
        figures,
    })
}

/// The table `ttv-bench perf` prints.
pub fn table(perf: &Perf) -> String {
    let mut out = format!("{} ({} parameters) on {}\n", perf.spec, crate::cli::group(perf.params), perf.device);
    out += &format!(
        "GFLOP/sample: train step {:.3} (3 x forward), generate {:.3} (at max_steps = {}, an upper bound); \
         measured peak {:.3} TFLOP/s (f32 matmul {n}x{n}x{n})\n",
        perf.train_step_flops as f64 / 1e9,
        perf.generate_flops as f64 / 1e9,
        perf.generate_steps,
        perf.peak.flop_per_s / 1e12,
        n = perf.peak.n,
    );
    out += &format!(
        "{:<22} {:>6} {:>12} {:>14} {:>10} {:>10} {:>8}\n",
        "figure", "batch", "median ms", "samples/s", "first s", "TFLOP/s", "% peak"
    );
    for f in &perf.figures {
        out += &format!(
            "{:<22} {:>6} {:>12.2} {:>14.1} {:>10.2} {:>10.4} {:>8.2}\n",
            f.what,
            f.batch,
            f.median_s * 1e3,
            f.per_s,
            f.first_s,
            f.flop_per_s / 1e12,
            100.0 * f.peak_fraction
        );
    }
    out
}
