//! uint8 images of any size to FID features, in bounded batches.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use rayon::prelude::*;

use super::features::Features;
use super::inception::{FEATURE_DIM, FidInceptionV3, INPUT_SIZE};
use super::resize::to_network_input;

/// Images per forward pass by default: bounds activation memory (the largest activation,
/// 64x147x147 floats, is 5.5 MB per image) while keeping an accelerator busy.
pub const DEFAULT_BATCH: usize = 16;

/// The FID Inception-v3 with its preprocessing, on one device. Use a device without autodiff:
/// nothing here needs gradients.
#[derive(Debug)]
pub struct FidNetwork {
    net: FidInceptionV3,
    device: Device,
    batch: usize,
}

impl FidNetwork {
    pub fn load(weights: &Path, device: &Device) -> Result<Self, String> {
        Ok(Self { net: FidInceptionV3::load(weights, device)?, device: device.clone(), batch: DEFAULT_BATCH })
    }

    pub fn with_batch(mut self, batch: usize) -> Self {
        assert!(batch > 0, "FidNetwork batch must be positive");
        self.batch = batch;
        self
    }

    /// Pool3 features of `images`, each HWC RGB uint8 of `height`x`width`, resized bilinearly
    /// to 299x299 and scaled to [-1, 1] (see [`super::resize`]). One row per image, in order.
    pub fn features(&self, images: &[&[u8]], height: usize, width: usize) -> Features {
        let pixels = 3 * INPUT_SIZE * INPUT_SIZE;
        let mut data = Vec::with_capacity(images.len() * FEATURE_DIM);
        for chunk in images.chunks(self.batch) {
            let mut input = vec![0f32; chunk.len() * pixels];
            input
                .par_chunks_mut(pixels)
                .zip(chunk.par_iter())
                .for_each(|(out, image)| to_network_input(image, height, width, INPUT_SIZE, out));
            let x = Tensor::<4>::from_data(TensorData::new(input, [chunk.len(), 3, INPUT_SIZE, INPUT_SIZE]), &self.device);
            let f = self.net.forward(x).into_data().convert::<f32>();
            data.extend(f.try_to_vec::<f32>().expect("features are float"));
        }
        Features::new(images.len(), FEATURE_DIM, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use crate::metrics::{FID_WEIGHTS, testing::assets};
    use burn::store::{ModuleStore, SafetensorsStore};

    /// The 8 reference images (uint8 299x299, so the resize is the identity and the input is
    /// exactly `x/127.5 - 1`) against pool3 features of the TorchScript original. Batches of 3
    /// also exercise the batching.
    #[test]
    fn matches_the_reference_features() {
        let dir = assets();
        let mut store = SafetensorsStore::from_file(dir.join("fid_inception_v3.reference.safetensors"));
        let mut tensor = |name: &str| {
            let (_, dtype, shape, _, bytes) = store.get_tensor(name).unwrap().unwrap().clone().into_parts().unwrap();
            burn::tensor::TensorData::from_bytes(bytes, shape, dtype)
        };
        let input = tensor("input");
        let want = tensor("features").try_to_vec::<f32>().unwrap();
        assert_eq!(input.shape().as_slice(), &[8, INPUT_SIZE, INPUT_SIZE, 3]);
        let pixels = input.as_slice::<u8>().unwrap();
        let images: Vec<&[u8]> = pixels.chunks(INPUT_SIZE * INPUT_SIZE * 3).collect();

        let net = FidNetwork::load(&dir.join(FID_WEIGHTS), &cpu()).unwrap().with_batch(3);
        let start = std::time::Instant::now();
        let got = net.features(&images, INPUT_SIZE, INPUT_SIZE);
        let elapsed = start.elapsed();

        assert_eq!((got.rows, got.dim), (8, FEATURE_DIM));
        let diff: Vec<f64> = got.data.iter().zip(&want).map(|(a, b)| (a - b).abs() as f64).collect();
        let max_ref = want.iter().fold(0f64, |m, v| m.max(v.abs() as f64));
        let max_diff = diff.iter().cloned().fold(0.0, f64::max);
        let rel = max_diff / max_ref;
        let worst_elem = diff.iter().zip(&want).map(|(d, b)| d / (b.abs() as f64).max(1e-3)).fold(0.0, f64::max);
        let mean_diff = diff.iter().sum::<f64>() / diff.len() as f64;
        let stats = format!(
            "max|a-b|/max|b| = {rel:.3e} (max|a-b| {max_diff:.3e}, max|b| {max_ref:.3}); per element: mean|a-b| \
             {mean_diff:.3e}, max |a-b|/max(|b|, 1e-3) {worst_elem:.3e}; forward of 8 images {elapsed:.2?}"
        );
        eprintln!("{stats}");
        assert!(rel < 1e-4, "{stats}");
    }
}
