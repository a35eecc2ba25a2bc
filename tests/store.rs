//! The run store and the runner as processes see them: atomic claims under a race, stale-claim
//! takeover, skipping finished work, invalid specs writing nothing, and a store that heals:
//! damaged files reported and skipped, unreadable claims taken over, damaged checkpoints
//! fallen back from, orphan temp files removed, labels merged, a heartbeat through evaluation.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use ttv::store::claim::{ClaimError, ClaimInfo, claim};
use ttv::store::metrics::MetricsLog;
use ttv::store::{RunDir, RunRecord, RunState, Status, Store};

const RUNS: usize = 40;

/// Child side of the race: claim every run dir it can, never release, print what it won.
#[test]
#[ignore = "run by claims_race_between_processes as a child process"]
fn claim_race_child() {
    let Ok(root) = std::env::var("TTV_RACE_ROOT") else { return };
    let mut won = Vec::new();
    for i in 0..RUNS {
        match claim(&RunDir::new(Path::new(&root).join(format!("run{i:03}"))), 3600.0) {
            Ok(_) => won.push(i.to_string()),
            Err(ClaimError::Held(_)) => {}
            Err(ClaimError::Io(e)) => panic!("{e}"),
        }
    }
    println!("WON {}", won.join(","));
    // Hold the claims until the parent has every child's result: a holder that exits is gone,
    // and its claims are free again.
    std::io::Write::flush(&mut std::io::stdout()).unwrap();
    let _ = std::io::stdin().read_line(&mut String::new());
}

#[test]
fn claims_race_between_processes_each_run_claimed_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let spawn = || {
        Command::new(&exe)
            .args(["--ignored", "--exact", "claim_race_child", "--nocapture", "--test-threads=1"])
            .env("TTV_RACE_ROOT", dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut children: Vec<_> = (0..3).map(|_| spawn()).collect();
    let mut outputs: Vec<_> =
        children.iter_mut().map(|c| std::io::BufRead::lines(std::io::BufReader::new(c.stdout.take().unwrap()))).collect();
    let mut counts = vec![0; RUNS];
    for lines in &mut outputs {
        // Every child stays alive (holding its claims) until all have reported.
        let won = lines
            .map_while(Result::ok)
            .find_map(|l| l.split_once("WON ").map(|(_, won)| won.to_string()))
            .unwrap_or_else(|| panic!("a child reported no result"));
        for i in won.split(',').filter(|s| !s.is_empty()) {
            counts[i.parse::<usize>().unwrap()] += 1;
        }
    }
    for (mut c, lines) in children.into_iter().zip(outputs) {
        drop(c.stdin.take());
        lines.for_each(drop);
        assert!(c.wait().unwrap().success());
    }
    assert!(counts.iter().all(|&c| c == 1), "claims per run: {counts:?}");
}

fn exited_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

fn write_claim(dir: &Path, pid: u32, age_s: f64) {
    write_claim_from(dir, &ttv::store::status::hostname(), pid, age_s);
}

fn write_claim_from(dir: &Path, host: &str, pid: u32, age_s: f64) {
    std::fs::create_dir_all(dir).unwrap();
    let info = ClaimInfo { pid, host: host.into(), time: ttv::store::status::now() - age_s, nonce: "old".into() };
    std::fs::write(dir.join("claim"), serde_json::to_vec(&info).unwrap()).unwrap();
}

#[test]
fn a_stale_claim_with_a_dead_pid_and_old_heartbeat_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    write_claim(&run, exited_pid(), 600.0);
    let c = claim(&RunDir::new(&run), 120.0).expect("stale claim taken over");
    assert_eq!(c.info.pid, std::process::id());
    let on_disk: ClaimInfo = serde_json::from_slice(&std::fs::read(run.join("claim")).unwrap()).unwrap();
    assert_eq!(on_disk, c.info);
    assert!(!run.join("takeover").exists());
}

#[test]
fn a_live_holder_or_a_fresh_heartbeat_keeps_the_claim() {
    let dir = tempfile::tempdir().unwrap();
    // Alive (this very process), however old the heartbeat.
    let live = dir.path().join("live");
    write_claim(&live, std::process::id(), 600.0);
    assert!(matches!(claim(&RunDir::new(&live), 120.0), Err(ClaimError::Held(_))));
    // Another host's holder with a recent heartbeat: its pid cannot be checked here, so wait.
    let remote = dir.path().join("remote");
    write_claim_from(&remote, "another-host", exited_pid(), 5.0);
    assert!(matches!(claim(&RunDir::new(&remote), 120.0), Err(ClaimError::Held(_))));
}

#[test]
fn a_dead_holder_on_this_host_frees_the_claim_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    // Its heartbeat is one second old: only the pid says it is gone.
    write_claim(&run, exited_pid(), 1.0);
    let c = claim(&RunDir::new(&run), 120.0).expect("a dead holder's claim is taken over");
    assert_eq!(c.info.pid, std::process::id());
}

#[test]
fn a_device_this_build_lacks_is_refused_before_any_claim() {
    if cfg!(feature = "cuda") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (spec, registry) = (spec_file(dir.path(), TINY), dir.path().join("registry"));
    let out = ttv_run(&[spec.to_str().unwrap(), "--device", "cuda"], &registry);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("built without CUDA"));
    let runs = std::fs::read_dir(registry.join("runs")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(runs, 0, "nothing claimed or marked failed");
    let plan = String::from_utf8(ttv_run(&[spec.to_str().unwrap(), "--dry-run"], &registry).stdout).unwrap();
    assert!(plan.lines().any(|l| l.ends_with(" new")), "{plan}");
}

// ------------------------------------------------------------------------------------------
// the ttv-run binary

fn ttv_run(args: &[&str], registry: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ttv-run"))
        .args(args)
        .env("TTV_REGISTRY", registry)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

/// The tiny configuration runs train on: hidden 32, one block per stack, 10 shapes clips of
/// 4x16x16, one epoch, no FID.
const TINY: &str = "data: {samples: 10, eval_fraction: 0.2, frames: 4, height: 16, width: 16}
model: {hidden: 32, heads: 4, text_encoder: {layers: 1, max_len: 8}, engine: {h_layers: 1, l_layers: 1, max_steps: 2}}
training: {epochs: 1, batch_size: 4, grad_accum: 1}
eval: {metrics: [recon_mse, avg_steps], prompts: [a red ball moving left to right]}
";

fn spec_file(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("exp.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn invalid_spec_exits_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("registry");
    let p = spec_file(dir.path(), "model:\n  halting:\n    threshold: 1.5\n");
    for extra in [&[][..], &["--dry-run"][..]] {
        let mut args = vec![p.to_str().unwrap()];
        args.extend(extra);
        let out = ttv_run(&args, &registry);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("exp.yaml:3: model.halting.threshold = 1.5: must be in [0, 1]"), "{err}");
        assert!(!registry.exists(), "an invalid spec must not touch the store");
    }
}

#[test]
fn dry_run_shows_the_plan_and_rerunning_skips_finished_work() {
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("registry");
    let p = spec_file(dir.path(), &format!("name: t\nseeds: [0, 1]\nsweep:\n  model.halting.threshold: [0.3, 0.6]\n{TINY}"));
    let path = p.to_str().unwrap();

    let plan = String::from_utf8(ttv_run(&[path, "--dry-run"], &registry).stdout).unwrap();
    assert!(plan.contains("experiment t: 4 runs"), "{plan}");
    let rows: Vec<&str> = plan.lines().skip(2).collect();
    assert_eq!(rows.len(), 4);
    assert!(rows.iter().all(|r| r.ends_with("new")), "{plan}");
    assert!(rows[0].contains("threshold=0.3"), "{plan}");
    assert!(!registry.exists(), "--dry-run writes nothing");
    // The same plan, the same hashes.
    assert_eq!(plan, String::from_utf8(ttv_run(&[path, "--dry-run"], &registry).stdout).unwrap());

    let out = ttv_run(&[path], &registry);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let store = Store::at(&registry);
    let exp = ttv::spec::plan(&p, &[]).unwrap();
    for r in &exp.runs {
        let s = store.status(&r.hash).expect("status written");
        assert_eq!(s.state, RunState::Done, "{:?}", s.error);
        assert_eq!(s.experiments.get("t"), Some(&r.label));
        let dir = store.run(&r.hash).path().to_path_buf();
        assert!(dir.join("spec.yaml").exists());
        assert!(dir.join("samples/data_preview.gif").exists(), "each run stores its data grid");
        assert!(!dir.join("claim").exists(), "claims are released");
        assert_eq!(store.state(&r.hash), RunState::Done);
    }
    let index = ttv::store::index::read(&store.index_path()).unwrap();
    assert_eq!(index.height(), 4);

    // A finished run is never repeated.
    let again = String::from_utf8(ttv_run(&[path], &registry).stdout).unwrap();
    assert!(again.lines().all(|l| l.ends_with("skipped (done)")), "{again}");
    let plan = String::from_utf8(ttv_run(&[path, "--dry-run"], &registry).stdout).unwrap();
    assert!(plan.lines().nth(2).unwrap().ends_with("done"), "{plan}");
}

#[test]
fn only_runs_the_named_runs_and_refuses_an_unknown_hash() {
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("registry");
    let p = spec_file(dir.path(), &format!("name: t\nsweep:\n  model.halting.threshold: [0.3, 0.6]\n{TINY}"));
    let path = p.to_str().unwrap();
    let exp = ttv::spec::plan(&p, &[]).unwrap();
    let second = exp.runs[1].short().to_string();

    let plan = String::from_utf8(ttv_run(&[path, "--dry-run", "--only", &second[..6]], &registry).stdout).unwrap();
    assert!(plan.contains("experiment t: 1 runs"), "{plan}");
    assert!(plan.contains(&second), "{plan}");
    let out = ttv_run(&[path, "--only", &second[..6]], &registry);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let store = Store::at(&registry);
    assert_eq!(store.state(&exp.runs[1].hash), RunState::Done);
    assert!(!store.run(&exp.runs[0].hash).exists(), "the other run is left alone");

    let out = ttv_run(&[path, "--only", "ffffffffffff"], &registry);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--only ffffffffffff: no run of these specs has that hash"));
}

#[test]
fn the_resolved_spec_in_the_store_reproduces_the_hash() {
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("registry");
    let p = spec_file(dir.path(), &TINY.replace("epochs: 1", "epochs: 2"));
    assert!(ttv_run(&[p.to_str().unwrap()], &registry).status.success());
    let run = &ttv::spec::plan(&p, &[]).unwrap().runs[0];
    let stored = Store::at(&registry).run(&run.hash).path().join("spec.yaml");
    let text = std::fs::read_to_string(stored).unwrap();
    let spec: ttv::spec::RunSpec = serde_norway::from_str(&text).unwrap();
    assert_eq!(ttv::spec::run_hash(&spec), run.hash);
}

#[test]
fn dry_run_counts_the_reference_models_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let out = ttv_run(&["experiments/reference.yaml", "--dry-run"], &dir.path().join("registry"));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let row = text.lines().nth(2).unwrap();
    assert!(row.contains(" 20,369,668 "), "{text}");
}

#[test]
fn preview_renders_a_grid_and_prints_a_stable_fingerprint() {
    let dir = tempfile::tempdir().unwrap();
    let gif = dir.path().join("grid.gif");
    let args = ["preview", "experiments/paper.yaml", "-o", gif.to_str().unwrap()];
    let out = ttv_run(&args, &dir.path().join("registry"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let fp = text.lines().find_map(|l| l.strip_prefix("fingerprint ")).unwrap().split(' ').next().unwrap().to_string();
    assert_eq!(fp.len(), 64, "{text}");
    assert!(text.contains("(train split, 45 samples)"), "{text}");
    assert!(std::fs::metadata(&gif).unwrap().len() > 1000);
    assert_eq!(std::fs::read_to_string(gif.with_extension("txt")).unwrap().lines().count(), 16);
    let again = String::from_utf8(ttv_run(&args, &dir.path().join("registry")).stdout).unwrap();
    assert!(again.contains(&fp), "same spec, same data, same fingerprint");
}

// ------------------------------------------------------------------------------------------
// status.json

/// A status as the store wrote it before the summary was typed (a run stopped by its time
/// budget: `done` with `budget_stopped: 1.0` in an untyped `results` map).
const OLD_STATUS: &str = r#"{
  "hash": "5a2cc02f200c66fad8f5d7b585b4f04ea7c1c8c26b9e6911d3a3fc075ba41449",
  "state": "done",
  "pid": 1192,
  "host": "vm",
  "heartbeat": 1795511336.0688987,
  "started": 1795509908.4115138,
  "finished": 1795511336.0688982,
  "error": null,
  "git": {
    "commit": "6d227d9e213a225b811e4f4104e24e56146736fb",
    "dirty": true
  },
  "versions": {
    "burn": "0.21.0",
    "ttv": "0.1.0"
  },
  "device": "cuda (burn-cuda) NVIDIA H100 80GB HBM3",
  "experiments": {
    "scaled_heldout": "kind=flat,objective=noise_regression"
  },
  "seed": 0,
  "results": {
    "align_background": 1.0,
    "align_colour": 0.984375,
    "align_motion": 0.75,
    "align_object": 0.921875,
    "alignment": 0.8854166666666666,
    "avg_steps": 3.0,
    "budget_stopped": 1.0,
    "ckpt_bytes": 101329640.0,
    "data/skipped": 0.0,
    "gen_ms_b1": 27.246872,
    "gen_ms_b64": 0.706714375,
    "gen_mse": 0.023329099640250206,
    "halt_acc": 0.8671875,
    "oom_splits": 0.0,
    "params": 25329348.0,
    "peak_infer_mem_bytes": 2222145536.0,
    "peak_mem_bytes": 2545971200.0,
    "persistence": 1.0,
    "recon_mse": 0.27781226485967636,
    "temporal_mse": 0.028829833684903702,
    "train_s": 1350.0201962469998,
    "updates": 7659.0
  },
  "notes": [
    "resumed from /work/main/longrun/registry/runs/5a2cc02f200c/ckpt/update-00002964 (update 2964)",
    "resumed from /work/main/longrun/registry/runs/5a2cc02f200c/ckpt/update-00005928 (update 5928)",
    "alignment chance levels on these 64 eval clips (1 / values with a valid render, averaged): colour 0.121, object 0.167, motion 0.071, background 0.200; alignment (mean of colour, object, motion) 0.120",
    "persistence: a frame shows an object when at least 3 pixels are more than 55 (RGB, 0-255) from the clip's background colour",
    "stopped by the time budget (1350 s) after 7659 of 7904 updates"
  ]
}"#;

#[test]
fn an_old_status_with_an_untyped_results_map_still_loads() {
    let s = Status::parse(OLD_STATUS.as_bytes()).unwrap();
    assert_eq!(s.state, RunState::Stopped, "a budget stop is `stopped`, not `done`");
    let m = &s.summary;
    assert_eq!(
        (m.params, m.ckpt_bytes, m.updates, m.oom_splits, m.data_skipped),
        (Some(25329348), Some(101329640), Some(7659), Some(0), Some(0))
    );
    assert_eq!((m.train_s, m.gen_ms_b1, m.peak_mem_bytes), (Some(1350.0201962469998), Some(27.246872), Some(2545971200.0)));
    assert!(!m.fid_pending);
    assert_eq!(m.eval.len(), 11, "every other key is a final eval value: {:?}", m.eval);
    assert_eq!(m.eval["recon_mse"], 0.27781226485967636);
    assert!(!m.eval.contains_key("budget_stopped") && !m.eval.contains_key("train_s"));
    // The index columns are the old keys, less the flags.
    assert_eq!(m.get("data/skipped"), Some(0.0));
    assert_eq!(m.columns().len(), 21);
    assert_eq!(s.notes.len(), 5);

    // Written back, it reads the same; old placeholder states read as `new`.
    let again = Status::parse(&serde_json::to_vec(&s).unwrap()).unwrap();
    assert_eq!(again, s);
    for old in ["planned", "queued"] {
        let text = OLD_STATUS.replacen("\"done\"", &format!("\"{old}\""), 1);
        assert_eq!(Status::parse(text.as_bytes()).unwrap().state, RunState::New);
    }
    let pending = OLD_STATUS.replace("\"budget_stopped\": 1.0", "\"fid_pending\": 1.0");
    let s = Status::parse(pending.as_bytes()).unwrap();
    assert!(s.summary.fid_pending);
    assert_eq!(s.state, RunState::Done);
}

/// A status left `running` by a runner that died shows as `interrupted` in the index, as
/// `ttv-run --dry-run` and the reports show it.
#[test]
fn the_index_shows_a_run_whose_runner_died_as_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut status = Status::parse(OLD_STATUS.as_bytes()).unwrap();
    (status.state, status.pid, status.host) = (RunState::Running, exited_pid(), ttv::store::status::hostname());
    status.heartbeat = ttv::store::status::now();
    let run = store.run(&status.hash);
    std::fs::create_dir_all(run.path()).unwrap();
    std::fs::write(run.status_path(), serde_json::to_vec(&status).unwrap()).unwrap();
    write_claim(run.path(), status.pid, 1.0);
    store.rebuild_index().unwrap();
    let index = ttv::store::index::read(&store.index_path()).unwrap();
    let states: Vec<String> = index.column("status").unwrap().str().unwrap().iter().map(|s| s.unwrap().to_string()).collect();
    assert_eq!(states, vec!["interrupted"]);
    // While its runner lives, it is `running`.
    write_claim(run.path(), std::process::id(), 1.0);
    status.pid = std::process::id();
    std::fs::write(run.status_path(), serde_json::to_vec(&status).unwrap()).unwrap();
    store.rebuild_index().unwrap();
    let index = ttv::store::index::read(&store.index_path()).unwrap();
    assert_eq!(index.column("status").unwrap().str().unwrap().get(0), Some("running"));
}

// ------------------------------------------------------------------------------------------
// index.parquet columns and `ttv-run runs diff`

/// A run stored by hand: `status` (its hash set to `hash`) and, when given, its resolved spec.
fn stored_run(store: &Store, hash: &str, spec: Option<&str>) {
    let run = store.run(hash);
    std::fs::create_dir_all(run.path()).unwrap();
    let mut status = Status::parse(OLD_STATUS.as_bytes()).unwrap();
    status.hash = hash.to_string();
    std::fs::write(run.status_path(), serde_json::to_vec(&status).unwrap()).unwrap();
    if let Some(spec) = spec {
        std::fs::write(run.spec_path(), spec).unwrap();
    }
}

/// An old store (a spec written before `position_embedding` existed, a status with the untyped
/// results map, a run whose spec is missing) indexes into typed columns.
#[test]
fn the_index_has_typed_spec_columns_timestamps_and_the_commit() {
    use polars::prelude::{DataType, TimeUnit};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let old_spec = include_str!("common/fixtures/dbfd82939247.spec.yaml");
    let hash = old_spec.lines().find_map(|l| l.strip_prefix("# hash: ")).unwrap();
    stored_run(&store, hash, Some(old_spec));
    let no_spec = Status::parse(OLD_STATUS.as_bytes()).unwrap().hash;
    stored_run(&store, &no_spec, None);
    store.rebuild_index().unwrap();
    let df = ttv::store::index::read(&store.index_path()).unwrap();
    assert_eq!(df.height(), 2);
    // Rows in hash order: the run without a spec (5a2c...) first.
    let (i, j) = (1, 0);
    assert_eq!(df.column("hash").unwrap().str().unwrap().get(i), Some(hash));

    let dtype = |c: &str| df.column(c).unwrap_or_else(|e| panic!("{c}: {e}")).dtype().clone();
    // UTC, written without a zone (registry/README.md).
    let utc = DataType::Datetime(TimeUnit::Microseconds, None);
    assert_eq!((dtype("started"), dtype("finished")), (utc.clone(), utc));
    let started = df.column("started").unwrap().datetime().unwrap().physical().get(i).unwrap();
    assert_eq!(started, (1795509908.4115138f64 * 1e6).round() as i64);
    assert_eq!(df.column("commit").unwrap().str().unwrap().get(i), Some("6d227d9e213a225b811e4f4104e24e56146736fb"));
    assert_eq!(df.column("dirty").unwrap().bool().unwrap().get(i), Some(true));

    let spec: ttv::spec::RunSpec = serde_norway::from_str(old_spec).unwrap();
    let variants = df.column("variant").unwrap().str().unwrap();
    assert_eq!(variants.get(i), Some(ttv::spec::variant_id(&spec).as_str()));
    assert_eq!(variants.get(j), Some(format!("run:{}", &no_spec[..12]).as_str()), "no spec: a variant of its own");

    for (column, want) in [
        ("cfg.model.hidden", DataType::Int64),
        ("cfg.data.samples", DataType::Int64),
        ("cfg.eval.samples", DataType::Int64),
        ("cfg.model.halting.threshold", DataType::Float64),
        ("cfg.training.time_budget", DataType::Float64),
        ("cfg.data.shapes.random_size", DataType::Boolean),
        ("cfg.model.video_codec.position_embedding", DataType::Boolean),
        ("cfg.model.engine.kind", DataType::String),
        ("cfg.eval.prompts", DataType::String),
        ("cfg.training.optimizer.betas", DataType::String),
    ] {
        assert_eq!(dtype(column), want, "{column}");
    }
    let cfg: Vec<String> = df.get_column_names().iter().filter(|c| c.starts_with("cfg.")).map(|c| c.to_string()).collect();
    assert_eq!(cfg.len(), ttv::spec::flatten::kinds().len() - 1, "every field but the seed: {cfg:?}");
    assert!(!cfg.contains(&"cfg.seed".to_string()));
    let int = |c: &str| df.column(c).unwrap().i64().unwrap().get(i);
    assert_eq!((int("cfg.model.hidden"), int("cfg.data.samples")), (Some(256), Some(50)));
    assert_eq!(df.column("cfg.model.hidden").unwrap().i64().unwrap().get(j), None, "unreadable spec: null");
    assert_eq!(df.column("cfg.model.halting.threshold").unwrap().f64().unwrap().get(i), Some(spec.model.halting.threshold));
    assert_eq!(df.column("cfg.model.video_codec.position_embedding").unwrap().bool().unwrap().get(i), Some(false));
    assert_eq!(df.column("cfg.model.engine.kind").unwrap().str().unwrap().get(i), Some("hrm"));
    assert_eq!(df.column("cfg.training.optimizer.betas").unwrap().str().unwrap().get(i), Some("[0.9,0.999]"));
    assert_eq!(df.column("cfg.training.time_budget").unwrap().f64().unwrap().get(i), None);
    // The results keep their columns.
    assert_eq!(df.column("recon_mse").unwrap().f64().unwrap().get(i), Some(0.27781226485967636));
}

#[test]
fn runs_diff_prints_the_spec_fields_two_runs_differ_in() {
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("registry");
    let store = Store::open(&registry).unwrap();
    let p = spec_file(dir.path(), TINY);
    let planned = |overrides: &[&str]| {
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        ttv::spec::plan(&p, &overrides).unwrap().runs.remove(0)
    };
    let a = planned(&["training.optimizer.lr=0.001"]);
    let b = planned(&["training.optimizer.lr=0.002", "training.epochs=41", "seeds=[3]"]);
    for r in [&a, &b] {
        std::fs::create_dir_all(store.run(&r.hash).path()).unwrap();
        store.run(&r.hash).write_spec(r).unwrap();
    }
    let out = ttv_run(&["runs", "diff", &a.hash[..8], &b.hash[..8]], &registry);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(text.lines().next(), Some(format!("runs {} and {}: 3 fields differ", a.short(), b.short()).as_str()), "{text}");
    assert_eq!(rows[1], ["field", a.short(), b.short()]);
    assert_eq!(
        rows[2..],
        [vec!["training.epochs", "1", "41"], vec!["training.optimizer.lr", "0.001", "0.002"], vec!["seed", "0", "3"]]
    );

    let same = ttv_run(&["runs", "diff", &a.hash[..8], &a.hash[..12]], &registry);
    assert!(String::from_utf8_lossy(&same.stdout).contains("no spec field differs"));
    let unknown = ttv_run(&["runs", "diff", "ffff", &a.hash[..8]], &registry);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no run ffff"), "{}", String::from_utf8_lossy(&unknown.stderr));
}

// ------------------------------------------------------------------------------------------
// a store that heals

/// Set `path`'s modification time `age` into the past.
fn backdate(path: &Path, age: Duration) {
    std::fs::File::open(path).unwrap().set_modified(SystemTime::now() - age).unwrap();
}

/// A finished run `hash` of experiment `exp` under `label`, as a runner leaves it: a status and
/// a metrics log with a train and an eval value.
fn finished_run(store: &Store, hash: &str, exp: &str, label: &str) -> RunDir {
    let mut status = Status::parse(OLD_STATUS.as_bytes()).unwrap();
    status.hash = hash.to_string();
    status.state = RunState::Done;
    status.experiments = [(exp.to_string(), label.to_string())].into();
    status.notes.clear();
    let dir = store.run(hash);
    std::fs::create_dir_all(dir.path()).unwrap();
    std::fs::write(dir.status_path(), serde_json::to_vec(&status).unwrap()).unwrap();
    let mut log = MetricsLog::open(&dir.metrics_path(), hash).unwrap();
    log.push(1, 1, "train", "loss", 0.5, 1.0);
    log.push(1, 1, "eval", "recon_mse", 0.25, 1.0);
    log.save().unwrap();
    dir
}

/// One run with a corrupt metrics.parquet and one with a corrupt status.json: the index and the
/// report list the others, the first as `damaged`, and name both runs and files.
#[test]
fn a_damaged_run_is_reported_and_the_rest_of_the_store_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("registry")).unwrap();
    let good = finished_run(&store, &"a".repeat(64), "exp", "x=1");
    let bad_metrics = finished_run(&store, &"b".repeat(64), "exp", "x=2");
    let bad_status = finished_run(&store, &"c".repeat(64), "exp", "x=3");
    std::fs::write(bad_metrics.metrics_path(), b"PAR1 half a parquet file").unwrap();
    std::fs::write(bad_status.status_path(), b"{\"hash\": \"cccc").unwrap();

    assert_eq!(store.state(&"a".repeat(64)), RunState::Done);
    assert_eq!(store.state(&"b".repeat(64)), RunState::Damaged, "done in its status, but its metrics are gone");
    assert_eq!(store.state(&"c".repeat(64)), RunState::Damaged);
    let damaged = store.rebuild_index().unwrap();
    let lines: Vec<String> = damaged.iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!("run bbbbbbbbbbbb is damaged: {}: ", bad_metrics.metrics_path().display())),
        "{lines:?}"
    );
    assert!(lines[1].starts_with(&format!("run cccccccccccc is damaged: {}: ", bad_status.status_path().display())), "{lines:?}");
    let index = ttv::store::index::read(&store.index_path()).unwrap();
    let states: Vec<_> = index.column("status").unwrap().str().unwrap().iter().map(|s| s.unwrap().to_string()).collect();
    assert_eq!(states, ["done", "damaged"], "the unreadable status has no row");

    let out = dir.path().join("reports");
    let opts = ttv::report::ReportOptions {
        registry: store.root.clone(),
        out: out.clone(),
        experiments: vec![],
        format: None,
        specs: None,
    };
    let rendered = ttv::report::render(&opts).expect("a damaged run does not stop the report");
    assert_eq!(rendered.damaged, lines);
    let page = std::fs::read_to_string(out.join("exp/index.html")).unwrap();
    assert!(page.contains(&good.short()) && page.contains(&bad_metrics.short()), "both listed runs shown");
    assert!(page.contains("state-damaged"), "the damaged run is shown as damaged");
    let index_page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(index_page.contains("run cccccccccccc is damaged"), "the unlisted damaged run is named");

    let report = Command::new(env!("CARGO_BIN_EXE_ttv-report"))
        .args(["--registry", store.root.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(report.status.success(), "{}", common::text(&report));
    let stderr = String::from_utf8_lossy(&report.stderr);
    assert!(stderr.contains("warning: run bbbbbbbbbbbb is damaged") && stderr.contains("metrics.parquet"), "{stderr}");
}

/// A finished run whose metrics.parquet got corrupted is reported `damaged` and skipped, not
/// called done; `--retry-failed` sets the file aside and reruns it, taking over a garbage claim
/// and removing an orphan temp file on the way.
#[test]
fn a_damaged_done_run_is_skipped_then_rerun_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("registry");
    let p = spec_file(dir.path(), TINY);
    let path = p.to_str().unwrap();
    assert!(ttv_run(&[path], &registry).status.success());
    let run = Store::at(&registry).run(&ttv::spec::plan(&p, &[]).unwrap().runs[0].hash);
    let short = run.short();
    std::fs::write(run.metrics_path(), b"PAR1 garbage").unwrap();

    let out = ttv_run(&[path], &registry);
    assert!(out.status.success(), "{}", common::text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let named = format!("run {short} is damaged: {}", run.metrics_path().display());
    assert!(stderr.contains(&named) && stderr.contains("--retry-failed"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("skipped (damaged)"), "{}", common::text(&out));

    // A runner that died claiming it left garbage; a killed writer left a 2-hour-old temp file.
    std::fs::write(run.claim_path(), b"\0\0\0\0").unwrap();
    backdate(&run.claim_path(), Duration::from_secs(5));
    let orphan = run.ckpt_dir().join(".ttv-tmp-999999999-Ab3xYz");
    std::fs::write(&orphan, vec![0u8; 1000]).unwrap();
    backdate(&orphan, Duration::from_secs(7200));

    let out = ttv_run(&[path, "--retry-failed"], &registry);
    assert!(out.status.success(), "{}", common::text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("run {short}: took over {}", run.claim_path().display())), "{stderr}");
    assert!(!orphan.exists(), "the orphan temp file is removed: {stderr}");
    assert!(stderr.contains("removed 1 orphan temp file"), "{stderr}");
    let status = run.read_status().unwrap();
    assert_eq!(status.state, RunState::Done, "{:?}", status.error);
    assert!(status.notes.iter().any(|n| n.contains("restarted from scratch")), "{:?}", status.notes);
    assert!(MetricsLog::open(&run.metrics_path(), "x").unwrap().rows.iter().any(|r| r.split == "eval"));
    assert!(run.path().join("metrics.parquet.damaged").is_file(), "the damaged file is kept aside");
    assert_eq!(Store::at(&registry).state(&status.hash), RunState::Done);
}

#[test]
fn an_unreadable_claim_is_judged_by_what_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::new(dir.path().join("0123456789ab"));
    std::fs::create_dir_all(run.path()).unwrap();
    // Empty (a disk full while claiming), older than a claim being written.
    std::fs::write(run.claim_path(), b"").unwrap();
    backdate(&run.claim_path(), Duration::from_secs(5));
    let c = claim(&run, 120.0).expect("an empty claim is taken over");
    let why = c.took_over.clone().unwrap();
    assert!(why.contains("0123456789ab/claim") && why.contains("empty"), "{why}");
    c.release().unwrap();

    // Cut short, naming a dead pid on this host: free at once, fresh or not.
    let host = ttv::store::status::hostname();
    std::fs::write(run.claim_path(), format!("{{\"pid\":{},\"host\":\"{host}\",\"ti", exited_pid())).unwrap();
    backdate(&run.claim_path(), Duration::from_secs(2));
    let c = claim(&run, 120.0).expect("a dead holder's torn claim is taken over");
    assert!(c.took_over.as_deref().unwrap().contains("is gone"), "{:?}", c.took_over);
    c.release().unwrap();

    // Cut short, naming a live pid on this host: still held.
    std::fs::write(run.claim_path(), format!("{{\"pid\":{},\"host\":\"{host}\",\"ti", std::process::id())).unwrap();
    backdate(&run.claim_path(), Duration::from_secs(2));
    assert!(matches!(claim(&run, 120.0), Err(ClaimError::Held(_))));
}

/// A temp file left by a killed writer is removed when a runner starts, once old and not held;
/// a replaced checkpoint whose replacement never arrived is put back.
#[test]
fn orphan_temp_files_are_removed_when_old_and_not_held() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let hour = Duration::from_secs(3600);
    let free = store.run(&"d".repeat(64));
    let partial = free.ckpt_dir().join(".tmp-update-00000004-999999999");
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::write(partial.join(".tmpAb3xYz"), vec![0u8; 4096]).unwrap();
    backdate(&partial.join(".tmpAb3xYz"), 2 * hour);
    backdate(&partial, 2 * hour);
    let file = free.path().join(".ttv-tmp-999999999-Zz9yXx");
    std::fs::write(&file, b"half a status").unwrap();
    backdate(&file, 2 * hour);
    let fresh = free.path().join(".ttv-tmp-999999999-Fresh1");
    std::fs::write(&fresh, b"being written").unwrap();
    let index_tmp = store.root.join(".tmpQq1Ww2");
    std::fs::write(&index_tmp, b"half an index").unwrap();
    backdate(&index_tmp, 2 * hour);
    let replaced = free.ckpt_dir().join(".ttv-old-999999999-best");
    std::fs::create_dir_all(&replaced).unwrap();
    std::fs::write(replaced.join("trainer.json"), b"{}").unwrap();
    backdate(&replaced.join("trainer.json"), 2 * hour);
    backdate(&replaced, 2 * hour);
    // In a run a live runner (this process) holds: left alone, however old.
    let held = store.run(&"e".repeat(64));
    write_claim(held.path(), std::process::id(), 1.0);
    let held_tmp = held.path().join(".ttv-tmp-999999999-Held11");
    std::fs::write(&held_tmp, b"x").unwrap();
    backdate(&held_tmp, 2 * hour);

    let swept = store.sweep_orphans();
    assert!(!partial.exists() && !file.exists() && !index_tmp.exists(), "{swept:?}");
    assert!(fresh.exists(), "a temp file being written stays");
    assert!(held_tmp.exists(), "a held run's temp files stay");
    assert_eq!(swept.bytes, 4096 + 13 + 13);
    assert_eq!(swept.restored, vec![free.ckpt_dir().join("best")]);
    assert!(free.ckpt_dir().join("best/trainer.json").is_file());
}

/// Two writers of one status: the runner holding the run and another runner listing it under a
/// second experiment. The holder's later writes keep the other's label.
#[test]
fn status_writes_merge_the_labels_of_concurrent_writers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("registry")).unwrap();
    let p = spec_file(dir.path(), TINY);
    let plan = ttv::spec::plan(&p, &[]).unwrap().runs.remove(0);
    let mut holder = RunRecord::begin(store.run(&plan.hash), &plan, "first", "cpu").unwrap();
    store.add_experiment(&plan, "second").unwrap();
    holder.note("written by the holder".into());
    holder.save().unwrap();
    holder.finish(RunState::Done, None).unwrap();
    let stored = store.status(&plan.hash).unwrap();
    assert_eq!(stored.experiments.keys().collect::<Vec<_>>(), ["first", "second"]);
    assert_eq!(stored.state, RunState::Done, "the holder's own fields are its own");
    assert_eq!(stored.notes, ["written by the holder"]);
    // And the listing writer never writes back a stale copy of the holder's fields.
    store.add_experiment(&plan, "third").unwrap();
    let stored = store.status(&plan.hash).unwrap();
    assert_eq!((stored.state, stored.experiments.len()), (RunState::Done, 3));
}

// ------------------------------------------------------------------------------------------
// damaged checkpoints and the heartbeat, on the real binary

/// `text` (the tiny spec: 3 epochs of 2 updates, a checkpoint per epoch) in a fresh folder, and
/// its run.
fn tiny_workspace(text: &str) -> (tempfile::TempDir, PathBuf, RunDir) {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("spec.yaml");
    std::fs::write(&spec, text).unwrap();
    let hash = ttv::spec::plan(&spec, &[]).unwrap().runs.remove(0).hash;
    let run = Store::at(&dir.path().join("registry")).run(&hash);
    (dir, spec, run)
}

fn run_tiny(dir: &Path, spec: &Path, fault: Option<&str>) -> std::process::Output {
    run_tiny_with(dir, spec, fault, &[])
}

fn run_tiny_with(dir: &Path, spec: &Path, fault: Option<&str>, extra: &[&str]) -> std::process::Output {
    let mut env = common::NO_WEIGHTS.to_vec();
    env.extend(fault.map(|f| ("TTV_FAULT", f)));
    let mut args = vec![spec.to_str().unwrap()];
    args.extend(extra);
    common::ttv_run(dir, &args, &env)
}

fn checkpoints(run: &RunDir) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(run.ckpt_dir()).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

fn train_losses(run: &RunDir) -> usize {
    MetricsLog::open(&run.metrics_path(), "x").unwrap().rows.iter().filter(|r| r.split == "train" && r.metric == "loss").count()
}

/// Killed after its second checkpoint, with the newest one truncated: the run resumes from the
/// previous one and says so. Killed again after its last checkpoint, it resumes there keeping
/// its notes and checkpoint size.
#[test]
fn a_damaged_newest_checkpoint_falls_back_to_the_previous_one() {
    let (dir, spec, run) = tiny_workspace(common::TINY);
    let out = run_tiny(dir.path(), &spec, Some("abort-after-checkpoint=4"));
    assert!(!out.status.success(), "the fault aborts the process: {}", common::text(&out));
    assert_eq!(checkpoints(&run), ["update-00000002", "update-00000004"], "the two newest are kept");
    let model = run.ckpt_dir().join("update-00000004/model.safetensors");
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&model, &bytes[..bytes.len() / 2]).unwrap();

    let out = run_tiny(dir.path(), &spec, Some("abort-after-checkpoint=6"));
    assert!(!out.status.success(), "{}", common::text(&out));
    let status = run.read_status().unwrap();
    let fallback = format!("checkpoint {} is damaged (", run.ckpt_dir().join("update-00000004").display());
    let note = status.notes.iter().find(|n| n.starts_with(&fallback)).unwrap_or_else(|| panic!("{:?}", status.notes));
    assert!(note.contains("model.safetensors") && note.ends_with("update-00000002 instead"), "{note}");
    assert_eq!(checkpoints(&run), ["update-00000004", "update-00000006"]);

    // Resumed at its last checkpoint: nothing left to train, the summary and notes complete.
    ttv::store::record::amend(&run, |s| s.add_note("a note of an earlier attempt".into())).unwrap();
    let out = run_tiny(dir.path(), &spec, None);
    assert!(out.status.success(), "{}", common::text(&out));
    let status = run.read_status().unwrap();
    assert_eq!(status.state, RunState::Done, "{:?}", status.error);
    for kept in ["a note of an earlier attempt", &fallback] {
        assert!(status.notes.iter().any(|n| n.starts_with(kept)), "{kept:?} kept: {:?}", status.notes);
    }
    let size = std::fs::metadata(run.ckpt_dir().join("update-00000006/model.safetensors")).unwrap().len();
    assert_eq!(status.summary.ckpt_bytes, Some(size), "the checkpoint size survives the resume");
    assert_eq!(train_losses(&run), 6, "every update once");
}

/// With both checkpoints damaged, the run restarts from scratch with a note instead of failing;
/// a run that failed on them before (as earlier versions failed it) does so under
/// `--retry-failed`.
#[test]
fn with_no_loadable_checkpoint_the_run_restarts_from_scratch() {
    let (dir, spec, run) = tiny_workspace(common::TINY);
    let out = run_tiny(dir.path(), &spec, Some("abort-after-checkpoint=4"));
    assert!(!out.status.success(), "{}", common::text(&out));
    std::fs::write(run.ckpt_dir().join("update-00000004/model.safetensors"), b"garbage").unwrap();
    std::fs::write(run.ckpt_dir().join("update-00000002/trainer.json"), b"{\"run\": ").unwrap();
    ttv::store::record::amend(&run, |s| {
        (s.state, s.error) = (RunState::Failed, Some("update-00000004/model.safetensors: unreadable".into()));
        true
    })
    .unwrap();
    let out = run_tiny(dir.path(), &spec, None);
    assert!(String::from_utf8_lossy(&out.stdout).contains("skipped (failed)"), "{}", common::text(&out));

    let out = run_tiny_with(dir.path(), &spec, None, &["--retry-failed"]);
    assert!(out.status.success(), "{}", common::text(&out));
    let status = run.read_status().unwrap();
    assert_eq!(status.state, RunState::Done, "{:?}", status.error);
    let note = status.notes.iter().find(|n| n.starts_with("no checkpoint could be loaded")).expect("a note");
    assert!(
        note.contains("update-00000004") && note.contains("update-00000002") && note.ends_with("restarted from scratch"),
        "{note}"
    );
    assert!(!status.notes.iter().any(|n| n.starts_with("resumed from")), "{:?}", status.notes);
    assert_eq!(train_losses(&run), 6, "every update once");
    assert_eq!(checkpoints(&run), ["update-00000004", "update-00000006"]);
}

/// A long evaluation (stalled 2 s by `TTV_FAULT=slow-eval`) writes no status, yet the claim's
/// heartbeat goes on.
#[test]
fn the_heartbeat_beats_through_a_long_evaluation() {
    use std::io::BufRead;
    let (dir, spec, run) = tiny_workspace(&common::TINY.replace("epochs: 3", "epochs: 1"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_ttv-run"))
        .current_dir(dir.path())
        .arg(&spec)
        .env("TTV_REGISTRY", dir.path().join("registry"))
        .envs(common::NO_WEIGHTS.iter().copied())
        .env("TTV_FAULT", "slow-eval=1")
        .env("TTV_HEARTBEAT_S", "0.1")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut lines = stderr.lines().map_while(Result::ok);
    assert!(lines.any(|l| l.contains("stalling the evaluation after epoch 1")), "no evaluation started");
    let modified = || std::fs::metadata(run.claim_path()).and_then(|m| m.modified()).expect("the claim is held");
    let status_beat = run.read_status().unwrap().heartbeat;
    let before = modified();
    std::thread::sleep(Duration::from_millis(600));
    let after = modified();
    assert!(after > before, "the claim was touched during the evaluation");
    assert_eq!(run.read_status().unwrap().heartbeat, status_beat, "no status was written meanwhile");
    lines.for_each(drop);
    assert!(child.wait().unwrap().success());
    assert!(!run.claim_path().exists(), "released at the end");
}

/// A done run records the fingerprint of its manifest's files; when a listed file changes under
/// it, `ttv-run` warns naming the run instead of reusing it silently.
#[test]
fn a_done_run_whose_listed_files_changed_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("registry");
    std::fs::write(dir.path().join("a.gif"), b"first clip").unwrap();
    std::fs::write(dir.path().join("clips.csv"), "path,caption\na.gif,a red ball\n").unwrap();
    let text = TINY.replace("data: {", "data: {kind: folder, source: clips.csv, ");
    let p = spec_file(dir.path(), &text);
    let plan = ttv::spec::plan(&p, &[]).unwrap().runs.remove(0);
    let opts = ttv::data::LoadOptions { cache_dir: None, base_dir: Some(dir.path().to_path_buf()) };
    let recorded = ttv::store::inputs::fingerprint(&plan.spec.data, &opts).unwrap().expect("a folder has one");
    let store = Store::open(&registry).unwrap();
    let run = finished_run(&store, &plan.hash, "exp", &plan.label);
    ttv::store::record::amend(&run, |s| {
        s.data_fingerprint = Some(recorded.clone());
        true
    })
    .unwrap();

    let out = ttv_run(&[p.to_str().unwrap()], &registry);
    assert!(out.status.success(), "{}", common::text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("skipped (done)"), "{}", common::text(&out));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"), "{}", common::text(&out));

    std::fs::write(dir.path().join("a.gif"), b"another clip").unwrap();
    let out = ttv_run(&[p.to_str().unwrap()], &registry);
    assert!(out.status.success(), "{}", common::text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let named = format!("warning: run {} is done, but the files of data.source = clips.csv changed", run.short());
    assert!(stderr.contains(&named), "{stderr}");
}

// ------------------------------------------------------------------------------------------
// `ttv-run runs freeze`: result sets

/// The ended runs of one experiment go into a result set with their spec, status, metrics and
/// threshold sweep, training rows thinned and evaluations whole; checkpoints, eval clips and
/// runs of other experiments stay behind; a run still held is refused by name.
#[test]
fn runs_freeze_copies_ended_runs_with_training_metrics_thinned() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(&tmp.path().join("registry")).unwrap();
    let kept = finished_run(&store, &"a".repeat(64), "exp", "x=1");
    let mut log = MetricsLog::open(&kept.metrics_path(), &"a".repeat(64)).unwrap();
    for step in 2..=25 {
        log.push(1, step, "train", "loss", 1.0 / step as f64, step as f64);
    }
    log.push(1, 25, "eval", "gen_mse", 0.125, 25.0);
    log.save().unwrap();
    std::fs::write(kept.spec_path(), "name: exp\n").unwrap();
    std::fs::write(kept.thresholds_path(), b"sweep").unwrap();
    std::fs::create_dir_all(kept.ckpt_dir()).unwrap();
    std::fs::write(kept.ckpt_dir().join("update-00000025.mpk"), b"weights").unwrap();
    finished_run(&store, &"b".repeat(64), "other", "x=2");
    let held = finished_run(&store, &"c".repeat(64), "exp", "x=3");
    let mut status = held.read_status().unwrap();
    status.state = RunState::Running;
    status.pid = std::process::id();
    status.host = ttv::store::status::hostname();
    std::fs::write(held.status_path(), serde_json::to_vec(&status).unwrap()).unwrap();
    let _holder = claim(&held, 120.0).unwrap();

    let set = tmp.path().join("set");
    let out = ttv_run(
        &["runs", "freeze", "--experiment", "exp", "--train-every", "10", "--out", set.to_str().unwrap()],
        store.root.as_path(),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("left out, not ended: cccccccccccc"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let frozen = Store::at(&set);
    let names: Vec<String> = frozen.runs().iter().map(RunDir::short).collect();
    assert_eq!(names, ["aaaaaaaaaaaa"]);
    let run = frozen.run(&"a".repeat(64));
    let mut files: Vec<String> =
        std::fs::read_dir(run.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    assert_eq!(files, ["metrics.parquet", "spec.yaml", "status.json", "thresholds.parquet"]);
    let rows = MetricsLog::open(&run.metrics_path(), &"a".repeat(64)).unwrap().rows;
    let train: Vec<u64> = rows.iter().filter(|r| r.split == "train").map(|r| r.step).collect();
    assert_eq!(train, [10, 20, 25]);
    let eval: Vec<(u64, &str)> = rows.iter().filter(|r| r.split == "eval").map(|r| (r.step, r.metric.as_str())).collect();
    assert_eq!(eval, [(1, "recon_mse"), (25, "gen_mse")]);
    let index = ttv::store::index::read(&frozen.index_path()).unwrap();
    assert_eq!(index.height(), 1);

    // Named explicitly, a run that has not ended is refused and nothing more is written.
    let refused = ttv_run(&["runs", "freeze", "cccc", "--out", set.to_str().unwrap()], store.root.as_path());
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("run cccccccccccc is running"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(!frozen.run(&"c".repeat(64)).exists());
}
