//! Deterministic discrete-event simulator: the very same [`Sender`] and [`Receiver`] state
//! machines, run over modelled [`Link`]s in simulated time.
//!
//! Same [`SimConfig`] (seed included), same trace, bit for bit, on every platform: all
//! randomness comes from [`Rng`] streams derived from the seed, and simultaneous events are
//! ordered by a counter, never by a hash or an address.
//!
//! The simulator does not need the file's bytes, only its length: payloads are generated from
//! a repeating pattern and checked on arrival, so memory stays flat with file size.
//!
//! Tests use it the way quinn tests use `Pair`: [`Simulation::set_intercept`] sees every
//! datagram before the link does and may drop, duplicate, delay or corrupt it.

mod link;
mod payload;

pub use crate::machine::AnySender;
pub use link::{Link, LinkConfig, LossModel, Verdict};
pub use payload::Pattern;

use crate::congestion::Congestion;
use crate::error::Error;
use crate::receiver::{Receiver, ReceiverConfig, ReceiverOutput, ReceiverStats};
use crate::rng::Rng;
use crate::rto::{micros, RtoPolicy};
use crate::sender::{ReceiverReport, SenderConfig, Transmit};
use crate::time::Instant;
use crate::trace::{EventKind, Node, TraceEvent, TraceHeader, TraceSource, TransferTotals, TxId};
use crate::window::Mode;
use crate::wire::{Dialect, Packet, PacketKind};
use core::cmp::{Ordering, Reverse};
use core::time::Duration;
use serde::{Deserialize, Serialize};
use std::collections::BinaryHeap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

/// A receiver that stops answering (a crashed server) from some time on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadReceiver {
    /// Receiver index.
    pub receiver: u16,
    /// From this time on it neither receives nor sends.
    pub at: Instant,
}

/// Everything that determines a simulated transfer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimConfig {
    /// File length in bytes.
    pub file_size: u64,
    /// Payload bytes per segment.
    pub mss: usize,
    /// Number of receivers.
    pub receivers: u16,
    /// Wire dialect.
    pub dialect: Dialect,
    /// Timeout policy.
    pub policy: RtoPolicy,
    /// Consecutive timeouts before a receiver is declared failed.
    pub max_timeouts: u32,
    /// The receivers' loss service probability `p`.
    pub loss: f64,
    /// Master seed.
    pub seed: u64,
    /// Link parameters for every direction of every path...
    pub link: LinkConfig,
    /// ...unless overridden per receiver (index `i` applies to both directions of path `i`).
    pub links: Vec<LinkConfig>,
    /// Receivers that die mid-transfer.
    pub dead: Vec<DeadReceiver>,
    /// How long receivers keep answering FINs after finishing.
    #[serde(with = "micros")]
    pub linger: Duration,
    /// CPU time a node spends putting one datagram on the wire. The sender's copies to n
    /// receivers queue behind each other, which is why real delay grows with n even at p = 0.
    #[serde(with = "micros")]
    pub host_cost: Duration,
    /// Record the trace (off: faster, nothing kept).
    pub trace: bool,
    /// ARQ scheme (selective-repeat receivers buffer a window's worth of segments).
    pub mode: Mode,
    /// Sender pacing cap in bits per second for windowed modes (0: none).
    pub rate_bps: u64,
    /// Congestion response of the windowed modes.
    pub congestion: Congestion,
    /// Receivers' reorder buffer in segments; `None` follows the mode (a window's worth for
    /// selective repeat, none otherwise). `Some(0)`: classic receivers whatever the mode.
    pub receiver_window: Option<u32>,
    /// Send DATA once to a multicast group ([`SIM_GROUP`]) that every receiver joined: each
    /// copy still crosses that receiver's own link, with its own loss and impairments.
    pub multicast: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            file_size: 100_000,
            mss: 500,
            receivers: 3,
            dialect: Dialect::Binary,
            policy: RtoPolicy::default(),
            max_timeouts: 10,
            loss: 0.05,
            seed: 1,
            link: LinkConfig::default(),
            links: Vec::new(),
            dead: Vec::new(),
            linger: Duration::from_secs(2),
            host_cost: Duration::ZERO,
            trace: true,
            mode: Mode::StopAndWait,
            rate_bps: 0,
            congestion: Congestion::default(),
            receiver_window: None,
            multicast: false,
        }
    }
}

impl SimConfig {
    /// The link configuration of path `i`.
    pub fn link_for(&self, i: u16) -> LinkConfig {
        self.links.get(usize::from(i)).copied().unwrap_or(self.link)
    }

    /// The sender configuration this simulation uses.
    pub fn sender_config(&self) -> SenderConfig {
        SenderConfig {
            mss: self.mss,
            dialect: self.dialect,
            policy: self.policy,
            max_timeouts: self.max_timeouts,
            mode: self.mode,
            rate_bps: self.rate_bps,
            congestion: self.congestion,
            multicast: self.multicast.then_some(SIM_GROUP),
        }
    }
}

/// The simulated address of receiver `i` (127.0.0.2, 127.0.0.3, ...), port 7735.
pub fn receiver_addr(i: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(0x7F00_0002 + u32::from(i)), 7735))
}

/// The simulated multicast group, when [`SimConfig::multicast`] is on.
pub const SIM_GROUP: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(239, 77, 0, 1), 7735));

/// The simulated client address.
pub const CLIENT_ADDR: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 40_000));

/// A datagram about to enter the network, as shown to an interceptor.
#[derive(Clone, Copy, Debug)]
pub struct Datagram<'a> {
    /// Sending node.
    pub from: Node,
    /// The receiver whose path it travels (either direction).
    pub receiver: u16,
    /// True if it goes from the client to the receiver.
    pub downstream: bool,
    /// Its transmission id.
    pub tx: TxId,
    /// Kind, parsed from the bytes.
    pub kind: Option<PacketKind>,
    /// Sequence field, parsed from the bytes.
    pub field: Option<u32>,
    /// How many datagrams of this kind and sequence field have crossed this direction of
    /// this path before (0 for the first transmission, 1 for the first retransmission...).
    pub attempt: u32,
    /// The bytes.
    pub bytes: &'a [u8],
    /// Send time.
    pub now: Instant,
}

/// What an interceptor decides for a datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Hand it to the link model as usual.
    Pass,
    /// Lose it.
    Drop,
    /// Deliver it, and a second copy.
    Duplicate,
    /// Hold it back this much longer than the link would (lets later datagrams overtake it).
    Delay(Duration),
    /// Flip bits: `bytes[byte] ^= mask`.
    Corrupt {
        /// Byte index (taken modulo the length).
        byte: usize,
        /// Bits to flip.
        mask: u8,
    },
}

type Intercept = Box<dyn FnMut(&Datagram<'_>) -> Fate>;

#[derive(Debug)]
struct InFlight {
    at: Instant,
    order: u64,
    /// 0: the client; i + 1: receiver i.
    to: usize,
    from: SocketAddr,
    tx: TxId,
    bytes: Vec<u8>,
}

impl PartialEq for InFlight {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.order) == (o.at, o.order)
    }
}
impl Eq for InFlight {}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for InFlight {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.at, self.order).cmp(&(o.at, o.order))
    }
}

/// Per-receiver result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceiverResult {
    /// What the sender saw of it.
    pub report: ReceiverReport,
    /// What it saw.
    pub stats: ReceiverStats,
    /// Its output is the whole file, byte for byte.
    pub intact: bool,
}

/// The outcome of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimResult {
    /// The sender's totals (delay included).
    pub totals: TransferTotals,
    /// Per receiver.
    pub receivers: Vec<ReceiverResult>,
    /// Events processed (datagram arrivals and timer expiries).
    pub steps: u64,
    /// Simulated time at the end.
    pub end: Instant,
}

#[derive(Debug)]
struct Sink {
    pattern: Pattern,
    offset: u64,
    mismatch: bool,
}

/// A running simulation.
pub struct Simulation {
    cfg: SimConfig,
    now: Instant,
    sender: AnySender,
    receivers: Vec<Receiver>,
    sinks: Vec<Sink>,
    /// Per path: (downstream, upstream).
    links: Vec<(Link, Link)>,
    /// Attempts per (path, direction, kind, field), for interceptors.
    attempts: std::collections::HashMap<(u16, bool, u8, u32), u32>,
    queue: BinaryHeap<Reverse<InFlight>>,
    order: u64,
    pattern: Pattern,
    buf: Vec<u8>,
    trace: Vec<TraceEvent>,
    intercept: Option<Intercept>,
    steps: u64,
    /// When each node (0: client, i + 1: receiver i) is next free to send.
    busy: Vec<Instant>,
}

impl core::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Simulation")
            .field("now", &self.now)
            .field("steps", &self.steps)
            .finish_non_exhaustive()
    }
}

impl Simulation {
    /// Sets up a transfer at time zero.
    pub fn new(cfg: SimConfig) -> Result<Self, Error> {
        if cfg.receivers == 0 {
            return Err(Error::NoReceivers);
        }
        cfg.link.validate().map_err(Error::BadParameter)?;
        for l in &cfg.links {
            l.validate().map_err(Error::BadParameter)?;
        }
        let addrs: Vec<SocketAddr> = (0..cfg.receivers).map(receiver_addr).collect();
        let sender = AnySender::new(cfg.sender_config(), &addrs, cfg.file_size, Instant::ZERO)?;
        let receivers = (0..cfg.receivers)
            .map(|i| {
                Receiver::new(ReceiverConfig {
                    dialect: cfg.dialect,
                    loss: cfg.loss,
                    seed: Rng::derive(cfg.seed, 1 + u64::from(i)).next_u64(),
                    index: i,
                    linger: cfg.linger,
                    idle_timeout: None,
                    reorder_window: match (cfg.receiver_window, cfg.mode) {
                        (Some(w), _) | (None, Mode::SelectiveRepeat { window: w }) => w,
                        _ => 0,
                    },
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let links = (0..cfg.receivers)
            .map(|i| {
                let l = cfg.link_for(i);
                let base = 1_000_000 + 2 * u64::from(i);
                (
                    Link::new(l, Rng::derive(cfg.seed, base).next_u64()),
                    Link::new(l, Rng::derive(cfg.seed, base + 1).next_u64()),
                )
            })
            .collect();
        let pattern = Pattern::new(cfg.seed, cfg.mss);
        let sinks = (0..cfg.receivers)
            .map(|_| Sink { pattern: pattern.clone(), offset: 0, mismatch: false })
            .collect();
        let mut sim = Simulation {
            now: Instant::ZERO,
            sender,
            receivers,
            sinks,
            links,
            attempts: Default::default(),
            queue: BinaryHeap::new(),
            order: 0,
            pattern,
            buf: Vec::with_capacity(cfg.mss + 80),
            trace: Vec::new(),
            intercept: None,
            steps: 0,
            busy: vec![Instant::ZERO; usize::from(cfg.receivers) + 1],
            cfg,
        };
        sim.flush_sender();
        Ok(sim)
    }

    /// The trace header for this simulation.
    pub fn header(&self) -> TraceHeader {
        TraceHeader::new(TraceSource::Simulated {
            params: serde_json::to_value(&self.cfg).unwrap_or_default(),
        })
    }

    /// Installs a function that sees every datagram before the network does.
    pub fn set_intercept(&mut self, f: impl FnMut(&Datagram<'_>) -> Fate + 'static) {
        self.intercept = Some(Box::new(f));
    }

    /// Current simulated time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The sender, to inspect.
    pub fn sender(&self) -> &AnySender {
        &self.sender
    }

    /// Receiver `i`, to inspect.
    pub fn receiver(&self, i: u16) -> Option<&Receiver> {
        self.receivers.get(usize::from(i))
    }

    /// Whether the sender has finished (all receivers finished or failed).
    pub fn is_done(&self) -> bool {
        self.sender.is_done()
    }

    /// Events recorded so far (empty when tracing is off).
    pub fn trace(&self) -> &[TraceEvent] {
        &self.trace
    }

    /// Takes the events recorded so far, leaving the buffer empty.
    pub fn take_trace(&mut self) -> Vec<TraceEvent> {
        core::mem::take(&mut self.trace)
    }

    /// Datagrams on the wire now: (transmission id, receiver path, downstream?, arrival time).
    pub fn in_flight(&self) -> Vec<(TxId, u16, bool, Instant)> {
        let mut v: Vec<_> = self
            .queue
            .iter()
            .map(|Reverse(f)| {
                let (rx, down) =
                    if f.to == 0 { (self.receiver_of(f.from), false) } else { ((f.to - 1) as u16, true) };
                (f.tx, rx, down, f.at)
            })
            .collect();
        v.sort_by_key(|&(tx, _, _, at)| (at, tx));
        v
    }

    /// Loses a datagram that is on the wire (teaching mode: "click a packet to drop it").
    /// Recorded as a link drop at the current time. Returns whether it was found.
    pub fn drop_in_flight(&mut self, tx: TxId) -> bool {
        let Some(Reverse(f)) = self.queue.iter().find(|Reverse(f)| f.tx == tx) else {
            return false;
        };
        let (from, rx) = if f.to == 0 {
            let rx = self.receiver_of(f.from);
            (Node::Server(rx), rx)
        } else {
            (Node::Client, (f.to - 1) as u16)
        };
        let packet = self.cfg.dialect.parse(&f.bytes).map_or(PacketKind::Data, |p| p.kind());
        let seq = self.seq_of(&f.bytes);
        self.queue.retain(|Reverse(f)| f.tx != tx);
        self.net_event(from, rx, seq, tx, EventKind::LinkDrop { packet });
        true
    }

    fn receiver_of(&self, addr: SocketAddr) -> u16 {
        (0..self.cfg.receivers).find(|&i| receiver_addr(i) == addr).unwrap_or(0)
    }

    /// Segment number of a datagram on the wire, for the trace.
    fn seq_of(&self, bytes: &[u8]) -> Option<u32> {
        let segments = u32::try_from(self.cfg.file_size.div_ceil(self.cfg.mss as u64)).ok();
        match (self.cfg.dialect, self.cfg.dialect.parse(bytes).ok()?) {
            (_, Packet::Fin { .. }) => segments,
            (Dialect::Binary, Packet::Data { seq, .. } | Packet::Ack { seq }) => Some(seq),
            (Dialect::Text, Packet::Data { seq, .. } | Packet::Ack { seq })
                if u64::from(seq) == self.cfg.file_size =>
            {
                segments
            }
            (Dialect::Text, Packet::Data { seq, .. } | Packet::Ack { seq }) => {
                Some(seq / self.cfg.mss as u32)
            }
        }
    }

    /// When the next thing happens, if anything is left to happen.
    pub fn next_event_time(&self) -> Option<Instant> {
        let net = self.queue.peek().map(|Reverse(f)| f.at);
        let timers = core::iter::once(self.sender.poll_timeout())
            .chain(self.receivers.iter().map(|r| r.poll_timeout()))
            .flatten()
            .min();
        match (net, timers) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Processes the next event. Returns false when the transfer is over and the network empty.
    pub fn step(&mut self) -> bool {
        if self.sender.is_done() && self.queue.is_empty() {
            return false;
        }
        let Some(t) = self.next_event_time() else {
            return false;
        };
        self.now = t;
        self.steps += 1;
        if self.queue.peek().is_some_and(|Reverse(f)| f.at <= t) {
            if let Some(Reverse(f)) = self.queue.pop() {
                self.deliver(f);
            }
            return true;
        }
        if self.sender.poll_timeout().is_some_and(|d| d <= t) {
            self.sender.handle_timeout(t);
            self.flush_sender();
        }
        for i in 0..self.receivers.len() {
            if self.receivers[i].poll_timeout().is_some_and(|d| d <= t) {
                self.receivers[i].handle_timeout(t);
                self.flush_receiver(i);
            }
        }
        true
    }

    /// Runs until `deadline` (simulated) or the end, whichever is first.
    pub fn run_until(&mut self, deadline: Instant) {
        while self.next_event_time().is_some_and(|t| t <= deadline) {
            if !self.step() {
                break;
            }
        }
        self.now = self.now.max(deadline.min(self.next_event_time().unwrap_or(deadline)));
    }

    /// Processes at most `n` events; returns whether the run is over (as [`Simulation::step`]
    /// returning false). Lets a caller with a time budget (the browser's experiments tab) run
    /// a transfer in bounded slices; the events, and so the result, are the same however the
    /// run is sliced.
    pub fn run_for_steps(&mut self, n: u64) -> bool {
        for _ in 0..n {
            if !self.step() {
                return true;
            }
        }
        (self.sender.is_done() && self.queue.is_empty()) || self.next_event_time().is_none()
    }

    /// Runs to the end and reports.
    pub fn run(&mut self) -> SimResult {
        while self.step() {}
        self.result()
    }

    /// The outcome so far.
    pub fn result(&self) -> SimResult {
        let reports = self.sender.reports();
        SimResult {
            totals: self.sender.totals().clone(),
            receivers: reports
                .into_iter()
                .zip(&self.receivers)
                .zip(&self.sinks)
                .map(|((report, r), sink)| ReceiverResult {
                    report,
                    stats: r.stats(),
                    intact: r.is_finished() && !sink.mismatch && sink.offset == self.cfg.file_size,
                })
                .collect(),
            steps: self.steps,
            end: self.now,
        }
    }

    fn is_dead(&self, i: u16, at: Instant) -> bool {
        self.cfg.dead.iter().any(|d| d.receiver == i && at >= d.at)
    }

    fn deliver(&mut self, f: InFlight) {
        if f.to == 0 {
            self.sender.handle_datagram(self.now, f.from, &f.bytes, Some(f.tx));
            self.flush_sender();
        } else {
            let i = f.to - 1;
            if self.is_dead(i as u16, self.now) {
                return;
            }
            self.receivers[i].handle_datagram(self.now, f.from, &f.bytes, Some(f.tx));
            self.flush_receiver(i);
        }
    }

    fn flush_sender(&mut self) {
        while let Some(req) = self.sender.poll_read() {
            let data = self.pattern.slice(req.offset, req.len);
            if self.sender.supply(req.seq, data).is_err() {
                break; // cannot happen: the request was just made
            }
        }
        let mut buf = core::mem::take(&mut self.buf);
        while let Some(t) = self.sender.poll_transmit(self.now, &mut buf) {
            // Drain first so the Send event precedes any network event about the datagram.
            self.drain_sender_events();
            if t.multicast {
                let targets = self.sender.multicast_targets().to_vec();
                self.send_group(&t, &targets, &buf);
            } else {
                self.send(Node::Client, &t, true, &buf);
            }
        }
        self.buf = buf;
        self.drain_sender_events();
    }

    fn flush_receiver(&mut self, i: usize) {
        while let Some(out) = self.receivers[i].poll_output() {
            if let ReceiverOutput::Data(d) = out {
                let sink = &mut self.sinks[i];
                if sink.pattern.slice(sink.offset, d.len()) != d.as_slice() {
                    sink.mismatch = true;
                }
                sink.offset += d.len() as u64;
                self.receivers[i].recycle(d);
            }
        }
        let mut buf = core::mem::take(&mut self.buf);
        while let Some(t) = self.receivers[i].poll_transmit(self.now, &mut buf) {
            self.drain_receiver_events(i);
            if !self.is_dead(t.receiver, self.now) {
                self.send(Node::Server(t.receiver), &t, false, &buf);
            }
        }
        self.buf = buf;
        self.drain_receiver_events(i);
    }

    fn drain_sender_events(&mut self) {
        while let Some(e) = self.sender.poll_event() {
            if self.cfg.trace {
                self.trace.push(e);
            }
        }
    }

    fn drain_receiver_events(&mut self, i: usize) {
        while let Some(e) = self.receivers[i].poll_event() {
            if self.cfg.trace {
                self.trace.push(e);
            }
        }
    }

    /// A datagram to the multicast group: it leaves the client once (one host cost), then a copy
    /// goes down each target receiver's own link, under its own id, loss and interceptor.
    fn send_group(&mut self, t: &Transmit, targets: &[(u16, TxId)], bytes: &[u8]) {
        let depart = self.busy[0].max(self.now) + self.cfg.host_cost;
        self.busy[0] = depart;
        for &(receiver, tx) in targets {
            let copy = Transmit { receiver, tx, ..*t };
            self.send_at(Node::Client, &copy, true, bytes, Some(depart));
        }
    }

    /// Puts a datagram through the interceptor and the link, scheduling its arrival(s).
    fn send(&mut self, from: Node, t: &Transmit, downstream: bool, bytes: &[u8]) {
        self.send_at(from, t, downstream, bytes, None);
    }

    /// [`Simulation::send`], leaving the sending node at `depart` if given (else when it is
    /// next free, after its host cost).
    fn send_at(&mut self, from: Node, t: &Transmit, downstream: bool, bytes: &[u8], depart: Option<Instant>) {
        let (receiver, tx, seq) = (t.receiver, t.tx, t.seq);
        let parsed = self.cfg.dialect.parse(bytes).ok();
        let kind = parsed.map(|p| p.kind());
        let field = parsed.map(|p| match p {
            Packet::Data { seq, .. } | Packet::Ack { seq } | Packet::Fin { seq } => seq,
        });
        let fate = match self.intercept.as_mut() {
            // Attempts are only counted for interceptors, keeping plain runs flat in memory.
            Some(f) => {
                let key = (receiver, downstream, kind.map_or(9, |k| k as u8), field.unwrap_or(u32::MAX));
                let n = self.attempts.entry(key).or_insert(0);
                *n += 1;
                f(&Datagram {
                    from,
                    receiver,
                    downstream,
                    tx,
                    kind,
                    field,
                    attempt: *n - 1,
                    bytes,
                    now: self.now,
                })
            }
            None => Fate::Pass,
        };
        let (to, src) =
            if downstream { (usize::from(receiver) + 1, CLIENT_ADDR) } else { (0, receiver_addr(receiver)) };
        let link = if downstream {
            &mut self.links[usize::from(receiver)].0
        } else {
            &mut self.links[usize::from(receiver)].1
        };
        let node = if downstream { 0 } else { usize::from(receiver) + 1 };
        let depart = depart.unwrap_or_else(|| {
            let d = self.busy[node].max(self.now) + self.cfg.host_cost;
            self.busy[node] = d;
            d
        });
        let mut verdict = link.transmit(depart, bytes.len());
        let mut extra = Duration::ZERO;
        match fate {
            Fate::Pass => {}
            Fate::Drop => verdict.arrivals.clear(),
            Fate::Duplicate => {
                if let Some(&a) = verdict.arrivals.first() {
                    verdict.arrivals.push(a);
                }
            }
            Fate::Delay(d) => extra = d,
            Fate::Corrupt { byte, mask } => verdict.corrupt = Some((byte, mask)),
        }
        let packet = kind.unwrap_or(PacketKind::Data);
        if verdict.arrivals.is_empty() {
            self.net_event(from, receiver, seq, tx, EventKind::LinkDrop { packet });
            return;
        }
        if verdict.arrivals.len() > 1 {
            self.net_event(from, receiver, seq, tx, EventKind::LinkDuplicate);
        }
        let mut data = bytes.to_vec();
        if let Some((byte, mask)) = verdict.corrupt {
            if !data.is_empty() {
                let idx = byte % data.len();
                data[idx] ^= mask;
                self.net_event(from, receiver, seq, tx, EventKind::LinkCorrupt);
            }
        }
        let n = verdict.arrivals.len();
        for (k, at) in verdict.arrivals.into_iter().enumerate() {
            let bytes = if k + 1 == n { core::mem::take(&mut data) } else { data.clone() };
            self.order += 1;
            self.queue.push(Reverse(InFlight {
                at: at + extra,
                order: self.order,
                to,
                from: src,
                tx,
                bytes,
            }));
        }
    }

    fn net_event(&mut self, from: Node, receiver: u16, seq: Option<u32>, tx: TxId, kind: EventKind) {
        if self.cfg.trace {
            let mut e = TraceEvent::new(self.now, from, kind).rx(receiver).tx(Some(tx));
            e.seq = seq;
            self.trace.push(e);
        }
    }
}
