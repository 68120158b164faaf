//! Helpers for the end-to-end tests of the web app in real headless Chromium.
//!
//! - [`StaticServer`]: serves the built app (`dist/`) and extra in-memory files (traces) on a
//!   free loopback port, from a std thread.
//! - [`Chromedriver`]: starts Debian's `chromedriver` on a free port and stops it on drop.
//! - [`Browser`]: a fantoccini (WebDriver) session in headless Chromium with a fresh profile.
//! - [`simulated_trace`]: a recorded trace made with the core's simulator.
//! - [`fake_hub`]: a stand-in for the hub's `/ws/view` and `/api/again` (the static server
//!   plays it when given a live trace), until the live test can run the real hub.
//!
//! The tests need `dist/` (`cargo xtask web`); `cargo xtask test` builds it first. A live-mode
//! test can start the hub (`cargo run -p p2mp-native --bin p2mp -- ui`) beside these and point
//! [`Browser::open`] at it instead of the static server.

pub mod fake_hub;

use fantoccini::{Client, ClientBuilder, Locator};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// `artifacts/` at the workspace root (created): screenshots and other test artefacts.
pub fn artifacts_dir() -> PathBuf {
    let dir = workspace_root().join("artifacts");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// The built web app, or None if `dist/index.html` is missing.
pub fn dist_dir() -> Option<PathBuf> {
    let d = workspace_root().join("dist");
    d.join("index.html").is_file().then_some(d)
}

/// The built web app, or a panic that says how to build it (in CI: that the build step
/// should have).
pub fn dist_or_panic() -> PathBuf {
    match dist_dir() {
        Some(d) => d,
        None => {
            assert!(!in_ci(), "dist/ is missing: cargo xtask test builds it before this test");
            panic!("dist/ is missing: build the web app first with `cargo xtask web`");
        }
    }
}

/// Whether this run is CI (where a missing browser is a failure, not a skip).
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until something accepts TCP connections on `addr`.
pub fn wait_for_port(addr: SocketAddr, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A tiny static HTTP/1.1 server (GET only, one request per connection).
pub struct StaticServer {
    /// Where it listens.
    pub addr: SocketAddr,
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        Some("jsonl") | Some("txt") => "text/plain; charset=utf-8",
        Some("json") => "application/json",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// What the server offers besides files.
#[derive(Clone, Default)]
pub struct Hub {
    /// A trace streamed to every viewer of `/ws/view` (None: no such endpoint, like a plain
    /// static host).
    pub live_trace: Option<String>,
    /// Lines per WebSocket message.
    pub lines_per_message: usize,
    /// Pause between messages.
    pub gap: Duration,
}

fn respond(
    mut stream: TcpStream,
    root: &Path,
    files: &HashMap<String, Vec<u8>>,
    hub: &Hub,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    let mut ws_key = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.trim().eq_ignore_ascii_case("sec-websocket-key") {
                ws_key = Some(v.trim().to_string());
            }
        }
    }
    let mut parts = request.split_whitespace();
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or("/");
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let path = if path == "/" { "/index.html" } else { path };
    if let (Some(trace), Some(key), "/ws/view") = (&hub.live_trace, &ws_key, path) {
        fake_hub::serve_viewer(stream, key, trace, hub.lines_per_message, hub.gap);
        return Ok(());
    }
    let body = if method == "POST" && path == "/api/again" && hub.live_trace.is_some() {
        Some(b"ok".to_vec())
    } else if method != "GET" {
        None
    } else if let Some(b) = files.get(path) {
        Some(b.clone())
    } else if path.split('/').any(|seg| seg == "..") {
        None
    } else {
        std::fs::read(root.join(path.trim_start_matches('/'))).ok()
    };
    let (status, body) = match body {
        Some(b) => ("200 OK", b),
        None => ("404 Not Found", b"not found".to_vec()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        content_type(path),
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(&body)?;
    stream.flush()?;
    // Drain anything left so the browser sees an orderly close.
    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
    let _ = reader.read(&mut [0u8; 512]);
    Ok(())
}

impl StaticServer {
    /// Serves `root` and `files` (path → bytes, paths starting with `/`) until the process ends.
    pub fn start(root: &Path, files: HashMap<String, Vec<u8>>) -> std::io::Result<Self> {
        Self::start_with_hub(root, files, Hub::default())
    }

    /// Like [`StaticServer::start`], also playing the hub's endpoints as `hub` says.
    pub fn start_with_hub(root: &Path, files: HashMap<String, Vec<u8>>, hub: Hub) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let root = root.to_path_buf();
        let files = Arc::new(files);
        let hub = Arc::new(hub);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let root = root.clone();
                let files = files.clone();
                let hub = hub.clone();
                std::thread::spawn(move || {
                    let _ = respond(stream, &root, &files, &hub);
                });
            }
        });
        Ok(StaticServer { addr })
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// A running chromedriver, stopped on drop.
pub struct Chromedriver {
    child: Child,
    /// Its WebDriver URL.
    pub url: String,
}

/// The chromedriver binary: `$CHROMEDRIVER`, Debian's `/usr/bin/chromedriver`, or on PATH.
pub fn chromedriver_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMEDRIVER") {
        return Some(PathBuf::from(p));
    }
    let debian = PathBuf::from("/usr/bin/chromedriver");
    if debian.is_file() {
        return Some(debian);
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("chromedriver"))
        .find(|p| p.is_file())
}

impl Chromedriver {
    /// Starts chromedriver on a free port and waits until it listens.
    pub fn start(binary: &Path) -> Result<Self, String> {
        let port = free_port().map_err(|e| format!("no free port: {e}"))?;
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let mut me = Chromedriver { child, url: format!("http://127.0.0.1:{port}") };
        if !wait_for_port(SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_secs(15)) {
            let _ = me.child.kill();
            return Err("chromedriver did not start listening within 15 s".into());
        }
        Ok(me)
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session with a fresh profile directory.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Opens headless Chromium through `driver`, with a window of `width` × `height`.
    pub async fn start(driver: &Chromedriver, width: u32, height: u32) -> Result<Self, String> {
        let profile = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-background-networking".into(),
            "--no-first-run".into(),
            "--disable-dev-shm-usage".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        let mut opts = serde_json::Map::new();
        opts.insert("args".into(), serde_json::json!(args));
        if let Some(bin) = std::env::var_os("CHROMIUM").map(PathBuf::from).or_else(|| {
            let p = PathBuf::from("/usr/bin/chromium");
            p.is_file().then_some(p)
        }) {
            opts.insert("binary".into(), serde_json::json!(bin.display().to_string()));
        }
        caps.insert("goog:chromeOptions".into(), serde_json::Value::Object(opts));
        let client = ClientBuilder::rustls()
            .map_err(|e| format!("TLS setup: {e}"))?
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .map_err(|e| format!("cannot open a WebDriver session: {e}"))?;
        Ok(Browser { client, _profile: profile })
    }

    /// Navigates to `url`.
    pub async fn open(&self, url: &str) -> Result<(), String> {
        self.client.goto(url).await.map_err(|e| format!("goto {url}: {e}"))
    }

    /// The text of the element matching `css` (waits up to 10 s for it to exist).
    pub async fn text(&self, css: &str) -> Result<String, String> {
        let el = self.wait_for(css).await?;
        el.text().await.map_err(|e| format!("text of {css}: {e}"))
    }

    /// Waits up to 10 s for an element matching `css`.
    pub async fn wait_for(&self, css: &str) -> Result<fantoccini::elements::Element, String> {
        let start = Instant::now();
        loop {
            match self.client.find(Locator::Css(css)).await {
                Ok(el) => return Ok(el),
                Err(e) if start.elapsed() > Duration::from_secs(10) => return Err(format!("no {css}: {e}")),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// The `value` property of the form control matching `css`.
    pub async fn value(&self, css: &str) -> Result<String, String> {
        let el = self.wait_for(css).await?;
        Ok(el.prop("value").await.map_err(|e| format!("value of {css}: {e}"))?.unwrap_or_default())
    }

    /// Types `value` over the form control matching `css` (select all, type, Tab away: the
    /// change event fires), and makes sure it took. The page re-renders its controls after each
    /// change, and a re-render that lands while a field is being typed into puts the old value
    /// back: so until the field shows something other than what it held before (`value`, or
    /// what the page clamped it to), type again, up to 5 times.
    pub async fn set_field(&self, css: &str, value: &str) -> Result<(), String> {
        let before = self.value(css).await?;
        if before == value {
            return Ok(());
        }
        for _ in 0..5 {
            let el = self.wait_for(css).await?;
            el.send_keys(&format!("\u{E009}a\u{E000}{value}\u{E004}"))
                .await
                .map_err(|e| format!("type into {css}: {e}"))?;
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(1) {
                if self.value(css).await? != before {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Err(format!("{css} kept {before:?} after typing {value:?} 5 times"))
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) -> Result<(), String> {
        self.wait_for(css).await?.click().await.map_err(|e| format!("click {css}: {e}"))
    }

    /// Polls `css`'s text until `ok` accepts it, up to `timeout`; returns the last text.
    pub async fn wait_text(
        &self,
        css: &str,
        timeout: Duration,
        ok: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        let start = Instant::now();
        loop {
            let t = self.text(css).await?;
            if ok(&t) {
                return Ok(t);
            }
            if start.elapsed() > timeout {
                return Err(format!("{css} is still {t:?} after {timeout:?}"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a PNG screenshot of the page to `artifacts/NAME` and returns its path.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf, String> {
        let png = self.client.screenshot().await.map_err(|e| format!("screenshot: {e}"))?;
        let path = artifacts_dir().join(name);
        std::fs::write(&path, png).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    }

    /// Ends the session (closes the browser).
    pub async fn close(self) {
        let _ = self.client.close().await;
    }

    /// Runs a test's `body` (which drives this browser) for at most `limit`, closes the
    /// browser, then fails with the body's error, or because it ran out of time.
    pub async fn conclude(
        &self,
        what: &str,
        limit: Duration,
        body: impl std::future::Future<Output = Result<(), String>>,
    ) {
        let result = tokio::time::timeout(limit, body).await;
        let _ = self.client.clone().close().await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("{what}: {e}"),
            Err(_) => panic!("{what} did not finish within {limit:?}"),
        }
    }
}

/// A simulated transfer's trace as JSON Lines, header first.
pub fn simulated_trace(cfg: p2mp_core::sim::SimConfig) -> Result<String, String> {
    let mut sim = p2mp_core::sim::Simulation::new(cfg).map_err(|e| e.to_string())?;
    sim.run();
    let mut out = serde_json::to_string(&sim.header()).map_err(|e| e.to_string())?;
    out.push('\n');
    for e in sim.trace() {
        out.push_str(&serde_json::to_string(e).map_err(|e| e.to_string())?);
        out.push('\n');
    }
    Ok(out)
}

/// What the test environment offers: the driver binary, or why the browser tests must skip.
pub fn browser_or_skip(test: &str) -> Option<PathBuf> {
    match chromedriver_path() {
        Some(p) => Some(p),
        None if in_ci() => panic!("{test}: chromedriver is missing in CI (cargo xtask test installs it)"),
        None => {
            eprintln!(
                "SKIPPED {test}: chromedriver not found (install Debian's chromium and chromium-driver, \
                 or run `cargo xtask install`)"
            );
            None
        }
    }
}
