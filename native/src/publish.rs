//! Live trace streaming: a node's events go to a hub (`--trace ws://HOST:PORT/ws/publish`, or
//! in-process for `p2mp demo`) without ever slowing the transfer.
//!
//! The driver calls [`PublishHandle::publish`], which serialises the event and `try_send`s it
//! into a bounded queue: when the queue is full the line is dropped and counted, never waited
//! for. A background task owns the connection, sends the header line, then batches lines (one
//! or more JSON Lines per text message), and reconnects in the background if the hub goes
//! away (re-sending the header first). If the hub cannot be reached it warns once and carries
//! on, discarding lines (counted). [`Publisher::finish`] waits briefly for the queue to drain
//! and reports the counts.
//!
//! Times: event times are node-relative microseconds; published events are rebased to a
//! shared timeline by adding the Unix-epoch time of the node's clock start (the system clock,
//! read once when the driver starts its clock). The hub
//! moves each transfer to 0 on the client's clock and aligns servers on other hosts
//! ([`crate::hub`]). Trace files (`--trace-file`) keep node-relative times.

use crate::error::{NativeError, Result};
use crate::hub::HubHandle;
use futures_util::SinkExt;
use p2mp_core::trace::{TraceHeader, TraceSource};
use p2mp_core::{Instant, Node, TraceEvent};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// Lines queued between the driver and the publishing task.
pub const QUEUE: usize = 16_384;
/// Target size of one published message.
const BATCH_BYTES: usize = 128 * 1024;
/// Time allowed for connecting, and for sending one message.
const IO_TIMEOUT: Duration = Duration::from_secs(3);

/// Where a node publishes.
#[derive(Clone, Debug)]
pub enum PublishTarget {
    /// A hub's `ws://HOST:PORT/ws/publish` endpoint (with `?token=` if it needs one).
    WebSocket(String),
    /// A hub in this process.
    Hub(HubHandle),
}

impl PublishTarget {
    /// Parses a `--trace` URL: `ws://` only (no TLS).
    pub fn parse(url: &str) -> Result<Self> {
        let url = url.trim();
        if url.starts_with("wss://") {
            return Err(NativeError::usage(format!(
                "--trace `{url}`: wss:// is not supported; use ws:// (through an SSH tunnel or on a trusted network)"
            )));
        }
        let Some(rest) = url.strip_prefix("ws://") else {
            return Err(NativeError::usage(format!(
                "--trace `{url}`: expected ws://HOST:PORT/ws/publish (a hub started with `p2mp ui`)"
            )));
        };
        if rest.is_empty() || rest.starts_with('/') {
            return Err(NativeError::usage(format!("--trace `{url}`: missing host")));
        }
        Ok(PublishTarget::WebSocket(url.to_string()))
    }
}

enum Item {
    Header(String),
    Line(String),
}

/// The driver's end: cheap, never blocks.
#[derive(Debug)]
pub struct PublishHandle {
    tx: mpsc::Sender<Item>,
    dropped: Arc<AtomicU64>,
    base: Option<u64>,
}

impl std::fmt::Debug for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Item::Header(_) => "Header",
            Item::Line(_) => "Line",
        })
    }
}

fn epoch_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

impl PublishHandle {
    /// Queues the header line for `node` at `addr` (sent first on every connection).
    pub fn header(&mut self, node: Node, addr: SocketAddr) {
        let h = TraceHeader::new(TraceSource::Native { node, addr: addr.to_string() });
        let queued = serde_json::to_string(&h).is_ok_and(|s| self.tx.try_send(Item::Header(s)).is_ok());
        if !queued {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Takes the node's clock start as now: event times are rebased on this Unix-epoch time.
    /// (Without it, the first event's arrival here, minus its time, is used.)
    pub fn clock_started(&mut self) {
        self.base = Some(epoch_micros());
    }

    /// Queues one event, its time rebased to Unix-epoch microseconds; drops it (counted) if
    /// the queue is full.
    pub fn publish(&mut self, ev: &TraceEvent) {
        let t = ev.t.total_micros();
        let base = *self.base.get_or_insert_with(|| epoch_micros().saturating_sub(t));
        let mut e = ev.clone();
        e.t = Instant::from_micros(base.saturating_add(t));
        if let TraceEvent { kind: p2mp_core::EventKind::TimerArmed { deadline, .. }, .. } = &mut e {
            *deadline = Instant::from_micros(base.saturating_add(deadline.total_micros()));
        }
        let sent = match serde_json::to_string(&e) {
            Ok(line) => self.tx.try_send(Item::Line(line)).is_ok(),
            Err(_) => false,
        };
        if !sent {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// What a publisher did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PublishStats {
    /// Lines handed to the hub.
    pub sent: u64,
    /// Lines dropped because the queue was full.
    pub dropped: u64,
    /// Lines discarded because the hub could not be reached.
    pub undelivered: u64,
}

/// The background end: owns the connection.
#[derive(Debug)]
pub struct Publisher {
    task: JoinHandle<PublishStats>,
    dropped: Arc<AtomicU64>,
    target: String,
}

impl Publisher {
    /// Starts the publishing task for `target`; give the handle to a driver
    /// (`Client::with_publisher`, `Server::with_publisher`).
    pub fn start(target: PublishTarget) -> (Publisher, PublishHandle) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let (name, task) = match target {
            PublishTarget::WebSocket(url) => (url.clone(), tokio::spawn(run_ws(url, rx))),
            PublishTarget::Hub(hub) => ("the in-process hub".to_string(), tokio::spawn(run_local(hub, rx))),
        };
        let handle = PublishHandle { tx, dropped: Arc::clone(&dropped), base: None };
        (Publisher { task, dropped, target: name }, handle)
    }

    /// Waits (at most `wait`) for the queue to drain once every handle is gone, and returns the
    /// counts.
    pub async fn finish(self, wait: Duration) -> PublishStats {
        let abort = self.task.abort_handle();
        let mut stats = match tokio::time::timeout(wait, self.task).await {
            Ok(Ok(s)) => s,
            _ => {
                abort.abort();
                PublishStats::default()
            }
        };
        stats.dropped = self.dropped.load(Ordering::Relaxed);
        stats
    }

    /// [`Publisher::finish`], then a line on stderr if anything was lost.
    pub async fn finish_and_report(self, prog: &str) -> PublishStats {
        let target = self.target.clone();
        let s = self.finish(Duration::from_secs(3)).await;
        if s.dropped > 0 || s.undelivered > 0 {
            eprintln!(
                "{prog}: trace streaming to {target}: {} events sent, {} dropped (queue full), {} not delivered (hub unreachable)",
                s.sent, s.dropped, s.undelivered
            );
        }
        s
    }
}

/// Takes the next batch: waits for one item, then takes what is queued up to the size target.
async fn next_batch(rx: &mut mpsc::Receiver<Item>, header: &mut Option<String>) -> Option<Vec<String>> {
    let mut lines = Vec::new();
    let mut size = 0;
    let first = rx.recv().await?;
    let mut item = Some(first);
    while let Some(it) = item.take() {
        match it {
            Item::Header(h) => *header = Some(h),
            Item::Line(l) => {
                size += l.len() + 1;
                lines.push(l);
            }
        }
        if size >= BATCH_BYTES {
            break;
        }
        item = rx.try_recv().ok();
    }
    Some(lines)
}

async fn run_local(hub: HubHandle, mut rx: mpsc::Receiver<Item>) -> PublishStats {
    let id = hub.open_publisher();
    let mut header = None;
    let mut header_sent = false;
    let mut stats = PublishStats::default();
    while let Some(lines) = next_batch(&mut rx, &mut header).await {
        if !header_sent {
            if let Some(h) = &header {
                hub.ingest(id, h);
                header_sent = true;
            }
        }
        if !lines.is_empty() {
            stats.sent += lines.len() as u64;
            hub.ingest(id, &lines.join("\n"));
        }
    }
    hub.close_publisher(id);
    stats
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str) -> std::result::Result<Ws, String> {
    match tokio::time::timeout(IO_TIMEOUT, tokio_tungstenite::connect_async(url)).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {IO_TIMEOUT:?}")),
    }
}

async fn run_ws(url: String, mut rx: mpsc::Receiver<Item>) -> PublishStats {
    let mut header: Option<String> = None;
    let mut conn: Option<Ws> = None;
    let mut need_header = true;
    let mut warned = false;
    let mut retry_at = tokio::time::Instant::now();
    let mut backoff = Duration::from_millis(250);
    let mut stats = PublishStats::default();
    let shown = redact(&url);
    while let Some(lines) = next_batch(&mut rx, &mut header).await {
        if conn.is_none() && tokio::time::Instant::now() >= retry_at {
            match connect(&url).await {
                Ok(ws) => {
                    conn = Some(ws);
                    need_header = true;
                    backoff = Duration::from_millis(250);
                    if warned {
                        eprintln!("trace: reconnected to {shown}");
                    }
                }
                Err(e) => {
                    if !warned {
                        warned = true;
                        eprintln!("trace: cannot stream to {shown}: {e}; carrying on without it (retrying in the background)");
                    }
                    retry_at = tokio::time::Instant::now() + backoff;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        let Some(ws) = conn.as_mut() else {
            stats.undelivered += lines.len() as u64;
            continue;
        };
        let mut text = String::new();
        if need_header {
            if let Some(h) = &header {
                text.push_str(h);
            }
        }
        for l in &lines {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(l);
        }
        if text.is_empty() {
            continue;
        }
        match tokio::time::timeout(IO_TIMEOUT, ws.send(Message::text(text))).await {
            Ok(Ok(())) => {
                need_header = false;
                stats.sent += lines.len() as u64;
            }
            Ok(Err(e)) => {
                if !warned {
                    warned = true;
                    eprintln!("trace: lost the connection to {shown}: {e}; carrying on (reconnecting in the background)");
                }
                conn = None;
                stats.undelivered += lines.len() as u64;
            }
            Err(_) => {
                if !warned {
                    warned = true;
                    eprintln!(
                        "trace: {shown} does not keep up; carrying on (reconnecting in the background)"
                    );
                }
                conn = None;
                stats.undelivered += lines.len() as u64;
            }
        }
    }
    if let Some(mut ws) = conn {
        let _ = tokio::time::timeout(IO_TIMEOUT, ws.close(None)).await;
    }
    stats
}

/// The URL without its token, for messages.
fn redact(url: &str) -> String {
    match url.split_once("token=") {
        Some((a, b)) => {
            let rest = b.split_once('&').map_or(String::new(), |(_, r)| format!("&{r}"));
            format!("{a}token=...{rest}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_urls_are_checked_and_tokens_redacted() {
        assert!(PublishTarget::parse("ws://127.0.0.1:8080/ws/publish").is_ok());
        assert!(PublishTarget::parse("http://127.0.0.1:8080/ws/publish").is_err());
        assert!(PublishTarget::parse("wss://h/ws/publish").is_err());
        assert!(PublishTarget::parse("ws:///x").is_err());
        assert_eq!(redact("ws://h/ws/publish?token=abc&x=1"), "ws://h/ws/publish?token=...&x=1");
    }
}
