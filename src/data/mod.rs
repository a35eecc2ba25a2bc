//! Data: the built-in `shapes` benchmark, real clips from a manifest (`folder`) and FineVideo
//! shards (`finevideo`), split into train/eval and served as batches of (B, 3, T, H, W) in [-1, 1].
//!
//! ```ignore
//! let data = ttv::data::load(&spec.data, &LoadOptions::default())?;
//! metrics.record("data/skipped", data.skipped() as f64);
//! let loader = Loader::new(data.train.clone(), 8).shuffle(run_seed);
//! for batch in loader.epoch(epoch) { let batch = batch.to_device(&device); ... }
//! ```

pub mod batch;
pub mod cache;
pub mod decode;
pub mod detmath;
pub mod ffmpeg;
pub mod finevideo;
pub mod fingerprint;
pub mod folder;
pub mod frames;
pub mod gather;
pub mod loader;
pub mod manifest;
pub mod preview;
pub mod rng;
pub mod sample;
pub mod shapes;
pub mod skip;
pub mod source;
pub mod split;

pub use batch::{Batch, HostBatch};
pub use fingerprint::fingerprint;
pub use loader::{Loader, Prefetch};
pub use preview::{Preview, write_preview};
pub use sample::{Clip, Sample, VideoShape};
pub use shapes::{Attributes, PAPER_PROMPTS, parse_prompt, render_prompt};
pub use skip::{Skip, Skips};
pub use source::{Dataset, Source};

use crate::spec::types::{DataKind, DataSpec, SplitKind};
use anyhow::{Result, bail, ensure};
use std::path::PathBuf;
use std::sync::Arc;

/// Where the loaders may put and find things; not part of a run's identity.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Disk cache of decoded real clips (e.g. `registry/cache/clips`); none when unset.
    pub cache_dir: Option<PathBuf>,
    /// Folder that a relative `data.source` is relative to (the spec's folder); the working
    /// directory when unset. (`hf://` sources are resolved through the Hub cache instead.)
    pub base_dir: Option<PathBuf>,
}

/// A loaded dataset, split.
#[derive(Clone, Debug)]
pub struct Data {
    pub train: Dataset,
    pub eval: Dataset,
    /// Inputs skipped while loading (each was warned about once).
    pub skips: Skips,
}

impl Data {
    /// Number of skipped inputs, for the run's metrics.
    pub fn skipped(&self) -> usize {
        self.skips.count()
    }

    pub fn shape(&self) -> VideoShape {
        self.train.shape()
    }
}

/// Build the train and eval datasets a spec asks for. Shapes clips are generated on demand;
/// real clips are decoded now (in parallel, through the cache) and kept as bytes.
pub fn load(spec: &DataSpec, opts: &LoadOptions) -> Result<Data> {
    let shape = VideoShape::from_spec(spec);
    ensure!(shape.frames >= 1 && shape.height >= 1 && shape.width >= 1, "data: frames, height and width must be >= 1");
    ensure!((0.0..1.0).contains(&spec.eval_fraction), "data.eval_fraction = {}: must be in [0, 1)", spec.eval_fraction);
    match spec.kind {
        DataKind::Shapes => load_shapes(spec, shape),
        DataKind::Folder | DataKind::Finevideo => load_real(spec, shape, opts),
    }
}

fn load_shapes(spec: &DataSpec, shape: VideoShape) -> Result<Data> {
    use shapes::{ShapesSource, heldout_pairs, object_motion_pairs};
    let n = spec.samples as usize;
    ensure!(n >= 1, "data.samples = 0: shapes needs at least one sample");
    let nuisance = spec.shapes.clone();
    let (train, eval) = match spec.split {
        SplitKind::Random => {
            let source: Arc<dyn Source> =
                Arc::new(ShapesSource::new(spec.seed, "all", n, shape, nuisance, object_motion_pairs(), true));
            let (tr, ev) = split::random_split(n, spec.eval_fraction, spec.seed);
            (Dataset::new(source.clone(), tr), Dataset::new(source, ev))
        }
        SplitKind::Heldout => {
            let held = heldout_pairs(spec.seed, spec.eval_fraction.max(0.05));
            let train_pairs = object_motion_pairs().into_iter().filter(|p| !held.contains(p)).collect();
            let n_eval = split::eval_count(n, spec.eval_fraction);
            let tr = ShapesSource::new(spec.seed, "train", n - n_eval, shape, nuisance.clone(), train_pairs, true);
            let ev = ShapesSource::new(spec.seed, "heldout", n_eval, shape, nuisance, held.into_iter().collect(), false);
            (Dataset::all(Arc::new(tr)), Dataset::all(Arc::new(ev)))
        }
    };
    Ok(Data { train, eval, skips: Skips::default() })
}

/// `data.source` as a local path: an `hf://` path through the Hub cache (`crate::hub`), a
/// relative path against the spec's folder when it exists there, else as written.
pub fn resolve_source(source: &str, opts: &LoadOptions) -> Result<PathBuf> {
    if crate::hub::is_hub(source) {
        // The error names the hf:// path already.
        return crate::hub::local_path(source).map_err(|e| anyhow::anyhow!("data.source: {e:#}"));
    }
    Ok(match &opts.base_dir {
        Some(base) if !std::path::Path::new(source).is_absolute() && base.join(source).exists() => base.join(source),
        _ => PathBuf::from(source),
    })
}

fn load_real(spec: &DataSpec, shape: VideoShape, opts: &LoadOptions) -> Result<Data> {
    let kind = if spec.kind == DataKind::Folder { "folder" } else { "finevideo" };
    if spec.split == SplitKind::Heldout {
        bail!("data.split = heldout needs attribute ground truth, which only data.kind = shapes has (data.kind = {kind})");
    }
    let Some(source) = spec.source.as_deref() else {
        bail!("data.source is required for data.kind = {kind} (a manifest for folder, a shard folder for finevideo)");
    };
    let resolved = resolve_source(source, opts)?;
    if spec.kind == DataKind::Folder
        && let Some(hub_path) = crate::hub::HubPath::parse(source)
    {
        // A manifest on the Hub lists files beside it in the same repository: fetch those too.
        let listed: Vec<PathBuf> = manifest::read_manifest(&resolved)?.into_iter().map(|e| e.path).collect();
        crate::hub::Hub::from_env().fetch_beside(&hub_path?, &resolved, &listed)?;
    }
    let decoder = decode::Decoder {
        ffmpeg: ffmpeg::Ffmpeg::locate(spec.ffmpeg.as_deref())?,
        cache: opts.cache_dir.clone().map(cache::ClipCache::new),
        shape,
    };
    let limit = if spec.samples == 0 { usize::MAX } else { spec.samples as usize };
    let mut skips = Skips::default();
    let clips = match spec.kind {
        DataKind::Folder => folder::load_folder(&resolved, &decoder, limit, &mut skips)?,
        _ => finevideo::load_finevideo(&resolved.to_string_lossy(), &decoder, limit, &mut skips)?,
    };
    if clips.is_empty() {
        bail!("data.source = {source}: no usable samples, all {} inputs were skipped:\n{}", skips.count(), skips.summary(10));
    }
    if skips.count() > 0 {
        eprintln!("data: {} usable clips, {} skipped", clips.len(), skips.count());
    }
    let n = clips.len();
    let source: Arc<dyn Source> = Arc::new(source::ClipSource { shape, clips });
    let (tr, ev) = split::random_split(n, spec.eval_fraction, spec.seed);
    Ok(Data { train: Dataset::new(source.clone(), tr), eval: Dataset::new(source, ev), skips })
}
