//! Metrics of generated video: frame-wise FID and KID and clip-level FVD (distributions), and for
//! the `shapes` benchmark alignment with the caption ([`alignment`]) and temporal coherence
//! ([`temporal`]).
//!
//! What the numbers are, so they can be compared:
//! - Features: the 2048-d `pool3` activations (global average pool after `Mixed_7c`) of the FID
//!   Inception-v3, i.e. TensorFlow's `inception-2015-12-05` graph as ported by pytorch-fid
//!   ([`inception`]; weights and reference features in `shared/assets`).
//! - Preprocessing: each uint8 RGB frame, whatever its size, is resized to 299x299 bilinearly
//!   with `align_corners=False` and no antialiasing (torch's `F.interpolate`, as in pytorch-fid)
//!   and mapped to [-1, 1] by `x/127.5 - 1` ([`resize`]). The original TF code resizes and
//!   scales slightly differently; for small frames the resize dominates, so compare only with
//!   pytorch-fid-style numbers.
//! - Frame-wise FID ([`clips`]): the FID between real and generated frames at each frame
//!   position over all clips, averaged over positions, as the paper does. FID itself ([`fid`])
//!   is computed in float64 with unbiased covariances.
//! - KID ([`kid`]): unbiased MMD² with the cubic kernel `(x·y/d + 1)³` over random subsets
//!   (torch-fidelity's defaults), on all frames pooled.
//! - FVD ([`fvd`]): the same Fréchet distance between the 400-d time-averaged logits of I3D
//!   ([`i3d`], Kinetics-400 RGB), one per clip, with the reference FVD code's preprocessing
//!   (TF1 bilinear resize to 224x224, `x/127.5 - 1`); clips need at least 9 frames.
//!
//! Few samples: with at most 2048 samples per set the covariance is singular. FID is still well
//! defined (and computed exactly), but it is biased upward by an amount that depends on the
//! sample count, so such FIDs are comparable only at equal counts; the results carry
//! `rank_deficient` and [`FramewiseFid::caveat`] says so in words. KID is unbiased and is the
//! number to trust at small n.

pub mod alignment;
pub mod clips;
pub mod features;
pub mod fid;
pub mod fvd;
pub mod i3d;
pub mod inception;
pub mod kid;
pub mod network;
pub mod resize;
pub mod temporal;
#[cfg(test)]
pub(crate) mod testing;

use std::path::PathBuf;

pub use clips::{ClipsU8, FrameFeatures, FramewiseFid, framewise, framewise_from_features};
pub use features::Features;
pub use fid::{Fid, fid};
pub use fvd::{Fvd, FvdNetwork, fvd_from_embeddings};
pub use inception::{FEATURE_DIM, FidInceptionV3, INPUT_SIZE};
pub use kid::{Kid, KidOptions, kid};
pub use network::FidNetwork;

/// File name of the FID Inception-v3 weights in the assets folder.
pub const FID_WEIGHTS: &str = "fid_inception_v3.safetensors";
/// File name of the I3D Kinetics-400 RGB weights (FVD) in the assets folder.
pub const I3D_WEIGHTS: &str = "i3d_kinetics400_rgb.safetensors";

/// `file` in the first folder holding it among `$TTV_ASSETS`, then `$XDG_CACHE_HOME/ttv/assets`
/// (or `~/.cache/ttv/assets` without XDG_CACHE_HOME); None when none does.
pub fn find_asset(file: &str) -> Option<PathBuf> {
    let env_dir = |var: &str| std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from);
    let cache = env_dir("XDG_CACHE_HOME").or_else(|| env_dir("HOME").map(|h| h.join(".cache")));
    [env_dir("TTV_ASSETS"), cache.map(|c| c.join("ttv").join("assets"))]
        .into_iter()
        .flatten()
        .map(|dir| dir.join(file))
        .find(|path| path.is_file())
}

/// The FID network from [`find_asset`], or the reason it is unavailable (to record FID as
/// pending rather than fail a run).
pub fn load_fid_network(device: &burn::tensor::Device) -> Result<FidNetwork, String> {
    let path = find_asset(FID_WEIGHTS)
        .ok_or_else(|| format!("FID weights not found: set TTV_ASSETS to a folder holding {FID_WEIGHTS}"))?;
    FidNetwork::load(&path, device)
}

/// The FVD network (I3D) from [`find_asset`], or the reason it is unavailable.
pub fn load_fvd_network(device: &burn::tensor::Device) -> Result<FvdNetwork, String> {
    let path = find_asset(I3D_WEIGHTS)
        .ok_or_else(|| format!("I3D weights not found: set TTV_ASSETS to a folder holding {I3D_WEIGHTS}"))?;
    FvdNetwork::load(&path, device)
}
