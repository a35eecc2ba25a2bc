//! Checkpoints: `ckpt/<name>/` holding the model as safetensors, the AdamW moments and the
//! trainer's position. A checkpoint is assembled in a hidden temp folder and renamed into place,
//! so a reader sees all of it or none of it; `trainer.json` being readable is what makes it valid.
//!
//! The optimizer's state is keyed by parameter ids, which are not stable across processes (a
//! rebuilt model gets fresh ids); it is stored keyed by each parameter's position in the module
//! tree and mapped back onto the new model's ids on load.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use burn::module::{AutodiffModule, ModuleVisitor, Param, ParamId};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamW, Optimizer};
use burn::prelude::*;
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};

use crate::store::atomic::write_atomic;

pub const MODEL_FILE: &str = "model.safetensors";
const OPTIMIZER_FILE: &str = "optimizer.mpk";
const TRAINER_FILE: &str = "trainer.json";
pub type AdamWOptimizer<M, B> = OptimizerAdaptor<AdamW, M, B>;
/// The optimizer's state per parameter id (burn's own map type).
type MomentsRecord<M, B> = <AdamWOptimizer<M, B> as Optimizer<M, B>>::Record;

/// The checkpoint kept for the lowest eval FID.
pub const BEST: &str = "best";

/// Where training stands: enough to continue exactly where it stopped.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrainerState {
    pub run: String,
    /// Epoch (1-based) and micro-batch within it where training continues.
    pub epoch: u32,
    pub batch: usize,
    /// Optimizer updates done.
    pub updates: u64,
    /// Training wall time spent so far, over every attempt.
    pub train_s: f64,
    pub best_fid: Option<f64>,
    /// Seconds of the last update and the last evaluation: the room the time budget keeps, so
    /// that a run stopped by its budget stops again at once when resumed under the same one.
    #[serde(default)]
    pub update_s: f64,
    #[serde(default)]
    pub eval_s: f64,
}

/// Parameter ids in module-tree order (the same order for the same architecture).
struct ParamOrder(Vec<ParamId>);

impl<B: Backend> ModuleVisitor<B> for ParamOrder {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.0.push(param.id);
    }
}

fn param_order<B: Backend, M: Module<B>>(model: &M) -> Vec<ParamId> {
    let mut order = ParamOrder(Vec::new());
    model.visit(&mut order);
    order.0
}

/// Write checkpoint `name` under `dir` atomically; returns the model file's size in bytes.
pub fn save<B: AutodiffBackend, M: AutodiffModule<B>>(
    dir: &Path,
    name: &str,
    model: &M,
    optimizer: &AdamWOptimizer<M, B>,
    state: &TrainerState,
) -> Result<u64> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".tmp-{name}-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    std::fs::create_dir_all(&tmp)?;

    let mut store = SafetensorsStore::from_bytes(None).metadata("ttv_run", state.run.as_str());
    model.save_into(&mut store).map_err(|e| anyhow!("serialising the model: {e}"))?;
    let model_bytes = store.get_bytes().map_err(|e| anyhow!("serialising the model: {e}"))?;
    write_atomic(&tmp.join(MODEL_FILE), &model_bytes)?;

    let position: HashMap<ParamId, u64> = param_order(model).into_iter().enumerate().map(|(i, id)| (id, i as u64)).collect();
    let record: MomentsRecord<M, B> =
        optimizer.to_record().into_iter().map(|(id, r)| (ParamId::from(position[&id]), r)).collect();
    let bytes = Recorder::<B>::record(&NamedMpkBytesRecorder::<FullPrecisionSettings>::default(), record, ())
        .map_err(|e| anyhow!("serialising the optimizer state: {e}"))?;
    write_atomic(&tmp.join(OPTIMIZER_FILE), &bytes)?;
    write_atomic(&tmp.join(TRAINER_FILE), &serde_json::to_vec_pretty(state)?)?;

    let target = dir.join(name);
    if target.exists() {
        let old = dir.join(format!(".old-{name}-{}", std::process::id()));
        std::fs::rename(&target, &old)?;
        std::fs::rename(&tmp, &target)?;
        std::fs::remove_dir_all(&old)?;
    } else {
        std::fs::rename(&tmp, &target)?;
    }
    Ok(model_bytes.len() as u64)
}

/// The name periodic checkpoints get: ordered by the number of updates.
pub fn periodic_name(updates: u64) -> String {
    format!("update-{updates:08}")
}

/// Read a checkpoint's trainer state; `None` if it is incomplete or unreadable.
pub fn read_state(path: &Path) -> Option<TrainerState> {
    let bytes = std::fs::read(path.join(TRAINER_FILE)).ok()?;
    let state: TrainerState = serde_json::from_slice(&bytes).ok()?;
    (path.join(MODEL_FILE).is_file() && path.join(OPTIMIZER_FILE).is_file()).then_some(state)
}

/// The newest valid periodic checkpoint of a run, if any.
pub fn newest(dir: &Path) -> Option<(PathBuf, TrainerState)> {
    let mut found: Vec<(PathBuf, TrainerState)> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("update-"))
        .filter_map(|e| read_state(&e.path()).map(|s| (e.path(), s)))
        .collect();
    found.sort_by_key(|(_, s)| s.updates);
    found.pop()
}

/// Remove periodic checkpoints other than `keep` (the newest is enough to resume).
pub fn prune(dir: &Path, keep: &str) -> Result<()> {
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with("update-") && name != keep {
            std::fs::remove_dir_all(entry.path())?;
        }
    }
    Ok(())
}

/// Load a checkpoint's weights into `model` (built from the same spec).
pub fn load_model<B: Backend, M: Module<B>>(path: &Path, mut model: M) -> Result<M> {
    let file = path.join(MODEL_FILE);
    let mut store = SafetensorsStore::from_file(&file);
    let applied = model.load_from(&mut store).map_err(|e| anyhow!("{}: {e}", file.display()))?;
    if !applied.errors.is_empty() || !applied.missing.is_empty() {
        bail!(
            "{}: does not fit the model (missing {:?}, errors {:?})",
            file.display(),
            applied.missing.iter().map(|m| &m.0).collect::<Vec<_>>(),
            applied.errors
        );
    }
    Ok(model)
}

/// Load a checkpoint's optimizer state onto `model`'s parameter ids.
pub fn load_optimizer<B: AutodiffBackend, M: AutodiffModule<B>>(
    path: &Path,
    model: &M,
    optimizer: AdamWOptimizer<M, B>,
    device: &B::Device,
) -> Result<AdamWOptimizer<M, B>> {
    let file = path.join(OPTIMIZER_FILE);
    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let record: MomentsRecord<M, B> =
        Recorder::<B>::load(&NamedMpkBytesRecorder::<FullPrecisionSettings>::default(), bytes, device)
            .map_err(|e| anyhow!("{}: {e}", file.display()))?;
    let ids = param_order(model);
    let record = record
        .into_iter()
        .map(|(position, r)| {
            let id = ids.get(position.val() as usize).copied().ok_or_else(|| anyhow!("{}: unknown parameter", file.display()))?;
            Ok((id, r))
        })
        .collect::<Result<MomentsRecord<M, B>>>()?;
    Ok(optimizer.load_record(record))
}
