//! Frames to network input: bilinear resize to the network's square input and scaling to
//! [-1, 1] by `v / 127.5 - 1`. Two sampling conventions, one per reference implementation:
//!
//! - [`Bilinear::HalfPixel`] (FID): torch's `F.interpolate(mode="bilinear", align_corners=False)`
//!   without antialiasing, which is what pytorch-fid applies: output pixel `d` of `out` samples
//!   the source coordinate `(d + 0.5) * in / out - 0.5` (clamped at 0).
//! - [`Bilinear::Legacy`] (FVD): TensorFlow 1's `tf.image.resize_bilinear(align_corners=False)`
//!   without half-pixel centres, which the reference FVD code (google-research
//!   `frechet_video_distance`) applies before I3D: output pixel `d` samples `d * in / out`, so
//!   the image shifts by up to half a source pixel against the other convention.
//!
//! Both interpolate linearly between the two neighbouring source pixels (the last one repeated
//! at the edge); downsampling therefore skips pixels instead of averaging them. Interpolating
//! the raw 0..255 values and then mapping `v / 127.5 - 1` equals scaling first (the weights sum
//! to one), up to float rounding.

/// Where an output pixel samples the source: see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bilinear {
    HalfPixel,
    Legacy,
}

/// For each output index, the two source indices and the weight of the second.
fn taps(input: usize, output: usize, kind: Bilinear) -> Vec<(usize, usize, f32)> {
    let scale = input as f32 / output as f32;
    (0..output)
        .map(|d| {
            let src = match kind {
                Bilinear::HalfPixel => ((d as f32 + 0.5) * scale - 0.5).max(0.0),
                Bilinear::Legacy => d as f32 * scale,
            };
            let i0 = (src as usize).min(input - 1);
            let i1 = (i0 + 1).min(input - 1);
            (i0, i1, src - i0 as f32)
        })
        .collect()
}

/// Resize one HWC RGB uint8 image to `size`x`size` and write it planar (CHW) as `v/127.5 - 1`
/// into `out` (length `3 * size * size`), sampling as pytorch-fid does.
pub fn to_network_input(image: &[u8], height: usize, width: usize, size: usize, out: &mut [f32]) {
    assert_eq!(out.len(), 3 * size * size);
    resize_planes(image, height, width, size, Bilinear::HalfPixel, out, size * size);
}

/// Resize one HWC RGB uint8 image to `size`x`size` and write its channel `c` as `v/127.5 - 1`
/// at `out[c * channel_stride..][..size * size]` (row-major): e.g. one frame of a `[3, t, size,
/// size]` clip with `channel_stride = t * size * size`.
pub fn resize_planes(
    image: &[u8],
    height: usize,
    width: usize,
    size: usize,
    kind: Bilinear,
    out: &mut [f32],
    channel_stride: usize,
) {
    assert_eq!(image.len(), height * width * 3, "image is not {height}x{width} RGB");
    assert!(channel_stride >= size * size && out.len() >= 2 * channel_stride + size * size, "output too small");
    let (ty, tx) = (taps(height, size, kind), taps(width, size, kind));
    let px = |y: usize, x: usize, c: usize| image[(y * width + x) * 3 + c] as f32;
    for c in 0..3 {
        let plane = &mut out[c * channel_stride..c * channel_stride + size * size];
        for (oy, &(y0, y1, ly)) in ty.iter().enumerate() {
            for (ox, &(x0, x1, lx)) in tx.iter().enumerate() {
                let top = (1.0 - lx) * px(y0, x0, c) + lx * px(y0, x1, c);
                let bottom = (1.0 - lx) * px(y1, x0, c) + lx * px(y1, x1, c);
                let v = (1.0 - ly) * top + ly * bottom;
                plane[oy * size + ox] = v / 127.5 - 1.0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: f32) -> f32 {
        v / 127.5 - 1.0
    }

    #[test]
    fn same_size_is_the_identity_and_planar() {
        let image: Vec<u8> = (0..5 * 5 * 3).map(|i| (i * 7 % 256) as u8).collect();
        let mut out = vec![0.0; 3 * 5 * 5];
        to_network_input(&image, 5, 5, 5, &mut out);
        for y in 0..5 {
            for x in 0..5 {
                for c in 0..3 {
                    assert_eq!(out[(c * 5 + y) * 5 + x], unit(image[(y * 5 + x) * 3 + c] as f32));
                }
            }
        }
    }

    #[test]
    fn half_pixel_centres_not_corner_alignment() {
        // A 1x2 image [0, 100] (grey) to 4 columns: align_corners=False gives 0, 25, 75, 100
        // (corner alignment would give 0, 33.3, 66.7, 100).
        let image = [0u8, 0, 0, 100, 100, 100];
        let mut out = vec![0.0; 3 * 4 * 4];
        to_network_input(&image, 1, 2, 4, &mut out);
        let row: Vec<f32> = out[..4].to_vec();
        let want = [0.0, 25.0, 75.0, 100.0].map(unit);
        for (a, b) in row.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{row:?} vs {want:?}");
        }
        // Every output row samples the single source row.
        assert_eq!(out[..4], out[12..16]);
    }

    #[test]
    fn halving_averages_pixel_pairs() {
        // 4 columns to 2: sources at 0.5 and 2.5, i.e. the means of pixel pairs (no antialias).
        let image: Vec<u8> = [10u8, 20, 30, 50].iter().flat_map(|&v| [v; 3]).collect();
        let mut out = vec![0.0; 3 * 2 * 2];
        to_network_input(&image, 1, 4, 2, &mut out);
        for (a, b) in out[..2].iter().zip([15.0, 40.0].map(unit)) {
            assert!((a - b).abs() < 1e-6);
        }
    }

    #[test]
    fn legacy_samples_from_the_top_left_corner() {
        // TF1 resize_bilinear: [0, 100] to 4 columns samples 0, 0.5, 1, 1.5 -> 0, 50, 100, 100.
        let image = [0u8, 0, 0, 100, 100, 100];
        let (t, size) = (2, 4);
        let mut out = vec![0.0; 3 * t * size * size];
        // Frame 1 of a [3, 2, 4, 4] clip.
        resize_planes(&image, 1, 2, size, Bilinear::Legacy, &mut out[size * size..], t * size * size);
        let want = [0.0, 50.0, 100.0, 100.0].map(unit);
        for c in 0..3 {
            let row = &out[(c * t + 1) * size * size..][..size];
            for (a, b) in row.iter().zip(want) {
                assert!((a - b).abs() < 1e-6, "channel {c}: {row:?} vs {want:?}");
            }
            assert!(out[c * t * size * size..][..size * size].iter().all(|v| *v == 0.0), "frame 0 untouched");
        }
    }
}
