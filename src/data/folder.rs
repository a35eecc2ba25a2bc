//! `folder`: real clips listed in a manifest (see `manifest`).

use super::decode::Decoder;
use super::gather::gather;
use super::manifest::{Entry, read_manifest};
use super::sample::Clip;
use super::skip::Skips;
use anyhow::{Result, bail};
use std::path::Path;

/// Decode the first `limit` usable entries of the manifest, skipping (and counting) bad ones.
pub fn load_folder(manifest: &Path, decoder: &Decoder, limit: usize, skips: &mut Skips) -> Result<Vec<Clip>> {
    let entries = read_manifest(manifest)?;
    if entries.is_empty() {
        bail!("manifest {} lists no videos", manifest.display());
    }
    let decode = |e: Entry| {
        let file = e.path.display().to_string();
        let caption = e.caption.trim();
        if caption.is_empty() {
            return Err((file, format!("empty caption (manifest line {})", e.line)));
        }
        if !e.path.exists() {
            return Err((file, format!("missing file (manifest line {})", e.line)));
        }
        match decoder.decode_path(&e.path, e.start_s, e.end_s) {
            Ok(pixels) => Ok(Clip { id: file, caption: caption.to_string(), pixels }),
            Err(reason) => Err((file, reason)),
        }
    };
    Ok(gather(entries.into_iter(), limit, decode, skips))
}
