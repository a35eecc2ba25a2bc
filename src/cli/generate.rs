//! `ttv-run generate`: clips from a trained run's checkpoint for prompts a user types.

use std::path::PathBuf;

use anyhow::{Result, anyhow, bail};
use burn::prelude::*;

use crate::hub::{Hub, HubPath};
use crate::metrics::ClipsU8;
use crate::model::{TextToVideo, TextTokenizer, build};
use crate::store::{RunDir, Store};
use crate::train::{checkpoint, noise::prior, samples::write_clip_gif};

#[derive(Debug, Clone)]
pub struct GenerateRequest {
    /// A run's hash or any unique prefix of it (at least 4 hex digits), or an `hf://` folder laid
    /// out like a run directory (its spec.yaml and ckpt/), fetched through the Hub cache.
    pub run: String,
    pub prompts: Vec<String>,
    /// GIF to write; with several prompts, `<stem>_<i>.gif` beside it.
    pub out: PathBuf,
    /// Override the run's max reasoning steps / halting threshold.
    pub steps: Option<usize>,
    pub threshold: Option<f64>,
    /// Override a flow-matching run's Euler steps (`training.flow.sampling_steps`).
    pub sampling_steps: Option<usize>,
    pub seed: u64,
    /// `final` (the newest periodic checkpoint) or `best` (lowest eval FID).
    pub checkpoint: String,
}

/// One written clip: where, and the reasoning steps it took.
#[derive(Debug, Clone)]
pub struct Generated {
    pub path: PathBuf,
    pub prompt: String,
    /// Reasoning steps, summed over the reasoning loops (the Euler steps of a flow-matching
    /// run; one otherwise).
    pub steps: usize,
    pub sampling_steps: usize,
}

/// The checkpoint `which` (`final` or `best`) of a run.
pub fn checkpoint_dir(run_dir: &RunDir, which: &str) -> Result<PathBuf> {
    let ckpt = run_dir.ckpt_dir();
    let found = match which {
        "best" => Some(ckpt.join(checkpoint::BEST)).filter(|p| checkpoint::weights_state(p).is_some()),
        "final" => checkpoint::newest_weights(&ckpt).map(|(p, _)| p),
        other => bail!("unknown checkpoint `{other}` (use final or best)"),
    };
    found.ok_or_else(|| anyhow!("{} has no {which} checkpoint", ckpt.display()))
}

impl GenerateRequest {
    fn paths(&self) -> Vec<PathBuf> {
        if self.prompts.len() == 1 {
            return vec![self.out.clone()];
        }
        let stem = self.out.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "out".into());
        (0..self.prompts.len()).map(|i| self.out.with_file_name(format!("{stem}_{i}.gif"))).collect()
    }
}

pub fn generate(store: &Store, request: &GenerateRequest, device: &Device) -> Result<Vec<Generated>> {
    if request.prompts.is_empty() || request.prompts.iter().any(|p| p.trim().is_empty()) {
        bail!("give at least one prompt, none of them empty");
    }
    let (run_dir, label) = match HubPath::parse(&request.run) {
        Some(hub_path) => {
            let hub_path = hub_path?;
            (RunDir::new(Hub::from_env().fetch_run(&hub_path, &request.checkpoint)?), hub_path.to_string())
        }
        None => {
            let run_dir = store.find(&request.run)?;
            let short = run_dir.short();
            (run_dir, short)
        }
    };
    let spec = run_dir.read_spec()?;
    // More steps than the run trained with would run past what its schedule ever saw.
    let max = spec.model.engine.max_steps as usize;
    if let Some(steps) = request.steps
        && !(1..=max).contains(&steps)
    {
        bail!("--steps {steps}: run {label} trained with at most {max} reasoning steps; give 1 to {max}");
    }
    if let Some(t) = request.threshold
        && !(t > 0.0 && t <= 1.0)
    {
        bail!("--threshold {t}: must be in (0, 1]");
    }
    if let Some(n) = request.sampling_steps {
        let objective = serde_json::to_value(spec.training.objective)?;
        match spec.training.flow_sampling_steps() {
            None => bail!(
                "--sampling-steps {n}: run {label} was trained with objective {}, which generates in one reasoning loop; \
                 only flow_matching runs take sampling steps",
                objective.as_str().unwrap_or_default()
            ),
            Some(_) if n == 0 => bail!("--sampling-steps 0: give at least 1"),
            Some(_) => {}
        }
    }
    let path = checkpoint_dir(&run_dir, &request.checkpoint)?;
    let model: TextToVideo = build(&spec.model_config().map_err(|e| anyhow!("model: {e}"))?, device);
    let mut model = checkpoint::load_model(&path, model)?;
    if let Some(steps) = request.steps {
        model.max_steps = steps;
    }
    if let Some(threshold) = request.threshold {
        model.threshold = threshold;
    }
    if let Some(n) = request.sampling_steps {
        model.sampling_steps = n;
    }
    let tokenizer = TextTokenizer::gpt2(spec.model.text_encoder.max_len as usize).map_err(anyhow::Error::msg)?;
    let captions: Vec<&str> = request.prompts.iter().map(String::as_str).collect();
    let (ids, mask) = tokenizer.batch(&captions, device).map_err(anyhow::Error::msg)?;
    let out = model.sample(ids, mask, prior(&model, request.seed, "generate", 0, captions.len(), device));
    let dims = out.video.dims();
    let values = out.video.into_data().convert::<f32>().try_to_vec::<f32>().map_err(|e| anyhow!("{e:?}"))?;
    let clips = ClipsU8::from_channels_first(&values, dims);
    let mut written = Vec::new();
    for (i, path) in request.paths().into_iter().enumerate() {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        write_clip_gif(&path, &clips, i)?;
        let (steps, sampling_steps) = (out.steps_taken[i], out.sampling_steps);
        written.push(Generated { path, prompt: request.prompts[i].clone(), steps, sampling_steps });
    }
    Ok(written)
}

/// One line per written clip: its path, the reasoning steps taken and its prompt (a flow-matching
/// run's per Euler step, and how many Euler steps).
pub fn print(written: &[Generated]) {
    for g in written {
        let steps = match g.sampling_steps {
            1 => format!("{} step(s)", g.steps),
            n => format!("{:.2} step(s) per sampling step, {n} sampling steps", g.steps as f64 / n as f64),
        };
        println!("{}  {steps}  {}", g.path.display(), g.prompt);
    }
}
