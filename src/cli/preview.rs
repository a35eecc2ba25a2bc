//! `ttv-run preview`: the first training clips of a spec's dataset as a GIF grid, their
//! captions, and the dataset's fingerprint.

use std::path::Path;

use anyhow::{Result, anyhow};

use crate::store::Store;

pub fn preview(spec: &Path, set: &[String], out: &Path, n: usize, store: &Store) -> Result<()> {
    let exp = crate::spec::plan(spec, set)?;
    let first = exp.runs.first().ok_or_else(|| anyhow!("{} expands to no runs", spec.display()))?;
    let data = crate::data::load(&first.spec.data, &crate::runner::load_options(store, &exp))?;
    let p = crate::data::write_preview(&data.train, n, out)?;
    println!("grid        {}", p.gif.display());
    println!("captions    {}", p.captions_file.display());
    println!("fingerprint {} (train split, {} samples)", data.train.fingerprint(data.train.len()), data.train.len());
    println!("skipped     {}", data.skipped());
    for (i, c) in p.captions.iter().enumerate() {
        println!("{i:3}  {c}");
    }
    Ok(())
}
