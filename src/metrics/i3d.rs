//! I3D (Carreira & Zisserman, 2017), RGB stream trained on Kinetics-400: the network FVD embeds
//! clips with, up to its 400 time-averaged logits. Layout and numbers follow
//! `shared/assets/README.md` (section 2), i.e. DeepMind's TF-Hub module
//! `deepmind/i3d-kinetics-400/1` that the reference FVD code loads:
//! - every Unit3D is a bias-free 3-D convolution, batch norm with the stored statistics, no scale
//!   and eps = 1e-3, then ReLU; here the batch norm is folded into the convolution's weight and bias;
//! - convolutions and max pools pad TensorFlow's SAME way, per axis, the odd cell *after* (a pool
//!   ignores padded cells);
//! - the logits average-pool (2, 7, 7) VALID, apply a 1x1x1 convolution with bias, and average
//!   over the time positions left (`ceil(T / 8) - 1`, so T >= 9).
//!
//! Activations are channels-first `[n, c, t, h, w]` (burn's layout); the file's kernels are
//! DHWIO and are permuted when loaded. Inference only.

use std::path::Path;

use burn::store::{ModuleStore, SafetensorsStore};
use burn::tensor::activation::relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{DType, Device, Tensor};

use crate::model::conv::{CpuConv, convolve_with_pads, pad3};

/// Frame side the network expects (any side from 193 to 224 reaches the 7x7 of the logits pool;
/// the reference resizes to 224).
pub const INPUT_SIZE: usize = 224;
/// Fewest frames with a logit: time is downsampled by 8 (with ceil) and the logits pool needs two
/// positions.
pub const MIN_FRAMES: usize = 9;
/// Length of the embedding: Kinetics-400's classes.
pub const LOGITS: usize = 400;
const BN_EPS: f64 = 1e-3;

/// TensorFlow's SAME padding of an axis of `n` cells for kernel `k` and stride `s`: (before,
/// after), the odd cell after.
pub fn same_pads(n: usize, k: usize, s: usize) -> (usize, usize) {
    let total = ((n.div_ceil(s) - 1) * s + k).saturating_sub(n);
    (total / 2, total - total / 2)
}

/// The weights file, read tensor by tensor with each tensor's name and shape checked.
struct Weights<'a> {
    store: SafetensorsStore,
    path: &'a Path,
    device: &'a Device,
}

impl Weights<'_> {
    fn get<const D: usize>(&mut self, name: &str, shape: [usize; D]) -> Result<Tensor<D>, String> {
        let at = self.path.display();
        let tensor = self
            .store
            .get_tensor(name)
            .map_err(|e| format!("reading {at}: {e}"))?
            .ok_or_else(|| format!("{at} has no tensor `{name}`: not the I3D Kinetics-400 RGB weights"))?;
        let data = burn::store::bridge::to_data(tensor).map_err(|e| format!("reading `{name}` of {at}: {e:?}"))?;
        if data.dtype() != DType::F32 || data.shape().as_slice() != shape.as_slice() {
            return Err(format!("{at}: `{name}` is {:?} {:?}, expected F32 {shape:?}", data.dtype(), data.shape().as_slice()));
        }
        Ok(Tensor::from_data(data, self.device))
    }
}

/// Convolution, batch norm (folded in) and ReLU.
#[derive(Debug)]
struct Unit3d {
    /// `[c_out, c_in, kt, kh, kw]`, scaled by the batch norm.
    weight: Tensor<5>,
    bias: Tensor<1>,
    stride: [usize; 3],
}

impl Unit3d {
    fn load(
        w: &mut Weights,
        name: &str,
        kernel: [usize; 3],
        stride: [usize; 3],
        cin: usize,
        cout: usize,
    ) -> Result<Self, String> {
        let [kt, kh, kw] = kernel;
        let dhwio = w.get(&format!("{name}.conv_3d.w"), [kt, kh, kw, cin, cout])?;
        let beta = w.get(&format!("{name}.batch_norm.beta"), [cout])?;
        let mean = w.get(&format!("{name}.batch_norm.moving_mean"), [cout])?;
        let var = w.get(&format!("{name}.batch_norm.moving_variance"), [cout])?;
        let scale = (var + BN_EPS).sqrt().recip();
        let weight = dhwio.permute([4, 3, 0, 1, 2]) * scale.clone().reshape([cout, 1, 1, 1, 1]);
        Ok(Self { weight, bias: beta - mean * scale, stride })
    }

    /// A 1x1x1 unit.
    fn point(w: &mut Weights, name: &str, cin: usize, cout: usize) -> Result<Self, String> {
        Self::load(w, name, [1; 3], [1; 3], cin, cout)
    }

    fn forward(&self, x: Tensor<5>, conv: CpuConv) -> Tensor<5> {
        let [_, _, t, h, w] = x.dims();
        let [_, _, kt, kh, kw] = self.weight.dims();
        let [st, sh, sw] = self.stride;
        let pads = [same_pads(t, kt, st), same_pads(h, kh, sh), same_pads(w, kw, sw)];
        relu(convolve_with_pads(x, self.weight.clone(), Some(self.bias.clone()), self.stride, pads, conv))
    }
}

/// Max pool with SAME padding. The inputs are post-ReLU (>= 0) and every window holds an input
/// cell, so zero padding gives the maximum over the input cells alone. The pool is separable:
/// height and width, then time, each as a 2-D pool.
fn max_pool_same(x: Tensor<5>, kernel: [usize; 3], stride: [usize; 3]) -> Tensor<5> {
    let [n, c, t, h, w] = x.dims();
    let pool = |x: Tensor<4>, k: [usize; 2], s: [usize; 2]| {
        max_pool2d(x, MaxPoolOptions::new(k).with_stride(s).with_padding([0, 0]).with_dilation([1, 1]).with_ceil_mode(false))
    };
    let (ph, pw) = (same_pads(h, kernel[1], stride[1]), same_pads(w, kernel[2], stride[2]));
    let (oh, ow) = (h.div_ceil(stride[1]), w.div_ceil(stride[2]));
    let x = pad3(x, [(0, 0), ph, pw]).reshape([n, c * t, h + ph.0 + ph.1, w + pw.0 + pw.1]);
    let x = pool(x, [kernel[1], kernel[2]], [stride[1], stride[2]]).reshape([n, c, t, oh, ow]);
    if kernel[0] == 1 && stride[0] == 1 {
        return x;
    }
    let pt = same_pads(t, kernel[0], stride[0]);
    let x = pad3(x, [pt, (0, 0), (0, 0)]).reshape([n, c, t + pt.0 + pt.1, oh * ow]);
    pool(x, [kernel[0], 1], [stride[0], 1]).reshape([n, c, t.div_ceil(stride[0]), oh, ow])
}

/// Inception module: 1x1x1 | 1x1x1, 3x3x3 | 1x1x1, 3x3x3 | max pool 3x3x3, 1x1x1.
#[derive(Debug)]
struct Mixed {
    branch_0: Unit3d,
    branch_1: [Unit3d; 2],
    branch_2: [Unit3d; 2],
    branch_3: Unit3d,
}

impl Mixed {
    /// `widths`: (o0, o1a, o1b, o2a, o2b, o3) as in the README's table.
    fn load(w: &mut Weights, name: &str, cin: usize, widths: [usize; 6]) -> Result<Self, String> {
        let [o0, o1a, o1b, o2a, o2b, o3] = widths;
        let cube =
            |w: &mut Weights, branch: &str, cin, cout| Unit3d::load(w, &format!("{name}.{branch}"), [3; 3], [1; 3], cin, cout);
        Ok(Self {
            branch_0: Unit3d::point(w, &format!("{name}.Branch_0.Conv3d_0a_1x1"), cin, o0)?,
            branch_1: [
                Unit3d::point(w, &format!("{name}.Branch_1.Conv3d_0a_1x1"), cin, o1a)?,
                cube(w, "Branch_1.Conv3d_0b_3x3", o1a, o1b)?,
            ],
            branch_2: [
                Unit3d::point(w, &format!("{name}.Branch_2.Conv3d_0a_1x1"), cin, o2a)?,
                cube(w, "Branch_2.Conv3d_0b_3x3", o2a, o2b)?,
            ],
            branch_3: Unit3d::point(w, &format!("{name}.Branch_3.Conv3d_0b_1x1"), cin, o3)?,
        })
    }

    fn forward(&self, x: Tensor<5>, conv: CpuConv) -> Tensor<5> {
        let b0 = self.branch_0.forward(x.clone(), conv);
        let b1 = self.branch_1[1].forward(self.branch_1[0].forward(x.clone(), conv), conv);
        let b2 = self.branch_2[1].forward(self.branch_2[0].forward(x.clone(), conv), conv);
        let b3 = self.branch_3.forward(max_pool_same(x, [3; 3], [1; 3]), conv);
        Tensor::cat(vec![b0, b1, b2, b3], 1)
    }
}

/// The I3D network up to its time-averaged logits.
#[derive(Debug)]
pub struct I3d {
    conv_1a: Unit3d,
    conv_2b: Unit3d,
    conv_2c: Unit3d,
    /// Mixed_3b, 3c | pool | 4b .. 4f | pool | 5b, 5c.
    mixed_3: Vec<Mixed>,
    mixed_4: Vec<Mixed>,
    mixed_5: Vec<Mixed>,
    /// `Logits.Conv3d_0c_1x1`: `[1024, 400]` and its bias.
    logits_weight: Tensor<2>,
    logits_bias: Tensor<1>,
    /// burn-flex's own convolutions (fast) or the gather + matmul every other backend runs.
    conv: CpuConv,
}

impl I3d {
    /// The network from a safetensors file with the README's tensor names (DeepMind's, without
    /// the `RGB/inception_i3d/` prefix); every tensor must be there with its shape.
    pub fn load(path: &Path, device: &Device) -> Result<Self, String> {
        let w = &mut Weights { store: SafetensorsStore::from_file(path), path, device };
        let mixed = |w: &mut Weights, blocks: &[(&str, usize, [usize; 6])]| -> Result<Vec<Mixed>, String> {
            blocks.iter().map(|(name, cin, widths)| Mixed::load(w, name, *cin, *widths)).collect()
        };
        Ok(Self {
            conv_1a: Unit3d::load(w, "Conv3d_1a_7x7", [7; 3], [2; 3], 3, 64)?,
            conv_2b: Unit3d::point(w, "Conv3d_2b_1x1", 64, 64)?,
            conv_2c: Unit3d::load(w, "Conv3d_2c_3x3", [3; 3], [1; 3], 64, 192)?,
            mixed_3: mixed(w, &[("Mixed_3b", 192, [64, 96, 128, 16, 32, 32]), ("Mixed_3c", 256, [128, 128, 192, 32, 96, 64])])?,
            mixed_4: mixed(
                w,
                &[
                    ("Mixed_4b", 480, [192, 96, 208, 16, 48, 64]),
                    ("Mixed_4c", 512, [160, 112, 224, 24, 64, 64]),
                    ("Mixed_4d", 512, [128, 128, 256, 24, 64, 64]),
                    ("Mixed_4e", 512, [112, 144, 288, 32, 64, 64]),
                    ("Mixed_4f", 528, [256, 160, 320, 32, 128, 128]),
                ],
            )?,
            mixed_5: mixed(
                w,
                &[("Mixed_5b", 832, [256, 160, 320, 32, 128, 128]), ("Mixed_5c", 832, [384, 192, 384, 48, 128, 128])],
            )?,
            logits_weight: w.get::<5>("Logits.Conv3d_0c_1x1.conv_3d.w", [1, 1, 1, 1024, LOGITS])?.reshape([1024, LOGITS]),
            logits_bias: w.get("Logits.Conv3d_0c_1x1.conv_3d.b", [LOGITS])?,
            conv: CpuConv::Native,
        })
    }

    /// On the CPU, convolve as other backends do (to check their path here).
    #[cfg(test)]
    fn with_cpu_conv(mut self, conv: CpuConv) -> Self {
        self.conv = conv;
        self
    }

    /// `x`: `[n, 3, t, 224, 224]` RGB in [-1, 1] with t >= 9. Returns the `[n, 400]` logits
    /// averaged over time (before any softmax): the FVD embedding.
    pub fn forward(&self, x: Tensor<5>) -> Tensor<2> {
        let [n, c, t, ..] = x.dims();
        assert!(c == 3 && t >= MIN_FRAMES, "I3D takes RGB clips of at least {MIN_FRAMES} frames, got {c} channels x {t}");
        let conv = self.conv;
        let x = self.conv_1a.forward(x, conv);
        let x = max_pool_same(x, [1, 3, 3], [1, 2, 2]);
        let x = self.conv_2c.forward(self.conv_2b.forward(x, conv), conv);
        let x = max_pool_same(x, [1, 3, 3], [1, 2, 2]);
        let x = self.mixed_3.iter().fold(x, |x, m| m.forward(x, conv));
        let x = max_pool_same(x, [3; 3], [2; 3]);
        let x = self.mixed_4.iter().fold(x, |x, m| m.forward(x, conv));
        let x = max_pool_same(x, [2; 3], [2; 3]);
        let x = self.mixed_5.iter().fold(x, |x, m| m.forward(x, conv));
        let [_, c, t, h, w] = x.dims();
        assert_eq!([h, w], [7, 7], "I3D's logits pool needs 7x7 at Mixed_5c: frames of 193 to 224 pixels");
        // Average pool (2, 7, 7) VALID: the spatial mean, then each pair of neighbouring times.
        let x = x.reshape([n, c, t, h * w]).mean_dim(3).reshape([n, c, t]);
        let x = (x.clone().narrow(2, 0, t - 1) + x.narrow(2, 1, t - 1)) / 2.0;
        // The 1x1x1 convolution, then the mean over the time positions.
        let logits = x.permute([0, 2, 1]).reshape([n * (t - 1), c]).matmul(self.logits_weight.clone())
            + self.logits_bias.clone().unsqueeze_dim(0);
        logits.reshape([n, t - 1, LOGITS]).mean_dim(1).reshape([n, LOGITS])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use crate::metrics::testing::i3d_assets;

    #[test]
    fn same_padding_puts_the_odd_cell_after() {
        assert_eq!(same_pads(224, 7, 2), (2, 3));
        assert_eq!(same_pads(16, 7, 2), (2, 3));
        assert_eq!(same_pads(15, 7, 2), (3, 3));
        assert_eq!(same_pads(112, 3, 2), (0, 1));
        assert_eq!(same_pads(8, 3, 1), (1, 1));
        assert_eq!(same_pads(2, 2, 2), (0, 0));
        assert_eq!(same_pads(1, 2, 2), (0, 1));
    }

    #[test]
    fn separable_max_pool_equals_the_window_maximum() {
        let device = cpu();
        let (t, h, w) = (5usize, 6, 7);
        let values: Vec<f32> = (0..2 * t * h * w).map(|i| ((i * 37 % 101) as f32) / 10.0).collect();
        let x = Tensor::<5>::from_data(burn::tensor::TensorData::new(values.clone(), [1, 2, t, h, w]), &device);
        let got = max_pool_same(x, [3, 3, 3], [2, 2, 2]).into_data().try_to_vec::<f32>().unwrap();
        let (ot, oh, ow) = (t.div_ceil(2), h.div_ceil(2), w.div_ceil(2));
        assert_eq!(got.len(), 2 * ot * oh * ow);
        let at = |c: usize, i: usize, j: usize, k: usize| values[((c * t + i) * h + j) * w + k];
        for c in 0..2 {
            for (i, j, k) in (0..ot).flat_map(|i| (0..oh).flat_map(move |j| (0..ow).map(move |k| (i, j, k)))) {
                // SAME: the window of output o starts at 2o - before.
                let start = |o: usize, n: usize| (o * 2) as isize - same_pads(n, 3, 2).0 as isize;
                let mut want = f32::MIN;
                for a in start(i, t)..start(i, t) + 3 {
                    for b in start(j, h)..start(j, h) + 3 {
                        for d in start(k, w)..start(k, w) + 3 {
                            if (0..t as isize).contains(&a) && (0..h as isize).contains(&b) && (0..w as isize).contains(&d) {
                                want = want.max(at(c, a as usize, b as usize, d as usize));
                            }
                        }
                    }
                }
                assert_eq!(got[((c * ot + i) * oh + j) * ow + k], want, "channel {c} at ({i}, {j}, {k})");
            }
        }
    }

    /// Process CPU time (user + system, all threads), seconds.
    fn cpu_seconds() -> f64 {
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: getrusage writes into the struct it is given.
        assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) }, 0);
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
        secs(usage.ru_utime) + secs(usage.ru_stime)
    }

    /// A constant -1 clip (all-black frames) of 15 and 16 frames against the reference logits of
    /// the README's numpy I3D (which matches six published TF-Hub logits to 6.5e-6). 15 frames pad
    /// time (3, 3) at the first convolution, 16 frames (2, 3); 15 frames go through the gather +
    /// matmul convolutions that CUDA runs, 16 through burn-flex's own.
    #[test]
    fn matches_the_reference_logits() {
        let Some(dir) = i3d_assets() else { return };
        let device = cpu();
        let mut store = SafetensorsStore::from_file(dir.join("i3d_kinetics400_rgb.reference.safetensors"));
        for (frames, conv) in [(15, CpuConv::Gemm), (16, CpuConv::Native)] {
            let net = I3d::load(&dir.join(super::super::I3D_WEIGHTS), &device).unwrap().with_cpu_conv(conv);
            let name = format!("const_neg1_T{frames}_logits");
            let want =
                burn::store::bridge::to_data(store.get_tensor(&name).unwrap().unwrap()).unwrap().try_to_vec::<f32>().unwrap();
            let x = Tensor::<5>::full([1, 3, frames, INPUT_SIZE, INPUT_SIZE], -1.0, &device);
            let (start, cpu_start) = (std::time::Instant::now(), cpu_seconds());
            let got = net.forward(x).into_data().try_to_vec::<f32>().unwrap();
            let (elapsed, cpu) = (start.elapsed(), cpu_seconds() - cpu_start);
            let max_diff = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            eprintln!(
                "I3D T={frames} ({conv:?}): max |a-b| {max_diff:.3e} over {LOGITS} logits; forward {elapsed:.2?} wall, {cpu:.2}s CPU"
            );
            assert_eq!(got.len(), LOGITS);
            assert!(max_diff < 1e-4, "T={frames}: max |a-b| {max_diff:.3e}; first logits {:?} vs {:?}", &got[..3], &want[..3]);
        }
    }
}
