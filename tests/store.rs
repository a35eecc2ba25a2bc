//! The run store and the runner as processes see them: atomic claims under a race, stale-claim
//! takeover, skipping finished work, and invalid specs writing nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use ttv::store::claim::{ClaimError, ClaimInfo, claim};
use ttv::store::{RunDir, RunState, Status, Store};

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
