//! Reasoning engines: one refinement step of the latent video tokens, conditioned on the text.
//!
//! `hrm` keeps two coupled levels, L (fast, fine) and H (slow, coarse):
//! - paper (cross-attention interaction): `z_L = f_L(z_L, [text ; z_H])`,
//!   `z_H = f_H(z_L, [text ; z_L])`, starting from `z_L = z_H = v` (the encoded clip or noise);
//!   every block cross-attends to the text and to the other level.
//! - reference (additive interaction): `z_L = L(z_L + z_H + v)`, `z_H = H(z_H + z_L)`, starting
//!   from fixed random (not learned) vectors; each level cross-attends to the text once, right
//!   after the injection, then runs its blocks.
//!
//! `flat` is the baseline: one stack holding all `h_layers + l_layers` blocks, no H/L split, the
//! same step budget: `z = F(z, [text ; z])` or `z = F(z + v)`.

use burn::prelude::*;

use super::attention::{Context, CrossAttention};
use super::block::{Block, BlockConfig, residual};
use super::norm::RmsNorm;
use super::rope::Rope;
use crate::spec::types::{EngineKind, Interaction, NormPlacement};

/// One level (or the flat stack): an optional text cross-attention (additive interaction) and
/// a stack of blocks (which carry their own cross-attention in the cross-attention interaction).
#[derive(Module, Debug)]
pub struct Level {
    pub text_attn: Option<CrossAttention>,
    pub text_norm: Option<RmsNorm>,
    pub blocks: Vec<Block>,
    pub pre_norm: bool,
}

impl Level {
    fn new(depth: usize, block: BlockConfig, additive: bool, device: &Device) -> Self {
        Self {
            text_attn: additive.then(|| CrossAttention::new(block.hidden, block.heads, block.compute, device)),
            text_norm: additive.then(|| block.norm(device)),
            blocks: (0..depth).map(|_| block.init(device)).collect(),
            pre_norm: block.norm == NormPlacement::Pre,
        }
    }

    pub fn forward(&self, h: Tensor<3>, context: &Context, rope: &Rope) -> Tensor<3> {
        let h = match (&self.text_attn, &self.text_norm) {
            (Some(attn), Some(norm)) => residual(h, norm, self.pre_norm, |x| attn.forward(x, context)),
            _ => h,
        };
        self.blocks.iter().fold(h, |h, block| block.forward(h, Some(rope), None, Some(context)))
    }
}

/// The carried latents. The flat engine keeps `z_L == z_H == z`.
#[derive(Debug, Clone)]
pub struct State {
    pub z_l: Tensor<3>,
    pub z_h: Tensor<3>,
}

impl State {
    /// Keep `previous` for the samples marked `frozen`, take `self` for the others.
    pub fn unless_frozen(self, previous: &State, frozen: &[bool]) -> Self {
        if !frozen.contains(&true) {
            return self;
        }
        let [batch, tokens, width] = self.z_h.dims();
        let mask = Tensor::<1, Bool>::from_data(TensorData::new(frozen.to_vec(), [batch]), &self.z_h.device())
            .reshape([batch, 1, 1])
            .expand([batch, tokens, width]);
        Self {
            z_l: self.z_l.mask_where(mask.clone(), previous.z_l.clone()),
            z_h: self.z_h.mask_where(mask, previous.z_h.clone()),
        }
    }
}

#[derive(Module, Debug)]
pub struct Engine {
    /// The L level, or the whole stack of the flat baseline.
    pub low: Level,
    /// The H level; `None` for the flat baseline.
    pub high: Option<Level>,
    pub additive: bool,
    /// Fixed random initial states of the additive interaction, regenerated from a fixed seed
    /// (so not learned, and identical after a checkpoint reload without being stored).
    pub h_init: Tensor<1>,
    pub l_init: Tensor<1>,
}

#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    pub kind: EngineKind,
    pub interaction: Interaction,
    pub h_layers: usize,
    pub l_layers: usize,
    pub block: BlockConfig,
}

impl EngineConfig {
    pub fn init(&self, device: &Device) -> Engine {
        let additive = self.interaction == Interaction::Additive;
        // The paper's blocks cross-attend inside; the additive levels attend to the text once.
        let block = BlockConfig { cross: !additive, ..self.block };
        let (low, high) = match self.kind {
            EngineKind::Hrm => {
                (Level::new(self.l_layers, block, additive, device), Some(Level::new(self.h_layers, block, additive, device)))
            }
            EngineKind::Flat => (Level::new(self.h_layers + self.l_layers, block, additive, device), None),
        };
        let hidden = self.block.hidden;
        Engine {
            low,
            high,
            additive,
            h_init: fixed_normal(hidden, 0.02, 0x48_49_4e_49_54, device),
            l_init: fixed_normal(hidden, 0.02, 0x4c_49_4e_49_54, device),
        }
    }
}

impl Engine {
    /// The state before the first step, for `v: [batch, tokens, hidden]`.
    pub fn init_state(&self, v: &Tensor<3>) -> State {
        if !self.additive {
            return State { z_l: v.clone(), z_h: v.clone() };
        }
        let shape = v.dims();
        let broadcast = |init: &Tensor<1>| init.clone().reshape([1, 1, shape[2]]).expand(shape);
        match self.high {
            Some(_) => State { z_l: broadcast(&self.l_init), z_h: broadcast(&self.h_init) },
            None => State { z_l: broadcast(&self.h_init), z_h: broadcast(&self.h_init) },
        }
    }

    /// One reasoning step: L then H (or the flat stack once).
    pub fn step(&self, state: State, v: &Tensor<3>, text: &Context, rope: &Rope) -> State {
        let State { z_l, z_h } = state;
        match (&self.high, self.additive) {
            (Some(high), false) => {
                let z_l = self.low.forward(z_l, &text.with(z_h), rope);
                let z_h = high.forward(z_l.clone(), &text.with(z_l.clone()), rope);
                State { z_l, z_h }
            }
            (Some(high), true) => {
                let z_l = self.low.forward(z_l + z_h.clone() + v.clone(), text, rope);
                let z_h = high.forward(z_h + z_l.clone(), text, rope);
                State { z_l, z_h }
            }
            (None, false) => {
                let z = self.low.forward(z_h.clone(), &text.with(z_h), rope);
                State { z_l: z.clone(), z_h: z }
            }
            (None, true) => {
                let z = self.low.forward(z_h + v.clone(), text, rope);
                State { z_l: z.clone(), z_h: z }
            }
        }
    }
}

/// `len` draws of N(0, std^2) from a fixed seed (splitmix64 + Box-Muller): the same vector on
/// every backend and every run.
pub fn fixed_normal(len: usize, std: f64, seed: u64, device: &Device) -> Tensor<1> {
    let mut state = seed;
    let mut uniform = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let values: Vec<f32> = (0..len)
        .map(|_| {
            let (u1, u2) = (uniform().max(f64::MIN_POSITIVE), uniform());
            ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos() * std) as f32
        })
        .collect();
    Tensor::from_data(TensorData::new(values, [len]), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use crate::model::precision::Compute;
    use crate::model::rope::ROPE_BASE;
    use burn::tensor::Distribution;

    fn config(kind: EngineKind, interaction: Interaction, norm: NormPlacement) -> EngineConfig {
        let block =
            BlockConfig { hidden: 32, heads: 4, expansion: 2.0, norm, causal: false, cross: false, compute: Compute::F32 };
        EngineConfig { kind, interaction, h_layers: 1, l_layers: 1, block }
    }

    #[test]
    fn every_engine_steps_with_the_shape_it_was_given() {
        let device = cpu();
        let v = Tensor::<3>::random([2, 4, 32], Distribution::Normal(0.0, 1.0), &device);
        let text = Context::new(Tensor::random([2, 5, 32], Distribution::Normal(0.0, 1.0), &device), None);
        let rope = Rope::new(8, 4, ROPE_BASE, &device);
        for kind in [EngineKind::Hrm, EngineKind::Flat] {
            for (interaction, norm) in
                [(Interaction::CrossAttention, NormPlacement::Pre), (Interaction::Additive, NormPlacement::Post)]
            {
                let engine = config(kind, interaction, norm).init(&device);
                let state = engine.step(engine.init_state(&v), &v, &text, &rope);
                assert_eq!(state.z_l.dims(), [2, 4, 32]);
                assert_eq!(state.z_h.dims(), [2, 4, 32]);
            }
        }
    }

    #[test]
    fn fixed_initial_states_are_fixed_and_not_parameters() {
        let device = cpu();
        let a = config(EngineKind::Hrm, Interaction::Additive, NormPlacement::Post).init(&device);
        let b = config(EngineKind::Hrm, Interaction::Additive, NormPlacement::Post).init(&device);
        assert_eq!(a.h_init.to_data(), b.h_init.to_data());
        assert_ne!(a.h_init.to_data(), a.l_init.to_data());
        let std = a.h_init.clone().var(0).sqrt().into_scalar::<f32>();
        assert!((0.01..0.03).contains(&std), "std {std}");
        // Two levels of (text cross-attention + one block), no initial-state parameters.
        assert_eq!(a.num_params(), 2 * (4 * 32 * 32 + 4 * 32 * 32 + 3 * 32 * 64));
    }
}
