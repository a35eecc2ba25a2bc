//! How numbers read on the page: four significant digits, and sizes, times and counts in the
//! unit a reader would say aloud (20.37 M parameters, 81.5 MB, 3.2 min) rather than raw bytes.

use super::stats::Stat;

/// The unit a value is measured in, which decides how it is scaled for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Plain,
    /// A count (parameters): k, M, B.
    Count,
    /// Bytes, decimal prefixes (as the paper's MB / GB).
    Bytes,
    Seconds,
    Millis,
}

/// `x` to four significant digits (no exponent for the magnitudes a report shows).
pub fn sig(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let mag = x.abs().log10().floor() as i32;
    let decimals = (3 - mag).clamp(0, 8) as usize;
    format!("{x:.decimals$}")
}

/// The divisor and suffix that display `x` (in `unit`) best.
fn scale(x: f64, unit: Unit) -> (f64, &'static str) {
    let a = x.abs();
    match unit {
        Unit::Plain => (1.0, ""),
        Unit::Count if a >= 1e9 => (1e9, " B"),
        Unit::Count if a >= 1e6 => (1e6, " M"),
        Unit::Count if a >= 1e3 => (1e3, " k"),
        Unit::Count => (1.0, ""),
        Unit::Bytes if a >= 1e9 => (1e9, " GB"),
        Unit::Bytes if a >= 1e6 => (1e6, " MB"),
        Unit::Bytes if a >= 1e3 => (1e3, " kB"),
        Unit::Bytes => (1.0, " B"),
        Unit::Seconds if a >= 7200.0 => (3600.0, " h"),
        Unit::Seconds if a >= 120.0 => (60.0, " min"),
        Unit::Seconds => (1.0, " s"),
        Unit::Millis => (1.0, " ms"),
    }
}

pub fn value(x: f64, unit: Unit) -> String {
    let (d, suffix) = scale(x, unit);
    format!("{}{suffix}", sig(x / d))
}

/// `mean ± h unit` with `h` half the 95% confidence interval of the mean, or
/// `mean unit (n=1: no interval)` for a single run.
pub fn stat(s: &Stat, unit: Unit) -> String {
    let (d, suffix) = scale(s.mean, unit);
    match s.half_width() {
        Some(h) => format!("{} ± {}{suffix}", sig(s.mean / d), sig(h / d)),
        None => format!("{}{suffix} (n=1: no interval)", sig(s.mean / d)),
    }
}

/// The tooltip of a pooled value: its interval, std and seed count.
pub fn stat_detail(s: &Stat, unit: Unit) -> String {
    match (s.ci95(), s.std) {
        (Some((lo, hi)), Some(sd)) => {
            format!("95% CI of the mean [{}, {}]; std {}; n={}", value(lo, unit), value(hi, unit), value(sd, unit), s.n)
        }
        _ => "n=1: no interval".into(),
    }
}

/// Ours divided by the paper's figure, as `0.82×`.
pub fn ratio(r: f64) -> String {
    format!("{}×", sig(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_digits_and_units() {
        assert_eq!(sig(120.5), "120.5");
        assert_eq!(sig(0.012345), "0.01235");
        assert_eq!(sig(2.0), "2.000");
        assert_eq!(value(20_369_668.0, Unit::Count), "20.37 M");
        assert_eq!(value(480e6, Unit::Bytes), "480.0 MB");
        assert_eq!(value(14_400.0, Unit::Seconds), "4.000 h");
        assert_eq!(stat(&Stat { mean: 2.0, std: Some(1.0), n: 3 }, Unit::Plain), "2.000 ± 2.484", "t(0.975, 2) / sqrt(3)");
        assert_eq!(stat(&Stat { mean: 3.0, std: None, n: 1 }, Unit::Millis), "3.000 ms (n=1: no interval)");
        assert_eq!(ratio(0.5), "0.5000×");
    }
}
