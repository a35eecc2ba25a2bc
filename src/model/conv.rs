//! 3-D convolutions as one matrix product (im2col), for the video codecs.
//!
//! burn's `Conv3d`/`ConvTranspose3d` modules hold the weights (so checkpoints and parameter
//! counts are burn's own), but their forward passes are slow where it matters: burn-ndarray
//! convolves element by element through array slicing (seconds per batch of 8x32x32 clips), and
//! on CUDA their kernels take minutes to JIT-compile on first use. Here a convolution gathers
//! every kernel tap of the padded input with `select` (one index per output position and axis),
//! lays the taps out as columns and multiplies by the weight matrix: only gather, reshape and
//! matmul, which every backend does fast and autodiff differentiates exactly. A transposed
//! convolution is the convolution of the zero-upsampled input with the flipped kernel.

use burn::nn::PaddingConfig3d;
use burn::nn::conv::{Conv3d, ConvTranspose3d};
use burn::prelude::*;

/// `Conv3d` forward (dilation 1, one group), the same function as `conv.forward(x)`.
pub fn conv3d<B: Backend>(conv: &Conv3d<B>, x: Tensor<B, 5>) -> Tensor<B, 5> {
    assert_eq!((conv.dilation, conv.groups), ([1; 3], 1), "dilated or grouped 3-D convolutions are not used");
    let padding = match conv.padding {
        PaddingConfig3d::Valid => [0; 3],
        PaddingConfig3d::Explicit(t, h, w) => [t, h, w],
        ref other => panic!("3-D convolution padding {other:?} is not used"),
    };
    let bias = conv.bias.as_ref().map(|b| b.val());
    convolve(x, conv.weight.val(), bias, conv.stride, padding)
}

/// `ConvTranspose3d` forward (dilation 1, one group), the same function as `conv.forward(x)`.
pub fn conv_transpose3d<B: Backend>(conv: &ConvTranspose3d<B>, x: Tensor<B, 5>) -> Tensor<B, 5> {
    assert_eq!((conv.dilation, conv.groups), ([1; 3], 1), "dilated or grouped 3-D convolutions are not used");
    let [_, _, t, h, w] = x.dims();
    let k = conv.kernel_size;
    // Spread the input `stride` apart, then a stride-1 convolution with the kernel flipped and
    // its in/out channels swapped; `k - 1 - p` of padding (plus `padding_out` at the end) gives
    // the transposed convolution's `(n - 1) * s - 2p + k + padding_out` outputs.
    let spread = upsample_zeros(x, conv.stride);
    let mut pads = [(0, 0); 3];
    for axis in 0..3 {
        assert!(conv.padding[axis] < k[axis], "transposed padding smaller than the kernel");
        let side = k[axis] - 1 - conv.padding[axis];
        pads[axis] = (side, side + conv.padding_out[axis]);
    }
    let weight = conv.weight.val().swap_dims(0, 1).flip([2, 3, 4]);
    let bias = conv.bias.as_ref().map(|b| b.val());
    let out = convolve_padded(pad3(spread, pads), weight, bias, [1; 3]);
    debug_assert_eq!(
        &out.dims()[2..],
        &[t, h, w]
            .iter()
            .enumerate()
            .map(|(a, n)| (n - 1) * conv.stride[a] + k[a] + conv.padding_out[a] - 2 * conv.padding[a])
            .collect::<Vec<_>>()[..]
    );
    out
}

/// Cross-correlation of `x` `[b, c_in, t, h, w]` with `weight` `[c_out, c_in, kt, kh, kw]`.
pub fn convolve<B: Backend>(x: Tensor<B, 5>, weight: Tensor<B, 5>, bias: Option<Tensor<B, 1>>, stride: [usize; 3], padding: [usize; 3]) -> Tensor<B, 5> {
    convolve_padded(pad3(x, padding.map(|p| (p, p))), weight, bias, stride)
}

fn convolve_padded<B: Backend>(x: Tensor<B, 5>, weight: Tensor<B, 5>, bias: Option<Tensor<B, 1>>, stride: [usize; 3]) -> Tensor<B, 5> {
    let [batch, c_in, t, h, w] = x.dims();
    let [c_out, c_in_w, kt, kh, kw] = weight.dims();
    assert_eq!(c_in, c_in_w, "input has {c_in} channels, the kernel expects {c_in_w}");
    let (size, kernel) = ([t, h, w], [kt, kh, kw]);
    let [ot, oh, ow] = [0, 1, 2].map(|a| (size[a] - kernel[a]) / stride[a] + 1);
    let device = x.device();
    // Channels last, then the taps of time, height and width in turn (at most 6 axes: what
    // every backend supports), ending as rows (b, ot, oh, ow) x columns (kt, kh, kw, c).
    let x = x.permute([0, 2, 3, 4, 1]); // [b, t, h, w, c]
    let x = taps::<B, 5, 6>(x, 1, kt, stride[0], ot, &device).reshape([batch * ot, kt, h, w, c_in]);
    let x = taps::<B, 5, 6>(x, 2, kh, stride[1], oh, &device) // [b*ot, kt, oh, kh, w, c]
        .permute([0, 2, 1, 3, 4, 5])
        .reshape([batch * ot * oh, kt * kh, w, c_in]);
    let x = taps::<B, 4, 5>(x, 2, kw, stride[2], ow, &device) // [b*ot*oh, kt*kh, ow, kw, c]
        .permute([0, 2, 1, 3, 4]);
    let columns = x.reshape([batch * ot * oh * ow, kt * kh * kw * c_in]);
    let weight = weight.permute([0, 2, 3, 4, 1]).reshape([c_out, kt * kh * kw * c_in]);
    let product = columns.matmul(weight.transpose());
    let product = match bias {
        Some(bias) => product + bias.unsqueeze_dim(0),
        None => product,
    };
    product.reshape([batch, ot, oh, ow, c_out]).permute([0, 4, 1, 2, 3])
}

/// Gather the `kernel` taps along `axis`: output position `i`, tap `j` reads input
/// `i * stride + j`; the axis becomes the two axes `[out, kernel]`.
fn taps<B: Backend, const D: usize, const E: usize>(
    x: Tensor<B, D>,
    axis: usize,
    kernel: usize,
    stride: usize,
    out: usize,
    device: &B::Device,
) -> Tensor<B, E> {
    let index: Vec<i64> = (0..out).flat_map(|i| (0..kernel).map(move |j| (i * stride + j) as i64)).collect();
    let gathered = x.select(axis, Tensor::<B, 1, Int>::from_data(TensorData::new(index, [out * kernel]), device));
    let dims = gathered.dims();
    let mut split = [0; E];
    split[..axis].copy_from_slice(&dims[..axis]);
    split[axis] = out;
    split[axis + 1] = kernel;
    split[axis + 2..].copy_from_slice(&dims[axis + 1..]);
    gathered.reshape(split)
}

/// Zero-pad the three trailing axes by (before, after).
fn pad3<B: Backend>(x: Tensor<B, 5>, pads: [(usize, usize); 3]) -> Tensor<B, 5> {
    if pads.iter().all(|p| *p == (0, 0)) {
        return x;
    }
    let [b, c, t, h, w] = x.dims();
    let size = [t + pads[0].0 + pads[0].1, h + pads[1].0 + pads[1].1, w + pads[2].0 + pads[2].1];
    Tensor::zeros([b, c, size[0], size[1], size[2]], &x.device()).slice_assign(
        [0..b, 0..c, pads[0].0..pads[0].0 + t, pads[1].0..pads[1].0 + h, pads[2].0..pads[2].0 + w],
        x,
    )
}

/// Insert `stride - 1` zeros between neighbours along each trailing axis.
fn upsample_zeros<B: Backend>(x: Tensor<B, 5>, stride: [usize; 3]) -> Tensor<B, 5> {
    let mut x = x;
    for (axis, s) in stride.into_iter().enumerate().map(|(a, s)| (a + 2, s)) {
        if s == 1 {
            continue;
        }
        let mut dims = x.dims();
        let n = dims[axis];
        // [.., n, 1, ..] next to [.., n, s - 1, ..] zeros, merged into n * s, the tail cut off.
        let mut zeros = x.dims().to_vec();
        zeros.insert(axis + 1, s - 1);
        let zeros = Tensor::<B, 6>::zeros(<[usize; 6]>::try_from(zeros).unwrap(), &x.device());
        let merged = Tensor::cat(vec![x.unsqueeze_dim::<6>(axis + 1), zeros], axis + 1);
        dims[axis] = n * s;
        x = merged.reshape(dims).narrow(axis, 0, (n - 1) * s + 1);
    }
    x
}

#[cfg(test)]
mod tests {
    use burn::backend::NdArray;
    use burn::nn::conv::{Conv3dConfig, ConvTranspose3dConfig};
    use burn::tensor::Distribution;

    use super::*;

    type B = NdArray;

    fn close(a: Tensor<B, 5>, b: Tensor<B, 5>) {
        assert_eq!(a.dims(), b.dims());
        let diff = (a - b.clone()).abs().max().into_scalar();
        let scale = b.abs().max().into_scalar().max(1e-6);
        assert!(diff / scale < 1e-5, "max diff {diff} at scale {scale}");
    }

    #[test]
    fn gemm_convolutions_match_burns_modules() {
        let device = Default::default();
        let x = Tensor::<B, 5>::random([2, 3, 4, 8, 6], Distribution::Normal(0.0, 1.0), &device);
        for (kernel, stride, pad) in [([3, 4, 4], [1, 2, 2], 1), ([4, 4, 4], [2, 2, 2], 1), ([1, 1, 1], [2, 1, 1], 0), ([2, 4, 2], [2, 4, 2], 0), ([3, 3, 3], [1, 1, 1], 1)] {
            let conv = Conv3dConfig::new([3, 5], kernel)
                .with_stride(stride)
                .with_padding(PaddingConfig3d::Explicit(pad, pad, pad))
                .init::<B>(&device);
            close(conv3d(&conv, x.clone()), conv.forward(x.clone()));
            let up = ConvTranspose3dConfig::new([3, 5], kernel).with_stride(stride).with_padding([pad; 3]).init::<B>(&device);
            close(conv_transpose3d(&up, x.clone()), up.forward(x.clone()));
        }
    }
}
