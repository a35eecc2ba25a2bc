//! sin/cos from basic IEEE operations only.
//!
//! `f64::sin` calls the platform's libm, whose last bit differs between machines; the shapes
//! benchmark promises the same bytes everywhere, so rotations use this instead. Only `+ - * /`
//! are used (Rust never contracts them into FMA), all of which are correctly rounded.

const PI: f64 = std::f64::consts::PI;
const FRAC_PI_2: f64 = std::f64::consts::FRAC_PI_2;

/// (sin x, cos x), accurate to ~1e-15 for |x| up to a few thousand radians.
pub fn sin_cos(x: f64) -> (f64, f64) {
    // Reduce to r in [-pi/4, pi/4] with x = r + q*pi/2.
    let q = (x / FRAC_PI_2).round();
    let r = x - q * FRAC_PI_2;
    let (s, c) = (sin_poly(r), cos_poly(r));
    match (q as i64).rem_euclid(4) {
        0 => (s, c),
        1 => (c, -s),
        2 => (-s, -c),
        _ => (-c, s),
    }
}

fn sin_poly(r: f64) -> f64 {
    let r2 = r * r;
    // Taylor series to r^17: the error at |r| = pi/4 is far below f64 epsilon.
    let mut t = 1.0 / 355_687_428_096_000.0; // 1/17!
    for k in [15u32, 13, 11, 9, 7, 5, 3] {
        t = 1.0 / factorial(k) - r2 * t;
    }
    r * (1.0 - r2 * t)
}

fn cos_poly(r: f64) -> f64 {
    let r2 = r * r;
    let mut t = 1.0 / factorial(18);
    for k in [16u32, 14, 12, 10, 8, 6, 4] {
        t = 1.0 / factorial(k) - r2 * t;
    }
    1.0 - r2 * (0.5 - r2 * t)
}

fn factorial(k: u32) -> f64 {
    (1..=k).fold(1.0, |acc, i| acc * i as f64)
}

pub fn degrees(d: f64) -> f64 {
    d * (PI / 180.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_libm() {
        for i in -2000..2000 {
            let x = i as f64 * 0.01;
            let (s, c) = sin_cos(x);
            assert!((s - x.sin()).abs() < 1e-13, "sin {x}");
            assert!((c - x.cos()).abs() < 1e-13, "cos {x}");
        }
    }
}
