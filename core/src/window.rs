//! Windowed ARQ beside stop-and-wait: go-back-n and selective repeat to n receivers, on the
//! same header format, checksum, timers and trace events.
//!
//! Receivers: go-back-n needs nothing new (the classic receiver already discards out-of-order
//! DATA and acknowledges cumulatively). Selective repeat needs receivers that buffer out-of-order
//! segments and acknowledge each ([`crate::Receiver::with_reorder_window`]); against a classic
//! receiver it still completes, retransmitting what the receiver discarded.

use crate::congestion::Controller;
use crate::error::Error;
use crate::rto::RttEstimator;
use crate::sender::{
    multicast_retransmit, Ignored, Outcome, ReadRequest, ReceiverReport, SenderConfig, Transmit,
};
use crate::time::Instant;
use crate::trace::{EventKind, Node, RejectReason, TraceEvent, TransferTotals, TxId};
use crate::wire::{Packet, NOTHING_IN_ORDER};
use core::time::Duration;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::net::SocketAddr;

/// Which ARQ scheme the sender runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Mode {
    /// One segment at a time (the classic protocol).
    #[default]
    StopAndWait,
    /// Up to `window` segments outstanding; cumulative ACKs; a timeout resends everything
    /// outstanding to that receiver.
    GoBackN {
        /// Segments outstanding at most.
        window: u32,
    },
    /// Up to `window` segments outstanding; each acknowledged and retransmitted on its own.
    SelectiveRepeat {
        /// Segments outstanding at most.
        window: u32,
    },
}

impl Mode {
    /// The window (1 for stop-and-wait).
    pub fn window(self) -> u32 {
        match self {
            Mode::StopAndWait => 1,
            Mode::GoBackN { window } | Mode::SelectiveRepeat { window } => window,
        }
    }
}

#[derive(Debug)]
struct Slot {
    /// Acknowledged (selective repeat) by this receiver.
    acked: bool,
    sent_at: Option<Instant>,
    deadline: Option<Instant>,
    retransmitted: bool,
    /// Selective repeat: ACKs of later segments seen while this one is outstanding.
    later_acks: u8,
    /// Position of its latest transmission among all sent to this receiver: only ACKs of
    /// segments sent after it say it was lost (a lost retransmission is then caught the same
    /// way, a round trip later, instead of by the timer).
    order: u64,
    /// When it was acknowledged (selective repeat), to take the credit back exactly.
    acked_at: Option<Instant>,
}

impl Slot {
    /// A segment not sent (yet, or again: one taken back into the window), `acked` or not.
    fn unsent(acked: bool) -> Self {
        Slot {
            acked,
            sent_at: None,
            deadline: None,
            retransmitted: false,
            later_acks: 0,
            order: 0,
            acked_at: None,
        }
    }
}

/// Selective repeat resends a segment without waiting for its timer once this many later
/// segments have been acknowledged, go-back-n its window once the cumulative ACK has been
/// repeated this many times (fast retransmit, as TCP's duplicate-ACK threshold): losses then
/// cost about a round trip instead of a timeout.
const FAST_RETRANSMIT_AFTER: u8 = 3;

#[derive(Debug)]
struct Peer {
    addr: SocketAddr,
    est: RttEstimator,
    outcome: Outcome,
    /// Go-back-n: segments below this are acknowledged (cumulative).
    cum: u64,
    /// Selective repeat: per-segment state for `base..next`.
    slots: VecDeque<Slot>,
    /// Go-back-n timer (oldest outstanding); FIN timer in both modes.
    deadline: Option<Instant>,
    gbn_sent_at: Option<(u64, Instant)>,
    gbn_retransmitted_below: u64,
    fin_pending: bool,
    fin_sent_at: Option<Instant>,
    consecutive_timeouts: u32,
    timeouts: u64,
    retransmissions: u64,
    acked: u64,
    /// Transmissions to this receiver so far (orders [`Slot::order`]).
    sends: u64,
    /// Go-back-n: repeats of the latest cumulative ACK since it advanced.
    dup_acks: u8,
    /// Segments sent (or about to be) that this receiver has not acknowledged: what the
    /// congestion window bounds (acknowledged segments beyond a hole are not in flight).
    unacked: u64,
    /// The segment the latest contradicting ACK says this receiver lacks (`j + 1` for an ACK
    /// of `j` while `j + 1` counts as acknowledged; 0 for [`NOTHING_IN_ORDER`]), and how many
    /// times it came.
    stale: Option<(u64, u8)>,
    /// Selective repeat: the latest transmission ([`Slot::order`]) acknowledged so far.
    max_order_acked: Option<u64>,
    /// Something in the last window's worth of segments could hide a changed ACK of the last
    /// segment (see [`WindowSender::probe_doubtful`]).
    doubt: bool,
    /// The last segment was resent to it once to confirm its ACK.
    probed: bool,
    /// Go-back-n: the cumulative point before its latest advance, and when that was.
    last_advance: Option<(u64, Instant)>,
    /// Selective repeat: the oldest unacknowledged segment, already resent, and how many
    /// repeated ACKs of later segments have answered it (see [`WindowSender::on_repeat`]).
    repeats: Option<(u64, u8)>,
    /// Selective repeat: `(segment, order)` of each transmission, in send order, while it may
    /// still be counted by later ACKs; stale entries go when a scan meets them. An ACK then
    /// visits what was sent before it and is still outstanding, not the whole window.
    sent: VecDeque<(u64, u64)>,
}

impl Peer {
    /// Stamps a transmission of `k` on its slot (`base` is the window's first segment): its
    /// timer, and its place in the send order, so that only ACKs of what goes out after this
    /// copy may call it lost (again). `selective`: also listed for those ACKs to count.
    fn stamp_send(
        &mut self,
        k: u64,
        base: u64,
        now: Instant,
        deadline: Instant,
        retx: bool,
        selective: bool,
    ) {
        let order = self.sends;
        self.sends += 1;
        let slot = &mut self.slots[(k - base) as usize];
        slot.sent_at = Some(now);
        slot.deadline = Some(deadline);
        slot.retransmitted |= retx;
        slot.later_acks = 0;
        slot.order = order;
        if selective {
            self.note_sent(k, order, base);
        }
    }

    /// Records a selective-repeat transmission of `k` (`base` is the window's first segment).
    fn note_sent(&mut self, k: u64, order: u64, base: u64) {
        self.sent.push_back((k, order));
        // A receiver that acknowledges nothing sent after a hole leaves entries no scan
        // reaches: keep them to what can still be counted.
        if self.sent.len() > 2 * self.slots.len() + 64 {
            let slots = &self.slots;
            self.sent.retain(|&(k, order)| countable(slots, base, k, order));
        }
    }

    /// Counts an ACK of a segment whose latest transmission was `order`, `k` being that
    /// segment, against every segment below `k` sent before it and still outstanding; those
    /// that reach [`FAST_RETRANSMIT_AFTER`] are marked resent and pushed to `fast`.
    fn count_later_ack(&mut self, base: u64, k: u64, order: u64, fast: &mut Vec<u64>) {
        let mut kept = 0;
        let mut read = 0;
        while let Some(&(j, o)) = self.sent.get(read) {
            if o >= order {
                break;
            }
            read += 1;
            if !countable(&self.slots, base, j, o) {
                continue;
            }
            if j < k {
                if let Some(s) = self.slots.get_mut((j - base) as usize) {
                    s.later_acks += 1;
                    if s.later_acks == FAST_RETRANSMIT_AFTER {
                        s.retransmitted = true;
                        s.deadline = None;
                        fast.push(j);
                        continue;
                    }
                }
            }
            self.sent[kept] = (j, o);
            kept += 1;
        }
        self.sent.drain(kept..read);
    }
}

/// Whether segment `k`'s transmission `order` is still outstanding and may be counted by a
/// later ACK: its latest copy, sent, not acknowledged, not already being resent.
fn countable(slots: &VecDeque<Slot>, base: u64, k: u64, order: u64) -> bool {
    k.checked_sub(base).and_then(|j| slots.get(j as usize)).is_some_and(|s| {
        s.order == order && !s.acked && s.sent_at.is_some() && s.later_acks < FAST_RETRANSMIT_AFTER
    })
}

/// Go-back-n or selective-repeat sender to n receivers. Same driver contract as
/// [`crate::Sender`]: `poll_read`/`supply`, `poll_transmit`, `poll_event`, `poll_timeout`, then
/// `handle_datagram`/`handle_timeout`. Binary dialect only (the text dialect is the
/// compatibility mode of the original scripts, which are stop-and-wait).
#[derive(Debug)]
pub struct WindowSender {
    cfg: SenderConfig,
    mode: Mode,
    /// The protocol's window: how far past the oldest unfinished segment the sender may go
    /// (the selective-repeat receivers' buffer).
    max_window: u64,
    /// Pacing: bits per second, 0 = unpaced.
    rate_bps: u64,
    next_send_at: Instant,
    /// Congestion window and pacing of new segments.
    cc: Controller,
    /// Segments below this have had their first copy sent (released by the pacer).
    released: u64,
    peers: Vec<Peer>,
    file_len: u64,
    segments: u64,
    /// Lowest segment not acknowledged by every live receiver. Moves back when a receiver's
    /// ACKs prove an earlier one false ([`WindowSender::roll_back`]).
    base: u64,
    /// Payloads kept below `base` (at most the window): what a receiver may turn out to lack
    /// after an ACK changed in transit let `base` pass it.
    kept: u64,
    /// Segments below this have had their `SegmentComplete` event (once each, even when
    /// `base` moves back and passes them again).
    completed: u64,
    /// Next segment to send for the first time.
    next: u64,
    buffers: VecDeque<Vec<u8>>,
    /// Payload buffers of finished segments, reused for new ones: no allocation per segment
    /// once the window is full.
    spare: Vec<Vec<u8>>,
    queue: VecDeque<(u16, u64, bool)>,
    fin: bool,
    done: bool,
    events: crate::trace::EventQueue,
    next_tx: u64,
    first_send: Option<Instant>,
    end: Option<Instant>,
    totals: TransferTotals,
    ignored: Ignored,
    /// Receivers and ids of the last datagram sent to the multicast group.
    group_targets: Vec<(u16, TxId)>,
}

/// What [`WindowSender::transmit_group`] did.
enum GroupStep {
    /// Wrote a datagram for the group.
    Sent(Transmit),
    /// Nothing to send for this queue entry: go on with the next.
    Skip,
    /// The pacer holds new segments back: nothing more now.
    Hold,
}

/// Receiver marker in the transmit queue: one datagram to the multicast group, meant for every
/// live receiver that still wants the segment when it goes out. (Receiver indices stop below it.)
const GROUP: u16 = u16::MAX;

/// Largest window accepted (the selective-repeat receiver buffers up to this many segments).
pub const MAX_WINDOW: u32 = 1 << 16;

/// Pacing credit of the `rate_bps` cap after a late wake-up, microseconds.
const RATE_BURST_MICROS: u64 = 2_000;

/// Sentinel segment number of the FIN in the transmit queue.
const FIN: u64 = u64::MAX;

impl WindowSender {
    /// Starts a transfer in `cfg.mode`, paced at `cfg.rate_bps` (0: no cap).
    pub fn new(
        cfg: SenderConfig,
        receivers: &[SocketAddr],
        file_len: u64,
        now: Instant,
    ) -> Result<Self, Error> {
        let segments = cfg.validate(file_len)?;
        let (mode, rate_bps) = (cfg.mode, cfg.rate_bps);
        if mode == Mode::StopAndWait {
            return Err(Error::BadParameter("stop-and-wait runs on Sender (use AnySender)".into()));
        }
        let window = u64::from(mode.window());
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
                cum: 0,
                slots: VecDeque::new(),
                deadline: None,
                gbn_sent_at: None,
                gbn_retransmitted_below: 0,
                fin_pending: false,
                fin_sent_at: None,
                consecutive_timeouts: 0,
                timeouts: 0,
                retransmissions: 0,
                acked: 0,
                sends: 0,
                dup_acks: 0,
                unacked: 0,
                stale: None,
                max_order_acked: None,
                doubt: false,
                probed: false,
                last_advance: None,
                repeats: None,
                sent: VecDeque::new(),
            })
            .collect();
        let cc = Controller::new(cfg.congestion, window, receivers.len(), now);
        let mut s = WindowSender {
            mode,
            max_window: window,
            rate_bps,
            next_send_at: now,
            cc,
            released: 0,
            peers,
            file_len,
            segments,
            base: 0,
            kept: 0,
            completed: 0,
            next: 0,
            buffers: VecDeque::new(),
            spare: Vec::new(),
            queue: VecDeque::new(),
            fin: false,
            done: false,
            events: crate::trace::EventQueue::new(),
            next_tx: TxId::base_for(Node::Client),
            first_send: None,
            end: None,
            totals: TransferTotals { bytes: file_len, segments, ..Default::default() },
            ignored: Ignored::default(),
            group_targets: Vec::new(),
            cfg,
        };
        s.push(
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

    /// Segments in flight to the receiver with the most outstanding (live receivers only).
    fn in_flight(&self) -> u64 {
        self.peers.iter().filter(|p| p.outcome == Outcome::Active).map(|p| p.unacked).max().unwrap_or(0)
    }

    /// The congestion controller's current window, rate and phase.
    pub fn congestion(&self) -> crate::congestion::CongestionState {
        self.cc.state()
    }

    /// The scheme in use.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// DATA segments in the file.
    pub fn segments(&self) -> u64 {
        self.segments
    }

    /// Segments acknowledged by every live receiver. May go down: when a receiver's later ACKs
    /// show that an acknowledgement of it was changed in transit, the sender takes it back.
    pub fn segments_done(&self) -> u64 {
        self.base
    }

    /// Whether every receiver finished or failed.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// First send to end, once done.
    pub fn delay(&self) -> Option<Duration> {
        Some(self.end? - self.first_send?)
    }

    /// Totals so far.
    pub fn totals(&self) -> &TransferTotals {
        &self.totals
    }

    /// Datagrams ignored so far.
    pub fn ignored(&self) -> Ignored {
        self.ignored
    }

    /// Per-receiver counters.
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

    /// The next payload wanted, while the window has room.
    #[must_use]
    pub fn poll_read(&self) -> Option<ReadRequest> {
        if self.fin || self.next >= self.segments || self.next >= self.base + self.max_window {
            return None;
        }
        if self.in_flight() >= self.cc.window() {
            return None;
        }
        let offset = self.next * self.cfg.mss as u64;
        let len = (self.file_len - offset).min(self.cfg.mss as u64) as usize;
        Some(ReadRequest { seq: self.next as u32, offset, len })
    }

    /// Hands over the bytes asked for by [`WindowSender::poll_read`].
    pub fn supply(&mut self, seq: u32, data: &[u8]) -> Result<(), Error> {
        match self.poll_read() {
            Some(r) if r.seq == seq && r.len == data.len() => {}
            r => {
                return Err(Error::UnexpectedSegment {
                    got: seq,
                    len: data.len(),
                    want: r.map_or(self.next as u32, |r| r.seq),
                    want_len: r.map_or(0, |r| r.len),
                })
            }
        }
        let mut buffer = self.spare.pop().unwrap_or_default();
        buffer.clear();
        buffer.extend_from_slice(data);
        self.buffers.push_back(buffer);
        let k = self.next;
        self.next += 1;
        if self.next >= self.base + self.max_window {
            // The receivers' window, not the path, limits this round: no rate verdict from it.
            self.cc.on_window_limited();
        }
        let group = self.cfg.multicast.is_some();
        if group {
            self.queue.push_back((GROUP, k, false));
        }
        for (i, p) in self.peers.iter_mut().enumerate() {
            p.slots.push_back(Slot::unsent(false));
            if p.outcome == Outcome::Active {
                p.unacked += 1;
            }
            if p.outcome == Outcome::Active && !group {
                self.queue.push_back((i as u16, k, false));
            }
        }
        Ok(())
    }

    /// Writes the next datagram into `buf`; `None` when nothing is due (or pacing holds it).
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        if self.done || (self.rate_bps > 0 && now < self.next_send_at) {
            return None;
        }
        while let Some((i, k, retx)) = self.pop_queued(now) {
            if i == GROUP {
                match self.transmit_group(now, k, retx, buf) {
                    GroupStep::Sent(t) => return Some(t),
                    GroupStep::Skip => continue,
                    GroupStep::Hold => return None,
                }
            }
            let idx = usize::from(i);
            if !self.still_wanted(idx, k) {
                continue;
            }
            if !retx && k != FIN && k >= self.released {
                // The first copy of a new segment waits for the pacer; copies to the other
                // receivers and retransmissions do not (they are not new load on the path).
                if self.cc.release_at().is_some_and(|t| now < t) {
                    self.queue.push_front((i, k, retx));
                    return None;
                }
                self.cc.on_release(now);
                self.released = k + 1;
            }
            buf.clear();
            let packet = if k == FIN {
                Packet::Fin { seq: 0 }
            } else {
                Packet::Data { seq: k as u32, payload: self.payload(k) }
            };
            if self.cfg.dialect.emit(&packet, buf).is_err() {
                continue;
            }
            let kind = packet.kind();
            let rto = self.peers[idx].est.rto();
            let deadline = now + rto;
            let p = &mut self.peers[idx];
            if k == FIN {
                p.fin_sent_at = Some(now);
                p.deadline = Some(deadline);
            } else {
                match self.mode {
                    Mode::SelectiveRepeat { .. } | Mode::StopAndWait => {
                        let selective = matches!(self.mode, Mode::SelectiveRepeat { .. });
                        p.stamp_send(k, self.base, now, deadline, retx, selective);
                    }
                    Mode::GoBackN { .. } => {
                        if p.deadline.is_none() {
                            p.deadline = Some(deadline);
                        }
                        if !retx {
                            p.gbn_sent_at.get_or_insert((k, now));
                        }
                    }
                }
            }
            if retx {
                p.retransmissions += 1;
                self.totals.retransmissions += 1;
            }
            self.totals.transmissions += 1;
            self.first_send.get_or_insert(now);
            if let Some(micros) = (buf.len() as u64 * 8 * 1_000_000)
                .div_ceil(self.rate_bps.max(1))
                .checked_mul(u64::from(self.rate_bps > 0))
            {
                // A token bucket: a driver that wakes late (1 ms timer ticks) catches up by at
                // most RATE_BURST, instead of sending one datagram per tick.
                let floor = Instant::from_micros(now.total_micros().saturating_sub(RATE_BURST_MICROS));
                self.next_send_at = self.next_send_at.max(floor) + Duration::from_micros(micros);
            }
            let tx = TxId(self.next_tx);
            self.next_tx += 1;
            let seq = self.trace_seq(k);
            self.push(now, EventKind::sent(kind, buf, self.cfg.dialect, retx, false));
            self.tag(i, seq, Some(tx));
            self.push(now, EventKind::TimerArmed { deadline, rto_micros: rto.as_micros() as u64 });
            self.tag(i, seq, None);
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

    /// Writes segment `k` once, addressed to the multicast group, for every live receiver that
    /// still wants it (one `Send` event and timer each, consecutive ids); `None` if none does.
    /// A retransmission left with a single taker goes to it by unicast instead.
    fn transmit_group(&mut self, now: Instant, k: u64, retx: bool, buf: &mut Vec<u8>) -> GroupStep {
        let Some(group) = self.cfg.multicast else { return GroupStep::Skip };
        let targets: Vec<usize> = (0..self.peers.len()).filter(|&i| self.still_wanted(i, k)).collect();
        match targets[..] {
            [] => return GroupStep::Skip,
            [only] if retx => {
                self.queue.push_front((only as u16, k, true));
                return GroupStep::Skip;
            }
            _ => {}
        }
        if !retx && k >= self.released {
            // A new segment waits for the congestion controller's pacer, as unicast copies do.
            if self.cc.release_at().is_some_and(|t| now < t) {
                self.queue.push_front((GROUP, k, retx));
                return GroupStep::Hold;
            }
            self.cc.on_release(now);
            self.released = k + 1;
        }
        buf.clear();
        let packet = Packet::Data { seq: k as u32, payload: self.payload(k) };
        if self.cfg.dialect.emit(&packet, buf).is_err() {
            return GroupStep::Skip;
        }
        let kind = packet.kind();
        let seq = self.trace_seq(k);
        self.group_targets.clear();
        for idx in targets {
            let rto = self.peers[idx].est.rto();
            let deadline = now + rto;
            let p = &mut self.peers[idx];
            match self.mode {
                Mode::GoBackN { .. } => {
                    if p.deadline.is_none() {
                        p.deadline = Some(deadline);
                    }
                    if retx {
                        // Karn's rule, as after a timeout: this receiver may get it twice.
                        p.gbn_retransmitted_below = p.gbn_retransmitted_below.max(k + 1);
                        p.gbn_sent_at = None;
                    } else {
                        p.gbn_sent_at.get_or_insert((k, now));
                    }
                }
                _ => {
                    // Resent to it too (its own timer may not have fired).
                    let selective = matches!(self.mode, Mode::SelectiveRepeat { .. });
                    p.stamp_send(k, self.base, now, deadline, retx, selective);
                }
            }
            if retx {
                p.retransmissions += 1;
            }
            let tx = TxId(self.next_tx);
            self.next_tx += 1;
            self.group_targets.push((idx as u16, tx));
            self.push(now, EventKind::sent(kind, buf, self.cfg.dialect, retx, true));
            self.tag(idx as u16, seq, Some(tx));
            self.push(now, EventKind::TimerArmed { deadline, rto_micros: rto.as_micros() as u64 });
            self.tag(idx as u16, seq, None);
        }
        // One datagram on the wire, whatever the number of receivers it serves.
        if retx {
            self.totals.retransmissions += 1;
        }
        self.totals.transmissions += 1;
        self.first_send.get_or_insert(now);
        if self.rate_bps > 0 {
            // The same token bucket as unicast sends (see `poll_transmit`).
            let micros = (buf.len() as u64 * 8 * 1_000_000).div_ceil(self.rate_bps);
            let floor = Instant::from_micros(now.total_micros().saturating_sub(RATE_BURST_MICROS));
            self.next_send_at = self.next_send_at.max(floor) + Duration::from_micros(micros);
        }
        let Some(&(receiver, tx)) = self.group_targets.first() else { return GroupStep::Skip };
        GroupStep::Sent(Transmit {
            destination: group,
            receiver,
            size: buf.len(),
            tx,
            seq: Some(seq),
            multicast: true,
        })
    }

    /// The receivers and transmission ids the last multicast [`Transmit`] is meant for, in
    /// receiver order (its `receiver` and `tx` are the first pair). Empty before any.
    pub fn multicast_targets(&self) -> &[(u16, TxId)] {
        &self.group_targets
    }

    /// Queues a retransmission of `k` to receiver `idx`: by unicast, or once to the multicast
    /// group when enough live receivers miss it ([`multicast_retransmit`]). A group copy already
    /// queued serves every receiver whose retransmission falls due before it goes out.
    fn queue_retransmit(&mut self, idx: usize, k: u64, now: Instant) {
        if k != FIN && self.cfg.multicast.is_some() {
            if self.queue.contains(&(GROUP, k, true)) {
                return;
            }
            let live = self.peers.iter().filter(|p| p.outcome == Outcome::Active).count();
            let missing =
                (0..self.peers.len()).filter(|&i| i == idx || self.known_missing(i, k, now)).count();
            if multicast_retransmit(missing, live) {
                // The group copy serves the unicast copies of `k` still waiting to go.
                self.queue.retain(|&(i, j, retx)| i == GROUP || j != k || !retx);
                self.queue.push_back((GROUP, k, true));
                return;
            }
        }
        self.queue.push_back((idx as u16, k, true));
    }

    /// Whether live receiver `i` is known to miss segment `k` at `now`: its timer for it has
    /// expired, a retransmission of it to `i` is waiting to go, or (selective repeat) `i`
    /// acknowledged later segments but not this one. A receiver whose ACK may merely be on its
    /// way does not count, so that one late ACK does not become a group copy for everyone.
    fn known_missing(&self, i: usize, k: u64, now: Instant) -> bool {
        if !self.still_wanted(i, k) {
            return false;
        }
        if self.queue.contains(&(i as u16, k, true)) {
            return true;
        }
        let p = &self.peers[i];
        match self.mode {
            Mode::GoBackN { .. } => p.deadline.is_some_and(|d| d <= now),
            _ => p.slots.get((k - self.base) as usize).is_some_and(|s| match s.deadline {
                Some(d) => d <= now || (!s.retransmitted && s.later_acks > 0),
                // Sent, and its timer stopped: a resend was just decided for it.
                None => s.sent_at.is_some(),
            }),
        }
    }

    /// The next queue entry to send: the front, unless it is a new segment the pacer holds
    /// back; then the first retransmission or FIN behind it (not new load on the path, and
    /// each one that waits stalls the window).
    fn pop_queued(&mut self, now: Instant) -> Option<(u16, u64, bool)> {
        let &(_, k, retx) = self.queue.front()?;
        let held = !retx && k != FIN && k >= self.released && self.cc.release_at().is_some_and(|t| now < t);
        if !held {
            return self.queue.pop_front();
        }
        let pos = self.queue.iter().position(|&(_, k, retx)| retx || k == FIN)?;
        self.queue.remove(pos)
    }

    fn still_wanted(&self, idx: usize, k: u64) -> bool {
        let p = &self.peers[idx];
        if p.outcome != Outcome::Active {
            return false;
        }
        if k == FIN {
            return p.fin_pending;
        }
        if k < self.base {
            return false;
        }
        match self.mode {
            Mode::GoBackN { .. } => k >= p.cum,
            _ => p.slots.get((k - self.base) as usize).is_some_and(|s| !s.acked),
        }
    }

    /// The earliest timer (or pacing) deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.done {
            return None;
        }
        let timers = self.peers.iter().filter(|p| p.outcome == Outcome::Active).flat_map(|p| {
            p.deadline.into_iter().chain(p.slots.iter().filter(|s| !s.acked).filter_map(|s| s.deadline))
        });
        // The queue is due when both the pacer and the rate cap let its next entry go: a
        // deadline in the past that nothing can act on would spin the driver.
        let send =
            self.queue_ready_at().map(|t| if self.rate_bps > 0 { t.max(self.next_send_at) } else { t });
        timers.chain(send).min()
    }

    /// When the congestion controller lets the queue's next entry go (`Instant::ZERO`: now;
    /// `None`: nothing queued). Mirrors [`WindowSender::pop_queued`].
    fn queue_ready_at(&self) -> Option<Instant> {
        let &(_, k, retx) = self.queue.front()?;
        if retx || k == FIN || k < self.released {
            return Some(Instant::ZERO);
        }
        match self.cc.release_at() {
            Some(t) if !self.queue.iter().any(|&(_, k, retx)| retx || k == FIN) => Some(t),
            _ => Some(Instant::ZERO),
        }
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

    /// Processes a datagram from `from` (`tx`: its transmission id, when the driver knows it).
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8], tx: Option<TxId>) {
        let Some(idx) = self.peers.iter().position(|p| p.addr == from) else {
            self.ignored.foreign += 1;
            self.push(now, EventKind::Reject { reason: RejectReason::Foreign });
            if let Some(e) = self.events.back_mut() {
                e.tx = tx;
            }
            return;
        };
        let i = idx as u16;
        let packet = match self.cfg.dialect.parse(data) {
            Ok(p) => p,
            Err(e) => {
                self.ignored.malformed += 1;
                let reason = if e.is_checksum() { RejectReason::Checksum } else { RejectReason::Malformed };
                self.push(now, EventKind::Reject { reason });
                self.tag(i, self.base as u32, tx);
                return;
            }
        };
        let seg = match packet {
            Packet::Fin { .. } => self.trace_seq(FIN),
            Packet::Ack { seq } | Packet::Data { seq, .. } => seq,
        };
        self.push(now, EventKind::Arrive { packet: packet.kind(), bytes: data.len() as u32 });
        self.tag(i, seg, tx);
        let progress = match packet {
            Packet::Fin { .. } if self.fin && self.peers[idx].fin_pending => {
                let p = &mut self.peers[idx];
                p.fin_pending = false;
                p.deadline = None;
                p.outcome = Outcome::Finished;
                self.cc.on_receiver_gone(idx);
                self.totals.finished += 1;
                self.push(now, EventKind::ReceiverFinished { bytes: self.file_len });
                self.tag(i, seg, None);
                true
            }
            // A buffering receiver that holds nothing in order lacks segment 0: news only if
            // the sender counts 0 as acknowledged by it (go-back-n reads ACKs as cumulative);
            // otherwise 0's own timer and fast retransmit already cover it.
            Packet::Ack { seq: NOTHING_IN_ORDER } if self.segments <= u64::from(u32::MAX) => {
                self.credits(idx, 0) && self.on_lack(now, idx, 0)
            }
            Packet::Ack { seq } if !self.fin => self.on_ack(now, idx, u64::from(seq)),
            // A buffering receiver answers a FIN behind a gap with its last in-order segment.
            Packet::Ack { seq } if self.peers[idx].fin_pending && u64::from(seq) + 1 < self.segments => {
                self.on_contradiction(now, idx, u64::from(seq))
            }
            _ => false,
        };
        if progress {
            self.peers[idx].consecutive_timeouts = 0;
        } else {
            if matches!(packet, Packet::Ack { .. }) && matches!(self.mode, Mode::GoBackN { .. }) {
                // A repeated or stale cumulative ACK: the receiver lacks something.
                self.suspect(idx);
            }
            self.ignored.unexpected += 1;
            self.push(now, EventKind::Reject { reason: RejectReason::Unexpected });
            self.tag(i, seg, tx);
        }
        self.advance(now);
    }

    /// Applies an ACK of segment `k`; returns whether it was progress.
    fn on_ack(&mut self, now: Instant, idx: usize, k: u64) -> bool {
        let base = self.base;
        let tail = self.in_tail();
        let mut fast = Vec::new();
        let p = &mut self.peers[idx];
        if p.outcome != Outcome::Active || k >= self.next {
            return false;
        }
        let sample = match self.mode {
            Mode::GoBackN { .. } if k + 1 == p.cum && p.cum < self.next && self.cfg.multicast.is_none() => {
                // A classic receiver repeats its last in-order ACK for each segment that lands
                // past a hole: the third repeat resends the window without waiting for the
                // timer (TCP's fast retransmit), once per hole. Not with multicast: there a
                // group retransmission reaches receivers that lack nothing, and their repeats
                // would trigger more of them.
                if p.dup_acks >= FAST_RETRANSMIT_AFTER {
                    return false;
                }
                p.dup_acks += 1;
                if p.dup_acks < FAST_RETRANSMIT_AFTER {
                    return false;
                }
                fast.extend(p.cum.max(base)..self.next);
                p.gbn_retransmitted_below = self.next;
                p.gbn_sent_at = None;
                p.deadline = Some(now + p.est.rto());
                None
            }
            Mode::GoBackN { .. } => {
                if k + 1 < p.cum {
                    // The receiver says it lacks `k + 1`, which an earlier ACK said it had.
                    return self.on_contradiction(now, idx, k);
                }
                if k < p.cum {
                    return false;
                }
                p.dup_acks = 0;
                let newly = k + 1 - p.cum;
                // More than one segment at once: an ACK went missing, or this one was changed.
                p.doubt |= tail && newly > 1;
                p.acked += newly;
                p.unacked = p.unacked.saturating_sub(newly);
                self.cc.on_delivered(idx, newly, now);
                p.last_advance = Some((p.cum, now));
                p.cum = k + 1;
                let sample = match p.gbn_sent_at {
                    Some((s, at)) if s <= k && k >= p.gbn_retransmitted_below => Some(now - at),
                    _ => None,
                };
                p.gbn_sent_at = None;
                p.deadline = (p.cum < self.next).then(|| now + p.est.rto());
                sample
            }
            _ => {
                if k < base || p.slots[(k - base) as usize].acked {
                    // Nothing new about `k`; but if `k + 1` counts as acknowledged, this may be
                    // the receiver's last in-order segment, saying it still lacks `k + 1`.
                    let held = k + 1 < base || p.slots.get((k + 1 - base) as usize).is_some_and(|s| s.acked);
                    if held {
                        return self.on_contradiction(now, idx, k);
                    }
                    return self.on_repeat(now, idx, k);
                }
                let slot = &mut p.slots[(k - base) as usize];
                slot.acked = true;
                slot.acked_at = Some(now);
                slot.deadline = None;
                // ACKs come back in the order their DATA went out, unless the network reordered
                // them or one was changed into the ACK of a later segment. (Not checked for a
                // resent segment: which copy an ACK answers is unknown, as for RTT samples.)
                if !slot.retransmitted {
                    p.doubt |= tail && p.max_order_acked.is_some_and(|o| slot.order < o);
                    p.max_order_acked = p.max_order_acked.max(Some(slot.order));
                }
                p.acked += 1;
                p.unacked = p.unacked.saturating_sub(1);
                self.cc.on_delivered(idx, 1, now);
                let sample = match (slot.retransmitted, slot.sent_at) {
                    (false, Some(at)) => Some(now - at),
                    _ => None,
                };
                if matches!(self.mode, Mode::SelectiveRepeat { .. }) {
                    let order = slot.order;
                    p.count_later_ack(base, k, order, &mut fast);
                    // Resent in segment order, as a scan of the window would find them.
                    fast.sort_unstable();
                }
                sample
            }
        };
        if let Some(rtt) = sample {
            self.cc.on_rtt(rtt);
            if p.est.on_sample(rtt) {
                let (srtt, rttvar, rto) = (p.est.srtt().unwrap_or(rtt), p.est.rttvar(), p.est.rto());
                self.push(
                    now,
                    EventKind::RttSample {
                        rtt_micros: rtt.as_micros() as u64,
                        srtt_micros: srtt.as_micros() as u64,
                        rttvar_micros: rttvar.as_micros() as u64,
                        rto_micros: rto.as_micros() as u64,
                    },
                );
                self.tag(idx as u16, k as u32, None);
            }
        }
        for j in fast {
            self.queue_retransmit(idx, j, now);
        }
        true
    }

    /// Receiver `idx` acknowledged `m` again, which it had acknowledged before (selective
    /// repeat). A buffering receiver answers each copy of a segment with that segment's ACK; a
    /// classic one (a server without `--window`) answers a segment it already holds, or one it
    /// cannot take in order, with the ACK of its last in-order segment: cumulative. So when the
    /// first ACK of a segment `u` was lost, every resend of `u` to a classic receiver comes back
    /// as a repeat of some `m > u`, never as `u`, and without reading those repeats as
    /// cumulative the sender would resend `u` until the receiver is declared failed.
    ///
    /// The repeats count only while `u`, the oldest unacknowledged segment, has been resent,
    /// and only once `m` has been acknowledged for a timeout's length (a buffering receiver
    /// repeats `m` when a resend of `m` was on its way); after the second, everything up to `m`
    /// counts as acknowledged. A buffering receiver sends such a repeat only when the network
    /// copies or holds back an ACK, twice here; if it then lacks `u`, its ACK of its last
    /// in-order segment contradicts the credit and the sender takes it back
    /// ([`WindowSender::on_contradiction`]). Returns whether there was progress.
    fn on_repeat(&mut self, now: Instant, idx: usize, m: u64) -> bool {
        let base = self.base;
        let p = &mut self.peers[idx];
        if !matches!(self.mode, Mode::SelectiveRepeat { .. }) || m < base {
            return false;
        }
        let upto = (m - base) as usize;
        // A resend of `m` still on its way when `m` was acknowledged gets a repeat from a
        // buffering receiver too: only repeats a timeout's length later count.
        let settled = p.est.rto();
        if p.slots.get(upto).and_then(|s| s.acked_at).is_none_or(|at| now < at + settled) {
            return false;
        }
        let Some(u) = p.slots.iter().take(upto).position(|s| !s.acked && s.sent_at.is_some()) else {
            return false;
        };
        if !p.slots[u].retransmitted {
            return false; // its first ACK may still be on the way
        }
        let u = base + u as u64;
        let n = match p.repeats {
            Some((v, n)) if v == u => n.saturating_add(1),
            _ => 1,
        };
        p.repeats = Some((u, n));
        if n < 2 {
            return false;
        }
        p.repeats = None;
        let mut newly = 0;
        for s in p.slots.iter_mut().take(upto).filter(|s| !s.acked && s.sent_at.is_some()) {
            s.acked = true;
            s.acked_at = Some(now);
            s.deadline = None;
            newly += 1;
        }
        p.acked += newly;
        p.unacked = p.unacked.saturating_sub(newly);
        self.cc.on_delivered(idx, newly, now);
        // Resends of these already queued are dropped when their turn comes.
        true
    }

    /// Receiver `idx` sent ACK `j`, its last in-order segment as far as that ACK goes, while
    /// the sender counts `j + 1` as acknowledged by it. A classic receiver sends that for every
    /// DATA it cannot take in order, a buffering one for DATA beyond its window: so when an ACK
    /// changed in transit (no checksum covers an ACK's sequence number) made the sender believe
    /// the receiver holds `j + 1`, these keep coming, and the sender goes back to `j + 1`.
    ///
    /// One such ACK may also be an old one overtaken by later ACKs, or a copy the network made:
    /// only the same `j` [`FAST_RETRANSMIT_AFTER`] times counts (another `j` starts over). A
    /// false alarm costs retransmissions (the receiver answers the duplicates with its true
    /// position), never data. Returns whether the sender went back.
    fn on_contradiction(&mut self, now: Instant, idx: usize, j: u64) -> bool {
        self.on_lack(now, idx, j + 1)
    }

    /// Receiver `idx` says it lacks segment `r` (its last in-order segment is `r - 1`, or it
    /// has none: `r` = 0): after [`FAST_RETRANSMIT_AFTER`] such answers, the credit from `r` on
    /// is taken back. Returns whether it was.
    fn on_lack(&mut self, now: Instant, idx: usize, r: u64) -> bool {
        if r + self.kept < self.base || r >= self.next {
            // Its payload is no longer in memory (more than a window back): nothing to resend.
            // The receiver then stalls and is declared failed by its timer, as without this.
            return false;
        }
        let p = &mut self.peers[idx];
        let n = match p.stale {
            Some((s, n)) if s == r => n.saturating_add(1),
            _ => 1,
        };
        p.stale = Some((r, n));
        if n < FAST_RETRANSMIT_AFTER {
            return false;
        }
        p.stale = None;
        self.roll_back(now, idx, r);
        true
    }

    /// Takes back receiver `idx`'s acknowledgement of segment `r` (go-back-n: of everything
    /// from `r` on) and resends it: `base` moves back to `r` if it had passed it.
    fn roll_back(&mut self, now: Instant, idx: usize, r: u64) {
        // When the credit taken back was given, if known: one go-back-n advance covered all of
        // it, or the selective-repeat slot is still in the window.
        let p = &self.peers[idx];
        let since = match self.mode {
            Mode::GoBackN { .. } => p.last_advance.filter(|&(before, _)| before <= r).map(|(_, at)| at),
            _ => r.checked_sub(self.base).and_then(|j| p.slots.get(j as usize)).and_then(|s| s.acked_at),
        };
        if self.fin {
            // Back from the end of file: the FIN waits until every live receiver has it all.
            self.fin = false;
            for p in &mut self.peers {
                if p.fin_pending {
                    p.fin_pending = false;
                    p.deadline = None;
                }
            }
            self.queue.retain(|&(_, k, _)| k != FIN);
        }
        if r < self.base {
            // Every live receiver had acknowledged `r..base` (that is how `base` passed them);
            // only `idx`'s acknowledgement of `r` is taken back below.
            let back = self.base - r;
            for p in &mut self.peers {
                for _ in 0..back {
                    p.slots.push_front(Slot::unsent(true));
                }
            }
            self.kept -= back;
            self.base = r;
        }
        let next = self.next;
        let p = &mut self.peers[idx];
        let (undone, resend) = match self.mode {
            Mode::GoBackN { .. } => {
                let undone = p.cum.saturating_sub(r);
                p.cum = r;
                // This hole's resend is the one below: the repeats of ACK `r - 1` still on
                // their way must not trigger another (fast retransmit is once per hole).
                p.dup_acks = FAST_RETRANSMIT_AFTER;
                p.gbn_retransmitted_below = next;
                p.gbn_sent_at = None;
                p.deadline = Some(now + p.est.rto());
                (undone, r..next)
            }
            _ => {
                let Some(slot) = p.slots.get_mut((r - self.base) as usize) else { return };
                slot.acked = false;
                slot.retransmitted = true;
                slot.deadline = None;
                // Already being resent: later ACKs must not trigger a second copy.
                slot.later_acks = FAST_RETRANSMIT_AFTER;
                (1, r..r + 1)
            }
        };
        p.acked = p.acked.saturating_sub(undone);
        p.unacked += undone;
        self.cc.on_undelivered(idx, undone, since);
        for k in resend {
            self.queue_retransmit(idx, k, now);
        }
    }

    /// Handles expired timers. Early calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.done {
            return;
        }
        for idx in 0..self.peers.len() {
            if self.peers[idx].outcome != Outcome::Active {
                continue;
            }
            let expired: Vec<u64> = if self.fin {
                if self.peers[idx].deadline.is_some_and(|d| d <= now) {
                    vec![FIN]
                } else {
                    vec![]
                }
            } else {
                match self.mode {
                    Mode::GoBackN { .. } => {
                        if self.peers[idx].deadline.is_some_and(|d| d <= now) {
                            (self.peers[idx].cum.max(self.base)..self.next).collect()
                        } else {
                            vec![]
                        }
                    }
                    _ => self.peers[idx]
                        .slots
                        .iter()
                        .enumerate()
                        .filter(|(_, s)| !s.acked && s.deadline.is_some_and(|d| d <= now))
                        .map(|(j, _)| self.base + j as u64)
                        .collect(),
                }
            };
            if expired.is_empty() {
                continue;
            }
            self.totals.timeouts += 1;
            // Selective repeat: only the expiry of the oldest outstanding segment counts
            // towards declaring the receiver dead. Segments it discarded beyond its window
            // (sent while an ACK changed in transit had the sender ahead of it) expire one by
            // one, and must not fail a receiver that answers, while the one it lacks is resent.
            let oldest = self.peers[idx].slots.iter().position(|s| !s.acked).map(|j| self.base + j as u64);
            let counts = self.fin
                || matches!(self.mode, Mode::GoBackN { .. })
                || oldest.is_some_and(|o| expired.contains(&o));
            if matches!(self.mode, Mode::GoBackN { .. }) {
                // A go-back-n receiver's repeats of an old ACK may come from what it resends.
                self.suspect(idx);
            }
            let p = &mut self.peers[idx];
            p.timeouts += 1;
            p.consecutive_timeouts += u32::from(counts);
            p.est.on_timeout();
            p.deadline = None;
            let failed = p.consecutive_timeouts >= self.cfg.max_timeouts;
            let first = expired[0];
            let seq = self.trace_seq(first);
            if failed {
                let p = &mut self.peers[idx];
                p.outcome = Outcome::Failed;
                p.fin_pending = false;
                self.cc.on_receiver_gone(idx);
                self.totals.failed += 1;
                self.push(now, EventKind::TimerFired { field: self.wire_field(first), receivers: vec![] });
                self.tag(idx as u16, seq, None);
                let timeouts = self.peers[idx].consecutive_timeouts;
                self.push(now, EventKind::ReceiverFailed { timeouts });
                self.tag(idx as u16, seq, None);
                continue;
            }
            for &k in &expired {
                let p = &mut self.peers[idx];
                if k != FIN && !matches!(self.mode, Mode::GoBackN { .. }) {
                    if let Some(s) = p.slots.get_mut((k - self.base) as usize) {
                        s.deadline = None;
                        // Already being resent: later ACKs must not trigger a second copy.
                        s.later_acks = FAST_RETRANSMIT_AFTER;
                    }
                }
                if matches!(self.mode, Mode::GoBackN { .. }) && k != FIN {
                    p.gbn_retransmitted_below = p.gbn_retransmitted_below.max(k + 1);
                    p.gbn_sent_at = None;
                }
                self.queue_retransmit(idx, k, now);
            }
            self.push(
                now,
                EventKind::TimerFired { field: self.wire_field(first), receivers: vec![idx as u16] },
            );
            self.tag(idx as u16, seq, None);
        }
        self.advance(now);
    }

    /// Slides the window past segments every live receiver has, and finishes when due.
    fn advance(&mut self, now: Instant) {
        if self.done {
            return;
        }
        while self.base < self.next && self.all_live_have(self.base) {
            let k = self.base;
            self.base += 1;
            // A window's worth of payloads stays behind `base`: enough to resend whatever one
            // changed ACK made the sender skip (it acknowledges a segment in flight, so at most
            // a window ahead of the receiver's true position).
            self.kept += 1;
            if self.kept > self.max_window {
                self.kept -= 1;
                if let Some(done) = self.buffers.pop_front() {
                    self.spare.push(done);
                }
            }
            for p in &mut self.peers {
                p.slots.pop_front();
            }
            if k >= self.completed {
                self.completed = k + 1;
                self.push(now, EventKind::SegmentComplete);
                if let Some(e) = self.events.back_mut() {
                    e.seq = Some(k as u32);
                }
            }
        }
        if self.next < self.segments && self.next >= self.base + self.max_window {
            self.cc.on_window_limited();
        }
        let live = self.peers.iter().any(|p| p.outcome == Outcome::Active);
        if !live {
            self.finish(now);
        } else if !self.fin && self.base == self.segments && !self.probe_doubtful(now) {
            self.start_fin();
        } else if self.fin && !self.peers.iter().any(|p| p.fin_pending) {
            self.finish(now);
        }
    }

    /// Whether the last segment has been sent or will be within a window: from then on, a
    /// changed ACK may acknowledge it while the receiver lacks it.
    fn in_tail(&self) -> bool {
        self.next + self.max_window >= self.segments
    }

    /// Notes something that could hide a changed ACK of the last segment from receiver `idx`.
    fn suspect(&mut self, idx: usize) {
        if self.in_tail() {
            self.peers[idx].doubt = true;
        }
    }

    /// Before the FIN: resends the last segment to every live receiver whose acknowledgement
    /// of it is in doubt, and waits for its answer. Returns whether it did.
    ///
    /// The later ACKs that expose a changed ACK ([`WindowSender::on_contradiction`]) need DATA
    /// after it. At the end of the file there is none, and a receiver that lacks the last
    /// segment would take the FIN and finish short: a file that looks complete. So when a
    /// sign of it came from a receiver in the last window (go-back-n: a repeated or stale
    /// cumulative ACK, one that skipped segments, a timeout; selective repeat: ACKs out of
    /// transmission order, which a changed ACK of a later segment causes), the last segment is
    /// resent to it once. A receiver that has it acknowledges it again; one that lacks only it
    /// takes it; one that lacks more answers with its true position, which sends the sender
    /// back. Runs without loss, reordering or damage never pay for this. (A selective-repeat
    /// receiver holding segments behind a gap refuses the FIN and says what it lacks; this is
    /// for one that lacks the end of the file and holds nothing beyond it.)
    fn probe_doubtful(&mut self, now: Instant) -> bool {
        let Some(last) = self.segments.checked_sub(1) else { return false };
        let mut any = false;
        for idx in 0..self.peers.len() {
            let p = &mut self.peers[idx];
            if p.outcome == Outcome::Active && p.doubt && !p.probed {
                p.probed = true;
                self.roll_back(now, idx, last);
                any = true;
            }
        }
        any
    }

    /// The payload of segment `k`, which must be in memory: `base - kept <= k < next`.
    fn payload(&self, k: u64) -> &[u8] {
        &self.buffers[(k + self.kept - self.base) as usize]
    }

    /// Whether segment `k` counts as acknowledged by receiver `idx`.
    fn credits(&self, idx: usize, k: u64) -> bool {
        let p = &self.peers[idx];
        match self.mode {
            Mode::GoBackN { .. } => p.cum > k,
            _ => k < self.base || p.slots.get((k - self.base) as usize).is_some_and(|s| s.acked),
        }
    }

    fn all_live_have(&self, k: u64) -> bool {
        (0..self.peers.len())
            .filter(|&i| self.peers[i].outcome == Outcome::Active)
            .all(|i| self.credits(i, k))
    }

    fn start_fin(&mut self) {
        self.fin = true;
        for (i, p) in self.peers.iter_mut().enumerate() {
            if p.outcome == Outcome::Active {
                p.fin_pending = true;
                p.deadline = None;
                self.queue.push_back((i as u16, FIN, false));
            }
        }
    }

    fn finish(&mut self, now: Instant) {
        self.done = true;
        self.queue.clear();
        self.end = Some(now);
        self.totals.delay_micros = self.delay().map_or(0, |d| d.as_micros() as u64);
        let totals = self.totals.clone();
        self.push(now, EventKind::TransferEnd { totals: Box::new(totals) });
    }

    fn trace_seq(&self, k: u64) -> u32 {
        if k == FIN {
            u32::try_from(self.segments).unwrap_or(u32::MAX)
        } else {
            k as u32
        }
    }

    fn wire_field(&self, k: u64) -> u32 {
        if k == FIN {
            0
        } else {
            k as u32
        }
    }

    fn push(&mut self, t: Instant, kind: EventKind) {
        self.events.push_back(TraceEvent::new(t, Node::Client, kind));
    }

    fn tag(&mut self, rx: u16, seq: u32, tx: Option<TxId>) {
        if let Some(e) = self.events.back_mut() {
            e.rx = Some(rx);
            e.seq = Some(seq);
            e.tx = tx;
        }
    }
}
