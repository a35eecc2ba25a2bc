//! `ttv-run runs export --format pytorch`: a reference-family run at the reference size
//! (experiments/reference.yaml, 20,369,668 parameters; built, not trained, and checkpointed the
//! way the store does) is written in the reference code's PyTorch layout, and every tensor name
//! and shape in the file equals, one to one, the `state_dict` of `TTVHRM()` in
//! bench/torch_ref.py as PyTorch lists it (tests/common/fixtures/torch_ref_state_dict.txt, one
//! `name [shape]` per line). Linear weights come out transposed; the paper family is refused.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use common::{TINY, Workspace, text, ttv_run};
use ttv::model::TextToVideo;
use ttv::spec::RunPlan;
use ttv::store::Store;
use ttv::train::adamw::AdamW;
use ttv::train::checkpoint::{self, TrainerState};

/// `name -> shape` from the fixture.
fn fixture() -> BTreeMap<String, Vec<usize>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/common/fixtures/torch_ref_state_dict.txt");
    let listing = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    listing
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (name, shape) = line.trim().split_once(char::is_whitespace).unwrap_or((line.trim(), ""));
            let dims = shape.split(|c: char| !c.is_ascii_digit()).filter(|d| !d.is_empty()).map(|d| d.parse().unwrap()).collect();
            (name.to_string(), dims)
        })
        .collect()
}

/// The first run of `spec` stored in `ws`'s store with the freshly built model as its only
/// checkpoint, as training writes one. Returns the run's short hash and the model.
fn stored_untrained(ws: &Workspace, plan: &RunPlan) -> (String, TextToVideo) {
    let store = Store::open(&ws.path().join("registry")).unwrap();
    let dir = store.run(&plan.hash);
    std::fs::create_dir_all(dir.path()).unwrap();
    dir.write_spec(plan).unwrap();
    let device = ttv::backend::cpu();
    let model = ttv::model::build(&plan.spec.model_config().unwrap(), &device);
    let adamw = AdamW::new(&plan.spec.training.optimizer, &model, 0, &device);
    let state = TrainerState::start(plan.hash.clone());
    checkpoint::save(&dir.ckpt_dir(), &checkpoint::periodic_name(0), &model, &adamw, &state).unwrap();
    (dir.short(), model)
}

fn plan(spec: &Path) -> RunPlan {
    ttv::spec::plan(spec, &[]).unwrap_or_else(|e| panic!("{e}")).runs.remove(0)
}

/// The exported file's tensors: name -> (shape, f32 values).
fn read(file: &Path) -> BTreeMap<String, (Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(file).unwrap();
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = meta.metadata().clone().unwrap_or_default();
    assert_eq!(meta.get("format").map(String::as_str), Some("pt"), "{meta:?}");
    tensors
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            assert_eq!(view.dtype(), safetensors::Dtype::F32, "{name}");
            let values = view.data().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
            (name, (view.shape().to_vec(), values))
        })
        .collect()
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

#[test]
fn a_reference_run_exports_the_pytorch_state_dict() {
    let ws = Workspace::new();
    let plan = plan(&Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/reference.yaml"));
    let (short, model) = stored_untrained(&ws, &plan);
    let out: PathBuf = ws.path().join("export/ttv_hrm.safetensors");
    let o = ttv_run(ws.path(), &["runs", "export", &short, "--format", "pytorch", "--out", out.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("PyTorch layout"), "{}", text(&o));

    let exported = read(&out);
    let shapes: BTreeMap<String, Vec<usize>> = exported.iter().map(|(n, (s, _))| (n.clone(), s.clone())).collect();
    let expected = fixture();
    let missing: Vec<&String> = expected.keys().filter(|k| !shapes.contains_key(*k)).collect();
    let extra: Vec<&String> = shapes.keys().filter(|k| !expected.contains_key(*k)).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing from the export: {missing:?}\nnot in PyTorch's: {extra:?}");
    for (name, shape) in &expected {
        assert_eq!(&shapes[name], shape, "{name}");
    }

    // Values: Linear weights transposed to [out, in], the rest as they are, the buffers the
    // model's own.
    let text_block = &model.text_encoder.blocks[0];
    let gate = values(text_block.ffn.gate.weight.val()); // burn: [in 256, out 512]
    let (w1_shape, w1) = &exported["text.layers.0.ffn.w1.weight"]; // torch: [out 512, in 256]
    assert_eq!(w1_shape, &vec![512, 256]);
    for (o, i) in [(0, 0), (3, 7), (511, 255), (100, 200)] {
        assert_eq!(w1[o * 256 + i], gate[i * 512 + o], "w1[{o}][{i}]");
    }
    let embedding = values(model.text_encoder.token_embedding.weight.val());
    assert_eq!(exported["text.emb.weight"].1, embedding);
    assert_eq!(exported["out_norm.weight"].1, values(model.output_norm.gamma.val()));
    assert_eq!(exported["H_init"].1, values(model.engine.h_init.clone()));
    assert_eq!(exported["L_init"].1, values(model.engine.l_init.clone()));
    let inv_freq = &exported["rope.inv_freq"].1;
    assert!((inv_freq[0] - 1.0).abs() < 1e-7 && (inv_freq[1] - 10_000f32.powf(-2.0 / 32.0)).abs() < 1e-7, "{inv_freq:?}");
}

#[test]
fn the_paper_family_is_refused() {
    let ws = Workspace::new();
    let (short, _) = stored_untrained(&ws, &plan(&ws.write("tiny.yaml", TINY)));
    let out = ws.path().join("paper.safetensors");
    let o = ttv_run(ws.path(), &["runs", "export", &short, "--format", "pytorch", "--out", out.to_str().unwrap()], &[]);
    let err = text(&o);
    assert!(!o.status.success() && err.contains("paper family has no PyTorch model"), "{err}");
    assert!(!out.exists(), "nothing written");
}
