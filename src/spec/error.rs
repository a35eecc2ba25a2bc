//! Spec errors that name the file, the line and the field:
//! `experiments/x.yaml:12: model.halting.threshold = 1.5: must be in [0, 1]`.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub struct SpecError {
    /// The file (or `command line`) the offending value came from.
    pub file: String,
    pub line: Option<usize>,
    /// The dotted path, with ` = value` when there is a value to show.
    pub field: Option<String>,
    pub message: String,
}

impl SpecError {
    pub fn new(file: impl Into<String>, line: Option<usize>, field: Option<String>, message: impl Into<String>) -> Self {
        Self { file: file.into(), line, field, message: message.into() }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in a spec; a spec with any of them runs nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecErrors(pub Vec<SpecError>);

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecErrors {}

impl From<SpecError> for SpecErrors {
    fn from(e: SpecError) -> Self {
        Self(vec![e])
    }
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo: a few
/// edits away (transpositions count once) or sharing most of its prefix.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::osa_distance(word, c), strsim::jaro_winkler(word, c), c))
        .filter(|(edits, jw, _)| *edits <= (word.len() / 3).max(1) || *jw > 0.85)
        .min_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))
        .map(|(_, _, c)| c)
}
