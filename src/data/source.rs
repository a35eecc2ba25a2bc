//! A random-access source of samples and a `Dataset` view (a subset of its indices), so a
//! train/eval split never copies clips.

use super::sample::{Clip, Sample, VideoShape};
use std::sync::Arc;

pub trait Source: Send + Sync {
    fn len(&self) -> usize;
    fn shape(&self) -> VideoShape;
    /// Must be a pure function of `index`: the same sample whichever thread asks, whenever.
    fn get(&self, index: usize) -> Sample;
}

/// Decoded real clips held in memory.
pub struct ClipSource {
    pub shape: VideoShape,
    pub clips: Vec<Clip>,
}

impl Source for ClipSource {
    fn len(&self) -> usize {
        self.clips.len()
    }
    fn shape(&self) -> VideoShape {
        self.shape
    }
    fn get(&self, index: usize) -> Sample {
        self.clips[index].to_sample()
    }
}

#[derive(Clone)]
pub struct Dataset {
    source: Arc<dyn Source>,
    indices: Arc<Vec<usize>>,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Dataset({} samples of {:?})", self.len(), self.shape())
    }
}

impl Dataset {
    pub fn new(source: Arc<dyn Source>, indices: Vec<usize>) -> Self {
        assert!(indices.iter().all(|&i| i < source.len()), "dataset index out of range");
        Self { source, indices: Arc::new(indices) }
    }

    /// Every sample of `source`, in order.
    pub fn all(source: Arc<dyn Source>) -> Self {
        let n = source.len();
        Self::new(source, (0..n).collect())
    }

    pub fn len(&self) -> usize {
        self.indices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    pub fn shape(&self) -> VideoShape {
        self.source.shape()
    }

    pub fn get(&self, i: usize) -> Sample {
        self.source.get(self.indices[i])
    }

    /// Indices into the underlying source (stable identity of each sample).
    pub fn source_indices(&self) -> &[usize] {
        &self.indices
    }

    /// The first `n` samples (or all), in parallel; order is preserved.
    pub fn take(&self, n: usize) -> Vec<Sample> {
        use rayon::prelude::*;
        (0..n.min(self.len())).into_par_iter().map(|i| self.get(i)).collect()
    }
}
