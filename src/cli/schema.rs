//! `ttv-run schema`: write the JSON Schema of spec files, or check the committed one is current.

use std::path::Path;

use anyhow::{Context, Result, bail};

pub fn schema(out: &Path, check: bool) -> Result<()> {
    let text = crate::spec::schema_json();
    if check {
        return match std::fs::read_to_string(out) {
            Ok(current) if current == text => Ok(()),
            _ => bail!("{} is stale: run `ttv-run schema` to regenerate it", out.display()),
        };
    }
    crate::store::atomic::write_atomic(out, text.as_bytes()).with_context(|| out.display().to_string())
}
