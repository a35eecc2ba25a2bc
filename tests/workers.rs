//! Worker processes on this host's devices (`--devices`, `--workers-per-device`), on the CPU:
//! a sweep trains every run exactly once over two workers, and a worker killed mid-run is
//! replaced by one that takes its run over and finishes it, and a stop sent to the launcher
//! reaches every worker.

mod common;

use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use common::{NO_WEIGHTS, TINY, Workspace, checkpointed, statuses, text};

fn ttv_run(ws: &Workspace, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ttv-run"));
    cmd.current_dir(ws.path()).args(args).env("TTV_REGISTRY", ws.path().join("registry")).env_remove("TTV_FAULT");
    cmd.envs(NO_WEIGHTS.iter().copied());
    cmd
}

#[test]
fn two_workers_train_every_run_of_a_sweep_once() {
    let ws = Workspace::new();
    ws.write("tiny.yaml", TINY);
    let o =
        ttv_run(&ws, &["tiny.yaml", "-s", "seeds=[0,1,2,3]", "--devices", "cpu", "--workers-per-device", "2"]).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let runs = statuses(&ws);
    assert_eq!(runs.len(), 4);
    for s in &runs {
        assert_eq!(s["state"], "done", "{s}");
        assert_eq!(s["summary"]["updates"], 6, "{s}");
        let short = &s["hash"].as_str().unwrap()[..12];
        // Each run trained by one worker, and each worker's lines carry its name.
        let trained: Vec<&str> = out.lines().filter(|l| l.contains(short) && l.trim_end().ends_with(": done")).collect();
        assert_eq!(trained.len(), 1, "{short} trained {} times:\n{out}", trained.len());
        assert!(trained[0].starts_with("cpu#0 |") || trained[0].starts_with("cpu#1 |"), "{}", trained[0]);
    }
    let pids: std::collections::HashSet<u64> = runs.iter().map(|s| s["pid"].as_u64().unwrap()).collect();
    assert_eq!(pids.len(), 2, "two worker processes shared the runs: {pids:?}");
}

#[test]
fn a_killed_worker_is_replaced_and_its_run_taken_over() {
    let ws = Workspace::new();
    ws.write("tiny.yaml", TINY);
    let args = ["tiny.yaml", "-s", "seeds=[0,1]", "-s", "training.epochs=100", "-s", "eval.every=100"];
    let parent = ttv_run(&ws, &[&args[..], &["--devices", "cpu", "--workers-per-device", "2"]].concat())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once a run has checkpointed, kill its worker outright.
    let start = Instant::now();
    let victim = loop {
        let progressed = statuses(&ws).into_iter().find(|s| s["state"] == "running" && checkpointed(&ws, s));
        if let Some(s) = progressed {
            break s;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no run checkpointed: {:?}", statuses(&ws));
        std::thread::sleep(Duration::from_millis(100));
    };
    let pid = victim["pid"].as_u64().unwrap() as i32;
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let o = parent.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("died"), "{}", text(&o));
    let runs = statuses(&ws);
    for s in &runs {
        assert_eq!(s["state"], "done", "{s}");
        assert_eq!(s["summary"]["updates"], 200, "{s}");
    }
    let taken_over = runs.iter().find(|s| s["hash"] == victim["hash"]).unwrap();
    assert_ne!(taken_over["pid"].as_u64().unwrap() as i32, pid, "the run was finished by another process");
}

#[test]
fn a_stop_sent_to_the_launcher_alone_reaches_every_worker() {
    let ws = Workspace::new();
    ws.write("tiny.yaml", TINY);
    let args = ["tiny.yaml", "-s", "seeds=[0,1]", "-s", "training.epochs=100", "-s", "eval.every=100"];
    let launch = [&args[..], &["--devices", "cpu", "--workers-per-device", "2"]].concat();
    let mut parent = ttv_run(&ws, &launch)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        // Its own process group: the signal below reaches the launcher only, as `kill PID` does.
        .process_group(0)
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !statuses(&ws).iter().filter(|s| s["state"] == "running").all(|s| checkpointed(&ws, s))
        || statuses(&ws).iter().filter(|s| s["state"] == "running").count() < 2
    {
        assert!(start.elapsed() < Duration::from_secs(60), "runs did not start: {:?}", statuses(&ws));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(unsafe { libc::kill(parent.id() as i32, libc::SIGTERM) }, 0);
    let status = parent.wait().unwrap();
    assert_eq!(status.code(), Some(130), "the launcher reports the stop");
    for s in statuses(&ws) {
        // Each worker checkpointed its run and recorded how it ended: nothing reads `running`.
        assert_eq!(s["state"], "interrupted", "{s}");
        assert!(checkpointed(&ws, &s), "{s}");
    }
    // The next launch resumes both runs from their checkpoints and completes them.
    let o = ttv_run(&ws, &launch).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    for s in statuses(&ws) {
        assert_eq!(s["state"], "done", "{s}");
        assert_eq!(s["summary"]["updates"], 200, "{s}");
    }
}
