//! `ttv-report --serve`: the report on localhost, kept current. The pages are rendered into the
//! output folder as usual and served from there; a watcher looks at the store's files every
//! [`POLL`] and renders again when any changed. Each served page gets a `ttv-live` meta tag that
//! points its script at [`STATUS_PATH`], whose `generation` counts renders: the page reloads
//! itself when the number moves. Only files under the output folder are served.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, anyhow};
use tiny_http::{Header, Method, Request, Response, Server};

use super::{ReportOptions, render};
use crate::store::Store;

/// How often the store is looked at.
pub const POLL: Duration = Duration::from_secs(2);
/// The JSON a served page polls: `{"generation", "rendered", "error"}`.
pub const STATUS_PATH: &str = "/_ttv/status.json";

#[derive(Debug, Clone, Default)]
struct State {
    generation: u64,
    /// Unix time of the last render.
    rendered: f64,
    /// Why the last render failed (the pages of the one before are still served).
    error: Option<String>,
}

/// Modification time and length of each file that can change what a page shows: every run
/// directory's own files and its samples' folders (checkpoints left out).
pub fn fingerprint(registry: &Path) -> BTreeMap<PathBuf, (SystemTime, u64)> {
    let mut out = BTreeMap::new();
    let look = |dir: &Path, out: &mut BTreeMap<PathBuf, (SystemTime, u64)>| {
        let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
        let mut dirs = Vec::new();
        for e in entries.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            out.insert(e.path(), (meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), meta.len()));
            if meta.is_dir() {
                dirs.push(e.path());
            }
        }
        dirs
    };
    for run in look(&Store::at(registry).runs_dir(), &mut out) {
        for sub in look(&run, &mut out) {
            if sub.file_name().is_some_and(|n| n == "samples") {
                look(&sub, &mut out);
            }
        }
    }
    out
}

fn now() -> f64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// Render once, then serve `opts.out` on `addr` (port 0: any free port) until the process is
/// stopped; `ready` is told the address once requests are answered.
pub fn serve(opts: &ReportOptions, addr: &str, ready: impl FnOnce(SocketAddr)) -> Result<()> {
    let server = Server::http(addr).map_err(|e| anyhow!("cannot listen on {addr}: {e}"))?;
    let local = server.server_addr().to_ip().context("the server has no IP address")?;
    let state = Arc::new(Mutex::new(State::default()));
    let mut seen = fingerprint(&opts.registry);
    rerender(opts, &state);
    {
        let (opts, state) = (opts.clone(), Arc::clone(&state));
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(POLL);
                let now = fingerprint(&opts.registry);
                if now != seen {
                    seen = now;
                    rerender(&opts, &state);
                }
            }
        });
    }
    ready(local);
    for request in server.incoming_requests() {
        let snapshot = state.lock().map(|s| s.clone()).unwrap_or_default();
        // A client that went away is no error of the server's.
        let _ = answer(request, &opts.out, &snapshot);
    }
    Ok(())
}

fn rerender(opts: &ReportOptions, state: &Mutex<State>) {
    let result = render(opts);
    let Ok(mut s) = state.lock() else { return };
    s.generation += 1;
    s.rendered = now();
    match result {
        Ok(r) => {
            s.error = None;
            for line in &r.damaged {
                eprintln!("warning: {line}");
            }
            eprintln!("rendered {} page(s) (generation {})", r.pages.len(), s.generation);
        }
        Err(e) => {
            eprintln!("error: rendering the report: {e:#}");
            s.error = Some(format!("{e:#}"));
        }
    }
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("ASCII header")
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "css" => "text/css; charset=utf-8",
        "png" => "image/png",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The file under `root` that URL path `url` names (`/` and folders: their index.html); none
/// for a path that would leave `root`.
pub fn resolve(root: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let mut out = root.to_path_buf();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        let part = decode(part)?;
        let mut comps = Path::new(&part).components();
        match (comps.next(), comps.next()) {
            (Some(Component::Normal(c)), None) => out.push(c),
            _ => return None,
        }
    }
    if out.is_dir() {
        out.push("index.html");
    }
    Some(out)
}

/// `%xx` escapes decoded; none when they do not make UTF-8.
fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn answer(request: Request, root: &Path, state: &State) -> std::io::Result<()> {
    if !matches!(request.method(), Method::Get | Method::Head) {
        return request.respond(Response::from_string("only GET and HEAD\n").with_status_code(405));
    }
    let url = request.url().to_string();
    if url.split('?').next() == Some(STATUS_PATH) {
        let body = serde_json::json!({"generation": state.generation, "rendered": state.rendered, "error": state.error});
        let r = Response::from_string(body.to_string())
            .with_header(header("Content-Type", "application/json"))
            .with_header(header("Cache-Control", "no-store"));
        return request.respond(r);
    }
    let Some(path) = resolve(root, &url) else {
        return request.respond(Response::from_string("bad path\n").with_status_code(400));
    };
    let Ok(mut bytes) = std::fs::read(&path) else {
        return request.respond(Response::from_string(format!("no such page: {url}\n")).with_status_code(404));
    };
    if path.extension().is_some_and(|e| e == "html") {
        let meta = format!("<meta name=\"ttv-live\" content=\"{STATUS_PATH}\"></head>");
        bytes = String::from_utf8_lossy(&bytes).replacen("</head>", &meta, 1).into_bytes();
    }
    let r = Response::from_data(bytes)
        .with_header(header("Content-Type", content_type(&path)))
        .with_header(header("Cache-Control", "no-cache"));
    request.respond(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_resolve_inside_the_root_only() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("tiny/plots")).unwrap();
        let r = root.path();
        assert_eq!(resolve(r, "/"), Some(r.join("index.html")));
        assert_eq!(resolve(r, "/tiny/"), Some(r.join("tiny/index.html")));
        assert_eq!(resolve(r, "/tiny/plots/loss%20a.png?x=1"), Some(r.join("tiny/plots/loss a.png")));
        assert_eq!(resolve(r, "/../etc/passwd"), None);
        assert_eq!(resolve(r, "/tiny/%2e%2e/%2e%2e/x"), None);
        assert_eq!(resolve(r, "/a%2fb"), None, "an escaped slash is no way out");
    }
}
