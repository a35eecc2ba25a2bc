//! Launchers: how the runs of a spec are started. The local launcher trains them in this process
//! (`runner`); [`workers`] starts `ttv-run` processes on several devices of this host and
//! [`slurm`] submits one job array per experiment, one task per run. Each launched process
//! claims a run before it trains it, so launchers can be mixed on one store.

pub mod slurm;
pub mod workers;

use std::path::PathBuf;

use crate::backend::Device;

/// How a launched process calls `ttv-run`: this binary, the specs and their overrides, the
/// store and the device.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub exe: PathBuf,
    pub workdir: PathBuf,
    pub specs: Vec<PathBuf>,
    pub set: Vec<String>,
    pub registry: PathBuf,
    pub device: Device,
    pub retry_failed: bool,
    pub only: Vec<String>,
    pub stale_after: f64,
}

impl Invocation {
    /// This `ttv-run` with absolute paths (a launched process may start elsewhere).
    pub fn new(specs: &[PathBuf], set: &[String], registry: &std::path::Path, device: Device) -> Self {
        let absolute = |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        Self {
            exe: std::env::current_exe().unwrap_or_else(|_| "ttv-run".into()),
            workdir: absolute(std::path::Path::new(".")),
            specs: specs.iter().map(|p| absolute(p)).collect(),
            set: set.to_vec(),
            registry: absolute(registry),
            device,
            retry_failed: false,
            only: Vec::new(),
            stale_after: crate::store::DEFAULT_STALE_AFTER,
        }
    }

    /// The arguments after the binary's name.
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = self.specs.iter().map(|p| p.display().to_string()).collect();
        for set in &self.set {
            args.extend(["-s".into(), set.clone()]);
        }
        args.extend(["--registry".into(), self.registry.display().to_string()]);
        args.extend(["--device".into(), self.device.to_string()]);
        if self.retry_failed {
            args.push("--retry-failed".into());
        }
        for only in &self.only {
            args.extend(["--only".into(), only.clone()]);
        }
        if self.stale_after != crate::store::DEFAULT_STALE_AFTER {
            args.extend(["--stale-after".into(), self.stale_after.to_string()]);
        }
        args
    }
}
