//! Kernel Inception Distance (Bińkowski et al., 2018) as torch-fidelity computes it: the
//! unbiased estimate of MMD² with the cubic polynomial kernel `k(x, y) = (x·y/d + 1)³`,
//! averaged over random subsets of equal size drawn without replacement from each set; the
//! spread is the (population) standard deviation over subsets. Unlike FID it is unbiased, so it
//! stays meaningful with few samples.

use anyhow::{Result, bail};
use faer::Mat;
use serde::{Deserialize, Serialize};

use super::features::Features;
use crate::data::rng::Rng;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KidOptions {
    pub subsets: usize,
    /// Subset size is `min(n_a, n_b, max_subset_size)`.
    pub max_subset_size: usize,
    pub seed: u64,
}

impl Default for KidOptions {
    /// torch-fidelity's defaults.
    fn default() -> Self {
        Self { subsets: 100, max_subset_size: 1000, seed: 0 }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Kid {
    pub mean: f64,
    pub std: f64,
    pub subset_size: usize,
    /// Subsets actually evaluated: one when both subsets are the whole sets (every draw would
    /// be the same pair of sets, up to order).
    pub subsets: usize,
}

/// Unbiased MMD² between the rows `x` (m x d) and `y` (m x d).
fn mmd2_unbiased(x: &Mat<f64>, y: &Mat<f64>) -> f64 {
    let (m, d) = (x.nrows() as f64, x.ncols() as f64);
    let kernel_sum = |a: &Mat<f64>, b: &Mat<f64>, skip_diagonal: bool| -> f64 {
        let g = a * b.transpose();
        let mut s = 0.0;
        for j in 0..g.ncols() {
            for i in 0..g.nrows() {
                if !(skip_diagonal && i == j) {
                    s += (g[(i, j)] / d + 1.0).powi(3);
                }
            }
        }
        s
    };
    (kernel_sum(x, x, true) + kernel_sum(y, y, true)) / (m * (m - 1.0)) - 2.0 * kernel_sum(x, y, false) / (m * m)
}

/// `k` distinct indices below `n`, uniformly (partial Fisher–Yates).
fn subset(rng: &mut Rng, n: usize, k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    for i in 0..k {
        let j = i + rng.below(n - i);
        idx.swap(i, j);
    }
    idx.truncate(k);
    idx
}

/// KID between the rows of `a` and the rows of `b`.
pub fn kid(a: &Features, b: &Features, opts: &KidOptions) -> Result<Kid> {
    if a.dim != b.dim {
        bail!("KID: feature dimensions differ ({} vs {})", a.dim, b.dim);
    }
    let m = a.rows.min(b.rows).min(opts.max_subset_size);
    if m < 2 {
        bail!("KID needs at least 2 samples per set, got {} and {}", a.rows, b.rows);
    }
    let whole = m == a.rows && m == b.rows;
    let subsets = if whole { 1 } else { opts.subsets };
    let mut rng = Rng::keyed(opts.seed, "kid-subsets", 0);
    let values: Vec<f64> = (0..subsets)
        .map(|_| {
            let x = a.to_mat(&subset(&mut rng, a.rows, m));
            let y = b.to_mat(&subset(&mut rng, b.rows, m));
            mmd2_unbiased(&x, &y)
        })
        .collect();
    let mean = values.iter().sum::<f64>() / subsets as f64;
    let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / subsets as f64).sqrt();
    Ok(Kid { mean, std, subset_size: m, subsets })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::testing::{gaussian, mixing};

    #[test]
    fn matches_the_direct_formula_on_a_tiny_example() {
        let a = Features::new(3, 2, vec![0.5, -1.0, 2.0, 0.25, -0.75, 1.5]);
        let b = Features::new(3, 2, vec![1.0, 1.0, -2.0, 0.5, 0.0, -0.5]);
        let k = |x: &[f32], y: &[f32]| (x.iter().zip(y).map(|(p, q)| (p * q) as f64).sum::<f64>() / 2.0 + 1.0).powi(3);
        let (mut xx, mut yy, mut xy) = (0.0, 0.0, 0.0);
        for i in 0..3 {
            for j in 0..3 {
                if i != j {
                    xx += k(a.row(i), a.row(j));
                    yy += k(b.row(i), b.row(j));
                }
                xy += k(a.row(i), b.row(j));
            }
        }
        let want = (xx + yy) / 6.0 - 2.0 * xy / 9.0;
        let got = kid(&a, &b, &KidOptions::default()).unwrap();
        assert_eq!((got.subset_size, got.subsets, got.std), (3, 1, 0.0));
        assert!((got.mean - want).abs() < 1e-12 * want.abs(), "{} vs {want}", got.mean);
    }

    #[test]
    fn near_zero_for_one_distribution_and_growing_with_a_shift() {
        let mix = mixing(8, 1);
        let opts = KidOptions { subsets: 50, max_subset_size: 100, seed: 3 };
        let a = gaussian(400, 1, &mix, 0.0);
        let same = kid(&a, &gaussian(400, 2, &mix, 0.0), &opts).unwrap();
        let near = kid(&a, &gaussian(400, 3, &mix, 0.5), &opts).unwrap();
        let far = kid(&a, &gaussian(400, 4, &mix, 1.0), &opts).unwrap();
        assert_eq!((same.subset_size, same.subsets), (100, 50));
        assert!(same.mean.abs() < 2.0 * same.std, "same distribution: {same:?}");
        assert!(near.mean > 4.0 * same.std && far.mean > 2.0 * near.mean, "{same:?} {near:?} {far:?}");
    }

    #[test]
    fn too_few_samples_is_an_error() {
        let a = Features::new(1, 2, vec![0.0, 1.0]);
        assert!(kid(&a, &a, &KidOptions::default()).is_err());
    }
}
