//! `ttv-bench`: speed measurements that print a table (never timed unit tests).

use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};

use ttv::backend::Device;
use ttv::cli::args::{DeviceArgs, OverrideArgs};
use ttv::data::{Dataset, Loader};
use ttv::spec::types::DataSpec;

/// Measure ttv's speed and print a table.
#[derive(Parser, Debug)]
#[command(name = "ttv-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Shapes data throughput (samples/s through the batching loader) at 8x32x32 and 16x64x64.
    Data {
        /// Batch size of the loader.
        #[arg(long, default_value_t = 16)]
        batch: usize,
        /// Seconds to measure each configuration for (after one warm-up epoch).
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
    /// Training samples/s and generation latency of a spec's model (its first run) on a
    /// device: the figures of the PyTorch anchors, plus per-component forward times, each with
    /// its achieved FLOP/s (analytic FLOPs per sample) against the device's measured matmul
    /// peak. Prints a table and writes it as JSON.
    Perf {
        /// Spec file (its first run's model and clip size are used).
        spec: std::path::PathBuf,
        #[command(flatten)]
        device: DeviceArgs,
        /// Training batch sizes.
        #[arg(long, value_delimiter = ',', default_values_t = vec![2usize, 16, 64])]
        train_batches: Vec<usize>,
        /// Generation batch sizes.
        #[arg(long, value_delimiter = ',', default_values_t = vec![1usize, 64])]
        gen_batches: Vec<usize>,
        /// Timed repeats per figure (median reported).
        #[arg(long, default_value_t = 10)]
        repeats: usize,
        /// Untimed calls first (the first one is reported as the cold time).
        #[arg(long, default_value_t = 3)]
        warmup: usize,
        /// Side of the square f32 matmul timed as the device's peak FLOP/s (default 8192 on
        /// cuda, 1024 on cpu).
        #[arg(long)]
        peak_size: Option<usize>,
        #[command(flatten)]
        overrides: OverrideArgs,
        /// JSON output.
        #[arg(long, default_value = "bench-perf.json")]
        json: std::path::PathBuf,
    },
    /// Build each spec's model on the CPU, copy the same weights to CUDA, run the training
    /// forward (from the encoded target) and generation (from the same noise) on both, and print
    /// the max relative difference. Needs a build with `--features cuda`.
    Parity {
        /// Spec files (their first run's model is used).
        #[arg(default_values = ["experiments/reference.yaml", "experiments/paper.yaml"])]
        specs: Vec<std::path::PathBuf>,
        /// Clips in the batch.
        #[arg(long, default_value_t = 4)]
        batch: usize,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Data { batch, seconds } => ttv::cli::exit_code(bench_data(batch, seconds)),
        Command::Perf { spec, device, train_batches, gen_batches, repeats, warmup, peak_size, overrides, json } => {
            let peak_n = peak_size.unwrap_or(if device.device == Device::Cpu { 1024 } else { 8192 });
            let options = ttv::bench::PerfOptions { train_batches, gen_batches, repeats, warmup, peak_n };
            ttv::cli::exit_code(perf(&spec, device.device, options, &overrides.set, &json))
        }
        Command::Parity { specs, batch } => ttv::cli::exit_code(parity::run(&specs, batch)),
    }
}

fn perf(
    spec: &std::path::Path,
    device: Device,
    options: ttv::bench::PerfOptions,
    set: &[String],
    json: &std::path::Path,
) -> anyhow::Result<()> {
    let exp = ttv::spec::plan(spec, set)?;
    let first = exp.runs.first().ok_or_else(|| anyhow::anyhow!("{} expands to no runs", spec.display()))?;
    let job = ttv::bench::PerfJob {
        name: exp.name.clone(),
        spec: first.spec.clone(),
        options,
        device_name: ttv::backend::describe(device),
    };
    let result = ttv::backend::dispatch(device, job)?;
    print!("{}", ttv::bench::table(&result));
    ttv::store::atomic::write_atomic(json, &serde_json::to_vec_pretty(&result)?)?;
    Ok(())
}

fn bench_data(batch: usize, seconds: f64) -> anyhow::Result<()> {
    println!("shapes data, {} threads, batch {batch}", rayon::current_num_threads());
    println!("{:<10} {:>10} {:>14} {:>12}", "shape", "samples", "samples/s", "MB/s");
    for (frames, height, width) in [(8u32, 32u32, 32u32), (16, 64, 64)] {
        let spec = DataSpec { frames, height, width, samples: 2000, eval_fraction: 0.05, ..DataSpec::default() };
        let data = ttv::data::load(&spec, &Default::default())?;
        let rate = measure(&data.train, batch, seconds);
        let bytes = (3 * frames * height * width) as f64 * 4.0;
        println!(
            "{:<10} {:>10} {:>14.0} {:>12.1}",
            format!("{frames}x{height}x{width}"),
            data.train.len(),
            rate,
            rate * bytes / 1e6
        );
    }
    Ok(())
}

/// Samples per second over whole epochs until `seconds` have passed (median-free: total/total).
fn measure(ds: &Dataset, batch: usize, seconds: f64) -> f64 {
    let loader = Loader::new(ds.clone(), batch).prefetch(4);
    let _ = loader.epoch(0).map(|b| b.len()).sum::<usize>(); // warm-up
    let start = Instant::now();
    let (mut n, mut epoch) = (0usize, 1u64);
    while start.elapsed().as_secs_f64() < seconds {
        n += loader.epoch(epoch).map(|b| b.len()).sum::<usize>();
        epoch += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

#[cfg(not(feature = "cuda"))]
mod parity {
    pub fn run(_specs: &[std::path::PathBuf], _batch: usize) -> anyhow::Result<()> {
        anyhow::bail!("this ttv-bench was built without CUDA: rebuild with `--features cuda`")
    }
}

#[cfg(feature = "cuda")]
mod parity {
    use anyhow::{Result, anyhow};
    use burn::backend::Cuda;
    use burn::module::Module;
    use burn::prelude::*;
    use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
    use burn::tensor::{Distribution, TensorData};
    use ttv::backend::Cpu;

    use ttv::model::{ReasonOptions, TextToVideo, TextTokenizer, build};

    type Rec = BinBytesRecorder<FullPrecisionSettings>;

    /// max |a - b| / max |a|
    fn rel_diff<const D: usize>(a: Tensor<Cpu, D>, b: Tensor<Cuda, D>) -> f32 {
        let a: Vec<f32> = a.into_data().to_vec().unwrap();
        let b: Vec<f32> = b.into_data().to_vec().unwrap();
        let scale = a.iter().fold(0f32, |m, x| m.max(x.abs())).max(1e-12);
        a.iter().zip(&b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
    }

    fn to_gpu<const D: usize>(t: &Tensor<Cpu, D>, device: &burn::tensor::Device<Cuda>) -> Tensor<Cuda, D> {
        Tensor::from_data(t.to_data(), device)
    }

    pub fn run(specs: &[std::path::PathBuf], batch: usize) -> Result<()> {
        ttv::backend::kernel_cache::configure();
        let (cpu, gpu): (burn::tensor::Device<Cpu>, burn::tensor::Device<Cuda>) = (Default::default(), Default::default());
        println!("{:<24} {:>12} {:>14} {:>14} {:>12}", "spec", "params", "train rel", "generate rel", "steps equal");
        for path in specs {
            let exp = ttv::spec::plan(path, &[]).map_err(|e| anyhow!("{e}"))?;
            let run = &exp.runs[0].spec;
            <Cpu as Backend>::seed(&cpu, 0);
            // Parameters initialise lazily and a clone draws its own, so record the model itself
            // and load the same bytes into both backends.
            let config = run.model_config().map_err(|e| anyhow!("{e}"))?;
            let m_init: TextToVideo<Cpu> = build(&config, &cpu);
            let bytes = Recorder::<Cpu>::record(&Rec::default(), m_init.into_record(), ())?;
            let m_cpu: TextToVideo<Cpu> =
                build(&config, &cpu).load_record(Recorder::<Cpu>::load(&Rec::default(), bytes.clone(), &cpu)?);
            let record = Recorder::<Cuda>::load(&Rec::default(), bytes, &gpu)?;
            let m_gpu: TextToVideo<Cuda> = build(&config, &gpu).load_record(record);

            let data = ttv::data::load(&run.data, &Default::default())?;
            let samples = data.train.take(batch);
            let captions: Vec<&str> = samples.iter().map(|s| s.caption.as_str()).collect();
            let tok = TextTokenizer::gpt2(run.model.text_encoder.max_len as usize).map_err(|e| anyhow!(e))?;
            let (ids, mask) = tok.batch::<Cpu>(&captions, &cpu).map_err(|e| anyhow!(e))?;
            let d = &run.data;
            let shape = [samples.len(), 3, d.frames as usize, d.height as usize, d.width as usize];
            let pixels: Vec<f32> = samples.iter().flat_map(|s| s.video.iter().copied()).collect();
            let video = Tensor::<Cpu, 5>::from_data(TensorData::new(pixels, shape), &cpu);

            let train_cpu = m_cpu.forward(ids.clone(), mask.clone(), m_cpu.encode_video(video.clone()), ReasonOptions::TRAIN);
            let ids_g = Tensor::<Cuda, 2, Int>::from_data(ids.to_data(), &gpu);
            let mask_g = Tensor::<Cuda, 2, Bool>::from_data(mask.to_data(), &gpu);
            let train_gpu =
                m_gpu.forward(ids_g.clone(), mask_g.clone(), m_gpu.encode_video(to_gpu(&video, &gpu)), ReasonOptions::TRAIN);

            // Per component, to locate a difference: text features, video tokens, decoded tokens.
            let text_c = m_cpu.encode_text(ids.clone(), mask.clone()).tokens;
            let text_g = m_gpu.encode_text(ids_g.clone(), mask_g.clone()).tokens;
            let v = m_cpu.encode_video(video.clone());
            let v_g = m_gpu.encode_video(to_gpu(&video, &gpu));
            let dec_c = m_cpu.decode(v.clone());
            let dec_g = m_gpu.decode(to_gpu(&v, &gpu));
            println!(
                "  components: text {:.3e}  video tokens {:.3e}  decode {:.3e}",
                rel_diff(text_c, text_g),
                rel_diff(v.clone(), v_g),
                rel_diff(dec_c, dec_g)
            );
            let noise = Tensor::<Cpu, 3>::random(v.dims(), Distribution::Normal(0.0, 0.02), &cpu);
            let gen_cpu = m_cpu.generate(ids, mask, noise.clone());
            let gen_gpu = m_gpu.generate(ids_g, mask_g, to_gpu(&noise, &gpu));
            let params = m_cpu.num_params();
            println!(
                "{:<24} {:>12} {:>14.3e} {:>14.3e} {:>12}",
                path.file_name().unwrap().to_string_lossy(),
                params,
                rel_diff(train_cpu.video, train_gpu.video),
                rel_diff(gen_cpu.video, gen_gpu.video),
                gen_cpu.steps_taken == gen_gpu.steps_taken
            );
        }
        Ok(())
    }
}
