//! Sample clips a person can look at: one GIF per eval prompt, each pixel drawn as a
//! `scale x scale` block (nearest neighbour: no invented detail), about 8 frames per second.

use std::path::Path;

use anyhow::Result;

use crate::data::preview::write_gif;
use crate::metrics::ClipsU8;
use crate::store::atomic::write_atomic;

/// GIF delays are in hundredths of a second: 12 cs is the nearest to 8 fps.
pub const FRAME_DELAY_CS: u16 = 12;
/// Clips are upscaled until their longer side reaches this many pixels.
pub const MIN_SIDE: usize = 128;

/// Frames of clip `i`, each upscaled by `scale` (RGB rows).
pub fn upscaled_frames(clips: &ClipsU8, i: usize, scale: usize) -> Vec<Vec<u8>> {
    let (h, w) = (clips.height, clips.width);
    let clip = clips.clip(i);
    (0..clips.frames)
        .map(|t| {
            let frame = &clip[t * h * w * 3..(t + 1) * h * w * 3];
            let mut out = Vec::with_capacity(h * w * scale * scale * 3);
            for y in 0..h * scale {
                for x in 0..w * scale {
                    let p = ((y / scale) * w + x / scale) * 3;
                    out.extend_from_slice(&frame[p..p + 3]);
                }
            }
            out
        })
        .collect()
}

/// The nearest-neighbour factor that brings the longer side to at least [`MIN_SIDE`].
pub fn gif_scale(clips: &ClipsU8) -> usize {
    MIN_SIDE.div_ceil(clips.height.max(clips.width)).max(1)
}

/// Write clip `i` as `path` (upscaled, 8 fps).
pub fn write_clip_gif(path: &Path, clips: &ClipsU8, i: usize) -> Result<()> {
    let scale = gif_scale(clips);
    write_gif(path, clips.width * scale, clips.height * scale, &upscaled_frames(clips, i, scale), FRAME_DELAY_CS)
}

/// Write clip `i` of `clips` for each prompt as `dir/<i:02>.gif`, and the prompts, one per line,
/// as `dir/prompts.txt` (line i names GIF i).
pub fn write_prompt_gifs(dir: &Path, prompts: &[String], clips: &ClipsU8) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    for i in 0..clips.n {
        write_clip_gif(&dir.join(format!("{i:02}.gif")), clips, i)?;
    }
    let list: String = prompts.iter().map(|p| format!("{p}\n")).collect();
    write_atomic(&dir.join("prompts.txt"), list.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_first_floats_become_upscaled_frames_of_rgb_bytes() {
        // One clip, 2 frames of 1x2 pixels; red = -1, green = 0, blue = 1 everywhere except one pixel.
        let mut values = vec![-1.0f32; 4];
        values.extend([0.0f32; 4]);
        values.extend([1.0f32; 4]);
        values[1] = 1.0; // red of frame 0, pixel 1
        let clips = ClipsU8::from_channels_first(&values, [1, 3, 2, 1, 2]);
        assert_eq!(clips.data, vec![0, 128, 255, 255, 128, 255, 0, 128, 255, 0, 128, 255]);
        let frames = upscaled_frames(&clips, 0, 2);
        assert_eq!(frames.len(), 2);
        // Row 0 of the upscaled frame 0: pixel 0 twice, then pixel 1 twice.
        assert_eq!(&frames[0][..12], &[0, 128, 255, 0, 128, 255, 255, 128, 255, 255, 128, 255]);
        assert_eq!(frames[0].len(), 2 * 4 * 3);
        assert_eq!(gif_scale(&clips), 64);
    }
}
