//! Checkpoints: `ckpt/<name>/` holding the model, the AdamW moments (each as safetensors keyed
//! by parameter path) and the trainer's position. A checkpoint is assembled in a hidden temp
//! folder and renamed into place, so a reader sees all of it or none of it; `trainer.json` being
//! readable is what makes it valid. Checkpoints written before the moments were stored this way
//! (an `optimizer.mpk` of burn 0.21) cannot be resumed: the error says so.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use burn::prelude::*;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use serde::{Deserialize, Serialize};

use super::adamw::AdamW;
use crate::store::atomic::write_atomic;

pub const MODEL_FILE: &str = "model.safetensors";
/// AdamW's first and second moments.
const MOMENT_FILES: [&str; 2] = ["adamw_m.safetensors", "adamw_v.safetensors"];
/// What burn 0.21 wrote instead: an optimizer record this version cannot read.
const OLD_OPTIMIZER_FILE: &str = "optimizer.mpk";
const TRAINER_FILE: &str = "trainer.json";

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

/// Write checkpoint `name` under `dir` atomically; returns the model file's size in bytes.
pub fn save<M: Module>(dir: &Path, name: &str, model: &M, optimizer: &AdamW, state: &TrainerState) -> Result<u64> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".tmp-{name}-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    std::fs::create_dir_all(&tmp)?;

    let model_bytes = safetensors_bytes(model, &state.run)?;
    write_atomic(&tmp.join(MODEL_FILE), &model_bytes)?;
    for (moment, file) in optimizer.moments_as(model).iter().zip(MOMENT_FILES) {
        write_atomic(&tmp.join(file), &safetensors_bytes(moment, &state.run)?)?;
    }
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
    let files = [MODEL_FILE, MOMENT_FILES[0], MOMENT_FILES[1]];
    let complete = files.iter().all(|f| path.join(f).is_file()) || path.join(OLD_OPTIMIZER_FILE).is_file();
    complete.then_some(state)
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
pub fn load_model<M: Module>(path: &Path, model: M) -> Result<M> {
    load_tensors(&path.join(MODEL_FILE), model)
}

/// Load the tensors of safetensors `file` into `model`'s tree, every one of them.
fn load_tensors<M: Module>(file: &Path, mut model: M) -> Result<M> {
    let file = file.to_path_buf();
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

/// Load a checkpoint's AdamW moments for `model` (built from the same spec), at update
/// `updates`.
pub fn load_optimizer<M: Module>(path: &Path, model: &M, mut optimizer: AdamW, updates: u64) -> Result<AdamW> {
    if !path.join(MOMENT_FILES[0]).is_file() && path.join(OLD_OPTIMIZER_FILE).is_file() {
        bail!(
            "{}: this optimizer state was written by an older ttv (burn 0.21) and cannot be read by this \
             one; remove {} to train the run from the start",
            path.join(OLD_OPTIMIZER_FILE).display(),
            path.parent().unwrap_or(path).display()
        );
    }
    let [m, v] = MOMENT_FILES.map(|file| load_tensors(&path.join(file), model.valid()));
    optimizer.load(m?, v?, updates);
    Ok(optimizer)
}

/// `module` as safetensors bytes, tagged with the run's hash.
fn safetensors_bytes<M: Module>(module: &M, run: &str) -> Result<Vec<u8>> {
    let mut store = SafetensorsStore::from_bytes(None).metadata("ttv_run", run);
    module.save_into(&mut store).map_err(|e| anyhow!("serialising the model: {e}"))?;
    store.get_bytes().map_err(|e| anyhow!("serialising the model: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::types::OptimizerSpec;
    use burn::nn::LinearConfig;

    fn state() -> TrainerState {
        TrainerState {
            run: "abc".into(),
            epoch: 2,
            batch: 0,
            updates: 7,
            train_s: 1.0,
            best_fid: None,
            update_s: 0.1,
            eval_s: 0.2,
        }
    }

    /// The moments come back onto a rebuilt model's (fresh) parameter ids, so the next update
    /// from a checkpoint equals the next update without one.
    #[test]
    fn moments_survive_a_checkpoint() {
        let device = crate::backend::cpu().autodiff();
        let dir = tempfile::tempdir().unwrap();
        let x = Tensor::<2>::ones([2, 3], &device);
        let grads = |m: &burn::nn::Linear| {
            burn::optim::GradientsParams::from_grads(m.forward(x.clone()).powf_scalar(2.0).sum().backward(), m)
        };
        let model = LinearConfig::new(3, 2).init(&device);
        let mut adamw = AdamW::new(&OptimizerSpec::default(), &model, 0, &device);
        adamw.set_lr(1e-2);
        let model = adamw.step(model.clone(), grads(&model));
        save(dir.path(), "update-00000007", &model, &adamw, &state()).unwrap();

        let rebuilt = load_model(&dir.path().join("update-00000007"), LinearConfig::new(3, 2).init(&device)).unwrap();
        let fresh = AdamW::new(&OptimizerSpec::default(), &rebuilt, 0, &device);
        let mut resumed = load_optimizer(&dir.path().join("update-00000007"), &rebuilt, fresh, 1).unwrap();
        resumed.set_lr(1e-2);
        let a = adamw.step(model.clone(), grads(&model)).weight.val().into_data();
        let b = resumed.step(rebuilt.clone(), grads(&rebuilt)).weight.val().into_data();
        assert_eq!(a, b);
    }

    /// A checkpoint of burn 0.21 (an `optimizer.mpk`) is refused with a message saying why.
    #[test]
    fn an_old_optimizer_state_is_refused_by_name() {
        let device = crate::backend::cpu().autodiff();
        let dir = tempfile::tempdir().unwrap();
        let model = LinearConfig::new(3, 2).init(&device);
        let adamw = AdamW::new(&OptimizerSpec::default(), &model, 0, &device);
        save(dir.path(), "update-00000007", &model, &adamw, &state()).unwrap();
        let path = dir.path().join("update-00000007");
        for file in MOMENT_FILES {
            std::fs::remove_file(path.join(file)).unwrap();
        }
        assert!(read_state(&path).is_none(), "incomplete without moments");
        std::fs::write(path.join(OLD_OPTIMIZER_FILE), b"old").unwrap();
        assert!(read_state(&path).is_some(), "an old checkpoint is found, to be refused by name");
        let err = load_optimizer(&path, &model, adamw, 7).err().expect("refused").to_string();
        assert!(err.contains("optimizer.mpk") && err.contains("older ttv"), "{err}");
    }
}
