//! The FID Inception-v3: TensorFlow's `inception-2015-12-05` graph as ported by pytorch-fid
//! (`FIDInceptionV3`), up to the 2048-d `pool3` features. Layout and numbers follow
//! `shared/assets/README.md`; the differences from torchvision's Inception-v3 that matter are
//! the FID blocks: the 3x3 average pools of blocks A, C and Mixed_7b exclude the padding from
//! the count (TF SAME pooling), and Mixed_7c pools its last branch with a 3x3 *max* pool.
//! BatchNorm uses eps = 0.001 and always the stored running statistics.
//!
//! Field names are the checkpoint's tensor names (`Mixed_5b.branch1x1.conv.weight`, ...), so
//! the safetensors file loads without any renaming.
#![allow(non_snake_case)]

use std::path::Path;

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, PaddingConfig2d};
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::activation::relu;
use burn::tensor::module::{avg_pool2d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor};

/// Input side length the network was trained with.
pub const INPUT_SIZE: usize = 299;
/// Length of the `pool3` feature vector.
pub const FEATURE_DIM: usize = 2048;
const BN_EPS: f64 = 1e-3;

/// Inference-only batch norm with pytorch's parameter names. Unlike `burn::nn::BatchNorm` it
/// never switches to batch statistics, whatever the backend.
#[derive(Module, Debug)]
pub struct FrozenBatchNorm {
    weight: Param<Tensor<1>>,
    bias: Param<Tensor<1>>,
    running_mean: Param<Tensor<1>>,
    running_var: Param<Tensor<1>>,
}

impl FrozenBatchNorm {
    fn new(channels: usize, device: &Device) -> Self {
        let zeros = || Param::from_tensor(Tensor::zeros([channels], device));
        Self { weight: zeros(), bias: zeros(), running_mean: zeros(), running_var: zeros() }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let c = x.dims()[1];
        let scale = self.weight.val() / (self.running_var.val() + BN_EPS).sqrt();
        let shift = self.bias.val() - self.running_mean.val() * scale.clone();
        x * scale.reshape([1, c, 1, 1]) + shift.reshape([1, c, 1, 1])
    }
}

/// Convolution without bias, batch norm, ReLU.
#[derive(Module, Debug)]
pub struct BasicConv2d {
    conv: Conv2d,
    bn: FrozenBatchNorm,
}

impl BasicConv2d {
    /// `kernel` and `pad` are (height, width); the weights are loaded afterwards, so no random
    /// initialisation is spent.
    fn new(d: &Device, cin: usize, cout: usize, kernel: [usize; 2], stride: usize, pad: [usize; 2]) -> Self {
        let conv = Conv2dConfig::new([cin, cout], kernel)
            .with_stride([stride; 2])
            .with_padding(PaddingConfig2d::Explicit(pad[0], pad[1], pad[0], pad[1]))
            .with_bias(false)
            .with_initializer(Initializer::Zeros)
            .init(d);
        Self { conv, bn: FrozenBatchNorm::new(cout, d) }
    }

    /// A 1x1 convolution.
    fn point(d: &Device, cin: usize, cout: usize) -> Self {
        Self::new(d, cin, cout, [1, 1], 1, [0, 0])
    }

    /// A square `k`x`k` convolution with stride 1 and SAME padding.
    fn same(d: &Device, cin: usize, cout: usize, k: usize) -> Self {
        Self::new(d, cin, cout, [k, k], 1, [k / 2, k / 2])
    }

    /// A 3x3 convolution with stride 2 and no padding (TF VALID).
    fn reduce(d: &Device, cin: usize, cout: usize) -> Self {
        Self::new(d, cin, cout, [3, 3], 2, [0, 0])
    }

    /// A 1xk (`kernel = [1, k]`) or kx1 convolution with SAME padding.
    fn line(d: &Device, cin: usize, cout: usize, kernel: [usize; 2]) -> Self {
        Self::new(d, cin, cout, kernel, 1, [kernel[0] / 2, kernel[1] / 2])
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        // im2col + matmul: burn-ndarray's own conv2d is far slower on the CPU; burn-flex's own
        // is the fast one there.
        relu(self.bn.forward(crate::model::conv::conv2d(&self.conv, x, crate::model::conv::CpuConv::Native)))
    }
}

/// 3x3 average pool, stride 1, padding 1, dividing by the in-image count (TF SAME).
fn avg_pool_same(x: Tensor<4>) -> Tensor<4> {
    avg_pool2d(
        x,
        AvgPoolOptions::new([3, 3]).with_stride([1, 1]).with_padding([1, 1]).with_count_include_pad(false).with_ceil_mode(false),
    )
}

/// 3x3 max pool with the given stride and padding.
fn max_pool(x: Tensor<4>, stride: usize, pad: usize) -> Tensor<4> {
    max_pool2d(
        x,
        MaxPoolOptions::new([3, 3]).with_stride([stride; 2]).with_padding([pad; 2]).with_dilation([1, 1]).with_ceil_mode(false),
    )
}

/// Block A (35x35): 1x1 | 1x1, 5x5 | 1x1, 3x3, 3x3 | avg pool, 1x1.
#[derive(Module, Debug)]
pub struct InceptionA {
    branch1x1: BasicConv2d,
    branch5x5_1: BasicConv2d,
    branch5x5_2: BasicConv2d,
    branch3x3dbl_1: BasicConv2d,
    branch3x3dbl_2: BasicConv2d,
    branch3x3dbl_3: BasicConv2d,
    branch_pool: BasicConv2d,
}

impl InceptionA {
    fn new(d: &Device, cin: usize, pool_features: usize) -> Self {
        Self {
            branch1x1: BasicConv2d::point(d, cin, 64),
            branch5x5_1: BasicConv2d::point(d, cin, 48),
            branch5x5_2: BasicConv2d::same(d, 48, 64, 5),
            branch3x3dbl_1: BasicConv2d::point(d, cin, 64),
            branch3x3dbl_2: BasicConv2d::same(d, 64, 96, 3),
            branch3x3dbl_3: BasicConv2d::same(d, 96, 96, 3),
            branch_pool: BasicConv2d::point(d, cin, pool_features),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b1 = self.branch1x1.forward(x.clone());
        let b5 = self.branch5x5_2.forward(self.branch5x5_1.forward(x.clone()));
        let b3 = self.branch3x3dbl_1.forward(x.clone());
        let b3 = self.branch3x3dbl_3.forward(self.branch3x3dbl_2.forward(b3));
        let bp = self.branch_pool.forward(avg_pool_same(x));
        Tensor::cat(vec![b1, b5, b3, bp], 1)
    }
}

/// Block B (35 -> 17): 3x3/2 | 1x1, 3x3, 3x3/2 | max pool/2.
#[derive(Module, Debug)]
pub struct InceptionB {
    branch3x3: BasicConv2d,
    branch3x3dbl_1: BasicConv2d,
    branch3x3dbl_2: BasicConv2d,
    branch3x3dbl_3: BasicConv2d,
}

impl InceptionB {
    fn new(d: &Device, cin: usize) -> Self {
        Self {
            branch3x3: BasicConv2d::reduce(d, cin, 384),
            branch3x3dbl_1: BasicConv2d::point(d, cin, 64),
            branch3x3dbl_2: BasicConv2d::same(d, 64, 96, 3),
            branch3x3dbl_3: BasicConv2d::reduce(d, 96, 96),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b3 = self.branch3x3.forward(x.clone());
        let bd = self.branch3x3dbl_1.forward(x.clone());
        let bd = self.branch3x3dbl_3.forward(self.branch3x3dbl_2.forward(bd));
        Tensor::cat(vec![b3, bd, max_pool(x, 2, 0)], 1)
    }
}

/// Block C (17x17) with factorised 7x7 convolutions of width `c7`.
#[derive(Module, Debug)]
pub struct InceptionC {
    branch1x1: BasicConv2d,
    branch7x7_1: BasicConv2d,
    branch7x7_2: BasicConv2d,
    branch7x7_3: BasicConv2d,
    branch7x7dbl_1: BasicConv2d,
    branch7x7dbl_2: BasicConv2d,
    branch7x7dbl_3: BasicConv2d,
    branch7x7dbl_4: BasicConv2d,
    branch7x7dbl_5: BasicConv2d,
    branch_pool: BasicConv2d,
}

impl InceptionC {
    fn new(d: &Device, c7: usize) -> Self {
        let (row, col) = ([1, 7], [7, 1]);
        Self {
            branch1x1: BasicConv2d::point(d, 768, 192),
            branch7x7_1: BasicConv2d::point(d, 768, c7),
            branch7x7_2: BasicConv2d::line(d, c7, c7, row),
            branch7x7_3: BasicConv2d::line(d, c7, 192, col),
            branch7x7dbl_1: BasicConv2d::point(d, 768, c7),
            branch7x7dbl_2: BasicConv2d::line(d, c7, c7, col),
            branch7x7dbl_3: BasicConv2d::line(d, c7, c7, row),
            branch7x7dbl_4: BasicConv2d::line(d, c7, c7, col),
            branch7x7dbl_5: BasicConv2d::line(d, c7, 192, row),
            branch_pool: BasicConv2d::point(d, 768, 192),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b1 = self.branch1x1.forward(x.clone());
        let b7 = [&self.branch7x7_1, &self.branch7x7_2, &self.branch7x7_3].iter().fold(x.clone(), |h, l| l.forward(h));
        let bd = [&self.branch7x7dbl_1, &self.branch7x7dbl_2, &self.branch7x7dbl_3, &self.branch7x7dbl_4, &self.branch7x7dbl_5]
            .iter()
            .fold(x.clone(), |h, l| l.forward(h));
        let bp = self.branch_pool.forward(avg_pool_same(x));
        Tensor::cat(vec![b1, b7, bd, bp], 1)
    }
}

/// Block D (17 -> 8): 1x1, 3x3/2 | 1x1, 1x7, 7x1, 3x3/2 | max pool/2.
#[derive(Module, Debug)]
pub struct InceptionD {
    branch3x3_1: BasicConv2d,
    branch3x3_2: BasicConv2d,
    branch7x7x3_1: BasicConv2d,
    branch7x7x3_2: BasicConv2d,
    branch7x7x3_3: BasicConv2d,
    branch7x7x3_4: BasicConv2d,
}

impl InceptionD {
    fn new(d: &Device) -> Self {
        Self {
            branch3x3_1: BasicConv2d::point(d, 768, 192),
            branch3x3_2: BasicConv2d::reduce(d, 192, 320),
            branch7x7x3_1: BasicConv2d::point(d, 768, 192),
            branch7x7x3_2: BasicConv2d::line(d, 192, 192, [1, 7]),
            branch7x7x3_3: BasicConv2d::line(d, 192, 192, [7, 1]),
            branch7x7x3_4: BasicConv2d::reduce(d, 192, 192),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b3 = self.branch3x3_2.forward(self.branch3x3_1.forward(x.clone()));
        let b7 = [&self.branch7x7x3_1, &self.branch7x7x3_2, &self.branch7x7x3_3, &self.branch7x7x3_4]
            .iter()
            .fold(x.clone(), |h, l| l.forward(h));
        Tensor::cat(vec![b3, b7, max_pool(x, 2, 0)], 1)
    }
}

/// How block E pools its last branch: Mixed_7b averages, Mixed_7c takes the maximum.
#[derive(Clone, Copy, Debug)]
enum PoolE {
    Avg,
    Max,
}

/// Block E (8x8): 1x1 | 1x1, (1x3 | 3x1) | 1x1, 3x3, (1x3 | 3x1) | pool, 1x1.
#[derive(Module, Debug)]
pub struct InceptionE {
    branch1x1: BasicConv2d,
    branch3x3_1: BasicConv2d,
    branch3x3_2a: BasicConv2d,
    branch3x3_2b: BasicConv2d,
    branch3x3dbl_1: BasicConv2d,
    branch3x3dbl_2: BasicConv2d,
    branch3x3dbl_3a: BasicConv2d,
    branch3x3dbl_3b: BasicConv2d,
    branch_pool: BasicConv2d,
}

impl InceptionE {
    fn new(d: &Device, cin: usize) -> Self {
        let (row, col) = ([1, 3], [3, 1]);
        Self {
            branch1x1: BasicConv2d::point(d, cin, 320),
            branch3x3_1: BasicConv2d::point(d, cin, 384),
            branch3x3_2a: BasicConv2d::line(d, 384, 384, row),
            branch3x3_2b: BasicConv2d::line(d, 384, 384, col),
            branch3x3dbl_1: BasicConv2d::point(d, cin, 448),
            branch3x3dbl_2: BasicConv2d::same(d, 448, 384, 3),
            branch3x3dbl_3a: BasicConv2d::line(d, 384, 384, row),
            branch3x3dbl_3b: BasicConv2d::line(d, 384, 384, col),
            branch_pool: BasicConv2d::point(d, cin, 192),
        }
    }

    fn forward(&self, x: Tensor<4>, pool: PoolE) -> Tensor<4> {
        let b1 = self.branch1x1.forward(x.clone());
        let b3 = self.branch3x3_1.forward(x.clone());
        let b3a = self.branch3x3_2a.forward(b3.clone());
        let b3b = self.branch3x3_2b.forward(b3);
        let bd = self.branch3x3dbl_2.forward(self.branch3x3dbl_1.forward(x.clone()));
        let bda = self.branch3x3dbl_3a.forward(bd.clone());
        let bdb = self.branch3x3dbl_3b.forward(bd);
        let pooled = match pool {
            PoolE::Avg => avg_pool_same(x),
            PoolE::Max => max_pool(x, 1, 1),
        };
        let bp = self.branch_pool.forward(pooled);
        Tensor::cat(vec![b1, b3a, b3b, bda, bdb, bp], 1)
    }
}

/// The network up to `pool3`.
#[derive(Module, Debug)]
pub struct FidInceptionV3 {
    Conv2d_1a_3x3: BasicConv2d,
    Conv2d_2a_3x3: BasicConv2d,
    Conv2d_2b_3x3: BasicConv2d,
    Conv2d_3b_1x1: BasicConv2d,
    Conv2d_4a_3x3: BasicConv2d,
    Mixed_5b: InceptionA,
    Mixed_5c: InceptionA,
    Mixed_5d: InceptionA,
    Mixed_6a: InceptionB,
    Mixed_6b: InceptionC,
    Mixed_6c: InceptionC,
    Mixed_6d: InceptionC,
    Mixed_6e: InceptionC,
    Mixed_7a: InceptionD,
    Mixed_7b: InceptionE,
    Mixed_7c: InceptionE,
}

impl FidInceptionV3 {
    /// The architecture with zero weights; see [`FidInceptionV3::load`].
    pub fn new(d: &Device) -> Self {
        Self {
            Conv2d_1a_3x3: BasicConv2d::reduce(d, 3, 32),
            Conv2d_2a_3x3: BasicConv2d::new(d, 32, 32, [3, 3], 1, [0, 0]),
            Conv2d_2b_3x3: BasicConv2d::same(d, 32, 64, 3),
            Conv2d_3b_1x1: BasicConv2d::point(d, 64, 80),
            Conv2d_4a_3x3: BasicConv2d::new(d, 80, 192, [3, 3], 1, [0, 0]),
            Mixed_5b: InceptionA::new(d, 192, 32),
            Mixed_5c: InceptionA::new(d, 256, 64),
            Mixed_5d: InceptionA::new(d, 288, 64),
            Mixed_6a: InceptionB::new(d, 288),
            Mixed_6b: InceptionC::new(d, 128),
            Mixed_6c: InceptionC::new(d, 160),
            Mixed_6d: InceptionC::new(d, 160),
            Mixed_6e: InceptionC::new(d, 192),
            Mixed_7a: InceptionD::new(d),
            Mixed_7b: InceptionE::new(d, 1280),
            Mixed_7c: InceptionE::new(d, 2048),
        }
    }

    /// The network with the weights of a safetensors file in pytorch-fid naming. Every layer
    /// must be present with the right shape; extra tensors (e.g. `fc.*`) are ignored.
    pub fn load(weights: &Path, device: &Device) -> Result<Self, String> {
        let mut net = Self::new(device);
        let mut store = SafetensorsStore::from_file(weights);
        net.load_from(&mut store).map_err(|e| format!("loading {}: {e}", weights.display()))?;
        Ok(net)
    }

    /// `x`: `[n, 3, 299, 299]` RGB in [-1, 1]. Returns the `[n, 2048]` pool3 features.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let x = self.Conv2d_1a_3x3.forward(x);
        let x = self.Conv2d_2a_3x3.forward(x);
        let x = max_pool(self.Conv2d_2b_3x3.forward(x), 2, 0);
        let x = self.Conv2d_3b_1x1.forward(x);
        let x = max_pool(self.Conv2d_4a_3x3.forward(x), 2, 0);
        let x = self.Mixed_5b.forward(x);
        let x = self.Mixed_5c.forward(x);
        let x = self.Mixed_5d.forward(x);
        let x = self.Mixed_6a.forward(x);
        let x = self.Mixed_6b.forward(x);
        let x = self.Mixed_6c.forward(x);
        let x = self.Mixed_6d.forward(x);
        let x = self.Mixed_6e.forward(x);
        let x = self.Mixed_7a.forward(x);
        let x = self.Mixed_7b.forward(x, PoolE::Avg);
        let x = self.Mixed_7c.forward(x, PoolE::Max);
        let [n, c, h, w] = x.dims();
        x.reshape([n, c, h * w]).mean_dim(2).reshape([n, c])
    }
}
