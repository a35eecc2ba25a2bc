//! Checkpoints: `ckpt/<name>/` holding the model, the AdamW moments (each as safetensors keyed
//! by parameter path) and the trainer's position. A checkpoint is assembled in a hidden temp
//! folder (`.ttv-tmp-<pid>-<name>`) and renamed into place, so a reader sees all of it or none of
//! it. The two newest periodic checkpoints are kept: a resume that cannot load the newest one
//! (damaged on disk) falls back to the previous one, and with neither the run restarts from
//! scratch; each says so in a note. Checkpoints written before the moments were stored this way
//! (an `optimizer.mpk` of burn 0.21) cannot be resumed: the error says so.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use burn::prelude::*;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use serde::{Deserialize, Serialize};

use super::adamw::AdamW;
use crate::store::atomic::{OLD_PREFIX, TEMP_PREFIX, write_atomic};

pub const MODEL_FILE: &str = "model.safetensors";
/// AdamW's first and second moments.
const MOMENT_FILES: [&str; 2] = ["adamw_m.safetensors", "adamw_v.safetensors"];
/// What burn 0.21 wrote instead: an optimizer record this version cannot read.
const OLD_OPTIMIZER_FILE: &str = "optimizer.mpk";
pub const TRAINER_FILE: &str = "trainer.json";

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

impl TrainerState {
    /// Where run `run` starts: the first micro-batch of epoch 1, nothing done yet.
    pub fn start(run: String) -> Self {
        Self { run, epoch: 1, batch: 0, updates: 0, train_s: 0.0, best_fid: None, update_s: 0.0, eval_s: 0.0 }
    }
}

/// Write checkpoint `name` under `dir` atomically; returns the model file's size in bytes. An
/// error names the folder, and leaves no partial checkpoint behind.
pub fn save<M: Module>(dir: &Path, name: &str, model: &M, optimizer: &AdamW, state: &TrainerState) -> Result<u64> {
    let target = dir.join(name);
    let tmp = dir.join(format!("{TEMP_PREFIX}{}-{name}", std::process::id()));
    let written = write_folder(&tmp, &target, model, optimizer, state);
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    written.with_context(|| format!("writing checkpoint {}", target.display()))
}

/// Assemble a checkpoint in `tmp`, then rename it to `target` (replacing an older one).
fn write_folder<M: Module>(tmp: &Path, target: &Path, model: &M, optimizer: &AdamW, state: &TrainerState) -> Result<u64> {
    if tmp.exists() {
        std::fs::remove_dir_all(tmp)?;
    }
    std::fs::create_dir_all(tmp)?;
    let model_bytes = safetensors_bytes(model, &state.run)?;
    write_atomic(&tmp.join(MODEL_FILE), &model_bytes)?;
    for (moment, file) in optimizer.moments_as(model).iter().zip(MOMENT_FILES) {
        write_atomic(&tmp.join(file), &safetensors_bytes(moment, &state.run)?)?;
    }
    write_atomic(&tmp.join(TRAINER_FILE), &serde_json::to_vec_pretty(state)?)?;

    if target.exists() {
        let name = target.file_name().unwrap_or_default().to_string_lossy();
        let old = target.with_file_name(format!("{OLD_PREFIX}{}-{name}", std::process::id()));
        std::fs::rename(target, &old)?;
        std::fs::rename(tmp, target)?;
        std::fs::remove_dir_all(&old)?;
    } else {
        std::fs::rename(tmp, target)?;
    }
    Ok(model_bytes.len() as u64)
}

/// The name periodic checkpoints get: ordered by the number of updates.
pub fn periodic_name(updates: u64) -> String {
    format!("update-{updates:08}")
}

/// The update count a periodic checkpoint's name gives.
pub fn periodic_updates(name: &str) -> Option<u64> {
    name.strip_prefix("update-")?.parse().ok()
}

/// A checkpoint's trainer state, if every file of it is there; an error names the file.
pub fn state_of(path: &Path) -> Result<TrainerState> {
    let file = path.join(TRAINER_FILE);
    let bytes = std::fs::read(&file).with_context(|| file.display().to_string())?;
    let state: TrainerState = serde_json::from_slice(&bytes).with_context(|| file.display().to_string())?;
    if !path.join(OLD_OPTIMIZER_FILE).is_file() {
        for f in [MODEL_FILE, MOMENT_FILES[0], MOMENT_FILES[1]] {
            anyhow::ensure!(path.join(f).is_file(), "{}: missing", path.join(f).display());
        }
    }
    Ok(state)
}

/// Read a checkpoint's trainer state; `None` if it is incomplete or unreadable.
pub fn read_state(path: &Path) -> Option<TrainerState> {
    state_of(path).ok()
}

/// Every periodic checkpoint of a run, newest first, with its trainer state or why it cannot
/// be read.
pub fn periodic(dir: &Path) -> Vec<(PathBuf, Result<TrainerState>)> {
    periodic_paths(dir).into_iter().map(|path| (path.clone(), state_of(&path))).collect()
}

/// The periodic checkpoint folders of a run, newest first.
fn periodic_paths(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((periodic_updates(e.file_name().to_str()?)?, e.path())))
        .collect();
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    found.into_iter().map(|(_, path)| path).collect()
}

/// The newest valid periodic checkpoint of a run, if any.
pub fn newest(dir: &Path) -> Option<(PathBuf, TrainerState)> {
    periodic(dir).into_iter().find_map(|(path, state)| Some((path, state.ok()?)))
}

/// A checkpoint's trainer state when its model weights are there too: all that generation and
/// evaluation read (a run folder fetched from the Hub brings no optimizer moments).
pub fn weights_state(path: &Path) -> Option<TrainerState> {
    let bytes = std::fs::read(path.join(TRAINER_FILE)).ok()?;
    let state = serde_json::from_slice(&bytes).ok()?;
    path.join(MODEL_FILE).is_file().then_some(state)
}

/// The newest periodic checkpoint of a run whose weights and trainer state are there.
pub fn newest_weights(dir: &Path) -> Option<(PathBuf, TrainerState)> {
    periodic_paths(dir).into_iter().find_map(|path| Some((path.clone(), weights_state(&path)?)))
}

/// Keep the periodic checkpoint `keep` (just written) and the newest readable one before it;
/// remove the others (older ones, and newer leftovers of an attempt that restarted).
pub fn prune(dir: &Path, keep: &str) -> Result<()> {
    let kept = periodic_updates(keep);
    let previous = periodic(dir)
        .into_iter()
        .find(|(path, state)| {
            let updates = path.file_name().and_then(|n| periodic_updates(n.to_str()?));
            state.is_ok() && updates < kept
        })
        .map(|(path, _)| path);
    for (path, _) in periodic(dir) {
        if path.file_name().is_some_and(|n| n != keep) && Some(&path) != previous.as_ref() {
            std::fs::remove_dir_all(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

/// Remove every periodic checkpoint (a run that restarts from scratch).
pub fn clear(dir: &Path) -> Result<()> {
    for (path, _) in periodic(dir) {
        std::fs::remove_dir_all(&path).with_context(|| format!("removing {}", path.display()))?;
    }
    Ok(())
}

/// What resuming found: the checkpoint loaded (path, trainer state, the model file's size) and
/// the model and optimizer as it saved them, or nothing (start from scratch); and a note for
/// every checkpoint that could not be loaded and what was done instead.
pub struct Resumed<M> {
    pub from: Option<(PathBuf, TrainerState, u64)>,
    pub model: M,
    pub notes: Vec<String>,
}

/// Load the newest periodic checkpoint under `dir` that loads into `model` and `optimizer`,
/// falling back to older ones when it is damaged; with none, the run starts from scratch (the
/// damaged ones are removed). A checkpoint of an older ttv is refused, not skipped: it is not
/// damaged, and the error says what to do.
pub fn resume<M: Module>(dir: &Path, model: M, optimizer: &mut AdamW) -> Result<Resumed<M>> {
    let mut damaged: Vec<(PathBuf, String)> = Vec::new();
    for (path, state) in periodic(dir) {
        if !path.join(MOMENT_FILES[0]).is_file() && path.join(OLD_OPTIMIZER_FILE).is_file() {
            refuse_old_format(&path)?;
        }
        let loaded = state.and_then(|state| {
            let model = load_model(&path, model.clone())?;
            let [m, v] = load_moments(&path, &model)?;
            Ok((state, model, m, v))
        });
        match loaded {
            Ok((state, loaded, m, v)) => {
                optimizer.load(m, v, state.updates);
                let notes = damaged
                    .iter()
                    .map(|(p, e)| format!("checkpoint {} is damaged ({e}): resumed from {} instead", p.display(), path.display()))
                    .collect();
                let bytes = std::fs::metadata(path.join(MODEL_FILE)).map(|m| m.len()).unwrap_or(0);
                return Ok(Resumed { from: Some((path, state, bytes)), model: loaded, notes });
            }
            Err(e) => damaged.push((path, format!("{e:#}"))),
        }
    }
    let mut notes = Vec::new();
    if !damaged.is_empty() {
        let which: Vec<String> = damaged.iter().map(|(p, e)| format!("{}: {e}", p.display())).collect();
        notes.push(format!("no checkpoint could be loaded ({}): restarted from scratch", which.join("; ")));
        clear(dir)?;
    }
    Ok(Resumed { from: None, model, notes })
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
        refuse_old_format(path)?;
    }
    let [m, v] = load_moments(path, model)?;
    optimizer.load(m, v, updates);
    Ok(optimizer)
}

/// AdamW's two moments as checkpoint `path` saved them, in `model`'s tree.
fn load_moments<M: Module>(path: &Path, model: &M) -> Result<[M; 2]> {
    let [m, v] = MOMENT_FILES.map(|file| load_tensors(&path.join(file), model.valid()));
    Ok([m?, v?])
}

/// The error for a checkpoint whose optimizer state burn 0.21 wrote.
fn refuse_old_format(path: &Path) -> Result<()> {
    bail!(
        "{}: this optimizer state was written by an older ttv (burn 0.21) and cannot be read by this \
         one; remove {} to train the run from the start",
        path.join(OLD_OPTIMIZER_FILE).display(),
        path.parent().unwrap_or(path).display()
    )
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

    /// Two periodic checkpoints are kept; a damaged newest one falls back to the previous, and
    /// with neither loadable the run starts from scratch; each is said in a note.
    #[test]
    fn a_damaged_checkpoint_falls_back_then_restarts() {
        let device = crate::backend::cpu().autodiff();
        let dir = tempfile::tempdir().unwrap();
        let model = LinearConfig::new(3, 2).init(&device);
        let adamw = AdamW::new(&OptimizerSpec::default(), &model, 0, &device);
        for updates in [1, 2, 3] {
            let name = periodic_name(updates);
            save(dir.path(), &name, &model, &adamw, &TrainerState { updates, ..state() }).unwrap();
            prune(dir.path(), &name).unwrap();
        }
        let names: Vec<String> =
            periodic(dir.path()).iter().map(|(p, _)| p.file_name().unwrap().to_string_lossy().into()).collect();
        assert_eq!(names, ["update-00000003", "update-00000002"]);

        let newest = dir.path().join("update-00000003");
        std::fs::write(newest.join(MODEL_FILE), b"garbage").unwrap();
        let mut fresh = AdamW::new(&OptimizerSpec::default(), &model, 0, &device);
        let resumed = resume(dir.path(), model.clone(), &mut fresh).unwrap();
        let (path, saved, bytes) = resumed.from.expect("resumed from the previous one");
        assert_eq!((path.file_name().unwrap().to_str().unwrap(), saved.updates), ("update-00000002", 2));
        assert!(bytes > 0);
        assert_eq!(resumed.notes.len(), 1);
        assert!(
            resumed.notes[0].contains("update-00000003 is damaged") && resumed.notes[0].contains(MODEL_FILE),
            "{:?}",
            resumed.notes
        );

        std::fs::write(dir.path().join("update-00000002").join(TRAINER_FILE), b"{").unwrap();
        let resumed = resume(dir.path(), model.clone(), &mut fresh).unwrap();
        assert!(resumed.from.is_none());
        assert!(
            resumed.notes[0].starts_with("no checkpoint could be loaded") && resumed.notes[0].contains(TRAINER_FILE),
            "{:?}",
            resumed.notes
        );
        assert!(periodic(dir.path()).is_empty(), "the damaged ones are removed");
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
