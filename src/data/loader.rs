//! Epochs of batches, built ahead on a background thread (samples of a batch in parallel with
//! rayon) through a bounded channel, so the trainer rarely waits and memory stays bounded.

use super::batch::HostBatch;
use super::rng::Rng;
use super::source::Dataset;
use rayon::prelude::*;
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;

#[derive(Clone, Debug)]
pub struct Loader {
    dataset: Dataset,
    batch_size: usize,
    shuffle_seed: Option<u64>,
    drop_last: bool,
    prefetch: usize,
}

impl Loader {
    /// In order, last partial batch kept, 2 batches prefetched.
    pub fn new(dataset: Dataset, batch_size: usize) -> Self {
        assert!(batch_size > 0, "batch_size must be > 0");
        Self { dataset, batch_size, shuffle_seed: None, drop_last: false, prefetch: 2 }
    }

    /// Shuffle each epoch with a permutation keyed by (seed, epoch): resumable and reproducible.
    pub fn shuffle(mut self, seed: u64) -> Self {
        self.shuffle_seed = Some(seed);
        self
    }

    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Batches built ahead of the consumer (at least 1).
    pub fn prefetch(mut self, batches: usize) -> Self {
        self.prefetch = batches.max(1);
        self
    }

    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    pub fn num_batches(&self) -> usize {
        let n = self.dataset.len();
        if self.drop_last { n / self.batch_size } else { n.div_ceil(self.batch_size) }
    }

    /// Dataset positions in the order epoch `epoch` visits them.
    pub fn order(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.dataset.len()).collect();
        if let Some(seed) = self.shuffle_seed {
            Rng::keyed(seed, "epoch", epoch).shuffle(&mut order);
        }
        order
    }

    /// The batches of one epoch.
    pub fn epoch(&self, epoch: u64) -> Prefetch {
        let order = self.order(epoch);
        let mut chunks: Vec<Vec<usize>> = order.chunks(self.batch_size).map(<[usize]>::to_vec).collect();
        if self.drop_last && chunks.last().is_some_and(|c| c.len() < self.batch_size) {
            chunks.pop();
        }
        let (tx, rx) = sync_channel(self.prefetch);
        let dataset = self.dataset.clone();
        let handle = std::thread::Builder::new()
            .name("ttv-data".into())
            .spawn(move || {
                let shape = dataset.shape();
                let numel = shape.numel();
                for chunk in chunks {
                    // Each sample renders/decodes straight into its slot of the batch.
                    let mut videos = vec![0f32; chunk.len() * numel];
                    let samples =
                        videos.par_chunks_mut(numel).zip(chunk.par_iter()).map(|(out, &i)| dataset.get_into(i, out)).collect();
                    // The receiver is gone: the epoch was abandoned, stop building batches.
                    if tx.send(HostBatch::from_parts(videos, samples, shape)).is_err() {
                        break;
                    }
                }
            })
            .expect("spawning the data thread");
        Prefetch { rx: Some(rx), handle: Some(handle) }
    }
}

/// Iterator over the batches of one epoch.
pub struct Prefetch {
    rx: Option<Receiver<HostBatch>>,
    handle: Option<JoinHandle<()>>,
}

impl Iterator for Prefetch {
    type Item = HostBatch;

    fn next(&mut self) -> Option<HostBatch> {
        match self.rx.as_ref()?.recv() {
            Ok(b) => Some(b),
            Err(_) => {
                // The producer finished or panicked; surface a panic instead of a short epoch.
                self.rx = None;
                if let Some(h) = self.handle.take()
                    && let Err(p) = h.join()
                {
                    std::panic::resume_unwind(p);
                }
                None
            }
        }
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.rx = None; // unblocks the producer's send
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
