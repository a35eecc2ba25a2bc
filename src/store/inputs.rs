//! The fingerprint of a run's input files: for `folder` data the manifest's bytes and, for each
//! file it lists, its path, size and modification time; for `finevideo` the same for each shard.
//! A run records it when it loads its data; `ttv-run` compares it with the files as they are now
//! before reusing a done run, and warns when they changed (the spec's hash covers the manifest's
//! path, not what it lists). Sizes and times, not contents, keep the check cheap for large sets:
//! a file rewritten with the same size and time is not seen. `shapes` data is generated from the
//! spec alone and has none. An `hf://` source's files sit in the cache's snapshot of their commit,
//! so a new commit of the revision it names counts as a change.

use anyhow::Result;
use sha2::{Digest, Sha256};

use crate::data::LoadOptions;
use crate::spec::types::{DataKind, DataSpec};

/// The fingerprint of the files `spec` reads (hex SHA-256); none for generated data.
pub fn fingerprint(spec: &DataSpec, opts: &LoadOptions) -> Result<Option<String>> {
    let Some(source) = spec.source.as_deref().filter(|_| spec.kind != DataKind::Shapes) else { return Ok(None) };
    let source = crate::data::resolve_source(source, opts)?;
    let mut hash = Sha256::new();
    let files = match spec.kind {
        DataKind::Folder => {
            hash.update(std::fs::read(&source).map_err(|e| anyhow::anyhow!("{}: {e}", source.display()))?);
            crate::data::manifest::read_manifest(&source)?.into_iter().map(|e| e.path).collect()
        }
        _ => crate::data::finevideo::shard_paths(&source.to_string_lossy())?,
    };
    for file in files {
        hash.update(file.to_string_lossy().as_bytes());
        // A listed file that is missing counts as it is: missing (the loader skips it).
        if let Ok(meta) = std::fs::metadata(&file) {
            let modified = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            hash.update(meta.len().to_le_bytes());
            hash.update(modified.map_or(0, |d| d.as_nanos()).to_le_bytes());
        }
        hash.update([0]);
    }
    Ok(Some(format!("{:x}", hash.finalize())))
}

/// Why a done run's inputs are not the ones it was trained on, if they are not: `recorded` is its
/// status's fingerprint (none for runs stored before fingerprints, which cannot be checked).
pub fn changed(recorded: Option<&str>, spec: &DataSpec, opts: &LoadOptions) -> Option<String> {
    let recorded = recorded?;
    let source = spec.source.as_deref().unwrap_or_default();
    match fingerprint(spec, opts) {
        Ok(Some(now)) if now == recorded => None,
        Ok(_) => Some(format!("the files of data.source = {source} changed since it was trained")),
        Err(e) => Some(format!("the files of data.source = {source} cannot be read now ({e:#})")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_file_that_changes_changes_the_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.gif"), b"one").unwrap();
        std::fs::write(dir.path().join("clips.csv"), "path,caption\na.gif,a red ball\n").unwrap();
        let spec = DataSpec { kind: DataKind::Folder, source: Some("clips.csv".into()), ..DataSpec::default() };
        let opts = LoadOptions { cache_dir: None, base_dir: Some(dir.path().to_path_buf()) };
        let first = fingerprint(&spec, &opts).unwrap().unwrap();
        assert_eq!(changed(Some(&first), &spec, &opts), None);
        std::fs::write(dir.path().join("a.gif"), b"other").unwrap();
        let why = changed(Some(&first), &spec, &opts).expect("changed");
        assert!(why.contains("clips.csv changed"), "{why}");
        assert_eq!(fingerprint(&DataSpec::default(), &opts).unwrap(), None, "shapes has none");
    }
}
