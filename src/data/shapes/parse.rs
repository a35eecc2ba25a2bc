//! Prompt -> attributes, the inverse of the captions (eval prompts and alignment metrics).

use super::grammar::{Attributes, Background, Colour, Motion, Object};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("no known object in {0:?} (known: ball/circle/disc, square/box, triangle, bar/stick, ring, cross)")]
    NoObject(String),
    #[error("unknown background {word:?} in {prompt:?} (known: dark, light, gray, blue, green)")]
    UnknownBackground { word: String, prompt: String },
}

fn tokens(prompt: &str) -> Vec<String> {
    let lower = prompt.to_lowercase().replace("counter-clockwise", "counterclockwise").replace("anti-clockwise", "anticlockwise");
    lower.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).map(str::to_string).collect()
}

fn has_phrase(toks: &[String], phrase: &str) -> bool {
    let p: Vec<&str> = phrase.split(' ').collect();
    toks.windows(p.len()).any(|w| w.iter().zip(&p).all(|(a, b)| a == b))
}

fn has_any(toks: &[String], words: &[&str]) -> bool {
    words.iter().any(|w| has_phrase(toks, w))
}

/// Parse a prompt such as "a circle fading from green to yellow". Unnamed parts take the
/// defaults the captions use: dark background, the background's default colour, static.
pub fn parse_prompt(prompt: &str) -> Result<Attributes, ParseError> {
    let mut toks = tokens(prompt);

    // "<word> background" names the background; drop both words so a colour word there
    // ("a blue square on a green background") is not read as the object's colour.
    let mut background = Background::Dark;
    if let Some(k) = toks.iter().position(|t| t == "background")
        && k > 0
    {
        let word = toks[k - 1].clone();
        background =
            Background::from_word(&word).ok_or_else(|| ParseError::UnknownBackground { word, prompt: prompt.to_string() })?;
        toks.drain(k - 1..=k);
    }

    let (object, object_at) = toks
        .iter()
        .enumerate()
        .find_map(|(i, t)| {
            let t = if t == "plus" { "plus sign" } else { t.as_str() };
            Object::ALL.into_iter().find(|o| o.synonyms().contains(&t)).map(|o| (o, i))
        })
        .ok_or_else(|| ParseError::NoObject(prompt.to_string()))?;

    // A fade names both colours: "... from <a> to <b>".
    let fade = toks.windows(4).find_map(|w| {
        if w[0] == "from" && w[2] == "to" { Some((Colour::from_word(&w[1])?, Colour::from_word(&w[3])?)) } else { None }
    });

    let motion = if fade.is_some() {
        Motion::Fade
    } else if has_any(&toks, &["counterclockwise", "anticlockwise"]) {
        Motion::RotateCounterClockwise
    } else if has_phrase(&toks, "clockwise") {
        Motion::RotateClockwise
    } else if has_phrase(&toks, "up and down") {
        Motion::UpAndDown
    } else if has_any(&toks, &["left and right", "side to side"]) {
        Motion::LeftAndRight
    } else if has_any(&toks, &["left to right", "to the right", "rightward", "rightwards"]) {
        Motion::LeftToRight
    } else if has_any(&toks, &["right to left", "to the left", "leftward", "leftwards"]) {
        Motion::RightToLeft
    } else if has_any(&toks, &["disappearing", "disappears", "fading out", "vanishing", "vanishes"]) {
        Motion::Disappear
    } else if has_any(&toks, &["appearing", "appears", "fading in"]) {
        Motion::Appear
    } else if has_any(&toks, &["growing", "grows", "getting bigger", "expanding"]) {
        Motion::Grow
    } else if has_any(&toks, &["shrinking", "shrinks", "getting smaller", "contracting"]) {
        Motion::Shrink
    } else if has_any(&toks, &["up", "upward", "upwards", "rising", "rises", "bottom to top"]) {
        Motion::Up
    } else if has_any(&toks, &["down", "downward", "downwards", "falling", "falls", "top to bottom"]) {
        Motion::Down
    } else {
        Motion::Static
    };

    let (colour, colour_to) = match fade {
        Some((a, b)) => (a, Some(b)),
        None => {
            // The adjective right before the noun, else any colour word before it.
            let before = &toks[..object_at];
            let c = before.iter().rev().find_map(|t| Colour::from_word(t));
            (c.unwrap_or(background.default_colour()), None)
        }
    };
    Ok(Attributes { object, colour, motion, colour_to, background })
}
