//! The devices a run can use, chosen at run time by `--device`; burn picks the backend from the
//! device, so the model and training code have one path for all of them.
//!
//! The CPU backend is burn-flex (feature `flex`, the default: 1.6-2.6x faster than burn-ndarray
//! on every figure of `ttv-bench perf`, benches/README.md) or burn-ndarray (feature `ndarray`,
//! kept for comparison); CUDA needs a build with `--features cuda`.

use anyhow::Result;

/// The CPU device of this build: burn-flex, or burn-ndarray without `flex`.
pub fn cpu() -> burn::tensor::Device {
    #[cfg(feature = "flex")]
    return burn::tensor::Device::flex();
    #[cfg(all(feature = "ndarray", not(feature = "flex")))]
    #[allow(deprecated)] // kept for comparison only
    return burn::tensor::Device::ndarray();
}

/// Whether `device` computes on burn-flex (whose native 3-D convolution ttv may use).
pub fn is_flex(device: &burn::tensor::Device) -> bool {
    cfg!(feature = "flex") && *device == cpu()
}

/// Where a command computes, parsed once from `--device`: `cpu`, `cuda` (GPU 0) or `cuda:N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
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

/// Whether training updates on `device` are recorded as CUDA graphs and replayed: on a GPU,
/// unless `TTV_CUDA_GRAPHS=0` asks for eager updates (to compare, or to debug).
pub fn records_graphs(device: &burn::tensor::Device) -> bool {
    *device != cpu() && std::env::var("TTV_CUDA_GRAPHS").map_or(true, |v| v != "0")
}

/// Write `src` into `dst`'s buffer, keeping the buffer (a recorded CUDA graph reads it); false
/// if `dst` had another owner, so the write went to a new buffer instead.
pub fn copy_into<const D: usize, K: burn::tensor::kind::Basic>(
    dst: &mut burn::tensor::Tensor<D, K>,
    src: burn::tensor::Tensor<D, K>,
) -> bool {
    assert_eq!(dst.dims(), src.dims(), "a buffer keeps its shape");
    let in_place = dst.can_mut();
    dst.inplace(|d| {
        let dims = d.dims();
        d.slice_assign(std::array::from_fn::<_, D, _>(|i| 0..dims[i]), src)
    });
    in_place
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

impl Device {
    /// The burn device for this choice, without autodiff (training asks for it with
    /// `.autodiff()`). On CUDA the kernel cache is configured first.
    pub fn open(self) -> Result<burn::tensor::Device> {
        available(self)?;
        match self {
            Device::Cpu => Ok(cpu()),
            #[cfg(feature = "cuda")]
            Device::Cuda(index) => {
                kernel_cache::configure();
                Ok(burn::tensor::Device::cuda(index))
            }
            #[cfg(not(feature = "cuda"))]
            Device::Cuda(_) => unreachable!("refused by available()"),
        }
    }
}

impl Device {
    /// The `n` devices of a data-parallel run that starts on this one: consecutive GPUs, or the
    /// CPU `n` times (its replicas share the cores).
    pub fn replicas(self, n: usize) -> Result<Vec<Device>> {
        match self {
            Device::Cpu => Ok(vec![Device::Cpu; n]),
            Device::Cuda(_) if n == 1 => Ok(vec![self]),
            Device::Cuda(first) => {
                let count = gpu_count()?;
                anyhow::ensure!(
                    first + n <= count,
                    "training.devices = {n} from cuda:{first} needs GPUs up to cuda:{}, but nvidia-smi lists {count}",
                    first + n - 1
                );
                Ok((first..first + n).map(Device::Cuda).collect())
            }
        }
    }
}

/// The GPUs `nvidia-smi` lists.
pub fn gpu_count() -> Result<usize> {
    let out = std::process::Command::new("nvidia-smi")
        .arg("-L")
        .output()
        .map_err(|e| anyhow::anyhow!("nvidia-smi could not be started: {e}"))?;
    let n = String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.starts_with("GPU ")).count();
    anyhow::ensure!(out.status.success() && n > 0, "nvidia-smi lists no GPU");
    Ok(n)
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
/// compiled kernels and autotune choices in CubeCL's environment under `$TTV_KERNEL_CACHE`
/// (default `~/.cache/ttv/cubecl`), so only the first run on a machine pays; a `cubecl.toml`
/// that names its own environment path wins.
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
            // The default environment root is `target/`, which a released binary has no
            // claim on: keep kernels where every run of this user finds them.
            if matches!(config.environment.path, CacheConfig::Target) {
                config.environment.path = CacheConfig::Directory(dir());
            }
            config.compilation.cache = true;
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
