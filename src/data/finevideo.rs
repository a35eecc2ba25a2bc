//! `finevideo`: HuggingFaceFV/finevideo Parquet shards (column `mp4`: the video bytes, column
//! `json`: metadata whose `content_metadata.description` is the caption; `json` may be a struct
//! column, as on the hub, or a JSON string). Shards are read a few rows at a time, so the first
//! N samples of a multi-gigabyte shard cost only N videos of memory.

use super::decode::Decoder;
use super::gather::gather;
use super::sample::Clip;
use super::skip::Skips;
use anyhow::{Context, Result, bail};
use polars::prelude::*;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};

pub const HUB_REPO: &str = "HuggingFaceFV/finevideo";
/// Rows read per Parquet slice.
const ROWS_PER_READ: usize = 8;

/// The shards under `source` (a .parquet file or a folder searched recursively), in name order.
pub fn shard_paths(source: &str) -> Result<Vec<PathBuf>> {
    let path = Path::new(source);
    if !path.exists() {
        let looks_like_repo = source.split('/').count() == 2 && !source.starts_with('.');
        if looks_like_repo {
            bail!(
                "data.source = {source:?}: no such local folder; to read shards from the Hub, name them \
                 as hf://datasets/{source}/<path> (e.g. hf://datasets/{HUB_REPO}/data/<shard>.parquet, \
                 with HF_TOKEN set for a gated dataset)"
            );
        }
        bail!("data.source = {source:?}: no such file or folder");
    }
    let mut out = Vec::new();
    collect_parquet(path, &mut out)?;
    out.sort();
    if out.is_empty() {
        bail!("data.source = {source:?}: no .parquet shards found");
    }
    Ok(out)
}

fn collect_parquet(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if path.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    for e in std::fs::read_dir(path).with_context(|| format!("listing {}", path.display()))? {
        let p = e?.path();
        if p.is_dir() {
            collect_parquet(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "parquet") {
            out.push(p);
        }
    }
    Ok(())
}

/// One row: where it is, its video bytes and its caption (or why there is none).
pub struct Row {
    pub id: String,
    pub mp4: Option<Vec<u8>>,
    pub caption: std::result::Result<String, String>,
}

/// Captions of a `json` column (struct or JSON string).
fn captions(col: &Column) -> Result<Vec<std::result::Result<String, String>>> {
    let n = col.len();
    match col.dtype() {
        DataType::String => Ok(col
            .str()?
            .iter()
            .map(|s| {
                let s = s.ok_or("no json metadata")?;
                let v: serde_json::Value = serde_json::from_str(s).map_err(|e| format!("json metadata: {e}"))?;
                v.pointer("/content_metadata/description")
                    .and_then(|d| d.as_str())
                    .map(str::to_string)
                    .ok_or_else(|| "json metadata has no content_metadata.description".to_string())
            })
            .collect()),
        DataType::Struct(_) => {
            let meta = col.struct_()?.field_by_name("content_metadata");
            let desc = meta.and_then(|m| m.struct_()?.field_by_name("description"));
            match desc {
                Ok(d) => Ok(d
                    .str()?
                    .iter()
                    .map(|s| s.map(str::to_string).ok_or_else(|| "no content_metadata.description".to_string()))
                    .collect()),
                Err(_) => Ok(vec![Err("json metadata has no content_metadata.description".into()); n]),
            }
        }
        other => bail!("column `json` has type {other}, expected a struct or a JSON string"),
    }
}

fn read_rows(shard: &Path, offset: usize, len: usize) -> Result<Vec<Row>> {
    let file = std::fs::File::open(shard)?;
    let df = ParquetReader::new(file)
        .with_columns(Some(vec!["mp4".into(), "json".into()]))
        .with_slice(Some((offset, len)))
        .finish()
        .with_context(|| format!("reading {} rows {offset}..{}", shard.display(), offset + len))?;
    let mp4 = df.column("mp4")?.binary().context("column `mp4` must be binary")?;
    let caps = captions(df.column("json")?)?;
    let name = shard.file_name().unwrap_or_default().to_string_lossy().into_owned();
    Ok(mp4
        .iter()
        .zip(caps)
        .enumerate()
        .map(|(i, (bytes, caption))| Row { id: format!("{name}#{}", offset + i), mp4: bytes.map(<[u8]>::to_vec), caption })
        .collect())
}

/// Rows of all shards in order, read lazily a slice at a time.
pub struct Rows {
    shards: VecDeque<PathBuf>,
    current: Option<(PathBuf, usize, usize)>,
    buffer: VecDeque<Row>,
    /// The first hard error (schema mismatch, unreadable shard); iteration stops there.
    pub error: Option<anyhow::Error>,
}

impl Rows {
    pub fn new(shards: Vec<PathBuf>) -> Self {
        Self { shards: shards.into(), current: None, buffer: VecDeque::new(), error: None }
    }
}

impl Iterator for Rows {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        loop {
            if let Some(r) = self.buffer.pop_front() {
                return Some(r);
            }
            if self.error.is_some() {
                return None;
            }
            let (shard, offset, total) = match self.current.take() {
                Some(c) => c,
                None => {
                    let shard = self.shards.pop_front()?;
                    let total = std::fs::File::open(&shard)
                        .map_err(anyhow::Error::from)
                        .and_then(|f| Ok(ParquetReader::new(f).num_rows()?));
                    match total {
                        Ok(t) => (shard, 0, t),
                        Err(e) => {
                            self.error = Some(e.context(format!("reading shard {}", shard.display())));
                            return None;
                        }
                    }
                }
            };
            if offset >= total {
                continue;
            }
            let len = ROWS_PER_READ.min(total - offset);
            match read_rows(&shard, offset, len) {
                Ok(rows) => self.buffer.extend(rows),
                Err(e) => {
                    self.error = Some(e);
                    return None;
                }
            }
            self.current = Some((shard, offset + len, total));
        }
    }
}

/// The first `limit` usable rows of the shards under `source`.
pub fn load_finevideo(source: &str, decoder: &Decoder, limit: usize, skips: &mut Skips) -> Result<Vec<Clip>> {
    let mut rows = Rows::new(shard_paths(source)?);
    let decode = |r: Row| {
        let caption = match r.caption {
            Ok(c) if !c.trim().is_empty() => c.trim().to_string(),
            Ok(_) => return Err((r.id, "empty caption".to_string())),
            Err(e) => return Err((r.id, e)),
        };
        let Some(bytes) = r.mp4 else { return Err((r.id, "no mp4 bytes".to_string())) };
        match decoder.decode_bytes(&bytes) {
            Ok(pixels) => Ok(Clip { id: r.id, caption, pixels }),
            Err(reason) => Err((r.id, reason)),
        }
    };
    let clips = gather(rows.by_ref(), limit, decode, skips);
    if let Some(e) = rows.error {
        return Err(e);
    }
    Ok(clips)
}
