//! FID and KID of each evaluation, or a record of why they are pending.
//!
//! Every evaluation keeps its clips as uint8 (the eval targets once, the generated clips per
//! evaluation; [`RunDir::eval_target`], [`RunDir::eval_generated`]), so FID never depends on the machine that
//! trained: without the Inception weights (the GPU machine), the run records `fid_pending` and
//! `ttv-run fid` scores the kept clips later wherever the weights are.

use anyhow::{Context, Result};
use burn::prelude::*;

use crate::metrics::{ClipsU8, FidNetwork, FrameFeatures, FramewiseFid, framewise_from_features, load_fid_network};
use crate::spec::types::{EvalSpec, Metric};
use crate::store::RunDir;

/// Notes recording a pending FID start with this.
pub const PENDING_NOTE: &str = "FID pending";

/// The metric rows of one scored evaluation, and what a reader must know about them.
#[derive(Debug, Clone, Default)]
pub struct Scores {
    pub values: Vec<(String, f64)>,
    pub notes: Vec<String>,
    /// FID was asked for but could not be computed here (`notes` say why).
    pub pending: bool,
}

impl Scores {
    pub fn fid(&self) -> Option<f64> {
        self.values.iter().find(|(k, _)| k == "fid").map(|v| v.1)
    }

    fn of(result: &FramewiseFid) -> Self {
        let values = vec![
            ("fid".to_string(), result.fid),
            ("kid".to_string(), result.kid_mean),
            ("kid_std".to_string(), result.kid_std),
            ("fid_samples".to_string(), result.generated_per_frame as f64),
        ];
        Self { values, notes: result.caveat().into_iter().collect(), pending: false }
    }
}

/// Scores a run's evaluations: the network is loaded at the first one, the real clips'
/// features are computed once.
pub struct FidJudge {
    wanted: bool,
    network: Option<std::result::Result<FidNetwork, String>>,
    real: Option<FrameFeatures>,
}

impl FidJudge {
    pub fn new(spec: &EvalSpec) -> Self {
        let wanted = spec.metrics.iter().any(|m| matches!(m, Metric::Fid | Metric::Kid));
        Self { wanted, network: None, real: None }
    }

    /// Keep the clips of evaluation `epoch` and score them if the weights are here.
    pub fn score(
        &mut self,
        run_dir: &RunDir,
        epoch: u32,
        target: &ClipsU8,
        generated: &ClipsU8,
        device: &Device,
    ) -> Result<Scores> {
        let target_file = run_dir.eval_target();
        if !target_file.is_file() {
            target.save(&target_file)?;
        }
        generated.save(&run_dir.eval_generated(epoch))?;
        if !self.wanted {
            return Ok(Scores::default());
        }
        let network = match self.network.get_or_insert_with(|| load_fid_network(device)) {
            Ok(network) => network,
            Err(reason) => {
                let note = format!("{PENDING_NOTE}: {reason}; the eval clips are kept, run `ttv-run fid` where the weights are");
                return Ok(Scores { values: vec![], notes: vec![note], pending: true });
            }
        };
        let real = self.real.get_or_insert_with(|| FrameFeatures::of(target, network));
        let result = framewise_from_features(real, &FrameFeatures::of(generated, network))?;
        Ok(Scores::of(&result))
    }
}

/// Score the kept clips of one evaluation with `network` (for `ttv-run fid`).
pub fn score_kept(run_dir: &RunDir, epoch: u32, network: &FidNetwork, real: &mut Option<FrameFeatures>) -> Result<Scores> {
    if real.is_none() {
        let target = ClipsU8::load(&run_dir.eval_target()).context("the run kept no eval target clips")?;
        *real = Some(FrameFeatures::of(&target, network));
    }
    let generated = ClipsU8::load(&run_dir.eval_generated(epoch))?;
    let result = framewise_from_features(real.as_ref().expect("set above"), &FrameFeatures::of(&generated, network))?;
    Ok(Scores::of(&result))
}
