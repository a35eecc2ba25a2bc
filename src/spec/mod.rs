//! Specs: parse, validate, extend, override, sweep, hash.
//!
//! `load` reads a YAML file with its `extends:` chain and `-s` overrides; `expand` turns it into
//! runs, each validated and identified by the hash of its resolved spec.

pub mod budget;
pub mod error;
pub mod flatten;
pub mod hash;
pub mod load;
pub mod locate;
pub mod sweep;
pub mod types;
pub mod validate;

pub use error::{SpecError, SpecErrors};
pub use hash::{FORMAT_VERSION, canonical_json, run_hash, variant_id};
pub use load::{LoadedSpec, load};
pub use sweep::{Experiment, RunPlan, expand, keep_only};
pub use types::*;
pub use validate::{ModelConfig, Problems, validate, validate_within};

/// Load and expand in one go.
pub fn plan(path: &std::path::Path, overrides: &[String]) -> Result<Experiment, SpecErrors> {
    expand(&load(path, overrides)?)
}

/// The JSON Schema of a spec file, as written to `experiments/schema.json`.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(SpecFile);
    serde_json::to_string_pretty(&schema).expect("schema serialises") + "\n"
}
