//! Alignment and temporal coherence of one evaluation, from its kept uint8 clips. They need no
//! network, so a run scores them as it evaluates, and `ttv-run score` scores runs that were
//! trained without them from the clips they kept.
//!
//! Metric rows: `align_colour`, `align_object`, `align_motion`, `align_background` and their
//! mean `alignment` (colour, object, motion; see [`crate::metrics::alignment`]);
//! `temporal_mse` and `persistence` ([`crate::metrics::temporal`]). What cannot be computed has
//! no row and a note saying why; the chance levels of the alignment scores are a note too.

use anyhow::Result;

use super::fid::Scores;
use crate::data::shapes::ShapeItem;
use crate::data::source::Dataset;
use crate::metrics::ClipsU8;
use crate::metrics::alignment::alignment;
use crate::metrics::temporal::{FOREGROUND_DISTANCE, MIN_OBJECT_PIXELS, persistence, temporal_mse};
use crate::spec::types::{DataKind, Metric};

/// Below this many eval clips an accuracy is coarse (steps of 1/n) and noisy (standard error
/// up to 0.5/sqrt(n), 0.07 here): the run's notes say so.
const FEW_CLIPS: usize = 50;

/// What the clips were asked to show.
#[derive(Clone, Debug)]
pub enum Truth {
    /// The eval clips' shapes attributes and layouts, in clip order.
    Shapes(Vec<ShapeItem>),
    /// Data without attributes (its kind, for the notes).
    Without(DataKind),
}

impl Truth {
    /// The ground truth of `subset`, the eval samples whose clips are kept
    /// (`eval::eval_subset`).
    pub fn of(subset: &Dataset, kind: DataKind) -> Self {
        match subset.shape_items() {
            Some(items) if kind == DataKind::Shapes => Truth::Shapes(items),
            _ => Truth::Without(kind),
        }
    }
}

/// Which of the two metrics to score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wanted {
    pub alignment: bool,
    pub temporal: bool,
}

impl Wanted {
    pub const ALL: Wanted = Wanted { alignment: true, temporal: true };

    pub fn of(metrics: &[Metric]) -> Self {
        Wanted { alignment: metrics.contains(&Metric::Alignment), temporal: metrics.contains(&Metric::TemporalCoherence) }
    }
}

fn kind_name(kind: DataKind) -> String {
    format!("{kind:?}").to_lowercase()
}

/// Score `generated` against `target` (the same eval clips, in order).
pub fn score(target: &ClipsU8, generated: &ClipsU8, truth: &Truth, wanted: Wanted) -> Result<Scores> {
    let mut out = Scores::default();
    if wanted.alignment {
        match truth {
            Truth::Shapes(items) => {
                let a = alignment(target, generated, items)?;
                out.values.extend(a.values());
                out.notes.push(a.chance_note());
                if a.clips < FEW_CLIPS {
                    out.notes.push(format!(
                        "alignment on only {} eval clips: its accuracies move in steps of {:.3} and have a standard \
                         error of up to {:.2}",
                        a.clips,
                        1.0 / a.clips as f64,
                        0.5 / (a.clips as f64).sqrt()
                    ));
                }
            }
            Truth::Without(kind) => {
                out.notes.push(format!("alignment needs shapes attributes; not computed for {} data", kind_name(*kind)))
            }
        }
    }
    if wanted.temporal {
        if target.frames >= 2 {
            out.values.push(("temporal_mse".into(), temporal_mse(target, generated)?));
        } else {
            out.notes.push(format!("temporal_mse needs at least 2 frames; not computed for {}-frame clips", target.frames));
        }
        match truth {
            Truth::Shapes(items) => {
                let backgrounds: Vec<_> = items.iter().map(|i| i.attributes.background).collect();
                match persistence(target, generated, &backgrounds)? {
                    Some(p) => {
                        out.values.push(("persistence".into(), p));
                        out.notes.push(format!(
                            "persistence: a frame shows an object when at least {MIN_OBJECT_PIXELS} pixels are more \
                             than {FOREGROUND_DISTANCE} (RGB, 0-255) from the clip's background colour"
                        ));
                    }
                    None => out.notes.push("persistence not computed: no target frame shows an object".into()),
                }
            }
            Truth::Without(kind) => out
                .notes
                .push(format!("persistence needs the shapes background colour; not computed for {} data", kind_name(*kind))),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clips(n: usize, frames: usize) -> ClipsU8 {
        ClipsU8::new(n, frames, 4, 4, (0..n * frames * 48).map(|i| (i * 7 % 256) as u8).collect()).unwrap()
    }

    #[test]
    fn data_without_attributes_says_why_instead_of_a_number() {
        let (target, generated) = (clips(3, 4), clips(3, 4));
        let s = score(&target, &generated, &Truth::Without(DataKind::Folder), Wanted::ALL).unwrap();
        let names: Vec<&str> = s.values.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["temporal_mse"], "only what needs no attributes");
        assert!(
            s.notes.contains(&"alignment needs shapes attributes; not computed for folder data".to_string()),
            "{:?}",
            s.notes
        );
        assert!(s.notes.iter().any(|n| n.starts_with("persistence needs the shapes background")), "{:?}", s.notes);
        assert!(!s.pending);

        let single = score(&clips(3, 1), &clips(3, 1), &Truth::Without(DataKind::Finevideo), Wanted::ALL).unwrap();
        assert!(single.values.is_empty(), "{:?}", single.values);
        assert!(single.notes.iter().any(|n| n.contains("at least 2 frames")), "{:?}", single.notes);

        let none = score(&target, &generated, &Truth::Without(DataKind::Folder), Wanted::of(&[Metric::Fid])).unwrap();
        assert!(none.values.is_empty() && none.notes.is_empty());
    }
}
