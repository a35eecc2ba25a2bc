//! The backends a run can use, chosen at run time by `--device`; one generic code path.
//!
//! The CPU backend is burn-flex (feature `flex`, the default: 1.6-2.6x faster than burn-ndarray
//! on every figure of `ttv-bench perf`, benches/RESULTS.md) or burn-ndarray (feature `ndarray`,
//! kept for comparison); CUDA needs a build with `--features cuda`.

use anyhow::Result;

#[cfg(feature = "flex")]
pub type Cpu = burn::backend::Flex;
#[cfg(all(feature = "ndarray", not(feature = "flex")))]
pub type Cpu = burn::backend::NdArray;

#[cfg(feature = "cuda")]
pub type Gpu = burn::backend::Cuda;

/// Where a command computes, parsed once from `--device`: `cpu`, `cuda` (GPU 0) or `cuda:N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    #[default]
    Cpu,
    Cuda(usize),
}

impl std::str::FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Device::Cuda)
                .ok_or_else(|| format!("unknown device `{s}`: use cpu, cuda or cuda:N")),
        }
    }
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// Something generic over the backend, run on the device a user named.
pub trait WithBackend {
    type Output;
    fn run<B: burn::tensor::backend::AutodiffBackend>(self, device: B::Device) -> Self::Output;
}

/// Whether this build can compute on `device`: checked before a run is claimed, so a wrong
/// device never marks a run failed.
pub fn available(device: Device) -> Result<()> {
    match device {
        Device::Cuda(_) if !cfg!(feature = "cuda") => {
            anyhow::bail!("this ttv was built without CUDA: rebuild with `cargo build --release --features cuda`")
        }
        _ => Ok(()),
    }
}

/// Run `job` on `device` with autodiff.
pub fn dispatch<J: WithBackend<Output = Result<T>>, T>(device: Device, job: J) -> Result<T> {
    available(device)?;
    match device {
        Device::Cpu => job.run::<burn::backend::Autodiff<Cpu>>(Default::default()),
        #[cfg(feature = "cuda")]
        Device::Cuda(index) => {
            kernel_cache::configure();
            job.run::<burn::backend::Autodiff<Gpu>>(burn::backend::cuda::CudaDevice::new(index))
        }
        #[cfg(not(feature = "cuda"))]
        Device::Cuda(_) => unreachable!("refused by available()"),
    }
}

/// A human name for the device: the backend and, on CUDA, the GPU's model.
pub fn describe(device: Device) -> String {
    match device {
        Device::Cuda(index) => {
            let gpu = std::process::Command::new("nvidia-smi")
                .args(["--query-gpu=name", "--format=csv,noheader", "-i", &index.to_string()])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("").trim().to_string());
            format!("{device} (burn-cuda) {}", gpu.unwrap_or_default()).trim().to_string()
        }
        Device::Cpu => {
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

#[cfg(test)]
mod tests {
    use super::Device;

    #[test]
    fn devices_parse_once_and_print_as_typed() {
        for (text, device, shown) in
            [("cpu", Device::Cpu, "cpu"), ("cuda", Device::Cuda(0), "cuda:0"), ("cuda:3", Device::Cuda(3), "cuda:3")]
        {
            assert_eq!(text.parse::<Device>(), Ok(device));
            assert_eq!(device.to_string(), shown);
        }
        for bad in ["gpu", "cuda:", "cuda:x", "cuda:-1", "CPU"] {
            let err = bad.parse::<Device>().unwrap_err();
            assert!(err.contains(bad) && err.contains("cuda:N"), "{bad}: {err}");
        }
    }
}
