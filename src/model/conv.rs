//! 3-D convolutions as one matrix product (im2col), for the video codecs.
//!
//! burn's `Conv3d`/`ConvTranspose3d` modules hold the weights (so checkpoints and parameter
//! counts are burn's own), but their forward passes are slow where it matters: burn-ndarray
//! convolves element by element through array slicing (seconds per batch of 8x32x32 clips), and
//! on CUDA their kernels take minutes to JIT-compile on first use. Here a convolution gathers
//! every kernel tap of the padded input with `select` (one index per output position and axis),
//! lays the taps out as columns and multiplies by the weight matrix: only gather, reshape and
//! matmul, which every backend does fast and autodiff differentiates exactly. A transposed
//! convolution is the mirror image: one matmul, then the taps overlap-added into place. The
//! products and biases run on row chunks ([`rows`]), so their gradients reduce in parallel.
//!
//! burn-flex (the CPU default) is the exception: its own convolutions are tiled im2col + gemm
//! run in parallel, about 3x faster than these on the codec's shapes, forward and backward
//! (`cargo run --example conv_speed`), so on it the module's own forward is used unless the
//! spec's `model.video_codec.cpu_conv` asks for these (the two round differently).

use burn::nn::conv::{Conv2d, Conv3d, ConvTranspose3d};
use burn::nn::{PaddingConfig2d, PaddingConfig3d};
use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;

use super::{constants, rows};

pub use crate::spec::types::CpuConv;

/// Whether to run the backend's own convolutions: on burn-flex (plain or under autodiff), where they
/// are the fast ones, unless the spec asks for `gemm` (`model.video_codec.cpu_conv`: the two
/// round differently).
fn native(device: &Device, algorithm: CpuConv) -> bool {
    algorithm == CpuConv::Native && crate::backend::is_flex(device)
}

/// `Conv3d` forward (dilation 1, one group), the same function as `conv.forward(x)`.
pub fn conv3d(conv: &Conv3d, x: Tensor<5>, algorithm: CpuConv) -> Tensor<5> {
    if native(&x.device(), algorithm) { conv.forward(x) } else { gemm_conv3d(conv, x) }
}

/// [`conv3d`] as one gather and one matmul.
fn gemm_conv3d(conv: &Conv3d, x: Tensor<5>) -> Tensor<5> {
    assert_eq!((conv.dilation, conv.groups), ([1; 3], 1), "dilated or grouped 3-D convolutions are not used");
    let padding = match conv.padding {
        PaddingConfig3d::Valid => [0; 3],
        PaddingConfig3d::Explicit(t, h, w) => [t, h, w],
        ref other => panic!("3-D convolution padding {other:?} is not used"),
    };
    let bias = conv.bias.as_ref().map(|b| b.val());
    convolve(x, conv.weight.val(), bias, conv.stride, padding)
}

/// `Conv2d` forward (dilation 1, one group), the same function as `conv.forward(x)`.
pub fn conv2d(conv: &Conv2d, x: Tensor<4>, algorithm: CpuConv) -> Tensor<4> {
    if native(&x.device(), algorithm) { conv.forward(x) } else { gemm_conv2d(conv, x) }
}

/// [`conv2d`] as a 3-D convolution over a single frame.
fn gemm_conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    assert_eq!((conv.dilation, conv.groups), ([1; 2], 1), "dilated or grouped 2-D convolutions are not used");
    let [ph, pw] = match conv.padding {
        PaddingConfig2d::Valid => [0; 2],
        PaddingConfig2d::Explicit(top, left, bottom, right) if (top, left) == (bottom, right) => [top, left],
        ref other => panic!("2-D convolution padding {other:?} is not used"),
    };
    let bias = conv.bias.as_ref().map(|b| b.val());
    let [sh, sw] = conv.stride;
    let y = convolve(x.unsqueeze_dim(2), conv.weight.val().unsqueeze_dim(2), bias, [1, sh, sw], [0, ph, pw]);
    y.squeeze_dim(2)
}

/// `ConvTranspose3d` forward (dilation 1, one group), the same function as `conv.forward(x)`.
pub fn conv_transpose3d(conv: &ConvTranspose3d, x: Tensor<5>, algorithm: CpuConv) -> Tensor<5> {
    if native(&x.device(), algorithm) { conv.forward(x) } else { gemm_conv_transpose3d(conv, x) }
}

/// [`conv_transpose3d`] as one matmul and an overlap-add: every input position's contribution
/// to its `k` output taps is one matrix product; the taps are then overlap-added into place one
/// axis at a time (col2im) and the padding cropped off.
fn gemm_conv_transpose3d(conv: &ConvTranspose3d, x: Tensor<5>) -> Tensor<5> {
    assert_eq!((conv.dilation, conv.groups), ([1; 3], 1), "dilated or grouped 3-D convolutions are not used");
    let [batch, c_in, it, ih, iw] = x.dims();
    let [c_in_w, c_out, kt, kh, kw] = conv.weight.dims();
    assert_eq!(c_in, c_in_w, "input has {c_in} channels, the kernel expects {c_in_w}");
    let [st, sh, sw] = conv.stride;
    let full = [(it, kt, st), (ih, kh, sh), (iw, kw, sw)].map(|(i, k, s)| (i - 1) * s + k);
    let weight = conv.weight.val().reshape([c_in, c_out * kt * kh * kw]);
    let columns = rows::matmul(x.permute([0, 2, 3, 4, 1]).reshape([batch * it * ih * iw, c_in]), weight);
    // Overlap-add time: rows (b, ih, iw, c_out, kh, kw), columns (it, kt) -> full_t.
    let y = columns
        .reshape([batch, it, ih * iw, c_out, kt, kh * kw])
        .permute([0, 2, 3, 5, 1, 4])
        .reshape([batch * ih * iw * c_out * kh * kw, it * kt]);
    let y = overlap_add(y, it, kt, st);
    // Height: rows (b, iw, c_out, kw, full_t), columns (ih, kh) -> full_h.
    let y = y
        .reshape([batch, ih, iw * c_out, kh, kw * full[0]])
        .permute([0, 2, 4, 1, 3])
        .reshape([batch * iw * c_out * kw * full[0], ih * kh]);
    let y = overlap_add(y, ih, kh, sh);
    // Width: rows (b, c_out, full_t, full_h), columns (iw, kw) -> full_w.
    let y = y
        .reshape([batch, iw, c_out, kw, full[0] * full[1]])
        .permute([0, 2, 4, 1, 3])
        .reshape([batch * c_out * full[0] * full[1], iw * kw]);
    let mut y = overlap_add(y, iw, kw, sw).reshape([batch, c_out, full[0], full[1], full[2]]);
    for (axis, size) in full.into_iter().enumerate() {
        let (p, extra) = (conv.padding[axis], conv.padding_out[axis]);
        assert!(extra <= p, "output padding beyond the padding is not used");
        y = y.narrow(axis + 2, p, size - 2 * p + extra);
    }
    match &conv.bias {
        Some(bias) => rows::add_channels(y, bias.val()),
        None => y,
    }
}

/// `y` `[rows, n * k]` (input position outer, tap inner) summed into `[rows, (n - 1) * s + k]`:
/// input `i`, tap `j` lands on `i * s + j`.
fn overlap_add(y: Tensor<2>, n: usize, k: usize, s: usize) -> Tensor<2> {
    let [rows, _] = y.dims();
    let device = y.device();
    let index = constants::indices(&format!("overlap-add {n} {k} {s}"), &device, || {
        (0..n).flat_map(|i| (0..k).map(move |j| (i * s + j) as i64)).collect()
    });
    Tensor::zeros([rows, (n - 1) * s + k], &device).select_assign(1, index, y, IndexingUpdateOp::Add)
}

/// Cross-correlation of `x` `[b, c_in, t, h, w]` with `weight` `[c_out, c_in, kt, kh, kw]`.
pub fn convolve(x: Tensor<5>, weight: Tensor<5>, bias: Option<Tensor<1>>, stride: [usize; 3], padding: [usize; 3]) -> Tensor<5> {
    convolve_padded(pad3(x, padding.map(|p| (p, p))), weight, bias, stride)
}

/// Cross-correlation of `x` with `weight` (as [`convolve`]) after zero-padding each of the three
/// axes by its own (before, after), e.g. TensorFlow's SAME, which puts an odd cell after: on
/// burn-flex its own convolution unless `algorithm` asks for `gemm`, the gather + matmul elsewhere.
pub fn convolve_with_pads(
    x: Tensor<5>,
    weight: Tensor<5>,
    bias: Option<Tensor<1>>,
    stride: [usize; 3],
    pads: [(usize, usize); 3],
    algorithm: CpuConv,
) -> Tensor<5> {
    if native(&x.device(), algorithm) {
        // Its convolution takes only symmetric padding.
        let (x, padding) = match pads.iter().all(|(a, b)| a == b) {
            true => (x, pads.map(|p| p.0)),
            false => (pad3(x, pads), [0; 3]),
        };
        burn::tensor::module::conv3d(x, weight, bias, burn::tensor::ops::ConvOptions::new(stride, padding, [1; 3], 1))
    } else {
        convolve_padded(pad3(x, pads), weight, bias, stride)
    }
}

fn convolve_padded(x: Tensor<5>, weight: Tensor<5>, bias: Option<Tensor<1>>, stride: [usize; 3]) -> Tensor<5> {
    let [batch, c_in, t, h, w] = x.dims();
    let [c_out, c_in_w, kt, kh, kw] = weight.dims();
    assert_eq!(c_in, c_in_w, "input has {c_in} channels, the kernel expects {c_in_w}");
    let (size, kernel) = ([t, h, w], [kt, kh, kw]);
    let [ot, oh, ow] = [0, 1, 2].map(|a| (size[a] - kernel[a]) / stride[a] + 1);
    let device = x.device();
    if [kt, kh, kw, stride[0], stride[1], stride[2]] == [1; 6] {
        // A pointwise convolution is a matmul over channels.
        let columns = x.permute([0, 2, 3, 4, 1]).reshape([batch * t * h * w, c_in]);
        return finish(columns, weight.reshape([c_out, c_in]), bias, [batch, t, h, w, c_out]);
    }
    // Channels last, then the taps of time, height and width in turn (at most 6 axes: what
    // every backend supports), ending as rows (b, ot, oh, ow) x columns (kt, kh, kw, c).
    let x = x.permute([0, 2, 3, 4, 1]); // [b, t, h, w, c]
    let x = taps::<5, 6>(x, 1, kt, stride[0], ot, &device).reshape([batch * ot, kt, h, w, c_in]);
    let x = taps::<5, 6>(x, 2, kh, stride[1], oh, &device) // [b*ot, kt, oh, kh, w, c]
        .permute([0, 2, 1, 3, 4, 5])
        .reshape([batch * ot * oh, kt * kh, w, c_in]);
    let x = taps::<4, 5>(x, 2, kw, stride[2], ow, &device) // [b*ot*oh, kt*kh, ow, kw, c]
        .permute([0, 2, 1, 3, 4]);
    let columns = x.reshape([batch * ot * oh * ow, kt * kh * kw * c_in]);
    let weight = weight.permute([0, 2, 3, 4, 1]).reshape([c_out, kt * kh * kw * c_in]);
    finish(columns, weight, bias, [batch, ot, oh, ow, c_out])
}

/// `columns` `[positions, taps]` times `weight` `[c_out, taps]`, plus bias, back to
/// channels-first `[b, c_out, t, h, w]` from the positions' `[b, t, h, w, c_out]`.
fn finish(columns: Tensor<2>, weight: Tensor<2>, bias: Option<Tensor<1>>, out: [usize; 5]) -> Tensor<5> {
    let product = rows::matmul(columns, weight.transpose());
    let product = match bias {
        Some(bias) => rows::add(product, bias),
        None => product,
    };
    product.reshape(out).permute([0, 4, 1, 2, 3])
}

/// Gather the `kernel` taps along `axis`: output position `i`, tap `j` reads input
/// `i * stride + j`; the axis becomes the two axes `[out, kernel]`.
fn taps<const D: usize, const E: usize>(
    x: Tensor<D>,
    axis: usize,
    kernel: usize,
    stride: usize,
    out: usize,
    device: &Device,
) -> Tensor<E> {
    let index = constants::indices(&format!("taps {out} {kernel} {stride}"), device, || {
        (0..out).flat_map(|i| (0..kernel).map(move |j| (i * stride + j) as i64)).collect()
    });
    let gathered = x.select(axis, index);
    let dims = gathered.dims();
    let mut split = [0; E];
    split[..axis].copy_from_slice(&dims[..axis]);
    split[axis] = out;
    split[axis + 1] = kernel;
    split[axis + 2..].copy_from_slice(&dims[axis + 1..]);
    gathered.reshape(split)
}

/// Zero-pad the three trailing axes by (before, after).
pub fn pad3(x: Tensor<5>, pads: [(usize, usize); 3]) -> Tensor<5> {
    if pads.iter().all(|p| *p == (0, 0)) {
        return x;
    }
    let [b, c, t, h, w] = x.dims();
    let size = [t + pads[0].0 + pads[0].1, h + pads[1].0 + pads[1].1, w + pads[2].0 + pads[2].1];
    Tensor::zeros([b, c, size[0], size[1], size[2]], &x.device())
        .slice_assign([0..b, 0..c, pads[0].0..pads[0].0 + t, pads[1].0..pads[1].0 + h, pads[2].0..pads[2].0 + w], x)
}

#[cfg(test)]
mod tests {
    use crate::backend::cpu;
    use burn::nn::conv::{Conv2dConfig, Conv3dConfig, ConvTranspose3dConfig};
    use burn::tensor::Distribution;

    use super::*;

    fn close(a: Tensor<5>, b: Tensor<5>) {
        assert_eq!(a.dims(), b.dims());
        let diff = (a - b.clone()).abs().max().into_scalar::<f32>();
        let scale = b.abs().max().into_scalar::<f32>().max(1e-6);
        assert!(diff / scale < 1e-5, "max diff {diff} at scale {scale}");
    }

    #[test]
    fn the_cpu_default_takes_burns_own_convolutions_and_gemm_is_asked_for() {
        let device = cpu();
        assert!(native(&device, CpuConv::Native) && native(&device.clone().autodiff(), CpuConv::Native));
        assert!(!native(&device, CpuConv::Gemm) && !native(&device.clone().autodiff(), CpuConv::Gemm));
    }

    #[test]
    fn gemm_convolutions_match_burns_modules() {
        let device = cpu();
        let x = Tensor::<5>::random([2, 3, 4, 8, 6], Distribution::Normal(0.0, 1.0), &device);
        for (kernel, stride, pad) in [
            ([3, 4, 4], [1, 2, 2], 1),
            ([4, 4, 4], [2, 2, 2], 1),
            ([1, 1, 1], [2, 1, 1], 0),
            ([2, 4, 2], [2, 4, 2], 0),
            ([3, 3, 3], [1, 1, 1], 1),
        ] {
            let conv = Conv3dConfig::new([3, 5], kernel)
                .with_stride(stride)
                .with_padding(PaddingConfig3d::Explicit(pad, pad, pad))
                .init(&device);
            close(gemm_conv3d(&conv, x.clone()), conv.forward(x.clone()));
            let flat = Conv2dConfig::new([3, 5], [kernel[1], kernel[2]])
                .with_stride([stride[1], stride[2]])
                .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
                .init(&device);
            let frames = x.clone().narrow(2, 0, 1).squeeze_dim::<4>(2);
            let (a, b) = (gemm_conv2d(&flat, frames.clone()), flat.forward(frames));
            close(a.unsqueeze_dim(2), b.unsqueeze_dim(2));
            let up = ConvTranspose3dConfig::new([3, 5], kernel).with_stride(stride).with_padding([pad; 3]).init(&device);
            close(gemm_conv_transpose3d(&up, x.clone()), up.forward(x.clone()));
        }
    }
}
