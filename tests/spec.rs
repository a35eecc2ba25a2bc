//! Spec loading, validation, sweeps and run identity, as a user meets them.

mod common;

use std::path::Path;

use common::Workspace;
use ttv::spec::{self, RunSpec, SpecErrors, plan};

fn hashes(path: &Path, overrides: &[&str]) -> Vec<String> {
    let ov: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    plan(path, &ov).unwrap_or_else(|e| panic!("{e}")).runs.into_iter().map(|r| r.hash).collect()
}

fn errors(path: &Path, overrides: &[&str]) -> SpecErrors {
    let ov: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    match plan(path, &ov) {
        Ok(_) => panic!("expected {} to be rejected", path.display()),
        Err(e) => e,
    }
}

/// Each error's text with the temp directory replaced by `DIR`.
fn error_texts(d: &Workspace, path: &Path, overrides: &[&str]) -> Vec<String> {
    errors(path, overrides).0.iter().map(|e| e.to_string().replace(&d.path().display().to_string(), "DIR")).collect()
}

// ------------------------------------------------------------------------------------------
// identity

#[test]
fn same_science_same_hash_whatever_the_key_order_comments_or_defaults() {
    let d = Workspace::new();
    let a = d.write("a.yaml", "model:\n  hidden: 64\n  heads: 4\ntraining:\n  epochs: 2\n");
    let b = d.write(
        "b.yaml",
        "# a comment\nname: other-name\ndescription: words do not change science\ntraining: {epochs: 2}\nmodel:\n  heads: 4   # reordered\n  hidden: 64\n  expansion: 2.0   # the default, written out\n  halting: {threshold: 0.5}\n",
    );
    assert_eq!(hashes(&a, &[]), hashes(&b, &[]));
    // An integer where a float is expected is the same value.
    let c = d.write("c.yaml", "model: {hidden: 64, heads: 4, expansion: 2}\ntraining: {epochs: 2}\n");
    assert_eq!(hashes(&a, &[]), hashes(&c, &[]));
    // Durations are stored as seconds.
    let h1 = hashes(&a, &["training.time_budget=1h"]);
    assert_eq!(h1, hashes(&a, &["training.time_budget=3600"]));
}

#[test]
fn any_change_of_science_changes_the_hash() {
    let d = Workspace::new();
    let a = d.write("a.yaml", "model: {hidden: 64, heads: 4}\n");
    let base = hashes(&a, &[]);
    for ov in ["model.heads=8", "training.epochs=4", "data.samples=51", "model.halting.threshold=0.4", "seeds=[1]"] {
        assert_ne!(hashes(&a, &[ov]), base, "{ov} should change the hash");
    }
    let h = &base[0];
    assert_eq!(h.len(), 64);
    assert!(h.chars().all(|c| c.is_ascii_hexdigit()));
}

#[test]
fn hash_is_stable_across_invocations_and_versions_the_format() {
    let d = Workspace::new();
    let a = d.write("a.yaml", "seeds: [0, 1]\nsweep:\n  model.halting.threshold: [0.3, 0.7]\n");
    assert_eq!(hashes(&a, &[]), hashes(&a, &[]));
    let run = &plan(&a, &[]).unwrap().runs[0];
    // The identity covers the canonical JSON: sorted keys, defaults filled, the seed applied.
    let json = spec::canonical_json(&run.spec);
    assert!(json.starts_with("{\"data\":"), "{json}");
    assert!(json.contains("\"seed\":0"));
    assert!(json.contains("\"threshold\":0.3"));
    assert!(!json.contains("name"));
    assert_eq!(spec::FORMAT_VERSION, "ttv-run-spec/1");
}

#[test]
fn a_field_added_later_keeps_old_hashes_at_its_old_meaning() {
    let d = Workspace::new();
    let a = d.write("a.yaml", "model: {hidden: 64, heads: 4}\n");
    let run = &plan(&a, &[]).unwrap().runs[0];
    let json = spec::canonical_json(&run.spec);
    // Off means what every run stored before the field existed: not in the identity.
    assert!(!json.contains("position_embedding"), "{json}");
    assert_eq!(hashes(&a, &["model.video_codec.position_embedding=false"]), hashes(&a, &[]));
    // On is new science: a new hash, and the field is part of it.
    let on = &plan(&a, &["model.video_codec.position_embedding=true".to_string()]).unwrap().runs[0];
    assert!(spec::canonical_json(&on.spec).contains("\"position_embedding\":true"));
    assert_ne!(hashes(&a, &["model.video_codec.position_embedding=true"]), hashes(&a, &[]));
}

#[test]
fn the_cpu_convolution_is_science_but_its_default_keeps_old_hashes() {
    let d = Workspace::new();
    let a = d.write("a.yaml", "model: {hidden: 64, heads: 4}\n");
    let run = &plan(&a, &[]).unwrap().runs[0];
    assert!(!spec::canonical_json(&run.spec).contains("cpu_conv"));
    assert_eq!(hashes(&a, &["model.video_codec.cpu_conv=native"]), hashes(&a, &[]));
    let gemm = &plan(&a, &["model.video_codec.cpu_conv=gemm".to_string()]).unwrap().runs[0];
    assert!(spec::canonical_json(&gemm.spec).contains("\"cpu_conv\":\"gemm\""));
    assert_ne!(gemm.hash, run.hash);
}

#[test]
fn flow_sampling_steps_are_science_of_flow_runs_only_and_their_default_is_not_written() {
    let d = Workspace::new();
    let a = d.write("a.yaml", "model: {hidden: 64, heads: 4}\n");
    // Runs of the other objectives: no trace of the field in their identity.
    for objective in ["paper", "noise_regression"] {
        let run = &plan(&a, &[format!("training.objective={objective}")]).unwrap().runs[0];
        assert!(!spec::canonical_json(&run.spec).contains("flow"), "{objective}");
    }
    let flow = hashes(&a, &["training.objective=flow_matching"]);
    assert_eq!(flow, hashes(&a, &["training.objective=flow_matching", "training.flow.sampling_steps=8"]));
    assert_eq!(flow, hashes(&a, &["training.objective=flow_matching", "training.flow={}"]));
    let sixteen = &plan(&a, &["training.objective=flow_matching".into(), "training.flow.sampling_steps=16".into()]).unwrap();
    assert!(spec::canonical_json(&sixteen.runs[0].spec).contains("\"flow\":{\"sampling_steps\":16}"));
    assert_ne!(sixteen.runs[0].hash, flow[0]);
    assert_ne!(flow, hashes(&a, &["training.objective=noise_regression"]));
}

/// Resolved specs as the run store holds them, each under the hash it was stored with: one
/// written before `position_embedding` existed (no such key) and one with it on.
const STORED: &[&str] =
    &[include_str!("common/fixtures/dbfd82939247.spec.yaml"), include_str!("common/fixtures/197e92c3a8c9.spec.yaml")];

#[test]
fn stored_runs_keep_their_hash() {
    for text in STORED {
        let stored = text.lines().find_map(|l| l.strip_prefix("# hash: ")).expect("a hash header");
        let run: RunSpec = serde_norway::from_str(text).unwrap();
        assert_eq!(spec::run_hash(&run), stored);
        spec::validate(&run).unwrap_or_else(|e| panic!("{stored}: {e}"));
    }
}

// ------------------------------------------------------------------------------------------
// sweeps

#[test]
fn sweep_grid_zip_include_and_seeds_multiply_as_documented() {
    let d = Workspace::new();
    let grid = d.write(
        "grid.yaml",
        "seeds: [0, 1, 2]\nsweep:\n  model.halting.threshold: [0.3, 0.5, 0.7]\n  model.engine.max_steps: [1, 2]\n",
    );
    assert_eq!(hashes(&grid, &[]).len(), 3 * 2 * 3);

    let zip = d.write(
        "zip.yaml",
        "zip:\n  model.engine.h_layers: [1, 2, 3]\n  model.engine.l_layers: [3, 2, 1]\nsweep:\n  training.epochs: [1, 2]\n",
    );
    let exp = plan(&zip, &[]).unwrap();
    assert_eq!(exp.runs.len(), 3 * 2);
    let pairs: Vec<(u32, u32)> = exp.runs.iter().map(|r| (r.spec.model.engine.h_layers, r.spec.model.engine.l_layers)).collect();
    assert!(pairs.iter().all(|(h, l)| h + l == 4), "zip pairs values by index: {pairs:?}");

    let inc = d.write(
        "inc.yaml",
        "seeds: [0, 1]\nsweep:\n  model.halting.threshold: [0.3, 0.5]\ninclude:\n  - {model.halting.kind: none}\n",
    );
    let exp = plan(&inc, &[]).unwrap();
    let labels: Vec<&str> = exp.runs.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["threshold=0.3", "threshold=0.3", "threshold=0.5", "threshold=0.5", "kind=none", "kind=none"]);
    assert_eq!(exp.swept, ["model.halting.kind", "model.halting.threshold"]);
}

#[test]
fn duplicate_variants_collapse_to_one_run() {
    let d = Workspace::new();
    // The include repeats a grid point: same science, one run.
    let p = d.write("p.yaml", "sweep:\n  training.epochs: [1, 2]\ninclude:\n  - {training.epochs: 2}\n");
    assert_eq!(hashes(&p, &[]).len(), 2);
}

#[test]
fn ablation_halting_lists_thresholds_plus_off_times_seeds() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/ablation_halting.yaml");
    let exp = plan(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
    let seeds = exp.runs.iter().map(|r| r.seed).collect::<std::collections::BTreeSet<_>>();
    let variants = exp.runs.iter().map(|r| r.label.clone()).collect::<std::collections::BTreeSet<_>>();
    assert_eq!(seeds.len(), 3);
    assert_eq!(variants.len(), 7 + 1, "{variants:?}");
    assert!(variants.contains("kind=none"));
    assert_eq!(exp.runs.len(), variants.len() * seeds.len());
}

// ------------------------------------------------------------------------------------------
// extends and overrides

#[test]
fn extends_deep_merges_and_overrides_win_in_order() {
    let d = Workspace::new();
    d.write(
        "base.yaml",
        "model:\n  hidden: 64\n  heads: 4\n  halting: {threshold: 0.3, loss_weight: 0.2}\ntraining: {epochs: 5}\n",
    );
    let child = d.write("child.yaml", "extends: base.yaml\nmodel:\n  halting:\n    threshold: 0.6\n");
    let run = &plan(&child, &[]).unwrap().runs[0].spec;
    assert_eq!(run.model.hidden, 64, "kept from the base");
    assert_eq!(run.model.halting.threshold, 0.6, "the child wins");
    assert_eq!(run.model.halting.loss_weight, 0.2, "siblings of an overridden key survive the merge");
    assert_eq!(run.training.epochs, 5);

    let ov = |o: &[&str]| {
        let o: Vec<String> = o.iter().map(|s| s.to_string()).collect();
        plan(&child, &o).unwrap().runs[0].spec.clone()
    };
    assert_eq!(ov(&["model.halting.threshold=0.4"]).model.halting.threshold, 0.4, "-s beats the file");
    assert_eq!(ov(&["training.epochs=1", "training.epochs=2"]).training.epochs, 2, "the last -s wins");
    assert_eq!(ov(&["training.time_budget=30m"]).training.time_budget.unwrap().0, 1800.0);
    assert_eq!(ov(&["eval.prompts=[a cat, a dog]"]).eval.prompts, ["a cat", "a dog"]);
    let swept = plan(&child, &["sweep.training.epochs=[1, 2, 3]".to_string()]).unwrap();
    assert_eq!(swept.runs.len(), 3, "a sweep can be given on the command line");
}

#[test]
fn extends_in_nested_directories_is_relative_to_the_file() {
    let d = Workspace::new();
    d.write("root.yaml", "training: {epochs: 7}\n");
    let child = d.write("sub/child.yaml", "extends: ../root.yaml\n");
    assert_eq!(plan(&child, &[]).unwrap().runs[0].spec.training.epochs, 7);
}

// ------------------------------------------------------------------------------------------
// validation: every message names the file, the line and the field

/// What a refused spec's errors must say (the temp folder shown as `DIR`).
enum Want {
    /// One error, exactly this.
    Is(&'static str),
    /// One error, starting with this and containing each of the rest.
    Starts(&'static str, &'static [&'static str]),
    /// This many errors; each fragment is in one of them.
    Errors(usize, &'static [&'static str]),
}
use Want::*;

/// A refused spec: the files written (name, text), the one planned, the `-s` overrides, and
/// what the errors say.
type Refused = (&'static [(&'static str, &'static str)], &'static str, &'static [&'static str], Want);

const X: &str = "x.yaml";

#[rustfmt::skip]
const REFUSED: &[Refused] = &[
    // reading: unknown keys and values suggest the closest valid one; types; YAML; extends
    (&[(X, "model:\n  hidden: 64\n  halting:\n    treshold: 0.5\n")], X, &[],
        Starts("DIR/x.yaml:4: model.halting.treshold = 0.5: unknown key `treshold`; did you mean `threshold`?", &[])),
    (&[(X, "trainng:\n  epochs: 3\n")], X, &[], Starts("DIR/x.yaml:1: trainng", &["did you mean `training`?"])),
    (&[(X, "model:\n  engine:\n    kind: hmr\n")], X, &[],
        Starts("DIR/x.yaml:3: model.engine.kind = hmr: unknown value `hmr`; did you mean `hrm`?", &[])),
    (&[(X, "data:\n  samples: 50\ntraining:\n  epochs: three\n")], X, &[],
        Starts("DIR/x.yaml:4: training.epochs = three: invalid type: string \"three\"", &[])),
    (&[(X, "model:\n  hidden: 64\n  heads: [4\n")], X, &[], Starts("DIR/x.yaml:", &["invalid YAML"])),
    (&[("a.yaml", "extends: b.yaml\n"), ("b.yaml", "model: {hidden: 64}\nextends: a.yaml\n")], "a.yaml", &[],
        Starts("DIR/b.yaml:2: extends = a.yaml: extends cycle: a.yaml -> b.yaml -> a.yaml", &[])),
    (&[("c.yaml", "# base missing\nextends: nowhere.yaml\n")], "c.yaml", &[],
        Starts("DIR/c.yaml:2: extends = nowhere.yaml: cannot read base spec DIR/nowhere.yaml", &[])),
    (&[], "missing.yaml", &[], Starts("DIR/missing.yaml: cannot read spec", &[])),
    // where an error points: the base file, the command line, the sweep line
    (&[("child.yaml", "extends: base.yaml\nmodel: {hidden: 64}\n"), ("base.yaml", "training:\n  epochs: 3\n  batch_size: 0\n")],
        "child.yaml", &[], Is("DIR/base.yaml:3: training.batch_size = 0: must be >= 1")),
    (&[(X, "training:\n  batch_size: 2\n  devices: 4\n")], X, &[],
        Is("DIR/x.yaml:3: training.devices = 4: must be <= training.batch_size (each device takes a share of every micro-batch)")),
    (&[(X, "model: {hidden: 64}\n")], X, &["model.halting.threshold=2"],
        Is("command line (-s model.halting.threshold=2): model.halting.threshold = 2: must be in [0, 1]")),
    (&[(X, "model: {hidden: 64}\n")], X, &["model.hidden"], Starts("", &["expected -s dotted.path=value"])),
    (&[(X, "model:\n  hidden: 64\nsweep:\n  model.halting.threshold: [0.3, 1.5]\n")], X, &[],
        Is("DIR/x.yaml:4: model.halting.threshold = 1.5 (in sweep): must be in [0, 1]")),
    (&[(X, "seeds: [0]\nsweep:\n  model.halting.threshold: []\n")], X, &[],
        Is("DIR/x.yaml:3: sweep.model.halting.threshold = []: empty sweep list: give at least one value")),
    (&[(X, "sweep:\n  model.halting.treshold: [0.3]\n")], X, &[],
        Starts("DIR/x.yaml:2: sweep.model.halting.treshold = [0.3]: `model.halting.treshold` is not a spec field; did you mean `model.halting.threshold`?", &[])),
    (&[(X, "seeds: []\n")], X, &[], Starts("DIR/x.yaml:1: seeds", &["needs at least one seed"])),
    (&[(X, "seeds: [3, 3]\n")], X, &[], Starts("DIR/x.yaml:1: seeds", &["seed 3 is listed twice"])),
    // every problem of a spec is reported together
    (&[(X, "model:\n  engine: {max_steps: 0}\ntraining:\n  epochs: 0\n  grad_accum: 0\n")], X, &[], Errors(3, &[])),
    // data
    (&[(X, "data: {samples: 1}\n")], X, &[], Starts("DIR/x.yaml:1: data.samples = 1: must be at least 2", &[])),
    (&[(X, "data: {eval_fraction: 1.0}\n")], X, &[], Is("DIR/x.yaml:1: data.eval_fraction = 1.0: must be in (0, 1)")),
    (&[(X, "data: {samples: 2}\n")], X, &[],
        Is("DIR/x.yaml:1: data.eval_fraction: leaves 0 of 2 samples for eval; both splits need at least one")),
    (&[(X, "data: {width: 0}\n")], X, &[], Errors(2, &["data.frames: frames, height and width must be >= 1", "data.width = 0"])),
    (&[(X, "data: {kind: folder}\n")], X, &[], Is("DIR/x.yaml:1: data.source: `folder` and `finevideo` need a source")),
    (&[(X, "data: {kind: finevideo, source: shards, split: heldout}\n")], X, &[],
        Is("DIR/x.yaml:1: data.split = heldout: `heldout` needs shapes data")),
    // model
    (&[(X, "model:\n  hidden: 0\n")], X, &[], Starts("DIR/x.yaml:2: model.hidden = 0: must be >= 1", &[])),
    (&[(X, "model:\n  heads: 0\n")], X, &[], Is("DIR/x.yaml:2: model.heads = 0: must be >= 1")),
    // The reference codec divides hidden by 4 only, so the heads are the one problem here.
    (&[(X, "model:\n  hidden: 100\n  heads: 8\n  video_codec: {kind: reference}\n")], X, &[],
        Is("DIR/x.yaml:3: model.heads = 8: hidden 100 is not divisible by heads 8")),
    (&[(X, "model:\n  hidden: 96\n  heads: 32\n")], X, &[], Is("DIR/x.yaml:3: model.heads = 32: head dim 3 must be even for RoPE")),
    (&[(X, "model:\n  expansion: 0\n")], X, &[], Is("DIR/x.yaml:2: model.expansion = 0: must be > 0")),
    (&[(X, "model:\n  expansion: 0.001\n")], X, &[],
        Is("DIR/x.yaml:2: model.expansion = 0.001: hidden 256 x expansion 0.001 leaves the feed-forward layer empty")),
    (&[(X, "model:\n  text_encoder: {layers: 0}\n")], X, &[], Is("DIR/x.yaml:2: model.text_encoder.layers = 0: must be >= 1")),
    (&[(X, "model:\n  text_encoder: {max_len: 0}\n")], X, &[], Is("DIR/x.yaml:2: model.text_encoder.max_len = 0: must be >= 1")),
    (&[(X, "model:\n  text_encoder: {vocab_size: 50256}\n")], X, &[],
        Is("DIR/x.yaml:2: model.text_encoder.vocab_size = 50256: must be >= 50257 (the GPT-2 BPE vocabulary: ids 0..=50256)")),
    // The codec's needs are computed from its strides and channel widths.
    (&[(X, "data: {frames: 6}\n")], X, &[],
        Starts("DIR/x.yaml: model.video_codec.kind: video_codec paper does not fit data.frames = 6", &["multiple of 4"])),
    (&[(X, "data: {height: 18}\nmodel:\n  video_codec: {kind: reference}\n")], X, &[],
        Starts("DIR/x.yaml:3: model.video_codec.kind = reference: video_codec reference does not fit data.height = 18", &["multiple of 4"])),
    (&[(X, "model:\n  hidden: 40\n  heads: 4\n")], X, &[],
        Starts("DIR/x.yaml:1: model.video_codec.kind: video_codec paper needs model.hidden divisible by 16", &["got 40"])),
    (&[(X, "model:\n  engine:\n    max_steps: 0\n")], X, &[], Is("DIR/x.yaml:3: model.engine.max_steps = 0: must be >= 1")),
    (&[(X, "model:\n  engine: {h_layers: 0, l_layers: 0}\n")], X, &[],
        Is("DIR/x.yaml:2: model.engine.h_layers = 0: h_layers + l_layers must be >= 1")),
    (&[(X, "name: x\nmodel:\n  halting:\n    kind: mlp\n    threshold: 1.5\n")], X, &[],
        Is("DIR/x.yaml:5: model.halting.threshold = 1.5: must be in [0, 1]")),
    (&[(X, "model:\n  halting: {loss_weight: -1}\n")], X, &[], Is("DIR/x.yaml:2: model.halting.loss_weight = -1: must be >= 0")),
    (&[(X, "model:\n  halting: {min_steps: 4}\n")], X, &[], Is("DIR/x.yaml:2: model.halting.min_steps = 4: must be in [1, max_steps]")),
    // training
    (&[(X, "training: {epochs: 0}\n")], X, &[], Is("DIR/x.yaml:1: training.epochs = 0: must be >= 1")),
    (&[(X, "training: {grad_accum: 0}\n")], X, &[], Is("DIR/x.yaml:1: training.grad_accum = 0: must be >= 1")),
    (&[(X, "training:\n  optimizer: {lr: 0}\n")], X, &[], Is("DIR/x.yaml:2: training.optimizer.lr = 0: must be > 0")),
    (&[(X, "training:\n  optimizer: {betas: [0.9, 1.0]}\n")], X, &[],
        Is("DIR/x.yaml:2: training.optimizer.betas = [0.9,1.0]: each beta must be in [0, 1)")),
    (&[(X, "training:\n  optimizer: {weight_decay: -0.1}\n")], X, &[],
        Is("DIR/x.yaml:2: training.optimizer.weight_decay = -0.1: must be >= 0")),
    (&[(X, "training:\n  optimizer: {eps: 0}\n")], X, &[], Is("DIR/x.yaml:2: training.optimizer.eps = 0: must be > 0")),
    (&[(X, "training: {clip_norm: 0}\n")], X, &[], Is("DIR/x.yaml:1: training.clip_norm = 0: must be > 0 (or null for no clipping)")),
    (&[(X, "training: {time_budget: 0s}\n")], X, &[], Is("DIR/x.yaml:1: training.time_budget = 0s: must be > 0")),
    (&[(X, "training: {checkpoint_every: 0}\n")], X, &[], Is("DIR/x.yaml:1: training.checkpoint_every = 0: must be >= 1")),
    (&[(X, "training:\n  objective: flow_matching\n  flow:\n    sampling_steps: 0\n")], X, &[],
        Is("DIR/x.yaml:4: training.flow.sampling_steps = 0: must be >= 1")),
    (&[(X, "training: {objective: flow_matching}\n")], X, &["training.flow.sampling_steps=100000"],
        Starts("command line (-s training.flow.sampling_steps=100000): training.flow.sampling_steps = 100000: must be <= 10000", &[])),
    (&[(X, "training:\n  objective: noise_regression\n  flow: {sampling_steps: 4}\n")], X, &[],
        Is("DIR/x.yaml:3: training.flow = {\"sampling_steps\":4}: only for training.objective flow_matching (this run's is noise_regression); leave it out")),
    (&[(X, "training:\n  flow: {sampling_steps: 8}\nsweep:\n  training.objective: [flow_matching, paper]\n")], X, &[],
        Is("DIR/x.yaml:2: training.flow = {\"sampling_steps\":8}: only for training.objective flow_matching (this run's is paper); leave it out")),
    (&[(X, "training:\n  objective: flow_matching\n  flow: {steps: 4}\n")], X, &[],
        Starts("DIR/x.yaml:3: training.flow.steps", &["unknown key `steps`", "sampling_steps"])),
    (&[(X, "training: {precision: tf32}\n")], X, &[],
        Is("DIR/x.yaml:1: training.precision = tf32: not implemented yet: fp32 already runs its matmuls as TF32 on a CUDA GPU; bf16 is implemented")),
    // YAML-level mistakes
    (&[(X, "training:\n  epochs: 3\n  batch_size: 2\n  epochs: 4\n")], X, &[],
        Is("DIR/x.yaml:4: invalid YAML: training: duplicate entry with key \"epochs\" (first written at line 2)")),
    (&[(X, "name: a\ndata: {samples: 8}\nname: b\n")], X, &[],
        Is("DIR/x.yaml:3: invalid YAML: duplicate entry with key \"name\" (first written at line 1)")),
    (&[(X, "\n  \n")], X, &[], Is("DIR/x.yaml:1: the spec is empty (to run the defaults, write `name: <name>`)")),
    // name: a plain file name, so a report folder cannot escape its output folder
    (&[(X, "name: ../../tmp/x\n")], X, &[], Starts("DIR/x.yaml:1: name = ../../tmp/x: must be a plain file name", &[])),
    (&[(X, "name: /tmp/x\n")], X, &[], Starts("DIR/x.yaml:1: name = /tmp/x: must be a plain file name", &[])),
    (&[(X, "name: .hidden\n")], X, &[], Starts("DIR/x.yaml:1: name = .hidden: must be a plain file name", &[])),
    // eval
    (&[(X, "eval: {every: 0}\n")], X, &[], Is("DIR/x.yaml:1: eval.every = 0: must be >= 1")),
    (&[(X, "eval: {samples: 0}\n")], X, &[], Is("DIR/x.yaml:1: eval.samples = 0: must be >= 1 (or null for the whole eval split)")),
    (&[(X, "eval: {prompts: [' ']}\n")], X, &[], Starts("DIR/x.yaml:1: eval.prompts", &["prompts must not be empty"])),
    (&[(X, "eval: {metrics: [fid, fvd]}\n")], X, &[], Starts("DIR/x.yaml:1: eval.metrics = [\"fid\",\"fvd\"]: fvd needs data.frames >= 9", &["the clips have 8"])),
];

#[test]
fn every_refused_spec_says_where_and_why() {
    let mut failures = Vec::new();
    for (i, (files, planned, set, want)) in REFUSED.iter().enumerate() {
        let d = Workspace::new();
        for (name, text) in *files {
            d.write(name, text);
        }
        let got = error_texts(&d, &d.path().join(planned), set);
        let ok = match want {
            Is(text) => got.len() == 1 && got[0] == *text,
            Starts(start, has) => got.len() == 1 && got[0].starts_with(start) && has.iter().all(|h| got[0].contains(h)),
            Errors(n, has) => got.len() == *n && has.iter().all(|h| got.iter().any(|e| e.contains(h))),
        };
        if !ok {
            failures.push(format!("row {i} ({planned}, -s {set:?}): got {got:#?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ------------------------------------------------------------------------------------------
// schema

#[test]
fn schema_json_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/schema.json");
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == spec::schema_json(),
        "experiments/schema.json is stale: run `cargo run --bin ttv-run -- schema` and commit it"
    );
}

#[test]
fn every_committed_spec_is_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "yaml") {
            plan(&p, &[]).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

// ------------------------------------------------------------------------------------------
// labels: what sets a variant apart from the spec as written

#[test]
fn labels_name_overrides_and_swept_values_by_their_shortest_unambiguous_name() {
    let d = Workspace::new();
    let p = d.write("p.yaml", "training: {epochs: 40}\nsweep:\n  model.halting.threshold: [0.3, 0.5]\n");
    let labels = |overrides: &[&str]| -> Vec<String> {
        let ov: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        plan(&p, &ov).unwrap().runs.into_iter().map(|r| r.label).collect()
    };
    assert_eq!(labels(&[]), ["threshold=0.3", "threshold=0.5"], "a swept value is named even where it is the default");
    assert_eq!(
        labels(&["training.optimizer.lr=0.002", "training.epochs=41"]),
        ["threshold=0.3, epochs=41, lr=0.002", "threshold=0.5, epochs=41, lr=0.002"]
    );
    assert_eq!(
        labels(&["training.epochs=40"]),
        ["threshold=0.3", "threshold=0.5"],
        "an override equal to the file changes nothing"
    );
    let q = d.write("q.yaml", "model: {hidden: 64, heads: 4}\n");
    let one = |ov: &str| plan(&q, &[ov.to_string()]).unwrap().runs.remove(0).label;
    assert_eq!(one("model.engine.kind=flat"), "kind=flat");
    assert_eq!(one("seeds=[5]"), "base", "the seed is no part of a variant");
    let both = plan(&q, &["model.engine.kind=flat".into(), "model.halting.kind=none".into()]).unwrap();
    assert_eq!(both.runs[0].label, "engine.kind=flat, halting.kind=none");
}

// ------------------------------------------------------------------------------------------
// bounded input: sizes no machine could hold are refused before anything is allocated

/// A spec with one oversize value, and the field its error must name (with the value, the file
/// and the line).
#[rustfmt::skip]
const OVERSIZE: &[(&str, &str)] = &[
    ("data: {frames: 100000}\n", "data.frames"),
    ("data: {samples: 100000000000}\n", "data.samples"),
    ("data: {samples: 1e11}\n", "data.samples"),
    ("data: {height: 65536}\n", "data.height"),
    ("data: {width: 65536}\n", "data.width"),
    ("model: {text_encoder: {max_len: 4000000000}}\n", "model.text_encoder.max_len"),
    ("model: {text_encoder: {vocab_size: 4000000000}}\n", "model.text_encoder.vocab_size"),
    ("model: {engine: {max_steps: 4000000000}}\n", "model.engine.max_steps"),
    ("model: {hidden: 100000}\n", "model.hidden"),
    ("model: {expansion: 1e12}\n", "model.expansion"),
    ("model: {engine: {h_layers: 100000}}\n", "model.engine.h_layers"),
    ("training: {batch_size: 4000000000}\n", "training.batch_size"),
    ("training: {optimizer: {lr: .inf}}\n", "training.optimizer.lr"),
    ("training: {time_budget: 1e300}\n", "training.time_budget"),
    ("eval: {samples: 100000000000}\n", "eval.samples"),
    ("sweep:\n  model.hidden: [64, 100000]\n", "model.hidden"),
    // Each field in range, the whole far beyond any machine's memory: blamed on the costliest.
    ("model: {hidden: 16384, text_encoder: {layers: 256}, engine: {h_layers: 256, l_layers: 256}}\n", "model.hidden"),
];

#[test]
fn every_oversize_value_is_refused_naming_file_line_and_field() {
    let mut failures = Vec::new();
    for (text, field) in OVERSIZE {
        let d = Workspace::new();
        let p = d.write(X, text);
        let ov: Vec<String> = Vec::new();
        let got = match plan(&p, &ov) {
            Ok(_) => vec!["accepted".to_string()],
            Err(e) => e.0.iter().map(|e| e.to_string().replace(&d.path().display().to_string(), "DIR")).collect(),
        };
        let named = got.iter().any(|e| e.starts_with("DIR/x.yaml:") && e.contains(&format!(": {field} = ")));
        let rule = got.iter().any(|e| ["must be", "invalid type", "MemAvailable"].iter().any(|r| e.contains(r)));
        if !(named && rule) {
            failures.push(format!("{text:?}: want {field}, got {got:#?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_cap_states_its_rule() {
    let d = Workspace::new();
    let p = d.write(X, "model:\n  hidden: 100000\n");
    assert_eq!(
        error_texts(&d, &p, &[]),
        [
            "DIR/x.yaml:2: model.hidden = 100000: must be <= 16384: a cap far above the paper's 256, so that no typo can exhaust memory"
        ]
    );
    let q = d.write("y.yaml", "model: {hidden: 16384, text_encoder: {layers: 256}}\n");
    let e = error_texts(&d, &q, &[]);
    assert!(e.len() == 1 && e[0].contains("parameters x 16 bytes") && e[0].contains("costs the most"), "{e:#?}");
}

#[test]
fn a_sweep_over_the_run_limit_is_refused_before_it_is_expanded() {
    let d = Workspace::new();
    // 100^5 = 10^10 runs: counted, never built.
    let axes = ["training.epochs", "training.batch_size", "data.seed", "training.schedule.warmup_steps", "eval.every"];
    let values: Vec<String> = (1..=100).map(|i| i.to_string()).collect();
    let sweep: String = axes.iter().map(|a| format!("  {a}: [{}]\n", values.join(", "))).collect();
    let p = d.write(X, &format!("seeds: [0]\nsweep:\n{sweep}"));
    let started = std::time::Instant::now();
    let out = common::ttv_run(d.path(), &["x.yaml", "--dry-run"], &[]);
    let err = String::from_utf8_lossy(&out.stderr).replace(&d.path().display().to_string(), "DIR");
    assert_eq!(out.status.code(), Some(2), "{}", common::text(&out));
    assert!(started.elapsed().as_secs_f64() < 10.0, "took {:?}", started.elapsed());
    assert!(err.contains("x.yaml:"), "{err}");
    assert!(
        err.contains("the spec asks for 10000000000 runs (10000000000 variants x 1 seeds), over the limit of 10000"),
        "{err}"
    );
    // Within the limit it expands.
    let q = d.write("q.yaml", "seeds: [0, 1]\nsweep:\n  training.epochs: [1, 2, 3]\n  data.seed: [1, 2]\n");
    assert_eq!(hashes(&q, &[]).len(), 12);
    let _ = p;
}
