//! Long matrices split into row chunks, so that their parameters' gradients reduce in parallel.
//!
//! The video codecs work on matrices with one row per voxel (`b·t·h·w`: 524,288 rows for a batch
//! of 64 clips of 8x32x32) and few columns (3 to 256). In the backward pass each parameter such a
//! matrix meets (a convolution's weight and bias, a norm's gain and bias) gets its gradient as a
//! sum over all rows: a `[k, rows] x [rows, n]` product and a reduction of every row into `n`
//! values. CubeCL sizes both launches by their small outputs, so on the H200 they ran on a
//! handful of cores for 5-50 ms each, half of a reference training step (benches/README.md).
//! Here the rows are viewed as `[chunks, rows / chunks]` and the parameter is spread over the
//! chunks: the product becomes a batched one with a partial gradient per chunk and the reduction
//! a sum per chunk, `chunks` times the parallel work, and autodiff adds the partial gradients up
//! in one small reduction. On the CPU the plain ops are kept (one chunk).

use burn::nn::{LayerNorm, Linear};
use burn::prelude::*;

/// Rows per chunk at least: below this a chunk's sum is too short to be worth a launch of its own.
const MIN_CHUNK_ROWS: usize = 1024;
/// At most this many elements in the partial weight gradients `[chunks, k, n]` of a product.
const MAX_PARTIAL: usize = 1 << 24;
/// burn's `LayerNormConfig` default, which every codec norm uses.
const LAYER_NORM_EPS: f64 = 1e-5;

/// How many chunks to split `rows` into on `device`: 1 on the CPU; else the largest power of two
/// dividing `rows` that leaves each chunk at least [`MIN_CHUNK_ROWS`] rows and the partial
/// gradients of a `[k, n]` parameter within [`MAX_PARTIAL`] elements.
pub fn chunks(rows: usize, params: usize, device: &Device) -> usize {
    if *device == crate::backend::cpu() { 1 } else { chunk_count(rows, params) }
}

/// [`chunks`] on a GPU.
fn chunk_count(rows: usize, params: usize) -> usize {
    let mut c = 1;
    while rows.is_multiple_of(2 * c) && rows / (2 * c) >= MIN_CHUNK_ROWS && 2 * c * params <= MAX_PARTIAL {
        c *= 2;
    }
    c
}

/// The rows of `x` `[.., n]` (all leading axes) and its width.
fn rows_of<const D: usize>(x: &Tensor<D>) -> (usize, usize) {
    let dims = x.dims();
    (dims[..D - 1].iter().product(), dims[D - 1])
}

/// `x` `[.., k]` times `w` `[k, n]`.
pub fn matmul<const D: usize>(x: Tensor<D>, w: Tensor<2>) -> Tensor<D> {
    let (rows, k) = rows_of(&x);
    let c = chunks(rows, k * w.dims()[1], &x.device());
    matmul_in(x, w, c)
}

/// [`matmul`] in `c` chunks.
fn matmul_in<const D: usize>(x: Tensor<D>, w: Tensor<2>, c: usize) -> Tensor<D> {
    let (rows, k) = rows_of(&x);
    let [_, n] = w.dims();
    let mut out = x.dims();
    out[D - 1] = n;
    let product = if c == 1 {
        x.reshape([rows, k]).matmul(w)
    } else {
        // The weight is broadcast over the chunks: its gradient is a batched product, one partial
        // per chunk, then their sum.
        x.reshape([c, rows / c, k]).matmul(w.unsqueeze::<3>()).reshape([rows, n])
    };
    product.reshape(out)
}

/// `x` `[.., n]` with `op` applied against `p` `[n]` along the last axis, `p` spread over `c`
/// row chunks so that its gradient sums chunk by chunk.
fn along_last_in<const D: usize>(x: Tensor<D>, p: Tensor<1>, c: usize, op: fn(Tensor<3>, Tensor<3>) -> Tensor<3>) -> Tensor<D> {
    let (rows, n) = rows_of(&x);
    let dims = x.dims();
    let p = if c == 1 { p.reshape([1, 1, n]) } else { p.reshape([1, 1, n]).expand([c, 1, n]) };
    op(x.reshape([c, rows / c, n]), p).reshape(dims)
}

fn last_axis_chunks<const D: usize>(x: &Tensor<D>) -> usize {
    let (rows, n) = rows_of(x);
    chunks(rows, n, &x.device())
}

/// `x` `[.., n]` plus `bias` `[n]`.
pub fn add<const D: usize>(x: Tensor<D>, bias: Tensor<1>) -> Tensor<D> {
    let c = last_axis_chunks(&x);
    along_last_in(x, bias, c, |x, b| x + b)
}

/// `x` `[.., n]` times `gain` `[n]`, element-wise along the last axis.
pub fn mul<const D: usize>(x: Tensor<D>, gain: Tensor<1>) -> Tensor<D> {
    let c = last_axis_chunks(&x);
    along_last_in(x, gain, c, |x, g| x * g)
}

/// `x` `[batch, c, t, h, w]` plus `bias` `[c]` per channel; the positions of each clip are split
/// into chunks as the rows are above.
pub fn add_channels(x: Tensor<5>, bias: Tensor<1>) -> Tensor<5> {
    let [batch, channels, t, h, w] = x.dims();
    let c = chunks(t * h * w, batch * channels, &x.device());
    add_channels_in(x, bias, c)
}

fn add_channels_in(x: Tensor<5>, bias: Tensor<1>, c: usize) -> Tensor<5> {
    let dims = x.dims();
    let [batch, channels, t, h, w] = dims;
    let positions = t * h * w;
    let bias = bias.reshape([1, channels, 1, 1]);
    let bias = if c == 1 { bias } else { bias.expand([batch, channels, c, 1]) };
    (x.reshape([batch, channels, c, positions / c]) + bias).reshape(dims)
}

/// burn's `LayerNorm` over the last axis of `x`, its gain and bias spread over row chunks.
pub fn layer_norm<const D: usize>(norm: &LayerNorm, x: Tensor<D>) -> Tensor<D> {
    let c = last_axis_chunks(&x);
    if c == 1 { norm.forward(x) } else { layer_norm_in(norm, x, c) }
}

fn layer_norm_in<const D: usize>(norm: &LayerNorm, x: Tensor<D>, c: usize) -> Tensor<D> {
    let (var, mean) = x.clone().var_mean_bias(D - 1);
    let normed = along_last_in((x - mean) / var.add_scalar(LAYER_NORM_EPS).sqrt(), norm.gamma.val(), c, |x, g| x * g);
    match &norm.beta {
        Some(beta) => along_last_in(normed, beta.val(), c, |x, b| x + b),
        None => normed,
    }
}

/// burn's `Linear` on `x` `[.., in]` with the rows chunked.
pub fn linear<const D: usize>(linear: &Linear, x: Tensor<D>) -> Tensor<D> {
    let y = matmul(x, linear.weight.val());
    match &linear.bias {
        Some(bias) => add(y, bias.val()),
        None => y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use burn::nn::{LayerNormConfig, LinearConfig};
    use burn::tensor::Distribution;

    fn max_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
        (a - b).abs().max().into_scalar::<f32>()
    }

    #[test]
    fn chunks_are_powers_of_two_that_divide_the_rows_and_stay_long() {
        // The CPU takes one chunk, a GPU as many as the rows allow.
        assert_eq!(chunks(1 << 19, 64, &cpu()), 1);
        assert_eq!(chunk_count(1 << 19, 81 * 64), 512, "the reference codec's first convolution at batch 64");
        assert_eq!(chunk_count(1536, 8), 1, "1,536 rows split in two would leave chunks under 1,024 rows");
        assert_eq!(chunk_count(3 * 1024, 8), 2, "3 is no power of two");
        assert_eq!(chunk_count(16384, 3456 * 256), 16);
        assert_eq!(chunk_count(1 << 20, 1 << 20), 16, "partial gradients stay within 2^24 elements");
    }

    /// Gradients of `loss` for each parameter.
    fn grads(params: &[Tensor<2>], loss: Tensor<1>) -> Vec<Tensor<2>> {
        let g = loss.backward();
        params.iter().map(|p| p.grad(&g).unwrap()).collect()
    }

    /// The chunked forms compute the same values and parameter gradients as one chunk (forced
    /// here on the CPU, where `chunks` always says one).
    #[test]
    fn chunked_forms_match_one_chunk_in_values_and_gradients() {
        let device = cpu().autodiff();
        let x = Tensor::<3>::random([8, 512, 6], Distribution::Normal(0.5, 2.0), &device);
        let video = Tensor::<5>::random([2, 3, 4, 8, 16], Distribution::Normal(0.0, 1.0), &device);
        let norm = LayerNormConfig::new(5).init(&device);
        let fresh = || {
            let w = Tensor::<2>::random([6, 5], Distribution::Normal(0.0, 1.0), &device).require_grad();
            let b = Tensor::<2>::random([1, 5], Distribution::Normal(0.0, 1.0), &device).require_grad();
            let cb = Tensor::<2>::random([1, 3], Distribution::Normal(0.0, 1.0), &device).require_grad();
            [w, b, cb]
        };
        let [w, b, cb] = fresh();
        let forward = |c: usize, [w, b, cb]: &[Tensor<2>; 3]| {
            let y = matmul_in(x.clone(), w.clone(), c);
            let y = along_last_in(y, b.clone().reshape([5]), c, |x, b| x + b);
            let y = layer_norm_in(&norm, y.clone() * y, c);
            let v = add_channels_in(video.clone(), cb.clone().reshape([3]), c);
            y.powf_scalar(2.0).sum() + v.powf_scalar(2.0).sum()
        };
        let params = [w, b, cb];
        let gamma_grad = |loss: Tensor<1>| {
            let g = loss.backward();
            norm.gamma.val().grad(&g).unwrap()
        };
        let one = forward(1, &params);
        let reference = grads(&params, one.clone());
        let gamma_reference = gamma_grad(forward(1, &params));
        for c in [2, 4, 8] {
            let params = params.clone().map(|p| p.detach().require_grad());
            let loss = forward(c, &params);
            let rel = max_diff(loss.clone(), one.clone()) / one.clone().abs().into_scalar::<f32>();
            assert!(rel < 1e-5, "{c} chunks: loss differs by {rel}");
            for (i, (a, z)) in reference.iter().zip(grads(&params, loss)).enumerate() {
                let scale = a.clone().abs().max().into_scalar::<f32>();
                assert!(max_diff(a.clone(), z) / scale < 1e-5, "{c} chunks: gradient {i} differs");
            }
            let gamma = gamma_grad(forward(c, &params));
            let scale = gamma_reference.clone().abs().max().into_scalar::<f32>();
            assert!(max_diff(gamma, gamma_reference.clone()) / scale < 1e-5, "{c} chunks: the norm's gain differs");
        }
        // The chunked layer norm is burn's LayerNorm.
        let y = x.clone().narrow(2, 0, 5);
        assert!(max_diff(layer_norm_in(&norm, y.clone(), 4), norm.forward(y)) < 1e-5);
    }

    #[test]
    fn layer_norm_and_linear_match_burns_modules_on_the_cpu() {
        let device = cpu();
        let x = Tensor::<3>::random([2, 7, 8], Distribution::Normal(1.0, 2.0), &device);
        let norm = LayerNormConfig::new(8).init(&device);
        let lin = LinearConfig::new(8, 3).init(&device);
        assert!(max_diff(layer_norm(&norm, x.clone()), norm.forward(x.clone())) < 1e-6);
        assert!(max_diff(linear(&lin, x.clone()), lin.forward(x.clone())) < 1e-6);
        let video = Tensor::<5>::random([2, 3, 2, 4, 4], Distribution::Normal(0.0, 1.0), &device);
        let bias = Tensor::<1>::from_data([1.0, 2.0, 3.0], &device);
        let expected = video.clone() + bias.clone().reshape([1, 3, 1, 1, 1]);
        assert!(max_diff(add_channels(video, bias), expected) < 1e-6);
    }
}
