//! A GIF grid of the first samples of a dataset (`ttv-run preview`, and each run's directory),
//! with the captions in a text file beside it.

use super::fingerprint::fingerprint;
use super::sample::{Sample, VideoShape};
use super::source::Dataset;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

pub struct Preview {
    pub gif: PathBuf,
    pub captions_file: PathBuf,
    pub captions: Vec<String>,
    /// Fingerprint of exactly the samples shown.
    pub fingerprint: String,
}

/// RGB frames of a grid of clips: `cols` per row, each pixel drawn `scale` x `scale`, 2 px gaps.
pub fn grid_frames(samples: &[Sample], shape: VideoShape, cols: usize, scale: usize) -> (usize, usize, Vec<Vec<u8>>) {
    let (t, h, w) = (shape.frames, shape.height, shape.width);
    let cols = cols.max(1).min(samples.len().max(1));
    let rows = samples.len().div_ceil(cols).max(1);
    let gap = 2;
    let (tw, th) = (w * scale, h * scale);
    let (gw, gh) = (cols * tw + (cols + 1) * gap, rows * th + (rows + 1) * gap);
    let plane = h * w;
    let frames = (0..t)
        .map(|f| {
            let mut img = vec![64u8; gw * gh * 3];
            for (k, s) in samples.iter().enumerate() {
                let (ox, oy) = (gap + (k % cols) * (tw + gap), gap + (k / cols) * (th + gap));
                for y in 0..th {
                    for x in 0..tw {
                        let p = f * plane + (y / scale) * w + x / scale;
                        let o = ((oy + y) * gw + ox + x) * 3;
                        for c in 0..3 {
                            let v = s.video[c * t * plane + p];
                            img[o + c] = ((v + 1.0) * 127.5).round().clamp(0.0, 255.0) as u8;
                        }
                    }
                }
            }
            img
        })
        .collect();
    (gw, gh, frames)
}

/// Write an animated GIF (looping), atomically (temp file + rename).
pub fn write_gif(path: &Path, width: usize, height: usize, frames: &[Vec<u8>], delay_cs: u16) -> Result<()> {
    let tmp = path.with_extension(format!("gif.{}.tmp", std::process::id()));
    {
        let file = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let mut enc = gif::Encoder::new(std::io::BufWriter::new(file), width as u16, height as u16, &[])?;
        enc.set_repeat(gif::Repeat::Infinite)?;
        for rgb in frames {
            let mut frame = gif::Frame::from_rgb_speed(width as u16, height as u16, rgb, 10);
            frame.delay = delay_cs;
            enc.write_frame(&frame)?;
        }
    }
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The first `n` samples of `dataset` as a GIF grid at `path`, captions in `path` with `.txt`.
pub fn write_preview(dataset: &Dataset, n: usize, path: &Path) -> Result<Preview> {
    let samples = dataset.take(n);
    anyhow::ensure!(!samples.is_empty(), "the dataset is empty: nothing to preview");
    let shape = dataset.shape();
    let cols = (samples.len() as f64).sqrt().ceil() as usize;
    let scale = (128 / shape.height.max(shape.width)).max(1);
    let (w, h, frames) = grid_frames(&samples, shape, cols, scale);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    write_gif(path, w, h, &frames, 25)?;
    let captions: Vec<String> = samples.iter().map(|s| s.caption.clone()).collect();
    let captions_file = path.with_extension("txt");
    let text: String = captions
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{:2} (row {}, col {}): {c}\n", i, i / cols + 1, i % cols + 1))
        .collect();
    let tmp = captions_file.with_extension(format!("txt.{}.tmp", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, &captions_file)?;
    Ok(Preview { gif: path.to_path_buf(), captions_file, captions, fingerprint: fingerprint(&samples) })
}
