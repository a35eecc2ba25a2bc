//! From decoded frames to a clip: uniform temporal sampling and channel-major layout.

/// `t` frame indices spread uniformly over `n` frames, first and last included
/// (round(i * (n-1) / (t-1))); distinct whenever n >= t.
pub fn uniform_indices(n: usize, t: usize) -> Vec<usize> {
    match t {
        0 => Vec::new(),
        1 => vec![(n.saturating_sub(1)) / 2],
        _ => (0..t).map(|i| ((i * (n - 1)) as f64 / (t - 1) as f64).round() as usize).collect(),
    }
}

/// Packed (H, W, 3) frames -> one (3, T, H, W) buffer.
pub fn to_channel_major(frames: &[&[u8]], h: usize, w: usize) -> Vec<u8> {
    let t = frames.len();
    let plane = h * w;
    let mut out = vec![0u8; 3 * t * plane];
    for (f, frame) in frames.iter().enumerate() {
        assert_eq!(frame.len(), plane * 3, "frame size");
        for p in 0..plane {
            for c in 0..3 {
                out[c * t * plane + f * plane + p] = frame[p * 3 + c];
            }
        }
    }
    out
}

/// Choose `t` of the decoded frames uniformly; `Err` names the shortfall.
pub fn select_clip(frames: &[Vec<u8>], t: usize, h: usize, w: usize) -> Result<Vec<u8>, String> {
    if frames.len() < t {
        return Err(format!("only {} frames, {} needed", frames.len(), t));
    }
    let picked: Vec<&[u8]> = uniform_indices(frames.len(), t).into_iter().map(|i| frames[i].as_slice()).collect();
    Ok(to_channel_major(&picked, h, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform() {
        assert_eq!(uniform_indices(8, 8), (0..8).collect::<Vec<_>>());
        assert_eq!(uniform_indices(15, 8), vec![0, 2, 4, 6, 8, 10, 12, 14]);
        let v = uniform_indices(9, 8);
        assert_eq!(v.first(), Some(&0));
        assert_eq!(v.last(), Some(&8));
        assert!(v.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn layout() {
        let f0 = [1u8, 2, 3, 4, 5, 6]; // 1x2 pixels
        let f1 = [7u8, 8, 9, 10, 11, 12];
        let out = to_channel_major(&[&f0, &f1], 1, 2);
        assert_eq!(out, vec![1, 4, 7, 10, 2, 5, 8, 11, 3, 6, 9, 12]);
    }
}
