//! The live trace hub behind `p2mp ui` and `p2mp demo`: one TCP port serving the built web app
//! and two WebSocket endpoints (tokio-tungstenite).
//!
//! - `GET /` and the files of `dist/`: the web app.
//! - `/ws/publish`: nodes publish their trace, a `TraceHeader` line first, then events, one or
//!   more JSON Lines per text message ([`crate::publish`] is the client side).
//! - `/ws/view`: browsers subscribe. Each transfer starts with a `TraceHeader` message, then
//!   events in time order, on the client's clock from 0, server events carrying the client's
//!   receiver index in `node` and `rx`. A viewer joining mid-transfer first receives the
//!   header and every event so far.
//! - `POST /api/again`: asks `p2mp demo` for another transfer (404 elsewhere, 409 while one
//!   runs).
//!
//! Safety limits ([`HubConfig`]): a connection cap, a message size cap, a bounded queue per
//! viewer (a viewer that does not keep up is dropped with a notice, never buffered without
//! bound), lines that do not parse rejected, counted and logged ([`HubStats::rejected`],
//! [`HubHandle::rejections`]). The Origin of browser requests must be the page's own (or
//! listed); beyond loopback a token is required.

mod http;
pub mod state;

use crate::error::{NativeError, Result};
use state::Shared;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use state::{match_receiver, AgainHook, AgainOutcome, HubStats};

/// Default size limit of one WebSocket message, either way.
pub const MAX_MESSAGE: usize = 1 << 20;
/// Default connection cap.
pub const MAX_CONNECTIONS: usize = 256;
/// Default per-viewer queue, in messages (a message holds up to about 256 KiB of lines).
pub const VIEWER_QUEUE: usize = 256;
/// Default reorder delay.
pub const HOLD: Duration = Duration::from_millis(250);

/// How a hub is set up.
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// Address to listen on (port 0: any free one).
    pub bind: SocketAddr,
    /// The built web app (None: the page explains how to build it).
    pub dist: Option<PathBuf>,
    /// Token required of publishers and viewers (`?token=` or the `p2mp_token` cookie the page
    /// sets); required when bound beyond loopback.
    pub token: Option<String>,
    /// Require the token even on loopback (tests; `--require-token`).
    pub require_token: bool,
    /// Origins allowed besides the page's own (`http://host:port`).
    pub allow_origins: Vec<String>,
    /// Largest WebSocket message accepted, in bytes.
    pub max_message: usize,
    /// Most simultaneous TCP connections; more are answered 503.
    pub max_connections: usize,
    /// Messages queued per viewer before it is dropped as too slow.
    pub viewer_queue: usize,
    /// How long events wait in the reorder buffer.
    pub hold: Duration,
    /// Do not log notices.
    pub quiet: bool,
}

impl HubConfig {
    /// Defaults for `addr`: no page, no token, default limits.
    pub fn new(bind: SocketAddr) -> Self {
        HubConfig {
            bind,
            dist: None,
            token: None,
            require_token: false,
            allow_origins: Vec::new(),
            max_message: MAX_MESSAGE,
            max_connections: MAX_CONNECTIONS,
            viewer_queue: VIEWER_QUEUE,
            hold: HOLD,
            quiet: false,
        }
    }

    /// Checks the security rules: beyond loopback (or with `require_token`) a non-empty token
    /// is required.
    pub fn validate(&self) -> Result<()> {
        let needs = self.require_token || !self.bind.ip().is_loopback();
        match &self.token {
            Some(t) if t.is_empty() => Err(NativeError::usage("--token must not be empty")),
            Some(t)
                if t.len() > 256 || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b)) =>
            {
                Err(NativeError::usage("--token may only hold letters, digits and -_.~ (at most 256)"))
            }
            None if needs => Err(NativeError::usage(format!(
                "listening on {} (beyond loopback) requires --token: publishers and viewers must \
                 then pass ?token=...",
                self.bind.ip()
            ))),
            _ => Ok(()),
        }
    }
}

/// A bound hub, not serving yet.
#[derive(Debug)]
pub struct Hub {
    listener: TcpListener,
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    cfg: Arc<HubConfig>,
}

/// A handle to a running hub's state, for in-process publishers and counters.
#[derive(Clone, Debug)]
pub struct HubHandle {
    shared: Arc<Shared>,
}

impl HubHandle {
    /// Opens an in-process publisher (its lines go through the same checks as a socket's).
    pub fn open_publisher(&self) -> u64 {
        self.shared.open_publisher(None)
    }

    /// Ingests a message of JSON Lines from publisher `id`; returns the lines rejected.
    pub fn ingest(&self, id: u64, text: &str) -> usize {
        self.shared.ingest(id, text)
    }

    /// Closes publisher `id`.
    pub fn close_publisher(&self, id: u64) {
        self.shared.close_publisher(id)
    }

    /// Current counters.
    pub fn stats(&self) -> HubStats {
        self.shared.stats()
    }

    /// The most recent rejection notices, oldest first (see [`state::Shared::rejections`]).
    pub fn rejections(&self) -> Vec<String> {
        self.shared.rejections()
    }
}

impl Hub {
    /// Validates `cfg` and binds its TCP port. `again`: the demo's hook for `POST /api/again`.
    pub async fn bind(cfg: HubConfig, again: Option<AgainHook>) -> Result<Self> {
        cfg.validate()?;
        let listener = TcpListener::bind(cfg.bind)
            .await
            .map_err(|source| NativeError::Listen { addr: cfg.bind, source })?;
        let local_addr = listener.local_addr().map_err(NativeError::Network)?;
        let shared = Arc::new(Shared::new(cfg.hold, cfg.viewer_queue, again, cfg.quiet));
        Ok(Hub { listener, local_addr, shared, cfg: Arc::new(cfg) })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The page's URL (with the token, if any).
    pub fn url(&self) -> String {
        let host = if self.local_addr.ip().is_unspecified() {
            SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), self.local_addr.port())
        } else {
            self.local_addr
        };
        match &self.cfg.token {
            Some(t) => format!("http://{host}/?token={t}"),
            None => format!("http://{host}/"),
        }
    }

    /// The publish endpoint's URL (with the token, if any), for `--trace`.
    pub fn publish_url(&self) -> String {
        let base = self.url();
        let base =
            base.split('?').next().unwrap_or_default().trim_end_matches('/').replacen("http://", "ws://", 1);
        match &self.cfg.token {
            Some(t) => format!("{base}/ws/publish?token={t}"),
            None => format!("{base}/ws/publish"),
        }
    }

    /// A handle to its state.
    pub fn handle(&self) -> HubHandle {
        HubHandle { shared: Arc::clone(&self.shared) }
    }

    /// Serves until the future is dropped.
    pub async fn serve(self) {
        let Hub { listener, shared, cfg, .. } = self;
        let ticker = {
            let shared = Arc::clone(&shared);
            async move {
                let mut every = tokio::time::interval(Duration::from_millis(25));
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    every.tick().await;
                    shared.tick();
                }
            }
        };
        let slots = Arc::new(Semaphore::new(cfg.max_connections));
        let accept = async move {
            let mut refused_logged = false;
            loop {
                let (stream, peer) = match listener.accept().await {
                    Ok(x) => x,
                    Err(e) => {
                        shared.log(&format!("accept failed: {e}"));
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                match Arc::clone(&slots).try_acquire_owned() {
                    Ok(permit) => {
                        let (shared, cfg) = (Arc::clone(&shared), Arc::clone(&cfg));
                        tokio::spawn(async move {
                            http::serve_connection(shared, cfg, stream, peer).await;
                            drop(permit);
                        });
                    }
                    Err(_) => {
                        if !refused_logged {
                            refused_logged = true;
                            shared.log(&format!(
                                "refusing connections beyond the limit of {} (503)",
                                cfg.max_connections
                            ));
                        }
                        tokio::spawn(http::refuse(stream));
                    }
                }
            }
        };
        tokio::join!(ticker, accept);
    }

    /// Spawns [`Hub::serve`] on the current runtime; returns the handle and the task.
    pub fn spawn(self) -> (HubHandle, String, tokio::task::JoinHandle<()>) {
        let handle = self.handle();
        let url = self.url();
        (handle, url, tokio::spawn(self.serve()))
    }
}
