//! Plain-words descriptions of events and flights, for the "last event" line and the packet
//! details (and, later, the teaching mode's narration).

use crate::geometry::fmt_micros;
use p2mp_core::trace::{EventKind, Node, RejectReason, TraceEvent};
use p2mp_core::view::{Fate, Flight};
use p2mp_core::PacketKind;

/// A node's short name: "client" or "server 2".
pub fn node_name(n: Node) -> String {
    match n {
        Node::Client => "client".into(),
        Node::Server(i) => format!("server {i}"),
    }
}

/// A packet kind as shown: "DATA", "ACK", "FIN".
pub fn kind_name(k: PacketKind) -> &'static str {
    match k {
        PacketKind::Data => "DATA",
        PacketKind::Ack => "ACK",
        PacketKind::Fin => "FIN",
    }
}

fn reason_name(r: RejectReason) -> &'static str {
    match r {
        RejectReason::Checksum => "bad checksum",
        RejectReason::Malformed => "malformed",
        RejectReason::Foreign => "from a foreign address",
        RejectReason::Unexpected => "unexpected",
    }
}

fn seq(e: &TraceEvent) -> String {
    e.seq.map_or_else(String::new, |s| format!(" #{s}"))
}

fn rx(e: &TraceEvent) -> String {
    e.rx.map_or_else(|| "?".into(), |r| format!("server {r}"))
}

/// One event in a sentence.
pub fn describe(e: &TraceEvent) -> String {
    let who = node_name(e.node);
    match &e.kind {
        EventKind::TransferStart { file_size, segments, receivers, mss, .. } => format!(
            "Transfer starts: {file_size} bytes in {segments} segments of {mss} bytes to {} receivers",
            receivers.len()
        ),
        EventKind::Send { packet, retx, .. } => {
            let to = if e.node == Node::Client { rx(e) } else { "the client".into() };
            let again = if *retx { " again (retransmission)" } else { "" };
            format!("The {who} sends {}{} to {to}{again}", kind_name(*packet), seq(e))
        }
        EventKind::Arrive { packet, .. } => format!("{}{} reaches the {who}", kind_name(*packet), seq(e)),
        EventKind::LossDrop { .. } => format!("The {who}'s loss service drops{}", seq(e)),
        EventKind::LinkDrop { packet } => {
            format!("The network loses {}{} sent by the {who}", kind_name(*packet), seq(e))
        }
        EventKind::LinkDuplicate => format!("The network duplicates a datagram from the {who}"),
        EventKind::LinkCorrupt => format!("The network corrupts a datagram from the {who}"),
        EventKind::Reject { reason } => {
            format!("The {who} throws away a datagram ({})", reason_name(*reason))
        }
        EventKind::Deliver { bytes } => format!("The {who} writes segment{} ({bytes} bytes)", seq(e)),
        EventKind::Duplicate => format!("The {who} gets segment{} again and re-acknowledges it", seq(e)),
        EventKind::TimerArmed { deadline, rto_micros } => format!(
            "The client's timer for {} runs: it fires at {:.3} s unless acknowledged (RTO {})",
            rx(e),
            deadline.as_secs_f64(),
            fmt_micros(*rto_micros)
        ),
        EventKind::TimerFired { field, receivers } if receivers.is_empty() => {
            format!("Timeout, sequence number = {field}: no receiver left to resend to")
        }
        EventKind::TimerFired { field, receivers } => format!(
            "Timeout, sequence number = {field}: resend to server{} {}",
            if receivers.len() == 1 { "" } else { "s" },
            receivers.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
        ),
        EventKind::RttSample { rtt_micros, rto_micros, .. } => format!(
            "RTT sample for {}: {}, RTO now {}",
            rx(e),
            fmt_micros(*rtt_micros),
            fmt_micros(*rto_micros)
        ),
        EventKind::SegmentComplete => format!("Every live receiver has segment{}", seq(e)),
        EventKind::ReceiverFinished { bytes } if e.node == Node::Client => {
            format!("{} has the whole file ({bytes} bytes)", rx(e))
        }
        EventKind::ReceiverFinished { bytes } => format!("The {who} finishes its file ({bytes} bytes)"),
        EventKind::ReceiverFailed { timeouts } => {
            format!("The client gives up on {} after {timeouts} silent timeouts", rx(e))
        }
        EventKind::ReceiverAborted => format!("The {who} gives up on its sender"),
        EventKind::TransferEnd { totals } => format!(
            "Transfer complete: {} finished, {} failed, {} after the first send",
            totals.finished,
            totals.failed,
            fmt_micros(totals.delay_micros)
        ),
    }
}

/// A flight's fate in words, with its time relative to `t0`.
pub fn fate_text(f: &Flight, t0: u64) -> String {
    let rel = |at: p2mp_core::Instant| fmt_micros(at.total_micros().saturating_sub(t0));
    let dest = if f.downstream() { format!("server {}", f.rx) } else { "the client".into() };
    match f.fate {
        Fate::InFlight => "in flight (no fate recorded)".into(),
        Fate::Arrived { at } => format!("arrived at {dest} at {}", rel(at)),
        Fate::LossDrop { at } => format!("dropped by {dest}'s loss service at {}", rel(at)),
        Fate::LinkDrop { at } => format!("lost by the network (sent at {})", rel(at)),
        Fate::Rejected { at, reason } => {
            format!("rejected by {dest} at {} ({})", rel(at), reason_name(reason))
        }
    }
}
