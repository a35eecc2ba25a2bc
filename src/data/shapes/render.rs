//! Analytic rendering: each pixel's coverage comes from the object's signed distance
//! (clamp(0.5 - d, 0, 1)), which antialiases edges exactly like 1-pixel box filtering, costs one
//! distance per pixel, and uses only correctly rounded arithmetic, so output bytes are identical
//! on every machine.

use super::grammar::{Attributes, Motion, Object};
use crate::data::detmath::{degrees, sin_cos};
use crate::data::sample::VideoShape;
use serde::Serialize;

/// Nuisance factors: where the object sits, how big it is and how fast it moves. The default is
/// what a caption implies when it says nothing about them.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Layout {
    /// Centre of the motion, as a fraction of width / height (0.5 = middle).
    pub cx: f64,
    pub cy: f64,
    /// Object half-size as a fraction of min(height, width).
    pub size: f64,
    /// Multiplies travel distance, rotation angle and grow/shrink range.
    pub speed: f64,
}

impl Default for Layout {
    fn default() -> Self {
        Self { cx: 0.5, cy: 0.5, size: 0.18, speed: 1.0 }
    }
}

/// Travel of a translating motion, as a fraction of the frame (at speed 1).
const TRAVEL: f64 = 0.55;
/// Rotation over the clip (at speed 1); well under the 90 degree symmetry of a square, so the
/// direction of turn stays readable between frames.
const ROTATION_DEG: f64 = 90.0;
/// Smallest scale of grow/shrink (at speed 1).
const MIN_SCALE: f64 = 0.35;

/// Where the object is at time t in [0, 1].
struct Pose {
    x: f64,
    y: f64,
    angle: f64,
    scale: f64,
    alpha: f64,
    rgb: [f64; 3],
}

fn pose(a: &Attributes, l: &Layout, t: f64, shape: VideoShape) -> Pose {
    let (w, h) = (shape.width as f64, shape.height as f64);
    let d = TRAVEL * l.speed;
    // 0 -> 1 -> 0 over the clip: "up and down" goes up first, "left and right" right first.
    let tri = 1.0 - (2.0 * t - 1.0).abs();
    let (mut cx, mut cy) = (l.cx, l.cy);
    match a.motion {
        Motion::LeftToRight => cx += d * (t - 0.5),
        Motion::RightToLeft => cx -= d * (t - 0.5),
        Motion::Up => cy -= d * (t - 0.5),
        Motion::Down => cy += d * (t - 0.5),
        Motion::UpAndDown => cy += d * 0.5 - d * tri,
        Motion::LeftAndRight => cx += -d * 0.5 + d * tri,
        _ => {}
    }
    // y points down in the image, so a positive angle turns clockwise on screen.
    let angle = match a.motion {
        Motion::RotateClockwise => degrees(ROTATION_DEG * l.speed * t),
        Motion::RotateCounterClockwise => -degrees(ROTATION_DEG * l.speed * t),
        _ => 0.0,
    };
    let low = (1.0 - (1.0 - MIN_SCALE) * l.speed).max(0.1);
    let scale = match a.motion {
        Motion::Grow => low + (1.0 - low) * t,
        Motion::Shrink => 1.0 - (1.0 - low) * t,
        _ => 1.0,
    };
    // Appearing is fully absent on the first frame and fully present from 3/4 of the clip.
    let ramp = (t / 0.75).min(1.0);
    let alpha = match a.motion {
        Motion::Appear => ramp,
        Motion::Disappear => 1.0 - ramp,
        _ => 1.0,
    };
    let c0 = a.colour.rgb();
    let rgb = match (a.motion, a.colour_to) {
        (Motion::Fade, Some(to)) => {
            let c1 = to.rgb();
            [0, 1, 2].map(|i| c0[i] + (c1[i] - c0[i]) * t)
        }
        _ => c0,
    };
    Pose { x: cx * w, y: cy * h, angle, scale, alpha, rgb }
}

fn sd_box(px: f64, py: f64, bx: f64, by: f64) -> f64 {
    let (dx, dy) = (px.abs() - bx, py.abs() - by);
    let (ox, oy) = (dx.max(0.0), dy.max(0.0));
    (ox * ox + oy * oy).sqrt() + dx.max(dy).min(0.0)
}

/// Equilateral triangle with its apex up (Inigo Quilez's exact distance), half-side r.
fn sd_triangle(px: f64, py_down: f64, r: f64) -> f64 {
    let k = 3.0f64.sqrt();
    let mut x = px.abs() - r;
    let mut y = -py_down + r / k;
    if x + k * y > 0.0 {
        let (nx, ny) = ((x - k * y) / 2.0, (-k * x - y) / 2.0);
        x = nx;
        y = ny;
    }
    x -= x.clamp(-2.0 * r, 0.0);
    let len = (x * x + y * y).sqrt();
    if y > 0.0 { -len } else { len }
}

/// Signed distance (pixels, negative inside) of an object of half-size s centred at 0.
fn sd_object(o: Object, x: f64, y: f64, s: f64) -> f64 {
    match o {
        Object::Ball => (x * x + y * y).sqrt() - s,
        Object::Ring => ((x * x + y * y).sqrt() - 0.78 * s).abs() - 0.22 * s,
        Object::Square => sd_box(x, y, 0.88 * s, 0.88 * s),
        Object::Bar => sd_box(x, y, 1.5 * s, 0.38 * s),
        Object::Triangle => sd_triangle(x, y, 1.2 * s),
        Object::Cross => sd_box(x, y, 1.0 * s, 0.32 * s).min(sd_box(x, y, 0.32 * s, 1.0 * s)),
    }
}

/// Radius (in units of s) of a circle containing the object, for the bounding box.
fn bound(o: Object) -> f64 {
    match o {
        Object::Ball | Object::Ring => 1.0,
        Object::Square => 1.25,
        Object::Bar => 1.55,
        Object::Triangle => 1.4,
        Object::Cross => 1.06,
    }
}

/// Render a clip as (C=3, T, H, W) f32 in [-1, 1] (pixel value x maps to x/127.5 - 1).
pub fn render(a: &Attributes, l: &Layout, shape: VideoShape) -> Vec<f32> {
    let mut out = vec![0f32; shape.numel()];
    render_into(a, l, shape, &mut out);
    out
}

/// `render` into a caller's buffer (a slot of a batch: no per-sample allocation or copy).
pub fn render_into(a: &Attributes, l: &Layout, shape: VideoShape, out: &mut [f32]) {
    let (t_n, h, w) = (shape.frames, shape.height, shape.width);
    let plane = h * w;
    assert_eq!(out.len(), 3 * t_n * plane, "render_into: buffer size");
    let bg = a.background.rgb();
    let bg_v = bg.map(|v| (v / 127.5 - 1.0) as f32);
    for c in 0..3 {
        out[c * t_n * plane..(c + 1) * t_n * plane].fill(bg_v[c]);
    }
    let base = l.size * h.min(w) as f64;
    for f in 0..t_n {
        let t = if t_n > 1 { f as f64 / (t_n - 1) as f64 } else { 0.0 };
        let p = pose(a, l, t, shape);
        if p.alpha <= 0.0 {
            continue;
        }
        let s = base * p.scale;
        let (sin, cos) = sin_cos(p.angle);
        let r = bound(a.object) * s + 1.5;
        let x0 = ((p.x - r).floor().max(0.0)) as usize;
        let x1 = ((p.x + r).ceil().min(w as f64)) as usize;
        let y0 = ((p.y - r).floor().max(0.0)) as usize;
        let y1 = ((p.y + r).ceil().min(h as f64)) as usize;
        for y in y0..y1 {
            for x in x0..x1 {
                let (dx, dy) = (x as f64 + 0.5 - p.x, y as f64 + 0.5 - p.y);
                // Rotate the sample point back by the object's angle.
                let (lx, ly) = (cos * dx + sin * dy, -sin * dx + cos * dy);
                let cover = (0.5 - sd_object(a.object, lx, ly, s)).clamp(0.0, 1.0) * p.alpha;
                if cover <= 0.0 {
                    continue;
                }
                let i = f * plane + y * w + x;
                for c in 0..3 {
                    let v = bg[c] + (p.rgb[c] - bg[c]) * cover;
                    out[c * t_n * plane + i] = (v / 127.5 - 1.0) as f32;
                }
            }
        }
    }
}
