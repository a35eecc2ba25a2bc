//! Training one run: the paper's schedule (AdamW, linear warmup, gradient accumulation, global
//! norm clipping), evaluation every `eval.every` epochs, checkpoints that resume exactly, and
//! the cost figures of the summary row.
//!
//! - [`loss`]: the objective of one micro-batch (pixel MSE + halting BCE).
//! - [`clip`]: clipping by the global gradient norm.
//! - [`schedule`]: the learning rate of each update.
//! - [`eval`]: eval-split metrics and prompt samples; [`fid`]: FID/KID on them;
//!   [`clip_scores`]: alignment and temporal coherence on them.
//! - [`checkpoint`]: safetensors model + optimizer moments + trainer position.
//! - [`noise`]: reproducible host-side noise; [`samples`]: clips as bytes and GIFs.
//! - [`measure`]: generation latency and peak memory; [`fault`]: fault injection for tests.

pub mod checkpoint;
pub mod clip;
pub mod clip_scores;
pub mod eval;
pub mod fault;
pub mod fid;
pub mod loss;
pub mod measure;
pub mod noise;
pub mod samples;
pub mod schedule;
pub mod table;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use burn::module::AutodiffModule;
use burn::optim::{AdamWConfig, GradientsAccumulator, GradientsParams, Optimizer};
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use indicatif::ProgressBar;

use self::checkpoint::{AdamWOptimizer, TrainerState};
use self::eval::EvalResult;
use self::fault::Faults;
use self::loss::{Start, batch_loss};
use self::schedule::Schedule;
use crate::data::batch::HostBatch;
use crate::data::loader::Loader;
use crate::data::{Data, LoadOptions};
use crate::model::{TextToVideo, TextTokenizer, build};
use crate::spec::RunPlan;
use crate::store::metrics::MetricsLog;
use crate::store::status::{Status, now};
use crate::store::{State, Store};

/// Seconds between heartbeats written to `status.json` while training.
const HEARTBEAT_S: f64 = 10.0;

/// Everything a run needs from the runner.
pub struct RunContext<'a> {
    pub plan: &'a RunPlan,
    pub store: &'a Store,
    pub load: LoadOptions,
    pub status: &'a mut Status,
    /// Optimizer updates of this run (hidden when not on a terminal).
    pub progress: ProgressBar,
}

/// How a status note of a resumed attempt begins.
pub const RESUMED_FROM: &str = "resumed from";

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    Done,
    /// Diverged: the reason; the last good checkpoint is kept.
    Failed(String),
}

type Inner<B> = <B as AutodiffBackend>::InnerBackend;

struct Trainer<'a, 'c, B: AutodiffBackend> {
    ctx: &'c mut RunContext<'a>,
    device: B::Device,
    data: Data,
    tokenizer: TextTokenizer,
    metrics: MetricsLog,
    state: TrainerState,
    fid: fid::FidJudge<Inner<B>>,
    faults: Faults,
    ckpt_dir: PathBuf,
    /// Wall time at the start of this attempt, and the training seconds before it.
    started: Instant,
    earlier_s: f64,
    last_heartbeat: f64,
    last_eval_s: f64,
    ckpt_bytes: u64,
    oom_splits: u64,
}

/// Train, evaluate and measure the run in `ctx` on `device`, resuming from its newest checkpoint.
pub fn train<B: AutodiffBackend>(ctx: &mut RunContext, device: &B::Device) -> Result<Ending> {
    let spec = &ctx.plan.spec;
    let run_dir = ctx.store.run_dir(&ctx.plan.hash);
    let data = crate::data::load(&spec.data, &ctx.load)?;
    crate::data::write_preview(&data.train, 16, &run_dir.join("samples/data_preview.gif"))?;
    ctx.status.results.insert("data/skipped".into(), data.skipped() as f64);

    B::seed(device, ctx.plan.seed);
    let model: TextToVideo<B> = build(&spec.model_config().map_err(|e| anyhow!("model: {e}"))?, device);
    let o = &spec.training.optimizer;
    let optimizer: AdamWOptimizer<TextToVideo<B>, B> = AdamWConfig::new()
        .with_beta_1(o.betas[0] as f32)
        .with_beta_2(o.betas[1] as f32)
        .with_epsilon(o.eps as f32)
        .with_weight_decay(o.weight_decay as f32)
        .init();
    let tokenizer = TextTokenizer::gpt2(spec.model.text_encoder.max_len as usize).map_err(anyhow::Error::msg)?;
    let metrics = MetricsLog::open(&run_dir.join("metrics.parquet"), &ctx.plan.hash)?;
    let fid = fid::FidJudge::new(&spec.eval);
    let state = TrainerState { run: ctx.plan.hash.clone(), epoch: 1, batch: 0, updates: 0, train_s: 0.0, best_fid: None };
    let mut trainer = Trainer::<B> {
        ctx,
        device: device.clone(),
        data,
        tokenizer,
        metrics,
        state,
        fid,
        faults: Faults::from_env(),
        ckpt_dir: run_dir.join("ckpt"),
        started: Instant::now(),
        earlier_s: 0.0,
        last_heartbeat: now(),
        last_eval_s: 0.0,
        ckpt_bytes: 0,
        oom_splits: 0,
    };
    let (model, optimizer) = trainer.resume(model, optimizer)?;
    trainer.run(model, optimizer)
}

impl<B: AutodiffBackend> Trainer<'_, '_, B> {
    fn spec(&self) -> &crate::spec::types::RunSpec {
        &self.ctx.plan.spec
    }

    fn elapsed(&self) -> f64 {
        self.earlier_s + self.started.elapsed().as_secs_f64()
    }

    /// Continue from the newest valid checkpoint, or start afresh (dropping metrics an earlier
    /// attempt logged past its last checkpoint).
    fn resume(
        &mut self,
        model: TextToVideo<B>,
        optimizer: AdamWOptimizer<TextToVideo<B>, B>,
    ) -> Result<(TextToVideo<B>, AdamWOptimizer<TextToVideo<B>, B>)> {
        let Some((path, saved)) = checkpoint::newest(&self.ckpt_dir) else {
            self.metrics.rows.clear();
            self.ctx.status.notes.retain(|n| !n.starts_with(RESUMED_FROM));
            return Ok((model, optimizer));
        };
        let model = checkpoint::load_model(&path, model)?;
        let optimizer = checkpoint::load_optimizer(&path, &model, optimizer, &self.device)?;
        self.metrics.truncate_after(saved.updates);
        self.earlier_s = saved.train_s;
        self.ctx.status.notes.push(format!("{RESUMED_FROM} {} (update {})", path.display(), saved.updates));
        // Stored now, so that a later attempt still knows of this one if it is stopped too.
        self.ctx.store.write_status(self.ctx.status)?;
        self.state = saved;
        Ok((model, optimizer))
    }

    fn run(mut self, mut model: TextToVideo<B>, mut optimizer: AdamWOptimizer<TextToVideo<B>, B>) -> Result<Ending> {
        let t = self.spec().training.clone();
        let loader = Loader::new(self.data.train.clone(), t.batch_size as usize).shuffle(self.ctx.plan.seed);
        let accum = t.grad_accum as usize;
        let updates_per_epoch = loader.num_batches().div_ceil(accum) as u64;
        let schedule = Schedule::new(&t.schedule, t.optimizer.lr, updates_per_epoch * t.epochs as u64);
        self.ctx.progress.set_length(schedule.total);
        self.ctx.progress.set_position(self.state.updates);
        let mut update_s = 0.0;

        for epoch in self.state.epoch..=t.epochs {
            let skip = if epoch == self.state.epoch { self.state.batch } else { 0 };
            let mut batches = loader.epoch(epoch as u64).skip(skip);
            let mut position = skip;
            loop {
                let window: Vec<HostBatch> = batches.by_ref().take(accum).collect();
                if window.is_empty() {
                    break;
                }
                if let Some(budget) = t.time_budget {
                    // Keep room for one more update, an evaluation and the checkpoint.
                    if self.elapsed() + 2.0 * update_s + self.last_eval_s > budget.0 {
                        (self.state.epoch, self.state.batch) = (epoch, position);
                        let note = format!(
                            "stopped by the time budget ({:.0} s) after {} of {} updates",
                            budget.0, self.state.updates, schedule.total
                        );
                        return self.finish_early(model, optimizer, note);
                    }
                }
                let began = Instant::now();
                let first_sample = (position * t.batch_size as usize) as u64;
                position += window.len();
                model = match self.update(model, &mut optimizer, window, &schedule, epoch, first_sample)? {
                    Ok(model) => model,
                    Err(reason) => {
                        self.metrics.save()?;
                        return Ok(Ending::Failed(reason));
                    }
                };
                update_s = began.elapsed().as_secs_f64();
                self.heartbeat()?;
            }
            (self.state.epoch, self.state.batch) = (epoch + 1, 0);
            let last = epoch == t.epochs;
            if epoch % self.spec().eval.every == 0 || last {
                self.evaluate(&model, &optimizer, epoch)?;
            }
            self.metrics.save()?;
            if epoch % t.checkpoint_every == 0 || last {
                self.checkpoint(&model, &optimizer, &checkpoint::periodic_name(self.state.updates))?;
            }
        }
        self.summarise(&model)?;
        Ok(Ending::Done)
    }

    /// One optimizer update over a window of micro-batches: gradients of the window's mean loss
    /// accumulated micro-batch by micro-batch, clipped by their global norm, one AdamW step.
    /// `Ok(Err(reason))` when the loss is not finite.
    fn update(
        &mut self,
        model: TextToVideo<B>,
        optimizer: &mut AdamWOptimizer<TextToVideo<B>, B>,
        window: Vec<HostBatch>,
        schedule: &Schedule,
        epoch: u32,
        mut first_sample: u64,
    ) -> Result<std::result::Result<TextToVideo<B>, String>> {
        let update = self.state.updates + 1;
        let samples: usize = window.iter().map(HostBatch::len).sum();
        let mut accumulator = GradientsAccumulator::<TextToVideo<B>>::new();
        let mut stats: Option<Tensor<Inner<B>, 1>> = None;
        let mut inject_oom = self.faults.oom_at_update == Some(update);
        for host in window {
            let n = host.len();
            self.accumulate(&model, host, samples, epoch, first_sample, &mut accumulator, &mut stats, &mut inject_oom)?;
            first_sample += n as u64;
        }
        let (grads, norm) = clip::clip_global_norm(&model, accumulator.grads(), self.spec().training.clip_norm);
        let lr = schedule.lr(update);
        let model = optimizer.step(lr, model, grads);
        self.state.updates = update;

        // One read-back per update: loss, mse, halting BCE, gradient norm.
        let values = Tensor::cat(vec![stats.expect("a non-empty window"), norm], 0)
            .into_data()
            .convert::<f64>()
            .to_vec::<f64>()
            .map_err(|e| anyhow!("reading the loss back: {e:?}"))?;
        let loss = if self.faults.nan_at_update == Some(update) { f64::NAN } else { values[0] };
        if !loss.is_finite() {
            return Ok(Err(format!("loss became {loss} at epoch {epoch}, update {update}; the last good checkpoint is kept")));
        }
        let wall = self.elapsed();
        let with_halting = self.metrics_halting();
        for (name, value) in [("loss", loss), ("mse", values[1]), ("halt_bce", values[2]), ("grad_norm", values[3]), ("lr", lr)] {
            if name != "halt_bce" || with_halting {
                self.metrics.push(epoch, update, "train", name, value, wall);
            }
        }
        self.ctx.progress.set_position(update);
        let message = format!("epoch {epoch}/{} loss {loss:.4}", self.spec().training.epochs);
        progress_line(&format!("update {update}/{} {message}", self.ctx.progress.length().unwrap_or(0)), wall);
        self.ctx.progress.set_message(message);
        Ok(Ok(model))
    }

    fn metrics_halting(&self) -> bool {
        let h = &self.spec().model.halting;
        h.kind != crate::spec::types::HaltingKind::None && h.loss_weight > 0.0
    }

    /// Backward one micro-batch, weighted by its share of the window's samples, into
    /// `accumulator`. Out of device memory, the micro-batch is split in halves and each half is
    /// done on its own (the same gradient, in two passes).
    #[allow(clippy::too_many_arguments)]
    fn accumulate(
        &mut self,
        model: &TextToVideo<B>,
        host: HostBatch,
        window_samples: usize,
        epoch: u32,
        first_sample: u64,
        accumulator: &mut GradientsAccumulator<TextToVideo<B>>,
        stats: &mut Option<Tensor<Inner<B>, 1>>,
        inject_oom: &mut bool,
    ) -> Result<()> {
        let attempt = catch_unwind(AssertUnwindSafe(|| {
            if std::mem::take(inject_oom) {
                panic!("out of memory (injected by TTV_FAULT)");
            }
            self.micro_batch(model, host.clone(), window_samples, epoch, first_sample)
        }));
        match attempt {
            Ok(result) => {
                let (grads, micro_stats) = result?;
                accumulator.accumulate(model, grads);
                *stats = Some(match stats.take() {
                    Some(s) => s + micro_stats,
                    None => micro_stats,
                });
                Ok(())
            }
            Err(panic) if is_out_of_memory(&panic) && host.len() > 1 => {
                self.oom_splits += 1;
                let (a, b) = host.split(host.len() / 2);
                let n_a = a.len() as u64;
                self.accumulate(model, a, window_samples, epoch, first_sample, accumulator, stats, inject_oom)?;
                self.accumulate(model, b, window_samples, epoch, first_sample + n_a, accumulator, stats, inject_oom)
            }
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Forward and backward of one micro-batch; returns its gradients and its weighted
    /// (loss, mse, halting BCE) as a `[3]` tensor on the device.
    fn micro_batch(
        &self,
        model: &TextToVideo<B>,
        host: HostBatch,
        window_samples: usize,
        epoch: u32,
        first_sample: u64,
    ) -> Result<(GradientsParams, Tensor<Inner<B>, 1>)> {
        let spec = self.spec();
        let weight = host.len() as f64 / window_samples as f64;
        let captions: Vec<&str> = host.captions.iter().map(String::as_str).collect();
        let (ids, mask) = self.tokenizer.batch::<B>(&captions, &self.device).map_err(anyhow::Error::msg)?;
        let batch = host.to_device::<B>(&self.device);
        let dims = [batch.videos.dims()[0], model.tokens, model.hidden];
        let start = Start::new(spec.training.objective, || {
            noise::noise::<B>(self.ctx.plan.seed, &format!("train-{epoch}"), first_sample, dims, &self.device)
        });
        let loss = batch_loss(model, ids, mask, batch.videos, start, spec.model.halting.loss_weight);
        let bce = loss.halting_bce.map(|b| b.inner()).unwrap_or_else(|| Tensor::zeros([1], &self.device));
        let stats = Tensor::cat(vec![loss.total.clone().inner(), loss.mse.inner(), bce], 0) * weight;
        let grads = GradientsParams::from_grads((loss.total * weight).backward(), model);
        Ok((grads, stats))
    }

    fn heartbeat(&mut self) -> Result<()> {
        if now() - self.last_heartbeat >= HEARTBEAT_S {
            self.last_heartbeat = now();
            self.ctx.status.heartbeat = self.last_heartbeat;
            self.ctx.store.write_status(self.ctx.status)?;
        }
        Ok(())
    }

    /// Eval metrics, FID/KID, prompt GIFs for `epoch`; a new best FID gets its own checkpoint.
    fn evaluate(&mut self, model: &TextToVideo<B>, optimizer: &AdamWOptimizer<TextToVideo<B>, B>, epoch: u32) -> Result<()> {
        let began = Instant::now();
        progress_line(&format!("evaluating after epoch {epoch}"), self.elapsed());
        let spec = self.ctx.plan.spec.clone();
        let valid = model.valid();
        let device = self.device.clone();
        let subset = eval::eval_subset(&self.data.eval, spec.eval.samples);
        let result: EvalResult = eval::evaluate(&valid, &self.tokenizer, &subset, self.ctx.plan.seed, &device)?;
        let (update, wall) = (self.state.updates, self.elapsed());
        let mut push = |name: &str, value: f64| self.metrics.push(epoch, update, "eval", name, value, wall);
        push("recon_mse", result.recon_mse);
        push("gen_mse", result.gen_mse);
        push("avg_steps", result.avg_steps);
        if let Some(acc) = result.halt_acc {
            push("halt_acc", acc);
        }
        let run_dir = self.ctx.store.run_dir(&self.ctx.plan.hash);
        let scores = self.fid.score(&run_dir, epoch, &result.target, &result.generated, &device)?;
        if scores.pending {
            self.ctx.status.results.insert("fid_pending".into(), 1.0);
        }
        let truth = clip_scores::Truth::of(&subset, spec.data.kind);
        let wanted = clip_scores::Wanted::of(&spec.eval.metrics);
        let clip = clip_scores::score(&result.target, &result.generated, &truth, wanted)?;
        for s in [&scores, &clip] {
            for (name, value) in &s.values {
                self.metrics.push(epoch, update, "eval", name, *value, wall);
            }
            for note in &s.notes {
                self.ctx.status.add_note(note.clone());
            }
        }
        if !spec.eval.prompts.is_empty() {
            let (clips, _) = eval::generate_prompts(&valid, &self.tokenizer, &spec.eval.prompts, self.ctx.plan.seed, &device)?;
            samples::write_prompt_gifs(&run_dir.join(format!("samples/epoch_{epoch}")), &spec.eval.prompts, &clips)?;
        }
        if let Some(fid) = scores.fid() {
            if self.state.best_fid.is_none_or(|best| fid < best) {
                self.state.best_fid = Some(fid);
                self.checkpoint(model, optimizer, checkpoint::BEST)?;
            }
        }
        self.last_eval_s = began.elapsed().as_secs_f64();
        Ok(())
    }

    fn checkpoint(&mut self, model: &TextToVideo<B>, optimizer: &AdamWOptimizer<TextToVideo<B>, B>, name: &str) -> Result<()> {
        self.state.train_s = self.elapsed();
        self.ckpt_bytes = checkpoint::save(&self.ckpt_dir, name, model, optimizer, &self.state)
            .with_context(|| format!("writing checkpoint {name}"))?;
        if name != checkpoint::BEST {
            checkpoint::prune(&self.ckpt_dir, name)?;
            if self.faults.abort_after_checkpoint == Some(self.state.updates) {
                eprintln!("TTV_FAULT: aborting after the checkpoint at update {}", self.state.updates);
                std::process::abort();
            }
        }
        Ok(())
    }

    /// Stop before the time budget runs out: evaluate what there is, checkpoint, summarise.
    fn finish_early(
        mut self,
        model: TextToVideo<B>,
        optimizer: AdamWOptimizer<TextToVideo<B>, B>,
        note: String,
    ) -> Result<Ending> {
        let epoch = self.state.epoch;
        self.evaluate(&model, &optimizer, epoch)?;
        self.metrics.save()?;
        self.checkpoint(&model, &optimizer, &checkpoint::periodic_name(self.state.updates))?;
        self.ctx.status.notes.push(note);
        self.ctx.status.results.insert("budget_stopped".into(), 1.0);
        self.summarise(&model)?;
        Ok(Ending::Done)
    }

    /// The summary row: final eval values, parameters, checkpoint size, memory, wall time,
    /// generation latency at batch 1 and 64.
    fn summarise(&mut self, model: &TextToVideo<B>) -> Result<()> {
        let train_s = self.elapsed();
        progress_line("measuring generation latency (batch 1 and 64)", train_s);
        // Training's peak first; then generation's own, measured from a reset.
        let train_peak = measure::peak_rss_bytes();
        let phase_measured = measure::reset_peak_rss();
        let valid = model.valid();
        let prompt = self.spec().eval.prompts.first().cloned().unwrap_or_else(|| "a red ball moving left to right".into());
        let b1 = measure::generation_seconds_per_clip(&valid, &self.tokenizer, &prompt, 1, 5, &self.device)?;
        let b64 = measure::generation_seconds_per_clip(&valid, &self.tokenizer, &prompt, 64, 1, &self.device)?;
        let infer_peak = phase_measured.then(measure::resident_peak_since_reset).flatten();
        let finals = self.metrics.last_eval();
        let results = &mut self.ctx.status.results;
        results.extend(finals);
        results.insert("params".into(), model.num_params() as f64);
        results.insert("ckpt_bytes".into(), self.ckpt_bytes as f64);
        results.insert("train_s".into(), train_s);
        results.insert("updates".into(), self.state.updates as f64);
        results.insert("gen_ms_b1".into(), b1 * 1e3);
        results.insert("gen_ms_b64".into(), b64 * 1e3);
        results.insert("oom_splits".into(), self.oom_splits as f64);
        if let Some(peak) = train_peak {
            results.insert("peak_mem_bytes".into(), peak);
        }
        if let Some(peak) = infer_peak {
            results.insert("peak_infer_mem_bytes".into(), peak);
        }
        if self.oom_splits > 0 {
            self.ctx
                .status
                .notes
                .push(format!("out of device memory {} time(s): micro-batches were split in halves", self.oom_splits));
        }
        Ok(())
    }
}

fn is_out_of_memory(panic: &Box<dyn std::any::Any + Send>) -> bool {
    let message =
        panic.downcast_ref::<String>().map(String::as_str).or_else(|| panic.downcast_ref::<&str>().copied()).unwrap_or("");
    let lower = message.to_lowercase();
    lower.contains("out of memory") || lower.contains("outofmemory")
}

/// Ending -> the run's stored state.
pub fn state_of(ending: &Ending) -> State {
    match ending {
        Ending::Done => State::Done,
        Ending::Failed(_) => State::Failed,
    }
}

/// With `TTV_PROGRESS=lines`, progress also goes to stderr as plain timestamped lines: the bars
/// are hidden when stderr is not a terminal (a batch job, the device machine), and a long first
/// step (kernels compiling) should still show where it is.
fn progress_line(what: &str, wall_s: f64) {
    static LINES: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *LINES.get_or_init(|| std::env::var("TTV_PROGRESS").is_ok_and(|v| v == "lines")) {
        eprintln!("[{wall_s:8.1} s] {what}");
    }
}
