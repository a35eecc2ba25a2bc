//! Spec loading, validation, sweeps and run identity, as a user meets them.

use std::path::{Path, PathBuf};

use ttv::spec::{self, SpecErrors, plan};

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Dir(tempfile::tempdir().unwrap())
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

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

/// The single error's text with the temp directory replaced by `DIR`.
fn one_error(d: &Dir, path: &Path, overrides: &[&str]) -> String {
    let e = errors(path, overrides);
    assert_eq!(e.0.len(), 1, "expected one error, got: {e}");
    e.0[0].to_string().replace(&d.0.path().display().to_string(), "DIR")
}

// ------------------------------------------------------------------------------------------
// identity

#[test]
fn same_science_same_hash_whatever_the_key_order_comments_or_defaults() {
    let d = Dir::new();
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
    let d = Dir::new();
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
    let d = Dir::new();
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
    let d = Dir::new();
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

// ------------------------------------------------------------------------------------------
// sweeps

#[test]
fn sweep_grid_zip_include_and_seeds_multiply_as_documented() {
    let d = Dir::new();
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
    let d = Dir::new();
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
    let d = Dir::new();
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
    let d = Dir::new();
    std::fs::create_dir_all(d.0.path().join("sub")).unwrap();
    d.write("root.yaml", "training: {epochs: 7}\n");
    let child = d.write("sub/child.yaml", "extends: ../root.yaml\n");
    assert_eq!(plan(&child, &[]).unwrap().runs[0].spec.training.epochs, 7);
}

// ------------------------------------------------------------------------------------------
// validation: every message names the file, the line and the field

#[test]
fn unknown_key_suggests_the_closest_valid_one() {
    let d = Dir::new();
    let p = d.write("x.yaml", "model:\n  hidden: 64\n  halting:\n    treshold: 0.5\n");
    let e = one_error(&d, &p, &[]);
    assert!(
        e.starts_with("DIR/x.yaml:4: model.halting.treshold = 0.5: unknown key `treshold`; did you mean `threshold`?"),
        "{e}"
    );
}

#[test]
fn unknown_top_level_section_and_enum_value_are_named() {
    let d = Dir::new();
    let p = d.write("x.yaml", "trainng:\n  epochs: 3\n");
    let e = one_error(&d, &p, &[]);
    assert!(e.starts_with("DIR/x.yaml:1: trainng"), "{e}");
    assert!(e.contains("did you mean `training`?"), "{e}");
    let p = d.write("y.yaml", "model:\n  engine:\n    kind: hmr\n");
    let e = one_error(&d, &p, &[]);
    assert!(e.starts_with("DIR/y.yaml:3: model.engine.kind = hmr: unknown value `hmr`; did you mean `hrm`?"), "{e}");
}

#[test]
fn wrong_type_is_reported_with_its_line() {
    let d = Dir::new();
    let p = d.write("x.yaml", "data:\n  samples: 50\ntraining:\n  epochs: three\n");
    let e = one_error(&d, &p, &[]);
    assert!(e.starts_with("DIR/x.yaml:4: training.epochs = three: invalid type: string \"three\""), "{e}");
}

#[test]
fn threshold_out_of_range() {
    let d = Dir::new();
    let p = d.write("x.yaml", "name: x\nmodel:\n  halting:\n    kind: mlp\n    threshold: 1.5\n");
    assert_eq!(one_error(&d, &p, &[]), "DIR/x.yaml:5: model.halting.threshold = 1.5: must be in [0, 1]");
}

#[test]
fn hidden_not_divisible_by_heads() {
    let d = Dir::new();
    let p = d.write("x.yaml", "model:\n  hidden: 100\n  heads: 8\n");
    assert_eq!(one_error(&d, &p, &[]), "DIR/x.yaml:3: model.heads = 8: hidden 100 is not divisible by heads 8");
}

#[test]
fn max_steps_below_one() {
    let d = Dir::new();
    let p = d.write("x.yaml", "model:\n  engine:\n    max_steps: 0\n");
    let e = one_error(&d, &p, &[]);
    assert_eq!(e, "DIR/x.yaml:3: model.engine.max_steps = 0: must be >= 1");
}

#[test]
fn empty_sweep_list_and_unknown_sweep_path() {
    let d = Dir::new();
    let p = d.write("x.yaml", "seeds: [0]\nsweep:\n  model.halting.threshold: []\n");
    assert_eq!(
        one_error(&d, &p, &[]),
        "DIR/x.yaml:3: sweep.model.halting.threshold = []: empty sweep list: give at least one value"
    );
    let p = d.write("y.yaml", "sweep:\n  model.halting.treshold: [0.3]\n");
    let e = one_error(&d, &p, &[]);
    assert!(
        e.starts_with("DIR/y.yaml:2: sweep.model.halting.treshold = [0.3]: `model.halting.treshold` is not a spec field; did you mean `model.halting.threshold`?"),
        "{e}"
    );
}

#[test]
fn a_bad_value_inside_a_sweep_points_at_the_sweep_line() {
    let d = Dir::new();
    let p = d.write("x.yaml", "model:\n  hidden: 64\nsweep:\n  model.halting.threshold: [0.3, 1.5]\n");
    assert_eq!(one_error(&d, &p, &[]), "DIR/x.yaml:4: model.halting.threshold = 1.5 (in sweep): must be in [0, 1]");
}

#[test]
fn errors_in_a_base_file_point_into_the_base() {
    let d = Dir::new();
    d.write("base.yaml", "training:\n  epochs: 3\n  batch_size: 0\n");
    let child = d.write("child.yaml", "extends: base.yaml\nmodel: {hidden: 64}\n");
    assert_eq!(one_error(&d, &child, &[]), "DIR/base.yaml:3: training.batch_size = 0: must be >= 1");
}

#[test]
fn bad_override_names_the_command_line() {
    let d = Dir::new();
    let p = d.write("x.yaml", "model: {hidden: 64}\n");
    let e = one_error(&d, &p, &["model.halting.threshold=2"]);
    assert_eq!(e, "command line (-s model.halting.threshold=2): model.halting.threshold = 2: must be in [0, 1]");
    let e = one_error(&d, &p, &["model.hidden"]);
    assert!(e.contains("expected -s dotted.path=value"), "{e}");
}

#[test]
fn extends_cycle_and_missing_base() {
    let d = Dir::new();
    d.write("a.yaml", "extends: b.yaml\n");
    d.write("b.yaml", "model: {hidden: 64}\nextends: a.yaml\n");
    let e = one_error(&d, &d.0.path().join("a.yaml"), &[]);
    assert!(e.starts_with("DIR/b.yaml:2: extends = a.yaml: extends cycle: a.yaml -> b.yaml -> a.yaml"), "{e}");

    let p = d.write("c.yaml", "# base missing\nextends: nowhere.yaml\n");
    let e = one_error(&d, &p, &[]);
    assert!(e.starts_with("DIR/c.yaml:2: extends = nowhere.yaml: cannot read base spec DIR/nowhere.yaml"), "{e}");

    let e = one_error(&d, &d.0.path().join("missing.yaml"), &[]);
    assert!(e.starts_with("DIR/missing.yaml: cannot read spec"), "{e}");
}

#[test]
fn yaml_syntax_error_has_a_line() {
    let d = Dir::new();
    let p = d.write("x.yaml", "model:\n  hidden: 64\n  heads: [4\n");
    let e = one_error(&d, &p, &[]);
    assert!(e.starts_with("DIR/x.yaml:"), "{e}");
    assert!(e.contains("invalid YAML"), "{e}");
}

#[test]
fn all_problems_of_a_spec_are_reported_together() {
    let d = Dir::new();
    let p = d.write("x.yaml", "model:\n  engine: {max_steps: 0}\ntraining:\n  epochs: 0\n  grad_accum: 0\n");
    let e = errors(&p, &[]);
    assert_eq!(e.0.len(), 3, "{e}");
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
