//! Synthetic feature sets for the metric tests.

use faer::Mat;

use super::features::Features;
use crate::data::rng::Rng;

/// A random mixing matrix near the identity, so features are correlated.
pub fn mixing(dim: usize, seed: u64) -> Mat<f64> {
    let mut rng = Rng::keyed(seed, "metrics-mix", 0);
    Mat::from_fn(dim, dim, |i, j| if i == j { 1.0 } else { 0.0 } + rng.range(-0.4, 0.4))
}

/// `n` samples of `mix · z + shift` with `z` standard normal (Box–Muller).
pub fn gaussian(n: usize, seed: u64, mix: &Mat<f64>, shift: f64) -> Features {
    let dim = mix.nrows();
    let mut rng = Rng::keyed(seed, "metrics-gauss", 0);
    let mut normal = || {
        let (u, v) = (1.0 - rng.unit(), rng.unit());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    };
    let z = Mat::<f64>::from_fn(n, dim, |_, _| normal());
    let x = z * mix.transpose();
    Features::new(n, dim, (0..n * dim).map(|k| (x[(k / dim, k % dim)] + shift) as f32).collect())
}

/// The shared assets folder: `$TTV_ASSETS`, else `../shared/assets` beside the crate. Panics
/// when the FID files are missing, so CI cannot pass without running the reference check.
pub fn assets() -> std::path::PathBuf {
    let dir = std::env::var_os("TTV_ASSETS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/assets"));
    for file in [super::FID_WEIGHTS, "fid_inception_v3.reference.safetensors"] {
        let path = dir.join(file);
        assert!(path.is_file(), "{} missing: set TTV_ASSETS to the shared assets folder", path.display());
    }
    dir
}
