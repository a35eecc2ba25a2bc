//! The built-in procedural benchmark: captioned clips of simple shapes whose attributes are
//! known, so text conditioning can be measured (colour, shape, motion) rather than eyeballed.

mod caption;
mod grammar;
mod heldout;
mod parse;
mod render;

pub use caption::{canonical, paraphrase};
pub use grammar::{Attributes, Background, Colour, Motion, Object, colours_on, object_motion_pairs};
pub use heldout::heldout_pairs;
pub use parse::{ParseError, parse_prompt};
pub use render::{Layout, render, render_into};

use super::rng::Rng;
use super::sample::{Sample, VideoShape};
use super::source::Source;
use crate::spec::types::ShapesSpec;

/// The paper's example prompts (the default eval prompts); all parse, and the first samples of
/// training are these.
pub use crate::spec::types::PAPER_PROMPTS;

/// Everything about one sample except its pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct ShapeItem {
    pub attributes: Attributes,
    pub layout: Layout,
    pub caption: String,
}

/// Render the clip a prompt asks for (default layout): the target for any parsable prompt.
pub fn render_prompt(prompt: &str, shape: VideoShape) -> Result<(Attributes, Vec<f32>), ParseError> {
    let a = parse_prompt(prompt)?;
    Ok((a, render(&a, &Layout::default(), shape)))
}

/// An indexable stream of shapes samples: sample i is a pure function of (seed, stream, i).
pub struct ShapesSource {
    seed: u64,
    /// Names the random stream, so train and held-out eval samples are independent.
    stream: &'static str,
    len: usize,
    shape: VideoShape,
    nuisance: ShapesSpec,
    /// (object, motion) pairs this stream draws from.
    pairs: Vec<(Object, Motion)>,
    /// Samples fixed at the start of the stream (the paper's prompts, verbatim).
    pinned: Vec<&'static str>,
}

impl ShapesSource {
    pub fn new(
        seed: u64,
        stream: &'static str,
        len: usize,
        shape: VideoShape,
        nuisance: ShapesSpec,
        pairs: Vec<(Object, Motion)>,
        pin_paper_prompts: bool,
    ) -> Self {
        assert!(!pairs.is_empty(), "shapes stream {stream} has no (object, motion) pairs");
        let pinned = if pin_paper_prompts { PAPER_PROMPTS.to_vec() } else { Vec::new() };
        Self { seed, stream, len, shape, nuisance, pairs, pinned }
    }

    /// Attributes, layout and caption of sample `i` (cheap: no rendering).
    pub fn describe(&self, i: usize) -> ShapeItem {
        let mut rng = Rng::keyed(self.seed, self.stream, i as u64);
        let (attributes, caption) = if let Some(p) = self.pinned.get(i) {
            (parse_prompt(p).expect("paper prompt parses"), p.to_string())
        } else {
            let (object, motion) = *rng.pick(&self.pairs);
            let background = *rng.pick(&Background::ALL);
            let colours = colours_on(background);
            let colour = *rng.pick(&colours);
            let colour_to = (motion == Motion::Fade).then(|| {
                let others: Vec<Colour> = colours.iter().copied().filter(|c| *c != colour).collect();
                *rng.pick(&others)
            });
            let a = Attributes { object, colour, motion, colour_to, background };
            debug_assert!(a.is_valid(), "{a:?}");
            (a, paraphrase(&a, !self.nuisance.random_position, &mut rng))
        };
        let layout = self.layout(&attributes, &caption, &mut rng);
        ShapeItem { attributes, layout, caption }
    }

    fn layout(&self, a: &Attributes, caption: &str, rng: &mut Rng) -> Layout {
        let mut l = Layout::default();
        let says_centre = caption.contains("in the center") || caption.contains("in the middle");
        if self.nuisance.random_position && !says_centre {
            let m = a.motion;
            let horizontal = matches!(m, Motion::LeftToRight | Motion::RightToLeft | Motion::LeftAndRight);
            let vertical = matches!(m, Motion::Up | Motion::Down | Motion::UpAndDown);
            // Keep the path inside the frame: little freedom along the direction of travel.
            l.cx = if horizontal { rng.range(0.45, 0.55) } else { rng.range(0.3, 0.7) };
            l.cy = if vertical { rng.range(0.45, 0.55) } else { rng.range(0.3, 0.7) };
        }
        if self.nuisance.random_size {
            l.size = rng.range(0.12, 0.24);
        }
        if self.nuisance.random_speed {
            l.speed = rng.range(0.6, 1.3);
        }
        l
    }
}

impl Source for ShapesSource {
    fn len(&self) -> usize {
        self.len
    }

    fn shape(&self) -> VideoShape {
        self.shape
    }

    fn get(&self, i: usize) -> Sample {
        let mut video = vec![0f32; self.shape.numel()];
        let mut s = self.get_into(i, &mut video);
        s.video = video;
        s
    }

    fn get_into(&self, i: usize, out: &mut [f32]) -> Sample {
        let item = self.describe(i);
        render_into(&item.attributes, &item.layout, self.shape, out);
        Sample {
            id: format!("shapes:{}#{i}", self.stream),
            video: Vec::new(),
            caption: item.caption,
            attributes: Some(item.attributes),
        }
    }

    fn shape_item(&self, index: usize) -> Option<ShapeItem> {
        Some(self.describe(index))
    }
}
