//! One clip from one input (video file, GIF, folder of images, or in-memory mp4 bytes), through
//! the disk cache. Every failure is a one-line reason for a skip warning.

use super::cache::{ClipCache, file_sha256, hex, sha256_hex};
use super::ffmpeg::Ffmpeg;
use super::frames::{select_clip, to_channel_major, uniform_indices};
use super::sample::VideoShape;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const IMAGE_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "bmp", "webp", "ppm"];

pub struct Decoder {
    pub ffmpeg: Ffmpeg,
    pub cache: Option<ClipCache>,
    pub shape: VideoShape,
}

type Reason = String;

impl Decoder {
    /// Everything that changes the decoded pixels besides the input bytes.
    fn settings(&self, start_s: Option<f64>, end_s: Option<f64>) -> String {
        let s = self.shape;
        format!(
            "ttv-clip v1|{}|frames={}|h={}|w={}|start={start_s:?}|end={end_s:?}|crop=center|resize=bilinear|select=uniform",
            self.ffmpeg.version, s.frames, s.height, s.width
        )
    }

    fn cached(&self, content: &str, settings: &str, make: impl FnOnce() -> Result<Vec<u8>, Reason>) -> Result<Vec<u8>, Reason> {
        let Some(cache) = &self.cache else { return make() };
        let key = ClipCache::key(content, settings);
        if let Some(px) = cache.get(&key, self.shape.numel()) {
            return Ok(px);
        }
        let px = make()?;
        if let Err(e) = cache.put(&key, &px) {
            // A cache that cannot be written only costs time; say so once per clip.
            eprintln!("warning: clip cache write failed ({e}); continuing without it");
        }
        Ok(px)
    }

    /// A video file or GIF (optionally a time window), or a folder of images (one per frame).
    pub fn decode_path(&self, path: &Path, start_s: Option<f64>, end_s: Option<f64>) -> Result<Vec<u8>, Reason> {
        let meta = std::fs::metadata(path).map_err(|_| "missing file".to_string())?;
        if meta.is_dir() {
            return self.decode_image_dir(path);
        }
        if meta.len() == 0 {
            return Err("empty file".into());
        }
        let content = file_sha256(path).map_err(|e| format!("unreadable file ({e})"))?;
        let settings = self.settings(start_s, end_s);
        self.cached(&content, &settings, || {
            let s = self.shape;
            let frames = self.ffmpeg.decode(path, start_s, end_s, s.height, s.width)?;
            select_clip(&frames, s.frames, s.height, s.width)
        })
    }

    /// Frames are the folder's images in name order; `frames` of them are chosen uniformly.
    fn decode_image_dir(&self, dir: &Path) -> Result<Vec<u8>, Reason> {
        let mut images: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| format!("unreadable folder ({e})"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            })
            .collect();
        images.sort();
        let s = self.shape;
        if images.len() < s.frames {
            return Err(format!("only {} images in folder, {} needed", images.len(), s.frames));
        }
        let chosen: Vec<&PathBuf> = uniform_indices(images.len(), s.frames).into_iter().map(|i| &images[i]).collect();
        let mut h = Sha256::new();
        for p in &chosen {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let sha = file_sha256(p).map_err(|e| format!("unreadable image {name} ({e})"))?;
            h.update(format!("{name}\n{sha}\n").as_bytes());
        }
        let content = hex(&h.finalize());
        self.cached(&content, &self.settings(None, None), || {
            let frames = chosen
                .iter()
                .map(|p| {
                    self.ffmpeg
                        .decode_image(p, s.height, s.width)
                        .map_err(|e| format!("{}: {e}", p.file_name().unwrap_or_default().to_string_lossy()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let refs: Vec<&[u8]> = frames.iter().map(Vec::as_slice).collect();
            Ok(to_channel_major(&refs, s.height, s.width))
        })
    }

    /// mp4 (or any container) bytes held in memory, e.g. a FineVideo row. ffmpeg needs a
    /// seekable input for mp4s whose index is at the end, so the bytes go to a temp file.
    pub fn decode_bytes(&self, bytes: &[u8]) -> Result<Vec<u8>, Reason> {
        if bytes.is_empty() {
            return Err("empty video bytes".into());
        }
        let content = sha256_hex(bytes);
        self.cached(&content, &self.settings(None, None), || {
            let tmp = TempFile::new(bytes).map_err(|e| format!("cannot write temp file ({e})"))?;
            let s = self.shape;
            let frames = self.ffmpeg.decode(&tmp.0, None, None, s.height, s.width)?;
            select_clip(&frames, s.frames, s.height, s.width)
        })
    }
}

/// A temp file removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(bytes: &[u8]) -> std::io::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("ttv-decode-{}-{n}.bin", std::process::id()));
        std::fs::write(&path, bytes)?;
        Ok(Self(path))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
