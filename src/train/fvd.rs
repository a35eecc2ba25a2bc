//! FVD of each evaluation, or a record of why it is pending, from the clips the evaluation keeps
//! ([`super::fid::FidJudge`] writes them). As with FID, without the I3D weights the run records
//! FVD as pending (the summary's `fid_pending` flag covers both networks) and `ttv-run fid`
//! scores the kept clips later wherever the weights are.
//!
//! Metric rows: `fvd` and `fvd_samples` (generated clips behind it); few clips get a note
//! ([`crate::metrics::Fvd::caveat`]).

use anyhow::{Context, Result};
use burn::prelude::*;

use super::fid::Scores;
use crate::metrics::{ClipsU8, Features, Fvd, FvdNetwork, fvd_from_embeddings, load_fvd_network};
use crate::spec::types::{EvalSpec, Metric};
use crate::store::RunDir;

/// Notes recording a pending FVD start with this.
pub const PENDING_NOTE: &str = "FVD pending";

fn scores(result: &Fvd) -> Scores {
    let values = vec![("fvd".to_string(), result.fvd), ("fvd_samples".to_string(), result.generated as f64)];
    Scores { values, notes: result.caveat().into_iter().collect(), pending: false }
}

/// Scores a run's evaluations: I3D is loaded at the first one, the real clips' embeddings are
/// computed once.
pub struct FvdJudge {
    wanted: bool,
    network: Option<std::result::Result<FvdNetwork, String>>,
    real: Option<Features>,
}

impl FvdJudge {
    pub fn new(spec: &EvalSpec) -> Self {
        Self { wanted: spec.metrics.contains(&Metric::Fvd), network: None, real: None }
    }

    /// FVD of `generated` against `target` if asked for; pending (with the reason) without the
    /// weights.
    pub fn score(&mut self, target: &ClipsU8, generated: &ClipsU8, device: &Device) -> Result<Scores> {
        if !self.wanted {
            return Ok(Scores::default());
        }
        let network = match self.network.get_or_insert_with(|| load_fvd_network(device)) {
            Ok(network) => network,
            Err(reason) => {
                let note = format!("{PENDING_NOTE}: {reason}; the eval clips are kept, run `ttv-run fid` where the weights are");
                return Ok(Scores { values: vec![], notes: vec![note], pending: true });
            }
        };
        if self.real.is_none() {
            self.real = Some(network.embeddings(target)?);
        }
        let real = self.real.as_ref().expect("set above");
        Ok(scores(&fvd_from_embeddings(real, &network.embeddings(generated)?)?))
    }
}

/// Score the kept clips of one evaluation with `network` (for `ttv-run fid`); `real` caches the
/// target clips' embeddings across a run's evaluations.
pub fn score_kept(run_dir: &RunDir, epoch: u32, network: &FvdNetwork, real: &mut Option<Features>) -> Result<Scores> {
    if real.is_none() {
        let target = ClipsU8::load(&run_dir.eval_target()).context("the run kept no eval target clips")?;
        *real = Some(network.embeddings(&target)?);
    }
    let generated = ClipsU8::load(&run_dir.eval_generated(epoch))?;
    let result = fvd_from_embeddings(real.as_ref().expect("set above"), &network.embeddings(&generated)?)?;
    Ok(scores(&result))
}
