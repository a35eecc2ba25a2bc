//! Feature vectors as the metrics consume them: one row per image, row-major, float32 as the
//! network produced them. The statistics are computed from them in float64.

use serde::{Deserialize, Serialize};

/// `rows` feature vectors of length `dim`, row-major.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Features {
    pub rows: usize,
    pub dim: usize,
    pub data: Vec<f32>,
}

impl Features {
    pub fn new(rows: usize, dim: usize, data: Vec<f32>) -> Self {
        assert_eq!(data.len(), rows * dim, "Features: {rows} rows of {dim} need {} values", rows * dim);
        Self { rows, dim, data }
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// All rows of `parts`, in order (e.g. every frame position pooled, for KID).
    pub fn concat(parts: &[Features]) -> Self {
        let dim = parts.first().map_or(0, |p| p.dim);
        assert!(parts.iter().all(|p| p.dim == dim), "Features::concat: feature dimensions differ");
        let data: Vec<f32> = parts.iter().flat_map(|p| p.data.iter().copied()).collect();
        Self::new(data.len() / dim.max(1), dim, data)
    }

    /// The rows `idx` as a float64 matrix.
    pub(crate) fn to_mat(&self, idx: &[usize]) -> faer::Mat<f64> {
        faer::Mat::from_fn(idx.len(), self.dim, |i, j| self.data[idx[i] * self.dim + j] as f64)
    }
}
