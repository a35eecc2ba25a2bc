//! Hub-named inputs: `hf://owner/name[@revision]/path` (a model repository) and
//! `hf://datasets/owner/name[@revision]/path` (a dataset repository), resolved through hf-hub into
//! the standard Hugging Face cache and handed to the rest of ttv as local paths.
//!
//! The cache is the one the Python client writes and reads (`$HF_HUB_CACHE`, else `$HF_HOME/hub`,
//! else `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`):
//!
//! ```text
//! models--owner--name/refs/main                 the commit `main` names
//! models--owner--name/blobs/<etag>              each file's bytes, once
//! models--owner--name/snapshots/<commit>/<path> the repository's tree at that commit (links into blobs/)
//! ```
//!
//! A path names a file or a folder (every file under it); the revision is a branch, a tag or a
//! commit hash (`main` when left out; a `/` inside it is written `%2F`). Online, the file list of
//! the revision comes from the Hub (`$HF_ENDPOINT`, default `https://huggingface.co`, with
//! `$HF_TOKEN` or the saved login token), files already in the snapshot are used as they are and
//! the others downloaded; the revision's name is then recorded in `refs/` so that later offline
//! use finds it. With `HF_HUB_OFFLINE=1` only the cache is consulted, and anything missing is an
//! error that names the repository, revision and path and the cache folder it is not in.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail, ensure};
use hf_hub::api::sync::{Api, ApiBuilder};
use hf_hub::{Cache, Repo, RepoType};

use crate::train::checkpoint;

/// The scheme of Hub-named paths.
pub const SCHEME: &str = "hf://";
const DEFAULT_REVISION: &str = "main";
/// Why only the cache is read offline.
const OFFLINE: &str = "HF_HUB_OFFLINE is set: only the cache is consulted; unset it to download";

/// The kinds of repository a Hub path can name, by the prefix the path gives after `hf://`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepoKind {
    /// No prefix: `hf://owner/name/...`.
    Model,
    /// `hf://datasets/owner/name/...`.
    Dataset,
    /// `hf://spaces/owner/name/...`.
    Space,
}

impl RepoKind {
    fn repo_type(self) -> RepoType {
        match self {
            Self::Model => RepoType::Model,
            Self::Dataset => RepoType::Dataset,
            Self::Space => RepoType::Space,
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Self::Model => "",
            Self::Dataset => "datasets/",
            Self::Space => "spaces/",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Self::Model => "model repo",
            Self::Dataset => "dataset repo",
            Self::Space => "space repo",
        }
    }
}

/// A parsed `hf://` path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubPath {
    pub kind: RepoKind,
    /// `owner/name`.
    pub repo: String,
    /// Branch, tag or commit hash.
    pub revision: String,
    /// Inside the repository, `/`-separated, no leading or trailing `/`; empty for its root.
    pub path: String,
}

/// Whether `s` names the Hub (starts with `hf://`).
pub fn is_hub(s: &str) -> bool {
    s.starts_with(SCHEME)
}

impl HubPath {
    /// `None` when `s` is not an `hf://` path; otherwise the parsed path or why it is malformed.
    pub fn parse(s: &str) -> Option<Result<Self>> {
        let rest = s.strip_prefix(SCHEME)?;
        Some(Self::parse_rest(rest).with_context(|| {
            format!(
                "`{s}` is not a Hub path: write hf://owner/name[@revision]/path for a model repo or \
                 hf://datasets/owner/name[@revision]/path for a dataset repo"
            )
        }))
    }

    fn parse_rest(rest: &str) -> Result<Self> {
        let (kind, rest) = match rest {
            r if r.starts_with("datasets/") => (RepoKind::Dataset, &r["datasets/".len()..]),
            r if r.starts_with("spaces/") => (RepoKind::Space, &r["spaces/".len()..]),
            r => (RepoKind::Model, r),
        };
        let mut parts = rest.splitn(3, '/');
        let owner = parts.next().unwrap_or_default();
        let name_rev = parts.next().ok_or_else(|| anyhow!("no repository name after the owner"))?;
        let path = parts.next().unwrap_or_default();
        let (name, revision) = match name_rev.split_once('@') {
            Some((name, rev)) => (name, rev.replace("%2F", "/").replace("%2f", "/")),
            None => (name_rev, DEFAULT_REVISION.to_string()),
        };
        let valid = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        ensure!(valid(owner), "owner `{owner}`: letters, digits, `-`, `_` and `.` only");
        ensure!(valid(name), "repository name `{name}`: letters, digits, `-`, `_` and `.` only");
        ensure!(!revision.is_empty(), "empty revision after `@`");
        ensure!(
            !revision.split('/').any(|c| c.is_empty() || c == "." || c == ".."),
            "revision `{revision}` is not a branch, tag or commit name"
        );
        let path = path.trim_matches('/');
        ensure!(
            !path.split('/').any(|c| c == "." || c == "..") && !path.contains("//"),
            "path `{path}`: no `.`, `..` or empty components"
        );
        Ok(Self { kind, repo: format!("{owner}/{name}"), revision, path: path.to_string() })
    }

    /// The same repository and revision, at `path` (repository-relative).
    pub fn at(&self, path: &str) -> Self {
        Self { path: path.trim_matches('/').to_string(), ..self.clone() }
    }

    /// A path inside this one.
    pub fn join(&self, rel: &str) -> Self {
        match self.path.as_str() {
            "" => self.at(rel),
            base => self.at(&format!("{base}/{}", rel.trim_matches('/'))),
        }
    }

    fn hf_repo(&self, revision: &str) -> Repo {
        Repo::with_revision(self.repo.clone(), self.kind.repo_type(), revision.to_string())
    }

    /// "model repo owner/name at revision `main`".
    fn describe(&self) -> String {
        format!("{} {} at revision `{}`", self.kind.noun(), self.repo, self.revision)
    }
}

impl fmt::Display for HubPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}{}", self.kind.prefix(), self.repo)?;
        if self.revision != DEFAULT_REVISION {
            write!(f, "@{}", self.revision.replace('/', "%2F"))?;
        }
        if !self.path.is_empty() {
            write!(f, "/{}", self.path)?;
        }
        Ok(())
    }
}

/// Whether an environment flag is set the way the Python client reads it (`1`, `ON`, `YES`,
/// `TRUE`, any case).
fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| matches!(v.trim().to_ascii_uppercase().as_str(), "1" | "ON" | "YES" | "TRUE"))
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`.
fn hf_home() -> PathBuf {
    env_path("HF_HOME").unwrap_or_else(|| {
        let cache = env_path("XDG_CACHE_HOME")
            .or_else(|| env_path("HOME").map(|h| h.join(".cache")))
            .unwrap_or_else(|| PathBuf::from(".cache"));
        cache.join("huggingface")
    })
}

/// The Hub cache folder: `$HF_HUB_CACHE`, else `hf_home()/hub`.
pub fn cache_dir() -> PathBuf {
    env_path("HF_HUB_CACHE").unwrap_or_else(|| hf_home().join("hub"))
}

/// Where Hub paths are resolved: a cache folder, and whether the Hub itself may be asked.
#[derive(Debug, Clone)]
pub struct Hub {
    cache: PathBuf,
    offline: bool,
}

impl Hub {
    /// The cache and mode the environment gives (`HF_HUB_CACHE` / `HF_HOME`, `HF_HUB_OFFLINE`).
    pub fn from_env() -> Self {
        Self { cache: cache_dir(), offline: env_flag("HF_HUB_OFFLINE") }
    }

    pub fn new(cache: impl Into<PathBuf>, offline: bool) -> Self {
        Self { cache: cache.into(), offline }
    }

    pub fn cache(&self) -> &Path {
        &self.cache
    }

    /// The file or folder `p` names, as a local path inside the cache's snapshot of its revision
    /// (a folder: every file under it is fetched).
    pub fn resolve(&self, p: &HubPath) -> Result<PathBuf> {
        let snapshot = self.open(p)?;
        snapshot.fetch(&p.path)?;
        Ok(snapshot.local(&p.path))
    }

    /// Make sure the repository files behind `locals` (paths inside the snapshot that `resolved`,
    /// the local form of `p`, lies in) are in the cache: what a manifest on the Hub lists beside
    /// itself. Paths outside that snapshot are left alone.
    pub fn fetch_beside(&self, p: &HubPath, resolved: &Path, locals: &[PathBuf]) -> Result<()> {
        let depth = if p.path.is_empty() { 0 } else { p.path.split('/').count() };
        let root = resolved.ancestors().nth(depth).ok_or_else(|| anyhow!("{}: no snapshot folder", resolved.display()))?;
        let mut wanted: Vec<String> = Vec::new();
        for local in locals {
            let Ok(rel) = local.strip_prefix(root) else { continue };
            let parts: Option<Vec<String>> = rel
                .components()
                .map(|c| match c {
                    Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                    _ => None,
                })
                .collect();
            if let Some(parts) = parts.filter(|p| !p.is_empty()) {
                wanted.push(parts.join("/"));
            }
        }
        wanted.sort();
        wanted.dedup();
        let missing: Vec<&String> = wanted.iter().filter(|w| !root.join(w).exists()).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let snapshot = self.open(p)?;
        for rel in missing {
            snapshot.fetch(rel)?;
        }
        Ok(())
    }

    /// A run folder on the Hub (laid out as the store writes one: `spec.yaml`, `ckpt/<name>/`):
    /// its spec and checkpoint `which` (`final`: the newest periodic one, or `best`), with only
    /// what generation reads (the model weights and the trainer state; not the optimizer's
    /// moments, metrics or samples). Returns the local run folder.
    pub fn fetch_run(&self, p: &HubPath, which: &str) -> Result<PathBuf> {
        let snapshot = self.open(p)?;
        let run = p.path.as_str();
        let inside = |rel: &str| if run.is_empty() { rel.to_string() } else { format!("{run}/{rel}") };
        snapshot.fetch(&inside("spec.yaml"))?;
        let ckpt = inside("ckpt");
        let files = snapshot.files_under(&ckpt)?;
        let has = |name: &str, file: &str| files.iter().any(|f| *f == format!("{ckpt}/{name}/{file}"));
        let complete = |name: &str| has(name, checkpoint::MODEL_FILE) && has(name, checkpoint::TRAINER_FILE);
        let mut names: Vec<&str> = files.iter().filter_map(|f| f.strip_prefix(&format!("{ckpt}/"))?.split('/').next()).collect();
        names.sort();
        names.dedup();
        let chosen = match which {
            "best" => names.into_iter().find(|n| *n == checkpoint::BEST && complete(n)),
            "final" => names
                .into_iter()
                .filter(|n| complete(n))
                .filter_map(|n| Some((checkpoint::periodic_updates(n)?, n)))
                .max()
                .map(|(_, n)| n),
            other => bail!("unknown checkpoint `{other}` (use final or best)"),
        };
        let Some(name) = chosen else {
            let source = match snapshot.remote {
                None => format!("in the cache at {} ({OFFLINE})", self.cache.display()),
                Some(_) => "on the Hub".to_string(),
            };
            bail!(
                "{}: no {which} checkpoint ({ckpt}/<name>/ with {} and {}) of {} {source}",
                p,
                checkpoint::MODEL_FILE,
                checkpoint::TRAINER_FILE,
                p.describe()
            );
        };
        for file in [checkpoint::MODEL_FILE, checkpoint::TRAINER_FILE] {
            snapshot.fetch(&format!("{ckpt}/{name}/{file}"))?;
        }
        Ok(snapshot.local(run))
    }

    /// The snapshot of `p`'s revision: from the cache alone when offline, else as the Hub lists it.
    fn open(&self, p: &HubPath) -> Result<Snapshot<'_>> {
        let repo_dir = self.cache.join(p.hf_repo(&p.revision).folder_name());
        if self.offline {
            let commit = cached_commit(&repo_dir, &p.revision).ok_or_else(|| {
                anyhow!(
                    "{p}: revision `{}` of {} {} is not in the cache at {} ({OFFLINE})",
                    p.revision,
                    p.kind.noun(),
                    p.repo,
                    self.cache.display()
                )
            })?;
            let root = repo_dir.join("snapshots").join(&commit);
            return Ok(Snapshot { hub: self, path: p.clone(), root, remote: None });
        }
        let api = self.api()?;
        let info = api.repo(p.hf_repo(&p.revision)).info().map_err(|e| {
            let hint = match cached_commit(&repo_dir, &p.revision) {
                Some(_) => "; the cache has this revision: HF_HUB_OFFLINE=1 reads it without asking the Hub",
                None => "",
            };
            anyhow!("{p}: cannot list {} on the Hub ({e}){hint}", p.describe())
        })?;
        let root = repo_dir.join("snapshots").join(&info.sha);
        let files = info.siblings.into_iter().map(|s| s.rfilename).collect();
        if p.revision != info.sha {
            // What the Python client records too: the revision's name -> its commit, for offline use.
            let cache = Cache::new(self.cache.clone()).repo(p.hf_repo(&p.revision));
            cache.create_ref(&info.sha).with_context(|| format!("recording {p}'s commit in {}", repo_dir.display()))?;
        }
        let remote = Some(Remote { api, commit: info.sha, files });
        Ok(Snapshot { hub: self, path: p.clone(), root, remote })
    }

    /// An hf-hub client on this cache, at `$HF_ENDPOINT` (default `https://huggingface.co`), with
    /// `$HF_TOKEN` or the token `huggingface-cli login` saved.
    fn api(&self) -> Result<Api> {
        let mut builder = ApiBuilder::from_cache(Cache::new(self.cache.clone()));
        if let Ok(endpoint) = std::env::var("HF_ENDPOINT")
            && !endpoint.trim().is_empty()
        {
            builder = builder.with_endpoint(endpoint.trim().trim_end_matches('/').to_string());
        }
        let token = std::env::var("HF_TOKEN").ok().filter(|t| !t.trim().is_empty()).or_else(|| {
            let file = env_path("HF_TOKEN_PATH").unwrap_or_else(|| hf_home().join("token"));
            std::fs::read_to_string(file).ok().map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
        });
        builder = builder.with_token(token).with_progress(true);
        builder.build().map_err(|e| anyhow!("cannot start a Hub client: {e}"))
    }
}

/// The commit the cache holds for `revision`: `refs/<revision>`, or the revision itself when it is
/// a commit hash with a snapshot.
fn cached_commit(repo_dir: &Path, revision: &str) -> Option<String> {
    if let Ok(commit) = std::fs::read_to_string(repo_dir.join("refs").join(revision)) {
        let commit = commit.trim().to_string();
        if !commit.is_empty() && repo_dir.join("snapshots").join(&commit).is_dir() {
            return Some(commit);
        }
    }
    let is_commit = revision.len() == 40 && revision.chars().all(|c| c.is_ascii_hexdigit());
    (is_commit && repo_dir.join("snapshots").join(revision).is_dir()).then(|| revision.to_string())
}

/// What the Hub said about a revision.
struct Remote {
    api: Api,
    commit: String,
    files: Vec<String>,
}

/// One revision of one repository, with its snapshot folder in the cache.
struct Snapshot<'a> {
    hub: &'a Hub,
    path: HubPath,
    root: PathBuf,
    /// `None` offline: only the cache is read.
    remote: Option<Remote>,
}

impl Snapshot<'_> {
    /// The local path of repository path `rel` (which may not exist yet).
    fn local(&self, rel: &str) -> PathBuf {
        if rel.is_empty() { self.root.clone() } else { self.root.join(rel) }
    }

    /// The repository's files at or under `rel` (repository-relative), as the Hub lists them, or
    /// as the cache holds them offline.
    fn files_under(&self, rel: &str) -> Result<Vec<String>> {
        let under = |f: &str| rel.is_empty() || f == rel || f.starts_with(&format!("{rel}/"));
        match &self.remote {
            Some(remote) => Ok(remote.files.iter().filter(|f| under(f)).cloned().collect()),
            None => {
                let mut out = Vec::new();
                walk(&self.root, &self.root, &mut out)?;
                out.retain(|f| under(f));
                Ok(out)
            }
        }
    }

    /// Bring the file or folder `rel` into the snapshot (offline: check that it is there).
    fn fetch(&self, rel: &str) -> Result<()> {
        let hub_path = self.path.at(rel);
        let not_there = || match &self.remote {
            None => anyhow!(
                "{hub_path}: `{}` of {} is not in the cache at {} ({OFFLINE})",
                display_rel(rel),
                self.path.describe(),
                self.hub.cache.display()
            ),
            Some(remote) => anyhow!(
                "{hub_path}: {} has no file or folder `{}` (commit {})",
                self.path.describe(),
                display_rel(rel),
                remote.commit
            ),
        };
        let files = self.files_under(rel)?;
        if files.is_empty() {
            return Err(not_there());
        }
        let Some(remote) = &self.remote else {
            // Offline: a folder holds what the cache has; a file is there or listed above.
            return Ok(());
        };
        let repo = remote.api.repo(self.path.hf_repo(&remote.commit));
        for file in files.iter().filter(|f| !self.root.join(f).is_file()) {
            eprintln!("downloading {}", self.path.at(file));
            let got = repo.download(file).map_err(|e| anyhow!("{}: download failed ({e})", self.path.at(file)))?;
            ensure!(
                got == self.root.join(file),
                "{}: the Hub answered with another commit than {} ({})",
                self.path.at(file),
                remote.commit,
                got.display()
            );
        }
        Ok(())
    }
}

fn display_rel(rel: &str) -> &str {
    if rel.is_empty() { "/" } else { rel }
}

/// Every file under `dir` (following the snapshot's links into blobs/; a link whose blob is
/// gone does not count), as `/`-separated paths relative to `root`.
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(anyhow!("listing {}: {e}", dir.display())),
    };
    for entry in entries {
        let path = entry.with_context(|| format!("listing {}", dir.display()))?.path();
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => walk(root, &path, out)?,
            Ok(_) => {
                let rel = path.strip_prefix(root).unwrap_or(&path);
                out.push(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"));
            }
            Err(_) => {}
        }
    }
    Ok(())
}

/// `source` as a local path: an `hf://` path resolved through [`Hub::from_env`], anything else
/// as it is.
pub fn local_path(source: &str) -> Result<PathBuf> {
    match HubPath::parse(source) {
        Some(p) => Hub::from_env().resolve(&p?),
        None => Ok(PathBuf::from(source)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> HubPath {
        HubPath::parse(s).expect("hf://").unwrap_or_else(|e| panic!("{s}: {e:#}"))
    }

    #[test]
    fn hub_paths_parse_and_print_back() {
        let p = parse("hf://owner/name/runs/abc");
        assert_eq!(
            (p.kind, p.repo.as_str(), p.revision.as_str(), p.path.as_str()),
            (RepoKind::Model, "owner/name", "main", "runs/abc")
        );
        let p = parse("hf://datasets/HuggingFaceFV/finevideo@v1.0/data/");
        assert_eq!(
            (p.kind, p.repo.as_str(), p.revision.as_str(), p.path.as_str()),
            (RepoKind::Dataset, "HuggingFaceFV/finevideo", "v1.0", "data")
        );
        assert_eq!(p.to_string(), "hf://datasets/HuggingFaceFV/finevideo@v1.0/data");
        let p = parse("hf://o/n@refs%2Fpr%2F3");
        assert_eq!((p.revision.as_str(), p.path.as_str()), ("refs/pr/3", ""));
        assert_eq!(p.to_string(), "hf://o/n@refs%2Fpr%2F3");
        assert_eq!(p.join("a/b.csv").path, "a/b.csv");
        assert_eq!(parse("hf://o/n/x").join("y").path, "x/y");
        assert!(HubPath::parse("data/clips.csv").is_none());
        for bad in ["hf://", "hf://owner", "hf://o/n/../x", "hf://o/n@/x", "hf://o w/n", "hf://o/n@../x"] {
            let e = HubPath::parse(bad).unwrap().unwrap_err();
            assert!(format!("{e:#}").contains("is not a Hub path"), "{bad}: {e:#}");
        }
    }

    #[test]
    fn offline_resolution_reads_refs_and_commit_snapshots() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = tmp.path().join("models--o--n");
        let commit = "0123456789abcdef0123456789abcdef01234567";
        std::fs::create_dir_all(repo.join("snapshots").join(commit).join("d")).unwrap();
        std::fs::create_dir_all(repo.join("refs")).unwrap();
        std::fs::write(repo.join("refs/main"), commit).unwrap();
        std::fs::write(repo.join("snapshots").join(commit).join("d/f.txt"), "x").unwrap();
        let hub = Hub::new(tmp.path(), true);
        let want = repo.join("snapshots").join(commit).join("d/f.txt");
        assert_eq!(hub.resolve(&parse("hf://o/n/d/f.txt")).unwrap(), want);
        assert_eq!(hub.resolve(&parse(&format!("hf://o/n@{commit}/d/f.txt"))).unwrap(), want);
        assert_eq!(hub.resolve(&parse("hf://o/n/d")).unwrap(), want.parent().unwrap());
        let e = format!("{:#}", hub.resolve(&parse("hf://o/n/d/g.txt")).unwrap_err());
        assert!(e.contains("o/n") && e.contains("`main`") && e.contains("d/g.txt") && e.contains("not in the cache"), "{e}");
        let e = format!("{:#}", hub.resolve(&parse("hf://o/n@v2/d/f.txt")).unwrap_err());
        assert!(e.contains("revision `v2`") && e.contains("not in the cache"), "{e}");
    }
}
