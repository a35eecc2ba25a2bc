//! The Slurm launcher on a real one-node Slurm cluster (tests/slurm/cluster.sh starts munged,
//! slurmctld and slurmd under a scratch folder): a sweep submitted as a job array ends with every
//! run done exactly once, `ttv-run status` shows them with their jobs, a resubmission has nothing
//! to do, and a task cancelled mid-run resumes from its checkpoint when resubmitted.
//!
//! Needs root and Debian's `slurm-wlm` and `munge` (`.ci/run` installs them); skipped with a
//! message elsewhere.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{NO_WEIGHTS, TINY, Workspace, checkpointed, statuses, text, ttv_run};

/// A running test cluster, stopped when dropped.
struct Cluster {
    dir: PathBuf,
    conf: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slurm/cluster.sh")
}

impl Cluster {
    /// Start one, or say why this machine cannot.
    fn start(dir: &Path) -> Result<Self, String> {
        let found = |name: &str| {
            Command::new("sh").args(["-c", &format!("command -v {name}")]).output().is_ok_and(|o| o.status.success())
        };
        if let Some(missing) = ["slurmctld", "slurmd", "munged", "sbatch"].into_iter().find(|n| !found(n)) {
            return Err(format!("{missing} is not installed"));
        }
        if unsafe { libc::geteuid() } != 0 {
            return Err("slurmd must run as root".into());
        }
        // Ports of this process's own, so a concurrent test run elsewhere on the machine does not clash.
        let port = 20000 + (std::process::id() % 20000) as u16 * 2 % 20000;
        let out = Command::new("bash")
            .arg(script())
            .args(["start", &dir.display().to_string()])
            .env("SLURMCTLD_PORT", port.to_string())
            .env("SLURMD_PORT", (port + 1).to_string())
            .output()
            .map_err(|e| e.to_string())?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        match stdout.lines().find_map(|l| l.strip_prefix("SLURM_CONF=")) {
            Some(conf) if out.status.success() => Ok(Self { dir: dir.to_path_buf(), conf: conf.to_string() }),
            _ => panic!("the test cluster did not start:\n{}", String::from_utf8_lossy(&out.stderr)),
        }
    }

    fn env(&self) -> Vec<(&str, &str)> {
        let mut env = NO_WEIGHTS.to_vec();
        env.push(("SLURM_CONF", &self.conf));
        env
    }

    /// Whether Slurm still has jobs (queued or running).
    fn busy(&self) -> bool {
        let out = Command::new("squeue").args(["-h", "-o", "%i"]).env("SLURM_CONF", &self.conf).output().unwrap();
        !String::from_utf8_lossy(&out.stdout).trim().is_empty()
    }

    fn wait_idle(&self, limit: Duration) {
        let start = Instant::now();
        while self.busy() {
            assert!(start.elapsed() < limit, "Slurm jobs still queued after {limit:?}");
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(script()).args(["stop", &self.dir.display().to_string()]).status();
    }
}

#[test]
fn slurm_sweeps_run_once_and_cancelled_tasks_resume() {
    let ws = Workspace::new();
    let cluster = match Cluster::start(&ws.path().join("slurm")) {
        Ok(c) => c,
        Err(why) => {
            eprintln!("skipped: no test Slurm cluster here ({why})");
            return;
        }
    };
    ws.write("tiny.yaml", TINY);
    let env = cluster.env();

    // A 3-run sweep: one array task per run, each done once.
    let sweep = ["tiny.yaml", "-s", "seeds=[0,1,2]", "--launcher", "slurm", "--max-parallel", "2"];
    let o = ttv_run(ws.path(), &sweep, &env);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("submitted 3 of 3 runs"), "{}", text(&o));
    cluster.wait_idle(Duration::from_secs(120));
    let runs = statuses(&ws);
    assert_eq!(runs.len(), 3, "{runs:?}");
    let mut jobs: Vec<&str> = runs.iter().map(|s| s["job"].as_str().expect("a job id")).collect();
    jobs.dedup();
    assert_eq!(jobs.len(), 3, "one task per run: {jobs:?}");
    for s in &runs {
        assert_eq!(s["state"], "done", "{s}");
        assert_eq!(s["summary"]["updates"], 6, "{s}");
    }
    let status_args = ["status", "tiny.yaml", "-s", "seeds=[0,1,2]"];
    let o = ttv_run(ws.path(), &status_args, &env);
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(shown.contains("3 runs (3 done)") && jobs.iter().all(|j| shown.contains(j)), "{}", text(&o));
    let o = ttv_run(ws.path(), &sweep, &env);
    assert!(String::from_utf8_lossy(&o.stdout).contains("nothing to run"), "{}", text(&o));
    assert!(!cluster.busy(), "a resubmission of a done sweep queued jobs");

    // A long run cancelled once it checkpointed: interrupted, then finished by a resubmission.
    let long = ["tiny.yaml", "-s", "seeds=[7]", "-s", "training.epochs=300", "-s", "eval.every=300", "--launcher", "slurm"];
    let o = ttv_run(ws.path(), &long, &env);
    assert!(o.status.success(), "{}", text(&o));
    let job =
        String::from_utf8_lossy(&o.stdout).split("Slurm job ").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    let seed7 = |ws: &Workspace| statuses(ws).into_iter().find(|s| s["seed"] == 7);
    let start = Instant::now();
    while !seed7(&ws).is_some_and(|s| s["state"] == "running" && checkpointed(&ws, &s)) {
        assert!(start.elapsed() < Duration::from_secs(60), "the long run never checkpointed: {:?}", seed7(&ws));
        std::thread::sleep(Duration::from_millis(200));
    }
    let cancel = Command::new("scancel").arg(&job).env("SLURM_CONF", &cluster.conf).status().unwrap();
    assert!(cancel.success());
    cluster.wait_idle(Duration::from_secs(60));
    let cut = seed7(&ws).unwrap();
    assert_eq!(cut["state"], "interrupted", "{cut}");
    let cut_at = cut["summary"]["updates"].as_u64().unwrap();
    assert!(cut_at < 600, "{cut}");
    let o = ttv_run(ws.path(), &long, &env);
    assert!(String::from_utf8_lossy(&o.stdout).contains("submitted 1 of 1 runs"), "{}", text(&o));
    cluster.wait_idle(Duration::from_secs(150));
    let resumed = seed7(&ws).unwrap();
    assert_eq!(resumed["state"], "done", "{resumed}");
    assert_eq!(resumed["summary"]["updates"], 600, "{resumed}");
    assert_ne!(resumed["job"].as_str(), Some(job.as_str()), "the resubmission is a new job");
}
