//! GIF grids: many sample GIFs composed into one animated GIF, so every cell shows the same frame
//! at the same moment (separate <img> tags drift apart). Cells sit on a fixed pitch and carry no
//! text; the page lays its captions on the same pitch.

use std::path::Path;

use anyhow::{Context, Result};

use crate::store::atomic::write_atomic_with;

/// Cells narrower than this are upscaled (nearest neighbour, integer factor) to stay legible.
const MIN_CELL: usize = 96;
/// Space right of and below each cell.
pub const GAP: usize = 4;
const BACKGROUND: [u8; 4] = [40, 40, 40, 255];
const MISSING: [u8; 4] = [90, 90, 90, 255];

/// A decoded GIF: full RGBA frames (sub-rectangles and disposal applied).
#[derive(Debug, Clone)]
pub struct Clip {
    pub width: usize,
    pub height: usize,
    pub frames: Vec<Vec<u8>>,
    /// Centiseconds per frame (of the first frame).
    pub delay_cs: u16,
}

pub fn decode(path: &Path) -> Result<Clip> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::RGBA);
    let mut dec = opts.read_info(std::io::BufReader::new(file)).with_context(|| format!("decoding {}", path.display()))?;
    let (w, h) = (dec.width() as usize, dec.height() as usize);
    let mut canvas = vec![0u8; w * h * 4];
    let mut frames = Vec::new();
    let mut delay_cs = None;
    while let Some(f) = dec.read_next_frame().with_context(|| format!("decoding {}", path.display()))? {
        delay_cs.get_or_insert(f.delay);
        let before = (f.dispose == gif::DisposalMethod::Previous).then(|| canvas.clone());
        let (fl, ft, fw, fh) = (f.left as usize, f.top as usize, f.width as usize, f.height as usize);
        for y in 0..fh.min(h.saturating_sub(ft)) {
            for x in 0..fw.min(w.saturating_sub(fl)) {
                let src = &f.buffer[(y * fw + x) * 4..][..4];
                if src[3] != 0 {
                    canvas[((ft + y) * w + fl + x) * 4..][..4].copy_from_slice(src);
                }
            }
        }
        frames.push(canvas.clone());
        match (f.dispose, before) {
            (gif::DisposalMethod::Previous, Some(b)) => canvas = b,
            (gif::DisposalMethod::Background, _) => {
                for y in ft..(ft + fh).min(h) {
                    for x in fl..(fl + fw).min(w) {
                        canvas[(y * w + x) * 4..][..4].fill(0);
                    }
                }
            }
            _ => {}
        }
    }
    anyhow::ensure!(!frames.is_empty(), "{} has no frames", path.display());
    Ok(Clip { width: w, height: h, frames, delay_cs: delay_cs.unwrap_or(12).max(2) })
}

/// Where the cells of a written grid are, for the page's captions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub rows: usize,
    pub cols: usize,
    /// Cell pitch (cell plus `GAP`).
    pub pitch_x: usize,
    pub pitch_y: usize,
    pub width: usize,
    pub height: usize,
}

/// Compose `cells[row][col]` (none: a grey cell) into one looping GIF at `path`. Clips shorter
/// than the longest loop on their own frames; smaller ones are centred.
pub fn write(path: &Path, cells: &[Vec<Option<Clip>>]) -> Result<Layout> {
    let rows = cells.len();
    let cols = cells.iter().map(Vec::len).max().unwrap_or(0);
    let clips = || cells.iter().flatten().flatten();
    let (mut cw, mut ch) = clips().fold((1, 1), |(w, h), c| (w.max(c.width), h.max(c.height)));
    let scale = MIN_CELL.div_ceil(cw.max(ch)).max(1);
    (cw, ch) = (cw * scale, ch * scale);
    let n_frames = clips().map(|c| c.frames.len()).max().unwrap_or(1);
    let delay = clips().next().map_or(12, |c| c.delay_cs);
    let (px, py) = (cw + GAP, ch + GAP);
    let (w, h) = (cols * px, rows * py);
    anyhow::ensure!(
        w > 0 && h > 0 && w <= u16::MAX as usize && h <= u16::MAX as usize,
        "grid of {cols}x{rows} cells does not fit a GIF"
    );
    write_atomic_with(path, |file| {
        let io = |e: gif::EncodingError| std::io::Error::other(e);
        let mut enc = gif::Encoder::new(std::io::BufWriter::new(file), w as u16, h as u16, &[]).map_err(io)?;
        enc.set_repeat(gif::Repeat::Infinite).map_err(io)?;
        for f in 0..n_frames {
            let mut img: Vec<u8> = BACKGROUND.repeat(w * h);
            for (r, row) in cells.iter().enumerate() {
                for c in 0..cols {
                    let (ox, oy) = (c * px, r * py);
                    match row.get(c).and_then(Option::as_ref) {
                        Some(clip) => {
                            let frame = &clip.frames[f % clip.frames.len()];
                            let (sw, sh) = (clip.width * scale, clip.height * scale);
                            let (dx, dy) = (ox + (cw - sw) / 2, oy + (ch - sh) / 2);
                            for y in 0..sh {
                                for x in 0..sw {
                                    let s = &frame[((y / scale) * clip.width + x / scale) * 4..][..3];
                                    let d = ((dy + y) * w + dx + x) * 4;
                                    img[d..d + 3].copy_from_slice(s);
                                }
                            }
                        }
                        None => {
                            for y in 0..ch {
                                img[((oy + y) * w + ox) * 4..][..cw * 4].copy_from_slice(&MISSING.repeat(cw));
                            }
                        }
                    }
                }
            }
            let mut frame = gif::Frame::from_rgba_speed(w as u16, h as u16, &mut img, 10);
            frame.delay = delay;
            enc.write_frame(&frame).map_err(io)?;
        }
        Ok(())
    })
    .with_context(|| format!("writing {}", path.display()))?;
    Ok(Layout { rows, cols, pitch_x: px, pitch_y: py, width: w, height: h })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clip(color: u8, frames: usize) -> Clip {
        Clip {
            width: 8,
            height: 8,
            frames: (0..frames).map(|f| [color, f as u8 * 40, 0, 255].repeat(64)).collect(),
            delay_cs: 12,
        }
    }

    #[test]
    fn grid_frames_stay_in_sync_and_cells_are_upscaled() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("g.gif");
        let layout = write(&p, &[vec![Some(clip(200, 3)), None], vec![Some(clip(10, 3)), Some(clip(90, 1))]]).unwrap();
        assert_eq!((layout.rows, layout.cols), (2, 2));
        assert_eq!(layout.pitch_x, 8 * 12 + GAP);
        let back = decode(&p).unwrap();
        assert_eq!((back.width, back.height, back.frames.len(), back.delay_cs), (layout.width, layout.height, 3, 12));
        // Frame 2 of the top-left cell shows the clip's frame 2 (green = 80); the one-frame clip loops.
        let px = |f: usize, x: usize, y: usize| back.frames[f][(y * back.width + x) * 4 + 1];
        assert!((px(2, 5, 5) as i32 - 80).abs() <= 8);
        assert!((px(2, layout.pitch_x + 5, layout.pitch_y + 5) as i32).abs() <= 8);
    }
}
