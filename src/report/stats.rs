//! Mean, standard deviation and the 95% confidence interval of the mean over a variant's seeds:
//! the unit every table and plot reports, so one convention holds across the page. The spread is
//! the sample std (n - 1); the interval is Student's t with n - 1 degrees of freedom, what a
//! reader compares variants by. A single seed has neither.

/// Summary of one metric over the finished runs of a variant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    pub mean: f64,
    /// Sample standard deviation; none for a single run (a spread of one value means nothing).
    pub std: Option<f64>,
    pub n: usize,
}

impl Stat {
    /// The finite values' mean and spread; none when there is no finite value.
    pub fn of(values: &[f64]) -> Option<Stat> {
        let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n as f64;
        let std = (n > 1).then(|| (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt());
        Some(Stat { mean, std, n })
    }

    /// Half the width of the 95% confidence interval of the mean: t(0.975, n - 1) * std / sqrt(n);
    /// none for a single run.
    pub fn half_width(&self) -> Option<f64> {
        let sd = self.std?;
        Some(t975(self.n as u64 - 1) * sd / (self.n as f64).sqrt())
    }

    /// The 95% confidence interval of the mean, `(low, high)`.
    pub fn ci95(&self) -> Option<(f64, f64)> {
        self.half_width().map(|h| (self.mean - h, self.mean + h))
    }
}

/// Student's t 97.5% quantiles for 1 to 30 degrees of freedom.
const T975: [f64; 30] = [
    12.706204736,
    4.302652730,
    3.182446305,
    2.776445105,
    2.570581836,
    2.446911851,
    2.364624252,
    2.306004135,
    2.262157163,
    2.228138852,
    2.200985160,
    2.178812830,
    2.160368656,
    2.144786688,
    2.131449546,
    2.119905299,
    2.109815578,
    2.100922040,
    2.093024054,
    2.085963447,
    2.079613845,
    2.073873068,
    2.068657610,
    2.063898562,
    2.059538553,
    2.055529439,
    2.051830516,
    2.048407142,
    2.045229642,
    2.042272456,
];

/// The 97.5% quantile of Student's t with `df` degrees of freedom (`df` >= 1): tabulated up to
/// 30, past that the Cornish-Fisher expansion around the normal quantile (error below 1e-6).
pub fn t975(df: u64) -> f64 {
    assert!(df >= 1, "Student's t needs at least one degree of freedom");
    if let Some(t) = T975.get(df as usize - 1) {
        return *t;
    }
    let z: f64 = 1.959_963_984_540_054;
    let v = df as f64;
    let (z3, z5, z7, z9) = (z.powi(3), z.powi(5), z.powi(7), z.powi(9));
    z + (z3 + z) / (4.0 * v)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * v * v)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * v.powi(3))
        + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / (92160.0 * v.powi(4))
}

/// A variant's value for one column: a number, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum Agg {
    Stat(Stat),
    /// Not measured yet (FID without its network weights, say), with the trainer's reason.
    Pending(String),
    Missing,
}

impl Agg {
    pub fn stat(&self) -> Option<&Stat> {
        match self {
            Agg::Stat(s) => Some(s),
            _ => None,
        }
    }

    pub fn mean(&self) -> Option<f64> {
        self.stat().map(|s| s.mean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_std_and_single_values() {
        let s = Stat::of(&[1.0, 3.0]).unwrap();
        assert_eq!((s.mean, s.n), (2.0, 2));
        assert!((s.std.unwrap() - 2f64.sqrt()).abs() < 1e-12);
        assert_eq!(Stat::of(&[5.0, f64::NAN]).unwrap(), Stat { mean: 5.0, std: None, n: 1 });
        assert_eq!(Stat::of(&[5.0]).unwrap().ci95(), None, "one seed: no interval");
        assert_eq!(Stat::of(&[]), None);
    }

    #[test]
    fn interval_of_the_mean_uses_student_t() {
        // 1, 2, 3: mean 2, std 1, half-width t(0.975, 2) / sqrt(3).
        let s = Stat::of(&[1.0, 2.0, 3.0]).unwrap();
        let h = s.half_width().unwrap();
        assert!((h - 4.302652730 / 3f64.sqrt()).abs() < 1e-9 && (h - 2.484).abs() < 5e-4, "{h}");
        let (lo, hi) = s.ci95().unwrap();
        assert!((lo - (2.0 - h)).abs() < 1e-12 && (hi - (2.0 + h)).abs() < 1e-12);
        // The expansion past the table agrees with published quantiles.
        for (df, t) in [(30, 2.042272456), (31, 2.039513446), (40, 2.021075390), (60, 2.000297822), (120, 1.979930405)] {
            assert!((t975(df) - t).abs() < 1e-6, "df {df}: {} vs {t}", t975(df));
        }
    }
}
