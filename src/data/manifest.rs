//! Manifests of real videos: CSV (header with `path`, `caption`, optional `start_s`, `end_s`)
//! or JSONL (one object per line with the same keys). Relative paths are relative to the
//! manifest's folder.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// File, GIF, or folder of images.
    pub path: PathBuf,
    pub caption: String,
    pub start_s: Option<f64>,
    pub end_s: Option<f64>,
    /// 1-based line in the manifest, for messages.
    pub line: usize,
}

pub fn read_manifest(path: &Path) -> Result<Vec<Entry>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading manifest {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let is_jsonl = matches!(path.extension().and_then(|e| e.to_str()), Some("jsonl" | "ndjson" | "json"));
    let entries = if is_jsonl { parse_jsonl(&text, base) } else { parse_csv(&text, base) }
        .with_context(|| format!("in manifest {}", path.display()))?;
    Ok(entries)
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p.trim());
    if p.is_absolute() { p.to_path_buf() } else { base.join(p) }
}

fn parse_time(s: &str, line: usize, field: &str) -> Result<Option<f64>> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let v: f64 = s.parse().map_err(|_| anyhow::anyhow!("line {line}: {field} = {s:?}: not a number of seconds"))?;
    if v.is_nan() || v < 0.0 {
        bail!("line {line}: {field} = {v}: must be >= 0");
    }
    Ok(Some(v))
}

pub fn parse_jsonl(text: &str, base: &Path) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(raw).with_context(|| format!("line {line}: not JSON"))?;
        let path = v.get("path").and_then(|p| p.as_str()).with_context(|| format!("line {line}: missing \"path\""))?;
        let caption = v.get("caption").and_then(|c| c.as_str()).unwrap_or("").to_string();
        let time = |k: &str| -> Result<Option<f64>> {
            match v.get(k) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::Number(n)) => parse_time(&n.to_string(), line, k),
                Some(serde_json::Value::String(s)) => parse_time(s, line, k),
                Some(other) => bail!("line {line}: {k} = {other}: not a number of seconds"),
            }
        };
        out.push(Entry { path: resolve(base, path), caption, start_s: time("start_s")?, end_s: time("end_s")?, line });
    }
    Ok(out)
}

/// RFC 4180 records: quoted fields may hold commas, doubled quotes and newlines.
fn csv_records(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut records = Vec::new();
    let (mut field, mut record) = (String::new(), Vec::new());
    let (mut quoted, mut line, mut start_line) = (false, 1, 1);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                if !(record.len() == 1 && record[0].trim().is_empty()) {
                    records.push((start_line, std::mem::take(&mut record)));
                }
                record.clear();
                line += 1;
                start_line = line;
            }
            (_, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push((start_line, record));
    }
    records
}

pub fn parse_csv(text: &str, base: &Path) -> Result<Vec<Entry>> {
    let mut records = csv_records(text.strip_prefix('\u{feff}').unwrap_or(text)).into_iter();
    let Some((_, header)) = records.next() else { bail!("empty manifest") };
    let col = |name: &str| header.iter().position(|h| h.trim().eq_ignore_ascii_case(name));
    let path_col = col("path").context("line 1: the CSV header needs a `path` column")?;
    let caption_col = col("caption").context("line 1: the CSV header needs a `caption` column")?;
    let (start_col, end_col) = (col("start_s"), col("end_s"));
    let mut out = Vec::new();
    for (line, rec) in records {
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).map(String::as_str).unwrap_or("");
        let path = get(Some(path_col));
        if path.trim().is_empty() {
            bail!("line {line}: empty path");
        }
        out.push(Entry {
            path: resolve(base, path),
            caption: get(Some(caption_col)).to_string(),
            start_s: parse_time(get(start_col), line, "start_s")?,
            end_s: parse_time(get(end_col), line, "end_s")?,
            line,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_quotes_and_optional_times() {
        let text = "path,caption,start_s,end_s\na.mp4,\"a dog, running\",1.5,\nb.gif,\"say \"\"hi\"\"\",,\n";
        let e = parse_csv(text, Path::new("/m")).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].path, PathBuf::from("/m/a.mp4"));
        assert_eq!(e[0].caption, "a dog, running");
        assert_eq!(e[0].start_s, Some(1.5));
        assert_eq!(e[0].end_s, None);
        assert_eq!(e[1].caption, "say \"hi\"");
        assert_eq!(e[1].line, 3);
    }

    #[test]
    fn jsonl() {
        let text = "{\"path\": \"x.mp4\", \"caption\": \"c\", \"end_s\": 2}\n\n{\"path\": \"/abs/y\", \"caption\": \"\"}\n";
        let e = parse_jsonl(text, Path::new("/m")).unwrap();
        assert_eq!(e[0].end_s, Some(2.0));
        assert_eq!(e[1].path, PathBuf::from("/abs/y"));
        assert_eq!(e[1].line, 3);
    }
}
