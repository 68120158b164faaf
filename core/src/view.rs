//! The viewer's model of a trace: pairs every transmission with its fate, and folds events into
//! the per-receiver and overall state a UI shows at any point of a replay.
//!
//! Lives in the core so that it is tested natively and shared by every front end. Works for
//! simulated traces (arrivals name their transmission id) and for live ones from real nodes
//! (they cannot: an arrival is then paired with the oldest unresolved transmission of the same
//! kind and segment on the same path, which is exact for stop-and-wait).

use crate::error::Error;
use crate::rto::RtoPolicy;
use crate::sender::Outcome;
use crate::time::Instant;
use crate::trace::{EventKind, Node, RejectReason, TraceEvent, TraceHeader, TraceLine, TransferTotals, TxId};
use crate::wire::{Dialect, PacketKind};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};

/// What became of one transmission.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fate", rename_all = "snake_case")]
pub enum Fate {
    /// Not resolved (yet): still in flight, or the trace ends first.
    InFlight,
    /// Reached its destination and was accepted by the loss service and the parser.
    Arrived {
        /// When.
        at: Instant,
    },
    /// Discarded by the receiver's loss service.
    LossDrop {
        /// When.
        at: Instant,
    },
    /// Lost by the (simulated) network.
    LinkDrop {
        /// When it was lost (its send time).
        at: Instant,
    },
    /// Reached its destination and was thrown away.
    Rejected {
        /// When.
        at: Instant,
        /// Why.
        reason: RejectReason,
    },
}

impl Fate {
    /// When the fate was sealed, if it was.
    pub fn at(&self) -> Option<Instant> {
        match *self {
            Fate::InFlight => None,
            Fate::Arrived { at }
            | Fate::LossDrop { at }
            | Fate::LinkDrop { at }
            | Fate::Rejected { at, .. } => Some(at),
        }
    }
}

/// One datagram's life: its send and its fate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Flight {
    /// Transmission id.
    pub tx: TxId,
    /// Sender of the datagram (the client, or a server for ACKs).
    pub from: Node,
    /// The receiver whose path it travels.
    pub rx: u16,
    /// Kind.
    pub packet: PacketKind,
    /// Segment number.
    pub seq: Option<u32>,
    /// Retransmission?
    pub retx: bool,
    /// Length in bytes.
    pub bytes: u32,
    /// Send time.
    pub sent: Instant,
    /// Index of the send event in the trace.
    pub send_index: usize,
    /// Its fate.
    pub fate: Fate,
    /// Index of the event that sealed it.
    pub fate_index: Option<usize>,
}

impl Flight {
    /// Whether it travels from the client to a server.
    pub fn downstream(&self) -> bool {
        self.from == Node::Client
    }
}

/// The transfer's parameters, from its start event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransferInfo {
    /// File bytes.
    pub file_size: u64,
    /// MSS.
    pub mss: u32,
    /// DATA segments.
    pub segments: u64,
    /// Receiver names.
    pub receivers: Vec<String>,
    /// Dialect.
    pub dialect: Dialect,
    /// Timeout policy.
    pub policy: RtoPolicy,
}

/// A receiver as the side panel shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceiverView {
    /// Its name.
    pub name: String,
    /// Segments it has acknowledged (seen by the client).
    pub acked: u64,
    /// Timer expiries that included it.
    pub timeouts: u64,
    /// Retransmissions to it.
    pub retransmissions: u64,
    /// Datagrams its loss service dropped.
    pub loss_drops: u64,
    /// Datagrams the network lost on its path.
    pub link_drops: u64,
    /// RTO currently in force for it (microseconds).
    pub rto_micros: Option<u64>,
    /// Smoothed RTT (microseconds), adaptive policy only.
    pub srtt_micros: Option<u64>,
    /// Where it stands.
    pub outcome: Outcome,
}

/// Overall state at a point of the trace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The transfer's parameters, once started.
    pub info: Option<TransferInfo>,
    /// Per receiver.
    pub receivers: Vec<ReceiverView>,
    /// Segments acknowledged by every live receiver.
    pub segments_done: u64,
    /// Client transmissions (DATA and FIN).
    pub transmissions: u64,
    /// Retransmissions among them.
    pub retransmissions: u64,
    /// Timer expiries.
    pub timeouts: u64,
    /// Loss-service drops at all receivers.
    pub loss_drops: u64,
    /// Network losses.
    pub link_drops: u64,
    /// Datagrams rejected (checksum, framing, foreign, unexpected).
    pub rejects: u64,
    /// Final totals, once the transfer ended.
    pub end: Option<TransferTotals>,
    /// Time of the first event.
    pub t_first: Option<Instant>,
    /// Time of the last event folded.
    pub t_last: Option<Instant>,
    /// Events folded.
    pub events: usize,
    /// The last multicast copy folded (time, segment, id): the copies of one group datagram
    /// follow each other with consecutive ids and count as one transmission.
    #[serde(skip)]
    last_multicast: Option<(Instant, Option<u32>, TxId)>,
}

impl Summary {
    /// Folds one event in.
    pub fn apply(&mut self, e: &TraceEvent) {
        self.events += 1;
        self.t_first.get_or_insert(e.t);
        self.t_last = Some(e.t);
        let rx = e.rx.map(usize::from);
        match &e.kind {
            EventKind::TransferStart { file_size, mss, segments, receivers, dialect, policy, .. } => {
                let rto = match &**policy {
                    RtoPolicy::Fixed { timeout } => timeout,
                    RtoPolicy::Adaptive { initial, .. } => initial,
                };
                self.receivers = receivers
                    .iter()
                    .map(|name| ReceiverView {
                        name: name.clone(),
                        acked: 0,
                        timeouts: 0,
                        retransmissions: 0,
                        loss_drops: 0,
                        link_drops: 0,
                        rto_micros: Some(rto.as_micros() as u64),
                        srtt_micros: None,
                        outcome: Outcome::Active,
                    })
                    .collect();
                self.info = Some(TransferInfo {
                    file_size: *file_size,
                    mss: *mss,
                    segments: *segments,
                    receivers: receivers.clone(),
                    dialect: *dialect,
                    policy: **policy,
                });
            }
            EventKind::Send { retx, multicast, .. } if e.node == Node::Client => {
                let copy = *multicast
                    && matches!((self.last_multicast, e.tx), (Some((t, seq, prev)), Some(tx))
                        if t == e.t && seq == e.seq && tx.0 == prev.0 + 1);
                self.last_multicast = if *multicast { e.tx.map(|tx| (e.t, e.seq, tx)) } else { None };
                if !copy {
                    self.transmissions += 1;
                    if *retx {
                        self.retransmissions += 1;
                    }
                }
                if *retx {
                    if let Some(r) = rx.and_then(|i| self.receivers.get_mut(i)) {
                        r.retransmissions += 1;
                    }
                }
            }
            EventKind::LossDrop { .. } => {
                self.loss_drops += 1;
                if let Some(r) = rx.and_then(|i| self.receivers.get_mut(i)) {
                    r.loss_drops += 1;
                }
            }
            EventKind::LinkDrop { .. } => {
                self.link_drops += 1;
                if let Some(r) = rx.and_then(|i| self.receivers.get_mut(i)) {
                    r.link_drops += 1;
                }
            }
            EventKind::Reject { .. } => self.rejects += 1,
            EventKind::TimerArmed { rto_micros, .. } => {
                if let Some(r) = rx.and_then(|i| self.receivers.get_mut(i)) {
                    r.rto_micros = Some(*rto_micros);
                }
            }
            EventKind::TimerFired { receivers, .. } => {
                self.timeouts += 1;
                for &i in receivers {
                    if let Some(r) = self.receivers.get_mut(usize::from(i)) {
                        r.timeouts += 1;
                    }
                }
            }
            EventKind::RttSample { srtt_micros, rto_micros, .. } => {
                if let Some(r) = rx.and_then(|i| self.receivers.get_mut(i)) {
                    r.srtt_micros = Some(*srtt_micros);
                    r.rto_micros = Some(*rto_micros);
                }
            }
            EventKind::SegmentComplete => {
                self.segments_done += 1;
                for r in self.receivers.iter_mut().filter(|r| r.outcome == Outcome::Active) {
                    r.acked += 1;
                }
            }
            EventKind::ReceiverFinished { .. } if e.node == Node::Client => {
                if let Some(r) = rx.and_then(|i| self.receivers.get_mut(i)) {
                    r.outcome = Outcome::Finished;
                }
            }
            EventKind::ReceiverFailed { .. } => {
                if let Some(r) = rx.and_then(|i| self.receivers.get_mut(i)) {
                    r.outcome = Outcome::Failed;
                    // The expiry that failed it is not in that TimerFired's resend list.
                    r.timeouts += 1;
                }
            }
            EventKind::TransferEnd { totals } => self.end = Some((**totals).clone()),
            _ => {}
        }
    }
}

/// A trace with its flights paired, ready to be replayed from any point.
#[derive(Clone, Debug, Default)]
pub struct TraceModel {
    /// The header, if the trace had one.
    pub header: Option<TraceHeader>,
    /// Every event, in order.
    pub events: Vec<TraceEvent>,
    /// Every transmission, in send order.
    pub flights: Vec<Flight>,
    by_tx: HashMap<TxId, usize>,
    /// Unresolved flights without ids to match on, per (downstream, rx, kind, seq).
    open: HashMap<(bool, u16, PacketKind, Option<u32>), VecDeque<usize>>,
    /// Summaries every `CHECKPOINT` events, so seeking is cheap.
    checkpoints: Vec<Summary>,
    current: Summary,
}

const CHECKPOINT: usize = 4096;

impl TraceModel {
    /// An empty model (live sources push into it).
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a JSON Lines trace (header line optional).
    pub fn from_jsonl(text: &str) -> Result<Self, Error> {
        let mut m = TraceModel::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<TraceLine>(line) {
                Ok(TraceLine::Header(h)) if m.header.is_none() && m.events.is_empty() => {
                    if h.schema != crate::trace::SCHEMA_VERSION {
                        return Err(Error::Trace {
                            line: i + 1,
                            message: format!(
                                "schema version {} is not supported (expected {})",
                                h.schema,
                                crate::trace::SCHEMA_VERSION
                            ),
                        });
                    }
                    m.header = Some(h);
                }
                Ok(TraceLine::Header(_)) => {
                    return Err(Error::Trace { line: i + 1, message: "a second header line".into() })
                }
                Ok(TraceLine::Event(e)) => m.push(e),
                Err(err) => return Err(Error::Trace { line: i + 1, message: err.to_string() }),
            }
        }
        Ok(m)
    }

    /// Appends one event, pairing it with its flight.
    pub fn push(&mut self, e: TraceEvent) {
        let index = self.events.len();
        match e.kind {
            EventKind::Send { packet, retx, bytes, .. } => {
                let rx = e.rx.unwrap_or(match e.node {
                    Node::Server(i) => i,
                    Node::Client => 0,
                });
                let f = Flight {
                    tx: e.tx.unwrap_or(TxId(u64::MAX - index as u64)),
                    from: e.node,
                    rx,
                    packet,
                    seq: e.seq,
                    retx,
                    bytes,
                    sent: e.t,
                    send_index: index,
                    fate: Fate::InFlight,
                    fate_index: None,
                };
                let fi = self.flights.len();
                self.by_tx.insert(f.tx, fi);
                self.open.entry((f.downstream(), rx, packet, e.seq)).or_default().push_back(fi);
                self.flights.push(f);
            }
            EventKind::LinkDrop { .. } => self.seal(&e, index, Fate::LinkDrop { at: e.t }, true),
            EventKind::LossDrop { .. } => self.seal(&e, index, Fate::LossDrop { at: e.t }, false),
            EventKind::Reject { reason } => self.seal(&e, index, Fate::Rejected { at: e.t, reason }, false),
            EventKind::Arrive { .. } => self.seal(&e, index, Fate::Arrived { at: e.t }, false),
            _ => {}
        }
        self.current.apply(&e);
        self.events.push(e);
        if self.events.len().is_multiple_of(CHECKPOINT) {
            self.checkpoints.push(self.current.clone());
        }
    }

    /// Records the fate of the flight `e` is about. `at_sender`: the event was recorded by the
    /// datagram's sender (a network loss), not at its destination.
    fn seal(&mut self, e: &TraceEvent, index: usize, fate: Fate, at_sender: bool) {
        let fi = match e.tx.and_then(|tx| self.by_tx.get(&tx).copied()) {
            Some(fi) => Some(fi),
            None => {
                // Live traces: the destination cannot know the id. Match on the path.
                let (downstream, rx) = match (e.node, at_sender) {
                    (Node::Client, false) => (false, e.rx.unwrap_or(0)),
                    (Node::Server(i), false) => (true, e.rx.unwrap_or(i)),
                    (Node::Client, true) => (true, e.rx.unwrap_or(0)),
                    (Node::Server(i), true) => (false, e.rx.unwrap_or(i)),
                };
                let kinds: &[PacketKind] = match &e.kind {
                    EventKind::Arrive { packet, .. } | EventKind::LinkDrop { packet } => {
                        core::slice::from_ref(packet)
                    }
                    _ if downstream => &[PacketKind::Data, PacketKind::Fin],
                    _ => &[PacketKind::Ack, PacketKind::Fin],
                };
                kinds.iter().find_map(|&k| {
                    let q = self.open.get_mut(&(downstream, rx, k, e.seq))?;
                    while let Some(&fi) = q.front() {
                        if self.flights[fi].fate == Fate::InFlight {
                            return Some(fi);
                        }
                        q.pop_front();
                    }
                    None
                })
            }
        };
        if let Some(fi) = fi {
            let f = &mut self.flights[fi];
            // A duplicated datagram arrives twice: the first arrival is its fate.
            if f.fate == Fate::InFlight {
                f.fate = fate;
                f.fate_index = Some(index);
            }
        }
    }

    /// The state after the first `cursor` events (cursor clamped to the trace length).
    pub fn summary_at(&self, cursor: usize) -> Summary {
        let cursor = cursor.min(self.events.len());
        if cursor == self.events.len() {
            return self.current.clone();
        }
        let k = cursor / CHECKPOINT;
        let (mut s, from) = match k.checked_sub(1).and_then(|i| self.checkpoints.get(i)) {
            Some(cp) => (cp.clone(), k * CHECKPOINT),
            None => (Summary::default(), 0),
        };
        for e in &self.events[from..cursor] {
            s.apply(e);
        }
        s
    }

    /// The state after every event.
    pub fn summary(&self) -> &Summary {
        &self.current
    }

    /// Flights on the wire at time `t` (sent at or before, fate after), oldest first.
    pub fn in_flight_at(&self, t: Instant) -> impl Iterator<Item = &Flight> {
        // Flights are in send order; anything sent long before t is resolved, but a lost one
        // stays "in flight" forever in a truncated trace, so bound the scan by its fate.
        let end = self.flights.partition_point(|f| f.sent <= t);
        self.flights[..end].iter().filter(move |f| f.fate.at().is_none_or(|at| at > t))
    }

    /// The flights whose send or fate lies in `[from, to]`: what a space-time diagram of that
    /// window draws.
    pub fn flights_between(&self, from: Instant, to: Instant) -> impl Iterator<Item = &Flight> {
        let end = self.flights.partition_point(|f| f.sent <= to);
        self.flights[..end].iter().filter(move |f| f.sent >= from || f.fate.at().is_none_or(|at| at >= from))
    }

    /// The flight an event is about (its send or its fate), if any.
    pub fn flight_of_event(&self, index: usize) -> Option<&Flight> {
        let e = self.events.get(index)?;
        if let Some(&fi) = e.tx.as_ref().and_then(|tx| self.by_tx.get(tx)) {
            return self.flights.get(fi);
        }
        self.flights.iter().find(|f| f.send_index == index || f.fate_index == Some(index))
    }
}

/// What causality says about one server's clock offset (server clock minus client clock,
/// microseconds): a datagram arrives after it is sent, so the offset is at most `upper` (the
/// server's earliest DATA arrival minus that segment's first send) and at least `lower` (its
/// earliest ACK send minus that ACK's first arrival at the client). `None`: no evidence that way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClockBounds {
    /// Greatest lower bound found, if any.
    pub lower: Option<i64>,
    /// Least upper bound found, if any.
    pub upper: Option<i64>,
}

impl ClockBounds {
    /// The estimate [`clock_offsets`] takes: 0 when the clocks already agree with causality
    /// (nodes on one host share a clock), else the midpoint (as NTP does), else the one bound.
    pub fn offset(&self) -> i64 {
        match (self.lower, self.upper) {
            (l, u) if l.is_none_or(|l| l <= 0) && u.is_none_or(|u| u >= 0) => 0,
            (None, Some(u)) => u,
            (Some(l), None) => l,
            (Some(l), Some(u)) => l + (u - l) / 2,
            (None, None) => 0,
        }
    }

    /// Whether some offset satisfies both bounds; if not, the two sides' events cannot be of
    /// one transfer (something arrived before it was sent, whatever the offset).
    pub fn consistent(&self) -> bool {
        match (self.lower, self.upper) {
            (Some(l), Some(u)) => l <= u,
            _ => true,
        }
    }

    /// How far [`ClockBounds::offset`] can be from the true offset, in microseconds, if both
    /// bounds are known (the true offset lies between them).
    pub fn tolerance(&self) -> Option<u64> {
        let (l, u) = (self.lower?, self.upper?);
        let o = self.offset();
        Some((o - l).max(u - o).max(0).unsigned_abs())
    }
}

/// [`ClockBounds`] of receivers `0..receivers` from a trace holding the client's events and
/// the servers' (each server's with its index in `node` and `rx`).
pub fn clock_bounds<'a>(
    events: impl IntoIterator<Item = &'a TraceEvent>,
    receivers: u16,
) -> Vec<ClockBounds> {
    let mut first_send: HashMap<(bool, u16, Option<u32>), i64> = HashMap::new();
    let mut first_arrive: HashMap<(bool, u16, Option<u32>), i64> = HashMap::new();
    for e in events {
        let t = e.t.total_micros() as i64;
        let Some(rx) = e.rx else { continue };
        match (&e.kind, e.node) {
            (EventKind::Send { .. }, Node::Client) => {
                first_send.entry((true, rx, e.seq)).or_insert(t);
            }
            (EventKind::Send { .. }, Node::Server(_)) => {
                first_send.entry((false, rx, e.seq)).or_insert(t);
            }
            (EventKind::Arrive { .. } | EventKind::LossDrop { .. }, Node::Server(_)) => {
                first_arrive.entry((true, rx, e.seq)).or_insert(t);
            }
            (EventKind::Arrive { .. }, Node::Client) => {
                first_arrive.entry((false, rx, e.seq)).or_insert(t);
            }
            _ => {}
        }
    }
    let mut bounds = vec![ClockBounds::default(); usize::from(receivers)];
    for (&(down, r, seq), &arr) in &first_arrive {
        let (Some(b), Some(&sent)) = (bounds.get_mut(usize::from(r)), first_send.get(&(down, r, seq))) else {
            continue;
        };
        if down {
            b.upper = Some(b.upper.map_or(arr - sent, |u| u.min(arr - sent)));
        } else {
            b.lower = Some(b.lower.map_or(sent - arr, |l| l.max(sent - arr)));
        }
    }
    bounds
}

/// Per-server clock offsets (server clock minus client clock, microseconds) estimated from
/// causality: each is [`ClockBounds::offset`] of [`clock_bounds`].
pub fn clock_offsets(events: &[TraceEvent], receivers: u16) -> Vec<i64> {
    clock_bounds(events, receivers).iter().map(ClockBounds::offset).collect()
}
