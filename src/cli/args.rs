//! Arguments shared by the binaries, declared once and flattened into each command.

use std::path::PathBuf;

use clap::Args;

use crate::backend::Device;
use crate::cli::flags::values::hash_prefix;
use crate::cli::score::Selection;
use crate::launch::workers::WorkersWanted;
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

/// Who starts the runs: this process, or Slurm.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Launcher {
    /// Train the runs here, one after another.
    #[default]
    Local,
    /// Submit one sbatch job array per spec, one task per run, on the same store.
    Slurm,
}

/// How runs are launched (`--launcher slurm` and what its tasks ask of Slurm).
#[derive(Args, Debug, Clone, Default)]
pub struct LaunchArgs {
    /// `local` trains here; `slurm` writes an sbatch array script into the store
    /// (`launch/<experiment>/<time>.sbatch`) and submits it; `--dry-run` prints it.
    #[arg(long, value_enum, default_value_t = Launcher::Local)]
    pub launcher: Launcher,
    /// Slurm partition of the tasks.
    #[arg(long, value_name = "NAME")]
    pub partition: Option<String>,
    /// GPUs per run (`--gres=gpu:N`); default 1 with `--device cuda`, 0 on the CPU.
    #[arg(long, value_name = "N")]
    pub gpus_per_run: Option<u32>,
    /// CPU cores per run (`--cpus-per-task`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub cpus_per_run: Option<u32>,
    /// Wall-time limit per run in Slurm's syntax, e.g. `4:00:00`; a run stopped by it is
    /// interrupted with a checkpoint and resumes when resubmitted.
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,
    /// At most this many runs at once (`--array=...%K`).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_parallel: Option<u64>,
    /// A further `#SBATCH` option, verbatim (`--sbatch-arg=--account=lab`); repeatable.
    #[arg(long, value_name = "OPTION", allow_hyphen_values = true)]
    pub sbatch_arg: Vec<String>,
    /// Spread the runs over worker processes on these devices of this host: `cuda:0,cuda:1`,
    /// `cuda:all` or `cpu`; each worker trains the next run nobody holds.
    #[arg(long, value_name = "LIST", value_parser = device_list, conflicts_with = "device")]
    pub devices: Option<DeviceList>,
    /// Workers per device: small models train several runs on one GPU at once. Default: as many
    /// as the GPU's free memory holds (by the largest run's estimated footprint), at most 8; 1
    /// on the CPU.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..=64))]
    pub workers_per_device: Option<u64>,
}

/// The devices `--devices` names, parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceList(pub Vec<Device>);

fn device_list(s: &str) -> Result<DeviceList, String> {
    crate::launch::workers::parse_devices(s).map(DeviceList)
}

impl LaunchArgs {
    /// The devices and workers per device (none: chosen from memory) when the runs are spread
    /// over worker processes (`--devices`, `--workers-per-device`); `None` for one process.
    pub fn workers(&self, device: Device) -> Result<Option<WorkersWanted>, String> {
        let per_device = self.workers_per_device.map(|k| k as usize);
        let devices = self.devices.clone().map_or_else(|| vec![device], |d| d.0);
        if self.launcher == Launcher::Slurm && (self.devices.is_some() || self.workers_per_device.is_some()) {
            return Err("--devices and --workers-per-device are for the local launcher: Slurm places each run".into());
        }
        let several = devices.len() > 1 || per_device.is_some_and(|k| k > 1);
        Ok((several || self.devices.is_some()).then_some(WorkersWanted { devices, per_device }))
    }

    /// The Slurm options for runs on `device`, or the flags that only Slurm takes when the
    /// launcher is local.
    pub fn slurm(&self, device: Device) -> Result<Option<crate::launch::slurm::SlurmOptions>, String> {
        if self.launcher == Launcher::Local {
            let given: Vec<&str> = [
                ("--partition", self.partition.is_some()),
                ("--gpus-per-run", self.gpus_per_run.is_some()),
                ("--cpus-per-run", self.cpus_per_run.is_some()),
                ("--time", self.time.is_some()),
                ("--max-parallel", self.max_parallel.is_some()),
                ("--sbatch-arg", !self.sbatch_arg.is_empty()),
            ]
            .into_iter()
            .filter_map(|(flag, set)| set.then_some(flag))
            .collect();
            if given.is_empty() {
                return Ok(None);
            }
            return Err(format!("{} only apply with --launcher slurm", given.join(", ")));
        }
        let gpus = self.gpus_per_run.unwrap_or(if matches!(device, Device::Cuda(_)) { 1 } else { 0 });
        if gpus == 0 && matches!(device, Device::Cuda(_)) {
            return Err("--gpus-per-run 0 with --device cuda: a CUDA run needs a GPU".into());
        }
        Ok(Some(crate::launch::slurm::SlurmOptions {
            partition: self.partition.clone(),
            gpus_per_run: gpus,
            cpus_per_run: self.cpus_per_run,
            time: self.time.clone(),
            max_parallel: self.max_parallel.map(|k| k as usize),
            extra: self.sbatch_arg.clone(),
        }))
    }
}

/// Which stored runs a command works on: `--experiment` and `--run` (all runs by default).
#[derive(Args, Debug, Clone, Default)]
pub struct SelectionArgs {
    /// Only the runs of this experiment (its `name:`); repeatable. All runs by default.
    #[arg(long, value_name = "NAME")]
    pub experiment: Vec<String>,
    /// Only the runs whose hash starts with this; repeatable.
    #[arg(long, value_name = "HASH", value_parser = hash_prefix)]
    pub run: Vec<String>,
}

impl SelectionArgs {
    pub fn selection(&self) -> Selection<'_> {
        Selection { experiments: &self.experiment, runs: &self.run }
    }
}
