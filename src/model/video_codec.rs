//! Video codecs: a tokenizer from a clip `[batch, 3, frames, height, width]` in [-1, 1] to latent
//! tokens `[batch, tokens, hidden]`, and a detokenizer back to a clip in [-1, 1].
//!
//! - paper: four strided Conv3d blocks (each with a strided 1x1x1 residual projection and a
//!   channel LayerNorm), 3 -> C/4 -> C/2 -> C -> C, strides (1,2,2) (1,2,2) (2,2,2) (2,1,1):
//!   8x32x32 becomes a 2x4x4 grid, 32 tokens. The detokenizer mirrors it with ConvTranspose3d
//!   C -> C/2 -> C/4 -> C/8 -> C/16, then a 3x3x3 Conv3d to RGB and tanh.
//! - reference: Conv3d(3, C/4, 3, pad 1) + GELU, Conv3d(C/4, C/2, k = s = (2,4,4)) + GELU,
//!   Conv3d(C/2, C, 3, pad 1), raster flatten (time slowest), LayerNorm: 8x32x32 becomes 4x8x8,
//!   256 tokens. Its detokenizer: Linear(C, C), ConvT3d(C, C/2, 3, pad 1) + GELU,
//!   ConvT3d(C/2, C/4, k = s = (2,4,4)) + GELU, ConvT3d(C/4, 3, 3, pad 1), tanh. (The public code
//!   ends with a trilinear resize to the clip size, the identity whenever the codec fits.)
//!
//! Each strided paper conv uses kernel `stride + 2` and padding 1 per axis, so an axis divisible
//! by its stride is divided exactly (kernel 3x4x4 for stride 1x2x2, as the paper says).

use burn::nn::conv::{Conv3d, Conv3dConfig, ConvTranspose3d, ConvTranspose3dConfig};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig, PaddingConfig3d};
use burn::prelude::*;
use burn::tensor::activation::gelu;

use super::conv::{conv_transpose3d, conv3d};
use super::precision::{self, Compute};
use super::rows;
use crate::spec::types::{CpuConv, Family};

/// Strides of the paper tokenizer's four blocks, (time, height, width).
pub const PAPER_STRIDES: [[usize; 3]; 4] = [[1, 2, 2], [1, 2, 2], [2, 2, 2], [2, 1, 1]];
/// Channel widths through the paper tokenizer's four blocks, RGB in, `hidden` out.
pub fn paper_down_widths(hidden: usize) -> [usize; 5] {
    [3, hidden / 4, hidden / 2, hidden, hidden]
}
/// Channel widths through the paper detokenizer's four transposed blocks, down to `hidden / 16`
/// (a last 3x3x3 convolution makes RGB of them).
pub fn paper_up_widths(hidden: usize) -> [usize; 5] {
    [hidden, hidden / 2, hidden / 4, hidden / 8, hidden / 16]
}
/// A paper block's kernel for its stride: stride + 2 per axis, so padding 1 divides the size by
/// the stride exactly.
pub fn paper_kernel(stride: [usize; 3]) -> [usize; 3] {
    stride.map(|s| s + 2)
}
/// The reference tokenizer's patch, (time, height, width).
pub const REFERENCE_PATCH: [usize; 3] = [2, 4, 4];

/// The latent token grid (time, height, width) a codec makes of a clip, or why it cannot.
pub fn token_grid(kind: Family, hidden: usize, frames: usize, height: usize, width: usize) -> Result<[usize; 3], String> {
    let (name, factor, channel_div) = match kind {
        Family::Paper => {
            let f = PAPER_STRIDES.iter().fold([1; 3], |acc, s| [acc[0] * s[0], acc[1] * s[1], acc[2] * s[2]]);
            ("paper", f, 16)
        }
        Family::Reference => ("reference", REFERENCE_PATCH, 4),
    };
    let mut grid = [0; 3];
    for (i, (axis, size)) in [("frames", frames), ("height", height), ("width", width)].into_iter().enumerate() {
        if size == 0 || size % factor[i] != 0 {
            return Err(format!(
                "video_codec {name} does not fit data.{axis} = {size}: its strided convolutions divide \
                 {axis} by {}, so it must be a positive multiple of {}",
                factor[i], factor[i]
            ));
        }
        grid[i] = size / factor[i];
    }
    if !hidden.is_multiple_of(channel_div) {
        return Err(format!(
            "video_codec {name} needs model.hidden divisible by {channel_div} (its channel widths are \
             fractions of hidden down to hidden/{channel_div}), got {hidden}"
        ));
    }
    Ok(grid)
}

fn conv3d_layer(c: [usize; 2], kernel: [usize; 3], stride: [usize; 3], pad: usize, device: &Device) -> Conv3d {
    Conv3dConfig::new(c, kernel).with_stride(stride).with_padding(PaddingConfig3d::Explicit(pad, pad, pad)).init(device)
}

fn conv_t3d(c: [usize; 2], kernel: [usize; 3], stride: [usize; 3], pad: usize, device: &Device) -> ConvTranspose3d {
    ConvTranspose3dConfig::new(c, kernel).with_stride(stride).with_padding([pad; 3]).init(device)
}

/// LayerNorm over the channel axis of `[batch, channels, t, h, w]`.
fn channel_norm(norm: &LayerNorm, x: Tensor<5>) -> Tensor<5> {
    rows::layer_norm(norm, x.permute([0, 2, 3, 4, 1])).permute([0, 4, 1, 2, 3])
}

/// `[batch, channels, t, h, w]` -> `[batch, t*h*w, channels]`, time slowest.
fn flatten_tokens(x: Tensor<5>) -> Tensor<3> {
    let [batch, channels, t, h, w] = x.dims();
    x.permute([0, 2, 3, 4, 1]).reshape([batch, t * h * w, channels])
}

/// `[batch, t*h*w, channels]` -> `[batch, channels, t, h, w]`.
fn unflatten_tokens(x: Tensor<3>, [t, h, w]: [usize; 3]) -> Tensor<5> {
    let [batch, tokens, channels] = x.dims();
    assert_eq!(tokens, t * h * w, "{tokens} tokens do not fill a {t}x{h}x{w} grid");
    x.reshape([batch, t, h, w, channels]).permute([0, 4, 1, 2, 3])
}

// ---------------------------------------------------------------------------------------------
// paper

/// `LayerNorm(gelu(conv(x)) + project(x))`, both paths strided alike.
#[derive(Module, Debug)]
pub struct DownBlock {
    pub conv: Conv3d,
    pub project: Conv3d,
    pub norm: LayerNorm,
}

impl DownBlock {
    fn new(c: [usize; 2], stride: [usize; 3], device: &Device) -> Self {
        Self {
            conv: conv3d_layer(c, paper_kernel(stride), stride, 1, device),
            project: conv3d_layer(c, [1; 3], stride, 0, device),
            norm: LayerNormConfig::new(c[1]).init(device),
        }
    }

    fn forward(&self, x: Tensor<5>, cpu_conv: CpuConv) -> Tensor<5> {
        channel_norm(&self.norm, gelu(conv3d(&self.conv, x.clone(), cpu_conv)) + conv3d(&self.project, x, cpu_conv))
    }
}

#[derive(Module, Debug)]
pub struct PaperTokenizer {
    pub blocks: Vec<DownBlock>,
    #[module(skip)]
    pub cpu_conv: CpuConv,
}

#[derive(Module, Debug)]
pub struct PaperDetokenizer {
    pub ups: Vec<ConvTranspose3d>,
    pub to_rgb: Conv3d,
    #[module(skip)]
    pub cpu_conv: CpuConv,
    pub grid_t: usize,
    pub grid_h: usize,
    pub grid_w: usize,
}

// ---------------------------------------------------------------------------------------------
// reference

#[derive(Module, Debug)]
pub struct ReferenceTokenizer {
    pub conv1: Conv3d,
    pub conv2: Conv3d,
    pub conv3: Conv3d,
    pub norm: LayerNorm,
    #[module(skip)]
    pub cpu_conv: CpuConv,
}

#[derive(Module, Debug)]
pub struct ReferenceDetokenizer {
    pub proj: Linear,
    /// The format of `proj`'s product (the convolutions are f32 in every precision).
    #[module(skip)]
    pub compute: Compute,
    pub conv1: ConvTranspose3d,
    pub conv2: ConvTranspose3d,
    pub conv3: ConvTranspose3d,
    #[module(skip)]
    pub cpu_conv: CpuConv,
    pub grid_t: usize,
    pub grid_h: usize,
    pub grid_w: usize,
}

// ---------------------------------------------------------------------------------------------
// the two families behind one name each

// One per model: a boxed variant would save nothing and change the module's record.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum VideoTokenizer {
    Paper(PaperTokenizer),
    Reference(ReferenceTokenizer),
}

#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum VideoDetokenizer {
    Paper(PaperDetokenizer),
    Reference(ReferenceDetokenizer),
}

/// Build a codec for `hidden`-wide tokens on a `grid` from [`token_grid`], its convolutions run
/// by `cpu_conv` on the CPU backend. The convolutions are f32 whatever `compute` says; only the
/// reference detokenizer's projection, a `Linear`, multiplies in `compute`.
pub fn video_codec(
    kind: Family,
    cpu_conv: CpuConv,
    compute: Compute,
    hidden: usize,
    grid: [usize; 3],
    device: &Device,
) -> (VideoTokenizer, VideoDetokenizer) {
    let [grid_t, grid_h, grid_w] = grid;
    let c = hidden;
    match kind {
        Family::Paper => {
            let widths = paper_down_widths(c);
            let blocks = (0..4).map(|i| DownBlock::new([widths[i], widths[i + 1]], PAPER_STRIDES[i], device)).collect();
            let up_widths = paper_up_widths(c);
            let ups = (0..4)
                .map(|i| {
                    let stride = PAPER_STRIDES[3 - i];
                    conv_t3d([up_widths[i], up_widths[i + 1]], paper_kernel(stride), stride, 1, device)
                })
                .collect();
            (
                VideoTokenizer::Paper(PaperTokenizer { blocks, cpu_conv }),
                VideoDetokenizer::Paper(PaperDetokenizer {
                    ups,
                    to_rgb: conv3d_layer([up_widths[4], 3], [3; 3], [1; 3], 1, device),
                    cpu_conv,
                    grid_t,
                    grid_h,
                    grid_w,
                }),
            )
        }
        Family::Reference => (
            VideoTokenizer::Reference(ReferenceTokenizer {
                conv1: conv3d_layer([3, c / 4], [3; 3], [1; 3], 1, device),
                conv2: conv3d_layer([c / 4, c / 2], REFERENCE_PATCH, REFERENCE_PATCH, 0, device),
                conv3: conv3d_layer([c / 2, c], [3; 3], [1; 3], 1, device),
                norm: LayerNormConfig::new(c).init(device),
                cpu_conv,
            }),
            VideoDetokenizer::Reference(ReferenceDetokenizer {
                proj: LinearConfig::new(c, c).init(device),
                compute,
                conv1: conv_t3d([c, c / 2], [3; 3], [1; 3], 1, device),
                conv2: conv_t3d([c / 2, c / 4], REFERENCE_PATCH, REFERENCE_PATCH, 0, device),
                conv3: conv_t3d([c / 4, 3], [3; 3], [1; 3], 1, device),
                cpu_conv,
                grid_t,
                grid_h,
                grid_w,
            }),
        ),
    }
}

impl VideoTokenizer {
    /// `[batch, 3, frames, height, width]` in [-1, 1] -> `[batch, tokens, hidden]`.
    pub fn forward(&self, video: Tensor<5>) -> Tensor<3> {
        match self {
            Self::Paper(m) => flatten_tokens(m.blocks.iter().fold(video, |x, block| block.forward(x, m.cpu_conv))),
            Self::Reference(m) => {
                let x = gelu(conv3d(&m.conv1, video, m.cpu_conv));
                let x = gelu(conv3d(&m.conv2, x, m.cpu_conv));
                rows::layer_norm(&m.norm, flatten_tokens(conv3d(&m.conv3, x, m.cpu_conv)))
            }
        }
    }
}

impl VideoDetokenizer {
    /// `[batch, tokens, hidden]` -> `[batch, 3, frames, height, width]` in [-1, 1].
    pub fn forward(&self, tokens: Tensor<3>) -> Tensor<5> {
        match self {
            Self::Paper(m) => {
                let x = unflatten_tokens(tokens, [m.grid_t, m.grid_h, m.grid_w]);
                let x = m.ups.iter().fold(x, |x, up| gelu(conv_transpose3d(up, x, m.cpu_conv)));
                conv3d(&m.to_rgb, x, m.cpu_conv).tanh()
            }
            Self::Reference(m) => {
                let x = unflatten_tokens(precision::rows_linear(m.compute, &m.proj, tokens), [m.grid_t, m.grid_h, m.grid_w]);
                let x = gelu(conv_transpose3d(&m.conv1, x, m.cpu_conv));
                let x = gelu(conv_transpose3d(&m.conv2, x, m.cpu_conv));
                conv_transpose3d(&m.conv3, x, m.cpu_conv).tanh()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use burn::tensor::Distribution;

    #[test]
    fn codecs_round_trip_shapes() {
        let device = cpu();
        for (kind, [f, h, w], tokens) in [(Family::Paper, [4, 16, 16], 4), (Family::Reference, [2, 8, 8], 4)] {
            let grid = token_grid(kind, 32, f, h, w).unwrap();
            let (tokenizer, detokenizer) = video_codec(kind, CpuConv::Native, Compute::F32, 32, grid, &device);
            let video = Tensor::<5>::random([2, 3, f, h, w], Distribution::Uniform(-1.0, 1.0), &device);
            let z = tokenizer.forward(video);
            assert_eq!(z.dims(), [2, tokens, 32], "{kind:?}");
            let out = detokenizer.forward(z);
            assert_eq!(out.dims(), [2, 3, f, h, w], "{kind:?}");
            assert!(out.abs().max().into_scalar::<f32>() <= 1.0);
        }
    }

    /// `cpu_conv` picks how the same weights are convolved: both ways compute one function.
    #[test]
    fn native_and_gemm_convolutions_give_the_same_codec() {
        let device = cpu();
        for (kind, [f, h, w]) in [(Family::Paper, [4, 16, 16]), (Family::Reference, [2, 8, 8])] {
            let grid = token_grid(kind, 32, f, h, w).unwrap();
            let (mut tokenizer, mut detokenizer) = video_codec(kind, CpuConv::Native, Compute::F32, 32, grid, &device);
            let video = Tensor::<5>::random([2, 3, f, h, w], Distribution::Uniform(-1.0, 1.0), &device);
            let (z, out) = (tokenizer.forward(video.clone()), detokenizer.forward(tokenizer.forward(video.clone())));
            match (&mut tokenizer, &mut detokenizer) {
                (VideoTokenizer::Paper(t), VideoDetokenizer::Paper(d)) => {
                    (t.cpu_conv, d.cpu_conv) = (CpuConv::Gemm, CpuConv::Gemm)
                }
                (VideoTokenizer::Reference(t), VideoDetokenizer::Reference(d)) => {
                    (t.cpu_conv, d.cpu_conv) = (CpuConv::Gemm, CpuConv::Gemm)
                }
                _ => unreachable!("one family"),
            }
            let (z_gemm, out_gemm) = (tokenizer.forward(video.clone()), detokenizer.forward(tokenizer.forward(video)));
            let dz: f32 = (z - z_gemm).abs().max().into_scalar::<f32>();
            let dout: f32 = (out - out_gemm).abs().max().into_scalar::<f32>();
            assert!(dz < 1e-4 && dout < 1e-4, "{kind:?}: tokens differ by {dz}, clips by {dout}");
        }
    }

    #[test]
    fn paper_and_reference_grids_at_the_paper_clip_size() {
        assert_eq!(token_grid(Family::Paper, 256, 8, 32, 32).unwrap(), [2, 4, 4]);
        assert_eq!(token_grid(Family::Reference, 256, 8, 32, 32).unwrap(), [4, 8, 8]);
    }

    #[test]
    fn a_codec_that_does_not_fit_says_why() {
        let e = token_grid(Family::Paper, 256, 6, 32, 32).unwrap_err();
        assert!(e.contains("data.frames = 6") && e.contains("multiple of 4"), "{e}");
        let e = token_grid(Family::Reference, 256, 8, 30, 32).unwrap_err();
        assert!(e.contains("data.height = 30") && e.contains("multiple of 4"), "{e}");
        let e = token_grid(Family::Paper, 40, 8, 32, 32).unwrap_err();
        assert!(e.contains("divisible by 16"), "{e}");
    }
}
