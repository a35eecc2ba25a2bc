//! Temporal coherence of generated clips against their targets: does the clip change from frame
//! to frame the way the target does (`temporal_mse`), and does its object stay in view wherever
//! the target's is (`persistence`, shapes only: it needs the background colour).

use anyhow::{Result, ensure};

use super::ClipsU8;
use crate::data::shapes::Background;

/// A pixel is foreground when its RGB distance (0-255 units) from the background colour exceeds
/// this: half the 110 that the shapes grammar keeps between an object's colour and its
/// background (`Background::contrasts`), so a pixel an object mostly covers counts and faint
/// antialiased edges or a slightly noisy background do not.
pub const FOREGROUND_DISTANCE: f64 = 55.0;

/// A frame shows an object when at least this many of its pixels are foreground: a stray
/// pixel or two is noise, while the smallest shapes object at 32x32 still covers about ten.
pub const MIN_OBJECT_PIXELS: usize = 3;

fn same_shape(target: &ClipsU8, generated: &ClipsU8) -> Result<()> {
    ensure!(
        (target.n, target.frames, target.height, target.width)
            == (generated.n, generated.frames, generated.height, generated.width),
        "target clips [{}, {}, {}, {}] and generated clips [{}, {}, {}, {}] differ in shape",
        target.n,
        target.frames,
        target.height,
        target.width,
        generated.n,
        generated.frames,
        generated.height,
        generated.width
    );
    ensure!(target.n > 0, "no clips");
    Ok(())
}

/// Mean over clips of the MSE between the generated and the target frame-to-frame differences
/// `x[t+1] - x[t]`, on the model's [-1, 1] scale (as `gen_mse`): 0 when the clip changes exactly
/// as the target does, whatever its static content; a still clip scores the target's own
/// motion energy. Needs at least two frames.
pub fn temporal_mse(target: &ClipsU8, generated: &ClipsU8) -> Result<f64> {
    same_shape(target, generated)?;
    ensure!(target.frames >= 2, "frame-to-frame differences need at least 2 frames, the clips have {}", target.frames);
    let per_frame = target.height * target.width * 3;
    let mut total = 0.0;
    for i in 0..target.n {
        let mut sum: u64 = 0;
        for t in 0..target.frames - 1 {
            let (x0, x1) = (target.frame(i, t), target.frame(i, t + 1));
            let (g0, g1) = (generated.frame(i, t), generated.frame(i, t + 1));
            for k in 0..per_frame {
                let d = (g1[k] as i64 - g0[k] as i64) - (x1[k] as i64 - x0[k] as i64);
                sum += (d * d) as u64;
            }
        }
        total += sum as f64 / ((target.frames - 1) * per_frame) as f64;
    }
    // Bytes are (v + 1) * 127.5: a difference of one byte is 1 / 127.5 on the model's scale.
    Ok(total / target.n as f64 / (127.5 * 127.5))
}

/// Whether frame `t` of clip `i` shows an object on `background`.
fn shows_object(clips: &ClipsU8, i: usize, t: usize, background: Background) -> bool {
    let bg = background.rgb();
    let far = |p: &[u8]| (0..3).map(|c| (p[c] as f64 - bg[c]).powi(2)).sum::<f64>() > FOREGROUND_DISTANCE * FOREGROUND_DISTANCE;
    clips.frame(i, t).chunks_exact(3).filter(|p| far(p)).count() >= MIN_OBJECT_PIXELS
}

/// Object persistence: per clip, the fraction of the frames where the target shows an object
/// in which the generated clip shows one too (a recall: an object the target has not yet
/// shown, e.g. before it appears, is not penalised), averaged over clips. `backgrounds[i]` is
/// clip i's background. None when no target frame shows an object.
pub fn persistence(target: &ClipsU8, generated: &ClipsU8, backgrounds: &[Background]) -> Result<Option<f64>> {
    same_shape(target, generated)?;
    ensure!(backgrounds.len() == target.n, "{} backgrounds for {} clips", backgrounds.len(), target.n);
    let mut fractions = Vec::new();
    for (i, &bg) in backgrounds.iter().enumerate() {
        let shown: Vec<usize> = (0..target.frames).filter(|&t| shows_object(target, i, t, bg)).collect();
        if !shown.is_empty() {
            let kept = shown.iter().filter(|&&t| shows_object(generated, i, t, bg)).count();
            fractions.push(kept as f64 / shown.len() as f64);
        }
    }
    Ok((!fractions.is_empty()).then(|| fractions.iter().sum::<f64>() / fractions.len() as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::sample::VideoShape;
    use crate::data::shapes::{Attributes, Colour, Layout, Motion, Object};
    use crate::metrics::alignment::rendered;

    const SHAPE: VideoShape = VideoShape { frames: 8, height: 32, width: 32 };

    fn clip(motion: Motion) -> ClipsU8 {
        let a = Attributes { object: Object::Ball, colour: Colour::Red, motion, colour_to: None, background: Background::Dark };
        rendered(&a, &Layout::default(), SHAPE)
    }

    #[test]
    fn the_target_scores_zero_and_a_still_clip_its_motion_energy() {
        let moving = clip(Motion::LeftToRight);
        assert_eq!(temporal_mse(&moving, &moving).unwrap(), 0.0);
        let still = clip(Motion::Static);
        let missed = temporal_mse(&moving, &still).unwrap();
        assert!(missed > 0.0);
        // A still clip's differences are 0, so it scores the target's own differences.
        let energy = temporal_mse(&still, &moving).unwrap();
        assert!((missed - energy).abs() < 1e-12, "{missed} vs {energy}");
        // Static content does not count: a still clip of another colour changes as little as a
        // still target.
        let other = rendered(
            &Attributes {
                object: Object::Ball,
                colour: Colour::Blue,
                motion: Motion::Static,
                colour_to: None,
                background: Background::Dark,
            },
            &Layout::default(),
            SHAPE,
        );
        assert_eq!(temporal_mse(&still, &other).unwrap(), 0.0);
        let one_frame = ClipsU8::new(1, 1, 2, 2, vec![0; 12]).unwrap();
        assert!(temporal_mse(&one_frame, &one_frame).is_err());
    }

    #[test]
    fn persistence_counts_frames_where_the_object_vanishes() {
        let bg = [Background::Dark];
        let moving = clip(Motion::LeftToRight);
        assert_eq!(persistence(&moving, &moving, &bg).unwrap(), Some(1.0));
        // Disappearing: gone from 3/4 of the clip on, so about the last quarter of the target's
        // frames lack it.
        let gone = clip(Motion::Disappear);
        let p = persistence(&moving, &gone, &bg).unwrap().unwrap();
        assert!(p > 0.4 && p < 1.0, "{p}");
        // Appearing target: frames before the object shows are not asked of the clip.
        let appear = clip(Motion::Appear);
        assert_eq!(persistence(&appear, &moving, &bg).unwrap(), Some(1.0));
        let mut blank = moving.clone();
        for p in blank.data.chunks_exact_mut(3) {
            p.copy_from_slice(&Background::Dark.rgb().map(|v| v as u8));
        }
        assert_eq!(persistence(&moving, &blank, &bg).unwrap(), Some(0.0));
        assert_eq!(persistence(&blank, &moving, &bg).unwrap(), None, "no target frame shows an object");
    }
}
