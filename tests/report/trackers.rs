//! `ttv-report export --format tensorboard|mlflow` on the report's fixture, read back by the
//! trackers' own Python code (tests/report/read_trackers.py: TensorBoard's event accumulators,
//! MLflow's `MlflowClient` on a file store) and compared with the store's files: metrics.parquet,
//! status.json, spec.yaml and the sample GIFs. Skipped off CI when the Python packages are
//! missing (`.ci/run` installs them; under `CI` their absence fails).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{EXPERIMENT, frame, registry, ttv_report};

/// A Python with `tensorboard` and `mlflow` (`$TTV_PYTHON`, else `python3`); none off CI when
/// there is none, with the reason printed.
fn python(test: &str) -> Option<String> {
    let exe = std::env::var("TTV_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&exe).args(["-c", "import tensorboard, mlflow"]).output().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but {exe} cannot import tensorboard and mlflow: .ci/run must install them"
        );
        eprintln!("SKIPPED {test}: {exe} cannot import tensorboard and mlflow (pip install tensorboard mlflow-skinny)");
    }
    ok.then_some(exe)
}

/// What read_trackers.py prints for the export in `dir`.
fn read_back(python: &str, kind: &str, dir: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/report/read_trackers.py");
    let out = Command::new(python).arg(script).arg(kind).arg(dir).output().unwrap();
    assert!(out.status.success(), "read_trackers.py {kind}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `ttv-report export` of the fixture; its stderr.
fn export(format: &str, out: &Path, extra: &[&str]) -> String {
    let reg = registry().to_str().unwrap();
    let specs = registry().parent().unwrap().to_str().unwrap();
    let mut args = vec!["export", "--format", format, "--out", out.to_str().unwrap(), "--registry", reg, "--specs", specs];
    args.extend(extra);
    let o = ttv_report(&args);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    err
}

/// One run of the fixture as its files say.
struct StoredRun {
    hash: String,
    short: String,
    seed: u64,
    label: String,
    variant: String,
    /// The state a reader sees: the fixture's killed run is stored `running` with a dead pid.
    state: String,
    started: f64,
    summary: BTreeMap<String, f64>,
    /// `<split>/<metric>` -> (step, value) in step order, as logged within a step.
    series: BTreeMap<String, Vec<(u64, f64)>>,
    /// Eval epoch -> its step.
    eval_steps: BTreeMap<u32, u64>,
    dir: PathBuf,
}

fn stored_runs() -> Vec<StoredRun> {
    // Variant ids by label (the index may predate the killed run; its variant has other runs).
    let index = frame(&registry().join("index.parquet"));
    let variant_of: BTreeMap<String, String> = (0..index.height())
        .map(|i| {
            let col = |c: &str| index.column(c).unwrap().str().unwrap().get(i).unwrap().to_string();
            (col("label"), col("variant"))
        })
        .collect();
    let mut out = Vec::new();
    for entry in std::fs::read_dir(registry().join("runs")).unwrap() {
        let dir = entry.unwrap().path();
        let status: Value = serde_json::from_slice(&std::fs::read(dir.join("status.json")).unwrap()).unwrap();
        let hash = status["hash"].as_str().unwrap().to_string();
        let mut rows: Vec<(u64, String, f64, u32)> = Vec::new();
        if dir.join("metrics.parquet").exists() {
            let m = frame(&dir.join("metrics.parquet"));
            let col = |c: &str| m.column(c).unwrap().clone();
            let (split, metric) = (col("split"), col("metric"));
            let (step, value, epoch) = (col("step"), col("value"), col("epoch"));
            for j in 0..m.height() {
                rows.push((
                    step.u64().unwrap().get(j).unwrap(),
                    format!("{}/{}", split.str().unwrap().get(j).unwrap(), metric.str().unwrap().get(j).unwrap()),
                    value.f64().unwrap().get(j).unwrap(),
                    epoch.u32().unwrap().get(j).unwrap(),
                ));
            }
        }
        rows.sort_by_key(|r| r.0);
        let mut series: BTreeMap<String, Vec<(u64, f64)>> = BTreeMap::new();
        let mut eval_steps = BTreeMap::new();
        for (step, key, value, epoch) in rows {
            if key.starts_with("eval/") {
                let s = eval_steps.entry(epoch).or_insert(step);
                *s = (*s).max(step);
            }
            series.entry(key).or_default().push((step, value));
        }
        let stored = status["state"].as_str().unwrap();
        let summary = status["summary"].as_object().unwrap();
        let figures = ["params", "ckpt_bytes", "train_s", "updates", "gen_ms_b1", "gen_ms_b64", "peak_mem_bytes"];
        let label = status["experiments"][EXPERIMENT].as_str().unwrap().to_string();
        out.push(StoredRun {
            short: hash[..12].to_string(),
            variant: variant_of[&label].clone(),
            seed: status["seed"].as_u64().unwrap(),
            label,
            state: if stored == "running" { "interrupted".into() } else { stored.to_string() },
            started: status["started"].as_f64().unwrap(),
            summary: figures.iter().filter_map(|k| Some((k.to_string(), summary.get(*k)?.as_f64()?))).collect(),
            series,
            eval_steps,
            dir,
            hash,
        });
    }
    out.sort_by(|a, b| a.hash.cmp(&b.hash));
    assert_eq!(out.len(), 7, "the fixture: 4 done, 2 failed, 1 interrupted");
    out
}

fn sha(path: &Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A number as read_trackers.py prints it (`null` where JSON has no NaN).
fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// The eval prompts' GIFs of `run`: (epoch, index, prompt, path).
fn sample_gifs(run: &StoredRun) -> Vec<(u32, String, String, PathBuf)> {
    let mut out = Vec::new();
    for &epoch in run.eval_steps.keys() {
        let dir = run.dir.join("samples").join(format!("epoch_{epoch}"));
        let Ok(prompts) = std::fs::read_to_string(dir.join("prompts.txt")) else { continue };
        for (i, prompt) in prompts.lines().enumerate() {
            out.push((epoch, format!("{i:02}"), prompt.to_string(), dir.join(format!("{i:02}.gif"))));
        }
    }
    out
}

#[test]
fn tensorboard_reads_every_metric_image_and_hparam() {
    let Some(python) = python("tensorboard_reads_every_metric_image_and_hparam") else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tb");
    let said = export("tensorboard", &out, &[]);
    assert!(said.contains("wrote 7 runs of 1 experiment for TensorBoard") && said.contains("tensorboard --logdir"), "{said}");
    // Exporting again replaces each run's event file rather than adding one.
    export("tensorboard", &out, &[]);
    let tb = read_back(&python, "tensorboard", &out);
    let runs = stored_runs();
    assert_eq!(tb.as_object().unwrap().len(), runs.len(), "{:?}", tb.as_object().unwrap().keys());
    let mut images_seen = 0;
    for run in &runs {
        let name = format!("{EXPERIMENT}/{}/seed{}-{}", run.label, run.seed, run.short);
        let got = &tb[&name];
        assert!(got.is_object(), "no TensorBoard run {name}");
        assert_eq!(got["files"].as_array().unwrap().len(), 1, "{name}: one event file");

        // Every metric, at its steps, as TensorBoard's 32-bit floats.
        let scalars = got["scalars"].as_object().unwrap();
        for (key, points) in &run.series {
            let read: Vec<(u64, f64)> =
                scalars[key].as_array().unwrap().iter().map(|p| (p[0].as_u64().unwrap(), num(&p[1]))).collect();
            let want: Vec<(u64, f64)> = points.iter().map(|(s, v)| (*s, f64::from(*v as f32))).collect();
            assert_eq!(read.len(), want.len(), "{name} {key}");
            for (r, w) in read.iter().zip(&want) {
                assert!(r.0 == w.0 && (r.1 == w.1 || r.1.is_nan() && w.1.is_nan()), "{name} {key}: {read:?} vs {want:?}");
            }
        }
        let last = run.series.values().flatten().map(|p| p.0).max().unwrap_or(0);
        for (k, v) in &run.summary {
            assert_eq!(scalars[&format!("summary/{k}")], serde_json::json!([[last, f64::from(*v as f32)]]), "{name} {k}");
        }
        let metric_tags = scalars.keys().filter(|k| !k.starts_with("summary/")).count();
        assert_eq!(metric_tags, run.series.len(), "{name}: no other metric");

        // The GIFs byte for byte, at the step of their evaluation; the training clips at 0.
        let images = &got["images"];
        for (epoch, i, prompt, path) in sample_gifs(run) {
            let tag = format!("samples/{i} {prompt}");
            let at: Vec<&Value> = images[&tag].as_array().unwrap().iter().filter(|e| e[3] == sha(&path).as_str()).collect();
            assert_eq!(at.len(), 1, "{name} {tag} epoch {epoch}");
            assert_eq!(at[0][0].as_u64(), Some(run.eval_steps[&epoch]), "{name} {tag}");
            assert_eq!((at[0][1].as_u64(), at[0][2].as_u64()), (Some(128), Some(128)), "the GIF's size");
            images_seen += 1;
        }
        let preview = run.dir.join("samples/data_preview.gif");
        if preview.exists() {
            assert_eq!(images["data/preview"][0][0], 0);
            assert_eq!(images["data/preview"][0][3], sha(&preview).as_str());
        }

        // The spec as text, and as hyperparameters grouped by variant; the state as the status.
        let text = got["text"]["run/config"].as_str().unwrap();
        assert!(text.contains(&run.hash) && text.contains(&format!("**state** {}", run.state)), "{text}");
        let spec = std::fs::read_to_string(run.dir.join("spec.yaml")).unwrap();
        assert!(spec.lines().all(|l| text.contains(&format!("    {l}\n"))), "{text}");
        let threshold: f64 = run.label.strip_prefix("threshold=").unwrap().parse().unwrap();
        assert_eq!(got["hparams"]["model.halting.threshold"].as_f64(), Some(threshold));
        assert_eq!(got["hparams"]["seed"].as_f64(), Some(run.seed as f64));
        assert_eq!(got["hparams"]["training.epochs"].as_f64(), Some(3.0));
        assert_eq!(got["group"], format!("{} ({})", run.label, run.variant).as_str());
        let status = match run.state.as_str() {
            "done" => 1,
            "failed" => 2,
            _ => 0,
        };
        assert_eq!(got["status"], status, "{name} {}", run.state);
    }
    assert!(images_seen >= 4 * 3 * 2, "every done run has 3 evaluations x 2 prompts: {images_seen}");
}

/// The dotted paths of a resolved spec file and their values as MLflow params (strings bare,
/// the rest as JSON), read from the file itself.
fn spec_params(spec: &Path) -> BTreeMap<String, String> {
    fn walk(v: &Value, prefix: &str, out: &mut BTreeMap<String, String>) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, c) in m {
                    walk(c, &if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") }, out);
                }
            }
            Value::String(s) => {
                out.insert(prefix.to_string(), s.clone());
            }
            other => {
                out.insert(prefix.to_string(), other.to_string());
            }
        }
    }
    let v: Value = serde_norway::from_str(&std::fs::read_to_string(spec).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    walk(&v, "", &mut out);
    out
}

#[test]
fn mlflow_reads_every_run_param_metric_tag_and_artifact() {
    let Some(python) = python("mlflow_reads_every_run_param_metric_tag_and_artifact") else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mlruns");
    let said = export("mlflow", &out, &[]);
    assert!(said.contains("wrote 7 runs of 1 experiment for MLflow") && said.contains("MLFLOW_ALLOW_FILE_STORE=true"), "{said}");
    export("mlflow", &out, &[]);
    let ml = read_back(&python, "mlflow", &out);

    let experiments = ml["experiments"].as_array().unwrap();
    let names: Vec<&str> = experiments.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"Default") && names.contains(&EXPERIMENT), "{names:?}");
    let tiny = experiments.iter().find(|e| e["name"] == EXPERIMENT).unwrap();
    assert_eq!(tiny["tags"]["mlflow.note.content"], "halting threshold on the tiny model, <two> seeds");

    let runs = stored_runs();
    let got = ml["runs"].as_array().unwrap();
    assert_eq!(got.len(), runs.len(), "one MLflow run per run, also after exporting twice");
    for run in &runs {
        let m = got.iter().find(|r| r["tags"]["ttv.hash"] == run.hash.as_str()).unwrap_or_else(|| panic!("no run {}", run.hash));
        let name = format!("{}/seed{}-{}", run.label, run.seed, run.short);
        assert_eq!(m["name"], name.as_str());
        assert_eq!(m["experiment_id"], tiny["id"]);
        let status = match run.state.as_str() {
            "done" => "FINISHED",
            "failed" => "FAILED",
            _ => "KILLED",
        };
        assert_eq!(m["status"], status, "{name}");
        assert_eq!(m["start_time"].as_i64(), Some((run.started * 1000.0).round() as i64));
        let tags = &m["tags"];
        for (k, v) in [
            ("ttv.experiment", EXPERIMENT),
            ("ttv.variant", run.label.as_str()),
            ("ttv.variant_id", run.variant.as_str()),
            ("ttv.state", run.state.as_str()),
            ("ttv.seed", &run.seed.to_string()),
        ] {
            assert_eq!(tags[k], v, "{name} tag {k}");
        }

        // Params: every field of the resolved spec file, and the seed.
        let mut params: BTreeMap<String, String> =
            m["params"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect();
        assert_eq!(params.remove("seed"), Some(run.seed.to_string()));
        let mut want = spec_params(&run.dir.join("spec.yaml"));
        want.remove("seed");
        assert_eq!(params, want, "{name}");

        // Metrics: each value exactly, at its step.
        let metrics = m["metrics"].as_object().unwrap();
        for (key, points) in &run.series {
            let read: Vec<(u64, f64)> =
                metrics[key].as_array().unwrap().iter().map(|p| (p[0].as_u64().unwrap(), num(&p[1]))).collect();
            assert_eq!(read.len(), points.len(), "{name} {key}");
            for (r, w) in read.iter().zip(points) {
                assert!(r.0 == w.0 && (r.1 == w.1 || r.1.is_nan() && w.1.is_nan()), "{name} {key}: {read:?} vs {points:?}");
            }
        }
        for (k, v) in &run.summary {
            assert_eq!(num(&metrics[&format!("summary/{k}")][0][1]), *v, "{name} {k}");
        }

        // Artifacts: the spec and every sample file, byte for byte.
        let artifacts = &m["artifacts"];
        assert_eq!(artifacts["spec.yaml"], sha(&run.dir.join("spec.yaml")).as_str());
        for (epoch, i, _, path) in sample_gifs(run) {
            assert_eq!(artifacts[&format!("samples/epoch_{epoch}/{i}.gif")], sha(&path).as_str(), "{name}");
        }
        let preview = run.dir.join("samples/data_preview.gif");
        if preview.exists() {
            assert_eq!(artifacts["samples/data_preview.gif"], sha(&preview).as_str());
        }
    }
}

/// Selecting runs, and the errors: no Python needed.
#[test]
fn export_selects_runs_and_names_its_formats() {
    let dir = tempfile::tempdir().unwrap();
    let runs = stored_runs();
    let one = &runs[0];
    let out = dir.path().join("one");
    let said = export("tensorboard", &out, &["--run", &one.hash[..8], EXPERIMENT]);
    assert!(said.contains("wrote 1 run of 1 experiment"), "{said}");
    let folder = out.join(EXPERIMENT).join(&one.label).join(format!("seed{}-{}", one.seed, one.short));
    let files: Vec<String> =
        std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(files.len() == 1 && files[0].starts_with("events.out.tfevents."), "{files:?}");
    assert_eq!(std::fs::read_dir(out.join(EXPERIMENT)).unwrap().count(), 1, "only the run asked for");

    let reg = registry().to_str().unwrap();
    let o = dir.path().to_str().unwrap();
    let table = ttv_report(&["export", "--format", "csv", "--out", o, "--registry", reg]);
    assert_eq!(table.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&table.stderr).contains("`ttv-report --format csv`"), "{table:?}");
    let missing = ttv_report(&["export", "--format", "mlflow", "--out", o, "--registry", reg, "nope"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no runs of experiment `nope`"), "{missing:?}");
    let help = String::from_utf8(ttv_report(&["export", "--help"]).stdout).unwrap();
    for flag in ["--format", "tensorboard", "mlflow", "--out", "--run", "--registry", "EXPERIMENTS"] {
        assert!(help.contains(flag), "export --help does not document {flag}:\n{help}");
    }
}
