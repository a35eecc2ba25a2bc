//! Arguments shared by the binaries, declared once and flattened into each command.

use std::path::PathBuf;

use clap::Args;

use crate::backend::Device;
use crate::store::Store;

/// The run store a command reads or writes.
#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// The run store.
    #[arg(long, env = "TTV_REGISTRY", default_value = "registry", value_name = "DIR")]
    pub registry: PathBuf,
}

impl StoreArgs {
    /// The store, looked at without creating anything.
    pub fn store(&self) -> Store {
        Store::at(&self.registry)
    }
}

/// Where a command computes.
#[derive(Args, Debug, Clone, Copy)]
pub struct DeviceArgs {
    /// `cpu` (default), `cuda` (GPU 0) or `cuda:N`; CUDA needs a build with `--features cuda`.
    #[arg(long, default_value = "cpu", value_name = "DEVICE")]
    pub device: Device,
}

/// Command-line overrides of spec values.
#[derive(Args, Debug, Clone, Default)]
pub struct OverrideArgs {
    /// Override a spec value: `-s training.epochs=10`, `-s model.halting.threshold=0.4`.
    /// Values are YAML (`-s eval.prompts='[a, b]'`) and typed by the schema. Repeatable;
    /// later ones win.
    #[arg(short = 's', long = "set", value_name = "PATH=VALUE")]
    pub set: Vec<String>,
}
