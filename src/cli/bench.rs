//! `ttv-bench` commands: speed figures printed as tables (never timed unit tests).

use std::path::Path;
use std::time::Instant;

use crate::backend::Device;
use crate::data::{Dataset, Loader};
use crate::spec::types::DataSpec;

/// `ttv-bench perf`: the speed table of `spec`'s first run on `device`, written as JSON too.
pub fn perf(
    spec: &Path,
    device: Device,
    options: crate::bench::PerfOptions,
    set: &[String],
    json: &Path,
    anchors: Option<&Path>,
) -> anyhow::Result<()> {
    let exp = crate::spec::plan(spec, set)?;
    let first = exp.runs.first().ok_or_else(|| anyhow::anyhow!("{} expands to no runs", spec.display()))?;
    let job = crate::bench::PerfJob {
        name: exp.name.clone(),
        spec: first.spec.clone(),
        options,
        device_name: crate::backend::describe(device),
    };
    let result = crate::bench::perf(&job, &device.open()?)?;
    print!("{}", crate::bench::table(&result));
    if let Some(path) = anchors {
        print!("{}", crate::bench::anchors::table(&result, &crate::bench::anchors::load(path)?));
    }
    crate::store::atomic::write_atomic(json, &serde_json::to_vec_pretty(&result)?)?;
    Ok(())
}

/// `ttv-bench graphs`: eager and recorded training trajectories side by side.
pub fn graphs(spec: &Path, device: Device, batches: &[usize], updates: usize, set: &[String]) -> anyhow::Result<()> {
    let exp = crate::spec::plan(spec, set)?;
    let first = exp.runs.first().ok_or_else(|| anyhow::anyhow!("{} expands to no runs", spec.display()))?;
    let device = device.open()?;
    let checks = batches
        .iter()
        .map(|&b| crate::bench::graphs::check(&first.spec, &device, b, updates))
        .collect::<anyhow::Result<Vec<_>>>()?;
    print!("{}", crate::bench::graphs::table(&checks));
    Ok(())
}

/// `ttv-bench data`: shapes samples/s through the batching loader.
pub fn data(batch: usize, seconds: f64) -> anyhow::Result<()> {
    println!("shapes data, {} threads, batch {batch}", rayon::current_num_threads());
    println!("{:<10} {:>10} {:>14} {:>12}", "shape", "samples", "samples/s", "MB/s");
    for (frames, height, width) in [(8u32, 32u32, 32u32), (16, 64, 64)] {
        let spec = DataSpec { frames, height, width, samples: 2000, eval_fraction: 0.05, ..DataSpec::default() };
        let data = crate::data::load(&spec, &Default::default())?;
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
