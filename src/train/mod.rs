//! Training one run: the paper's schedule (AdamW, linear warmup, gradient accumulation, global
//! norm clipping), evaluation every `eval.every` epochs, checkpoints that resume exactly, and
//! the cost figures of the summary row.
//!
//! - [`step`]: one optimizer update (forward, backward, clip, AdamW step) over a window of
//!   micro-batches; [`graph`]: the same update recorded as a CUDA graph and replayed;
//!   [`data_parallel`]: the same update with its micro-batches split over several devices;
//!   [`loss`]: the objective of one micro-batch (pixel MSE + halting BCE).
//! - [`adamw`]: AdamW with its state on the device, updated in place; [`clip`]: clipping by
//!   the global gradient norm.
//! - [`schedule`]: the learning rate of each update.
//! - [`eval`]: eval-split metrics and prompt samples; [`fid`]: FID/KID on them; [`fvd`]: FVD;
//!   [`clip_scores`]: alignment and temporal coherence on them.
//! - [`checkpoint`]: safetensors model + optimizer moments + trainer position.
//! - [`noise`]: reproducible host-side noise; [`samples`]: clips as bytes and GIFs.
//! - [`measure`]: generation latency and peak memory; [`fault`]: fault injection for tests.

pub mod adamw;
pub mod checkpoint;
pub mod clip;
pub mod clip_scores;
pub mod data_parallel;
pub mod eval;
pub mod fault;
pub mod fid;
pub mod fvd;
pub mod graph;
pub mod loss;
pub mod measure;
pub mod noise;
pub mod samples;
pub mod schedule;
pub mod step;
pub mod table;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use burn::prelude::*;
use indicatif::ProgressBar;

use self::adamw::AdamW;
use self::checkpoint::TrainerState;
use self::data_parallel::Replicas;
use self::eval::EvalResult;
use self::fault::Faults;
use self::graph::CapturedStep;
use self::schedule::Schedule;
use self::step::{MicroBatch, StepStats, Stepper, split_on_oom};
use crate::data::batch::HostBatch;
use crate::data::loader::Loader;
use crate::data::{Data, LoadOptions};
use crate::model::{TextToVideo, TextTokenizer, build};
use crate::spec::RunPlan;
use crate::spec::types::TrainingSpec;
use crate::store::metrics::MetricsLog;
use crate::store::{RunDir, RunRecord, RunState};

/// Everything a run needs from the runner.
pub struct RunContext<'a> {
    pub plan: &'a RunPlan,
    pub load: LoadOptions,
    /// The run's status, lent by the runner: heartbeats, notes and the summary go through it.
    pub record: &'a mut RunRecord,
    /// Optimizer updates of this run; its message says which phase the run is in.
    pub progress: ProgressBar,
}

/// How a status note of a resumed attempt begins.
pub const RESUMED_FROM: &str = "resumed from";

struct Trainer<'a, 'c> {
    ctx: &'c mut RunContext<'a>,
    run_dir: RunDir,
    device: Device,
    data: Data,
    tokenizer: TextTokenizer,
    metrics: MetricsLog,
    state: TrainerState,
    fid: fid::FidJudge,
    fvd: fvd::FvdJudge,
    faults: Faults,
    /// Wall time at the start of this attempt, and the training seconds before it.
    started: Instant,
    earlier_s: f64,
    ckpt_bytes: u64,
    oom_splits: u64,
    /// Recorded updates per batch size, where the device records CUDA graphs.
    graphs: Option<HashMap<usize, CapturedStep>>,
    /// The other devices of a data-parallel run (`training.devices` > 1).
    replicas: Option<Replicas>,
}

/// Whether `training`'s time budget leaves no room, after `spent` seconds, for one more update,
/// an evaluation and the checkpoint (as long as the last ones took).
fn over_budget(training: &TrainingSpec, spent: f64, update_s: f64, eval_s: f64) -> bool {
    training.time_budget.is_some_and(|budget| spent + 2.0 * update_s + eval_s > budget.0)
}

/// Train, evaluate and measure the run in `ctx` on `device`, resuming from its newest
/// checkpoint that loads (the notes of earlier attempts stay); `done` when the schedule is
/// complete, `stopped` on the time budget. Errors (a diverged loss among them) fail the run.
pub fn train(ctx: &mut RunContext, on: crate::backend::Device) -> Result<RunState> {
    let devices = on.replicas(ctx.plan.spec.training.devices as usize)?;
    let device = &on.open()?;
    let spec = &ctx.plan.spec;
    let run_dir = ctx.record.dir().clone();
    // Metrics lost while checkpoints remain (damaged, or set aside as damaged): resuming would
    // leave a hole in the history, so the run restarts from scratch.
    let metrics = match run_dir.metrics(&ctx.plan.hash) {
        Ok(log) if !log.rows.is_empty() || checkpoint::newest(&run_dir.ckpt_dir()).is_none() => log,
        read => {
            let why = match read {
                Ok(_) if run_dir.metrics_path().exists() => format!("{} holds no rows", run_dir.metrics_path().display()),
                Ok(_) => format!("{} is missing", run_dir.metrics_path().display()),
                Err(e) => format!("{e:#}"),
            };
            ctx.record.note(format!("the metrics of earlier attempts are lost ({why}): restarted from scratch"));
            checkpoint::clear(&run_dir.ckpt_dir())?;
            MetricsLog::empty(&run_dir.metrics_path(), &ctx.plan.hash)
        }
    };
    if let Some((_, saved)) = checkpoint::newest(&run_dir.ckpt_dir())
        && over_budget(&spec.training, saved.train_s, saved.update_s, saved.eval_s)
    {
        // Stopped by this budget before: its last evaluation, checkpoint and notes stand.
        return Ok(RunState::Stopped);
    }
    // Unreadable inputs are the loader's to report, with its own message.
    ctx.record.set_data_fingerprint(crate::store::inputs::fingerprint(&spec.data, &ctx.load).ok().flatten());

    ctx.progress.set_message("loading data");
    let data = crate::data::load(&spec.data, &ctx.load)?;
    crate::data::write_preview(&data.train, 16, &run_dir.data_preview())?;
    ctx.record.summary().data_skipped = Some(data.skipped() as u64);

    device.seed(ctx.plan.seed);
    let autodiff = |device: &Device| match spec.training.gradient_checkpointing {
        true => device.clone().autodiff().gradient_checkpointing(),
        false => device.clone().autodiff(),
    };
    let model: TextToVideo = build(&spec.model_config().map_err(|e| anyhow!("model: {e}"))?, &autodiff(device));
    let optimizer = AdamW::new(&spec.training.optimizer, &model, 0, device);
    let tokenizer = TextTokenizer::gpt2(spec.model.text_encoder.max_len as usize).map_err(anyhow::Error::msg)?;
    let fid = fid::FidJudge::new(&spec.eval);
    let fvd = fvd::FvdJudge::new(&spec.eval);
    let state = TrainerState::start(ctx.plan.hash.clone());
    let mut trainer = Trainer {
        ctx,
        run_dir,
        device: device.clone(),
        data,
        tokenizer,
        metrics,
        state,
        fid,
        fvd,
        faults: Faults::from_env(),
        started: Instant::now(),
        earlier_s: 0.0,
        ckpt_bytes: 0,
        oom_splits: 0,
        graphs: crate::backend::records_graphs(device).then(HashMap::new),
        replicas: None,
    };
    let (model, optimizer) = trainer.resume(model, optimizer)?;
    if let [_, others @ ..] = devices.as_slice()
        && !others.is_empty()
    {
        let others = others.iter().map(|d| d.open().map(|d| autodiff(&d))).collect::<Result<Vec<_>>>()?;
        trainer.replicas = Some(Replicas::new(&model, others));
        if trainer.graphs.take().is_some() {
            trainer.ctx.record.note(format!("data-parallel updates over {} devices run eagerly", devices.len()));
        }
    }
    trainer.run(model, optimizer)
}

impl Trainer<'_, '_> {
    fn spec(&self) -> &crate::spec::types::RunSpec {
        &self.ctx.plan.spec
    }

    fn elapsed(&self) -> f64 {
        self.earlier_s + self.started.elapsed().as_secs_f64()
    }

    /// Continue from the newest checkpoint that loads, or start afresh (dropping metrics an
    /// earlier attempt logged past its last checkpoint); the notes say which and why.
    fn resume(&mut self, model: TextToVideo, mut optimizer: AdamW) -> Result<(TextToVideo, AdamW)> {
        let resumed = checkpoint::resume(&self.run_dir.ckpt_dir(), model, &mut optimizer)?;
        for note in resumed.notes {
            self.ctx.record.note(note);
        }
        let Some((path, saved, bytes)) = resumed.from else {
            self.metrics.rows.clear();
            self.ctx.record.save()?;
            return Ok((resumed.model, optimizer));
        };
        self.metrics.truncate_after(saved.updates);
        self.earlier_s = saved.train_s;
        self.ckpt_bytes = bytes;
        self.ctx.record.note(format!("{RESUMED_FROM} {} (update {})", path.display(), saved.updates));
        // Stored now, so that a later attempt still knows of this one if it is stopped too.
        self.ctx.record.save()?;
        self.state = saved;
        Ok((resumed.model, optimizer))
    }

    fn run(mut self, mut model: TextToVideo, mut optimizer: AdamW) -> Result<RunState> {
        let t = self.spec().training.clone();
        let loader = Loader::new(self.data.train.clone(), t.batch_size as usize).shuffle(self.ctx.plan.seed);
        let accum = t.grad_accum as usize;
        let updates_per_epoch = loader.num_batches().div_ceil(accum) as u64;
        let schedule = Schedule::new(&t.schedule, t.optimizer.lr, updates_per_epoch * t.epochs as u64);
        self.ctx.progress.set_length(schedule.total);
        self.ctx.progress.set_position(self.state.updates);
        self.ctx.progress.set_message(format!("epoch {}/{} first update", self.state.epoch.min(t.epochs), t.epochs));

        for epoch in self.state.epoch..=t.epochs {
            let skip = if epoch == self.state.epoch { self.state.batch } else { 0 };
            let mut batches = loader.epoch(epoch as u64).skip(skip);
            let mut position = skip;
            loop {
                let window: Vec<HostBatch> = batches.by_ref().take(accum).collect();
                if window.is_empty() {
                    break;
                }
                if over_budget(&t, self.elapsed(), self.state.update_s, self.state.eval_s) {
                    (self.state.epoch, self.state.batch) = (epoch, position);
                    return self.stop_on_budget(model, optimizer, schedule.total);
                }
                if crate::signals::requested() {
                    (self.state.epoch, self.state.batch) = (epoch, position);
                    return self.stop_on_signal(&model, &optimizer, schedule.total);
                }
                let began = Instant::now();
                let first_sample = (position * t.batch_size as usize) as u64;
                position += window.len();
                (model, optimizer) =
                    self.update(model, optimizer, micro_batches(window, epoch, first_sample), &schedule, epoch)?;
                self.state.update_s = began.elapsed().as_secs_f64();
                self.ctx.record.heartbeat()?;
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
        Ok(RunState::Done)
    }

    /// One optimizer update: replayed from its recorded graph where the device records them
    /// ([`CapturedStep`]), over the devices of a data-parallel run ([`Replicas`]), else eagerly
    /// ([`Stepper::step`]) with out-of-memory splitting and the injected faults around it; logs
    /// the update's statistics. A loss that is not finite is an error.
    fn update(
        &mut self,
        mut model: TextToVideo,
        mut optimizer: AdamW,
        window: Vec<MicroBatch>,
        schedule: &Schedule,
        epoch: u32,
    ) -> Result<(TextToVideo, AdamW)> {
        let update = self.state.updates + 1;
        let lr = schedule.lr(update);
        let stepper = Stepper {
            spec: &self.ctx.plan.spec,
            seed: self.ctx.plan.seed,
            tokenizer: &self.tokenizer,
            device: &self.device,
            latent: [model.tokens, model.hidden],
        };
        let mut inject_oom = self.faults.oom_at(update);
        let mut splits = 0;
        if let Some(replicas) = &mut self.replicas {
            let (model, stats) = replicas.step(&stepper, model, &mut optimizer, window, lr)?;
            return self.after_update(update, epoch, lr, stats).map(|()| (model, optimizer));
        }
        let mut replayed = None;
        if let (Some(graphs), [micro], false) = (&mut self.graphs, window.as_slice(), inject_oom) {
            let inputs = stepper.inputs(micro)?;
            let shape = micro.host.len();
            if let Entry::Vacant(slot) = graphs.entry(shape) {
                let (m, o, recorded) = CapturedStep::capture(model, optimizer, inputs.clone(), stepper.spec);
                (model, optimizer) = (m, o);
                match recorded {
                    Ok(step) => _ = slot.insert(step),
                    Err(reason) => {
                        self.ctx.record.note(format!("training updates ran eagerly: {reason}"));
                        self.graphs = None;
                    }
                }
            }
            if let Some(step) = self.graphs.as_mut().and_then(|g| g.get_mut(&shape)) {
                replayed = Some(step.replay(&mut optimizer, inputs, lr)?);
            }
        }
        let (model, stats) = match replayed {
            Some(stats) => (model, stats),
            None => {
                let copies = optimizer.copies;
                let stepped = stepper.step(model, &mut optimizer, window, lr, |micro, work| {
                    splits += split_on_oom(micro, &mut |part| {
                        if std::mem::take(&mut inject_oom) {
                            panic!("out of memory (injected by TTV_FAULT)");
                        }
                        work(part)
                    })?;
                    Ok(())
                })?;
                if optimizer.copies > copies && self.graphs.take().is_some_and(|g| !g.is_empty()) {
                    // The weights moved to new buffers: recorded updates would train stale ones.
                    self.ctx.record.note("recorded training updates dropped: an update did not write in place".into());
                }
                stepped
            }
        };
        self.oom_splits += splits;
        self.after_update(update, epoch, lr, stats).map(|()| (model, optimizer))
    }

    /// Count and log update `update`; a loss that is not finite is an error.
    fn after_update(&mut self, update: u64, epoch: u32, lr: f64, stats: StepStats) -> Result<()> {
        self.state.updates = update;
        let stats = self.faults.after_step(update, stats);
        if !stats.loss.is_finite() {
            self.metrics.save()?;
            bail!("loss became {} at epoch {epoch}, update {update}; the last good checkpoint is kept", stats.loss);
        }
        self.log_update(epoch, update, lr, &stats);
        Ok(())
    }

    fn log_update(&mut self, epoch: u32, update: u64, lr: f64, stats: &StepStats) {
        let wall = self.elapsed();
        let h = &self.spec().model.halting;
        let with_halting = h.kind != crate::spec::types::HaltingKind::None && h.loss_weight > 0.0;
        let values =
            [("loss", stats.loss), ("mse", stats.mse), ("halt_bce", stats.halt_bce), ("grad_norm", stats.grad_norm), ("lr", lr)];
        for (name, value) in values {
            if name != "halt_bce" || with_halting {
                self.metrics.push(epoch, update, "train", name, value, wall);
            }
        }
        self.ctx.progress.set_position(update);
        self.ctx.progress.set_message(format!("epoch {epoch}/{} loss {:.4}", self.spec().training.epochs, stats.loss));
    }

    /// Eval metrics, FID/KID/FVD, prompt GIFs for `epoch`; a new best FID gets its own checkpoint.
    fn evaluate(&mut self, model: &TextToVideo, optimizer: &AdamW, epoch: u32) -> Result<()> {
        let began = Instant::now();
        self.ctx.progress.set_message(format!("epoch {epoch}/{} evaluating", self.spec().training.epochs));
        // Training's activations are gone: give their pages back before evaluation takes its own.
        self.device.memory_cleanup();
        let spec = self.ctx.plan.spec.clone();
        let valid = model.valid();
        let device = self.device.clone();
        let subset = eval::eval_subset(&self.data.eval, spec.eval.samples);
        let result: EvalResult = eval::evaluate(&valid, &self.tokenizer, &subset, self.ctx.plan.seed, &device)?;
        self.faults.during_eval(epoch);
        let (update, wall) = (self.state.updates, self.elapsed());
        let mut push = |name: &str, value: f64| self.metrics.push(epoch, update, "eval", name, value, wall);
        push("recon_mse", result.recon_mse);
        push("gen_mse", result.gen_mse);
        push("avg_steps", result.avg_steps);
        if let Some(acc) = result.halt_acc {
            push("halt_acc", acc);
        }
        let scores = self.fid.score(&self.run_dir, epoch, &result.target, &result.generated, &device)?;
        let video = self.fvd.score(&result.target, &result.generated, &device)?;
        if scores.pending || video.pending {
            self.ctx.record.summary().fid_pending = true;
        }
        let truth = clip_scores::Truth::of(&subset, spec.data.kind);
        let wanted = clip_scores::Wanted::of(&spec.eval.metrics);
        let clip = clip_scores::score(&result.target, &result.generated, &truth, wanted)?;
        for s in [&scores, &video, &clip] {
            for (name, value) in &s.values {
                self.metrics.push(epoch, update, "eval", name, *value, wall);
            }
            for note in &s.notes {
                self.ctx.record.note(note.clone());
            }
        }
        if !spec.eval.prompts.is_empty() {
            let (clips, _) = eval::generate_prompts(&valid, &self.tokenizer, &spec.eval.prompts, self.ctx.plan.seed, &device)?;
            samples::write_prompt_gifs(&self.run_dir.samples_at(epoch), &spec.eval.prompts, &clips)?;
        }
        if let Some(fid) = scores.fid()
            && self.state.best_fid.is_none_or(|best| fid < best)
        {
            self.state.best_fid = Some(fid);
            self.checkpoint(model, optimizer, checkpoint::BEST)?;
        }
        self.state.eval_s = began.elapsed().as_secs_f64();
        self.device.memory_cleanup();
        Ok(())
    }

    fn checkpoint(&mut self, model: &TextToVideo, optimizer: &AdamW, name: &str) -> Result<()> {
        self.state.train_s = self.elapsed();
        let dir = self.run_dir.ckpt_dir();
        self.ckpt_bytes = checkpoint::save(&dir, name, model, optimizer, &self.state)?;
        // What a resume would continue from: shown by `ttv-run status` while the run works.
        let summary = self.ctx.record.summary();
        (summary.updates, summary.ckpt_bytes) = (Some(self.state.updates), Some(self.ckpt_bytes));
        if name != checkpoint::BEST {
            checkpoint::prune(&dir, name)?;
            self.faults.after_checkpoint(self.state.updates);
        }
        Ok(())
    }

    /// Stop before the time budget runs out: evaluate what there is, checkpoint, summarise.
    fn stop_on_budget(mut self, model: TextToVideo, optimizer: AdamW, total_updates: u64) -> Result<RunState> {
        let epoch = self.state.epoch;
        self.evaluate(&model, &optimizer, epoch)?;
        self.metrics.save()?;
        self.checkpoint(&model, &optimizer, &checkpoint::periodic_name(self.state.updates))?;
        let budget = self.spec().training.time_budget.map_or(0.0, |b| b.0);
        let budget = humantime::format_duration(Duration::from_secs(budget.round() as u64));
        let note = format!("stopped by the time budget ({budget}) after {} of {total_updates} updates", self.state.updates);
        self.ctx.record.note(note);
        self.summarise(&model)?;
        Ok(RunState::Stopped)
    }

    /// Stop at a signal: keep the metrics, checkpoint where training stands (a rerun resumes
    /// there), and say so.
    fn stop_on_signal(mut self, model: &TextToVideo, optimizer: &AdamW, total_updates: u64) -> Result<RunState> {
        self.metrics.save()?;
        self.checkpoint(model, optimizer, &checkpoint::periodic_name(self.state.updates))?;
        self.ctx.record.note(format!("interrupted by a signal after {} of {total_updates} updates", self.state.updates));
        Ok(RunState::Interrupted)
    }

    /// The summary row: final eval values, parameters, checkpoint size, memory, wall time,
    /// generation latency at batch 1 and 64.
    fn summarise(&mut self, model: &TextToVideo) -> Result<()> {
        let train_s = self.elapsed();
        self.ctx.progress.set_message("measuring generation latency (batch 1 and 64)");
        // Training's peak first; then generation's own, measured from a reset.
        let train_peak = measure::peak_rss_bytes();
        let phase_measured = measure::reset_peak_rss();
        let valid = model.valid();
        let prompt = self.spec().eval.prompts.first().cloned().unwrap_or_else(|| "a red ball moving left to right".into());
        let b1 = measure::generation_seconds_per_clip(&valid, &self.tokenizer, &prompt, 1, 5, &self.device)?;
        let b64 = measure::generation_seconds_per_clip(&valid, &self.tokenizer, &prompt, 64, 1, &self.device)?;
        let infer_peak = phase_measured.then(measure::resident_peak_since_reset).flatten();
        let finals = self.metrics.last_eval();
        let summary = self.ctx.record.summary();
        summary.eval.extend(finals);
        summary.params = Some(model.num_params() as u64);
        summary.ckpt_bytes = Some(self.ckpt_bytes);
        summary.train_s = Some(train_s);
        summary.updates = Some(self.state.updates);
        summary.gen_ms_b1 = Some(b1 * 1e3);
        summary.gen_ms_b64 = Some(b64 * 1e3);
        summary.oom_splits = Some(self.oom_splits);
        summary.peak_mem_bytes = train_peak.or(summary.peak_mem_bytes);
        summary.peak_infer_mem_bytes = infer_peak.or(summary.peak_infer_mem_bytes);
        if self.oom_splits > 0 {
            let note = format!("out of device memory {} time(s): micro-batches were split in halves", self.oom_splits);
            self.ctx.record.note(note);
        }
        Ok(())
    }
}

/// The micro-batches of one update, the first starting at sample `first_sample` of `epoch`.
fn micro_batches(window: Vec<HostBatch>, epoch: u32, mut first_sample: u64) -> Vec<MicroBatch> {
    let update_samples = window.iter().map(HostBatch::len).sum();
    window
        .into_iter()
        .map(|host| {
            let micro = MicroBatch { host, epoch, first_sample, update_samples };
            first_sample += micro.host.len() as u64;
            micro
        })
        .collect()
}
