//! `p2mp ui`: the web app and the live trace hub on one port; and the live side of
//! `p2mp demo` (the hub, the web build, `POST /api/again`, `--again`).

use crate::app::demo::{self, DemoArgs};
use crate::cli::random_seed;
use crate::error::{NativeError, Result};
use crate::hub::{AgainHook, Hub, HubConfig};
use crate::publish::PublishTarget;
use clap::Args;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Options of `p2mp ui`.
#[derive(Debug, Clone, Args)]
pub struct UiArgs {
    /// IP address to listen on. Anything beyond loopback requires --token.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// TCP port of the page and the hub.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The built web app (default: ./dist, or the repository's dist/).
    #[arg(long, value_name = "DIR")]
    pub dist: Option<PathBuf>,
    /// The hub's security options.
    #[command(flatten)]
    pub security: Security,
}

/// The hub's security options (shared by `p2mp ui` and `p2mp demo`).
#[derive(Debug, Clone, Args)]
pub struct Security {
    /// Secret that publishers and viewers must present (`?token=...`; the page passes it on
    /// with a cookie). Required when listening beyond loopback.
    #[arg(long, value_name = "SECRET")]
    pub token: Option<String>,
    /// Require the token on loopback too.
    #[arg(long)]
    pub require_token: bool,
    /// Allow browser connections from this origin too (e.g. http://localhost:3000 when the
    /// page is served elsewhere); repeatable. The page's own origin is always allowed.
    #[arg(long, value_name = "ORIGIN")]
    pub allow_origin: Vec<String>,
    /// Most simultaneous connections (pages, viewers, publishers).
    #[arg(long, value_name = "N", default_value_t = crate::hub::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Largest WebSocket message accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = crate::hub::MAX_MESSAGE)]
    pub max_message: usize,
}

impl Security {
    fn apply(&self, cfg: &mut HubConfig) {
        cfg.token = self.token.clone();
        cfg.require_token = self.require_token;
        cfg.allow_origins = self.allow_origin.clone();
        cfg.max_connections = self.max_connections.max(1);
        cfg.max_message = self.max_message.max(1024);
    }
}

/// The repository root when this binary runs from a checkout (where `cargo xtask web` works).
fn repo_root() -> Option<PathBuf> {
    let compiled = Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf);
    let cwd = std::env::current_dir().ok();
    [cwd, compiled].into_iter().flatten().find(|d| d.join("xtask").is_dir() && d.join("Cargo.toml").is_file())
}

/// The built web app: `explicit`, else `./dist`, else the repository's `dist/`.
pub fn find_dist(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(d) = explicit {
        return Some(d.to_path_buf());
    }
    let mut candidates = vec![PathBuf::from("dist")];
    candidates.extend(repo_root().map(|r| r.join("dist")));
    candidates.into_iter().find(|d| d.join("index.html").is_file())
}

/// Finds the web app, building it with `cargo xtask web` when it is missing; explains and
/// returns None if that fails (the hub then works without the page).
pub fn ensure_dist(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(d) = find_dist(explicit) {
        return Some(d);
    }
    let Some(root) = repo_root() else {
        println!("The web app is not built and this is not a checkout of the repository: serving the hub without the page (give --dist DIR).");
        return None;
    };
    println!("Building the web app (cargo xtask web; the first time takes minutes) ...");
    match Command::new("cargo").args(["xtask", "web"]).current_dir(&root).status() {
        Ok(s) if s.success() => find_dist(None),
        Ok(s) => {
            println!("The web build failed ({s}); serving the hub without the page. Run `cargo xtask web` to see why.");
            None
        }
        Err(e) => {
            println!("Cannot run cargo to build the web app ({e}); serving the hub without the page.");
            None
        }
    }
}

/// Runs `p2mp ui` until Ctrl-C.
pub async fn run(args: UiArgs) -> Result<()> {
    let mut cfg = HubConfig::new(SocketAddr::new(args.bind, args.port));
    args.security.apply(&mut cfg);
    cfg.dist = find_dist(args.dist.as_deref());
    if let Some(d) = &args.dist {
        if !d.join("index.html").is_file() {
            return Err(NativeError::usage(format!("--dist {}: no index.html there", d.display())));
        }
    }
    let hub = Hub::bind(cfg.clone(), None).await?;
    println!("P2MP-FTP live view: open {}", hub.url());
    match &cfg.dist {
        Some(d) => println!("Serving the web app from {}", d.display()),
        None => println!("The web app is not built (cargo xtask web): serving the hub only."),
    }
    println!("Nodes publish with --trace {}  (p2mpserver and p2mpclient)", hub.publish_url());
    hub.serve().await;
    Ok(())
}

/// `p2mp demo`: the hub, the servers and the client in this process; keeps serving for more
/// transfers unless `--once`.
pub async fn demo(args: DemoArgs) -> Result<()> {
    if args.again {
        return post_again(&args).await;
    }
    let external = args.trace.as_deref().map(PublishTarget::parse).transpose()?;
    let mut seed = args.seed.unwrap_or_else(random_seed);
    if args.once {
        return demo::transfer(&args, seed, external.as_ref()).await;
    }
    let dist = ensure_dist(args.dist.as_deref());
    let mut cfg = HubConfig::new(SocketAddr::new(args.ui_bind, args.ui_port));
    args.security.apply(&mut cfg);
    cfg.dist = dist;
    let (again_tx, mut again_rx) = mpsc::channel(1);
    let busy = Arc::new(AtomicBool::new(true));
    let hub = Hub::bind(cfg, Some(AgainHook { tx: again_tx, busy: Arc::clone(&busy) })).await?;
    let (handle, url, _serving) = hub.spawn();
    let live = external.unwrap_or(PublishTarget::Hub(handle));
    println!("Live view: open {url} in a browser (the transfer so far is replayed on joining).");
    println!();
    // The first transfer decides the exit status when it fails; later ones only report.
    demo::transfer(&args, seed, Some(&live)).await?;
    busy.store(false, Ordering::SeqCst);
    loop {
        println!();
        println!(
            "Still serving {url}: press \"Run another transfer\" in the page or run `p2mp demo --again`; Ctrl-C to stop."
        );
        if again_rx.recv().await.is_none() {
            return Ok(());
        }
        seed = seed.wrapping_add(1);
        println!();
        if let Err(e) = demo::transfer(&args, seed, Some(&live)).await {
            println!("This transfer failed: {e}");
        }
        busy.store(false, Ordering::SeqCst);
    }
}

/// `p2mp demo --again`: asks a running demo's hub for one more transfer.
async fn post_again(args: &DemoArgs) -> Result<()> {
    let host = if args.ui_bind.is_unspecified() { IpAddr::from([127, 0, 0, 1]) } else { args.ui_bind };
    let addr = SocketAddr::new(host, args.ui_port);
    let query = args.security.token.as_deref().map(|t| format!("?token={t}")).unwrap_or_default();
    let exchange = async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        let req = format!(
            "POST /api/again{query} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await?;
        let mut resp = Vec::new();
        s.take(64 * 1024).read_to_end(&mut resp).await?;
        Ok::<_, std::io::Error>(String::from_utf8_lossy(&resp).into_owned())
    };
    let resp = match tokio::time::timeout(Duration::from_secs(10), exchange).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            return Err(NativeError::Hub(format!(
                "no demo is listening on {addr} ({e}); start one with `p2mp demo`"
            )))
        }
        Err(_) => return Err(NativeError::Hub(format!("{addr} did not answer within 10 s"))),
    };
    let status = resp.split_whitespace().nth(1).unwrap_or("?").to_string();
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b.trim()).unwrap_or_default().to_string();
    if status == "202" {
        println!("The demo at http://{addr}/ starts another transfer.");
        Ok(())
    } else {
        Err(NativeError::Hub(format!("{addr} answered {status}: {body}")))
    }
}
