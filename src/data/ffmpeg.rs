//! Decoding with the `ffmpeg` program (no native FFmpeg bindings to build). ffmpeg does the
//! centre crop and the bilinear resize, so only H*W*3 bytes per frame cross the pipe; the
//! uniform frame choice happens afterwards, once the frame count is known.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Clone, Debug)]
pub struct Ffmpeg {
    pub program: PathBuf,
    /// First line of `ffmpeg -version`, part of the cache key (decoders change between versions).
    pub version: String,
}

/// Stderr markers of a truncated or corrupt input (ffmpeg may still exit 0 on these).
const CORRUPTION: [&str; 7] = [
    "partial file",
    "Invalid data found",
    "Invalid NAL unit",
    "error reading header",
    "moov atom not found",
    "corrupt",
    "truncat",
];

impl Ffmpeg {
    /// `program` from the spec, else `ffmpeg` on PATH; fails with an install hint.
    pub fn locate(program: Option<&str>) -> Result<Self> {
        let program = PathBuf::from(program.unwrap_or("ffmpeg"));
        let out = Command::new(&program).arg("-version").stdin(Stdio::null()).output();
        match out {
            Ok(o) if o.status.success() => {
                let version = String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("").to_string();
                Ok(Self { program, version })
            }
            Ok(o) => bail!("`{} -version` failed: {}", program.display(), String::from_utf8_lossy(&o.stderr).trim()),
            Err(e) => bail!(
                "cannot run ffmpeg program {:?} ({e}); install it (e.g. `apt-get install -y ffmpeg`) \
                 or set data.ffmpeg to its path",
                program.display()
            ),
        }
    }

    /// Decode every frame of `input` (optionally only [start_s, end_s]) centre-cropped to the
    /// aspect of h x w and resized to h x w. Returns packed RGB frames (H, W, 3) each.
    /// Errors are one-line reasons, suitable for a skip warning.
    pub fn decode(
        &self,
        input: &Path,
        start_s: Option<f64>,
        end_s: Option<f64>,
        h: usize,
        w: usize,
    ) -> std::result::Result<Vec<Vec<u8>>, String> {
        let mut cmd = Command::new(&self.program);
        cmd.args(["-nostdin", "-hide_banner", "-v", "error"]);
        if let Some(s) = start_s {
            cmd.args(["-ss", &format!("{s}")]);
        }
        cmd.arg("-i").arg(input);
        if let Some(e) = end_s {
            let d = e - start_s.unwrap_or(0.0);
            if d <= 0.0 {
                return Err(format!("end_s {e} is not after start_s {}", start_s.unwrap_or(0.0)));
            }
            cmd.args(["-t", &format!("{d}")]);
        }
        // Crop the largest centred window of the target aspect, then resize.
        let vf = format!("crop=w='min(iw,ih*{w}/{h})':h='min(ih,iw*{h}/{w})',scale={w}:{h}:flags=bilinear");
        cmd.args(["-map", "0:v:0", "-an", "-sn", "-vf", &vf, "-vsync", "passthrough"]);
        cmd.args(["-pix_fmt", "rgb24", "-f", "rawvideo", "-"]);
        let out = cmd.stdin(Stdio::null()).output().map_err(|e| format!("cannot run {}: {e}", self.program.display()))?;
        let stderr = strip_addresses(&String::from_utf8_lossy(&out.stderr));
        let first_error = || stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
        if !out.status.success() {
            return Err(format!("unreadable video (ffmpeg: {})", first_error()));
        }
        if let Some(line) = stderr.lines().find(|l| CORRUPTION.iter().any(|m| l.contains(m))) {
            return Err(format!("truncated or corrupt video (ffmpeg: {})", line.trim()));
        }
        let frame = h * w * 3;
        if out.stdout.is_empty() {
            return Err("no video frames decoded".to_string());
        }
        if out.stdout.len() % frame != 0 {
            return Err(format!("ffmpeg returned {} bytes, not a whole number of {h}x{w} frames", out.stdout.len()));
        }
        Ok(out.stdout.chunks_exact(frame).map(<[u8]>::to_vec).collect())
    }

    /// Decode a single image (PNG, JPEG, ...) as one frame.
    pub fn decode_image(&self, input: &Path, h: usize, w: usize) -> std::result::Result<Vec<u8>, String> {
        let mut frames = self.decode(input, None, None, h, w)?;
        if frames.is_empty() {
            return Err("image decoded to no frame".into());
        }
        Ok(frames.swap_remove(0))
    }
}

/// "[h264 @ 0x55d0c3a0] msg" -> "[h264] msg": warnings stay identical from run to run.
fn strip_addresses(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(k) = rest.find(" @ 0x") {
        out.push_str(&rest[..k]);
        rest = rest[k + 5..].trim_start_matches(|c: char| c.is_ascii_hexdigit());
    }
    out.push_str(rest);
    out
}

/// Run a ffmpeg command line for tests and tools (e.g. making clips); fails with stderr.
pub fn run(program: &Path, args: &[&str]) -> Result<()> {
    let out = Command::new(program)
        .args(["-nostdin", "-hide_banner", "-v", "error", "-y"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", program.display()))?;
    if !out.status.success() {
        bail!("{} {:?} failed: {}", program.display(), args, String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}
