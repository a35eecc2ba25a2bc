//! The held-out split: (object, motion) pairs that training never shows, while every object and
//! every motion is still seen in training with other partners (compositional generalisation).

use super::PAPER_PROMPTS;
use super::grammar::{Motion, Object, object_motion_pairs};
use crate::data::rng::Rng;
use std::collections::BTreeSet;

/// Choose round(fraction * #pairs) pairs (at least one), never one of the paper's prompts, and
/// never the last training partner of an object or a motion.
pub fn heldout_pairs(seed: u64, fraction: f64) -> BTreeSet<(Object, Motion)> {
    let mut pairs = object_motion_pairs();
    let want = ((pairs.len() as f64 * fraction).round() as usize).max(1);
    let paper: BTreeSet<(Object, Motion)> = PAPER_PROMPTS
        .iter()
        .map(|p| {
            let a = super::parse_prompt(p).expect("paper prompts parse");
            (a.object, a.motion)
        })
        .collect();
    Rng::keyed(seed, "heldout-pairs", 0).shuffle(&mut pairs);
    let all: Vec<(Object, Motion)> = object_motion_pairs();
    let mut held = BTreeSet::new();
    for p in pairs {
        if held.len() == want {
            break;
        }
        if paper.contains(&p) {
            continue;
        }
        let train_left =
            |f: &dyn Fn(&(Object, Motion)) -> bool| all.iter().filter(|q| f(q) && !held.contains(*q) && **q != p).count();
        if train_left(&|q| q.0 == p.0) >= 2 && train_left(&|q| q.1 == p.1) >= 2 {
            held.insert(p);
        }
    }
    held
}
