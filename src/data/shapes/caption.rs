//! Caption paraphrases. Every caption fully determines its clip when nuisance factors are off:
//! a colour may be left out only when it is the background's default colour, the background
//! only when it is the default (dark), and "in the center" only when the object stays there.

use super::grammar::{Attributes, Background, Motion};
use crate::data::rng::Rng;

/// Verb phrases per motion ("" is a bare noun phrase for a static object).
fn verb_phrases(m: Motion) -> &'static [&'static str] {
    match m {
        Motion::LeftToRight => &["moving left to right", "moving from left to right", "sliding to the right"],
        Motion::RightToLeft => &["moving right to left", "moving from right to left", "sliding to the left"],
        Motion::Up => &["moving up", "rising", "moving upward"],
        Motion::Down => &["moving down", "falling", "moving downward"],
        Motion::UpAndDown => &["moving up and down", "bouncing up and down", "bobbing up and down"],
        Motion::LeftAndRight => &["moving left and right", "sliding side to side", "swinging left and right"],
        Motion::RotateClockwise => &["rotating clockwise", "spinning clockwise", "turning clockwise"],
        Motion::RotateCounterClockwise => &["rotating counter-clockwise", "spinning counterclockwise", "turning anticlockwise"],
        // `{a}`/`{b}` are the fade's colours.
        Motion::Fade => &["fading from {a} to {b}", "changing colour from {a} to {b}", "turning from {a} to {b}"],
        Motion::Appear => &["appearing", "fading in", "slowly appearing"],
        Motion::Disappear => &["disappearing", "fading out", "vanishing"],
        Motion::Grow => &["growing", "getting bigger", "expanding"],
        Motion::Shrink => &["shrinking", "getting smaller", "contracting"],
        Motion::Static => &["", "standing still", "staying still"],
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" }
}

/// One paraphrase, chosen by `rng`. `centred`: the object sits in the middle of the frame.
pub fn paraphrase(a: &Attributes, centred: bool, rng: &mut Rng) -> String {
    let object = *rng.pick(a.object.synonyms());
    let name_colour = a.motion != Motion::Fade && (a.colour != a.background.default_colour() || rng.below(2) == 0);
    let noun = if name_colour { format!("{} {}", a.colour.name(), object) } else { object.to_string() };
    let verb = rng
        .pick(verb_phrases(a.motion))
        .replace("{a}", a.colour.name())
        .replace("{b}", a.colour_to.map(|c| c.name()).unwrap_or(""));
    let mut text = format!("{} {}", article(&noun), noun);
    if !verb.is_empty() {
        text.push(' ');
        text.push_str(&verb);
    }
    let may_locate = centred && !a.motion.translates();
    let bg_word = *rng.pick(a.background.synonyms());
    let say_bg = a.background != Background::Dark || rng.below(2) == 0;
    // Sentence shapes: [location], [background], or the paper's "in the center of a X background".
    match (may_locate && rng.below(2) == 0, say_bg) {
        (true, true) => text.push_str(&format!(" in the center of {} {bg_word} background", article(bg_word))),
        (true, false) => {
            let place: &&str = rng.pick(&[" in the center", " in the middle"]);
            text.push_str(place);
        }
        (false, true) => {
            let prep = *rng.pick(&["on", "against"]);
            text.push_str(&format!(" {prep} {} {bg_word} background", article(bg_word)));
        }
        (false, false) => {}
    }
    text
}

/// The one canonical caption of a combination (used for display and as an eval prompt).
pub fn canonical(a: &Attributes) -> String {
    let noun =
        if a.motion == Motion::Fade { a.object.name().to_string() } else { format!("{} {}", a.colour.name(), a.object.name()) };
    let verb =
        verb_phrases(a.motion)[0].replace("{a}", a.colour.name()).replace("{b}", a.colour_to.map(|c| c.name()).unwrap_or(""));
    let mut text = format!("{} {}", article(&noun), noun);
    if !verb.is_empty() {
        text.push(' ');
        text.push_str(&verb);
    }
    if a.background != Background::Dark {
        text.push_str(&format!(" on {} {} background", article(a.background.name()), a.background.name()));
    }
    text
}
