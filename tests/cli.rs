//! The command line as a user meets it: values refused while parsing (exit 2), hints for common
//! mistakes, `runs ls|show|rm`, `--dry-run --json`, completions, progress lines, and a sweep that
//! goes on past a run that fails.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{NO_WEIGHTS, TINY, Workspace, text, ttv_run};
use ttv::store::{RunState, Store};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `bin` (ttv-report or ttv-bench) with `args`.
fn other(bin: &str, args: &[&str]) -> Output {
    Command::new(bin).args(args).output().expect("the binary starts")
}

#[test]
fn bad_values_are_refused_while_parsing() {
    let d = Workspace::new();
    let spec = d.write("tiny.yaml", TINY);
    let spec = spec.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&[spec, "--dry-run", "--stale-after", "NaN"], "--stale-after"),
        (&[spec, "--dry-run", "--stale-after", "0"], "> 0"),
        (&["generate", "--run", "abcd", ""], "must not be empty"),
        (&["generate", "--run", "abcd", "a red ball", "--threshold", "NaN"], "(0, 1]"),
        (&["generate", "--run", "abcd", "a red ball", "--threshold", "0"], "(0, 1]"),
        (&["generate", "--run", "abcd", "a red ball", "--steps", "0"], "--steps"),
        (&["generate", "--run", "xyz!", "a red ball"], "not a run hash"),
    ];
    for (args, says) in cases {
        let out = ttv_run(d.path(), args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(stderr(&out).contains(says), "{args:?} should say {says}: {}", text(&out));
    }
    assert!(!d.path().join("registry").exists(), "nothing was written");
}

#[test]
fn hydra_overrides_and_mistyped_subcommands_get_a_hint() {
    let d = Workspace::new();
    let spec = d.write("tiny.yaml", TINY);
    let out = ttv_run(d.path(), &[spec.to_str().unwrap(), "training.epochs=3"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr(&out).contains("did you mean `-s training.epochs=3`?"), "{}", text(&out));
    let out = ttv_run(d.path(), &["genrate"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr(&out).contains("did you mean the subcommand `generate`?"), "{}", text(&out));
    let out = ttv_run(d.path(), &["runs", "lss"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(stderr(&out).contains("'ls'"), "clap suggests the subcommand: {}", text(&out));
    assert!(!d.path().join("registry").exists());
}

#[test]
fn completions_cover_every_binary() {
    let d = Workspace::new();
    let bash = stdout(&ttv_run(d.path(), &["completions", "bash"], &[]));
    for word in ["generate", "runs", "--dry-run", "--stale-after"] {
        assert!(bash.contains(word), "{word} in the bash script");
    }
    let zsh = other(env!("CARGO_BIN_EXE_ttv-report"), &["completions", "zsh"]);
    assert!(zsh.status.success() && stdout(&zsh).contains("--registry"), "{}", text(&zsh));
    let fish = other(env!("CARGO_BIN_EXE_ttv-bench"), &["completions", "fish"]);
    assert!(fish.status.success() && stdout(&fish).contains("perf"), "{}", text(&fish));
}

/// Two run directories whose hashes share their first digits, each with a readable status (of a
/// failed run: a done one would need its metrics too).
fn two_lookalike_runs(registry: &Path) {
    for (short, label) in [("abcd11111111", "a"), ("abcd22222222", "b")] {
        let dir = registry.join("runs").join(short);
        std::fs::create_dir_all(&dir).unwrap();
        let hash = format!("{short}{}", "0".repeat(52));
        let status = serde_json::json!({
            "hash": hash, "state": "failed", "pid": 1, "host": "elsewhere", "heartbeat": 0.0, "started": 0.0,
            "finished": 1.0, "error": null, "git": null, "versions": {}, "device": "cpu",
            "experiments": {"exp": label}, "seed": 0, "summary": {}, "notes": []
        });
        std::fs::write(dir.join("status.json"), status.to_string()).unwrap();
    }
}

#[test]
fn a_hash_prefix_names_exactly_one_run_or_the_error_lists_the_candidates() {
    let d = Workspace::new();
    two_lookalike_runs(&d.path().join("registry"));
    let out = ttv_run(d.path(), &["generate", "--run", "ABCD", "a red ball"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = stderr(&out);
    assert!(err.contains("abcd matches 2 runs; give more digits"), "{err}");
    assert!(err.contains("abcd11111111  exp a  seed 0  failed") && err.contains("abcd22222222  exp b"), "{err}");

    let out = ttv_run(d.path(), &["runs", "show", "abce"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = stderr(&out);
    assert!(err.contains("no run abce in") && err.contains("abcd11111111") && err.contains("abcd22222222"), "{err}");
}

#[test]
fn dry_run_json_lists_the_runs_to_do() {
    let d = Workspace::new();
    let spec = d.write("tiny.yaml", &format!("{TINY}sweep:\n  model.halting.threshold: [0.3, 0.6]\n"));
    let out = ttv_run(d.path(), &[spec.to_str().unwrap(), "--dry-run", "--json", "-s", "seeds=[0,1]"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let runs = plan.as_array().unwrap();
    assert_eq!(runs.len(), 4);
    let hashes = ttv::spec::plan(&spec, &["seeds=[0,1]".to_string()]).unwrap().runs;
    for (run, planned) in runs.iter().zip(&hashes) {
        assert_eq!(run["hash"], planned.hash.as_str());
        assert_eq!(run["variant"], planned.label.as_str());
        assert_eq!(run["variant_id"], ttv::spec::variant_id(&planned.spec).as_str());
        assert_eq!(run["seed"], planned.seed);
        assert_eq!(run["experiment"], "tiny");
        assert_eq!(run["state"], "new");
        assert_eq!(run["todo"], true);
    }
    assert_eq!(runs[0]["settings"]["model.halting.threshold"], 0.3);
    let ids: std::collections::BTreeSet<&str> = runs.iter().map(|r| r["variant_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2, "the two seeds of a threshold are one variant");
    let out = ttv_run(d.path(), &[spec.to_str().unwrap(), "--json"], &[]);
    assert_eq!(out.status.code(), Some(2), "--json needs --dry-run: {}", text(&out));
}

/// The runs of the tiny spec trained for one epoch, seeds 0 and 1.
const ONE_EPOCH: &[&str] = &["-s", "training.epochs=1", "-s", "seeds=[0,1]"];

#[test]
fn runs_ls_show_and_rm_on_a_tiny_store() {
    let d = Workspace::new();
    let spec = d.write("tiny.yaml", TINY);
    let spec = spec.to_str().unwrap();
    let out = ttv_run(d.path(), &[&[spec][..], ONE_EPOCH].concat(), NO_WEIGHTS);
    assert!(out.status.success(), "{}", text(&out));
    // The end of a run says where its GIFs are and how to render the report; progress went to
    // stderr as lines, since stderr is not a terminal here.
    let said = stdout(&out);
    assert!(said.contains("samples (newest evaluation):") && said.contains("samples/epoch_1/00.gif"), "{said}");
    assert!(said.contains("ttv-report") && said.contains(" tiny") && said.contains("reports/tiny/index.html"), "{said}");
    assert!(stderr(&out).lines().any(|l| l.starts_with('[') && l.contains(" s] tiny run 1/2")), "{}", text(&out));

    let registry = d.path().join("registry");
    let store = Store::at(&registry);
    let plans = ttv::spec::plan(Path::new(spec), &ONE_EPOCH.iter().skip(1).step_by(2).map(|s| s.to_string()).collect::<Vec<_>>())
        .unwrap()
        .runs;
    let (first, second) = (plans[0].short().to_string(), plans[1].short().to_string());

    let ls = ttv_run(d.path(), &["runs", "ls"], &[]);
    assert!(ls.status.success(), "{}", text(&ls));
    let table = stdout(&ls);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("hash") && lines[0].contains("updated (UTC)"), "{table}");
    assert_eq!(lines.len(), 3, "{table}");
    for (line, short, seed) in [(lines[1], &first, "0"), (lines[2], &second, "1")] {
        let cells: Vec<&str> = line.split_whitespace().collect();
        // The label names the override (`-s training.epochs=1`) that sets the runs apart from the spec.
        assert_eq!(&cells[..6], &[short.as_str(), "tiny", "epochs=1", seed, "done", "2"], "{table}");
    }
    // With the spec: its planned runs, a new one included.
    let ls = ttv_run(d.path(), &["runs", "ls", spec, "-s", "training.epochs=1", "-s", "seeds=[0,1,2]"], &[]);
    let table = stdout(&ls);
    assert_eq!(table.lines().count(), 4, "{}", text(&ls));
    assert!(table.lines().nth(3).unwrap().contains(" new "), "{table}");
    let failed_only = ttv_run(d.path(), &["runs", "ls", "--state", "failed"], &[]);
    assert!(stdout(&failed_only).contains("no runs"), "{}", text(&failed_only));

    let show = ttv_run(d.path(), &["runs", "show", &first[..6]], &[]);
    assert!(show.status.success(), "{}", text(&show));
    let shown = stdout(&show);
    for want in
        ["state       done", "experiment  tiny (epochs=1)", "recon_mse", "spec.yaml", "metrics.parquet", "ckpt/update-00000002"]
    {
        assert!(shown.contains(want), "{want}:\n{shown}");
    }
    assert!(shown.contains("samples/epoch_1/00.gif  a red ball moving left to right"), "{shown}");

    // More reasoning steps than the run trained with are refused.
    let out = ttv_run(d.path(), &["generate", "--run", &first, "a red ball", "--steps", "99"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stderr(&out).contains("at most 2 reasoning steps"), "{}", text(&out));

    // A run held by a live runner (this test process, on this host) is refused, the other removed.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string();
    let claim = serde_json::json!({"pid": std::process::id(), "host": host, "time": 0.0, "nonce": "test"});
    std::fs::write(store.run(&plans[1].hash).claim_path(), claim.to_string()).unwrap();
    let rm = ttv_run(d.path(), &["runs", "rm", &first, &second], &[]);
    assert_eq!(rm.status.code(), Some(1), "{}", text(&rm));
    assert!(stderr(&rm).contains("held by a live runner"), "{}", text(&rm));
    assert!(!store.run(&plans[0].hash).exists() && store.run(&plans[1].hash).exists());
    let index = ttv::store::index::read(&store.index_path()).unwrap();
    assert_eq!(index.height(), 1, "the index no longer lists the removed run");
    std::fs::remove_file(store.run(&plans[1].hash).claim_path()).unwrap();
    let rm = ttv_run(d.path(), &["runs", "rm", &second], &[]);
    assert!(rm.status.success(), "{}", text(&rm));
    assert_eq!(std::fs::read_dir(registry.join("runs")).unwrap().count(), 0);
    assert_eq!(std::fs::read_dir(registry.join(".removing")).unwrap().count(), 0, "nothing left half removed");
}

#[test]
fn a_run_that_fails_is_marked_failed_and_the_sweep_goes_on() {
    let d = Workspace::new();
    // Variant 1 cannot store its resolved spec (a folder is in the way); variant 2 trains;
    // variant 3 reads a manifest that does not exist (`true` stands in for ffmpeg, which is
    // asked for its version first).
    let sweep = "sweep:\n  data.seed: [0, 1]\ninclude:\n  - {data.kind: folder, data.source: missing.csv, data.ffmpeg: 'true'}\n";
    let spec = d.write("tiny.yaml", &format!("{TINY}{sweep}"));
    let set = ["training.epochs=1".to_string()];
    let plans = ttv::spec::plan(&spec, &set).unwrap().runs;
    assert_eq!(plans.len(), 3);
    let store = Store::at(&d.path().join("registry"));
    std::fs::create_dir_all(store.run(&plans[0].hash).spec_path()).unwrap();

    let out = ttv_run(d.path(), &[spec.to_str().unwrap(), "-s", &set[0]], NO_WEIGHTS);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stderr(&out).contains("2 of 3 run(s) failed"), "{}", text(&out));
    let states: Vec<RunState> = plans.iter().map(|p| store.state(&p.hash)).collect();
    assert_eq!(states, [RunState::Failed, RunState::Done, RunState::Failed], "{}", text(&out));
    let error = |i: usize| store.status(&plans[i].hash).unwrap().error.unwrap_or_default();
    assert!(error(0).contains("spec.yaml"), "{}", error(0));
    assert!(error(2).contains("missing.csv"), "{}", error(2));
    let listed = stdout(&ttv_run(d.path(), &["runs", "ls", "--state", "failed"], &[]));
    assert_eq!(listed.lines().count(), 3, "{listed}");
}
