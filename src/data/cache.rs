//! Disk cache of decoded clips, keyed by the SHA-256 of the input bytes plus every
//! preprocessing setting, so a changed file or setting never serves a stale clip. Entries are
//! written to a temp name and renamed, so a killed run never leaves a torn entry.

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"TTVCLIP1";

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file, streamed (videos can be large).
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex(&h.finalize()))
}

#[derive(Clone, Debug)]
pub struct ClipCache {
    dir: PathBuf,
}

impl ClipCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Cache key of (content, settings).
    pub fn key(content_sha256: &str, settings: &str) -> String {
        sha256_hex(format!("{content_sha256}\n{settings}").as_bytes())
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(&key[..2]).join(format!("{key}.clip"))
    }

    /// The cached pixels, if present, complete and of the expected length.
    pub fn get(&self, key: &str, expected_len: usize) -> Option<Vec<u8>> {
        let bytes = std::fs::read(self.path(key)).ok()?;
        let body = bytes.strip_prefix(MAGIC.as_slice())?;
        (body.len() == expected_len).then(|| body.to_vec())
    }

    pub fn put(&self, key: &str, pixels: &[u8]) -> std::io::Result<()> {
        let path = self.path(key);
        let dir = path.parent().expect("cache path has a parent");
        std::fs::create_dir_all(dir)?;
        // Unique temp name per process and thread: parallel writers of one key never collide.
        let tmp = dir.join(format!(".{key}.{}.{:?}.tmp", std::process::id(), std::thread::current().id()));
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(MAGIC)?;
            f.write_all(pixels)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)
    }
}
