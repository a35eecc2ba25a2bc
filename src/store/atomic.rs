//! Atomic writes: a reader sees the old file or the new one, never a torn one, even if the
//! writer is killed mid-write. Write a temp file in the same directory, fsync, rename over.
//! Temp names are `.ttv-tmp-<pid>-<random>`, so that a writer killed mid-write leaves a file
//! the store can recognise as its own and remove later ([`super::orphans`]).

use std::io::Write;
use std::path::Path;

use super::path_error;

/// How the temp names of the store's writers begin; the writer's pid follows.
pub const TEMP_PREFIX: &str = ".ttv-tmp-";

/// How a folder being replaced is named until its replacement is in place: this, the writer's
/// pid, a dash and the folder's name (put back if the writer dies between the two renames).
pub const OLD_PREFIX: &str = ".ttv-old-";

/// The temp name prefix of this process: [`TEMP_PREFIX`], the pid and a dash.
pub fn temp_prefix() -> String {
    format!("{TEMP_PREFIX}{}-", std::process::id())
}

/// Replace `path` with `bytes` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, |f| f.write_all(bytes))
}

/// Replace `path` with whatever `fill` writes, atomically. The temp file is created beside
/// `path` (so the rename cannot cross filesystems) and removed if anything fails; an error
/// names `path`.
pub fn write_atomic_with(path: &Path, fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let at = |e| path_error::io(path, e);
    std::fs::create_dir_all(dir).map_err(at)?;
    let mut tmp = tempfile::Builder::new().prefix(&temp_prefix()).tempfile_in(dir).map_err(at)?;
    fill(tmp.as_file_mut()).map_err(at)?;
    tmp.as_file().sync_all().map_err(at)?;
    tmp.persist(path).map_err(|e| at(e.error))?;
    // Persist the rename itself; not every filesystem supports syncing a directory.
    let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.json")]);
    }

    #[test]
    fn a_failed_fill_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_atomic(&p, b"old").unwrap();
        let err = write_atomic_with(&p, |f| {
            f.write_all(b"half")?;
            Err(std::io::Error::other("killed"))
        });
        assert!(err.unwrap_err().to_string().starts_with(&format!("{}: ", p.display())), "the error names the file");
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
