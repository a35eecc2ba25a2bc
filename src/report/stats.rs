//! Mean ± standard deviation over a variant's seeds: the unit every table and plot reports, so
//! one spread convention (sample std, n - 1) holds across the page.

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
        assert_eq!(Stat::of(&[]), None);
    }
}
