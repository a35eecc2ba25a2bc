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
//! - Where the device records CUDA graphs, the training step and generation again as `ttv-run`
//!   runs them there: replayed from recorded graphs (`train step (graph)`, `generate (graph)`).
//!
//! Also here: [`anchors`] (the PyTorch figures beside these), [`graphs`] (replayed updates train
//! as eager ones do) and [`parity`] (CPU and CUDA compute the same model).

pub mod anchors;
pub mod graphs;
pub mod parity;

use std::time::Instant;

use anyhow::{Result, anyhow};
use burn::prelude::*;
use serde::Serialize;

use crate::model::flops::{ModelFlops, Pass};
use crate::model::generator::Generator;
use crate::model::{ReasonOptions, TextToVideo, TextTokenizer, build};
use crate::spec::types::RunSpec;
use crate::train::adamw::AdamW;
use crate::train::graph::CapturedStep;
use crate::train::noise::prior;
use crate::train::step::{Stepper, apply, backward};

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
    /// Bytes the device's memory pool held after the figure's calls, starting from a cleaned
    /// pool: the memory it took (CubeCL's pool usage; `None` on a backend without a pool).
    pub peak_allocated_bytes: Option<u64>,
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Time `f` (which must leave its work queued) `warmup + repeats` times, each ended by a sync:
/// the median, the first call, and the bytes the device's pool held afterwards (it is cleaned
/// first, so they are this figure's).
fn time(device: &Device, warmup: usize, repeats: usize, mut f: impl FnMut()) -> (f64, f64, Option<u64>) {
    device.memory_cleanup();
    let mut first = 0.0;
    for i in 0..warmup.max(1) {
        let t = Instant::now();
        f();
        device.sync().expect("device sync");
        if i == 0 {
            first = t.elapsed().as_secs_f64();
        }
    }
    let times = (0..repeats.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            device.sync().expect("device sync");
            t.elapsed().as_secs_f64()
        })
        .collect();
    (median(times), first, device.memory_pool_usage().map(|u| u.bytes_reserved))
}

/// Time a square f32 matmul of side `n`: the most FLOP/s this backend reaches.
fn peak(device: &Device, n: usize, warmup: usize, repeats: usize) -> Peak {
    let random = || Tensor::<2>::random([n, n], burn::tensor::Distribution::Uniform(-1.0, 1.0), device);
    let (a, b) = (random(), random());
    // Keep the product alive until the sync, so no backend can skip computing it.
    let mut product = None;
    let (median_s, _, _) = time(device, warmup, repeats, || product = Some(a.clone().matmul(b.clone())));
    drop(product);
    Peak { n, median_s, flop_per_s: 2.0 * (n as f64).powi(3) / median_s }
}

/// Measure `job` on `device` (a plain device: training asks for autodiff itself).
pub fn perf(job: &PerfJob, device: &Device) -> Result<Perf> {
    let spec = &job.spec;
    let opts = &job.options;
    device.seed(0);
    let config = spec.model_config().map_err(|e| anyhow!("{e}"))?;
    let autodiff = device.clone().autodiff();
    let model: TextToVideo = build(&config, &autodiff);
    let flops = ModelFlops::new(&config);
    let generate_steps = spec.model.engine.max_steps as usize;
    let generate = flops.forward(Pass::generate(generate_steps));
    let (train_step_flops, generate_flops) = (flops.train_step_flops_per_sample(), generate.total());
    let peak = peak(device, opts.peak_n, opts.warmup, opts.repeats);
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
    let mut record = |what: &str, batch: usize, flops_per_sample: u64, (median_s, first_s, pool): (f64, f64, Option<u64>)| {
        let per_s = batch as f64 / median_s;
        let flop_per_s = flops_per_sample as f64 * per_s;
        let peak_fraction = flop_per_s / peak.flop_per_s;
        let fig = Figure {
            what: what.into(),
            batch,
            median_s,
            per_s,
            first_s,
            flops_per_sample,
            flop_per_s,
            peak_fraction,
            peak_allocated_bytes: pool,
        };
        eprintln!("{:<22} b={:<4} {:>10.2} ms {:>10.1}/s  first {:>8.2} s", fig.what, batch, median_s * 1e3, fig.per_s, first_s);
        figures.push(fig);
    };

    // Generation from noise (no autodiff; first, as it compiles the fewest kernels), and where
    // a forward pass spends its time.
    let inference = model.valid();
    for &batch in &opts.gen_batches {
        let (ids, mask) = tokenizer.batch(&vec![prompt; batch], device).map_err(anyhow::Error::msg)?;
        let start = prior(&inference, 0, "bench", 0, batch, device);
        let timing = time(device, opts.warmup, opts.repeats, || {
            let out = inference.sample(ids.clone(), mask.clone(), start.clone());
            let _ = out.video;
        });
        record("generate", batch, generate_flops, timing);
        if crate::backend::records_graphs(device) {
            let mut generator = Generator::new(&inference, device);
            let timing = time(device, opts.warmup, opts.repeats, || {
                let _ = generator.sample(ids.clone(), mask.clone(), start.clone()).video;
            });
            match generator.refused() {
                None => record("generate (graph)", batch, generate_flops, timing),
                Some(why) => eprintln!("generate (graph) b={batch}: not recorded ({why}), no figure"),
            }
        }
    }
    let batch = 16;
    let (ids, mask) = tokenizer.batch(&vec![prompt; batch], device).map_err(anyhow::Error::msg)?;
    let video =
        Tensor::<5>::random([batch, 3, shape[0], shape[1], shape[2]], burn::tensor::Distribution::Uniform(-1.0, 1.0), device);
    let text = inference.encode_text(ids.clone(), mask.clone());
    let v = inference.encode_video(video.clone());
    let text_flops = generate.component("text_encoder").total();
    record(
        "fwd text encoder",
        batch,
        text_flops,
        time(device, opts.warmup, opts.repeats, || {
            let _ = inference.encode_text(ids.clone(), mask.clone());
        }),
    );
    record(
        "fwd video tokenizer",
        batch,
        flops.video_tokenizer().total(),
        time(device, opts.warmup, opts.repeats, || {
            let _ = inference.encode_video(video.clone());
        }),
    );
    let all_steps = ReasonOptions { early_stop: false, decode_steps: false };
    // All K steps and one decode: generation without its text encoder.
    record(
        "fwd reasoning+decode",
        batch,
        generate_flops - text_flops,
        time(device, opts.warmup, opts.repeats, || {
            let _ = inference.reason(v.clone(), &text, all_steps);
        }),
    );
    let tokens = v.clone();
    record(
        "fwd detokenizer",
        batch,
        flops.video_detokenizer().total(),
        time(device, opts.warmup, opts.repeats, || {
            let _ = inference.decode(tokens.clone());
        }),
    );
    // Training updates, as `ttv-run` does them: eagerly, and replayed from a recorded CUDA
    // graph where the device records them. One model and optimizer per batch size and path.
    for &batch in &opts.train_batches {
        let (ids, mask) = tokenizer.batch(&vec![prompt; batch], device).map_err(anyhow::Error::msg)?;
        let videos =
            Tensor::<5>::random([batch, 3, shape[0], shape[1], shape[2]], burn::tensor::Distribution::Uniform(-1.0, 1.0), device);
        let stepper = Stepper { spec, seed: 0, tokenizer: &tokenizer, device, latent: [inference.tokens, inference.hidden] };
        let inputs = stepper.with_noise(ids, mask, videos, "bench", 0);
        // A model of its own: a clone shares its weights, which AdamW could not update in place.
        let fresh = || -> TextToVideo { build(&config, &autodiff) };
        let model = fresh();
        let mut optimizer = AdamW::new(&spec.training.optimizer, &model, 0, device);
        optimizer.set_lr(spec.training.optimizer.lr);
        let mut current = Some(model);
        let timing = time(device, opts.warmup, opts.repeats, || {
            let m = current.take().expect("model");
            let (grads, sums) = backward(&m, spec, inputs.clone(), 1.0);
            let (m, _stats) = apply(m, &mut optimizer, grads, sums, spec);
            current = Some(m);
        });
        record("train step", batch, train_step_flops, timing);
        if crate::backend::records_graphs(device) {
            let model = fresh();
            let optimizer = AdamW::new(&spec.training.optimizer, &model, 0, device);
            let (_model, mut optimizer, step) = CapturedStep::capture(model, optimizer, inputs.clone(), spec);
            match step {
                Ok(mut step) => {
                    let lr = spec.training.optimizer.lr;
                    let timing = time(device, opts.warmup, opts.repeats, || {
                        step.replay(&mut optimizer, inputs.clone(), lr).expect("a replayed update");
                    });
                    record("train step (graph)", batch, train_step_flops, timing);
                }
                Err(why) => eprintln!("train step (graph) b={batch}: not recorded ({why}), no figure"),
            }
        }
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
        "{:<22} {:>6} {:>12} {:>14} {:>10} {:>10} {:>8} {:>10}\n",
        "figure", "batch", "median ms", "samples/s", "first s", "TFLOP/s", "% peak", "pool GB"
    );
    for f in &perf.figures {
        let pool = f.peak_allocated_bytes.map_or("-".to_string(), |b| format!("{:.2}", b as f64 / 1e9));
        out += &format!(
            "{:<22} {:>6} {:>12.2} {:>14.1} {:>10.2} {:>10.4} {:>8.2} {:>10}\n",
            f.what,
            f.batch,
            f.median_s * 1e3,
            f.per_s,
            f.first_s,
            f.flop_per_s / 1e12,
            100.0 * f.peak_fraction,
            pool
        );
    }
    out
}
