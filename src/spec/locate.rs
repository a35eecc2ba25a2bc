//! Find the line of a dotted key path in YAML text, so that errors found after parsing (a value
//! out of range, an unknown key) can still point at `file:line`.
//!
//! YAML specs are written in block style; this follows block mappings by indentation and also
//! finds a key written inside a one-line flow mapping (`halting: {threshold: 0.5}`). When a path
//! cannot be followed to its end, the line of its deepest found prefix is returned.

/// The 1-based line where `path` is defined in `text`, or of its closest defined ancestor.
pub fn locate(text: &str, path: &[String]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = None;
    // Range of lines (start, end) and the minimum indentation of the current mapping's body.
    let (mut start, mut end, mut parent_indent) = (0usize, lines.len(), -1i64);
    for key in path {
        let mut hit = None;
        for (i, line) in lines.iter().enumerate().take(end).skip(start) {
            let indent = indentation(line);
            let body = strip_comment(line.trim_start());
            if body.is_empty() {
                continue;
            }
            if indent as i64 <= parent_indent && i > start {
                break; // left the parent mapping
            }
            let body = body.trim_start_matches("- ");
            if key_of(body).as_deref() == Some(key.as_str()) {
                hit = Some((i, indent));
                break;
            }
        }
        let Some((i, indent)) = hit else { return found };
        found = Some(i + 1);
        // The child mapping runs from the next line until indentation returns to this key's.
        let mut j = i + 1;
        while j < lines.len() {
            let l = lines[j];
            if !strip_comment(l.trim_start()).is_empty() && indentation(l) <= indent {
                break;
            }
            j += 1;
        }
        start = i + 1;
        end = j;
        parent_indent = indent as i64;
        if start >= end {
            // The value is inline (scalar or flow); deeper keys are on this same line.
            return found;
        }
    }
    found
}

/// Like [`locate`], but `None` unless the whole path is present.
pub fn locate_exact(text: &str, path: &[String]) -> Option<usize> {
    let value: serde_norway::Value = serde_norway::from_str(text).ok()?;
    let mut cur = &value;
    for key in path {
        cur = cur.as_mapping()?.get(key.as_str())?;
    }
    locate(text, path)
}

fn indentation(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn strip_comment(s: &str) -> &str {
    if s.starts_with('#') {
        return "";
    }
    match s.find(" #") {
        Some(p) => &s[..p],
        None => s,
    }
}

/// The key of a `key: value` or `key:` line, unquoted.
fn key_of(body: &str) -> Option<String> {
    let body = body.trim();
    let (key, rest) = if let Some(stripped) = body.strip_prefix('"') {
        let close = stripped.find('"')?;
        (&stripped[..close], &stripped[close + 1..])
    } else if let Some(stripped) = body.strip_prefix('\'') {
        let close = stripped.find('\'')?;
        (&stripped[..close], &stripped[close + 1..])
    } else {
        let colon = body.find(": ").or_else(|| body.strip_suffix(':').map(|b| b.len()))?;
        (&body[..colon], &body[colon..])
    };
    rest.trim_start().starts_with(':').then(|| key.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<String> {
        s.split('.').map(String::from).collect()
    }

    const YAML: &str = "# comment\nname: x\nmodel:\n  hidden: 256\n  halting:\n    kind: mlp\n    threshold: 1.5  # bad\ntraining:\n  epochs: 3\n  optimizer: {lr: 0.1, betas: [0.9, 0.99]}\nsweep:\n  model.halting.threshold: [0.3, 0.5]\n";

    #[test]
    fn finds_nested_block_keys() {
        assert_eq!(locate(YAML, &p("model.halting.threshold")), Some(7));
        assert_eq!(locate(YAML, &p("model.hidden")), Some(4));
        assert_eq!(locate(YAML, &p("training.epochs")), Some(9));
    }

    #[test]
    fn finds_flow_keys_and_literal_dotted_keys() {
        assert_eq!(locate(YAML, &p("training.optimizer.lr")), Some(10));
        assert_eq!(locate(YAML, &["sweep".into(), "model.halting.threshold".into()]), Some(12));
    }

    #[test]
    fn missing_leaf_falls_back_to_parent_but_exact_does_not() {
        assert_eq!(locate(YAML, &p("model.heads")), Some(3));
        assert_eq!(locate_exact(YAML, &p("model.heads")), None);
        assert_eq!(locate_exact(YAML, &p("model.hidden")), Some(4));
    }
}
