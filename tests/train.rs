//! Training end to end on the CPU with tiny configurations (hidden 32, 4 heads, one block per
//! stack, 8-10 shapes clips): the loss goes down for both families, gradient accumulation equals
//! the big batch, checkpoints resume exactly after a hard kill, divergence and out-of-memory are
//! handled, FID is kept pending without weights and computed later, alignment and temporal
//! coherence are scored in training and afterwards (`ttv-run score`), `generate` renders a GIF,
//! and a model trained from noise generates the clip its caption asks for.
//!
//! Faults are injected through `TTV_FAULT` into a spawned `ttv-run`, so the real binary's code
//! paths are what is tested.

mod common;

use std::path::{Path, PathBuf};

use burn::optim::GradientsParams;
use burn::prelude::*;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use ttv::data::{LoadOptions, load};
use ttv::model::precision::Compute;
use ttv::model::{TextToVideo, TextTokenizer, build};
use ttv::spec::ModelConfig;
use ttv::spec::types::{
    DataSpec, Family, HaltingKind, Interaction, ModelSpec, NormPlacement, OptimizerSpec, RunSpec, TextEncoderSpec,
};
use ttv::store::metrics::{MetricRow, MetricsLog};
use ttv::store::{RunDir, RunState, Status, Store};
use ttv::train::adamw::AdamW;
use ttv::train::loss::{Start, batch_loss};

use common::{NO_WEIGHTS, TINY, text, ttv_run};

/// The CPU device's random stream is one per process: the in-process tests that seed it and then
/// draw weights from it take turns, so that a test running beside them cannot move their draws.
static DEVICE_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A fresh folder with `spec.yaml` holding `spec`.
fn workspace(spec: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.yaml");
    std::fs::write(&path, spec).unwrap();
    (dir, path)
}

/// The one run of the spec in `dir`: its directory and status.
fn the_run(dir: &Path) -> (PathBuf, Status) {
    let runs: Vec<PathBuf> = std::fs::read_dir(dir.join("registry/runs")).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let status = RunDir::new(&runs[0]).read_status().unwrap();
    (runs[0].clone(), status)
}

/// Metric rows without wall times (which differ between attempts), in a canonical order.
fn values(run_dir: &Path) -> Vec<(u32, u64, String, String, f64)> {
    let log = MetricsLog::open(&run_dir.join("metrics.parquet"), "x").unwrap();
    let mut rows: Vec<_> =
        log.rows.iter().map(|r: &MetricRow| (r.epoch, r.step, r.split.clone(), r.metric.clone(), r.value)).collect();
    rows.sort_by(|a, b| (a.1, &a.2, &a.3).cmp(&(b.1, &b.2, &b.3)));
    rows
}

fn metric(rows: &[(u32, u64, String, String, f64)], split: &str, name: &str) -> Vec<f64> {
    rows.iter().filter(|r| r.2 == split && r.3 == name).map(|r| r.4).collect()
}

#[test]
fn a_run_trains_evaluates_checkpoints_and_prints_table_ii() {
    let (dir, spec) = workspace(TINY);
    let out = ttv_run(dir.path(), &[spec.to_str().unwrap()], NO_WEIGHTS);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("recon MSE") && stdout.contains("avg steps"), "Table II printed:\n{stdout}");

    let (run_dir, status) = the_run(dir.path());
    assert_eq!(status.state, RunState::Done, "{:?}", status.error);
    let rows = values(&run_dir);
    // 2 updates per epoch x 3 epochs; warmup over 2 updates: lr 5e-4 then 1e-3 from update 2.
    assert_eq!(metric(&rows, "train", "lr"), vec![5e-4, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3]);
    assert_eq!(metric(&rows, "eval", "recon_mse").len(), 3, "one evaluation per epoch");
    let steps = metric(&rows, "eval", "avg_steps");
    assert!(steps.iter().all(|s| (1.0..=2.0).contains(s)), "{steps:?}");
    for key in ["params", "ckpt_bytes", "train_s", "gen_ms_b1", "gen_ms_b64", "peak_mem_bytes", "recon_mse"] {
        assert!(status.summary.get(key).is_some_and(|v| v > 0.0), "{key} in {:?}", status.summary);
    }
    // FID was not asked for: nothing pending, but the eval clips are kept anyway.
    assert!(!status.summary.fid_pending);
    assert!(run_dir.join("eval/target.safetensors").is_file() && run_dir.join("eval/epoch_3.safetensors").is_file());
    let gifs = run_dir.join("samples/epoch_3");
    assert!(gifs.join("00.gif").is_file() && gifs.join("01.gif").is_file());
    assert_eq!(std::fs::read_to_string(gifs.join("prompts.txt")).unwrap().lines().count(), 2);

    // The two newest checkpoints (the previous one for a damaged newest), complete; and the index row.
    let mut ckpts: Vec<String> =
        std::fs::read_dir(run_dir.join("ckpt")).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into()).collect();
    ckpts.sort();
    assert_eq!(ckpts, ["update-00000004", "update-00000006"]);
    assert!(dir.path().join("registry/index.parquet").is_file());

    // `generate` from the checkpoint: a 128x128 GIF of 4 frames.
    let gif = dir.path().join("out.gif");
    let short = run_dir.file_name().unwrap().to_str().unwrap()[..8].to_string();
    let out = ttv_run(
        dir.path(),
        &["generate", "--run", &short, "a red ball moving left to right", "-o", gif.to_str().unwrap(), "--steps", "1"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 step(s)"), "{}", text(&out));
    let mut decoder = gif::DecodeOptions::new().read_info(std::fs::File::open(&gif).unwrap()).unwrap();
    assert_eq!((decoder.width(), decoder.height()), (128, 128));
    let mut frames = 0;
    while decoder.read_next_frame().unwrap().is_some() {
        frames += 1;
    }
    assert_eq!(frames, 4);
    let bad = ttv_run(dir.path(), &["generate", "--run", "ffffff", "x"], &[]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("no run ffffff"), "{}", text(&bad));
    // Sampling steps are a flow-matching run's; this one generates in one reasoning loop.
    let bad = ttv_run(dir.path(), &["generate", "--run", &short, "a red ball", "--sampling-steps", "2"], &[]);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && stderr.contains("--sampling-steps 2") && stderr.contains("objective paper"),
        "{}",
        text(&bad)
    );
}

/// TINY trained by flow matching (3 Euler steps at generation), on the held-out split with
/// every nuisance factor of the shapes generator on.
fn flow_spec() -> String {
    TINY.replace(
        "data: {kind: shapes, samples: 10, eval_fraction: 0.2, frames: 4, height: 16, width: 16}",
        "data:\n  {kind: shapes, samples: 10, eval_fraction: 0.2, frames: 4, height: 16, width: 16, split: heldout,\n   \
         shapes: {random_position: true, random_size: true, random_speed: true}}",
    )
    .replace("  grad_accum: 1\n", "  grad_accum: 1\n  objective: flow_matching\n  flow: {sampling_steps: 3}\n")
    .replace("metrics: [recon_mse", "metrics: [alignment, temporal_coherence, recon_mse")
}

/// A flow-matching run trains, evaluates and checkpoints through `ttv-run`; killed after a
/// checkpoint it resumes to exactly the metrics of the uninterrupted run; `generate` renders
/// from its checkpoint in the run's or the asked number of Euler steps.
#[test]
fn a_flow_matching_run_trains_resumes_exactly_and_generates() {
    let spec = flow_spec();
    assert!(spec.contains("objective: flow_matching") && spec.contains("split: heldout"), "{spec}");
    let (whole, path) = workspace(&spec);
    let out = ttv_run(whole.path(), &[path.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let (run_dir, status) = the_run(whole.path());
    assert_eq!(status.state, RunState::Done, "{:?}", status.error);
    let rows = values(&run_dir);
    assert_eq!(metric(&rows, "train", "loss").len(), 6);
    assert!(metric(&rows, "train", "loss").iter().all(|l| l.is_finite() && *l > 0.0), "{rows:?}");
    // Reasoning steps per Euler step, on the same 1..=K scale as the other objectives.
    let steps = metric(&rows, "eval", "avg_steps");
    assert!(steps.len() == 3 && steps.iter().all(|s| (1.0..=2.0).contains(s)), "{steps:?}");
    for name in ["recon_mse", "gen_mse", "alignment", "temporal_mse"] {
        let v = metric(&rows, "eval", name);
        assert!(v.len() == 3 && v.iter().all(|v| v.is_finite()), "{name}: {v:?}");
    }
    assert!(run_dir.join("samples/epoch_3/01.gif").is_file());
    let params = status.summary.params.unwrap();

    let (broken, path_b) = workspace(&spec);
    let out = ttv_run(broken.path(), &[path_b.to_str().unwrap()], &[("TTV_FAULT", "abort-after-checkpoint=2")]);
    assert!(!out.status.success(), "the fault aborts the process: {}", text(&out));
    let out = ttv_run(broken.path(), &[path_b.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let (resumed_dir, resumed) = the_run(broken.path());
    assert_eq!(resumed.state, RunState::Done);
    assert!(resumed.notes.iter().any(|n| n.starts_with("resumed from")), "{:?}", resumed.notes);
    assert_eq!(values(&resumed_dir), rows, "resumed == uninterrupted, exactly");

    // The model trained has the time embedding the other objectives' models lack.
    let run = &ttv::spec::plan(&path, &[]).unwrap().runs[0].spec;
    let flow_params = ttv::spec::budget::param_count(&run.model_config().unwrap());
    let paper_params = ttv::spec::budget::param_count(&ModelConfig::new(&run.model, &run.data).unwrap());
    assert_eq!(params, flow_params);
    assert_eq!(flow_params - paper_params, (2 * ttv::model::time_embedding::FREQUENCIES * 32 + 32) as u64);

    let short = &status.hash[..8];
    let gif = whole.path().join("flow.gif");
    for (extra, printed) in [(None, "3 sampling steps"), (Some("5"), "5 sampling steps")] {
        let mut args = vec!["generate", "--run", short, "a red ball moving left to right", "-o", gif.to_str().unwrap()];
        args.extend(extra.iter().flat_map(|n| ["--sampling-steps", *n]));
        let out = ttv_run(whole.path(), &args, &[]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains(printed), "{}", text(&out));
        assert!(gif.is_file());
    }
}

#[test]
fn killed_after_a_checkpoint_the_run_resumes_to_the_same_metrics() {
    let (whole, spec_a) = workspace(TINY);
    let out = ttv_run(whole.path(), &[spec_a.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));

    let (broken, spec_b) = workspace(TINY);
    let out = ttv_run(broken.path(), &[spec_b.to_str().unwrap()], &[("TTV_FAULT", "abort-after-checkpoint=2")]);
    assert!(!out.status.success(), "the fault aborts the process: {}", text(&out));
    let (run_dir, status) = the_run(broken.path());
    assert_eq!(status.state, RunState::Running, "the dead runner left its claim");
    assert_eq!(metric(&values(&run_dir), "train", "loss").len(), 2, "metrics saved up to the checkpoint");

    // Stopped a second time, after the next checkpoint: both resumes stay in the notes.
    // The dead runner was on this host: its claim is freed at once.
    let out = ttv_run(broken.path(), &[spec_b.to_str().unwrap()], &[("TTV_FAULT", "abort-after-checkpoint=4")]);
    assert!(!out.status.success(), "the fault aborts the process: {}", text(&out));
    let out = ttv_run(broken.path(), &[spec_b.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let (run_dir, status) = the_run(broken.path());
    assert_eq!(status.state, RunState::Done);
    let resumed: Vec<&String> = status.notes.iter().filter(|n| n.starts_with("resumed from")).collect();
    assert!(resumed.len() == 2 && resumed[0].ends_with("(update 2)") && resumed[1].ends_with("(update 4)"), "{:?}", status.notes);
    assert_eq!(values(&run_dir), values(&the_run(whole.path()).0), "resumed == uninterrupted, exactly");
}

/// A run that reaches `training.time_budget` is `stopped` (not `done`) with a checkpoint; run
/// again under the same budget, it resumes and stops at once, keeping what it had.
#[test]
fn a_run_stopped_by_its_time_budget_is_stopped_and_stops_again_under_the_same_budget() {
    let spec = TINY
        .replace("epochs: 3", "epochs: 1")
        .replace("  checkpoint_every: 1\n", "  checkpoint_every: 1\n  time_budget: 1.0e-9\n");
    let (dir, path) = workspace(&spec);
    let out = ttv_run(dir.path(), &[path.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).lines().any(|l| l.ends_with(" stopped")), "{}", text(&out));
    let (run_dir, status) = the_run(dir.path());
    assert_eq!(status.state, RunState::Stopped, "{:?}", status.error);
    assert!(status.notes.iter().any(|n| n.starts_with("stopped by the time budget")), "{:?}", status.notes);
    assert!(run_dir.join("ckpt/update-00000000/model.safetensors").is_file());
    let before = values(&run_dir);

    let out = ttv_run(dir.path(), &[path.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let (_, again) = the_run(dir.path());
    assert_eq!(again.state, RunState::Stopped);
    assert_eq!(again.notes, status.notes, "the stop of the first attempt stands");
    assert_eq!(values(&run_dir), before);
    let dry = ttv_run(dir.path(), &[path.to_str().unwrap(), "--dry-run"], &[]);
    assert!(String::from_utf8_lossy(&dry.stdout).lines().nth(2).is_some_and(|l| l.ends_with("stopped")), "{}", text(&dry));
}

/// `training.precision: bf16` trains to the end with finite losses that fall, its first update's
/// loss within bf16 rounding of the fp32 run's from the same seed (same weights, same batch).
#[test]
fn a_bf16_run_trains_like_its_fp32_twin() {
    let mut losses = Vec::new();
    for precision in ["fp32", "bf16"] {
        let spec = TINY
            .replace("grad_accum: 1", &format!("grad_accum: 1\n  precision: {precision}"))
            .replace("metrics: [recon_mse, gen_mse, avg_steps, halting_accuracy]", "metrics: [recon_mse]");
        let (dir, path) = workspace(&spec);
        let out = ttv_run(dir.path(), &[path.to_str().unwrap()], NO_WEIGHTS);
        assert!(out.status.success(), "{precision}: {}", text(&out));
        let (run_dir, status) = the_run(dir.path());
        assert_eq!(status.state, RunState::Done, "{precision}: {:?}", status.error);
        let loss = metric(&values(&run_dir), "train", "loss");
        assert_eq!(loss.len(), 6, "{precision}: {loss:?}");
        assert!(loss.iter().all(|l| l.is_finite()), "{precision}: {loss:?}");
        losses.push(loss);
    }
    // Other clips each update: the losses go up and down with the batch, so the fall is checked
    // on a fixed batch below.
    let (fp32, bf16) = (&losses[0], &losses[1]);
    let rel = (bf16[0] - fp32[0]).abs() / fp32[0].abs();
    assert!(rel > 0.0 && rel < 2e-2, "first update: fp32 {} vs bf16 {}: {rel:e}", fp32[0], bf16[0]);
}

/// bf16 products on one fixed batch of 8 clips, for both families: the loss falls well below
/// where it started, and starts within bf16 rounding of the fp32 model's from the same weights.
#[test]
fn the_bf16_loss_decreases_on_a_fixed_batch() {
    let _rng = DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
    for family in [Family::Paper, Family::Reference] {
        let (model_spec, data_spec) = fixed_batch_specs(family);
        let device = ttv::backend::cpu().autodiff();
        let config = ModelConfig::new(&model_spec, &data_spec).unwrap();
        device.seed(0);
        let fp32: TextToVideo = build(&config, &device);
        // The same weights: parameters initialise lazily, on first use, so copy them over.
        let mut store = SafetensorsStore::from_bytes(None);
        fp32.save_into(&mut store).unwrap();
        let mut model: TextToVideo = build(&config.with_compute(Compute::Bf16), &device);
        model.load_from(&mut SafetensorsStore::from_bytes(Some(store.get_bytes().unwrap()))).unwrap();
        let data = load(&data_spec, &LoadOptions::default()).unwrap();
        let batch = ttv::data::loader::Loader::new(data.train, 8).epoch(0).next().unwrap();
        let captions: Vec<&str> = batch.captions.iter().map(String::as_str).collect();
        let (ids, mask) = TextTokenizer::gpt2(8).unwrap().batch(&captions, &device).unwrap();
        let videos = batch.to_device(&device).videos;
        let weight = model_spec.halting.loss_weight;
        let loss =
            |model: &TextToVideo| batch_loss(model, ids.clone(), mask.clone(), videos.clone(), Start::EncodedTarget, weight);
        let reference = loss(&fp32).mse.into_scalar::<f32>();
        let mut optimizer = AdamW::new(&small_decay(), &model, 0, &device);
        optimizer.set_lr(3e-3);
        let mut losses = Vec::new();
        for _ in 0..40 {
            let loss = loss(&model);
            losses.push(loss.mse.clone().into_scalar::<f32>());
            let grads = GradientsParams::from_grads(loss.total.backward(), &model);
            model = optimizer.step(model, grads);
        }
        let (first, last) = (losses[0], *losses.last().unwrap());
        let rel = (first - reference).abs() / reference;
        assert!(rel > 0.0 && rel < 2e-2, "{family:?}: first MSE: fp32 {reference} vs bf16 {first}: {rel:e}");
        assert!(losses.iter().all(|l| l.is_finite()) && last < 0.8 * first, "{family:?}: MSE {first} -> {last}: {losses:?}");
    }
}

#[test]
fn gradient_accumulation_of_2x4_equals_a_batch_of_8() {
    let one = TINY.replace("batch_size: 4", "batch_size: 8").replace("epochs: 3", "epochs: 1");
    let two = TINY.replace("grad_accum: 1", "grad_accum: 2").replace("epochs: 3", "epochs: 1");
    let mut seen = Vec::new();
    for spec in [one, two] {
        let (dir, path) = workspace(&spec);
        let out = ttv_run(dir.path(), &[path.to_str().unwrap()], &[]);
        assert!(out.status.success(), "{}", text(&out));
        let rows = values(&the_run(dir.path()).0);
        seen.push((metric(&rows, "train", "loss"), metric(&rows, "train", "grad_norm")));
    }
    assert_eq!(seen[0].0.len(), 1, "one update per epoch either way");
    for (a, b) in [(&seen[0].0, &seen[1].0), (&seen[0].1, &seen[1].1)] {
        // Equal up to f32 rounding: the CPU GEMM tiles a batch of 8 and one of 4 differently
        // (burn-flex: ~3e-5 on the loss). A wrong weighting of the micro-batches is off by far more.
        let rel = (a[0] - b[0]).abs() / a[0].abs();
        assert!(rel < 1e-4, "{a:?} vs {b:?}: {rel:e}");
    }
}

#[test]
fn data_parallel_training_matches_one_device_and_resumes_exactly() {
    // The train and grad_norm trajectory of every update (6), and the final eval.
    let trained = |devices: &str, fault: &str| {
        let (dir, path) = workspace(TINY);
        let set = format!("training.devices={devices}");
        let out = ttv_run(dir.path(), &[path.to_str().unwrap(), "-s", &set], &[("TTV_FAULT", fault)]);
        if !fault.is_empty() {
            assert!(!out.status.success(), "the fault aborts the process: {}", text(&out));
            let out = ttv_run(dir.path(), &[path.to_str().unwrap(), "-s", &set], &[]);
            assert!(out.status.success(), "{}", text(&out));
        }
        assert!(out.status.success() || !fault.is_empty(), "{}", text(&out));
        let (run_dir, status) = the_run(dir.path());
        assert_eq!(status.state, RunState::Done, "{}", text(&out));
        (values(&run_dir), dir)
    };
    let (one, _a) = trained("1", "");
    let (two, _b) = trained("2", "");
    // Shares of 4 samples over 3 devices are uneven (2, 1, 1): the weighting must follow them.
    let (three, _c) = trained("3", "");
    for (name, other) in [("2 devices", &two), ("3 devices", &three)] {
        for (split, metric_name) in [("train", "loss"), ("train", "grad_norm"), ("eval", "gen_mse")] {
            let (a, b) = (metric(&one, split, metric_name), metric(other, split, metric_name));
            assert_eq!(a.len(), b.len(), "{name}: {split}/{metric_name}");
            assert!(a.len() >= 3, "{split}/{metric_name}: {a:?}");
            for (x, y) in a.iter().zip(&b) {
                // fp32 sums in another order (shares instead of one batch), over 6 updates.
                let rel = (x - y).abs() / x.abs().max(1e-12);
                assert!(rel < 1e-4, "{name}: {split}/{metric_name} {a:?} vs {b:?}");
            }
        }
    }
    let (resumed, _d) = trained("2", "abort-after-checkpoint=2");
    assert_eq!(resumed, two, "a data-parallel run resumed from its checkpoint == uninterrupted, exactly");
}

#[test]
fn thresholds_reevaluate_a_trained_run_without_retraining() {
    let (dir, path) = workspace(TINY);
    let out = ttv_run(dir.path(), &[path.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let out = ttv_run(dir.path(), &["thresholds", "--values", "0.2,0.5,1"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("avg_steps"), "{}", text(&out));
    let (run_dir, _) = the_run(dir.path());
    let rows = ttv::store::thresholds::read(&run_dir.join("thresholds.parquet")).unwrap();
    let at = |t: f64, m: &str| rows.iter().find(|r| r.threshold == t && r.metric == m).map(|r| r.value).unwrap();
    // At the run's own threshold (0.5) the final checkpoint gives what its last evaluation stored.
    let stored = values(&run_dir);
    let last = |m: &str| *metric(&stored, "eval", m).last().unwrap();
    for m in ["gen_mse", "avg_steps", "halt_acc"] {
        assert!((at(0.5, m) - last(m)).abs() < 1e-9, "{m}: {} vs {}", at(0.5, m), last(m));
    }
    // Halting needs p > threshold: a higher threshold never stops earlier, and 1 never stops.
    assert!(at(0.2, "avg_steps") <= at(0.5, "avg_steps") && at(0.5, "avg_steps") <= at(1.0, "avg_steps"));
    assert_eq!(at(1.0, "avg_steps"), 2.0, "max_steps of the tiny model");
    assert!(rows.iter().all(|r| r.step == 6), "the final checkpoint's update");
}

#[test]
fn a_nan_loss_fails_the_run_and_keeps_the_last_good_checkpoint() {
    let (dir, spec) = workspace(TINY);
    let out = ttv_run(dir.path(), &[spec.to_str().unwrap()], &[("TTV_FAULT", "nan-at-update=3")]);
    let (run_dir, status) = the_run(dir.path());
    assert_eq!(status.state, RunState::Failed, "{}", text(&out));
    let error = status.error.unwrap();
    assert!(error.contains("NaN") && error.contains("update 3"), "{error}");
    assert!(run_dir.join("ckpt/update-00000002/model.safetensors").is_file());
    assert!(!run_dir.join("ckpt/update-00000003").exists());
    // A failed run is skipped unless asked to retry; retried, it resumes from update 2 and ends.
    let again = ttv_run(dir.path(), &[spec.to_str().unwrap()], &[]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("skipped (failed)"), "{}", text(&again));
    let retried = ttv_run(dir.path(), &[spec.to_str().unwrap(), "--retry-failed"], &[]);
    assert!(retried.status.success(), "{}", text(&retried));
    assert_eq!(the_run(dir.path()).1.state, RunState::Done);
}

#[test]
fn out_of_memory_splits_the_batch_and_gives_the_same_step() {
    let spec = TINY.replace("epochs: 3", "epochs: 1");
    let mut losses = Vec::new();
    for fault in ["", "oom-at-update=1"] {
        let (dir, path) = workspace(&spec);
        let out = ttv_run(dir.path(), &[path.to_str().unwrap()], &[("TTV_FAULT", fault)]);
        assert!(out.status.success(), "{}", text(&out));
        let (run_dir, status) = the_run(dir.path());
        let splits = status.summary.oom_splits;
        assert_eq!(splits, Some(if fault.is_empty() { 0 } else { 1 }));
        assert_eq!(status.notes.iter().any(|n| n.contains("out of device memory")), !fault.is_empty());
        losses.push(metric(&values(&run_dir), "train", "grad_norm"));
    }
    for (a, b) in losses[0].iter().zip(&losses[1]) {
        assert!((a - b).abs() / a < 1e-5, "{:?} vs {:?}", losses[0], losses[1]);
    }
}

#[test]
fn fid_without_weights_is_pending_then_computed_by_ttv_run_fid() {
    let assets = std::env::var("TTV_ASSETS").unwrap_or_else(|_| "../shared/assets".into());
    let assets = std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join(&assets))
        .expect("the FID weights: set TTV_ASSETS to the shared assets folder");
    let spec = TINY.replace("epochs: 3", "epochs: 2").replace("metrics: [recon_mse", "metrics: [fid, kid, recon_mse");
    let (dir, path) = workspace(&spec);
    let out = ttv_run(dir.path(), &[path.to_str().unwrap()], NO_WEIGHTS);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("pending"), "{}", text(&out));
    let (run_dir, status) = the_run(dir.path());
    assert!(status.summary.fid_pending);
    assert!(status.notes.iter().any(|n| n.starts_with("FID pending")), "{:?}", status.notes);
    assert!(metric(&values(&run_dir), "eval", "fid").is_empty(), "no made-up FID");

    // `--experiment` scores only that experiment's runs: another name leaves this one pending.
    let out = ttv_run(dir.path(), &["fid", "--experiment", "some_other"], &[("TTV_ASSETS", assets.to_str().unwrap())]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("no run"), "{}", text(&out));
    assert!(the_run(dir.path()).1.summary.fid_pending);

    let name = status.experiments.keys().next().expect("the run's experiment").clone();
    let out = ttv_run(dir.path(), &["fid", "--experiment", &name], &[("TTV_ASSETS", assets.to_str().unwrap())]);
    assert!(out.status.success(), "{}", text(&out));
    let (run_dir, status) = the_run(dir.path());
    assert!(!status.summary.fid_pending, "{:?}", status.summary);
    let fid = metric(&values(&run_dir), "eval", "fid");
    assert_eq!(fid.len(), 2, "both evaluations scored");
    assert!(fid.iter().all(|f| f.is_finite() && *f > 0.0), "{fid:?}");
    assert_eq!(status.summary.eval["fid"], fid[1]);
    assert_eq!(metric(&values(&run_dir), "eval", "fid_samples"), vec![2.0, 2.0]);
    assert!(status.notes.iter().any(|n| n.contains("prefer KID")), "few samples are flagged: {:?}", status.notes);
    // Nothing left to do the second time.
    let out = ttv_run(dir.path(), &["fid"], &[("TTV_ASSETS", assets.to_str().unwrap())]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("no run"), "{}", text(&out));

    // `--last` scores only the newest evaluation, and the status says so.
    let (dir, path) = workspace(&spec);
    let out = ttv_run(dir.path(), &[path.to_str().unwrap()], NO_WEIGHTS);
    assert!(out.status.success(), "{}", text(&out));
    let out = ttv_run(dir.path(), &["fid", "--last"], &[("TTV_ASSETS", assets.to_str().unwrap())]);
    assert!(out.status.success(), "{}", text(&out));
    let (run_dir, status) = the_run(dir.path());
    let rows = values(&run_dir);
    let scored: Vec<u32> = rows.iter().filter(|r| r.2 == "eval" && r.3 == "fid").map(|r| r.0).collect();
    assert_eq!(scored, vec![2], "only the newest evaluation");
    assert!(!status.summary.fid_pending && status.summary.eval.contains_key("fid"), "{:?}", status.summary);
    assert!(status.notes.iter().any(|n| n.contains("--last")), "{:?}", status.notes);

    // `--fvd` would add FVD to finished runs, but I3D needs 9 frames: these 4-frame clips get none.
    let out = ttv_run(dir.path(), &["fid", "--fvd"], &[("TTV_ASSETS", assets.to_str().unwrap())]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FVD not computed: its clips have 4 frames"), "{}", text(&out));
    assert!(metric(&values(&run_dir), "eval", "fvd").is_empty());
}

/// FVD on the tiny model with 12-frame clips (I3D needs at least 9; the codec a multiple of 4),
/// one epoch and 2 eval clips, so each FVD embeds 4 clips at 224x224 (about 3 s of CPU each):
/// computed during evaluation where the I3D weights are; pending without them, then computed by
/// `ttv-run fid` from the kept clips, to the same number.
#[test]
fn fvd_is_computed_during_evaluation_or_pending_then_by_ttv_run_fid() {
    let assets = std::env::var("TTV_ASSETS").unwrap_or_else(|_| "../shared/assets".into());
    let assets = std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join(&assets))
        .expect("the I3D weights: set TTV_ASSETS to the shared assets folder");
    let with_weights = [("TTV_ASSETS", assets.to_str().unwrap())];
    let spec = TINY
        .replace("epochs: 3", "epochs: 1")
        .replace("frames: 4", "frames: 12")
        .replace("metrics: [recon_mse", "metrics: [fvd, recon_mse");

    let (dir, path) = workspace(&spec);
    let out = ttv_run(dir.path(), &[path.to_str().unwrap()], &with_weights);
    assert!(out.status.success(), "{}", text(&out));
    let (run_dir, status) = the_run(dir.path());
    let rows = values(&run_dir);
    let fvd = metric(&rows, "eval", "fvd");
    assert!(fvd.len() == 1 && fvd[0].is_finite() && fvd[0] > 0.0, "{fvd:?}");
    assert_eq!(metric(&rows, "eval", "fvd_samples"), vec![2.0]);
    assert!(metric(&rows, "eval", "fid").is_empty(), "FID was not asked for");
    assert!(!status.summary.fid_pending && status.summary.eval["fvd"] == fvd[0], "{:?}", status.summary);
    assert!(status.notes.iter().any(|n| n.starts_with("FVD on 2 real / 2 generated clips")), "{:?}", status.notes);

    // Trained without weights and asking FID too: both pending. `ttv-run fid` with no network
    // here fails; with only I3D's weights it computes FVD and leaves FID pending, saying why
    // (the two networks may live on different machines); with both it completes the run.
    let (dir, path) = workspace(&spec.replace("metrics: [fvd,", "metrics: [fid, fvd,"));
    let out = ttv_run(dir.path(), &[path.to_str().unwrap()], NO_WEIGHTS);
    assert!(out.status.success(), "{}", text(&out));
    let (run_dir, status) = the_run(dir.path());
    assert!(status.summary.fid_pending);
    assert!(status.notes.iter().any(|n| n.starts_with("FVD pending: I3D weights not found")), "{:?}", status.notes);
    assert!(metric(&values(&run_dir), "eval", "fvd").is_empty(), "no made-up FVD");

    let out = ttv_run(dir.path(), &["fid"], NO_WEIGHTS);
    assert!(!out.status.success() && text(&out).contains("nothing scored"), "{}", text(&out));

    let i3d_only = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(assets.join(ttv::metrics::I3D_WEIGHTS), i3d_only.path().join(ttv::metrics::I3D_WEIGHTS)).unwrap();
    let out = ttv_run(dir.path(), &["fid"], &[("TTV_ASSETS", i3d_only.path().to_str().unwrap())]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FID and KID not computed: FID weights not found"), "{}", text(&out));
    let (run_dir, status) = the_run(dir.path());
    let later = metric(&values(&run_dir), "eval", "fvd");
    assert!(later.len() == 1 && (later[0] - fvd[0]).abs() <= 1e-6 * fvd[0], "{later:?} vs {fvd:?} during evaluation");
    assert!(metric(&values(&run_dir), "eval", "fid").is_empty(), "no made-up FID");
    assert!(status.summary.fid_pending, "FID is still owed: {:?}", status.summary);
    assert!(status.notes.iter().any(|n| n.starts_with("FID pending")), "{:?}", status.notes);
    assert!(!status.notes.iter().any(|n| n.starts_with("FVD pending")), "FVD is no longer pending: {:?}", status.notes);
    assert!(status.notes.iter().any(|n| n.starts_with("FVD computed afterwards by `ttv-run fid`")), "{:?}", status.notes);

    let out = ttv_run(dir.path(), &["fid"], &with_weights);
    assert!(out.status.success(), "{}", text(&out));
    let (run_dir, status) = the_run(dir.path());
    assert_eq!(metric(&values(&run_dir), "eval", "fid").len(), 1);
    assert_eq!(metric(&values(&run_dir), "eval", "fvd"), later, "FVD is not scored twice");
    assert!(!status.summary.fid_pending, "{:?}", status.summary);
    assert!(!status.notes.iter().any(|n| n.starts_with("FVD pending") || n.starts_with("FID pending")), "{:?}", status.notes);
}

/// `family`'s model at test size: hidden 32, 4 heads, one text block, one block per level, two
/// reasoning steps; captions up to `max_len` tokens.
fn tiny_model_spec(family: Family, max_len: u32) -> ModelSpec {
    let mut spec = ModelSpec { hidden: 32, heads: 4, ..ModelSpec::default() };
    spec.text_encoder = TextEncoderSpec { kind: family, layers: 1, max_len, vocab_size: 50257 };
    spec.video_codec.kind = family;
    (spec.engine.h_layers, spec.engine.l_layers, spec.engine.max_steps) = (1, 1, 2);
    spec
}

/// The tiny model of `family` (the reference family as the reference code builds it) and the
/// data of the fixed-batch training loops below.
fn fixed_batch_specs(family: Family) -> (ModelSpec, DataSpec) {
    let mut model_spec = tiny_model_spec(family, 8);
    if family == Family::Reference {
        model_spec.engine.interaction = Interaction::Additive;
        model_spec.engine.norm = NormPlacement::Post;
        model_spec.engine.causal = true;
        model_spec.halting.kind = HaltingKind::Linear;
        model_spec.halting.loss_weight = 0.0;
    }
    (model_spec, DataSpec { samples: 10, eval_fraction: 0.2, frames: 4, height: 16, width: 16, ..DataSpec::default() })
}

/// AdamW with a light weight decay, for the direct training loops below.
fn small_decay() -> OptimizerSpec {
    OptimizerSpec { weight_decay: 1e-4, eps: 1e-5, ..OptimizerSpec::default() }
}

/// Training on one fixed batch of 8 clips, the loss must fall well below where it started, for
/// the paper's family and for the reference code's.
#[test]
fn the_loss_decreases_on_a_fixed_batch_for_both_families() {
    let _rng = DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
    for family in [Family::Paper, Family::Reference] {
        let (model_spec, data_spec) = fixed_batch_specs(family);
        let device = ttv::backend::cpu().autodiff();
        device.seed(0);
        let mut model: TextToVideo = build(&ModelConfig::new(&model_spec, &data_spec).unwrap(), &device);
        let data = load(&data_spec, &LoadOptions::default()).unwrap();
        let batch = ttv::data::loader::Loader::new(data.train, 8).epoch(0).next().unwrap();
        let captions: Vec<&str> = batch.captions.iter().map(String::as_str).collect();
        let (ids, mask) = TextTokenizer::gpt2(8).unwrap().batch(&captions, &device).unwrap();
        let videos = batch.to_device(&device).videos;
        let mut optimizer = AdamW::new(&small_decay(), &model, 0, &device);
        optimizer.set_lr(3e-3);
        let mut losses = Vec::new();
        for _ in 0..40 {
            let loss = batch_loss(
                &model,
                ids.clone(),
                mask.clone(),
                videos.clone(),
                Start::EncodedTarget,
                model_spec.halting.loss_weight,
            );
            losses.push(loss.mse.clone().into_scalar::<f32>());
            let grads = GradientsParams::from_grads(loss.total.backward(), &model);
            model = optimizer.step(model, grads);
        }
        let (first, last) = (losses[0], *losses.last().unwrap());
        assert!(last < 0.8 * first, "{family:?}: MSE {first} -> {last}: {losses:?}");
    }
}

/// Flow matching on one fixed batch of 8 captioned clips, each update with new noise and new
/// times (keyed by the update): the loss on noise and times held out from training (16 draws
/// per clip) must fall well below where it started. Single updates' losses are too noisy to
/// compare (a clip drawn near t = 0 is all noise).
#[test]
fn the_flow_matching_loss_decreases_on_a_fixed_batch() {
    let _rng = DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let mut model_spec = tiny_model_spec(Family::Paper, 8);
    model_spec.halting.kind = HaltingKind::None;
    let data_spec = DataSpec { samples: 10, eval_fraction: 0.2, frames: 4, height: 16, width: 16, ..DataSpec::default() };
    let device = ttv::backend::cpu().autodiff();
    let plain = device.clone().inner();
    device.seed(0);
    let config = ModelConfig::new(&model_spec, &data_spec).unwrap().with_flow(2);
    let mut model: TextToVideo = build(&config, &device);
    let data = load(&data_spec, &LoadOptions::default()).unwrap();
    let batch = ttv::data::loader::Loader::new(data.train, 8).epoch(0).next().unwrap();
    let captions: Vec<&str> = batch.captions.iter().map(String::as_str).collect();
    let (ids, mask) = TextTokenizer::gpt2(8).unwrap().batch(&captions, &device).unwrap();
    let videos = batch.to_device(&device).videos;
    let loss = |model: &TextToVideo, stream: &str, first: u64| {
        let noise = ttv::train::noise::flow_noise(0, stream, first, [4, 16, 16], 8, &plain);
        batch_loss(model, ids.clone(), mask.clone(), videos.clone(), Start::Flow(Box::new(noise)), 0.0)
    };
    let held_out = |model: &TextToVideo| -> f32 {
        (0..16).map(|k| loss(model, "held-out", 8 * k).mse.into_scalar::<f32>()).sum::<f32>() / 16.0
    };
    let before = held_out(&model);
    let mut optimizer = AdamW::new(&small_decay(), &model, 0, &device);
    optimizer.set_lr(2e-3);
    for update in 0..40 {
        let grads = GradientsParams::from_grads(loss(&model, "train", 8 * update).total.backward(), &model);
        model = optimizer.step(model, grads);
    }
    let after = held_out(&model);
    assert!(after < 0.6 * before, "held-out MSE {before} -> {after}");
}

#[test]
fn the_store_index_lists_a_trained_run() {
    let (dir, spec) = workspace(&TINY.replace("epochs: 3", "epochs: 1"));
    let out = ttv_run(dir.path(), &[spec.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let store = Store::at(&dir.path().join("registry"));
    let index = ttv::store::index::read(&store.index_path()).unwrap();
    assert_eq!(index.height(), 1);
    let dry = ttv_run(dir.path(), &[spec.to_str().unwrap(), "--dry-run"], &[]);
    assert!(String::from_utf8_lossy(&dry.stdout).contains("done"), "{}", text(&dry));
}

#[test]
fn alignment_and_temporal_coherence_are_scored_at_each_evaluation() {
    let spec = TINY
        .replace("epochs: 3", "epochs: 1")
        .replace("metrics: [recon_mse", "metrics: [alignment, temporal_coherence, recon_mse");
    let (dir, path) = workspace(&spec);
    let out = ttv_run(dir.path(), &[path.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let (run_dir, status) = the_run(dir.path());
    let rows = values(&run_dir);
    for name in ["align_colour", "align_object", "align_motion", "align_background", "alignment", "persistence"] {
        let v = metric(&rows, "eval", name);
        assert!(v.len() == 1 && (0.0..=1.0).contains(&v[0]), "{name}: {v:?}");
    }
    let temporal = metric(&rows, "eval", "temporal_mse");
    assert!(temporal.len() == 1 && temporal[0] > 0.0, "an untrained model does not move like its targets: {temporal:?}");
    assert_eq!(status.summary.eval.get("alignment"), Some(&metric(&rows, "eval", "alignment")[0]));
    assert!(status.notes.iter().any(|n| n.starts_with("alignment chance levels on these 2 eval clips")), "{:?}", status.notes);
    assert!(status.notes.iter().any(|n| n.starts_with("alignment on only 2 eval clips")), "{:?}", status.notes);
}

/// `ttv-run score` on a run trained without the two metrics: the stored target clips, scored
/// as if generated, align on every attribute (so the re-derived eval items are the kept clips,
/// in order, under the `eval.samples` cap), and nothing already stored changes.
#[test]
fn ttv_run_score_scores_a_stored_run_afterwards() {
    let spec = TINY
        .replace("samples: 10, eval_fraction: 0.2", "samples: 20, eval_fraction: 0.4")
        .replace("epochs: 3", "epochs: 2")
        .replace("  prompts:", "  samples: 6\n  prompts:");
    let (dir, path) = workspace(&spec);
    let out = ttv_run(dir.path(), &[path.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let (run_dir, before) = the_run(dir.path());
    let stored = MetricsLog::open(&run_dir.join("metrics.parquet"), "x").unwrap().rows;
    assert!(metric(&values(&run_dir), "eval", "alignment").is_empty(), "not asked for in training");
    // Epoch 1 keeps what the model generated; epoch 2 is replaced by the targets themselves.
    std::fs::copy(run_dir.join("eval/target.safetensors"), run_dir.join("eval/epoch_2.safetensors")).unwrap();

    let out = ttv_run(dir.path(), &["score", "--run", &before.hash[..6]], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("epoch 1") && printed.contains("epoch 2"), "{printed}");
    let after = MetricsLog::open(&run_dir.join("metrics.parquet"), "x").unwrap().rows;
    assert_eq!(after[..stored.len()], stored[..], "the stored rows are kept as they were");
    let rows = values(&run_dir);
    for name in ["align_colour", "align_object", "align_motion", "align_background", "alignment", "persistence"] {
        let v = metric(&rows, "eval", name);
        assert!(v.len() == 2 && (0.0..=1.0).contains(&v[0]), "{name}: {v:?}");
        assert_eq!(v[1], 1.0, "{name}: the targets align with their own captions");
    }
    assert_eq!(metric(&rows, "eval", "temporal_mse")[1], 0.0);
    // The new rows belong to their evaluations: same update as the rows already there.
    let step_of = |epoch: u32, name: &str| after.iter().find(|r| r.epoch == epoch && r.metric == name).unwrap().step;
    assert_eq!(step_of(2, "alignment"), step_of(2, "gen_mse"));
    let (_, status) = the_run(dir.path());
    assert_eq!(status.summary.eval.get("alignment"), Some(&1.0), "the final eval values are updated");
    assert!(status.notes.iter().any(|n| n.contains("ttv-run score")), "{:?}", status.notes);
    assert!(status.notes.iter().any(|n| n.starts_with("alignment chance levels on these 6 eval clips")), "{:?}", status.notes);
    let index = ttv::store::index::read(&Store::at(&dir.path().join("registry")).index_path()).unwrap();
    assert_eq!(index.column("alignment").unwrap().f64().unwrap().get(0), Some(1.0));

    // Nothing left to do the second time; `ttv-run fid` still finds nothing pending.
    let out = ttv_run(dir.path(), &["score"], &[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("up to date"), "{}", text(&out));
    assert_eq!(MetricsLog::open(&run_dir.join("metrics.parquet"), "x").unwrap().rows, after);
}

/// Trained from noise (`noise_regression`), the text is the only thing that tells clips apart:
/// after training on 3 captions (three objects, colours, motions and backgrounds), each caption's
/// clip generated from fresh noise must be nearer its own target than any other, by 2x. The
/// quickstart's recipe at test size (start positions, two steps, no halting predictor).
#[test]
fn trained_from_noise_each_caption_generates_its_own_clip() {
    let _rng = DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
    let mut model_spec = tiny_model_spec(Family::Paper, 16);
    model_spec.video_codec.position_embedding = true;
    model_spec.halting.kind = HaltingKind::None;
    let data_spec = DataSpec { frames: 4, height: 16, width: 16, ..DataSpec::default() };
    let device = ttv::backend::cpu().autodiff();
    device.seed(0);
    let mut model: TextToVideo = build(&ModelConfig::new(&model_spec, &data_spec).unwrap(), &device);
    let captions = [
        "a red ball moving left to right on a dark background",
        "a blue square rotating clockwise on a white background",
        "a yellow triangle moving up on a gray background",
    ];
    let shape = ttv::data::sample::VideoShape::new(4, 16, 16);
    let pixels: Vec<f32> = captions.iter().flat_map(|c| ttv::data::shapes::render_prompt(c, shape).unwrap().1).collect();
    let n = captions.len();
    let videos = Tensor::<5>::from_data(TensorData::new(pixels, [n, 3, 4, 16, 16]), &device);
    let (ids, mask) = TextTokenizer::gpt2(16).unwrap().batch(&captions, &device).unwrap();
    let mut optimizer = AdamW::new(&small_decay(), &model, 0, &device);
    optimizer.set_lr(1e-3);
    for _ in 0..300 {
        let noise = model.noise(n, &device);
        let loss = batch_loss(&model, ids.clone(), mask.clone(), videos.clone(), Start::Noise(Box::new(noise)), 0.0);
        let grads = GradientsParams::from_grads(loss.total.backward(), &model);
        model = optimizer.step(model, grads);
    }
    let model = model.valid();
    let generated = model.generate(ids.inner(), mask.inner(), model.noise(n, &device.clone().inner())).video;
    // The clips differ most in their backgrounds; a model deaf to the text would generate one
    // clip (their mean) for all three, about equally far from each target.
    let targets = videos.inner();
    for i in 0..n {
        let gen_i = generated.clone().slice(i..i + 1);
        let d: Vec<f32> = (0..n)
            .map(|j| (gen_i.clone() - targets.clone().slice(j..j + 1)).powf_scalar(2.0).mean().into_scalar::<f32>())
            .collect();
        let others = (0..n).filter(|&j| j != i).map(|j| d[j]).fold(f32::INFINITY, f32::min);
        assert!(d[i] < 0.5 * others, "\"{}\": MSE to each target {d:?}, its own is not the nearest by 2x", captions[i]);
    }
}

/// A tiny paper-family run spec, its model config and one batch of 4 clips on the CPU.
fn tiny_step() -> (RunSpec, ModelConfig, ttv::train::step::Inputs) {
    use ttv::spec::types::{EvalSpec, TrainingSpec};
    let data = DataSpec { samples: 10, frames: 4, height: 16, width: 16, ..DataSpec::default() };
    let spec = RunSpec {
        data: data.clone(),
        model: tiny_model_spec(Family::Paper, 8),
        training: TrainingSpec::default(),
        eval: EvalSpec::default(),
        seed: 0,
    };
    let plain = ttv::backend::cpu();
    let config = ModelConfig::new(&spec.model, &data).unwrap();
    let batch = ttv::data::loader::Loader::new(load(&data, &LoadOptions::default()).unwrap().train, 4).epoch(0).next().unwrap();
    let captions: Vec<&str> = batch.captions.iter().map(String::as_str).collect();
    let (ids, mask) = TextTokenizer::gpt2(8).unwrap().batch(&captions, &plain).unwrap();
    let inputs = ttv::train::step::Inputs { ids, mask, videos: batch.to_device(&plain).videos, noise: None, flow: None };
    (spec, config, inputs)
}

/// With `training.gradient_checkpointing` the backward pass recomputes activations instead of
/// keeping them: the loss and every gradient stay the same.
#[test]
fn gradient_checkpointing_keeps_the_gradients() {
    let _rng = DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
    use burn::module::{ModuleVisitor, Param};
    use ttv::train::step::backward;

    struct Flatten<'a>(&'a GradientsParams, Vec<f32>);
    impl ModuleVisitor for Flatten<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let g = self.0.get::<D>(param.id).expect("a gradient for every parameter");
            self.1.extend(g.into_data().try_to_vec::<f32>().unwrap());
        }
    }
    let (spec, config, inputs) = tiny_step();
    let plain = ttv::backend::cpu();
    let run = |device: Device| {
        device.seed(0);
        let model: TextToVideo = build(&config, &device);
        // The weights carry the strategy; the batch is a constant to their operations.
        assert_eq!(model.device().gradient_checkpointing_strategy(), device.gradient_checkpointing_strategy());
        let (grads, stats) = backward(&model, &spec, inputs.clone(), 1.0);
        let mut flat = Flatten(&grads, Vec::new());
        model.visit(&mut flat);
        (stats.into_data().try_to_vec::<f32>().unwrap(), flat.1)
    };
    let (kept, kept_grads) = run(plain.clone().autodiff());
    let checkpointing = plain.clone().autodiff().gradient_checkpointing();
    assert_ne!(checkpointing.gradient_checkpointing_strategy(), plain.clone().autodiff().gradient_checkpointing_strategy());
    let (recomputed, recomputed_grads) = run(checkpointing);
    assert_eq!(kept, recomputed);
    assert_eq!(kept_grads.len(), recomputed_grads.len());
    let worst = kept_grads.iter().zip(&recomputed_grads).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(worst <= 1e-6, "gradients differ by up to {worst}");
}

/// SIGTERM (as Ctrl-C) mid-training: the runner finishes the update in flight, checkpoints,
/// marks the run `interrupted`, frees its claim and exits 130; the same command then resumes
/// the run to the end.
#[test]
fn a_signal_stops_the_run_cleanly_and_the_rerun_resumes_it() {
    let spec = TINY.replace("epochs: 3", "epochs: 15").replace("eval:\n", "eval:\n  every: 5\n");
    let (dir, path) = workspace(&spec);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_ttv-run"))
        .current_dir(dir.path())
        .arg(&path)
        .env("TTV_REGISTRY", dir.path().join("registry"))
        .env_remove("TTV_FAULT")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Under way: the first epoch's checkpoint is written.
    let began = std::time::Instant::now();
    let checkpointed = || {
        std::fs::read_dir(dir.path().join("registry/runs")).into_iter().flatten().flatten().any(|run| {
            std::fs::read_dir(run.path().join("ckpt"))
                .into_iter()
                .flatten()
                .flatten()
                .any(|c| c.path().join("trainer.json").is_file())
        })
    };
    while !checkpointed() {
        assert!(began.elapsed().as_secs() < 120, "no checkpoint within 2 minutes");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // SAFETY: kill(2) on the child's pid, which it still is (the child is not waited for yet).
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    let (run_dir, status) = the_run(dir.path());
    assert_eq!(status.state, RunState::Interrupted, "{:?}", status.error);
    assert!(status.notes.iter().any(|n| n.starts_with("interrupted by a signal after")), "{:?}", status.notes);
    assert!(!run_dir.join("claim").exists(), "the claim is released");
    let stopped_at = metric(&values(&run_dir), "train", "loss").len();
    assert!(stopped_at < 30, "stopped before the end: {stopped_at} updates");

    let out = ttv_run(dir.path(), &[path.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let (run_dir, status) = the_run(dir.path());
    assert_eq!(status.state, RunState::Done, "{:?}", status.error);
    assert!(status.notes.iter().any(|n| n.starts_with("resumed from")), "{:?}", status.notes);
    assert_eq!(metric(&values(&run_dir), "train", "loss").len(), 30, "every update once");
}

/// Recording an update runs it four times at a zero learning rate and puts the optimizer back:
/// on a device that records no graph (the CPU) the weights and the next update are as if
/// nothing happened, and the refusal says why.
#[test]
fn recording_an_update_changes_nothing() {
    let _rng = DEVICE_RNG.lock().unwrap_or_else(|e| e.into_inner());
    use ttv::train::graph::CapturedStep;
    use ttv::train::step::{StepStats, apply, backward};

    let (spec, config, inputs) = tiny_step();
    let plain = ttv::backend::cpu();
    // Parameters initialise lazily, in the order they are first used: touch them all, in
    // module order, so both models draw the same weights.
    struct Touch;
    impl burn::module::ModuleVisitor for Touch {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
            let _ = param.val();
        }
    }
    let fresh = || {
        plain.seed(0);
        let model: TextToVideo = build(&config, &plain.clone().autodiff());
        model.visit(&mut Touch);
        let optimizer = AdamW::new(&spec.training.optimizer, &model, 0, &plain);
        (model, optimizer)
    };
    let update = |model: TextToVideo, mut optimizer: AdamW| {
        optimizer.set_lr(1e-3);
        let (grads, sums) = backward(&model, &spec, inputs.clone(), 1.0);
        let (model, stats) = apply(model, &mut optimizer, grads, sums, &spec);
        (model.text_encoder.norm.gamma.val().into_data(), StepStats::read(stats).unwrap().loss)
    };
    let (model, optimizer) = fresh();
    let before = model.text_encoder.norm.gamma.val().into_data();
    let (model, optimizer, recorded) = CapturedStep::capture(model, optimizer, inputs.clone(), &spec);
    assert!(recorded.err().is_some_and(|why| why.contains("recorded no graph")));
    assert_eq!(model.text_encoder.norm.gamma.val().into_data(), before, "a zero learning rate moves nothing");
    let (model_b, optimizer_b) = fresh();
    assert_eq!(update(model, optimizer), update(model_b, optimizer_b), "the next update is a first update");
}
