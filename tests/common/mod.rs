//! Helpers shared by the integration tests (`mod common;` in a test file): a scratch folder, the
//! tiny spec runs train on, and the real `ttv-run` binary.
//!
//! Each test binary compiles this module on its own and uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The tiny paper-family configuration: hidden 32, 4 heads, one block per stack, 8 train + 2
/// eval shapes clips of 4x16x16, batch 4 (2 updates per epoch), 3 epochs, a checkpoint every
/// epoch; FID left out so no test needs the Inception weights unless it asks.
pub const TINY: &str = "
name: tiny
data: {kind: shapes, samples: 10, eval_fraction: 0.2, frames: 4, height: 16, width: 16}
model:
  hidden: 32
  heads: 4
  text_encoder: {kind: paper, layers: 1, max_len: 8}
  engine: {kind: hrm, h_layers: 1, l_layers: 1, max_steps: 2}
training:
  epochs: 3
  batch_size: 4
  grad_accum: 1
  checkpoint_every: 1
  optimizer: {lr: 1.0e-3}
  schedule: {kind: constant, warmup_steps: 2}
eval:
  metrics: [recon_mse, gen_mse, avg_steps, halting_accuracy]
  prompts: [a red ball moving left to right, a blue square rotating clockwise]
seeds: [0]
";

/// Environment in which `ttv-run` finds no FID weights anywhere (FID stays pending).
pub const NO_WEIGHTS: &[(&str, &str)] =
    &[("TTV_ASSETS", "/nonexistent"), ("HOME", "/nonexistent"), ("XDG_CACHE_HOME", "/nonexistent")];

/// A scratch folder, removed when dropped.
pub struct Workspace(pub tempfile::TempDir);

impl Workspace {
    pub fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Write `text` to `name` (relative to the folder, parents created) and return its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }
}

/// `ttv-run` with `args`, run in `dir` on the store `dir/registry`, with `env` set and no
/// injected fault unless `env` names one (`TTV_FAULT`).
pub fn ttv_run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ttv-run"));
    cmd.current_dir(dir).args(args).env("TTV_REGISTRY", dir.join("registry")).env_remove("TTV_FAULT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("ttv-run starts")
}

/// A command's stdout and stderr, for assertion messages.
pub fn text(o: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// `status.json` of every run in `ws`'s store (`registry/`), in seed order; runs without a
/// readable status are left out.
pub fn statuses(ws: &Workspace) -> Vec<serde_json::Value> {
    let runs = ws.path().join("registry/runs");
    let mut out: Vec<serde_json::Value> = std::fs::read_dir(&runs)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("status.json")).ok())
        .filter_map(|b| serde_json::from_slice(&b).ok())
        .collect();
    out.sort_by_key(|s| s["seed"].as_u64());
    out
}

/// Whether the run whose status is `status` has written a checkpoint in `ws`'s store.
pub fn checkpointed(ws: &Workspace, status: &serde_json::Value) -> bool {
    let short = &status["hash"].as_str().unwrap()[..12];
    std::fs::read_dir(ws.path().join("registry/runs").join(short).join("ckpt")).is_ok_and(|mut d| d.next().is_some())
}
