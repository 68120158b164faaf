//! The server (receiver) driver: a [`p2mp_core::Receiver`] on a tokio UDP socket, writing the
//! file through a [`PartialFile`].

use crate::batch::{BatchSocket, IoMode, RxBatch, TxBatch};
use crate::clock::{Clock, Timer};
use crate::console::Console;
use crate::delay::DelayLine;
use crate::error::{NativeError, Result};
use crate::net;
use crate::output::PartialFile;
use crate::trace_file::TraceFile;
use p2mp_core::{EventKind, Node, Receiver, ReceiverConfig, ReceiverOutput, ReceiverStats};
use serde::Serialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Receive buffers per batch (each holds a datagram, or a GRO train of up to 64 on Linux).
const RECV_SLOTS: usize = 8;

/// What a server needs to run.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Where the received file goes (the user's path; never derived from network data).
    pub output: PathBuf,
    /// The receiver's parameters (dialect, loss probability, seed, linger, idle timeout).
    pub receiver: ReceiverConfig,
    /// Record the trace as JSON Lines here.
    pub trace_file: Option<PathBuf>,
}

/// What a server reports once it has closed.
#[derive(Clone, Debug, Serialize)]
pub struct ServerSummary {
    /// The address it listened on.
    pub local_addr: SocketAddr,
    /// The sender it served.
    pub peer: Option<SocketAddr>,
    /// The output path.
    pub output: PathBuf,
    /// File bytes received.
    pub bytes: u64,
    /// DATA segments received in sequence.
    pub segments: u64,
    /// Loss-service seed.
    pub seed: u64,
    /// Loss probability.
    pub loss: f64,
    /// The receiver's counters.
    pub stats: ReceiverStats,
    /// Datagrams that could not be sent (ignored transient errors).
    pub send_errors: u64,
    /// Hex SHA-256 of the file written, to compare with the client's.
    pub sha256: String,
}

/// A bound server, ready to [`Server::run`].
#[derive(Debug)]
pub struct Server {
    socket: BatchSocket,
    local_addr: SocketAddr,
    cfg: ServerConfig,
    receiver: Receiver,
    output: PartialFile,
    trace: TraceFile,
    console: Console,
    received: Arc<AtomicU64>,
    reply_delay: Duration,
    /// A socket of its own for multicast DATA, when the unicast one cannot hear the group.
    group: Option<BatchSocket>,
}

impl Server {
    /// Validates the configuration, creates the temporary output and binds the socket.
    pub async fn bind(cfg: ServerConfig, console: Console) -> Result<Self> {
        let receiver = Receiver::new(cfg.receiver.clone())?;
        let socket = net::bind(cfg.bind).await?;
        let local_addr = socket.local_addr().map_err(NativeError::Network)?;
        let socket = BatchSocket::new(socket, IoMode::from_env()).map_err(NativeError::Network)?;
        let output = PartialFile::create(&cfg.output)?;
        let trace =
            TraceFile::create(cfg.trace_file.as_deref(), Node::Server(cfg.receiver.index), local_addr)?;
        Ok(Server {
            socket,
            local_addr,
            cfg,
            receiver,
            output,
            trace,
            console,
            received: Arc::new(AtomicU64::new(0)),
            reply_delay: Duration::ZERO,
            group: None,
        })
    }

    /// The address the socket is bound to (useful when binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves one transfer: returns once the receiver has finished and lingered, with the file
    /// renamed into place. On abort (a silent sender) the temporary file is deleted and
    /// [`NativeError::Aborted`] returned; on a write error (disk full) likewise, with
    /// [`NativeError::WriteFailed`]. Cancelling the future also deletes it.
    pub async fn run(mut self) -> Result<ServerSummary> {
        let result = self.drive().await;
        let flushed = self.trace.flush();
        let summary = result?;
        flushed?;
        Ok(summary)
    }

    async fn drive(&mut self) -> Result<ServerSummary> {
        let clock = Clock::start();
        self.trace.clock_started();
        if !self.trace.is_recording() {
            // Nothing records the trace: only the losses this loop prints are queued.
            self.receiver.set_event_filter(|k| matches!(k, EventKind::LossDrop { .. }));
        }
        let mut rx = RxBatch::new(RECV_SLOTS);
        let mut group_rx = RxBatch::new(if self.group.is_some() { RECV_SLOTS } else { 1 });
        let mut tx_buf: Vec<u8> = Vec::with_capacity(128);
        let mut batch = TxBatch::new();
        let mut peer = None;
        let mut send_errors = 0u64;
        let delay_line = if self.reply_delay.is_zero() {
            None
        } else {
            Some(DelayLine::spawn(self.socket.socket(), self.reply_delay)?)
        };
        let mut timer = Timer::new(clock);
        // One clock read per wake-up: what it handles and what it sends then share the time.
        let mut now = clock.now();
        loop {
            let mut closed = false;
            // The end of file is echoed only once the file is in place: a write that fails at
            // the last flush must leave the client with a silent receiver, not a finished one.
            if self.receiver.is_finished() && !self.output.is_committed() {
                closed |= self.write_outputs(&mut peer).await?;
            }
            // Otherwise replies first: the ACKs of a received batch go out (as one GSO train
            // where the platform has it) before its payload is written.
            let gso = self.socket.max_segments() > 1;
            while let Some(t) = self.receiver.poll_transmit(now, &mut tx_buf) {
                let reply = tx_buf.get(..t.size).unwrap_or(&[]);
                if let Some(line) = &delay_line {
                    line.push(reply, t.destination);
                } else if gso {
                    batch.push(0, t.destination, reply);
                } else {
                    send_errors += self
                        .socket
                        .send_segments(t.destination, reply, t.size, net::is_transient)
                        .await
                        .map_err(NativeError::Network)?;
                }
            }
            if !batch.is_empty() {
                send_errors +=
                    batch.flush(&self.socket, net::is_transient).await.map_err(NativeError::Network)?;
            }
            closed |= self.write_outputs(&mut peer).await?;
            self.drain_events()?;
            if closed {
                let stats = self.receiver.stats();
                return Ok(ServerSummary {
                    local_addr: self.local_addr,
                    peer,
                    output: self.cfg.output.clone(),
                    bytes: stats.bytes,
                    segments: stats.segments,
                    seed: self.cfg.receiver.seed,
                    loss: self.cfg.receiver.loss,
                    stats,
                    send_errors: send_errors + delay_line.as_ref().map_or(0, DelayLine::errors),
                    // Closed comes after Finished, which committed the file and its digest.
                    sha256: self.output.digest().unwrap_or_default().to_string(),
                });
            }
            let deadline = self.receiver.poll_timeout();
            tokio::select! {
                biased;
                r = self.socket.recv(&mut rx) => match r {
                    Ok(()) => {
                        now = clock.now();
                        for (from, data) in rx.datagrams() {
                            self.receiver.handle_datagram(now, from, data, None);
                        }
                    }
                    Err(e) if net::is_transient(&e) => now = clock.now(),
                    Err(e) => return Err(NativeError::Network(e)),
                },
                // Multicast DATA on its own socket: the receiver keys on the source address,
                // the client's unicast one either way.
                r = crate::multicast::recv(self.group.as_ref(), &mut group_rx) => match r {
                    Ok(()) => {
                        now = clock.now();
                        for (from, data) in group_rx.datagrams() {
                            self.receiver.handle_datagram(now, from, data, None);
                        }
                    }
                    Err(e) if net::is_transient(&e) => now = clock.now(),
                    Err(e) => return Err(NativeError::Network(e)),
                },
                () = timer.wait(deadline) => {
                    now = clock.now();
                    self.receiver.handle_timeout(now);
                }
            }
        }
    }

    /// Acts on the receiver's outputs: writes data, commits at the end of file. Returns
    /// whether the receiver has closed. A write error ends the transfer: the error is returned
    /// at once, so nothing more is acknowledged and the client sees a silent receiver.
    async fn write_outputs(&mut self, peer: &mut Option<SocketAddr>) -> Result<bool> {
        let mut closed = false;
        while let Some(out) = self.receiver.poll_output() {
            match out {
                ReceiverOutput::Started { peer: p } => *peer = Some(p),
                ReceiverOutput::Data(data) => {
                    self.output.append(&data)?;
                    // The output's own count, published with a plain store (this loop is the
                    // only writer), not a locked add, which would wait for the payload copy
                    // just made to drain from the store buffer.
                    self.received.store(self.output.bytes(), Ordering::Relaxed);
                    self.receiver.recycle(data);
                }
                ReceiverOutput::Finished { .. } => self.output.commit().await?,
                ReceiverOutput::Aborted { bytes } => {
                    self.drain_events()?;
                    return Err(NativeError::Aborted { bytes });
                }
                ReceiverOutput::Closed => closed = true,
            }
        }
        Ok(closed)
    }

    fn drain_events(&mut self) -> Result<()> {
        while let Some(ev) = self.receiver.poll_event() {
            if let EventKind::LossDrop { field: Some(x) } = ev.kind {
                self.console.line(&format!("Packet loss, sequence number = {x}"));
            }
            self.trace.record(&ev)?;
        }
        Ok(())
    }
}

impl Server {
    /// Temporary files of the same target left by servers that died (SIGKILL, a crash), removed
    /// when this one was bound (see [`crate::output::remove_stale_partials`]).
    pub fn stale_removed(&self) -> &[crate::output::StalePartial] {
        self.output.stale_removed()
    }

    /// A counter of the file bytes received so far, readable while [`Server::run`] is going
    /// (progress displays, tests).
    pub fn bytes_received(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.received)
    }

    /// Holds every reply `delay` before sending it (0: send at once), giving loopback a
    /// round-trip time; the receive loop never waits (see [`crate::delay`]).
    pub fn with_reply_delay(mut self, delay: Duration) -> Self {
        self.reply_delay = delay;
        self
    }

    /// Uses `mode` for socket I/O instead of the one `P2MP_IO` chose (see [`crate::batch`]).
    pub fn with_io(mut self, mode: IoMode) -> Result<Self> {
        self.socket.set_mode(mode).map_err(NativeError::Network)?;
        if let Some(group) = &mut self.group {
            group.set_mode(mode).map_err(NativeError::Network)?;
        }
        Ok(self)
    }

    /// Also receives the DATA a client sends to multicast `group` (`--multicast`), joined on the
    /// interface whose address is `interface` (0.0.0.0: the OS's choice), while still taking
    /// unicast on its own address and replying from it (see [`crate::multicast`]).
    pub fn with_multicast(mut self, group: SocketAddr, interface: std::net::Ipv4Addr) -> Result<Self> {
        let SocketAddr::V4(g) = group else {
            return Err(p2mp_core::Error::BadMulticastGroup(group).into());
        };
        if !self.local_addr.is_ipv4() {
            // Its unicast socket would see the client as ::ffff:a.b.c.d, the group one as a.b.c.d.
            return Err(NativeError::usage("--multicast needs an IPv4 --bind address"));
        }
        if crate::multicast::receives_group(self.local_addr, group) {
            crate::multicast::join(self.socket.socket(), *g.ip(), interface)?;
        } else {
            let socket = crate::multicast::bind_group(group, interface)?;
            self.group = Some(BatchSocket::new(socket, IoMode::from_env()).map_err(NativeError::Network)?);
        }
        Ok(self)
    }

    /// Replaces where the server prints its loss lines.
    pub fn with_console(mut self, console: Console) -> Self {
        self.console = console;
        self
    }

    /// Streams the trace live through `live` (see [`crate::publish`]); never slows the transfer.
    pub fn with_publisher(mut self, live: crate::publish::PublishHandle) -> Self {
        self.trace.attach(live, Node::Server(self.cfg.receiver.index), self.local_addr);
        self
    }
}
