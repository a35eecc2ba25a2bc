//! Run identity: SHA-256 of the canonical JSON of a fully resolved run spec plus a format
//! version. Canonical means defaults filled (we serialise the typed spec), keys sorted, no
//! whitespace, numbers as serde_json prints them; so key order, comments and whether a default
//! was written out never change a hash, while any change of science does.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::types::RunSpec;

/// Bump when the meaning of a spec field changes, so old runs are not mistaken for new ones.
pub const FORMAT_VERSION: &str = "ttv-run-spec/1";

/// Hex digits of the hash that name a run directory.
pub const SHORT_LEN: usize = 12;

/// Fields added after runs were stored, with the value (as JSON text) that means "as before":
/// left out of the canonical JSON at that value, so adding them kept every earlier run's hash.
const ADDED_LATER: &[(&[&str], &str)] = &[
    (&["model", "video_codec", "position_embedding"], "false"),
    (&["model", "video_codec", "cpu_conv"], "\"native\""),
    (&["training", "gradient_checkpointing"], "false"),
    (&["training", "devices"], "1"),
    // Unset and set to its defaults are one run (only `flow_matching` runs may set it).
    (&["training", "flow"], "null"),
    (&["training", "flow"], "{\"sampling_steps\":8}"),
];

/// The canonical JSON text of a run spec.
pub fn canonical_json(run: &RunSpec) -> String {
    canonical_value(run).to_string()
}

/// A variant's identity (12 hex digits): the hash of the canonical JSON without the seed. The
/// seeds of one variant share it; runs that differ in anything else never do, so it is what
/// results are pooled by.
pub fn variant_id(run: &RunSpec) -> String {
    let mut value = canonical_value(run);
    if let Value::Object(map) = &mut value {
        map.shift_remove(super::flatten::SEED);
    }
    let mut h = Sha256::new();
    h.update(FORMAT_VERSION.as_bytes());
    h.update(b"\nvariant\n");
    h.update(value.to_string().as_bytes());
    h.finalize().iter().take(SHORT_LEN / 2).map(|b| format!("{b:02x}")).collect()
}

fn canonical_value(run: &RunSpec) -> Value {
    let mut value = serde_json::to_value(run).expect("run spec serialises");
    for (path, as_before) in ADDED_LATER {
        let as_before: Value = serde_json::from_str(as_before).expect("ADDED_LATER holds JSON");
        let (field, parents) = path.split_last().expect("a path");
        let parent = parents.iter().try_fold(&mut value, |v, key| v.get_mut(*key));
        if let Some(Value::Object(map)) = parent
            && map.get(*field) == Some(&as_before)
        {
            map.remove(*field);
        }
    }
    sorted(value)
}

/// The full 64-hex-digit identity of a run.
pub fn run_hash(run: &RunSpec) -> String {
    let mut h = Sha256::new();
    h.update(FORMAT_VERSION.as_bytes());
    h.update(b"\n");
    h.update(canonical_json(run).as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::types::{DataSpec, EvalSpec, FlowSpec, ModelSpec, Precision, RunSpec, TrainingSpec};

    /// The flow settings left out of a hash are exactly their defaults.
    #[test]
    fn the_flow_value_left_out_is_the_default() {
        let default = serde_json::to_value(FlowSpec::default()).unwrap();
        let left_out: Vec<Value> = ADDED_LATER
            .iter()
            .filter(|(path, _)| *path == ["training", "flow"])
            .map(|(_, v)| serde_json::from_str(v).unwrap())
            .collect();
        assert_eq!(left_out, vec![Value::Null, default]);
    }

    /// The precision is science: a bf16 run is another run than its fp32 twin, in both hashes.
    #[test]
    fn the_precision_is_part_of_the_run_identity() {
        let training = TrainingSpec::default();
        let fp32 =
            RunSpec { data: DataSpec::default(), model: ModelSpec::default(), training, eval: EvalSpec::default(), seed: 0 };
        assert_eq!(fp32.training.precision, Precision::Fp32);
        let mut bf16 = fp32.clone();
        bf16.training.precision = Precision::Bf16;
        assert_ne!(run_hash(&fp32), run_hash(&bf16));
        assert_ne!(variant_id(&fp32), variant_id(&bf16));
        assert!(canonical_json(&bf16).contains("\"precision\":\"bf16\""));
    }
}
