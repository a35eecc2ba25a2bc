//! Bad inputs are skipped, never replaced: each skip prints one warning line and is counted so
//! the trainer can record it in the run's metrics.

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skip {
    /// File (or shard#row) that was skipped.
    pub file: String,
    pub reason: String,
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.reason)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Skips {
    pub items: Vec<Skip>,
}

impl Skips {
    /// Record a skip and print its warning line.
    pub fn add(&mut self, file: impl Into<String>, reason: impl Into<String>) {
        let s = Skip { file: file.into(), reason: reason.into() };
        eprintln!("warning: skipping {s}");
        self.items.push(s);
    }

    pub fn count(&self) -> usize {
        self.items.len()
    }

    /// A few reasons, for the error when nothing usable is left.
    pub fn summary(&self, max: usize) -> String {
        let mut lines: Vec<String> = self.items.iter().take(max).map(|s| format!("  {s}")).collect();
        if self.items.len() > max {
            lines.push(format!("  ... and {} more", self.items.len() - max));
        }
        lines.join("\n")
    }
}
