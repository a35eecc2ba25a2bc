//! Rectified flow in pixel space (`training.objective: flow_matching`): a straight path from
//! noise `x_0 ~ N(0, 1)` (t = 0) to the clip `x_1` (t = 1), `x_t = (1 - t) x_0 + t x_1`. The
//! model sees `x_t` and `t` and predicts the clean clip `x1_hat` (x-prediction: its output is a
//! clip in [-1, 1], as the other objectives' is, and the loss is the same pixel MSE).
//! Generation follows the velocity that prediction implies, `v = (x1_hat - x_t) / (1 - t)`, in
//! Euler steps `t_k = k / N` from noise; the last step's prediction is the clip.

use burn::prelude::*;

/// What one training sample draws for flow matching: its noise and its time on the path.
#[derive(Clone, Debug)]
pub struct FlowNoise {
    /// `x_0`, `[batch, 3, frames, height, width]`, N(0, 1).
    pub x0: Tensor<5>,
    /// `t`, `[batch]`, U[0, 1).
    pub t: Tensor<1>,
}

/// `[batch]` -> `[batch, 1, 1, 1, 1]`, to scale each sample's clip.
fn per_sample(t: Tensor<1>) -> Tensor<5> {
    let [batch] = t.dims();
    t.reshape([batch, 1, 1, 1, 1])
}

/// `x_t = (1 - t) x_0 + t x_1`, each sample at its own `t`.
pub fn interpolate(x0: Tensor<5>, x1: Tensor<5>, t: Tensor<1>) -> Tensor<5> {
    let t = per_sample(t);
    x0 * t.clone().neg().add_scalar(1.0) + x1 * t
}

/// One Euler step from `t` to `t_next` on the velocity `(x1_hat - x_t) / (1 - t)` implied by the
/// predicted clean clip: `x_t + (t_next - t) / (1 - t) * (x1_hat - x_t)`. `t < 1`.
pub fn euler_step(x_t: Tensor<5>, x1_hat: Tensor<5>, t: Tensor<1>, t_next: Tensor<1>) -> Tensor<5> {
    let fraction = per_sample((t_next - t.clone()) / t.neg().add_scalar(1.0));
    x_t.clone() + (x1_hat - x_t) * fraction
}

/// The times of Euler step `k` of `steps`: `(k / steps, (k + 1) / steps)`.
pub fn step_times(k: usize, steps: usize) -> (f32, f32) {
    (k as f32 / steps as f32, (k + 1) as f32 / steps as f32)
}

/// `value` for each of `batch` samples, on `device`.
pub fn times(value: f32, batch: usize, device: &Device) -> Tensor<1> {
    Tensor::from_data(TensorData::new(vec![value; batch], [batch]), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;

    fn clip(values: &[f32]) -> Tensor<5> {
        let n = values.len() / 2;
        Tensor::from_data(TensorData::new(values.to_vec(), [2, 1, 1, 1, n]), &cpu())
    }

    fn values(t: Tensor<5>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn the_path_is_a_straight_line_between_noise_and_clip() {
        let (x0, x1) = (clip(&[4.0, -4.0, 1.0, 2.0]), clip(&[8.0, 0.0, -1.0, 6.0]));
        // Sample 0 a quarter of the way, sample 1 at the clip.
        let t = Tensor::from_data(TensorData::new(vec![0.25f32, 1.0], [2]), &cpu());
        assert_eq!(values(interpolate(x0.clone(), x1.clone(), t)), vec![5.0, -3.0, -1.0, 6.0]);
        assert_eq!(values(interpolate(x0.clone(), x1, times(0.0, 2, &cpu()))), values(x0));
    }

    #[test]
    fn an_euler_step_moves_along_the_implied_velocity() {
        let (x, x1_hat) = (clip(&[1.0, 2.0, 0.0, -2.0]), clip(&[3.0, -2.0, 1.0, 2.0]));
        // From t = 0.5 to 0.75: half of the way that is left, (0.75 - 0.5) / (1 - 0.5).
        let (t, next) = (times(0.5, 2, &cpu()), times(0.75, 2, &cpu()));
        assert_eq!(values(euler_step(x.clone(), x1_hat.clone(), t, next)), vec![2.0, 0.0, 0.5, 0.0]);
        // The first step of 4 from noise goes a quarter of the way; the last one reaches x1_hat.
        let (t, next) = step_times(0, 4);
        assert_eq!((t, next), (0.0, 0.25));
        let first = euler_step(x.clone(), x1_hat.clone(), times(t, 2, &cpu()), times(next, 2, &cpu()));
        assert_eq!(values(first), vec![1.5, 1.0, 0.25, -1.0]);
        let (t, next) = step_times(3, 4);
        let last = euler_step(x, x1_hat.clone(), times(t, 2, &cpu()), times(next, 2, &cpu()));
        assert_eq!(values(last), values(x1_hat));
    }
}
