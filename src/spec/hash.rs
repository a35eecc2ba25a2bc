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
];

/// The canonical JSON text of a run spec.
pub fn canonical_json(run: &RunSpec) -> String {
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
    sorted(value).to_string()
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
