//! A damaged run: one of its files exists (or must exist) but cannot be read. Readers report it
//! in one line naming the run, the file and the error, and go on with the rest of the store.

use std::path::{Path, PathBuf};

use super::run_dir::RunDir;

#[derive(Debug, Clone, PartialEq)]
pub struct Damage {
    /// The run directory's name (the hash's first 12 hex digits).
    pub run: String,
    pub file: PathBuf,
    pub error: String,
}

impl Damage {
    pub fn new(dir: &RunDir, file: &Path, error: impl std::fmt::Display) -> Self {
        let shown = file.display().to_string();
        let error = error.to_string();
        // The store's errors already name their file: say it once.
        let error = error.strip_prefix(&shown).map(|e| e.trim_start_matches(':').trim().to_string()).unwrap_or(error);
        Self { run: dir.short(), file: file.to_path_buf(), error }
    }
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "run {} is damaged: {}: {}", self.run, self.file.display(), self.error)
    }
}
