//! Generation by objective: what it starts from ([`Prior`]) and what it returns
//! ([`Generation`]). The `paper` and `noise_regression` models reason once from latent noise;
//! a `flow_matching` model integrates from pixel noise, one whole reasoning loop per Euler step
//! (model/flow.rs). [`TextToVideo::sample`] runs either eagerly; model/generator.rs replays the
//! same from recorded CUDA graphs.

use burn::prelude::*;

use super::attention::Context;
use super::flow::{euler_step, step_times, times};
use super::hrm::{ReasonOptions, TextToVideo};

/// What generation starts from.
#[derive(Clone, Debug)]
pub enum Prior {
    /// The latent the reasoning starts from, `[batch, tokens, hidden]` (`randn * 0.02`).
    Latent(Tensor<3>),
    /// `x_0` of a flow-matching model, `[batch, 3, frames, height, width]`, N(0, 1).
    Pixels(Tensor<5>),
}

impl Prior {
    /// The same noise on `device`.
    pub fn to_device(&self, device: &Device) -> Self {
        match self {
            Self::Latent(v) => Self::Latent(v.clone().to_device(device)),
            Self::Pixels(x) => Self::Pixels(x.clone().to_device(device)),
        }
    }
}

/// A generated batch: the clips `[batch, 3, frames, height, width]` and the reasoning steps.
#[derive(Clone, Debug)]
pub struct Generation {
    pub video: Tensor<5>,
    /// Reasoning steps each sample took, summed over the sampling steps.
    pub steps_taken: Vec<usize>,
    /// Reasoning loops per sample: the Euler steps of a flow-matching model, else 1.
    pub sampling_steps: usize,
}

impl Generation {
    /// Each sample's reasoning steps per reasoning loop: for a flow-matching model the mean over
    /// its Euler steps, so that the figure reads as the other objectives' (1..=max_steps).
    pub fn reasoning_steps(&self) -> Vec<f64> {
        self.steps_taken.iter().map(|&n| n as f64 / self.sampling_steps as f64).collect()
    }
}

impl TextToVideo {
    /// Generation from `prior` with per-sample early stopping in every reasoning loop.
    pub fn sample(&self, ids: Tensor<2, Int>, mask: Tensor<2, Bool>, prior: Prior) -> Generation {
        let text = self.encode_text(ids, mask);
        self.sample_from(&text, prior)
    }

    /// [`Self::sample`] for captions already encoded.
    pub fn sample_from(&self, text: &Context, prior: Prior) -> Generation {
        match prior {
            Prior::Latent(v) => {
                assert!(self.time_embedding.is_none(), "a flow-matching model generates from pixel noise");
                let out = self.reason(v, text, ReasonOptions::GENERATE);
                Generation { video: out.video, steps_taken: out.steps_taken, sampling_steps: 1 }
            }
            Prior::Pixels(x0) => self.integrate(text, x0),
        }
    }

    /// Euler steps from `x0` at t = 0: at each `t_k` the model predicts the clean clip from `x_t`,
    /// and `x_t` moves along the velocity that implies; the last prediction is the clip.
    fn integrate(&self, text: &Context, x0: Tensor<5>) -> Generation {
        let (batch, device) = (x0.dims()[0], x0.device());
        let n = self.sampling_steps.max(1);
        let mut x = x0;
        let mut steps_taken = vec![0; batch];
        for k in 0..n {
            let (t, t_next) = step_times(k, n);
            let t = times(t, batch, &device);
            let out = self.reason(self.encode_flow(x.clone(), t.clone()), text, ReasonOptions::GENERATE);
            steps_taken.iter_mut().zip(&out.steps_taken).for_each(|(sum, n)| *sum += n);
            if k + 1 == n {
                return Generation { video: out.video, steps_taken, sampling_steps: n };
            }
            x = euler_step(x, out.video, t, times(t_next, batch, &device));
        }
        unreachable!("at least one sampling step")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use crate::model::flow::interpolate;
    use crate::model::registry::build;
    use crate::model::tokenizer::TextTokenizer;
    use crate::spec::ModelConfig;
    use crate::spec::types::{DataSpec, ModelSpec};
    use burn::tensor::Distribution;

    /// Generation integrates as written: at each Euler step one reasoning loop from the encoded
    /// `x_t` and its time, then a step along the implied velocity; the last prediction is the clip.
    #[test]
    fn flow_generation_is_euler_steps_of_whole_reasoning_loops() {
        let device = cpu();
        let mut spec = ModelSpec { hidden: 32, heads: 4, ..ModelSpec::default() };
        (spec.text_encoder.layers, spec.text_encoder.max_len, spec.engine.h_layers, spec.engine.l_layers) = (1, 8, 1, 1);
        spec.halting.threshold = 1.0; // every loop runs its K = 3 steps
        let data = DataSpec { frames: 4, height: 16, width: 16, ..DataSpec::default() };
        let mut model = build(&ModelConfig::new(&spec, &data).unwrap().with_flow(2), &device);
        assert_eq!((model.sampling_steps, model.clip), (2, [4, 16, 16]));
        let (ids, mask) = TextTokenizer::gpt2(8).unwrap().batch(&["a red ball", "a blue square"], &device).unwrap();
        let x0 = Tensor::<5>::random([2, 3, 4, 16, 16], Distribution::Normal(0.0, 1.0), &device);
        let out = model.sample(ids.clone(), mask.clone(), Prior::Pixels(x0.clone()));
        assert_eq!((out.steps_taken.clone(), out.sampling_steps, out.reasoning_steps()), (vec![6, 6], 2, vec![3.0, 3.0]));

        let text = model.encode_text(ids.clone(), mask.clone());
        let loop_at =
            |x: Tensor<5>, t: f32| model.reason(model.encode_flow(x, times(t, 2, &device)), &text, ReasonOptions::GENERATE).video;
        let first = loop_at(x0.clone(), 0.0);
        let halfway = euler_step(x0.clone(), first.clone(), times(0.0, 2, &device), times(0.5, 2, &device));
        // From noise, half of the way to the first prediction.
        let expected = interpolate(x0.clone(), first.clone(), times(0.5, 2, &device));
        assert!((halfway.clone() - expected).abs().max().into_scalar::<f32>() < 1e-6);
        let manual = loop_at(halfway, 0.5);
        assert_eq!(out.video.into_data(), manual.into_data());

        // One step: the prediction from pure noise at t = 0.
        model.sampling_steps = 1;
        let one = model.sample(ids, mask, Prior::Pixels(x0));
        assert_eq!(one.video.into_data(), first.into_data());
    }
}
