//! Fréchet distance between two feature sets (Heusel et al., 2017), in float64:
//! `|μa − μb|² + tr Σa + tr Σb − 2 tr sqrt(Σa Σb)`, with unbiased (n − 1) covariances.
//!
//! The matrix square root is never formed. For any factors `Σa = La Laᵀ` and `Σb = Lb Lbᵀ`,
//! the eigenvalues of `Σa Σb` are the squared singular values of `Laᵀ Lb` (plus zeros), so
//! `tr sqrt(Σa Σb) = ‖Laᵀ Lb‖*`, the sum of its singular values. This is the same number as
//! `Σ sqrt(max(λ, 0))` over the eigenvalues of the symmetric `sqrt(Σa) Σb sqrt(Σa)`, but needs no
//! clamping of negative eigenvalues and stays exact when the covariances are singular (fewer
//! samples than dimensions). The factor is the centred data scaled by `1/sqrt(n − 1)` when
//! `n ≤ dim` (a `dim x n` matrix, cheap) and otherwise `U sqrt(max(λ, 0))` from the symmetric
//! eigendecomposition of the covariance (`dim x dim`).

use anyhow::{Result, bail};
use faer::{Mat, Side};
use serde::{Deserialize, Serialize};

use super::features::Features;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fid {
    pub fid: f64,
    pub n_a: usize,
    pub n_b: usize,
    pub dim: usize,
    /// A set has at most `dim` samples, so its covariance is singular: the value is biased
    /// upward and only comparable with FIDs computed on the same number of samples.
    pub rank_deficient: bool,
}

/// Mean, covariance trace and a covariance factor `L` (`Σ = L Lᵀ`) of one feature set.
struct Moments {
    mean: Vec<f64>,
    trace: f64,
    factor: Mat<f64>,
}

fn moments(x: &Features) -> Result<Moments> {
    let (n, d) = (x.rows, x.dim);
    if n < 2 {
        bail!("FID needs at least 2 samples per set, got {n}");
    }
    let mut a = x.to_mat(&(0..n).collect::<Vec<_>>());
    let mean: Vec<f64> = (0..d).map(|j| (0..n).map(|i| a[(i, j)]).sum::<f64>() / n as f64).collect();
    let s = 1.0 / ((n - 1) as f64).sqrt();
    for j in 0..d {
        for i in 0..n {
            a[(i, j)] = (a[(i, j)] - mean[j]) * s;
        }
    }
    // Centred and scaled rows A: Σ = Aᵀ A.
    let trace = a.squared_norm_l2();
    let factor = if n <= d {
        a.transpose().to_owned()
    } else {
        let cov = a.transpose() * &a;
        let eig = cov.self_adjoint_eigen(Side::Lower).map_err(|e| anyhow::anyhow!("covariance eigendecomposition: {e:?}"))?;
        let mut l = eig.U().to_owned();
        for (j, &lambda) in eig.S().column_vector().iter().enumerate() {
            let r = lambda.max(0.0).sqrt();
            l.col_mut(j).iter_mut().for_each(|v| *v *= r);
        }
        l
    };
    Ok(Moments { mean, trace, factor })
}

/// FID between the rows of `a` and the rows of `b`.
pub fn fid(a: &Features, b: &Features) -> Result<Fid> {
    if a.dim != b.dim {
        bail!("FID: feature dimensions differ ({} vs {})", a.dim, b.dim);
    }
    let (ma, mb) = (moments(a)?, moments(b)?);
    let cross = ma.factor.transpose() * &mb.factor;
    let singular = cross.singular_values().map_err(|e| anyhow::anyhow!("FID singular values: {e:?}"))?;
    let trace_sqrt: f64 = singular.iter().sum();
    let mean_term: f64 = ma.mean.iter().zip(&mb.mean).map(|(x, y)| (x - y).powi(2)).sum();
    Ok(Fid {
        fid: mean_term + ma.trace + mb.trace - 2.0 * trace_sqrt,
        n_a: a.rows,
        n_b: b.rows,
        dim: a.dim,
        rank_deficient: a.rows <= a.dim || b.rows <= b.dim,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::testing::{gaussian, mixing};
    use faer::linalg::solvers::DenseSolveCore;

    fn mean_cov(x: &Features) -> (Vec<f64>, Mat<f64>) {
        let (n, d) = (x.rows, x.dim);
        let mean: Vec<f64> = (0..d).map(|j| (0..n).map(|i| x.row(i)[j] as f64).sum::<f64>() / n as f64).collect();
        let cov = Mat::from_fn(d, d, |p, q| {
            let centred = |i: usize, k: usize| x.row(i)[k] as f64 - mean[k];
            (0..n).map(|i| centred(i, p) * centred(i, q)).sum::<f64>() / (n - 1) as f64
        });
        (mean, cov)
    }

    fn trace(m: &Mat<f64>) -> f64 {
        (0..m.nrows()).map(|i| m[(i, i)]).sum()
    }

    /// Textbook FID with the given `tr sqrt(Σa Σb)`.
    fn textbook(a: &Features, b: &Features, trace_sqrt: impl Fn(&Mat<f64>, &Mat<f64>) -> f64) -> f64 {
        let ((ma, sa), (mb, sb)) = (mean_cov(a), mean_cov(b));
        let mean_term: f64 = ma.iter().zip(&mb).map(|(x, y)| (x - y).powi(2)).sum();
        mean_term + trace(&sa) + trace(&sb) - 2.0 * trace_sqrt(&sa, &sb)
    }

    /// Principal square root of `Σa Σb` by the Denman–Beavers iteration (full-rank case).
    fn trace_sqrt_denman_beavers(sa: &Mat<f64>, sb: &Mat<f64>) -> f64 {
        let mut y = sa * sb;
        let mut z = Mat::<f64>::identity(y.nrows(), y.ncols());
        for _ in 0..100 {
            let (yi, zi) = (y.partial_piv_lu().inverse(), z.partial_piv_lu().inverse());
            (y, z) = ((&y + &zi) * 0.5, (&z + &yi) * 0.5);
        }
        trace(&y)
    }

    /// The eigen route: `Σ sqrt(max(λ, 0))` over `sqrt(Σa) Σb sqrt(Σa)`.
    fn trace_sqrt_eigen(sa: &Mat<f64>, sb: &Mat<f64>) -> f64 {
        let e = sa.self_adjoint_eigen(Side::Lower).unwrap();
        let mut u = e.U().to_owned();
        for (j, &l) in e.S().column_vector().iter().enumerate() {
            u.col_mut(j).iter_mut().for_each(|v| *v *= l.max(0.0).sqrt().sqrt());
        }
        let root = &u * u.transpose();
        let m = &root * sb * &root;
        m.self_adjoint_eigenvalues(Side::Lower).unwrap().iter().map(|l| l.max(0.0).sqrt()).sum()
    }

    #[test]
    fn a_set_against_itself_is_zero() {
        for n in [10, 40] {
            let a = gaussian(n, 1, &mixing(16, 1), 0.0);
            let r = fid(&a, &a).unwrap();
            let scale = trace(&mean_cov(&a).1);
            assert!(r.fid.abs() < 1e-6 * scale, "n={n}: fid {} vs trace {scale}", r.fid);
            assert_eq!(r.rank_deficient, n <= 16);
        }
    }

    #[test]
    fn full_rank_matches_denman_beavers() {
        let a = gaussian(40, 2, &mixing(16, 2), 0.0);
        let b = gaussian(40, 3, &mixing(16, 3), 0.3);
        let want = textbook(&a, &b, trace_sqrt_denman_beavers);
        let got = fid(&a, &b).unwrap();
        assert!(!got.rank_deficient);
        assert!((got.fid - want).abs() < 1e-6 * want, "fid {} vs reference {want}", got.fid);
    }

    #[test]
    fn rank_deficient_matches_the_eigen_route() {
        let a = gaussian(9, 4, &mixing(16, 4), 0.0);
        let b = gaussian(12, 5, &mixing(16, 5), 0.2);
        let want = textbook(&a, &b, trace_sqrt_eigen);
        let got = fid(&a, &b).unwrap();
        assert!(got.rank_deficient);
        assert!((got.fid - want).abs() < 1e-6 * want, "fid {} vs reference {want}", got.fid);
    }

    #[test]
    fn a_mean_shift_adds_its_squared_length() {
        let a = gaussian(40, 6, &mixing(16, 6), 0.0);
        let shift: Vec<f32> = (0..16).map(|j| 0.1 * j as f32 - 0.5).collect();
        let b = Features::new(40, 16, a.data.iter().enumerate().map(|(k, v)| v + shift[k % 16]).collect());
        let want: f64 = shift.iter().map(|&s| (s as f64).powi(2)).sum();
        let got = fid(&a, &b).unwrap().fid;
        assert!((got - want).abs() < 1e-6 * want, "fid {got} vs |Δμ|² {want}");
    }

    #[test]
    fn too_few_samples_is_an_error() {
        let a = gaussian(1, 7, &mixing(4, 7), 0.0);
        let b = gaussian(5, 8, &mixing(4, 8), 0.0);
        assert!(fid(&a, &b).is_err());
    }
}
