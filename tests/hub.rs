//! Hub-named inputs (`hf://...`), offline: a Hugging Face cache is laid out here exactly as the
//! Hub client writes it (`refs/<revision>` holding a commit, `snapshots/<commit>/...` linking
//! into `blobs/`), and the real `ttv-run` reads it with `HF_HOME` pointing at it and
//! `HF_HUB_OFFLINE=1`: a `data.source` loads from the cache, `@revision` picks its snapshot, a
//! missing file is a clear error, and `generate` from a run folder in the cache renders the clip
//! the local run renders.
//!
//! Video decoding goes through a stand-in for ffmpeg (a shell script that prints the raw frames
//! the "video" files hold), so these tests need no ffmpeg and stay fast.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{NO_WEIGHTS, TINY, Workspace, text};
use sha2::{Digest, Sha256};

const COMMIT_MAIN: &str = "1111111111111111111111111111111111111111";
const COMMIT_V1: &str = "2222222222222222222222222222222222222222";

/// A Hugging Face cache under `<root>/hf` (`HF_HOME`), written as the Hub client writes one.
struct HfCache {
    home: PathBuf,
}

impl HfCache {
    fn new(root: &Path) -> Self {
        Self { home: root.join("hf") }
    }

    fn hub(&self) -> PathBuf {
        self.home.join("hub")
    }

    /// Add `files` (repository path, bytes) as the snapshot of `commit` of `repo_folder`
    /// (`models--o--n`, `datasets--o--n`), each a relative link to its blob, and point `refs`
    /// at the commit.
    fn add(&self, repo_folder: &str, commit: &str, refs: &[&str], files: &[(String, Vec<u8>)]) {
        let repo = self.hub().join(repo_folder);
        for (path, bytes) in files {
            let blob = format!("{:x}", Sha256::digest(bytes));
            std::fs::create_dir_all(repo.join("blobs")).unwrap();
            std::fs::write(repo.join("blobs").join(&blob), bytes).unwrap();
            let link = repo.join("snapshots").join(commit).join(path);
            std::fs::create_dir_all(link.parent().unwrap()).unwrap();
            let up = "../".repeat(path.split('/').count() + 1);
            std::os::unix::fs::symlink(format!("{up}blobs/{blob}"), &link).unwrap();
        }
        for r in refs {
            std::fs::create_dir_all(repo.join("refs")).unwrap();
            std::fs::write(repo.join("refs").join(r), commit).unwrap();
        }
    }

    /// `HF_HOME` at this cache, offline.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![("HF_HOME", self.home.to_string_lossy().into_owned()), ("HF_HUB_OFFLINE", "1".into())]
    }
}

/// `ttv-run` as `common::ttv_run` starts it, without FID weights and without HTTP proxies (the
/// stand-in Hub below is on localhost).
fn run(dir: &Path, args: &[&str], env: &[(&'static str, String)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ttv-run"));
    cmd.current_dir(dir).args(args).env("TTV_REGISTRY", dir.join("registry")).env_remove("TTV_FAULT");
    for var in
        ["ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "HF_HUB_OFFLINE", "HF_HUB_CACHE"]
    {
        cmd.env_remove(var);
    }
    for (k, v) in NO_WEIGHTS {
        cmd.env(k, v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("ttv-run starts")
}

/// A stand-in for ffmpeg: `-version` answers, and decoding prints the input file's bytes,
/// which here are raw 16x16 RGB frames already.
fn fake_ffmpeg(dir: &Path) -> PathBuf {
    let path = dir.join("fake-ffmpeg");
    std::fs::write(
        &path,
        "#!/bin/sh\n\
         if [ \"$1\" = \"-version\" ]; then echo 'ffmpeg version raw-frames'; exit 0; fi\n\
         while [ $# -gt 0 ]; do\n\
           if [ \"$1\" = \"-i\" ]; then exec cat \"$2\"; fi\n\
           shift\n\
         done\n\
         exit 1\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Six raw 16x16 RGB frames whose pixels depend on `seed`.
fn raw_clip(seed: u8) -> Vec<u8> {
    (0..6 * 16 * 16 * 3).map(|i: usize| (i as u8).wrapping_mul(7).wrapping_add(seed.wrapping_mul(31))).collect()
}

/// A manifest and the clips it lists, captions prefixed by `tag`.
fn clip_files(tag: &str, seed: u8) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> =
        (0..4).map(|i| (format!("clips/{i}.raw"), raw_clip(seed.wrapping_add(i as u8)))).collect();
    let rows: String = (0..4).map(|i| format!("clips/{i}.raw,{tag} clip {i}\n")).collect();
    files.push(("manifest.csv".into(), format!("path,caption\n{rows}").into_bytes()));
    files
}

/// A folder-data spec reading `source` through the fake ffmpeg.
fn data_spec(ws: &Workspace, source: &str, ffmpeg: &Path) -> PathBuf {
    ws.write(
        "data.yaml",
        &format!(
            "name: hubdata\n\
             data: {{kind: folder, source: \"{source}\", ffmpeg: \"{}\", samples: 4, eval_fraction: 0.25, frames: 4, height: 16, width: 16}}\n",
            ffmpeg.display()
        ),
    )
}

/// `ttv-run preview` of the spec: (fingerprint line, captions), or the failure.
fn preview(ws: &Workspace, spec: &Path, env: &[(&'static str, String)]) -> Result<(String, Vec<String>), String> {
    let grid = ws.path().join("grid.gif");
    let out = run(ws.path(), &["preview", spec.to_str().unwrap(), "-o", grid.to_str().unwrap(), "-n", "3"], env);
    if !out.status.success() {
        return Err(text(&out));
    }
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let fingerprint = stdout.lines().find(|l| l.starts_with("fingerprint")).expect("fingerprint line").to_string();
    let captions = stdout.lines().filter(|l| l.contains(" clip ")).map(|l| l.trim().to_string()).collect();
    Ok((fingerprint, captions))
}

/// The same clips as a dataset repo in the cache: `main` and tag `v1` at two commits.
fn clips_repo(ws: &Workspace) -> HfCache {
    let cache = HfCache::new(ws.path());
    cache.add("datasets--owner--clips", COMMIT_MAIN, &["main"], &clip_files("main", 0));
    cache.add("datasets--owner--clips", COMMIT_V1, &["v1"], &clip_files("v1", 100));
    cache
}

#[test]
fn a_data_source_on_the_hub_loads_from_the_cache() {
    let ws = Workspace::new();
    let ffmpeg = fake_ffmpeg(ws.path());
    let cache = clips_repo(&ws);
    let hub = preview(&ws, &data_spec(&ws, "hf://datasets/owner/clips/manifest.csv", &ffmpeg), &cache.env())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hub.1.len(), 3, "{hub:?}");
    assert!(hub.1.iter().all(|c| c.contains("main clip")), "{hub:?}");

    // The same files read from a plain folder give the same training set, byte for byte.
    let local = ws.path().join("local");
    for (path, bytes) in clip_files("main", 0) {
        std::fs::create_dir_all(local.join(&path).parent().unwrap()).unwrap();
        std::fs::write(local.join(&path), bytes).unwrap();
    }
    let plain = preview(&ws, &data_spec(&ws, local.join("manifest.csv").to_str().unwrap(), &ffmpeg), &[]).unwrap();
    assert_eq!(hub, plain);
}

#[test]
fn a_revision_picks_its_snapshot() {
    let ws = Workspace::new();
    let ffmpeg = fake_ffmpeg(ws.path());
    let cache = clips_repo(&ws);
    let captions = |source: &str| {
        let (fingerprint, captions) =
            preview(&ws, &data_spec(&ws, source, &ffmpeg), &cache.env()).unwrap_or_else(|e| panic!("{source}: {e}"));
        (fingerprint, captions.join("|"))
    };
    let main = captions("hf://datasets/owner/clips/manifest.csv");
    let tag = captions("hf://datasets/owner/clips@v1/manifest.csv");
    assert!(main.1.contains("main clip") && !main.1.contains("v1 clip"), "{main:?}");
    assert!(tag.1.contains("v1 clip") && !tag.1.contains("main clip"), "{tag:?}");
    assert_ne!(main.0, tag.0, "other clips, other fingerprint");
    // A commit hash names its snapshot directly; `@main` is the default.
    assert_eq!(captions(&format!("hf://datasets/owner/clips@{COMMIT_V1}/manifest.csv")), tag);
    assert_eq!(captions("hf://datasets/owner/clips@main/manifest.csv"), main);
}

#[test]
fn a_file_missing_from_the_cache_offline_is_a_clear_error() {
    let ws = Workspace::new();
    let ffmpeg = fake_ffmpeg(ws.path());
    let cache = clips_repo(&ws);
    let hub_dir = cache.hub().display().to_string();

    let err = preview(&ws, &data_spec(&ws, "hf://datasets/owner/clips/other.csv", &ffmpeg), &cache.env()).unwrap_err();
    for part in ["dataset repo owner/clips", "revision `main`", "`other.csv`", &format!("not in the cache at {hub_dir}")] {
        assert!(err.contains(part), "`{part}` in:\n{err}");
    }
    let err = preview(&ws, &data_spec(&ws, "hf://datasets/owner/clips@v9/manifest.csv", &ffmpeg), &cache.env()).unwrap_err();
    assert!(err.contains("revision `v9`") && err.contains(&format!("not in the cache at {hub_dir}")), "{err}");

    // A manifest whose clips were never fetched: the first missing one is named.
    let mut partial = clip_files("partial", 7);
    partial.retain(|(p, _)| p != "clips/2.raw");
    cache.add("datasets--owner--partial", COMMIT_MAIN, &["main"], &partial);
    let err = preview(&ws, &data_spec(&ws, "hf://datasets/owner/partial/manifest.csv", &ffmpeg), &cache.env()).unwrap_err();
    assert!(err.contains("`clips/2.raw`") && err.contains("not in the cache"), "{err}");

    // A malformed Hub path is refused before anything is read.
    let err = preview(&ws, &data_spec(&ws, "hf://owner", &ffmpeg), &cache.env()).unwrap_err();
    assert!(err.contains("is not a Hub path"), "{err}");
}

/// Every file under `dir`, as (path relative to `dir` with `prefix` before it, bytes).
fn files_under(dir: &Path, prefix: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
        if path.is_dir() {
            out.extend(files_under(&path, &format!("{name}/")));
        } else {
            out.push((name, std::fs::read(&path).unwrap()));
        }
    }
    out
}

#[test]
fn generate_from_a_run_folder_on_the_hub_matches_the_local_run() {
    let ws = Workspace::new();
    let spec = ws.write("tiny.yaml", TINY);
    let out = run(ws.path(), &[spec.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let runs: Vec<PathBuf> = std::fs::read_dir(ws.path().join("registry/runs")).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(runs.len(), 1);
    let short = runs[0].file_name().unwrap().to_string_lossy().into_owned();

    let prompt = "a red ball moving left to right";
    let local_gif = ws.path().join("local.gif");
    let out = run(ws.path(), &["generate", "--run", &short, prompt, "-o", local_gif.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", text(&out));

    // The run folder as someone would upload it: spec.yaml and ckpt/, under runs/<short>/.
    let cache = HfCache::new(ws.path());
    let mut files = vec![(format!("runs/{short}/spec.yaml"), std::fs::read(runs[0].join("spec.yaml")).unwrap())];
    files.extend(files_under(&runs[0].join("ckpt"), &format!("runs/{short}/ckpt/")));
    cache.add("models--owner--ttv-runs", COMMIT_MAIN, &["main"], &files);

    // Another store (empty): the run comes from the cache alone.
    let elsewhere = Workspace::new();
    let hub_gif = ws.path().join("hub.gif");
    let hub_run = format!("hf://owner/ttv-runs/runs/{short}");
    let out = run(elsewhere.path(), &["generate", "--run", &hub_run, prompt, "-o", hub_gif.to_str().unwrap()], &cache.env());
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read(&hub_gif).unwrap(), std::fs::read(&local_gif).unwrap(), "the same clip");

    // A folder with no checkpoint in the cache says so.
    let out = run(elsewhere.path(), &["generate", "--run", "hf://owner/ttv-runs/runs/none", prompt], &cache.env());
    let err = text(&out);
    assert!(!out.status.success() && err.contains("runs/none/spec.yaml") && err.contains("not in the cache"), "{err}");
}

/// A stand-in for the Hub's HTTP API on localhost, serving one dataset repo at one commit: the
/// revision's file list (`/api/datasets/<repo>/revision/<rev>`) and each file
/// (`/datasets/<repo>/resolve/<commit>/<path>`, with the headers hf-hub reads: the commit, the
/// ETag and the byte range). Returns its URL and the number of file downloads it served.
fn mock_hub(
    repo: &'static str,
    commit: &'static str,
    files: Vec<(String, Vec<u8>)>,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>, std::sync::Arc<tiny_http::Server>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let server = std::sync::Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
    let url = format!("http://{}", server.server_addr().to_ip().unwrap());
    let downloads = std::sync::Arc::new(AtomicUsize::new(0));
    let (srv, count) = (server.clone(), downloads.clone());
    std::thread::spawn(move || {
        let header = |k: &str, v: &str| tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).unwrap();
        for request in srv.incoming_requests() {
            let path = request.url().to_string();
            let range = request.headers().iter().find(|h| h.field.equiv("Range")).map(|h| h.value.to_string());
            let info = format!("/api/datasets/{repo}/revision/");
            let resolve = format!("/datasets/{repo}/resolve/{commit}/");
            let response = if path.starts_with(&info) {
                let siblings: Vec<String> = files.iter().map(|(p, _)| format!("{{\"rfilename\": \"{p}\"}}")).collect();
                let body = format!("{{\"sha\": \"{commit}\", \"siblings\": [{}]}}", siblings.join(","));
                tiny_http::Response::from_string(body).with_header(header("Content-Type", "application/json"))
            } else if let Some((_, bytes)) = path.strip_prefix(&resolve).and_then(|p| files.iter().find(|(f, _)| f == p)) {
                let start: usize = range
                    .as_deref()
                    .and_then(|r| r.strip_prefix("bytes="))
                    .and_then(|r| r.split('-').next())
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let end = if range.as_deref() == Some("bytes=0-0") { 1 } else { bytes.len() };
                if end == bytes.len() {
                    count.fetch_add(1, Ordering::SeqCst);
                }
                let etag = format!("\"{:x}\"", Sha256::digest(bytes));
                tiny_http::Response::from_data(bytes[start..end].to_vec())
                    .with_status_code(206)
                    .with_header(header("ETag", &etag))
                    .with_header(header("X-Repo-Commit", commit))
                    .with_header(header("Content-Range", &format!("bytes {start}-{}/{}", end - 1, bytes.len())))
            } else {
                tiny_http::Response::from_string("not found").with_status_code(404)
            };
            let _ = request.respond(response);
        }
    });
    (url, downloads, server)
}

#[test]
fn online_the_hub_at_hf_endpoint_fills_the_cache_the_way_the_python_client_lays_it_out() {
    use std::sync::atomic::Ordering;
    let ws = Workspace::new();
    let ffmpeg = fake_ffmpeg(ws.path());
    let (url, downloads, server) = mock_hub("owner/remote", COMMIT_V1, clip_files("remote", 9));
    let cache = HfCache::new(ws.path());
    let spec = data_spec(&ws, "hf://datasets/owner/remote/manifest.csv", &ffmpeg);
    let online = vec![("HF_HOME", cache.home.to_string_lossy().into_owned()), ("HF_ENDPOINT", url.clone())];
    let (fingerprint, captions) = preview(&ws, &spec, &online).unwrap_or_else(|e| panic!("{e}"));
    assert!(captions.iter().all(|c| c.contains("remote clip")) && captions.len() == 3, "{captions:?}");
    assert_eq!(downloads.load(Ordering::SeqCst), 5, "the manifest and the 4 clips it lists");

    // refs/main -> the commit; snapshots/<commit>/... link into blobs/.
    let repo = cache.hub().join("datasets--owner--remote");
    assert_eq!(std::fs::read_to_string(repo.join("refs/main")).unwrap().trim(), COMMIT_V1);
    let manifest = repo.join("snapshots").join(COMMIT_V1).join("manifest.csv");
    let target = std::fs::read_link(&manifest).unwrap();
    assert!(target.starts_with("../../blobs"), "{}", target.display());
    let clip = repo.join("snapshots").join(COMMIT_V1).join("clips/0.raw");
    assert!(std::fs::read_link(&clip).unwrap().starts_with("../../../blobs"));

    // Again: nothing downloaded twice. Then offline, with the Hub gone: the same data.
    assert_eq!(preview(&ws, &spec, &online).unwrap().0, fingerprint);
    assert_eq!(downloads.load(Ordering::SeqCst), 5);
    server.unblock();
    drop(server);
    assert_eq!(preview(&ws, &spec, &cache.env()).unwrap().0, fingerprint);
}
