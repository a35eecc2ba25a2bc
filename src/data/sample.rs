//! What every dataset yields: a caption, a clip (3, T, H, W) in [-1, 1], and for shapes the
//! ground-truth attributes.

use super::shapes::Attributes;
use crate::spec::types::DataSpec;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VideoShape {
    pub frames: usize,
    pub height: usize,
    pub width: usize,
}

impl VideoShape {
    pub fn new(frames: usize, height: usize, width: usize) -> Self {
        Self { frames, height, width }
    }

    pub fn from_spec(spec: &DataSpec) -> Self {
        Self::new(spec.frames as usize, spec.height as usize, spec.width as usize)
    }

    /// Number of values in one clip: 3 * T * H * W.
    pub fn numel(&self) -> usize {
        3 * self.frames * self.height * self.width
    }

    /// [3, T, H, W].
    pub fn dims(&self) -> [usize; 4] {
        [3, self.frames, self.height, self.width]
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// Where it came from: "shapes#17", a manifest path, "shard.parquet#3".
    pub id: String,
    pub caption: String,
    /// (3, T, H, W), channel-major, values in [-1, 1].
    pub video: Vec<f32>,
    /// Ground truth for metrics (shapes only).
    pub attributes: Option<Attributes>,
}

/// A decoded real clip kept as bytes (4x smaller than f32) until it is batched.
#[derive(Clone, Debug)]
pub struct Clip {
    pub id: String,
    pub caption: String,
    /// (3, T, H, W) u8.
    pub pixels: Vec<u8>,
}

impl Clip {
    pub fn to_sample(&self) -> Sample {
        Sample {
            id: self.id.clone(),
            caption: self.caption.clone(),
            video: self.pixels.iter().map(|&p| p as f32 / 127.5 - 1.0).collect(),
            attributes: None,
        }
    }
}
