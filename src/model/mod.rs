//! TTV-HRM model components, in the two families the paper and its public code describe.
//!
//! - [`tokenizer`]: GPT-2 BPE captions -> ids + mask.
//! - [`text_encoder`]: ids -> text features (paper: pre-norm, sinusoids, pad mask; reference:
//!   post-norm, learned positions).
//! - [`video_codec`]: clips <-> latent tokens (paper: 32 tokens; reference: 256 tokens).
//! - [`engine`]: one reasoning step (`hrm` with cross-attention or additive interaction, `flat`).
//! - [`halting`]: the convergence predictor (paper MLP, reference linear).
//! - [`hrm`]: the whole model and its reasoning loop ([`TextToVideo::reason`]); [`sampling`]:
//!   generation by objective; [`flow`]: the rectified-flow path and its Euler step, with
//!   [`time_embedding`]; [`generator`]: generation replayed from recorded CUDA graphs.
//! - [`registry`]: validated model config (spec/validate.rs) -> model, parameter counts per component.
//! - [`flops`]: analytic forward FLOPs per sample, per component.
//! - [`pytorch`]: the reference family's weights under the reference code's PyTorch names.
//!
//! Building blocks: [`attention`], [`rope`], [`swiglu`], [`norm`], [`block`], [`conv`], [`rows`]; the
//! number format of the matrix products: [`precision`]; the
//! constant tensors they upload once per device: [`constants`].

pub mod attention;
pub mod block;
pub mod constants;
pub mod conv;
pub mod engine;
pub mod flops;
pub mod flow;
pub mod generator;
pub mod halting;
pub mod hrm;
pub mod norm;
pub mod precision;
pub mod pytorch;
pub mod registry;
pub mod rope;
pub mod rows;
pub mod sampling;
pub mod swiglu;
pub mod text_encoder;
pub mod time_embedding;
pub mod tokenizer;
pub mod video_codec;

pub use hrm::{ReasonOptions, Reasoning, StepOutput, TextToVideo};
pub use registry::{build, component_counts, param_counts};
pub use sampling::{Generation, Prior};
pub use tokenizer::{Encoded, PAD_ID, TextTokenizer};
