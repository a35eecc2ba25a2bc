//! Store errors name their file: an I/O, JSON or Parquet error says which file of which run it
//! came from, so a damaged store can be repaired from the message alone.

use std::path::Path;

/// `e` with `path` in front, keeping its kind (readers tell a missing file from a damaged one).
pub fn io(path: &Path, e: std::io::Error) -> std::io::Error {
    let shown = path.display().to_string();
    if e.to_string().starts_with(&shown) {
        return e;
    }
    std::io::Error::new(e.kind(), format!("{shown}: {e}"))
}

/// A closure for `map_err` that puts `path` in front of an I/O error.
pub fn at(path: &Path) -> impl FnOnce(std::io::Error) -> std::io::Error + '_ {
    move |e| io(path, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_file_once_and_keeps_the_kind() {
        let p = Path::new("/store/runs/abc/status.json");
        let e = io(p, std::io::Error::new(std::io::ErrorKind::NotFound, "gone"));
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
        assert_eq!(e.to_string(), "/store/runs/abc/status.json: gone");
        assert_eq!(io(p, e).to_string(), "/store/runs/abc/status.json: gone");
    }
}
