//! Text-video alignment on the `shapes` benchmark, as attribute retrieval: is the caption
//! whose render is nearest to the generated clip the one that was asked, attribute by
//! attribute?
//!
//! Each eval clip is compared (pixel MSE) with the render of every caption it could have had,
//! with its own layout (position, size, speed): every colour x object x motion on the asked
//! background, and every background x colour with the asked object and motion. For an
//! attribute, each value scores its nearest render; the clip *aligns* on the attribute when
//! the asked value scores strictly lowest. A tie counts as a miss, so a clip that cannot tell
//! two values apart earns nothing for them.
//!
//! The other attributes are left free rather than held at what was asked, since holding them
//! would blame one wrong attribute on the rest: a green ball asked to be red is nearer to a
//! small red shape than to a red ball, and a ball that should move but stands still is nearer
//! to a moving bar than to a moving ball. Free, the nearest caption of a clip that is right but
//! for one attribute differs from the asked one in that attribute only. The background is
//! judged with the colour free (an object colour must contrast with its background); colour,
//! object and motion on the asked background, which covers most pixels and is seldom wrong. A
//! fade's colour is its starting colour; its second colour is free like the other attributes.
//!
//! Only combinations the grammar allows are rendered (`Attributes::is_valid`): colours that
//! contrast with the background, rotations of shapes that show them, a fade's two colours
//! distinct. Chance is 1 / (number of values with a valid render) per clip: it differs between
//! attributes and clips (fewer colours contrast with a light background, round shapes cannot
//! show a rotation), so the scores come with their chance levels ([`Alignment::chance_note`]).

use std::collections::BTreeMap;

use anyhow::{Result, ensure};
use rayon::prelude::*;

use super::ClipsU8;
use super::clips::to_byte;
use crate::data::sample::VideoShape;
use crate::data::shapes::{Attributes, Background, Colour, Layout, Motion, Object, ShapeItem, render};

/// An attribute a shapes caption fixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attribute {
    Colour,
    Object,
    Motion,
    Background,
}

impl Attribute {
    pub const ALL: [Attribute; 4] = [Attribute::Colour, Attribute::Object, Attribute::Motion, Attribute::Background];

    /// Its metric name in `metrics.parquet`.
    pub fn metric(self) -> &'static str {
        match self {
            Attribute::Colour => "align_colour",
            Attribute::Object => "align_object",
            Attribute::Motion => "align_motion",
            Attribute::Background => "align_background",
        }
    }

    /// Whether it counts in the mean `alignment`: the three a caption is about (colour, shape,
    /// motion direction). The background fills most pixels and is nearly always right, so it
    /// is reported beside the mean rather than inflating it.
    pub fn in_mean(self) -> bool {
        self != Attribute::Background
    }

    fn word(self) -> &'static str {
        match self {
            Attribute::Colour => "colour",
            Attribute::Object => "object",
            Attribute::Motion => "motion",
            Attribute::Background => "background",
        }
    }

    /// Which value of this attribute caption `c` has (an index into its `ALL`).
    fn value(self, c: &Attributes) -> usize {
        match self {
            Attribute::Colour => c.colour as usize,
            Attribute::Object => c.object as usize,
            Attribute::Motion => c.motion as usize,
            Attribute::Background => c.background as usize,
        }
    }

    /// Whether caption `c`, one of [`captions`]`(a)`, takes part in judging this attribute of
    /// a clip asked to be `a`.
    fn judges(self, c: &Attributes, a: &Attributes) -> bool {
        match self {
            Attribute::Background => (c.object, c.motion, c.colour_to) == (a.object, a.motion, a.colour_to),
            _ => c.background == a.background,
        }
    }
}

/// Every valid caption a clip asked to be `a` is compared with: colour x object x motion (a
/// fade with any second colour) on `a`'s background, and each other background with any colour
/// and `a`'s object and motion.
fn captions(a: &Attributes) -> Vec<Attributes> {
    let mut out = Vec::new();
    for colour in Colour::ALL {
        for object in Object::ALL {
            for motion in Motion::ALL {
                let second: Vec<Option<Colour>> =
                    if motion == Motion::Fade { Colour::ALL.iter().copied().map(Some).collect() } else { vec![None] };
                out.extend(second.into_iter().map(|colour_to| Attributes {
                    colour,
                    object,
                    motion,
                    colour_to,
                    background: a.background,
                }));
            }
        }
        for background in Background::ALL.into_iter().filter(|&b| b != a.background) {
            out.push(Attributes { colour, background, ..*a });
        }
    }
    out.retain(Attributes::is_valid);
    out
}

/// One attribute's result over the eval clips.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AttributeScore {
    pub attribute: Attribute,
    /// Fraction of clips that align on it.
    pub accuracy: f64,
    /// Mean over clips of 1 / (values with a valid render, the asked one included).
    pub chance: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Alignment {
    pub clips: usize,
    /// In [`Attribute::ALL`] order.
    pub per_attribute: Vec<AttributeScore>,
}

impl Alignment {
    /// Mean accuracy over the attributes [`Attribute::in_mean`]: the `alignment` metric.
    pub fn mean(&self) -> f64 {
        mean_of(&self.per_attribute, |s| s.accuracy)
    }

    /// Chance level of [`Alignment::mean`].
    pub fn mean_chance(&self) -> f64 {
        mean_of(&self.per_attribute, |s| s.chance)
    }

    /// `(metric, value)` rows: each attribute, then the mean.
    pub fn values(&self) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> =
            self.per_attribute.iter().map(|s| (s.attribute.metric().to_string(), s.accuracy)).collect();
        out.push(("alignment".into(), self.mean()));
        out
    }

    /// The chance levels in words, for the run's notes (they depend on the eval clips only).
    pub fn chance_note(&self) -> String {
        let each: Vec<String> = self.per_attribute.iter().map(|s| format!("{} {:.3}", s.attribute.word(), s.chance)).collect();
        format!(
            "alignment chance levels on these {} eval clips (1 / values with a valid render, averaged): {}; alignment \
             (mean of colour, object, motion) {:.3}",
            self.clips,
            each.join(", "),
            self.mean_chance()
        )
    }
}

fn mean_of(scores: &[AttributeScore], value: impl Fn(&AttributeScore) -> f64) -> f64 {
    let counted: Vec<f64> = scores.iter().filter(|s| s.attribute.in_mean()).map(value).collect();
    counted.iter().sum::<f64>() / counted.len() as f64
}

/// The clip `a` renders to with `layout`, as the uint8 clips the evaluation keeps.
pub fn rendered(a: &Attributes, layout: &Layout, shape: VideoShape) -> ClipsU8 {
    ClipsU8::from_channels_first(&render(a, layout, shape), [1, 3, shape.frames, shape.height, shape.width])
}

/// Sums of squared differences between one kept clip (`[frames, height, width, rgb]` bytes) and
/// renders (channels first, [-1, 1]) taken to bytes as the clip was: exact, so ties are real
/// ties. Renders are background but for the object, so each background's sum is computed once
/// and a render only corrects it where it differs; this keeps ~1000 renders per clip cheap.
struct Distances<'a> {
    clip: &'a [u8],
    /// Per background: its value per channel, and the clip's sum against a plain frame of it.
    plain: Vec<(Background, [f32; 3], i64)>,
}

impl<'a> Distances<'a> {
    fn new(clip: &'a [u8]) -> Self {
        let plain = Background::ALL
            .iter()
            .map(|&b| {
                let value = b.rgb().map(|v| (v / 127.5 - 1.0) as f32);
                let sum = clip.iter().enumerate().map(|(k, &x)| (to_byte(value[k % 3]) as i64 - x as i64).pow(2)).sum();
                (b, value, sum)
            })
            .collect();
        Self { clip, plain }
    }

    fn to(&self, render: &[f32], background: Background) -> u64 {
        let &(_, value, mut total) = self.plain.iter().find(|p| p.0 == background).expect("every background");
        let pixels = self.clip.len() / 3;
        for (c, channel) in render.chunks_exact(pixels).enumerate() {
            let plain = to_byte(value[c]) as i64;
            for (k, &v) in channel.iter().enumerate() {
                if v != value[c] {
                    let x = self.clip[k * 3 + c] as i64;
                    total += (to_byte(v) as i64 - x).pow(2) - (plain - x).pow(2);
                }
            }
        }
        total as u64
    }
}

/// Alignment of `generated[i]` with `items[i]`. `target` is what the evaluation kept as the
/// clips asked for: each must be exactly the render of its item, which proves the items are the
/// eval clips' own, in their order (scoring a clip against another clip's caption is refused).
pub fn alignment(target: &ClipsU8, generated: &ClipsU8, items: &[ShapeItem]) -> Result<Alignment> {
    ensure!(!items.is_empty(), "alignment of no clips");
    ensure!(
        target.n == items.len() && generated.n == items.len(),
        "{} eval items but {} target and {} generated clips",
        items.len(),
        target.n,
        generated.n
    );
    ensure!(
        (target.frames, target.height, target.width) == (generated.frames, generated.height, generated.width),
        "target and generated clips differ in shape"
    );
    let shape = VideoShape::new(target.frames, target.height, target.width);
    // Per clip and attribute: (aligned, values with a valid render).
    let judged: Vec<[(bool, usize); 4]> = items
        .par_iter()
        .enumerate()
        .map(|(i, item)| {
            let asked = rendered(&item.attributes, &item.layout, shape);
            ensure!(
                asked.data == target.clip(i),
                "eval clip {i}: the kept target is not the render of its caption `{}`; the eval items do not \
                 match the kept clips (another data split, or another renderer)",
                item.caption
            );
            let to = Distances::new(generated.clip(i));
            let distances: Vec<(Attributes, u64)> = captions(&item.attributes)
                .into_iter()
                .map(|c| (c, to.to(&render(&c, &item.layout, shape), c.background)))
                .collect();
            Ok(Attribute::ALL.map(|attribute| {
                // The nearest render of each value of the attribute.
                let mut nearest: BTreeMap<usize, u64> = BTreeMap::new();
                for (c, d) in distances.iter().filter(|(c, _)| attribute.judges(c, &item.attributes)) {
                    nearest.entry(attribute.value(c)).and_modify(|m| *m = (*m).min(*d)).or_insert(*d);
                }
                let asked = nearest[&attribute.value(&item.attributes)];
                (nearest.values().filter(|&&d| d <= asked).count() == 1, nearest.len())
            }))
        })
        .collect::<Result<_>>()?;
    let n = items.len() as f64;
    let per_attribute = Attribute::ALL
        .iter()
        .enumerate()
        .map(|(k, &attribute)| AttributeScore {
            attribute,
            accuracy: judged.iter().filter(|j| j[k].0).count() as f64 / n,
            chance: judged.iter().map(|j| 1.0 / j[k].1 as f64).sum::<f64>() / n,
        })
        .collect();
    Ok(Alignment { clips: items.len(), per_attribute })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::shapes::colours_on;

    const SHAPE: VideoShape = VideoShape { frames: 8, height: 32, width: 32 };

    fn item(object: Object, colour: Colour, motion: Motion, background: Background) -> ShapeItem {
        let attributes = Attributes { object, colour, motion, colour_to: None, background };
        assert!(attributes.is_valid(), "{attributes:?}");
        ShapeItem { caption: attributes.canonical_caption(), attributes, layout: Layout::default() }
    }

    /// Three eval items and their target clips.
    fn eval_set() -> (Vec<ShapeItem>, ClipsU8) {
        let mut items = vec![
            item(Object::Ball, Colour::Red, Motion::LeftToRight, Background::Dark),
            item(Object::Square, Colour::Blue, Motion::RotateClockwise, Background::Light),
            item(Object::Triangle, Colour::Yellow, Motion::Up, Background::Gray),
        ];
        let mut fade = item(Object::Ring, Colour::Green, Motion::Static, Background::Dark);
        fade.attributes = Attributes { motion: Motion::Fade, colour_to: Some(Colour::Pink), ..fade.attributes };
        items.push(fade);
        (items.clone(), clips_of(&items.iter().map(|i| i.attributes).collect::<Vec<_>>(), &items))
    }

    /// Clip i renders `attributes[i]` with item i's layout.
    fn clips_of(attributes: &[Attributes], items: &[ShapeItem]) -> ClipsU8 {
        let mut all = rendered(&attributes[0], &items[0].layout, SHAPE);
        for (a, item) in attributes.iter().zip(items).skip(1) {
            all.extend(&rendered(a, &item.layout, SHAPE));
        }
        all
    }

    fn accuracy(a: &Alignment, attribute: Attribute) -> f64 {
        a.per_attribute.iter().find(|s| s.attribute == attribute).unwrap().accuracy
    }

    #[test]
    fn the_target_itself_aligns_on_every_attribute() {
        let (items, target) = eval_set();
        let a = alignment(&target, &target, &items).unwrap();
        for attribute in Attribute::ALL {
            assert_eq!(accuracy(&a, attribute), 1.0, "{attribute:?}");
        }
        assert_eq!(a.mean(), 1.0);
        assert_eq!(a.values().last(), Some(&("alignment".to_string(), 1.0)));
    }

    #[test]
    fn a_wrong_colour_fails_colour_only() {
        let (items, target) = eval_set();
        let mut asked: Vec<Attributes> = items.iter().map(|i| i.attributes).collect();
        asked[0].colour = Colour::Green;
        let generated = clips_of(&asked, &items);
        let a = alignment(&target, &generated, &items).unwrap();
        assert_eq!(accuracy(&a, Attribute::Colour), 0.75, "clip 0 misses its colour");
        for attribute in [Attribute::Object, Attribute::Motion, Attribute::Background] {
            assert_eq!(accuracy(&a, attribute), 1.0, "{attribute:?}");
        }
    }

    #[test]
    fn a_static_clip_fails_motion_for_a_moving_target() {
        let (items, target) = eval_set();
        let mut asked: Vec<Attributes> = items.iter().map(|i| i.attributes).collect();
        // Still: the ball that should move right, the triangle that should rise, and the ring
        // that should fade from green to pink (it stays green).
        for i in [0, 2, 3] {
            asked[i] = Attributes { motion: Motion::Static, colour_to: None, ..asked[i] };
        }
        let a = alignment(&target, &clips_of(&asked, &items), &items).unwrap();
        assert_eq!(accuracy(&a, Attribute::Motion), 0.25, "only the rotating square is right");
        for attribute in [Attribute::Colour, Attribute::Object, Attribute::Background] {
            assert_eq!(accuracy(&a, attribute), 1.0, "{attribute:?}");
        }
    }

    #[test]
    fn a_blank_clip_aligns_on_nothing_but_its_background() {
        let (items, target) = eval_set();
        let mut blank = target.clone();
        let len = blank.frames * blank.height * blank.width * 3;
        for (clip, item) in blank.data.chunks_exact_mut(len).zip(&items) {
            let bg = item.attributes.background.rgb().map(|v| v as u8);
            for (k, b) in clip.iter_mut().enumerate() {
                *b = bg[k % 3];
            }
        }
        let a = alignment(&target, &blank, &items).unwrap();
        assert_eq!(accuracy(&a, Attribute::Background), 1.0);
        // An empty frame is nearest to the least visible alternative (the colour closest to
        // the background, the smallest shape, a motion that hides the object), not to what was
        // asked: far below the target's 1.0.
        assert!(a.mean() < 0.5, "{a:?}");
    }

    #[test]
    fn chance_levels_follow_the_grammar() {
        let (items, target) = eval_set();
        let a = alignment(&target, &target, &items).unwrap();
        let chance = |attribute| a.per_attribute.iter().find(|s| s.attribute == attribute).unwrap().chance;
        let mean = |per_item: &dyn Fn(&Attributes) -> usize| {
            items.iter().map(|i| 1.0 / per_item(&i.attributes) as f64).sum::<f64>() / 4.0
        };
        let close = |x: f64, y: f64| assert!((x - y).abs() < 1e-12, "{x} vs {y}");
        close(chance(Attribute::Colour), mean(&|a| colours_on(a.background).len()));
        // Some shape shows every motion, and every shape has a motion it can show.
        close(chance(Attribute::Object), 1.0 / 6.0);
        close(chance(Attribute::Motion), 1.0 / 14.0);
        // Pink does not stand out on the light background: the fade to pink cannot be there.
        close(chance(Attribute::Background), (3.0 / 5.0 + 1.0 / 4.0) / 4.0);
        assert!(a.chance_note().contains("4 eval clips"), "{}", a.chance_note());
    }

    #[test]
    fn items_that_are_not_the_kept_clips_are_refused() {
        let (mut items, target) = eval_set();
        items.swap(0, 1);
        let err = alignment(&target, &target, &items).unwrap_err().to_string();
        assert!(err.contains("eval clip 0"), "{err}");
    }
}
