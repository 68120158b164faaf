//! The client (sender) driver: a [`p2mp_core::Sender`] on a tokio UDP socket, reading the file
//! on demand.

use crate::batch::{BatchSocket, IoMode, RxBatch, TxBatch};
use crate::clock::{Clock, Timer};
use crate::console::Console;
use crate::error::{NativeError, Result};
use crate::net;
use crate::source::SourceFile;
use crate::summary::ClientSummary;
use crate::trace_file::TraceFile;
use p2mp_core::{AnySender, EventKind, Node, SenderConfig};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Receive buffers per batch: ACKs from many receivers arrive together (each a GRO train on
/// Linux).
const RECV_SLOTS: usize = 32;

/// Datagrams queued for GSO before they are sent even if the core has more (bounds the batch
/// memory: 8 receivers x a window of 64 is 512).
const FLUSH_AT: usize = 1024;

/// What a client needs to run.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The receivers, in order.
    pub receivers: Vec<SocketAddr>,
    /// The file to send.
    pub file: PathBuf,
    /// MSS, dialect, timeout policy, max timeouts.
    pub sender: SenderConfig,
    /// Local address (default: the wildcard of the receivers' family, any port).
    pub bind: Option<SocketAddr>,
    /// Record the trace as JSON Lines here.
    pub trace_file: Option<PathBuf>,
}

/// A client with its file open, configuration validated and socket bound.
#[derive(Debug)]
pub struct Client {
    socket: BatchSocket,
    local_addr: SocketAddr,
    cfg: ClientConfig,
    source: SourceFile,
    trace: TraceFile,
    console: Console,
}

impl Client {
    /// Opens the file, validates the configuration against it, and binds the socket.
    pub async fn prepare(cfg: ClientConfig, console: Console) -> Result<Self> {
        let source = SourceFile::open(&cfg.file)?;
        cfg.sender.validate(source.len())?;
        let first = cfg.receivers.first().ok_or(p2mp_core::Error::NoReceivers)?;
        if cfg.bind.is_none() && cfg.receivers.iter().any(|a| a.is_ipv4() != first.is_ipv4()) {
            return Err(NativeError::usage(
                "receivers mix IPv4 and IPv6 addresses; give --bind to choose the socket's family",
            ));
        }
        if cfg.sender.multicast.is_some() && !cfg.receivers.iter().all(SocketAddr::is_ipv4) {
            return Err(NativeError::usage("--multicast is IPv4 only: give the receivers' IPv4 addresses"));
        }
        let bind = cfg.bind.unwrap_or_else(|| net::wildcard_for(first));
        let socket = net::bind(bind).await?;
        let local_addr = socket.local_addr().map_err(NativeError::Network)?;
        if let Some(group) = cfg.sender.multicast {
            // Defaults; `with_multicast_options` may change them, then checks the route.
            crate::multicast::configure_sender(&socket, group, crate::multicast::DEFAULT_TTL, None, false)?;
        }
        let socket = BatchSocket::new(socket, IoMode::from_env()).map_err(NativeError::Network)?;
        let trace = TraceFile::create(cfg.trace_file.as_deref(), Node::Client, local_addr)?;
        Ok(Client { socket, local_addr, cfg, source, trace, console })
    }

    /// The local socket address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Uses `mode` for socket I/O instead of the one `P2MP_IO` chose (see [`crate::batch`]).
    pub fn with_io(mut self, mode: IoMode) -> Result<Self> {
        self.socket.set_mode(mode).map_err(NativeError::Network)?;
        Ok(self)
    }

    /// Multicast DATA leaves with time-to-live `ttl` (default [`crate::multicast::DEFAULT_TTL`])
    /// through the interface whose address is `interface` (default: the bound address's, else
    /// the routing table's choice), and checks the group can be reached so (an error with a hint
    /// if not). No effect without `SenderConfig::multicast`.
    pub fn with_multicast_options(self, ttl: u32, interface: Option<std::net::Ipv4Addr>) -> Result<Self> {
        if let Some(group) = self.cfg.sender.multicast {
            crate::multicast::configure_sender(self.socket.socket(), group, ttl, interface, true)?;
        }
        Ok(self)
    }

    /// Streams the trace live through `live` (see [`crate::publish`]); never slows the transfer.
    pub fn with_publisher(mut self, live: crate::publish::PublishHandle) -> Self {
        self.trace.attach(live, Node::Client, self.local_addr);
        self
    }

    /// Runs the transfer to the end. Returns the summary whether or not every receiver finished
    /// (see [`ClientSummary::failed`]); errors are local failures (file, socket, trace).
    pub async fn run(mut self) -> Result<ClientSummary> {
        let result = self.drive().await;
        self.console.finish_progress();
        let flushed = self.trace.flush();
        let summary = result?;
        flushed?;
        Ok(summary)
    }

    async fn drive(&mut self) -> Result<ClientSummary> {
        let clock = Clock::start();
        self.trace.clock_started();
        let mut sender =
            AnySender::new(self.cfg.sender.clone(), &self.cfg.receivers, self.source.len(), clock.now())?;
        if !self.trace.is_recording() {
            // Nothing records the trace: the events of every datagram need not be queued,
            // only the timeouts this loop prints.
            sender.set_event_filter(|k| matches!(k, EventKind::TimerFired { .. }));
        }
        let mut rx = RxBatch::new(RECV_SLOTS);
        let mut tx_buf: Vec<u8> = Vec::with_capacity(self.cfg.sender.mss + 128);
        let mut batch = TxBatch::new();
        // A dead or unreachable receiver is the core's business (it times out and is declared
        // failed), never a reason to stop the others' transfer.
        let tolerate = |e: &std::io::Error| net::is_transient(e) || is_per_destination(e);
        let mss = self.cfg.sender.mss;
        let mut send_errors = 0u64;
        let total = sender.segments();
        let mut shown = u64::MAX;
        let mut timer = Timer::new(clock);
        // One clock read per wake-up: what it handles and what it sends then share the time.
        let mut now = clock.now();
        loop {
            while let Some(req) = sender.poll_read() {
                let data = self.source.read_at(req.offset, req.len)?;
                sender.supply(req.seq, data)?;
            }
            // With GSO, everything due goes into per-receiver trains first (the core emits
            // segment k to every receiver, then k + 1...), then out in one send per train.
            let gso = self.socket.max_segments() > 1;
            while let Some(t) = sender.poll_transmit(now, &mut tx_buf) {
                if gso {
                    tx_buf.truncate(t.size);
                    batch.push_taking(usize::from(t.receiver), t.destination, &mut tx_buf);
                    if batch.len() >= FLUSH_AT {
                        send_errors += batch
                            .flush(&self.socket, tolerate)
                            .await
                            .map_err(|e| net::send_failure(e, mss))?;
                    }
                } else {
                    let datagram = tx_buf.get(..t.size).unwrap_or(&[]);
                    send_errors += self
                        .socket
                        .send_segments(t.destination, datagram, t.size, tolerate)
                        .await
                        .map_err(|e| net::send_failure(e, mss))?;
                }
            }
            if !batch.is_empty() {
                send_errors +=
                    batch.flush(&self.socket, tolerate).await.map_err(|e| net::send_failure(e, mss))?;
            }
            while let Some(ev) = sender.poll_event() {
                if let EventKind::TimerFired { field, .. } = ev.kind {
                    self.console.line(&format!("Timeout, sequence number = {field}"));
                }
                self.trace.record(&ev)?;
            }
            let done = sender.segments_done();
            if done != shown {
                shown = done;
                self.console.progress(done, total);
            }
            if sender.is_done() {
                break;
            }
            let deadline = sender.poll_timeout();
            // ACKs already queued are taken before a timer that expired meanwhile (the node
            // was descheduled, or a batch took long): they may make that timeout spurious.
            tokio::select! {
                biased;
                r = self.socket.recv(&mut rx) => match r {
                    Ok(()) => {
                        now = clock.now();
                        for (from, data) in rx.datagrams() {
                            sender.handle_datagram(now, from, data, None);
                        }
                    }
                    Err(e) if net::is_transient(&e) => now = clock.now(),
                    Err(e) => return Err(NativeError::Network(e)),
                },
                () = timer.wait(deadline) => {
                    now = clock.now();
                    sender.handle_timeout(now);
                }
            }
        }
        let mut summary = ClientSummary::from_sender(&sender, &self.cfg, self.local_addr, send_errors);
        summary.sha256 = self.source.digest();
        Ok(summary)
    }
}

/// Errors that concern one destination only (e.g. a broadcast or otherwise unusable address):
/// that receiver will time out and be declared failed; the others go on.
fn is_per_destination(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::InvalidInput)
}
