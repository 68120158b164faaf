//! Plain-words descriptions of events and flights, for the "last event" line and the packet
//! details (and, later, the teaching mode's narration).

use crate::geometry::fmt_micros;
use crate::timeline::{Timeline, TimerSpan};
use p2mp_core::trace::{EventKind, Node, RejectReason, TraceEvent};
use p2mp_core::view::{Fate, Flight, TraceModel};
use p2mp_core::wire::NOTHING_IN_ORDER;
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
    e.seq.map_or_else(String::new, |s| format!(" #{}", number(s)))
}

/// A sequence number as shown: [`NOTHING_IN_ORDER`] is the ACK of segment -1.
fn number(s: u32) -> String {
    if s == NOTHING_IN_ORDER {
        "-1".into()
    } else {
        s.to_string()
    }
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

/// The names of receivers as a phrase: "server 2", "servers 1 and 3", "servers 0, 1 and 4".
pub fn servers_phrase(rx: &[u16]) -> String {
    match rx {
        [] => "no server".into(),
        [one] => format!("server {one}"),
        [init @ .., last] => {
            format!("servers {} and {last}", init.iter().map(u16::to_string).collect::<Vec<_>>().join(", "))
        }
    }
}

/// The client's retransmission timer for receiver `rx` (and segment `seq` if it has one)
/// that is running at time `t`: its deadline (microseconds).
pub fn running_timer(timeline: &Timeline, rx: u16, seq: Option<u32>, t: u64) -> Option<u64> {
    let running = |s: &&TimerSpan| {
        s.rx == rx && s.armed <= t && s.deadline >= t && s.end.is_none_or(|(end, _)| end >= t)
    };
    let lo = timeline.timers.partition_point(|s| s.armed < t.saturating_sub(timeline.max_timer));
    let hi = timeline.timers.partition_point(|s| s.armed <= t);
    let spans = &timeline.timers[lo..hi.max(lo)];
    spans
        .iter()
        .rev()
        .filter(running)
        .find(|s| seq.is_none() || s.seq.is_none() || s.seq == seq)
        .or_else(|| spans.iter().rev().find(running))
        .map(|s| s.deadline)
}

fn segment(seq: Option<u32>) -> String {
    seq.map_or_else(|| "a segment".into(), |s| format!("segment {}", number(s)))
}

fn resend_clause(timeline: &Timeline, rx: u16, seq: Option<u32>, t: u64) -> String {
    let it = if seq.is_some() { "it" } else { "the segment" };
    match running_timer(timeline, rx, seq, t) {
        Some(deadline) => format!(
            "the client will resend {it} to server {rx} alone when its timer fires in {}",
            fmt_secs(deadline.saturating_sub(t))
        ),
        None => format!("the client will resend {it} to server {rx} alone when its timer fires"),
    }
}

/// Seconds for narration: "0.84 s", "12 ms", "1.5 s".
pub fn fmt_secs(us: u64) -> String {
    if us >= 100_000 {
        format!("{:.2} s", us as f64 / 1e6)
    } else {
        fmt_micros(us)
    }
}

/// Event `index` of `model` explained in plain words for the narration panel: what happened
/// and, for losses and timeouts, what follows (using the client's running timers).
pub fn explain(model: &TraceModel, timeline: &Timeline, index: usize) -> String {
    let Some(e) = model.events.get(index) else { return String::new() };
    let t = e.t.total_micros();
    let server = match e.node {
        Node::Server(i) => Some(i),
        Node::Client => None,
    };
    let rx = e.rx.or(server).unwrap_or(0);
    match &e.kind {
        EventKind::LossDrop { .. } => format!(
            "Server {rx}'s loss service dropped {}; {}.",
            segment(e.seq),
            resend_clause(timeline, rx, e.seq, t)
        ),
        EventKind::LinkDrop { packet: PacketKind::Ack } => format!(
            "The network lost server {rx}'s ACK of {}: server {rx} has the segment, but the client cannot know; {}, and server {rx} will acknowledge the duplicate.",
            segment(e.seq),
            resend_clause(timeline, rx, e.seq, t).replacen("resend it", &format!("resend {}", segment(e.seq)), 1)
        ),
        EventKind::LinkDrop { packet: PacketKind::Data } => format!(
            "The network lost {} on its way to server {rx}; {}.",
            segment(e.seq),
            resend_clause(timeline, rx, e.seq, t)
        ),
        EventKind::TimerFired { receivers, .. } if !receivers.is_empty() => {
            let whom = if receivers.len() == 1 {
                format!("{} alone", servers_phrase(receivers))
            } else {
                format!("{} (only those still missing it)", servers_phrase(receivers))
            };
            format!(
                "Timeout: no ACK of {} in time, so the client resends it to {whom}.",
                segment(e.seq)
            )
        }
        EventKind::Send { packet: PacketKind::Data, retx: true, .. } => {
            format!("The client resends {} to server {rx} (a retransmission).", segment(e.seq))
        }
        EventKind::Send { packet: PacketKind::Data, retx: false, .. } => {
            format!("The client sends {} to server {rx}.", segment(e.seq))
        }
        EventKind::Send { packet: PacketKind::Ack, .. } if e.seq == Some(NOTHING_IN_ORDER) => {
            format!("Server {rx} has nothing in order yet: its ACK of segment -1 asks for segment 0.")
        }
        EventKind::Send { packet: PacketKind::Ack, .. } => {
            format!("Server {rx} acknowledges {}.", segment(e.seq))
        }
        EventKind::Duplicate => format!(
            "Server {rx} already has {}: it keeps one copy and acknowledges it again.",
            segment(e.seq)
        ),
        EventKind::SegmentComplete => format!(
            "Every live server has {}: the client moves on.",
            segment(e.seq)
        ),
        EventKind::ReceiverFailed { timeouts } if e.node == Node::Client => format!(
            "Server {rx} stayed silent through {timeouts} timeouts in a row: the client gives up on it and carries on with the others."
        ),
        _ => {
            let s = describe(e);
            let mut c = s.chars();
            let mut out: String = c.next().map(|f| f.to_uppercase().collect()).unwrap_or_default();
            out.push_str(c.as_str());
            out.push('.');
            out
        }
    }
}
