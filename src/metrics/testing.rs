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

/// The shared assets folder holding `files`: `$TTV_ASSETS`, else `../shared/assets` beside the
/// crate. Panics when a file is missing, so CI cannot pass without running the reference checks.
fn assets_with(files: &[&str]) -> std::path::PathBuf {
    let dir = std::env::var_os("TTV_ASSETS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/assets"));
    for file in files {
        let path = dir.join(file);
        assert!(path.is_file(), "{} missing: set TTV_ASSETS to the shared assets folder", path.display());
    }
    dir
}

/// The assets folder with the FID weights and their reference features.
pub fn assets() -> std::path::PathBuf {
    assets_with(&[super::FID_WEIGHTS, "fid_inception_v3.reference.safetensors"])
}

/// The assets folder with the I3D weights and their reference logits, or None (with a message
/// saying the test is skipped) when `TTV_ASSETS` is unset and `../shared/assets` lacks them. With
/// `TTV_ASSETS` set (as CI sets it) missing files panic, so the reference check cannot be skipped
/// there.
pub fn i3d_assets() -> Option<std::path::PathBuf> {
    let files = [super::I3D_WEIGHTS, "i3d_kinetics400_rgb.reference.safetensors"];
    let default = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/assets");
    if std::env::var_os("TTV_ASSETS").is_none() && !files.iter().all(|f| default.join(f).is_file()) {
        eprintln!("skipped: the I3D weights are not in {} and TTV_ASSETS is unset", default.display());
        return None;
    }
    Some(assets_with(&files))
}
