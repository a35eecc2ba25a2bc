//! Forward + backward time of the video codec's convolutions on the CPU default (burn-flex):
//! ttv's gather + matmul ones (`model.video_codec.cpu_conv: gemm`) against burn-flex's own, which
//! src/model/conv.rs picks by default. `cargo run --release --example conv_speed`
use burn::nn::PaddingConfig3d;
use burn::nn::conv::{Conv3dConfig, ConvTranspose3dConfig};
use burn::prelude::*;
use burn::tensor::Distribution;
use std::time::Instant;
use ttv::model::conv::{CpuConv, conv_transpose3d, conv3d};

const REPEATS: usize = 5;

fn main() {
    let device = ttv::backend::cpu().autodiff();
    println!("{:<11} {:>22} {:>22}", "shapes", "gather+matmul ms", "burn-flex ms");
    // The first tokenizer block (3 -> C/4 channels, stride 1x2x2) and the last transposed block
    // of the detokenizer (C/8 -> C/16), the codec's largest activations.
    for (name, batch, c, [t, h, w]) in [("quickstart", 16, 64, [8, 16, 16]), ("paper", 8, 256, [8, 32, 32])] {
        let down = Conv3dConfig::new([3, c / 4], [3, 4, 4])
            .with_stride([1, 2, 2])
            .with_padding(PaddingConfig3d::Explicit(1, 1, 1))
            .init(&device);
        let up = ConvTranspose3dConfig::new([c / 8, c / 16], [3, 4, 4]).with_stride([1, 2, 2]).with_padding([1; 3]).init(&device);
        let x = Tensor::<5>::random([batch, 3, t, h, w], Distribution::Normal(0.0, 1.0), &device).require_grad();
        let z = Tensor::<5>::random([batch, c / 8, t, h / 2, w / 2], Distribution::Normal(0.0, 1.0), &device).require_grad();
        let mut ms = [0.0; 2];
        // Each path twice, the first as a warm-up.
        for (round, gemm) in [(0, true), (0, false), (1, true), (1, false)] {
            let algorithm = if gemm { CpuConv::Gemm } else { CpuConv::Native };
            let began = Instant::now();
            for _ in 0..REPEATS {
                let loss = conv3d(&down, x.clone(), algorithm).powf_scalar(2.0).mean()
                    + conv_transpose3d(&up, z.clone(), algorithm).powf_scalar(2.0).mean();
                let _grads = loss.backward();
            }
            if round == 1 {
                ms[!gemm as usize] = began.elapsed().as_secs_f64() * 1e3 / REPEATS as f64;
            }
        }
        println!("{name:<11} {:>22.1} {:>22.1}", ms[0], ms[1]);
    }
}
