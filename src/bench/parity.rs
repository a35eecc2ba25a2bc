//! `ttv-bench parity`: the same weights on the CPU and on CUDA, the training forward (from the
//! encoded target) and generation (from the same noise) on both, and the max relative
//! difference, per component.

use anyhow::{Result, anyhow};
use burn::module::Module;
use burn::prelude::*;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::TensorData;

use crate::model::{ReasonOptions, TextToVideo, TextTokenizer, build};
use crate::train::noise::prior;

/// max |a - b| / max |a|
fn rel_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    let a: Vec<f32> = a.into_data().try_to_vec().unwrap();
    let b: Vec<f32> = b.into_data().try_to_vec().unwrap();
    let scale = a.iter().fold(0f32, |m, x| m.max(x.abs())).max(1e-12);
    a.iter().zip(&b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

pub fn run(specs: &[std::path::PathBuf], batch: usize) -> Result<()> {
    let (cpu, gpu) = (crate::backend::cpu(), crate::backend::Device::Cuda(0).open()?);
    let to_gpu = |t: &Tensor<5>| Tensor::<5>::from_data(t.to_data(), &gpu);
    println!("{:<24} {:>12} {:>14} {:>14} {:>12}", "spec", "params", "train rel", "generate rel", "steps equal");
    for path in specs {
        let exp = crate::spec::plan(path, &[]).map_err(|e| anyhow!("{e}"))?;
        let run = &exp.runs[0].spec;
        cpu.seed(0);
        // Parameters initialise lazily and a clone draws its own, so serialise the model
        // itself and load the same bytes on both devices.
        let config = run.model_config().map_err(|e| anyhow!("{e}"))?;
        let m_cpu: TextToVideo = build(&config, &cpu);
        let mut store = SafetensorsStore::from_bytes(None);
        m_cpu.save_into(&mut store).map_err(|e| anyhow!("{e}"))?;
        let bytes = store.get_bytes().map_err(|e| anyhow!("{e}"))?;
        let mut m_gpu: TextToVideo = build(&config, &gpu);
        m_gpu.load_from(&mut SafetensorsStore::from_bytes(Some(bytes))).map_err(|e| anyhow!("{e}"))?;

        let data = crate::data::load(&run.data, &Default::default())?;
        let samples = data.train.take(batch);
        let captions: Vec<&str> = samples.iter().map(|s| s.caption.as_str()).collect();
        let tok = TextTokenizer::gpt2(run.model.text_encoder.max_len as usize).map_err(|e| anyhow!(e))?;
        let (ids, mask) = tok.batch(&captions, &cpu).map_err(|e| anyhow!(e))?;
        let d = &run.data;
        let shape = [samples.len(), 3, d.frames as usize, d.height as usize, d.width as usize];
        let pixels: Vec<f32> = samples.iter().flat_map(|s| s.video.iter().copied()).collect();
        let video = Tensor::<5>::from_data(TensorData::new(pixels, shape), &cpu);

        let train_cpu = m_cpu.forward(ids.clone(), mask.clone(), m_cpu.encode_video(video.clone()), ReasonOptions::TRAIN);
        let ids_g = Tensor::<2, Int>::from_data(ids.to_data(), &gpu);
        let mask_g = Tensor::<2, Bool>::from_data(mask.to_data(), &gpu);
        let train_gpu = m_gpu.forward(ids_g.clone(), mask_g.clone(), m_gpu.encode_video(to_gpu(&video)), ReasonOptions::TRAIN);

        // Per component, to locate a difference: text features, video tokens, decoded tokens.
        let text_c = m_cpu.encode_text(ids.clone(), mask.clone()).tokens;
        let text_g = m_gpu.encode_text(ids_g.clone(), mask_g.clone()).tokens;
        let v = m_cpu.encode_video(video.clone());
        let v_g = m_gpu.encode_video(to_gpu(&video));
        let dec_c = m_cpu.decode(v.clone());
        let dec_g = m_gpu.decode(Tensor::from_data(v.to_data(), &gpu));
        println!(
            "  components: text {:.3e}  video tokens {:.3e}  decode {:.3e}",
            rel_diff(text_c, text_g),
            rel_diff(v.clone(), v_g),
            rel_diff(dec_c, dec_g)
        );
        let start = prior(&m_cpu, 0, "parity", 0, samples.len(), &cpu);
        let gen_cpu = m_cpu.sample(ids, mask, start.clone());
        let gen_gpu = m_gpu.sample(ids_g, mask_g, start.to_device(&gpu));
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
