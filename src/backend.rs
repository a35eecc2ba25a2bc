//! The backends a run can use, chosen at run time by `--device`; one generic code path.
//!
//! The CPU backend is burn-flex (feature `flex`, the default: 1.6-2.6x faster than burn-ndarray
//! on every figure of `ttv-bench perf`, benches/RESULTS.md) or burn-ndarray (feature `ndarray`,
//! kept for comparison); CUDA needs a build with `--features cuda`.

use anyhow::{Result, bail};

#[cfg(feature = "flex")]
pub type Cpu = burn::backend::Flex;
#[cfg(all(feature = "ndarray", not(feature = "flex")))]
pub type Cpu = burn::backend::NdArray;

#[cfg(feature = "cuda")]
pub type Gpu = burn::backend::Cuda;

/// Something generic over the backend, run on the device a user named.
pub trait WithBackend {
    type Output;
    fn run<B: burn::tensor::backend::AutodiffBackend>(self, device: B::Device) -> Self::Output;
}

/// Run `job` on `device` (`cpu` or `cuda`) with autodiff.
pub fn dispatch<J: WithBackend<Output = Result<T>>, T>(device: &str, job: J) -> Result<T> {
    match device {
        "cpu" => job.run::<burn::backend::Autodiff<Cpu>>(Default::default()),
        #[cfg(feature = "cuda")]
        "cuda" => {
            kernel_cache::configure();
            job.run::<burn::backend::Autodiff<Gpu>>(Default::default())
        }
        #[cfg(not(feature = "cuda"))]
        "cuda" => bail!("this ttv was built without CUDA: rebuild with `cargo build --release --features cuda`"),
        other => bail!("unknown device `{other}` (use cpu or cuda)"),
    }
}

/// A human name for the device: the backend and, on CUDA, the GPU's model.
pub fn describe(device: &str) -> String {
    match device {
        "cuda" => {
            let gpu = std::process::Command::new("nvidia-smi")
                .args(["--query-gpu=name", "--format=csv,noheader"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("").trim().to_string());
            format!("cuda (burn-cuda) {}", gpu.unwrap_or_default()).trim().to_string()
        }
        _ => {
            let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
            let name = if cfg!(feature = "flex") { "burn-flex" } else { "burn-ndarray" };
            format!("cpu ({name}, {threads} threads)")
        }
    }
}

/// CubeCL compiles every distinct kernel on first use (hundreds for a training step, about a
/// second each) and forgets them when the process ends unless told where to keep them. ttv keeps
/// compiled kernels and autotune choices in `$TTV_KERNEL_CACHE` (default `~/.cache/ttv/cubecl`)
/// so only the first run on a machine pays; a `cubecl.toml` that names its own caches wins.
#[cfg(feature = "cuda")]
pub mod kernel_cache {
    use cubecl::config::{CubeClRuntimeConfig, RuntimeConfig, cache::CacheConfig};
    use std::path::PathBuf;

    pub fn dir() -> PathBuf {
        if let Some(dir) = std::env::var_os("TTV_KERNEL_CACHE") {
            return PathBuf::from(dir);
        }
        let home = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")));
        home.unwrap_or_else(std::env::temp_dir).join("ttv").join("cubecl")
    }

    /// Set CubeCL's configuration once, before the first kernel.
    pub fn configure() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let mut config = CubeClRuntimeConfig::from_current_dir().override_from_env();
            let dir = dir();
            if config.compilation.cache.is_none() {
                config.compilation.cache = Some(CacheConfig::File(dir.clone()));
            }
            if matches!(config.autotune.cache, CacheConfig::Target) {
                config.autotune.cache = CacheConfig::File(dir);
            }
            CubeClRuntimeConfig::set(config);
        });
    }
}
