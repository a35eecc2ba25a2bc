//! Value parsers: a value that cannot be right is refused while the command line is parsed
//! (clap's exit status 2, with the usage), before any spec is read or the store is touched.

use std::path::{Path, PathBuf};

/// Seconds: a number (`120`, `2.5`) or a duration (`90s`, `2m`, `1h 30m`); finite and > 0
/// (`NaN`, `inf`, `0` and negatives are refused).
pub fn positive_seconds(s: &str) -> Result<f64, String> {
    let text = s.trim();
    let secs = match text.parse::<f64>() {
        Ok(v) => v,
        Err(_) => humantime::parse_duration(text)
            .map_err(|e| format!("not a number of seconds or a duration such as 90s or 2m ({e})"))?
            .as_secs_f64(),
    };
    if !secs.is_finite() || secs <= 0.0 {
        return Err(format!("must be a finite number of seconds > 0, not {text}"));
    }
    Ok(secs)
}

/// A halting threshold: a probability in (0, 1] (`NaN` is refused).
pub fn threshold(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("not a number: {s}"))?;
    if !(v > 0.0 && v <= 1.0) {
        return Err(format!("must be in (0, 1], not {s}"));
    }
    Ok(v)
}

/// A prompt: text that is not empty or only whitespace.
pub fn prompt(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        return Err("a prompt must not be empty".into());
    }
    Ok(s.to_string())
}

/// A run's hash or a prefix of it, as `--dry-run` and `runs ls` print it: 4 to 64 hex digits
/// (lowered).
pub fn hash_prefix(s: &str) -> Result<String, String> {
    let ok = (4..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_hexdigit());
    if !ok {
        return Err(format!("`{s}` is not a run hash: give 4 to 64 hex digits, as `ttv-run runs ls` prints them"));
    }
    Ok(s.to_ascii_lowercase())
}

/// A run to generate from: a hash or prefix (as [`hash_prefix`]), or an `hf://` folder laid out
/// like a run directory.
pub fn run_ref(s: &str) -> Result<String, String> {
    match crate::hub::HubPath::parse(s) {
        Some(parsed) => parsed.map(|p| p.to_string()).map_err(|e| format!("{e:#}")),
        None => hash_prefix(s).map_err(|e| format!("{e}, or an hf://owner/name[@revision]/path run folder")),
    }
}

/// A spec file. Two mistakes are caught here with a hint, when no such file exists: a
/// Hydra-style override (`training.epochs=3`, which ttv takes as `-s training.epochs=3`) and a
/// mistyped subcommand (`genrate`), since both land where spec files go.
pub fn spec_path(s: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(s);
    if path.exists() {
        return Ok(path);
    }
    if let Some(set) = as_override(s) {
        return Err(format!("`{s}` is not a spec file; did you mean `-s {set}`?"));
    }
    let plain_word = !s.contains(['/', '.', '\\']);
    if plain_word && let Some(command) = crate::spec::error::nearest(s, super::run::SUBCOMMANDS.iter().copied()) {
        return Err(format!("no spec file `{s}`; did you mean the subcommand `{command}`?"));
    }
    // Any other missing file is reported when the specs are read, beside their other errors.
    Ok(path)
}

/// `key.path=value` (or Hydra's `+key=value` / `++key=value`) as the `-s` argument it meant.
fn as_override(s: &str) -> Option<String> {
    let (key, _) = s.split_once('=')?;
    let bare = key.trim_start_matches('+');
    let dotted = bare.split('.').all(|part| {
        let mut chars = part.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    (dotted && !Path::new(s).exists()).then(|| s.trim_start_matches('+').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_finite_and_positive() {
        assert_eq!(positive_seconds("120"), Ok(120.0));
        assert_eq!(positive_seconds("2m"), Ok(120.0));
        assert_eq!(positive_seconds("1h 30m"), Ok(5400.0));
        for bad in ["NaN", "nan", "inf", "-1", "0", "soon"] {
            assert!(positive_seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn thresholds_are_probabilities_above_zero() {
        assert_eq!(threshold("0.5"), Ok(0.5));
        assert_eq!(threshold("1"), Ok(1.0));
        for bad in ["NaN", "0", "1.01", "-0.2", "inf", "half"] {
            assert!(threshold(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prompts_and_hashes() {
        assert!(prompt("").is_err() && prompt("  \t").is_err());
        assert_eq!(prompt("a red ball").as_deref(), Ok("a red ball"));
        assert_eq!(hash_prefix("1A2b3C").as_deref(), Ok("1a2b3c"));
        for bad in ["abc", "xyz123", "", &"a".repeat(65)] {
            assert!(hash_prefix(bad).is_err(), "{bad}");
        }
        assert_eq!(run_ref("1A2b3C").as_deref(), Ok("1a2b3c"));
        assert_eq!(run_ref("hf://o/n@main/runs/abc/").as_deref(), Ok("hf://o/n/runs/abc"));
        assert!(run_ref("hf://o").unwrap_err().contains("not a Hub path"));
        assert!(run_ref("xyz").unwrap_err().contains("hf://owner/name"));
    }

    #[test]
    fn overrides_and_subcommands_where_a_spec_was_expected_get_a_hint() {
        let hydra = spec_path("training.epochs=3").unwrap_err();
        assert!(hydra.contains("did you mean `-s training.epochs=3`?"), "{hydra}");
        assert!(spec_path("++model.hidden=64").unwrap_err().contains("`-s model.hidden=64`"));
        let typo = spec_path("genrate").unwrap_err();
        assert!(typo.contains("the subcommand `generate`"), "{typo}");
        // A missing file that is neither is left to the spec reader's own error.
        assert!(spec_path("experiments/none.yaml").is_ok());
    }
}
