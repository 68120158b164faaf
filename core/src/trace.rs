//! The typed, versioned event trace: everything a viewer needs to replay a transfer.
//!
//! A trace is a [`TraceHeader`] followed by [`TraceEvent`]s. As JSON Lines it is one header line
//! then one event per line. Real nodes and the simulator emit the same events; only the header's
//! [`TraceSource`] tells them apart.
//!
//! Every event carries the time, the node that saw it, the receiver it concerns, the segment
//! number and, for anything that travels, a transmission id unique within the transfer (a
//! retransmission reuses the segment number but never the id), so that a viewer can pair each
//! send with its fate.

use crate::rto::RtoPolicy;
use crate::time::Instant;
use crate::wire::{Dialect, PacketKind};
use serde::{Deserialize, Serialize};

/// Version of the trace schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Unique id of one transmission (a datagram put on the wire by some node).
///
/// Ids are unique within a transfer because each node draws from its own range:
/// the client from `1..`, server `i` from `(i + 1) << 40 ..`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TxId(pub u64);

impl TxId {
    /// First id of the range reserved for `node`.
    pub const fn base_for(node: Node) -> u64 {
        match node {
            Node::Client => 1,
            Node::Server(i) => ((i as u64) + 1) << 40,
        }
    }
}

/// Which node recorded an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Node {
    /// The sender.
    Client,
    /// Receiver number `i` (its position in the client's receiver list).
    Server(u16),
}

/// Where a trace came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TraceSource {
    /// Recorded by a real node on a real network.
    Native {
        /// The recording node.
        node: Node,
        /// Its socket address, as text.
        addr: String,
    },
    /// Produced by the discrete-event simulator.
    Simulated {
        /// The simulation's parameters, as given (opaque to viewers).
        params: serde_json::Value,
    },
}

/// First line of a trace file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceHeader {
    /// Always [`SCHEMA_VERSION`] when written by this crate.
    pub schema: u32,
    /// Who produced the trace.
    pub source: TraceSource,
}

impl TraceHeader {
    /// A header of the current schema.
    pub fn new(source: TraceSource) -> Self {
        TraceHeader { schema: SCHEMA_VERSION, source }
    }
}

/// Why a node threw a datagram away without acting on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// Checksum mismatch.
    Checksum,
    /// Framing: too short, unknown type, trailing bytes, bad digits.
    Malformed,
    /// From an address that is not part of this transfer.
    Foreign,
    /// Well-formed, but not meaningful now (an ACK for another segment, a sequence beyond what
    /// the receiver expects, an EOF at the wrong offset).
    Unexpected,
}

/// Totals reported at the end of a transfer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TransferTotals {
    /// File bytes.
    pub bytes: u64,
    /// DATA segments in the file.
    pub segments: u64,
    /// Time from the first send to the last receiver's end-of-file acknowledgement.
    pub delay_micros: u64,
    /// DATA and FIN transmissions, first sends and retransmissions.
    pub transmissions: u64,
    /// Retransmissions among them.
    pub retransmissions: u64,
    /// Timer expiries.
    pub timeouts: u64,
    /// Receivers that acknowledged the end of file.
    pub finished: u16,
    /// Receivers declared failed.
    pub failed: u16,
}

/// One thing that happened, with its context.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceEvent {
    /// When, on the recording node's clock (microseconds).
    pub t: Instant,
    /// The recording node.
    pub node: Node,
    /// The receiver concerned, if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rx: Option<u16>,
    /// The segment number concerned (DATA index; for FIN, the segment count), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u32>,
    /// The transmission this event is about (sent, arrived, dropped), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx: Option<TxId>,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened. Serialised with an `ev` tag beside the common fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub enum EventKind {
    /// The client starts a transfer.
    TransferStart {
        /// File length in bytes.
        file_size: u64,
        /// Payload bytes per DATA segment.
        mss: u32,
        /// DATA segments (the FIN not counted).
        segments: u64,
        /// The receivers, in index order, as text (addresses or simulator names).
        receivers: Vec<String>,
        /// Wire dialect.
        dialect: Dialect,
        /// Timeout policy (boxed, as is [`EventKind::TransferEnd`]'s totals: the events of every
        /// datagram are moved through queues, and these two rare ones would double their size).
        policy: Box<RtoPolicy>,
        /// Consecutive timeouts after which a silent receiver is declared failed.
        max_timeouts: u32,
    },
    /// A node put a datagram on the wire (the client: DATA or FIN; a server: ACK or FIN echo).
    Send {
        /// Datagram kind.
        packet: PacketKind,
        /// Datagram length in bytes.
        bytes: u32,
        /// A retransmission of something sent before.
        retx: bool,
        /// One of the copies of a datagram sent once to the multicast group: such a datagram
        /// has one `Send` per receiver it is meant for, each with its own `tx`, emitted one after
        /// the other at the same time with consecutive ids. Absent in older traces.
        #[serde(default, skip_serializing_if = "is_false")]
        multicast: bool,
        /// The checksum field as it went on the wire, for a datagram that carries one: a DATA
        /// (either dialect's checksum over the payload) and the text dialect's end of file (an
        /// empty DATA), so a viewer can show the header. Absent for ACKs and binary FINs, and in
        /// older traces.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        checksum: Option<u16>,
    },
    /// A datagram reached a node and passed its loss service (if any) and parsing.
    Arrive {
        /// Datagram kind.
        packet: PacketKind,
        /// Datagram length in bytes.
        bytes: u32,
    },
    /// A receiver's loss service discarded an arriving datagram.
    LossDrop {
        /// The datagram's sequence field as printed (`Packet loss, sequence number = X`).
        field: Option<u32>,
    },
    /// The (simulated) network lost a datagram in transit.
    LinkDrop {
        /// Datagram kind.
        packet: PacketKind,
    },
    /// The (simulated) network delivered an extra copy of a datagram.
    LinkDuplicate,
    /// The (simulated) network flipped bits in a datagram.
    LinkCorrupt,
    /// A node threw an arriving datagram away.
    Reject {
        /// Why.
        reason: RejectReason,
    },
    /// A receiver accepted an in-sequence DATA and will write it.
    Deliver {
        /// Payload bytes written.
        bytes: u32,
    },
    /// A receiver got a DATA it already has (a retransmission after a lost ACK).
    Duplicate,
    /// The client armed the retransmission timer for `rx`.
    TimerArmed {
        /// When it will fire.
        deadline: Instant,
        /// The retransmission timeout in force.
        rto_micros: u64,
    },
    /// The retransmission timer fired (`Timeout, sequence number = Y`); the segment is resent
    /// to exactly `receivers`.
    TimerFired {
        /// The sequence field printed.
        field: u32,
        /// Receivers still pending, which will get the retransmission.
        receivers: Vec<u16>,
    },
    /// The client took an RTT sample for `rx` (adaptive policy).
    RttSample {
        /// Measured round trip.
        rtt_micros: u64,
        /// Smoothed RTT after the sample.
        srtt_micros: u64,
        /// RTT variance after the sample.
        rttvar_micros: u64,
        /// Resulting RTO.
        rto_micros: u64,
    },
    /// Every live receiver acknowledged segment `seq`.
    SegmentComplete,
    /// Receiver `rx` has the whole file (client: its FIN echo arrived; server: it got the FIN).
    ReceiverFinished {
        /// Bytes it received.
        bytes: u64,
    },
    /// The client gave up on receiver `rx` after `timeouts` consecutive silent timeouts.
    ReceiverFailed {
        /// Consecutive timeouts.
        timeouts: u32,
    },
    /// A server gave up on its sender after hearing nothing for its idle timeout.
    ReceiverAborted,
    /// The transfer is over.
    TransferEnd {
        /// What it took.
        totals: Box<TransferTotals>,
    },
}

impl EventKind {
    /// The `Send` of `datagram`, a `packet` as it went on the wire in `dialect`: its length,
    /// and its checksum field read back from it (where it has one).
    pub fn sent(packet: PacketKind, datagram: &[u8], dialect: Dialect, retx: bool, multicast: bool) -> Self {
        EventKind::Send {
            packet,
            bytes: datagram.len() as u32,
            retx,
            multicast,
            checksum: dialect.checksum_field(datagram),
        }
    }
}

impl TraceEvent {
    /// An event with no receiver, segment or transmission attached.
    pub fn new(t: Instant, node: Node, kind: EventKind) -> Self {
        TraceEvent { t, node, rx: None, seq: None, tx: None, kind }
    }

    /// Attaches the receiver concerned.
    pub fn rx(mut self, rx: u16) -> Self {
        self.rx = Some(rx);
        self
    }

    /// Attaches the segment number.
    pub fn seq(mut self, seq: u32) -> Self {
        self.seq = Some(seq);
        self
    }

    /// Attaches the transmission id.
    pub fn tx(mut self, tx: Option<TxId>) -> Self {
        self.tx = tx;
        self
    }
}

/// Which trace events a state machine queues: `set_event_filter` on [`crate::Sender`],
/// [`crate::WindowSender`], [`crate::AnySender`] and [`crate::Receiver`] takes one. The default
/// keeps every event.
pub type EventFilter = fn(&EventKind) -> bool;

/// A state machine's queue of trace events, with its [`EventFilter`]: a node that records no
/// trace keeps only what it prints, and the events of every datagram (several per segment)
/// are then never built into the queue nor taken out of it.
#[derive(Debug)]
pub(crate) struct EventQueue {
    events: std::collections::VecDeque<TraceEvent>,
    keep: EventFilter,
    /// Whether the last event pushed was kept: the machines tag it right after pushing (its
    /// receiver, segment, transmission), which must not land on an earlier event.
    last_kept: bool,
}

impl EventQueue {
    pub(crate) fn new() -> Self {
        EventQueue { events: std::collections::VecDeque::new(), keep: |_| true, last_kept: true }
    }

    /// Keeps only what `keep` accepts, from now on and of what is queued already (the events a
    /// machine queues as it is made).
    pub(crate) fn set_filter(&mut self, keep: EventFilter) {
        self.keep = keep;
        self.events.retain(|e| keep(&e.kind));
        self.last_kept = false;
    }

    pub(crate) fn push_back(&mut self, ev: TraceEvent) {
        self.last_kept = (self.keep)(&ev.kind);
        if self.last_kept {
            self.events.push_back(ev);
        }
    }

    /// The event just pushed, if it was kept.
    pub(crate) fn back_mut(&mut self) -> Option<&mut TraceEvent> {
        if self.last_kept {
            self.events.back_mut()
        } else {
            None
        }
    }

    pub(crate) fn pop_front(&mut self) -> Option<TraceEvent> {
        self.events.pop_front()
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A line of a JSON Lines trace file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TraceLine {
    /// The header (first line).
    Header(TraceHeader),
    /// Any other line.
    Event(TraceEvent),
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::time::Duration;

    #[test]
    fn events_round_trip_through_json_with_flat_fields() {
        let ev = TraceEvent::new(
            Instant::from_micros(1500),
            Node::Client,
            EventKind::Send {
                packet: PacketKind::Data,
                bytes: 508,
                retx: true,
                multicast: false,
                checksum: Some(0x1234),
            },
        )
        .rx(2)
        .seq(17)
        .tx(Some(TxId(99)));
        let json = serde_json::to_string(&ev).expect("serialise");
        assert_eq!(
            json,
            r#"{"t":1500,"node":"client","rx":2,"seq":17,"tx":99,"ev":"send","packet":"data","bytes":508,"retx":true,"checksum":4660}"#
        );
        assert_eq!(serde_json::from_str::<TraceEvent>(&json).expect("parse"), ev);
        let mut mc = ev.clone();
        mc.kind = EventKind::Send {
            packet: PacketKind::Data,
            bytes: 508,
            retx: true,
            multicast: true,
            checksum: None,
        };
        let json = serde_json::to_string(&mc).expect("serialise");
        assert!(json.ends_with(r#""retx":true,"multicast":true}"#), "{json}");
        assert_eq!(serde_json::from_str::<TraceEvent>(&json).expect("parse"), mc);

        let start = TraceEvent::new(
            Instant::ZERO,
            Node::Server(3),
            EventKind::TransferStart {
                file_size: 10,
                mss: 4,
                segments: 3,
                receivers: vec!["a".into()],
                dialect: Dialect::Text,
                policy: Box::new(RtoPolicy::Fixed { timeout: Duration::from_secs(1) }),
                max_timeouts: 5,
            },
        );
        let json = serde_json::to_string(&start).expect("serialise");
        assert_eq!(serde_json::from_str::<TraceEvent>(&json).expect("parse"), start);
    }

    #[test]
    fn header_and_event_lines_are_told_apart() {
        let h = TraceHeader::new(TraceSource::Native { node: Node::Client, addr: "127.0.0.1:1".into() });
        let line = serde_json::to_string(&h).expect("serialise");
        assert_eq!(serde_json::from_str::<TraceLine>(&line).expect("parse"), TraceLine::Header(h));
        let ev = TraceEvent::new(Instant::ZERO, Node::Client, EventKind::SegmentComplete).seq(0);
        let line = serde_json::to_string(&ev).expect("serialise");
        assert_eq!(serde_json::from_str::<TraceLine>(&line).expect("parse"), TraceLine::Event(ev));
    }
}
