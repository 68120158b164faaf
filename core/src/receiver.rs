//! The server's side: one receiver with its loss service, as a sans-IO state machine.

use crate::error::Error;
use crate::rng::Rng;
use crate::sender::Transmit;
use crate::time::Instant;
use crate::trace::{EventKind, Node, RejectReason, TraceEvent, TxId};
use crate::wire::{Dialect, Packet, PacketKind, NOTHING_IN_ORDER};
use core::time::Duration;
use std::collections::VecDeque;
use std::net::SocketAddr;

/// Spare payload buffers a receiver keeps for reuse ([`Receiver::recycle`]).
pub const MAX_SPARE: usize = 64;

/// Receiver parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceiverConfig {
    /// Wire dialect.
    pub dialect: Dialect,
    /// Loss service probability `p`, in `[0, 1)`.
    pub loss: f64,
    /// Seed of the loss service's generator.
    pub seed: u64,
    /// This receiver's index in the sender's list, for the trace.
    pub index: u16,
    /// How long to keep answering retransmitted FINs after finishing.
    pub linger: Duration,
    /// Give up on a sender silent this long mid-transfer (`None`: wait forever).
    pub idle_timeout: Option<Duration>,
    /// Selective repeat: buffer DATA up to `reorder_window - 1` segments ahead of the next
    /// expected one (at most that many, so memory is bounded) and acknowledge each DATA on its
    /// own. 0 or 1: the classic receiver (discard out-of-order, acknowledge cumulatively),
    /// which is also what go-back-n needs. Classic senders see no difference either way: they
    /// never send ahead. Binary dialect only.
    pub reorder_window: u32,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            dialect: Dialect::Binary,
            loss: 0.0,
            seed: 0,
            index: 0,
            linger: Duration::from_secs(5),
            idle_timeout: Some(Duration::from_secs(60)),
            reorder_window: 0,
        }
    }
}

/// What the driver must act on, beyond datagrams and trace events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceiverOutput {
    /// A sender started a transfer; datagrams from other addresses are now ignored.
    Started {
        /// The sender's address.
        peer: SocketAddr,
    },
    /// In-sequence payload: append it to the output.
    Data(Vec<u8>),
    /// The end of file arrived: the output is complete (rename it into place).
    Finished {
        /// File bytes received.
        bytes: u64,
        /// DATA segments received.
        segments: u64,
    },
    /// The sender went silent mid-transfer: the output is incomplete (discard it).
    Aborted {
        /// Bytes received before giving up.
        bytes: u64,
    },
    /// The linger period after finishing is over; the receiver will not answer any more.
    Closed,
}

/// Counters of what the receiver saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReceiverStats {
    /// Datagrams handed to the receiver.
    pub datagrams: u64,
    /// Discarded by the loss service.
    pub lost: u64,
    /// Did not parse (framing).
    pub malformed: u64,
    /// Failed the checksum.
    pub bad_checksum: u64,
    /// From an address other than the sender's.
    pub foreign: u64,
    /// DATA received again.
    pub duplicates: u64,
    /// Well-formed but meaningless now.
    pub unexpected: u64,
    /// In-sequence segments written.
    pub segments: u64,
    /// Bytes written.
    pub bytes: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Receiving,
    Finished { until: Instant },
    Closed,
}

/// One receiver (server) of a transfer.
///
/// Call order, for a driver: feed every datagram to [`Receiver::handle_datagram`] and timer
/// expiries to [`Receiver::handle_timeout`]; after each, drain [`Receiver::poll_transmit`],
/// [`Receiver::poll_output`] (writing data in order) and [`Receiver::poll_event`], then sleep
/// until the next datagram or [`Receiver::poll_timeout`]. Stop after
/// [`ReceiverOutput::Closed`] or [`ReceiverOutput::Aborted`].
///
/// As the protocol says, the ACK is queued before the payload is handed out for writing.
#[derive(Debug)]
pub struct Receiver {
    cfg: ReceiverConfig,
    rng: Rng,
    phase: Phase,
    peer: Option<SocketAddr>,
    /// Binary: next segment number expected.
    next_seq: u64,
    /// Text: next byte offset expected.
    next_offset: u64,
    /// Text: the segment size, learnt from the first segment, to number trace events.
    seg_size: Option<u64>,
    last_heard: Instant,
    replies: VecDeque<(Packet<'static>, Option<u32>)>,
    outputs: VecDeque<ReceiverOutput>,
    events: crate::trace::EventQueue,
    next_tx: u64,
    finished: bool,
    stats: ReceiverStats,
    /// Selective repeat: how far ahead of `next_seq` segments are buffered (0: classic).
    reorder: u64,
    buffered: std::collections::BTreeMap<u64, Vec<u8>>,
    /// Payload buffers handed back by the driver ([`Receiver::recycle`]), reused for new
    /// segments so a steady transfer allocates nothing per segment.
    spare: Vec<Vec<u8>>,
}

impl Receiver {
    /// A receiver waiting for its first datagram.
    pub fn new(cfg: ReceiverConfig) -> Result<Self, Error> {
        if !(0.0..1.0).contains(&cfg.loss) {
            return Err(Error::BadProbability(cfg.loss));
        }
        if cfg.reorder_window > crate::window::MAX_WINDOW {
            return Err(Error::BadParameter(format!(
                "reorder window must be at most {}, got {}",
                crate::window::MAX_WINDOW,
                cfg.reorder_window
            )));
        }
        // Text is the original scripts' stop-and-wait dialect: no reordering there.
        let reorder =
            if cfg.dialect == Dialect::Binary { u64::from(cfg.reorder_window.saturating_sub(1)) } else { 0 };
        Ok(Receiver {
            reorder,
            rng: Rng::new(cfg.seed),
            next_tx: TxId::base_for(Node::Server(cfg.index)),
            cfg,
            phase: Phase::Idle,
            peer: None,
            next_seq: 0,
            next_offset: 0,
            seg_size: None,
            last_heard: Instant::ZERO,
            replies: VecDeque::new(),
            outputs: VecDeque::new(),
            events: crate::trace::EventQueue::new(),
            finished: false,
            stats: ReceiverStats::default(),
            buffered: Default::default(),
            spare: Vec::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ReceiverConfig {
        &self.cfg
    }

    /// Counters so far.
    pub fn stats(&self) -> ReceiverStats {
        self.stats
    }

    /// The sender being served, once one has started.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Segments held out of order behind a gap (selective repeat): never more than
    /// `reorder_window - 1`, and none with the classic receiver. Bounds the receiver's memory.
    pub fn buffered_segments(&self) -> usize {
        self.buffered.len()
    }

    /// Whether the end of file has arrived (the output is complete).
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Whether the receiver has stopped (lingered after finishing, or aborted).
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Processes one datagram from `from`. `tx` is the id of the transmission that carried it,
    /// when the driver knows it (the simulator does; a real network does not).
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8], tx: Option<TxId>) {
        if self.phase == Phase::Closed {
            return;
        }
        self.stats.datagrams += 1;
        // The loss service comes before anything else, as in the original assignment.
        if self.rng.next_f64() < self.cfg.loss {
            self.stats.lost += 1;
            let field = self.cfg.dialect.sequence_field(data);
            let seq = field.and_then(|f| self.segment_of_field(f, data.len()));
            self.event(now, EventKind::LossDrop { field }, seq, tx);
            return;
        }
        if self.peer.is_some_and(|p| p != from) {
            self.stats.foreign += 1;
            self.event(now, EventKind::Reject { reason: RejectReason::Foreign }, None, tx);
            return;
        }
        let packet = match self.cfg.dialect.parse(data) {
            Ok(p) => p,
            Err(e) => {
                let reason = if e.is_checksum() {
                    self.stats.bad_checksum += 1;
                    RejectReason::Checksum
                } else {
                    self.stats.malformed += 1;
                    RejectReason::Malformed
                };
                let seq =
                    self.cfg.dialect.sequence_field(data).and_then(|f| self.segment_of_field(f, data.len()));
                self.event(now, EventKind::Reject { reason }, seq, tx);
                return;
            }
        };
        if matches!(packet, Packet::Ack { .. }) {
            self.stats.unexpected += 1;
            self.event(now, EventKind::Reject { reason: RejectReason::Unexpected }, None, tx);
            return;
        }
        if self.seg_size.is_none() {
            if let Packet::Data { seq: 0, payload } = packet {
                self.seg_size = Some(payload.len() as u64);
            }
        }
        let seg = self.segment_of(&packet);
        self.event(now, EventKind::Arrive { packet: packet.kind(), bytes: data.len() as u32 }, seg, tx);
        if self.phase == Phase::Idle {
            // Only the start of a file opens a transfer: a stray or forged segment from the
            // middle of one must not make this receiver ignore the real sender. A buffering
            // receiver takes the start as its first window: with segment 0 lost, it holds and
            // acknowledges what follows, and the sender resends 0 a round trip later instead
            // of after its initial timeout (1 s by default), which stalls every receiver.
            let opens = match packet {
                Packet::Data { seq, .. } => u64::from(seq) <= self.reorder,
                Packet::Fin { .. } => true,
                Packet::Ack { .. } => false,
            };
            if !opens {
                self.stats.unexpected += 1;
                self.event(now, EventKind::Reject { reason: RejectReason::Unexpected }, seg, tx);
                return;
            }
            self.phase = Phase::Receiving;
            self.peer = Some(from);
            self.outputs.push_back(ReceiverOutput::Started { peer: from });
        }
        self.last_heard = now;
        match (self.cfg.dialect, packet) {
            (Dialect::Binary, Packet::Data { seq, payload }) => {
                let k = u64::from(seq);
                let receiving = self.phase == Phase::Receiving;
                if k == self.next_seq && receiving {
                    self.reply(Packet::Ack { seq }, Some(seq));
                    self.accept(now, seq, payload, tx);
                    self.next_seq += 1;
                    // Selective repeat: what was buffered behind the gap follows it out.
                    while let Some(data) = self.buffered.remove(&self.next_seq) {
                        self.accept_owned(now, self.next_seq as u32, data, None);
                        self.next_seq += 1;
                    }
                } else if self.reorder > 0
                    && receiving
                    && k > self.next_seq
                    && k <= self.next_seq + self.reorder
                {
                    self.reply(Packet::Ack { seq }, Some(seq));
                    match self.buffered.entry(k) {
                        std::collections::btree_map::Entry::Occupied(_) => {
                            self.not_in_sequence(now, true, Some(seq), tx)
                        }
                        std::collections::btree_map::Entry::Vacant(v) => {
                            let mut data = self.spare.pop().unwrap_or_default();
                            data.clear();
                            data.extend_from_slice(payload);
                            v.insert(data);
                        }
                    }
                } else if self.reorder > 0 && k < self.next_seq {
                    self.not_in_sequence(now, true, Some(seq), tx);
                    self.reply(Packet::Ack { seq }, Some(seq));
                } else {
                    self.not_in_sequence(now, k < self.next_seq, Some(seq), tx);
                    if let Some(last) = self.last_in_order() {
                        self.reply(Packet::Ack { seq: last }, Some(last));
                    }
                }
            }
            (Dialect::Text, Packet::Data { seq: offset, payload }) => {
                let off = u64::from(offset);
                if off == self.next_offset && self.phase == Phase::Receiving {
                    self.reply(Packet::Ack { seq: offset }, seg);
                    let s = seg.unwrap_or(0);
                    self.accept(now, s, payload, tx);
                    self.next_offset += payload.len() as u64;
                } else if off < self.next_offset {
                    self.not_in_sequence(now, true, seg, tx);
                    self.reply(Packet::Ack { seq: offset }, seg);
                } else {
                    // Ahead of what we have: acknowledging it would lose the gap.
                    self.not_in_sequence(now, false, seg, tx);
                }
            }
            (Dialect::Binary, Packet::Fin { .. }) if !self.buffered.is_empty() => {
                // Segments held beyond a gap: the end of file cannot have come yet (a sender
                // that misread our individual ACKs as cumulative, or took an ACK changed in
                // transit for one of the missing). Not finishing keeps a short file from
                // looking complete; the ACK of our last in-order segment (as for DATA beyond
                // our window) tells a windowed sender what we lack, so it can resend it. A
                // stop-and-wait sender never gets here: it never sends ahead.
                self.stats.unexpected += 1;
                self.event(now, EventKind::Reject { reason: RejectReason::Unexpected }, seg, tx);
                if let Some(last) = self.last_in_order() {
                    self.reply(Packet::Ack { seq: last }, Some(last));
                }
            }
            (Dialect::Binary, Packet::Fin { seq }) => {
                self.reply(Packet::Fin { seq }, seg);
                self.finish(now, seg);
            }
            (Dialect::Text, Packet::Fin { seq: offset }) => {
                if u64::from(offset) == self.next_offset {
                    self.reply(Packet::Ack { seq: offset }, seg);
                    self.finish(now, seg);
                } else {
                    // An EOF at the wrong offset would make a short file look complete.
                    self.stats.unexpected += 1;
                    self.event(now, EventKind::Reject { reason: RejectReason::Unexpected }, seg, tx);
                }
            }
            (_, Packet::Ack { .. }) => {}
        }
    }

    /// The number to acknowledge as the last in-order segment (binary dialect): the one before
    /// `next_seq`, or, for a buffering receiver that opened on a later segment and still
    /// lacks segment 0, [`NOTHING_IN_ORDER`]. `None`: nothing to say (a classic receiver
    /// always has segment 0 once it is receiving).
    fn last_in_order(&self) -> Option<u32> {
        match self.next_seq.checked_sub(1) {
            // Fits: it came off the wire.
            Some(last) => Some(last as u32),
            None => (self.reorder > 0).then_some(NOTHING_IN_ORDER),
        }
    }

    fn accept(&mut self, now: Instant, seq: u32, payload: &[u8], tx: Option<TxId>) {
        let data = self.copy_of(payload);
        self.accept_owned(now, seq, data, tx);
    }

    fn accept_owned(&mut self, now: Instant, seq: u32, data: Vec<u8>, tx: Option<TxId>) {
        self.stats.segments += 1;
        self.stats.bytes += data.len() as u64;
        self.event(now, EventKind::Deliver { bytes: data.len() as u32 }, Some(seq), tx);
        self.outputs.push_back(ReceiverOutput::Data(data));
    }

    fn copy_of(&mut self, payload: &[u8]) -> Vec<u8> {
        let mut data = self.spare.pop().unwrap_or_default();
        data.clear();
        data.extend_from_slice(payload);
        data
    }

    /// Hands back the buffer of a [`ReceiverOutput::Data`] once it is written, so the next
    /// segment reuses it instead of allocating. Optional; at most [`MAX_SPARE`] are kept.
    pub fn recycle(&mut self, buffer: Vec<u8>) {
        if self.spare.len() < MAX_SPARE {
            self.spare.push(buffer);
        }
    }

    fn not_in_sequence(&mut self, now: Instant, duplicate: bool, seq: Option<u32>, tx: Option<TxId>) {
        if duplicate {
            self.stats.duplicates += 1;
            self.event(now, EventKind::Duplicate, seq, tx);
        } else {
            self.stats.unexpected += 1;
            self.event(now, EventKind::Reject { reason: RejectReason::Unexpected }, seq, tx);
        }
    }

    fn finish(&mut self, now: Instant, seg: Option<u32>) {
        // A retransmitted FIN while lingering restarts the linger: the sender is still asking.
        self.phase = Phase::Finished { until: now + self.cfg.linger };
        if !self.finished {
            self.finished = true;
            self.event(now, EventKind::ReceiverFinished { bytes: self.stats.bytes }, seg, None);
            self.outputs.push_back(ReceiverOutput::Finished {
                bytes: self.stats.bytes,
                segments: self.stats.segments,
            });
        }
    }

    fn reply(&mut self, p: Packet<'static>, seq: Option<u32>) {
        self.replies.push_back((p, seq));
    }

    /// Processes timer expiry (idle timeout, end of linger). Early calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.phase {
            Phase::Receiving if self.cfg.idle_timeout.is_some_and(|idle| now >= self.last_heard + idle) => {
                self.phase = Phase::Closed;
                self.replies.clear();
                self.event(now, EventKind::ReceiverAborted, None, None);
                self.outputs.push_back(ReceiverOutput::Aborted { bytes: self.stats.bytes });
            }
            Phase::Finished { until } if now >= until => {
                self.phase = Phase::Closed;
                self.outputs.push_back(ReceiverOutput::Closed);
            }
            _ => {}
        }
    }

    /// When [`Receiver::handle_timeout`] should next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::Receiving => self.cfg.idle_timeout.map(|idle| self.last_heard + idle),
            Phase::Finished { until } => Some(until),
            Phase::Idle | Phase::Closed => None,
        }
    }

    /// Writes the next reply into `buf` (replacing its contents) and says where it goes.
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        let destination = self.peer?;
        let (packet, seq) = self.replies.pop_front()?;
        buf.clear();
        // Replies are ACKs and FINs, which always encode.
        self.cfg.dialect.emit(&packet, buf).ok()?;
        let tx = TxId(self.next_tx);
        self.next_tx += 1;
        let kind = match packet {
            Packet::Fin { .. } => PacketKind::Fin,
            _ => PacketKind::Ack,
        };
        self.event(now, EventKind::sent(kind, buf, self.cfg.dialect, false, false), seq, Some(tx));
        Some(Transmit { destination, receiver: self.cfg.index, size: buf.len(), tx, seq, multicast: false })
    }

    /// The next output for the driver (hand `Data` buffers back with [`Receiver::recycle`]).
    #[must_use]
    pub fn poll_output(&mut self) -> Option<ReceiverOutput> {
        self.outputs.pop_front()
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

    fn event(&mut self, t: Instant, kind: EventKind, seq: Option<u32>, tx: Option<TxId>) {
        let mut ev = TraceEvent::new(t, Node::Server(self.cfg.index), kind).rx(self.cfg.index).tx(tx);
        ev.seq = seq;
        self.events.push_back(ev);
    }

    /// Segment number of a parsed packet, for the trace.
    fn segment_of(&self, p: &Packet<'_>) -> Option<u32> {
        match (self.cfg.dialect, *p) {
            (Dialect::Binary, Packet::Data { seq, .. } | Packet::Ack { seq }) => Some(seq),
            (Dialect::Binary, Packet::Fin { .. }) => u32::try_from(self.next_seq).ok(),
            (Dialect::Text, Packet::Data { seq, .. } | Packet::Ack { seq } | Packet::Fin { seq }) => {
                self.segment_of_offset(u64::from(seq))
            }
        }
    }

    /// Segment number from a raw sequence field (loss service, rejects).
    fn segment_of_field(&self, field: u32, len: usize) -> Option<u32> {
        match self.cfg.dialect {
            // A binary FIN's field is 0 but it is not segment 0: it is numbered as an arriving
            // FIN is (the segment count, which is the next segment once every DATA is in), so
            // that a viewer pairs a FIN the loss service dropped with its send.
            Dialect::Binary if len == 8 => u32::try_from(self.next_seq).ok(),
            Dialect::Binary => Some(field),
            Dialect::Text => self.segment_of_offset(u64::from(field)),
        }
    }

    fn segment_of_offset(&self, offset: u64) -> Option<u32> {
        if offset == 0 {
            return Some(0);
        }
        if offset == self.next_offset && self.finished {
            return u32::try_from(self.stats.segments).ok();
        }
        self.seg_size.and_then(|s| u32::try_from(offset / s).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(last: u8) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, last], 4000))
    }

    #[test]
    fn only_the_start_of_a_file_opens_a_transfer() {
        let mut r = Receiver::new(ReceiverConfig::default()).unwrap();
        let mut buf = Vec::new();
        let mut forged = Vec::new();
        Dialect::Binary.emit(&Packet::Data { seq: 5, payload: b"mid" }, &mut forged).unwrap();
        r.handle_datagram(Instant::ZERO, addr(9), &forged, None);
        assert_eq!(r.peer(), None);
        assert_eq!(r.stats().unexpected, 1);
        assert!(r.poll_transmit(Instant::ZERO, &mut buf).is_none(), "nothing to acknowledge yet");
        let mut first = Vec::new();
        Dialect::Binary.emit(&Packet::Data { seq: 0, payload: b"start" }, &mut first).unwrap();
        r.handle_datagram(Instant::ZERO, addr(2), &first, None);
        assert_eq!(r.peer(), Some(addr(2)));
        // Now the forger is foreign.
        r.handle_datagram(Instant::ZERO, addr(9), &first, None);
        assert_eq!(r.stats().foreign, 1);
        assert_eq!(r.stats().segments, 1);
    }

    #[test]
    fn recycled_buffers_carry_the_next_segments() {
        let mut r = Receiver::new(ReceiverConfig::default()).unwrap();
        let mut d = Vec::new();
        let mut next_data = |r: &mut Receiver, seq: u32, payload: &[u8]| {
            d.clear();
            Dialect::Binary.emit(&Packet::Data { seq, payload }, &mut d).unwrap();
            r.handle_datagram(Instant::ZERO, addr(2), &d, None);
            loop {
                match r.poll_output() {
                    Some(ReceiverOutput::Data(v)) => return v,
                    Some(_) => continue,
                    None => panic!("no data"),
                }
            }
        };
        let first = next_data(&mut r, 0, b"abc");
        assert_eq!(first, b"abc");
        let marker = Vec::with_capacity(4096);
        r.recycle(marker);
        let second = next_data(&mut r, 1, b"de");
        // The recycled buffer (by its capacity), holding exactly the new payload.
        assert_eq!(second, b"de");
        assert!(second.capacity() >= 4096);
    }

    #[test]
    fn a_fin_behind_a_gap_is_answered_with_the_last_in_order_ack() {
        let cfg = ReceiverConfig { reorder_window: 8, ..ReceiverConfig::default() };
        let mut r = Receiver::new(cfg).unwrap();
        let mut buf = Vec::new();
        for seq in [0u32, 2] {
            let mut d = Vec::new();
            Dialect::Binary.emit(&Packet::Data { seq, payload: b"x" }, &mut d).unwrap();
            r.handle_datagram(Instant::ZERO, addr(2), &d, None);
        }
        while r.poll_transmit(Instant::ZERO, &mut buf).is_some() {}
        let mut fin = Vec::new();
        Dialect::Binary.emit(&Packet::Fin { seq: 0 }, &mut fin).unwrap();
        r.handle_datagram(Instant::ZERO, addr(2), &fin, None);
        assert!(!r.is_finished(), "segment 1 is missing");
        // Not echoed: answered with the ACK of segment 0, the last one in order.
        assert!(r.poll_transmit(Instant::ZERO, &mut buf).is_some());
        assert_eq!(Dialect::Binary.parse(&buf), Ok(Packet::Ack { seq: 0 }));
        assert!(r.poll_transmit(Instant::ZERO, &mut buf).is_none());
    }

    #[test]
    fn a_buffering_receiver_opens_on_a_segment_within_its_first_window_only() {
        let data = |seq: u32| {
            let mut d = Vec::new();
            Dialect::Binary.emit(&Packet::Data { seq, payload: b"x" }, &mut d).unwrap();
            d
        };
        let mut buf = Vec::new();
        // A stray from the middle of a file opens nothing, buffering or not.
        for window in [0, 8] {
            let mut r = Receiver::new(ReceiverConfig { reorder_window: window, ..ReceiverConfig::default() })
                .unwrap();
            r.handle_datagram(Instant::ZERO, addr(2), &data(8), None);
            assert_eq!(r.peer(), None, "window {window}");
            assert!(r.poll_transmit(Instant::ZERO, &mut buf).is_none(), "window {window}");
        }
        // Segment 0 lost: a classic receiver ignores segment 3; a buffering one holds it,
        // acknowledges it, and delivers it after segments 0..=2.
        let mut classic = Receiver::new(ReceiverConfig::default()).unwrap();
        classic.handle_datagram(Instant::ZERO, addr(2), &data(3), None);
        assert_eq!(classic.peer(), None);
        let mut r = Receiver::new(ReceiverConfig { reorder_window: 8, ..ReceiverConfig::default() }).unwrap();
        r.handle_datagram(Instant::ZERO, addr(2), &data(3), None);
        assert_eq!(r.peer(), Some(addr(2)));
        assert!(r.poll_transmit(Instant::ZERO, &mut buf).is_some());
        assert_eq!(Dialect::Binary.parse(&buf), Ok(Packet::Ack { seq: 3 }));
        // Someone else's segment 0 is now foreign: the session belongs to the first sender.
        r.handle_datagram(Instant::ZERO, addr(3), &data(0), None);
        assert!(r.poll_transmit(Instant::ZERO, &mut buf).is_none());
        for seq in 0..3 {
            r.handle_datagram(Instant::ZERO, addr(2), &data(seq), None);
        }
        let mut delivered = 0;
        while let Some(out) = r.poll_output() {
            if let ReceiverOutput::Data(_) = out {
                delivered += 1;
            }
        }
        assert_eq!(delivered, 4);
        assert_eq!(r.stats().segments, 4);
    }

    #[test]
    fn a_buffering_receiver_that_lacks_segment_0_says_so_and_takes_it_late() {
        // A server restarted while the client is still in its first window: the client already
        // counts 0..3 as delivered and goes on from 3.
        let data = |seq: u32| {
            let mut d = Vec::new();
            Dialect::Binary.emit(&Packet::Data { seq, payload: b"x" }, &mut d).unwrap();
            d
        };
        let cfg = ReceiverConfig { reorder_window: 8, ..ReceiverConfig::default() };
        let mut r = Receiver::new(cfg).unwrap();
        let mut buf = Vec::new();
        let mut acks = Vec::new();
        let mut send = |r: &mut Receiver, d: &[u8], acks: &mut Vec<u32>| {
            r.handle_datagram(Instant::ZERO, addr(2), d, None);
            while r.poll_transmit(Instant::ZERO, &mut buf).is_some() {
                if let Ok(Packet::Ack { seq }) = Dialect::Binary.parse(&buf) {
                    acks.push(seq);
                }
            }
        };
        for seq in 3..12 {
            send(&mut r, &data(seq), &mut acks);
        }
        // What it holds (3..=7) is acknowledged one by one; past its window it has no last
        // in-order segment to name, and says so.
        let mut expected: Vec<u32> = (3..=7).collect();
        expected.extend([NOTHING_IN_ORDER; 4]);
        assert_eq!(acks, expected);
        acks.clear();
        let mut fin = Vec::new();
        Dialect::Binary.emit(&Packet::Fin { seq: 12 }, &mut fin).unwrap();
        send(&mut r, &fin, &mut acks);
        assert!(!r.is_finished(), "segments 0..3 never came");
        assert_eq!(acks, [NOTHING_IN_ORDER]);
        // The sender goes back to 0: everything held follows it out, in order.
        acks.clear();
        for seq in 0..12 {
            send(&mut r, &data(seq), &mut acks);
        }
        let delivered =
            std::iter::from_fn(|| r.poll_output()).filter(|o| matches!(o, ReceiverOutput::Data(_))).count();
        assert_eq!(delivered, 12);
        send(&mut r, &fin, &mut acks);
        assert!(r.is_finished());
    }
}
