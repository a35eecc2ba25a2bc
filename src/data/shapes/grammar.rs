//! The shapes grammar: objects x colours x motions x backgrounds, and which combinations are
//! valid (visible and unambiguous).

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Object {
    Ball,
    Square,
    Triangle,
    Bar,
    Ring,
    Cross,
}

impl Object {
    pub const ALL: [Object; 6] = [Object::Ball, Object::Square, Object::Triangle, Object::Bar, Object::Ring, Object::Cross];

    pub fn name(self) -> &'static str {
        self.synonyms()[0]
    }

    /// Words a caption may use; the first is the canonical name. Ball and circle are one object.
    pub fn synonyms(self) -> &'static [&'static str] {
        match self {
            Object::Ball => &["ball", "circle", "disc"],
            Object::Square => &["square", "box"],
            Object::Triangle => &["triangle"],
            Object::Bar => &["bar", "stick"],
            Object::Ring => &["ring"],
            Object::Cross => &["cross", "plus sign"],
        }
    }

    /// Rotating a shape with full rotational symmetry changes no pixel, so it is not a valid clip.
    pub fn shows_rotation(self) -> bool {
        !matches!(self, Object::Ball | Object::Ring)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Colour {
    Red,
    Green,
    Blue,
    Yellow,
    White,
    Black,
    Orange,
    Purple,
    Cyan,
    Pink,
}

impl Colour {
    pub const ALL: [Colour; 10] = [
        Colour::Red,
        Colour::Green,
        Colour::Blue,
        Colour::Yellow,
        Colour::White,
        Colour::Black,
        Colour::Orange,
        Colour::Purple,
        Colour::Cyan,
        Colour::Pink,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Colour::Red => "red",
            Colour::Green => "green",
            Colour::Blue => "blue",
            Colour::Yellow => "yellow",
            Colour::White => "white",
            Colour::Black => "black",
            Colour::Orange => "orange",
            Colour::Purple => "purple",
            Colour::Cyan => "cyan",
            Colour::Pink => "pink",
        }
    }

    pub fn from_word(w: &str) -> Option<Colour> {
        match w {
            "violet" => Some(Colour::Purple),
            _ => Colour::ALL.into_iter().find(|c| c.name() == w),
        }
    }

    /// sRGB in 0..=255 (what the renderer writes, before x/127.5-1).
    pub fn rgb(self) -> [f64; 3] {
        match self {
            Colour::Red => [230.0, 40.0, 40.0],
            Colour::Green => [40.0, 200.0, 70.0],
            Colour::Blue => [50.0, 100.0, 245.0],
            Colour::Yellow => [245.0, 220.0, 40.0],
            Colour::White => [245.0, 245.0, 245.0],
            Colour::Black => [15.0, 15.0, 15.0],
            Colour::Orange => [250.0, 140.0, 20.0],
            Colour::Purple => [150.0, 60.0, 210.0],
            Colour::Cyan => [40.0, 220.0, 230.0],
            Colour::Pink => [250.0, 130.0, 190.0],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Motion {
    LeftToRight,
    RightToLeft,
    Up,
    Down,
    UpAndDown,
    LeftAndRight,
    RotateClockwise,
    RotateCounterClockwise,
    /// From `Attributes::colour` to `Attributes::colour_to`.
    Fade,
    Appear,
    Disappear,
    Grow,
    Shrink,
    Static,
}

impl Motion {
    pub const ALL: [Motion; 14] = [
        Motion::LeftToRight,
        Motion::RightToLeft,
        Motion::Up,
        Motion::Down,
        Motion::UpAndDown,
        Motion::LeftAndRight,
        Motion::RotateClockwise,
        Motion::RotateCounterClockwise,
        Motion::Fade,
        Motion::Appear,
        Motion::Disappear,
        Motion::Grow,
        Motion::Shrink,
        Motion::Static,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Motion::LeftToRight => "left_to_right",
            Motion::RightToLeft => "right_to_left",
            Motion::Up => "up",
            Motion::Down => "down",
            Motion::UpAndDown => "up_and_down",
            Motion::LeftAndRight => "left_and_right",
            Motion::RotateClockwise => "rotate_clockwise",
            Motion::RotateCounterClockwise => "rotate_counter_clockwise",
            Motion::Fade => "fade",
            Motion::Appear => "appear",
            Motion::Disappear => "disappear",
            Motion::Grow => "grow",
            Motion::Shrink => "shrink",
            Motion::Static => "static",
        }
    }

    /// Motions that move the object's centre (a caption can then not say "in the center").
    pub fn translates(self) -> bool {
        matches!(
            self,
            Motion::LeftToRight | Motion::RightToLeft | Motion::Up | Motion::Down | Motion::UpAndDown | Motion::LeftAndRight
        )
    }

    pub fn rotates(self) -> bool {
        matches!(self, Motion::RotateClockwise | Motion::RotateCounterClockwise)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Background {
    Dark,
    Light,
    Gray,
    Blue,
    Green,
}

impl Background {
    pub const ALL: [Background; 5] = [Background::Dark, Background::Light, Background::Gray, Background::Blue, Background::Green];

    /// Words a caption may use before "background"; the first is canonical.
    pub fn synonyms(self) -> &'static [&'static str] {
        match self {
            Background::Dark => &["dark", "black"],
            Background::Light => &["light", "white"],
            Background::Gray => &["gray", "grey"],
            Background::Blue => &["blue"],
            Background::Green => &["green"],
        }
    }

    pub fn name(self) -> &'static str {
        self.synonyms()[0]
    }

    pub fn from_word(w: &str) -> Option<Background> {
        Background::ALL.into_iter().find(|b| b.synonyms().contains(&w))
    }

    pub fn rgb(self) -> [f64; 3] {
        match self {
            Background::Dark => [18.0, 18.0, 24.0],
            Background::Light => [232.0, 232.0, 226.0],
            Background::Gray => [120.0, 120.0, 120.0],
            Background::Blue => [25.0, 35.0, 100.0],
            Background::Green => [25.0, 80.0, 35.0],
        }
    }

    /// The colour an object has when the caption names none: what "a triangle" means here.
    pub fn default_colour(self) -> Colour {
        match self {
            Background::Light => Colour::Black,
            _ => Colour::White,
        }
    }

    /// Whether `c` stands out enough on this background to be seen (and judged) at 32x32.
    pub fn contrasts(self, c: Colour) -> bool {
        if self.name() == c.name() {
            return false;
        }
        let (a, b) = (self.rgb(), c.rgb());
        let d2: f64 = (0..3).map(|i| (a[i] - b[i]) * (a[i] - b[i])).sum();
        // Pale colours on the light background differ mostly in blue, which the eye (and a
        // 32x32 judge) barely sees: ask for a luma gap there too (drops yellow on light).
        let luma = |p: [f64; 3]| 0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2];
        d2 >= 110.0 * 110.0 && (self != Background::Light || luma(a) - luma(b) >= 25.0)
    }
}

/// Ground truth of one shapes clip: what its caption says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Attributes {
    pub object: Object,
    /// The object's colour (the starting colour of a fade).
    pub colour: Colour,
    pub motion: Motion,
    /// The final colour of a fade; `None` for every other motion.
    pub colour_to: Option<Colour>,
    pub background: Background,
}

impl Attributes {
    /// Valid clips are visible at every frame and their caption is unambiguous.
    pub fn is_valid(&self) -> bool {
        let bg = self.background;
        if !bg.contrasts(self.colour) {
            return false;
        }
        if self.motion.rotates() && !self.object.shows_rotation() {
            return false;
        }
        match (self.motion, self.colour_to) {
            (Motion::Fade, Some(to)) => to != self.colour && bg.contrasts(to),
            (Motion::Fade, None) => false,
            (_, Some(_)) => false,
            (_, None) => true,
        }
    }

    /// A short canonical description (also a valid caption).
    pub fn canonical_caption(&self) -> String {
        super::caption::canonical(self)
    }
}

/// Every valid (object, motion) pair: the unit the held-out split works on.
pub fn object_motion_pairs() -> Vec<(Object, Motion)> {
    let mut out = Vec::new();
    for o in Object::ALL {
        for m in Motion::ALL {
            if !m.rotates() || o.shows_rotation() {
                out.push((o, m));
            }
        }
    }
    out
}

/// Colours usable on a background (for an object or a fade endpoint).
pub fn colours_on(bg: Background) -> Vec<Colour> {
    Colour::ALL.into_iter().filter(|c| bg.contrasts(*c)).collect()
}
