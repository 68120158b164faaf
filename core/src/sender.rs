//! The client's side: stop-and-wait ARQ to n receivers, as a sans-IO state machine.

use crate::error::Error;
use crate::rto::{RtoPolicy, RttEstimator};
use crate::time::Instant;
use crate::trace::{EventKind, Node, RejectReason, TraceEvent, TransferTotals, TxId};
use crate::window::Mode;
use crate::wire::{Dialect, Packet};
use std::collections::VecDeque;
use std::net::SocketAddr;

/// Sender parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct SenderConfig {
    /// Payload bytes per DATA segment.
    pub mss: usize,
    /// Wire dialect.
    pub dialect: Dialect,
    /// Timeout policy.
    pub policy: RtoPolicy,
    /// Consecutive timeouts without the awaited ACK after which a receiver is declared failed.
    pub max_timeouts: u32,
    /// ARQ scheme: [`Sender`] runs stop-and-wait, [`crate::WindowSender`] the windowed ones;
    /// [`crate::AnySender`] picks.
    pub mode: Mode,
    /// Pacing cap for windowed modes, bits per second (0: none).
    pub rate_bps: u64,
    /// Congestion response of the windowed modes (stop-and-wait has none: one segment in
    /// flight cannot overrun anything).
    pub congestion: crate::congestion::Congestion,
    /// IPv4 multicast group (and port) the receivers joined: each DATA goes out once, to the
    /// group, instead of once per receiver; retransmissions go to the group only when enough
    /// receivers miss a segment (see [`multicast_retransmit`]). ACKs and FINs stay unicast.
    pub multicast: Option<SocketAddr>,
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            mss: 500,
            dialect: Dialect::Binary,
            policy: RtoPolicy::default(),
            max_timeouts: 10,
            mode: Mode::StopAndWait,
            rate_bps: 0,
            congestion: crate::congestion::Congestion::default(),
            multicast: None,
        }
    }
}

/// Whether a retransmission of a segment that `missing` of `live` receivers still miss goes
/// to the multicast group (one datagram, which the receivers that have the segment drop as a
/// duplicate) rather than once to each of them: when at least two and more than half miss it.
///
/// Why: the sender's cost is one send plus `live` duplicate-or-not ACKs by multicast, against
/// `missing` sends plus `missing` ACKs by unicast; they break even at `missing = (live + 1) / 2`.
/// A lone missing receiver never makes the others take a copy they already have.
pub fn multicast_retransmit(missing: usize, live: usize) -> bool {
    missing >= 2 && 2 * missing > live
}

impl SenderConfig {
    /// Checks the parameters against a file of `file_len` bytes; returns the segment count.
    pub fn validate(&self, file_len: u64) -> Result<u64, Error> {
        let max = self.dialect.max_mss();
        if self.mss == 0 || self.mss > max {
            return Err(Error::BadMss { mss: self.mss, max, dialect: self.dialect });
        }
        self.policy.validate().map_err(Error::BadParameter)?;
        if self.max_timeouts == 0 {
            return Err(Error::BadParameter("max-timeouts must be at least 1".into()));
        }
        if let Some(group) = self.multicast {
            if !matches!(group, SocketAddr::V4(g) if g.ip().is_multicast()) || group.port() == 0 {
                return Err(Error::BadMulticastGroup(group));
            }
            if self.dialect != Dialect::Binary {
                return Err(Error::BadParameter(
                    "multicast uses the binary dialect (the text dialect is unicast only)".into(),
                ));
            }
        }
        if self.mode != Mode::StopAndWait {
            if self.dialect != Dialect::Binary {
                return Err(Error::BadParameter(
                    "windowed modes use the binary dialect (the text dialect is stop-and-wait)".into(),
                ));
            }
            let w = self.mode.window();
            if !(1..=crate::window::MAX_WINDOW).contains(&w) {
                return Err(Error::BadParameter(format!(
                    "window must be 1 to {}, got {w}",
                    crate::window::MAX_WINDOW
                )));
            }
        }
        let segments = file_len.div_ceil(self.mss as u64);
        let max_len = match self.dialect {
            // Segment numbers are u32.
            Dialect::Binary => (u64::from(u32::MAX) + 1) * self.mss as u64,
            // Offsets are u32, and the EOF's offset is the file length.
            Dialect::Text => u64::from(u32::MAX),
        };
        if file_len > max_len {
            return Err(Error::FileTooLarge { len: file_len, max: max_len, dialect: self.dialect });
        }
        Ok(segments)
    }
}

/// A request for the payload of the next segment: bytes `offset..offset + len` of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadRequest {
    /// Segment number.
    pub seq: u32,
    /// Byte offset in the file.
    pub offset: u64,
    /// Bytes wanted (MSS, or less for the last segment).
    pub len: usize,
}

/// A datagram to send, written into the buffer given to `poll_transmit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct Transmit {
    /// Where to send it.
    pub destination: SocketAddr,
    /// The receiver's index.
    pub receiver: u16,
    /// Datagram length (the buffer's length).
    pub size: usize,
    /// Transmission id, as on the trace's `Send` event.
    pub tx: TxId,
    /// Segment number, as on the trace's `Send` event.
    pub seq: Option<u32>,
    /// Sent to the multicast group: `destination` is the group, `receiver` and `tx` are those
    /// of the first receiver it is meant for; the sender's `multicast_targets` lists them all.
    pub multicast: bool,
}

/// What became of a receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Still in the transfer.
    Active,
    /// Acknowledged the end of file.
    Finished,
    /// Declared failed after too many consecutive timeouts.
    Failed,
}

/// Per-receiver counters, for summaries.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReceiverReport {
    /// Receiver address.
    pub addr: SocketAddr,
    /// Timer expiries that included this receiver.
    pub timeouts: u64,
    /// Retransmissions sent to it.
    pub retransmissions: u64,
    /// Segments it acknowledged.
    pub acked: u64,
    /// Smoothed RTT, if sampled (microseconds).
    pub srtt_micros: Option<u64>,
    /// Its final or current state.
    pub outcome: Outcome,
}

#[derive(Debug)]
struct Peer {
    addr: SocketAddr,
    est: RttEstimator,
    outcome: Outcome,
    pending: bool,
    deadline: Option<Instant>,
    sent_at: Option<Instant>,
    /// Karn's rule: no RTT sample from a segment retransmitted to this peer.
    retransmitted: bool,
    consecutive_timeouts: u32,
    timeouts: u64,
    retransmissions: u64,
    acked: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Data,
    Fin,
    Done,
}

/// Counters of datagrams the sender ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ignored {
    /// From an address that is not a receiver of this transfer (forged or stray).
    pub foreign: u64,
    /// That did not parse.
    pub malformed: u64,
    /// Well-formed but not the awaited acknowledgement (stale or out-of-order ACKs).
    pub unexpected: u64,
}

/// Stop-and-wait sender to n receivers.
///
/// Call order, for a driver (quinn-style):
/// 1. [`Sender::new`] at the start time.
/// 2. Loop:
///    - while [`Sender::poll_read`] returns a request, read those bytes and [`Sender::supply`] them;
///    - while [`Sender::poll_transmit`] returns a datagram, send it;
///    - drain [`Sender::poll_event`];
///    - sleep until a datagram arrives ([`Sender::handle_datagram`]) or [`Sender::poll_timeout`]
///      passes ([`Sender::handle_timeout`]);
///    - stop once [`Sender::is_done`].
///
/// `handle_timeout` before the deadline is a no-op. The sender never reads a clock or a socket.
#[derive(Debug)]
pub struct Sender {
    cfg: SenderConfig,
    peers: Vec<Peer>,
    file_len: u64,
    segments: u64,
    /// Current segment (DATA phase) or the segment count (FIN phase).
    seq: u32,
    phase: Phase,
    payload: Vec<u8>,
    have_payload: bool,
    queue: VecDeque<(u16, bool)>,
    /// The fixed policy's single per-segment timer, shared by all pending receivers.
    round_deadline: Option<Instant>,
    events: crate::trace::EventQueue,
    next_tx: u64,
    first_send: Option<Instant>,
    end: Option<Instant>,
    totals: TransferTotals,
    ignored: Ignored,
    /// Receivers and ids of the last datagram sent to the multicast group.
    group_targets: Vec<(u16, TxId)>,
}

/// Receiver marker in the transmit queue: one datagram to the multicast group for every
/// receiver still pending when it goes out. (Receiver indices stop below it.)
const GROUP: u16 = u16::MAX;

impl Sender {
    /// Starts a transfer of a `file_len`-byte file to `receivers` at time `now`.
    pub fn new(
        cfg: SenderConfig,
        receivers: &[SocketAddr],
        file_len: u64,
        now: Instant,
    ) -> Result<Self, Error> {
        let segments = cfg.validate(file_len)?;
        if cfg.mode != Mode::StopAndWait {
            return Err(Error::BadParameter(format!("{:?} needs a WindowSender (use AnySender)", cfg.mode)));
        }
        if receivers.is_empty() {
            return Err(Error::NoReceivers);
        }
        if receivers.len() > usize::from(u16::MAX) {
            return Err(Error::TooManyReceivers(receivers.len()));
        }
        for (i, a) in receivers.iter().enumerate() {
            if receivers[..i].contains(a) {
                return Err(Error::DuplicateReceiver(*a));
            }
        }
        let peers = receivers
            .iter()
            .map(|&addr| Peer {
                addr,
                est: RttEstimator::new(cfg.policy),
                outcome: Outcome::Active,
                pending: false,
                deadline: None,
                sent_at: None,
                retransmitted: false,
                consecutive_timeouts: 0,
                timeouts: 0,
                retransmissions: 0,
                acked: 0,
            })
            .collect();
        let mut s = Sender {
            peers,
            file_len,
            segments,
            seq: 0,
            phase: Phase::Data,
            payload: Vec::with_capacity(cfg.mss),
            have_payload: false,
            queue: VecDeque::new(),
            round_deadline: None,
            events: crate::trace::EventQueue::new(),
            next_tx: TxId::base_for(Node::Client),
            first_send: None,
            end: None,
            totals: TransferTotals { bytes: file_len, segments, ..Default::default() },
            ignored: Ignored::default(),
            group_targets: Vec::new(),
            cfg,
        };
        s.event(
            now,
            EventKind::TransferStart {
                file_size: file_len,
                mss: s.cfg.mss as u32,
                segments,
                receivers: receivers.iter().map(|a| a.to_string()).collect(),
                dialect: s.cfg.dialect,
                policy: Box::new(s.cfg.policy),
                max_timeouts: s.cfg.max_timeouts,
            },
        );
        if segments == 0 {
            s.start_fin();
        }
        Ok(s)
    }

    /// The configuration.
    pub fn config(&self) -> &SenderConfig {
        &self.cfg
    }

    /// DATA segments in the file.
    pub fn segments(&self) -> u64 {
        self.segments
    }

    /// Segments completed so far (acknowledged by every live receiver).
    pub fn segments_done(&self) -> u64 {
        match self.phase {
            Phase::Data => u64::from(self.seq),
            Phase::Fin | Phase::Done => self.segments,
        }
    }

    /// Whether the transfer is over (every receiver finished or failed).
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Time from the first send to the end of the transfer, once done.
    pub fn delay(&self) -> Option<core::time::Duration> {
        Some(self.end? - self.first_send?)
    }

    /// Totals so far (final once done).
    pub fn totals(&self) -> &TransferTotals {
        &self.totals
    }

    /// Datagrams ignored so far.
    pub fn ignored(&self) -> Ignored {
        self.ignored
    }

    /// Per-receiver counters, in receiver order.
    pub fn reports(&self) -> Vec<ReceiverReport> {
        self.peers
            .iter()
            .map(|p| ReceiverReport {
                addr: p.addr,
                timeouts: p.timeouts,
                retransmissions: p.retransmissions,
                acked: p.acked,
                srtt_micros: p.est.srtt().map(|d| d.as_micros() as u64),
                outcome: p.outcome,
            })
            .collect()
    }

    /// The payload the sender needs next, if any. Idempotent until [`Sender::supply`] is called.
    #[must_use]
    pub fn poll_read(&self) -> Option<ReadRequest> {
        if self.phase != Phase::Data || self.have_payload {
            return None;
        }
        let offset = u64::from(self.seq) * self.cfg.mss as u64;
        let len = (self.file_len - offset).min(self.cfg.mss as u64) as usize;
        Some(ReadRequest { seq: self.seq, offset, len })
    }

    /// Hands over the bytes asked for by [`Sender::poll_read`].
    pub fn supply(&mut self, seq: u32, data: &[u8]) -> Result<(), Error> {
        match self.poll_read() {
            Some(req) if req.seq == seq && req.len == data.len() => {}
            req => {
                return Err(Error::UnexpectedSegment {
                    got: seq,
                    len: data.len(),
                    want: req.map_or(self.seq, |r| r.seq),
                    want_len: req.map_or(0, |r| r.len),
                })
            }
        }
        self.payload.clear();
        self.payload.extend_from_slice(data);
        self.have_payload = true;
        self.queue_round();
        Ok(())
    }

    /// Queues the current segment (or FIN) to every live receiver.
    fn queue_round(&mut self) {
        self.round_deadline = None;
        // DATA goes once to the multicast group, if there is one; the FIN always by unicast.
        let group = self.cfg.multicast.is_some() && self.phase == Phase::Data;
        if group {
            self.queue.push_back((GROUP, false));
        }
        for (i, p) in self.peers.iter_mut().enumerate() {
            if p.outcome == Outcome::Active {
                p.pending = true;
                p.deadline = None;
                p.retransmitted = false;
                if !group {
                    self.queue.push_back((i as u16, false));
                }
            }
        }
    }

    /// Writes the current segment once, addressed to the multicast group, for every pending
    /// receiver (one `Send` event and timer each, consecutive ids); `None` if none is pending.
    /// A retransmission left with a single pending receiver goes to it by unicast instead.
    fn transmit_group(&mut self, now: Instant, retx: bool, buf: &mut Vec<u8>) -> Option<Transmit> {
        let group = self.cfg.multicast?;
        let targets: Vec<usize> = (0..self.peers.len()).filter(|&i| self.peers[i].pending).collect();
        match targets[..] {
            [] => return None,
            [only] if retx => {
                self.queue.push_front((only as u16, true));
                return None;
            }
            _ => {}
        }
        if self.phase != Phase::Data {
            return None;
        }
        buf.clear();
        let packet = Packet::Data { seq: self.wire_seq(), payload: &self.payload };
        if self.cfg.dialect.emit(&packet, buf).is_err() {
            return None;
        }
        let kind = packet.kind();
        let seq = self.seq;
        self.group_targets.clear();
        for idx in targets {
            let rto = self.peers[idx].est.rto();
            let deadline = match self.cfg.policy {
                RtoPolicy::Fixed { .. } => *self.round_deadline.get_or_insert(now + rto),
                RtoPolicy::Adaptive { .. } => now + rto,
            };
            let p = &mut self.peers[idx];
            p.sent_at = Some(now);
            p.deadline = Some(deadline);
            if retx {
                // Karn's rule: its own timer may not have fired, but it may get this twice.
                p.retransmitted = true;
                p.retransmissions += 1;
            }
            let tx = TxId(self.next_tx);
            self.next_tx += 1;
            self.group_targets.push((idx as u16, tx));
            self.event(now, EventKind::sent(kind, buf, self.cfg.dialect, retx, true));
            self.tag_last(idx as u16, seq, Some(tx));
            self.event(now, EventKind::TimerArmed { deadline, rto_micros: rto.as_micros() as u64 });
            self.tag_last(idx as u16, seq, None);
        }
        // One datagram on the wire, whatever the number of receivers it serves.
        if retx {
            self.totals.retransmissions += 1;
        }
        self.totals.transmissions += 1;
        self.first_send.get_or_insert(now);
        let &(receiver, tx) = self.group_targets.first()?;
        Some(Transmit { destination: group, receiver, size: buf.len(), tx, seq: Some(seq), multicast: true })
    }

    /// The receivers and transmission ids the last multicast [`Transmit`] is meant for, in
    /// receiver order (its `receiver` and `tx` are the first pair). Empty before any.
    pub fn multicast_targets(&self) -> &[(u16, TxId)] {
        &self.group_targets
    }

    /// Writes the next datagram into `buf` (replacing its contents) and says where it goes.
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        while let Some((i, retx)) = self.queue.pop_front() {
            if i == GROUP {
                match self.transmit_group(now, retx, buf) {
                    Some(t) => return Some(t),
                    None => continue,
                }
            }
            let idx = usize::from(i);
            if !self.peers[idx].pending {
                continue; // acknowledged or failed since it was queued
            }
            buf.clear();
            let packet = match self.phase {
                Phase::Data => Packet::Data { seq: self.wire_seq(), payload: &self.payload },
                Phase::Fin => Packet::Fin { seq: self.wire_seq() },
                Phase::Done => return None,
            };
            // Cannot fail: MSS and file length were validated, and the payload is never empty.
            if self.cfg.dialect.emit(&packet, buf).is_err() {
                continue;
            }
            let kind = packet.kind();
            let rto = self.peers[idx].est.rto();
            let deadline = match self.cfg.policy {
                RtoPolicy::Fixed { .. } => *self.round_deadline.get_or_insert(now + rto),
                RtoPolicy::Adaptive { .. } => now + rto,
            };
            let p = &mut self.peers[idx];
            p.sent_at = Some(now);
            p.deadline = Some(deadline);
            if retx {
                p.retransmissions += 1;
                self.totals.retransmissions += 1;
            }
            self.totals.transmissions += 1;
            self.first_send.get_or_insert(now);
            let tx = TxId(self.next_tx);
            self.next_tx += 1;
            let seq = self.seq;
            self.event(now, EventKind::sent(kind, buf, self.cfg.dialect, retx, false));
            self.tag_last(i, seq, Some(tx));
            self.event(now, EventKind::TimerArmed { deadline, rto_micros: rto.as_micros() as u64 });
            self.tag_last(i, seq, None);
            return Some(Transmit {
                destination: self.peers[idx].addr,
                receiver: i,
                size: buf.len(),
                tx,
                seq: Some(seq),
                multicast: false,
            });
        }
        None
    }

    /// The earliest retransmission deadline, if a timer is running.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.phase == Phase::Done {
            return None;
        }
        self.peers.iter().filter(|p| p.pending).filter_map(|p| p.deadline).min()
    }

    /// Keeps only the trace events `keep` accepts, those queued already and those to come (a
    /// driver with no trace to record keeps what it prints); the default keeps all.
    /// [`Self::poll_event`] then yields only those.
    pub fn set_event_filter(&mut self, keep: crate::trace::EventFilter) {
        self.events.set_filter(keep);
    }

    /// The next trace event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<TraceEvent> {
        self.events.pop_front()
    }

    /// Processes a datagram from `from`. `tx` is the id of the transmission that carried it, when
    /// the driver knows it (the simulator does; a real network does not).
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8], tx: Option<TxId>) {
        let Some(idx) = self.peers.iter().position(|p| p.addr == from) else {
            self.ignored.foreign += 1;
            self.event(now, EventKind::Reject { reason: RejectReason::Foreign });
            self.tag_last_tx(tx);
            return;
        };
        let i = idx as u16;
        let packet = match self.cfg.dialect.parse(data) {
            Ok(p) => p,
            Err(e) => {
                self.ignored.malformed += 1;
                let reason = if e.is_checksum() { RejectReason::Checksum } else { RejectReason::Malformed };
                self.event(now, EventKind::Reject { reason });
                self.tag_last(i, self.seq, tx);
                return;
            }
        };
        let kind = packet.kind();
        let seg = self.segment_of(&packet);
        self.event(now, EventKind::Arrive { packet: kind, bytes: data.len() as u32 });
        if let Some(ev) = self.events.back_mut() {
            ev.rx = Some(i);
            ev.seq = seg;
            ev.tx = tx;
        }
        let awaited = match (self.phase, self.cfg.dialect, packet) {
            (Phase::Data, _, Packet::Ack { seq }) => seq == self.wire_seq(),
            (Phase::Fin, Dialect::Binary, Packet::Fin { .. }) => true,
            (Phase::Fin, Dialect::Text, Packet::Ack { seq }) => seq == self.wire_seq(),
            _ => false,
        };
        if !awaited || !self.peers[idx].pending {
            // A stale or duplicate ACK: the receiver is alive but this is not progress.
            self.ignored.unexpected += 1;
            self.event(now, EventKind::Reject { reason: RejectReason::Unexpected });
            self.tag_last(i, seg.unwrap_or(self.seq), tx);
            return;
        }
        let p = &mut self.peers[idx];
        p.pending = false;
        p.deadline = None;
        p.consecutive_timeouts = 0;
        let sample = match (p.retransmitted, p.sent_at) {
            (false, Some(sent)) => Some(now - sent),
            _ => None,
        };
        if let Some(rtt) = sample {
            if p.est.on_sample(rtt) {
                let (srtt, rttvar, rto) = (p.est.srtt().unwrap_or(rtt), p.est.rttvar(), p.est.rto());
                self.event(
                    now,
                    EventKind::RttSample {
                        rtt_micros: rtt.as_micros() as u64,
                        srtt_micros: srtt.as_micros() as u64,
                        rttvar_micros: rttvar.as_micros() as u64,
                        rto_micros: rto.as_micros() as u64,
                    },
                );
                self.tag_last(i, self.seq, None);
            }
        }
        match self.phase {
            Phase::Data => self.peers[idx].acked += 1,
            Phase::Fin => {
                self.peers[idx].outcome = Outcome::Finished;
                self.totals.finished += 1;
                self.event(now, EventKind::ReceiverFinished { bytes: self.file_len });
                self.tag_last(i, self.seq, None);
            }
            Phase::Done => {}
        }
        self.maybe_advance(now);
    }

    /// Processes timer expiry. A call before the deadline does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.phase == Phase::Done {
            return;
        }
        let expired: Vec<u16> = self
            .peers
            .iter()
            .enumerate()
            .filter(|(_, p)| p.pending && p.deadline.is_some_and(|d| d <= now))
            .map(|(i, _)| i as u16)
            .collect();
        if expired.is_empty() {
            return;
        }
        self.round_deadline = None;
        self.totals.timeouts += 1;
        let mut resend = Vec::with_capacity(expired.len());
        let mut failed = Vec::new();
        for &i in &expired {
            let p = &mut self.peers[usize::from(i)];
            p.timeouts += 1;
            p.consecutive_timeouts += 1;
            p.deadline = None;
            p.est.on_timeout();
            if p.consecutive_timeouts >= self.cfg.max_timeouts {
                p.pending = false;
                p.outcome = Outcome::Failed;
                failed.push((i, p.consecutive_timeouts));
            } else {
                p.retransmitted = true;
                resend.push(i);
            }
        }
        let seq = self.seq;
        let field = self.wire_seq();
        self.event(now, EventKind::TimerFired { field, receivers: resend.clone() });
        if let Some(ev) = self.events.back_mut() {
            ev.seq = Some(seq);
        }
        let live = self.peers.iter().filter(|p| p.outcome == Outcome::Active).count();
        // Known to miss it: expired now, or a unicast resend still waiting to go. A receiver
        // whose ACK may merely be late does not count (it still gets the group copy).
        let waiting = self
            .queue
            .iter()
            .filter(|&&(i, retx)| {
                retx && i != GROUP && !resend.contains(&i) && self.peers[usize::from(i)].pending
            })
            .count();
        let missing = resend.len() + waiting;
        if self.cfg.multicast.is_some() && self.phase == Phase::Data && multicast_retransmit(missing, live) {
            // Every pending receiver gets the group copy, including any whose timer is later.
            self.queue.retain(|&(i, retx)| i == GROUP || !retx);
            if !self.queue.contains(&(GROUP, true)) {
                self.queue.push_back((GROUP, true));
            }
        } else {
            for &i in &resend {
                self.queue.push_back((i, true));
            }
        }
        for (i, timeouts) in failed {
            self.totals.failed += 1;
            self.event(now, EventKind::ReceiverFailed { timeouts });
            self.tag_last(i, seq, None);
        }
        self.maybe_advance(now);
    }

    /// Moves on once no receiver is pending for the current segment.
    fn maybe_advance(&mut self, now: Instant) {
        if self.peers.iter().any(|p| p.pending) || self.phase == Phase::Done {
            return;
        }
        let live = self.peers.iter().any(|p| p.outcome == Outcome::Active);
        match self.phase {
            Phase::Data => {
                if live {
                    self.event(now, EventKind::SegmentComplete);
                    if let Some(ev) = self.events.back_mut() {
                        ev.seq = Some(self.seq);
                    }
                }
                if !live {
                    self.finish(now);
                } else if u64::from(self.seq) + 1 >= self.segments {
                    self.start_fin();
                } else {
                    self.seq += 1;
                    self.have_payload = false;
                }
            }
            Phase::Fin => self.finish(now),
            Phase::Done => {}
        }
    }

    fn start_fin(&mut self) {
        self.phase = Phase::Fin;
        // For the trace, the FIN is numbered after the last segment (saturating for 2^32 segments).
        self.seq = u32::try_from(self.segments).unwrap_or(u32::MAX);
        self.have_payload = true;
        self.queue_round();
    }

    fn finish(&mut self, now: Instant) {
        self.phase = Phase::Done;
        self.queue.clear();
        self.end = Some(now);
        self.totals.delay_micros = self.delay().map_or(0, |d| d.as_micros() as u64);
        let totals = self.totals.clone();
        self.event(now, EventKind::TransferEnd { totals: Box::new(totals) });
    }

    /// The sequence field on the wire for the current segment or FIN.
    fn wire_seq(&self) -> u32 {
        match (self.cfg.dialect, self.phase) {
            (Dialect::Binary, Phase::Fin) => 0,
            (Dialect::Binary, _) => self.seq,
            // Validated: text offsets fit in u32.
            (Dialect::Text, Phase::Fin) => self.file_len as u32,
            (Dialect::Text, _) => (u64::from(self.seq) * self.cfg.mss as u64) as u32,
        }
    }

    /// The segment number an arriving packet refers to, for the trace.
    fn segment_of(&self, p: &Packet<'_>) -> Option<u32> {
        match (self.cfg.dialect, *p) {
            (_, Packet::Fin { .. }) => u32::try_from(self.segments).ok(),
            (Dialect::Binary, Packet::Ack { seq } | Packet::Data { seq, .. }) => Some(seq),
            (Dialect::Text, Packet::Ack { seq } | Packet::Data { seq, .. }) => {
                if u64::from(seq) == self.file_len {
                    u32::try_from(self.segments).ok()
                } else {
                    u32::try_from(u64::from(seq) / self.cfg.mss as u64).ok()
                }
            }
        }
    }

    fn event(&mut self, t: Instant, kind: EventKind) {
        self.events.push_back(TraceEvent::new(t, Node::Client, kind));
    }

    fn tag_last(&mut self, rx: u16, seq: u32, tx: Option<TxId>) {
        if let Some(ev) = self.events.back_mut() {
            ev.rx = Some(rx);
            ev.seq = Some(seq);
            ev.tx = tx;
        }
    }

    fn tag_last_tx(&mut self, tx: Option<TxId>) {
        if let Some(ev) = self.events.back_mut() {
            ev.tx = tx;
        }
    }
}
