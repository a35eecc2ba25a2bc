//! One run's directory, `runs/<hash12>/`: the only place that knows its layout.
//!
//! ```text
//! spec.yaml                   the resolved spec (its hash names the directory)
//! status.json                 lifecycle state, holder, provenance, summary, notes
//! metrics.parquet             every measured value, long format
//! ckpt/<name>/                checkpoints (model, optimizer moments, trainer position)
//! eval/target.safetensors     the eval clips, uint8, kept once
//! eval/epoch_<E>.safetensors  the clips generated at evaluation E, uint8
//! samples/                    data_preview.gif (+ .txt), epoch_<E>/<i>.gif + prompts.txt
//! claim, takeover             the runner holding the run, and the lock for taking it over
//! status.lock                 held while the status is read, merged and written
//! <file>.damaged              a damaged file set aside when the run is rerun
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::atomic::write_atomic;
use super::metrics::MetricsLog;
use super::path_error;
use super::status::Status;
use crate::spec::RunPlan;
use crate::spec::types::RunSpec;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory's name: the run hash's first 12 hex digits.
    pub fn short(&self) -> String {
        self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }

    pub fn exists(&self) -> bool {
        self.path.exists()
    }

    pub fn spec_path(&self) -> PathBuf {
        self.path.join("spec.yaml")
    }

    pub fn status_path(&self) -> PathBuf {
        self.path.join("status.json")
    }

    pub fn metrics_path(&self) -> PathBuf {
        self.path.join("metrics.parquet")
    }

    /// The run evaluated again at other halting thresholds (`ttv-run thresholds`).
    pub fn thresholds_path(&self) -> PathBuf {
        self.path.join("thresholds.parquet")
    }

    pub fn ckpt_dir(&self) -> PathBuf {
        self.path.join("ckpt")
    }

    fn eval_dir(&self) -> PathBuf {
        self.path.join("eval")
    }

    /// The eval split's clips as evaluation saw them (kept once).
    pub fn eval_target(&self) -> PathBuf {
        self.eval_dir().join("target.safetensors")
    }

    /// The clips generated at the evaluation after `epoch`.
    pub fn eval_generated(&self, epoch: u32) -> PathBuf {
        self.eval_dir().join(format!("epoch_{epoch}.safetensors"))
    }

    pub fn samples_dir(&self) -> PathBuf {
        self.path.join("samples")
    }

    /// The grid of the first training clips (GIF; its captions in a `.txt` beside it).
    pub fn data_preview(&self) -> PathBuf {
        self.samples_dir().join("data_preview.gif")
    }

    /// The prompt GIFs of the evaluation after `epoch`.
    pub fn samples_at(&self, epoch: u32) -> PathBuf {
        self.samples_dir().join(format!("epoch_{epoch}"))
    }

    /// Epochs with prompt GIFs, ascending.
    pub fn sample_epochs(&self) -> Vec<u32> {
        let mut out: Vec<u32> = std::fs::read_dir(self.samples_dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.strip_prefix("epoch_")?.parse().ok())
            .collect();
        out.sort_unstable();
        out
    }

    pub fn claim_path(&self) -> PathBuf {
        self.path.join("claim")
    }

    /// The short-lived lock under which a stale claim is taken over.
    pub fn takeover_path(&self) -> PathBuf {
        self.path.join("takeover")
    }

    /// The lock under which the status is read, merged and written ([`super::record`]).
    pub fn status_lock_path(&self) -> PathBuf {
        self.path.join("status.lock")
    }

    /// Move the damaged `file` aside to `<file>.damaged` (replacing an older one), so that a
    /// rerun starts without it and the bytes stay for a look; the new name.
    pub fn set_aside(&self, file: &Path) -> std::io::Result<PathBuf> {
        let mut name = file.file_name().unwrap_or_default().to_os_string();
        name.push(".damaged");
        let to = file.with_file_name(name);
        match std::fs::rename(file, &to) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(path_error::io(file, e)),
            _ => Ok(to),
        }
    }

    /// Write the resolved spec of `plan` (atomically), headed by its hash and format version.
    pub fn write_spec(&self, plan: &RunPlan) -> std::io::Result<()> {
        let header = format!("# ttv resolved run spec\n# hash: {}\n# format: {}\n", plan.hash, crate::spec::FORMAT_VERSION);
        let body = serde_norway::to_string(&plan.spec).map_err(std::io::Error::other)?;
        write_atomic(&self.spec_path(), format!("{header}{body}").as_bytes())
    }

    /// The resolved spec stored beside the run's results.
    pub fn read_spec(&self) -> Result<RunSpec> {
        let path = self.spec_path();
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        serde_norway::from_str(&text).with_context(|| format!("{}: not a resolved run spec", path.display()))
    }

    /// The resolved spec's text, as stored.
    pub fn spec_text(&self) -> Option<String> {
        std::fs::read_to_string(self.spec_path()).ok()
    }

    /// The stored status; an error names the file and keeps the kind (`NotFound`: no status yet).
    pub fn read_status(&self) -> std::io::Result<Status> {
        let path = self.status_path();
        let bytes = std::fs::read(&path).map_err(path_error::at(&path))?;
        Status::parse(&bytes).map_err(path_error::at(&path))
    }

    /// The run's metrics log (empty if none was saved yet); an error names the file.
    pub fn metrics(&self, run: &str) -> Result<MetricsLog> {
        MetricsLog::open(&self.metrics_path(), run)
    }
}
