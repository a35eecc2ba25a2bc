//! Train/eval splits.

use super::rng::Rng;

/// Eval samples for `n` samples: round(n * fraction) (50 at 0.1 -> 5), never more than n.
pub fn eval_count(n: usize, fraction: f64) -> usize {
    ((n as f64 * fraction).round().max(0.0) as usize).min(n)
}

/// Seeded random split of 0..n into (train, eval); both sorted so the order within each is the
/// source order.
pub fn random_split(n: usize, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut perm: Vec<usize> = (0..n).collect();
    Rng::keyed(seed, "split", n as u64).shuffle(&mut perm);
    let k = eval_count(n, fraction);
    let mut eval = perm[..k].to_vec();
    let mut train = perm[k..].to_vec();
    eval.sort_unstable();
    train.sort_unstable();
    (train, eval)
}
