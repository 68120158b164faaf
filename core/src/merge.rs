//! Merging the trace files of one transfer's nodes into one trace on the sender's clock.
//!
//! A real node records its own events only (`--trace-file`), on its own clock (microseconds
//! since it started), and a server does not know its index in the client's receiver list (it
//! records itself as `server` 0). [`merge`] does offline what the live hub
//! ([`crate::view::clock_offsets`] and the same helpers) does on the fly:
//!
//! - the one sender's trace (header node `client`, with its `transfer_start`) is the
//!   reference: its events and times are kept as they are;
//! - each server's trace is matched to a receiver index by its address ([`match_receiver`]),
//!   or, when the address is not in the list (e.g. the client sent through `p2mp impair`
//!   proxies), to the one free index its timing is consistent with;
//! - its events get that index in `node` and `rx`, its own transmission ids move into that
//!   index's range ([`remap_server_event`]), and its clock is aligned on the client's by the
//!   causality bounds of [`crate::view::clock_bounds`] (the midpoint; the true offset lies
//!   within [`Alignment::tolerance_micros`] of it);
//! - the result is in time order; each node's own order is kept, and at equal times a send
//!   goes before another node's events (so that an arrival never precedes its send).
//!
//! Files that cannot be of one transfer are refused with a [`MergeError`]: no sender or two,
//! a server that is not among the receivers, two files of one receiver, or a server whose
//! events contradict the sender's (something arrives before it was sent whatever the offset,
//! segments the file does not have, a different file length).

use crate::trace::{EventKind, Node, TraceEvent, TraceHeader, TraceLine, TraceSource, TxId, SCHEMA_VERSION};
use crate::view::{clock_bounds, ClockBounds};
use crate::Instant;
use std::net::{IpAddr, SocketAddr};
use thiserror::Error;

/// Why traces could not be merged. Every variant names the file (as given) it is about.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no trace files given")]
    Empty,
    /// A line of a file is not a trace line.
    #[error("{name}: line {line}: {message}")]
    Parse {
        /// The file.
        name: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A file without a header line (which says which node recorded it).
    #[error("{name}: no header line (recorded with --trace-file, a trace starts with one)")]
    NoHeader {
        /// The file.
        name: String,
    },
    /// A simulated trace: it holds the whole transfer already.
    #[error("{name}: a simulated trace holds every node's events already; open it on its own")]
    Simulated {
        /// The file.
        name: String,
    },
    /// A file with events of other nodes than its header's, among several files (an already
    /// merged or exported trace: open it on its own).
    #[error("{name}: holds events of several nodes (an already merged trace?); open it on its own")]
    MixedNodes {
        /// The file.
        name: String,
    },
    /// None of the files is the sender's.
    #[error("none of the files is the sender's (p2mpclient --trace-file): {}", names.join(", "))]
    NoSender {
        /// The files given.
        names: Vec<String>,
    },
    /// Two files are senders'.
    #[error("{first} and {second} are both senders' traces: one transfer has one sender")]
    SeveralSenders {
        /// One.
        first: String,
        /// The other.
        second: String,
    },
    /// The sender's trace lacks its `transfer_start` event.
    #[error("{name}: the sender's trace has no transfer_start event")]
    NoTransferStart {
        /// The file.
        name: String,
    },
    /// A server whose address is not a receiver of the transfer and whose timing fits none.
    #[error("{name}: server {addr} is not a receiver of this transfer (receivers: {}), and its events fit none of them", receivers.join(", "))]
    NotAReceiver {
        /// The file.
        name: String,
        /// The server's address, from its header.
        addr: String,
        /// The transfer's receivers.
        receivers: Vec<String>,
    },
    /// Two files record the same receiver.
    #[error("{first} and {second} are both receiver {index} ({addr})")]
    SameReceiver {
        /// One.
        first: String,
        /// The other.
        second: String,
        /// The receiver index.
        index: u16,
        /// Its address.
        addr: String,
    },
    /// A server's events contradict the sender's: they are not of the same transfer.
    #[error("{name}: not the same transfer as {sender}: {reason}")]
    DifferentTransfer {
        /// The server's file.
        name: String,
        /// The sender's file.
        sender: String,
        /// What contradicts.
        reason: String,
    },
}

/// One node's recorded trace, with a name (file name or URL) for messages.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeTrace {
    /// File name or URL, as the user gave it.
    pub name: String,
    /// The header line, if the trace had one.
    pub header: Option<TraceHeader>,
    /// The events, in file order.
    pub events: Vec<TraceEvent>,
}

impl NodeTrace {
    /// Parses JSON Lines text (a header line, then one event a line; blank lines skipped).
    pub fn parse(name: impl Into<String>, text: &str) -> Result<Self, MergeError> {
        let name = name.into();
        let mut header = None;
        let mut events = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let bad = |message: String| MergeError::Parse { name: name.clone(), line: i + 1, message };
            match serde_json::from_str::<TraceLine>(line) {
                Ok(TraceLine::Header(h)) if header.is_none() && events.is_empty() => {
                    if h.schema != SCHEMA_VERSION {
                        return Err(bad(format!(
                            "schema version {} is not supported (expected {SCHEMA_VERSION})",
                            h.schema
                        )));
                    }
                    header = Some(h);
                }
                Ok(TraceLine::Header(_)) => return Err(bad("a second header line".into())),
                Ok(TraceLine::Event(e)) => events.push(e),
                Err(e) => return Err(bad(e.to_string())),
            }
        }
        Ok(NodeTrace { name, header, events })
    }

    /// The recording node and its address, from a native header.
    fn native(&self) -> Result<(Node, &str), MergeError> {
        match &self.header {
            None => Err(MergeError::NoHeader { name: self.name.clone() }),
            Some(TraceHeader { source: TraceSource::Simulated { .. }, .. }) => {
                Err(MergeError::Simulated { name: self.name.clone() })
            }
            Some(TraceHeader { source: TraceSource::Native { node, addr }, .. }) => Ok((*node, addr)),
        }
    }
}

/// How one server's trace was placed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alignment {
    /// Its file.
    pub name: String,
    /// The receiver index it was given.
    pub receiver: u16,
    /// Whether that index came from its address (else from its timing alone).
    pub by_address: bool,
    /// Its clock minus the sender's, in microseconds, as estimated (subtracted from its times).
    pub offset_micros: i64,
    /// The estimate is within this many microseconds of the true offset (None: the trace
    /// bounds it one way only, e.g. a server that never answered).
    pub tolerance_micros: Option<u64>,
}

/// The merged transfer.
#[derive(Clone, Debug, PartialEq)]
pub struct MergedTrace {
    /// A header naming the sender (as the hub sends to viewers).
    pub header: TraceHeader,
    /// Every node's events on the sender's clock, in time order.
    pub events: Vec<TraceEvent>,
    /// How each server's trace was placed, by receiver index.
    pub servers: Vec<Alignment>,
}

impl MergedTrace {
    /// The merged trace as JSON Lines (header line first), as replay mode reads it.
    pub fn to_jsonl(&self) -> String {
        let mut out = serde_json::to_string(&self.header).unwrap_or_default();
        out.push('\n');
        for e in &self.events {
            if let Ok(line) = serde_json::to_string(e) {
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }
}

/// Maps a server's address to a receiver index. In order: the exact address; for a server
/// bound to the unspecified address (0.0.0.0 or ::), its port on the IP address `peer` (where
/// its events came from, when known); then the only receiver with that port.
pub fn match_receiver(receivers: &[String], addr: &str, peer: Option<SocketAddr>) -> Option<u16> {
    if let Some(i) = receivers.iter().position(|r| r == addr) {
        return u16::try_from(i).ok();
    }
    let a: SocketAddr = addr.parse().ok()?;
    let parsed: Vec<Option<SocketAddr>> = receivers.iter().map(|r| r.parse().ok()).collect();
    if let Some(i) = parsed.iter().position(|r| *r == Some(a)) {
        return u16::try_from(i).ok();
    }
    if !a.ip().is_unspecified() {
        return None;
    }
    if let Some(peer) = peer {
        let ip: IpAddr = match peer.ip() {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        if let Some(i) = parsed.iter().position(|r| *r == Some(SocketAddr::new(ip, a.port()))) {
            return u16::try_from(i).ok();
        }
    }
    let mut same_port = parsed.iter().enumerate().filter(|(_, r)| r.is_some_and(|r| r.port() == a.port()));
    match (same_port.next(), same_port.next()) {
        (Some((i, _)), None) => u16::try_from(i).ok(),
        _ => None,
    }
}

/// Rewrites an event that server `from` recorded as receiver index `rx`: `node` and `rx`
/// become that index, and the transmission ids from `from`'s own range move into `rx`'s
/// (ids of other nodes' datagrams, as simulated arrivals carry, are left alone).
pub fn remap_server_event(mut e: TraceEvent, from: Node, rx: u16) -> TraceEvent {
    e.node = Node::Server(rx);
    e.rx = Some(rx);
    if let (Some(TxId(tx)), Node::Server(i)) = (e.tx, from) {
        let base = TxId::base_for(from);
        let end = TxId::base_for(Node::Server(i.saturating_add(1)));
        if (base..end).contains(&tx) || (i == u16::MAX && tx >= base) {
            e.tx = Some(TxId(tx - base + TxId::base_for(Node::Server(rx))));
        }
    }
    e
}

/// Shifts an event's times (its own and a timer's deadline) back by `offset` microseconds,
/// never below 0.
fn shift(mut e: TraceEvent, offset: i64) -> TraceEvent {
    let f = |t: Instant| {
        Instant::from_micros(
            (i128::from(t.total_micros()) - i128::from(offset)).clamp(0, i128::from(i64::MAX)) as u64,
        )
    };
    e.t = f(e.t);
    if let EventKind::TimerArmed { deadline, .. } = &mut e.kind {
        *deadline = f(*deadline);
    }
    e
}

/// What the sender's `transfer_start` says.
struct Transfer<'a> {
    name: &'a str,
    file_size: u64,
    segments: u64,
    events: &'a [TraceEvent],
}

/// A server's events as receiver `rx` and their bounds, or why they cannot be.
fn place(
    t: &Transfer<'_>,
    server: &NodeTrace,
    from: Node,
    rx: u16,
) -> Result<(Vec<TraceEvent>, ClockBounds), String> {
    let events: Vec<TraceEvent> =
        server.events.iter().map(|e| remap_server_event(e.clone(), from, rx)).collect();
    for e in &events {
        match e.kind {
            EventKind::ReceiverFinished { bytes } if bytes != t.file_size => {
                return Err(format!("it received a file of {bytes} bytes, the sender sent {}", t.file_size));
            }
            EventKind::Deliver { .. } | EventKind::Duplicate
                if e.seq.is_some_and(|s| u64::from(s) >= t.segments) =>
            {
                return Err(format!(
                    "it got segment {}, the sender's file has {} segments",
                    e.seq.unwrap_or_default(),
                    t.segments
                ));
            }
            _ => {}
        }
    }
    let b = clock_bounds(t.events.iter().chain(&events), rx.saturating_add(1))
        .get(usize::from(rx))
        .copied()
        .unwrap_or_default();
    let heard =
        events.iter().any(|e| matches!(e.kind, EventKind::Arrive { .. } | EventKind::LossDrop { .. }));
    if heard && b.upper.is_none() {
        return Err("none of its arrivals is of a datagram the sender sent it".into());
    }
    if !b.consistent() {
        return Err(format!(
            "whatever the clock offset, something arrives before it was sent (offset at least {} µs and at most {} µs)",
            b.lower.unwrap_or_default(),
            b.upper.unwrap_or_default()
        ));
    }
    Ok((events, b))
}

/// Merges the traces of one transfer's nodes (the sender's and any number of servers', in any
/// order) into one trace on the sender's clock. See the [module docs](self).
pub fn merge(traces: Vec<NodeTrace>) -> Result<MergedTrace, MergeError> {
    if traces.is_empty() {
        return Err(MergeError::Empty);
    }
    let mut client: Option<usize> = None;
    for (i, tr) in traces.iter().enumerate() {
        let (node, _) = tr.native()?;
        if traces.len() > 1 && tr.events.iter().any(|e| e.node != node) {
            return Err(MergeError::MixedNodes { name: tr.name.clone() });
        }
        if node == Node::Client {
            if let Some(c) = client {
                return Err(MergeError::SeveralSenders {
                    first: traces[c].name.clone(),
                    second: tr.name.clone(),
                });
            }
            client = Some(i);
        }
    }
    let Some(ci) = client else {
        return Err(MergeError::NoSender { names: traces.iter().map(|t| t.name.clone()).collect() });
    };
    let sender = &traces[ci];
    let Some((receivers, file_size, segments)) = sender.events.iter().find_map(|e| match &e.kind {
        EventKind::TransferStart { receivers, file_size, segments, .. } => {
            Some((receivers, *file_size, *segments))
        }
        _ => None,
    }) else {
        return Err(MergeError::NoTransferStart { name: sender.name.clone() });
    };
    let transfer = Transfer { name: &sender.name, file_size, segments, events: &sender.events };
    let different = |name: &str, reason: String| MergeError::DifferentTransfer {
        name: name.to_string(),
        sender: transfer.name.to_string(),
        reason,
    };

    // Receivers named by address first, then the others by timing.
    let mut taken: Vec<Option<usize>> = vec![None; receivers.len()];
    let mut placed: Vec<(usize, u16, bool, Vec<TraceEvent>, ClockBounds)> = Vec::new();
    let mut unmatched = Vec::new();
    for (i, tr) in traces.iter().enumerate().filter(|&(i, _)| i != ci) {
        let (from, addr) = tr.native()?;
        let Some(rx) = match_receiver(receivers, addr, None) else {
            unmatched.push(i);
            continue;
        };
        if let Some(other) = taken[usize::from(rx)] {
            return Err(MergeError::SameReceiver {
                first: traces[other].name.clone(),
                second: tr.name.clone(),
                index: rx,
                addr: receivers[usize::from(rx)].clone(),
            });
        }
        let (events, b) = place(&transfer, tr, from, rx).map_err(|why| different(&tr.name, why))?;
        taken[usize::from(rx)] = Some(i);
        placed.push((i, rx, true, events, b));
    }
    for i in unmatched {
        let tr = &traces[i];
        let (from, addr) = tr.native()?;
        let best = (0..receivers.len())
            .filter(|&r| taken[r].is_none())
            .filter_map(|r| {
                let rx = u16::try_from(r).ok()?;
                let (events, b) = place(&transfer, tr, from, rx).ok()?;
                b.upper?;
                Some((b.tolerance().unwrap_or(u64::MAX), rx, events, b))
            })
            .min_by_key(|c| (c.0, c.1));
        let Some((_, rx, events, b)) = best else {
            return Err(MergeError::NotAReceiver {
                name: tr.name.clone(),
                addr: addr.to_string(),
                receivers: receivers.clone(),
            });
        };
        taken[usize::from(rx)] = Some(i);
        placed.push((i, rx, false, events, b));
    }
    placed.sort_by_key(|p| p.1);

    let mut servers = Vec::with_capacity(placed.len());
    let mut streams: Vec<std::vec::IntoIter<TraceEvent>> = Vec::with_capacity(placed.len() + 1);
    streams.push(sender.events.clone().into_iter());
    for (i, rx, by_address, events, b) in placed {
        let offset = b.offset();
        servers.push(Alignment {
            name: traces[i].name.clone(),
            receiver: rx,
            by_address,
            offset_micros: offset,
            tolerance_micros: b.tolerance(),
        });
        streams.push(events.into_iter().map(|e| shift(e, offset)).collect::<Vec<_>>().into_iter());
    }
    let header = sender
        .header
        .clone()
        .unwrap_or_else(|| TraceHeader::new(TraceSource::Native { node: Node::Client, addr: String::new() }));
    Ok(MergedTrace { header, events: interleave(streams), servers })
}

/// Merges per-node event streams (each in its own order) by time; at equal times a send goes
/// first, then the earlier stream.
fn interleave(streams: Vec<std::vec::IntoIter<TraceEvent>>) -> Vec<TraceEvent> {
    let mut streams: Vec<std::iter::Peekable<_>> = streams.into_iter().map(Iterator::peekable).collect();
    let mut out = Vec::with_capacity(streams.iter().map(|s| s.len()).sum());
    loop {
        let mut best: Option<(usize, (Instant, bool))> = None;
        for (k, s) in streams.iter_mut().enumerate() {
            let Some(e) = s.peek() else { continue };
            let key = (e.t, !matches!(e.kind, EventKind::Send { .. }));
            if best.is_none_or(|(_, b)| key < b) {
                best = Some((k, key));
            }
        }
        let Some((k, _)) = best else { break };
        if let Some(e) = streams[k].next() {
            out.push(e);
        }
    }
    out
}

/// Parses several JSON Lines traces (name, text) and merges them ([`NodeTrace::parse`] then
/// [`merge`]).
pub fn merge_jsonl<'a>(
    files: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<MergedTrace, MergeError> {
    let traces =
        files.into_iter().map(|(name, text)| NodeTrace::parse(name, text)).collect::<Result<Vec<_>, _>>()?;
    merge(traces)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::{LinkConfig, SimConfig, Simulation};
    use core::time::Duration;

    /// A lossy simulated transfer (loss service only: what real nodes record).
    fn simulated(cfg: SimConfig) -> (TraceHeader, Vec<TraceEvent>) {
        let mut sim = Simulation::new(cfg).expect("config");
        sim.run();
        (sim.header(), sim.trace().to_vec())
    }

    fn lossy() -> SimConfig {
        SimConfig {
            file_size: 30_000,
            mss: 500,
            receivers: 3,
            loss: 0.1,
            seed: 5,
            link: LinkConfig::with_delay(Duration::from_millis(2)),
            max_timeouts: 50,
            ..SimConfig::default()
        }
    }

    /// Splits a simulated trace into what each node would record with `--trace-file`: the
    /// client's file as is, and server `i`'s as `server` 0 (as p2mpserver records itself), its
    /// own ids in server 0's range, its clock ahead by `shifts[i]`, addressed as `addrs[i]`.
    fn split(events: &[TraceEvent], receivers: &[String], shifts: &[i64]) -> Vec<NodeTrace> {
        let mut out = vec![NodeTrace {
            name: "client.jsonl".into(),
            header: Some(TraceHeader::new(TraceSource::Native {
                node: Node::Client,
                addr: "127.0.0.1:5000".into(),
            })),
            events: events.iter().filter(|e| e.node == Node::Client).cloned().collect(),
        }];
        for (i, addr) in receivers.iter().enumerate() {
            let i = i as u16;
            let server: Vec<TraceEvent> = events
                .iter()
                .filter(|e| e.node == Node::Server(i))
                .map(|e| {
                    let mut e = remap_server_event(e.clone(), Node::Server(i), 0);
                    e.t = Instant::from_micros((e.t.total_micros() as i64 + shifts[usize::from(i)]) as u64);
                    e
                })
                .collect();
            out.push(NodeTrace {
                name: format!("server{}.jsonl", i + 1),
                header: Some(TraceHeader::new(TraceSource::Native {
                    node: Node::Server(0),
                    addr: addr.clone(),
                })),
                events: server,
            });
        }
        out
    }

    fn receivers_of(events: &[TraceEvent]) -> Vec<String> {
        events
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::TransferStart { receivers, .. } => Some(receivers.clone()),
                _ => None,
            })
            .expect("transfer_start")
    }

    #[test]
    fn split_shifted_and_merged_equals_the_single_trace() {
        let (_, events) = simulated(lossy());
        let receivers = receivers_of(&events);
        let shifts = [250_000, 0, 7_654_321];
        let mut files = split(&events, &receivers, &shifts);
        // Any order of files; servers named by address.
        files.reverse();
        let merged = merge(files).expect("merge");
        assert_eq!(merged.servers.len(), 3);
        for a in &merged.servers {
            assert!(a.by_address);
            // Symmetric constant delays: causality pins the offset exactly.
            assert_eq!(a.offset_micros, shifts[usize::from(a.receiver)], "{a:?}");
            assert!(a.tolerance_micros.is_some_and(|t| t <= 2_000), "{a:?}");
        }
        assert_eq!(merged.events.len(), events.len());
        assert!(merged.events.windows(2).all(|w| w[0].t <= w[1].t), "time order");
        // Each node's events are exactly the simulator's, and the whole is the same multiset
        // in time order: equal up to the order of different nodes' events at one instant.
        for node in [Node::Client, Node::Server(0), Node::Server(1), Node::Server(2)] {
            let a: Vec<_> = merged.events.iter().filter(|e| e.node == node).collect();
            let b: Vec<_> = events.iter().filter(|e| e.node == node).collect();
            assert_eq!(a, b, "{node:?}");
        }
        // The viewer sees the same transfer.
        let model = |ev: &[TraceEvent]| {
            let mut m = crate::view::TraceModel::new();
            ev.iter().cloned().for_each(|e| m.push(e));
            m
        };
        let (m1, m2) = (model(&merged.events), model(&events));
        assert_eq!(m1.summary().clone(), m2.summary().clone());
        assert!(m1.summary().loss_drops > 0, "the seed must give server drops");
        let fates = |m: &crate::view::TraceModel| {
            let mut v: Vec<_> = m.flights.iter().map(|f| (f.tx, f.fate)).collect();
            v.sort_by_key(|x| x.0);
            v
        };
        assert_eq!(fates(&m1), fates(&m2));
        // And it round-trips through JSON Lines.
        let text = merged.to_jsonl();
        let again = merge(vec![NodeTrace::parse("merged.jsonl", &text).expect("parse")]).expect("alone");
        assert_eq!(again.events, merged.events);
    }

    #[test]
    fn jittered_unequal_paths_align_within_the_stated_tolerance() {
        let cfg = SimConfig {
            links: vec![
                LinkConfig {
                    jitter: Duration::from_millis(3),
                    ..LinkConfig::with_delay(Duration::from_millis(4))
                },
                LinkConfig::with_delay(Duration::from_millis(1)),
                LinkConfig {
                    jitter: Duration::from_micros(500),
                    ..LinkConfig::with_delay(Duration::from_millis(9))
                },
            ],
            ..lossy()
        };
        let (_, events) = simulated(cfg);
        let receivers = receivers_of(&events);
        let shifts = [1_000_000, 42, 31_337];
        // Real servers' arrivals cannot name the datagram's id.
        let mut files = split(&events, &receivers, &shifts);
        for f in &mut files {
            for e in &mut f.events {
                if matches!(e.kind, EventKind::Arrive { .. } | EventKind::LossDrop { .. }) {
                    e.tx = None;
                }
            }
        }
        let merged = merge(files).expect("merge");
        for a in &merged.servers {
            let tol = a.tolerance_micros.expect("bounded both ways");
            let err = (a.offset_micros - shifts[usize::from(a.receiver)]).unsigned_abs();
            assert!(err <= tol, "{a:?}: off by {err}");
            assert!(tol <= 15_000, "{a:?}");
        }
        // Every server event lands within its tolerance of the simulator's time.
        let mut by_node: std::collections::HashMap<Node, Vec<&TraceEvent>> = Default::default();
        for e in &events {
            by_node.entry(e.node).or_default().push(e);
        }
        for a in &merged.servers {
            let node = Node::Server(a.receiver);
            let got: Vec<_> = merged.events.iter().filter(|e| e.node == node).collect();
            let want = &by_node[&node];
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(want) {
                assert_eq!(g.kind, w.kind);
                let d = (g.t.total_micros() as i64 - w.t.total_micros() as i64).unsigned_abs();
                assert!(d <= a.tolerance_micros.unwrap_or(0), "{d} µs off");
            }
        }
        assert!(merged.events.windows(2).all(|w| w[0].t <= w[1].t), "time order");
        // Paired by path alone, every loss-service drop still finds its DATA.
        let mut m = crate::view::TraceModel::new();
        merged.events.iter().cloned().for_each(|e| m.push(e));
        let dropped =
            m.flights.iter().filter(|f| matches!(f.fate, crate::view::Fate::LossDrop { .. })).count();
        assert_eq!(dropped as u64, m.summary().loss_drops);
    }

    #[test]
    fn servers_not_named_in_the_list_are_placed_by_timing() {
        let (_, events) = simulated(lossy());
        let receivers = receivers_of(&events);
        // Behind proxies: the client's list names other addresses than the servers' own.
        let proxied: Vec<String> = (0..3).map(|i| format!("10.9.9.{i}:7735")).collect();
        let shifts = [5_000_000, 6_000_000, 7_000_000];
        let mut files = split(&events, &proxied, &shifts);
        files.swap(1, 3);
        let merged = merge(files).expect("merge");
        for a in &merged.servers {
            assert!(!a.by_address);
            assert_eq!(a.offset_micros, shifts[usize::from(a.receiver)], "{a:?}");
        }
        assert_eq!(
            merged.servers.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
            ["server1.jsonl", "server2.jsonl", "server3.jsonl"]
        );
        assert_eq!(receivers.len(), 3);
    }

    #[test]
    fn files_of_different_transfers_or_without_a_sender_are_refused() {
        let (_, a) = simulated(lossy());
        let (_, b) = simulated(SimConfig { seed: 99, ..lossy() });
        let ra = receivers_of(&a);
        let fa = split(&a, &ra, &[0, 0, 0]);
        let fb = split(&b, &ra, &[0, 0, 0]);

        // Another run's server 2 beside this run's client: timing contradicts.
        let err = merge(vec![fa[0].clone(), fa[1].clone(), fb[2].clone()]).unwrap_err();
        assert!(
            matches!(&err, MergeError::DifferentTransfer { name, .. } if name == "server2.jsonl"),
            "{err}"
        );
        assert!(err.to_string().starts_with("server2.jsonl: not the same transfer as client.jsonl"), "{err}");

        // Another file length.
        let (_, c) = simulated(SimConfig { file_size: 20_000, ..lossy() });
        let fc = split(&c, &ra, &[0, 0, 0]);
        let err = merge(vec![fa[0].clone(), fc[1].clone()]).unwrap_err();
        assert!(err.to_string().contains("20000 bytes"), "{err}");

        // No sender; two senders; one receiver twice; a stranger.
        let err = merge(fa[1..].to_vec()).unwrap_err();
        assert_eq!(
            err,
            MergeError::NoSender {
                names: vec!["server1.jsonl".into(), "server2.jsonl".into(), "server3.jsonl".into()]
            }
        );
        let mut two = fa[0].clone();
        two.name = "other-client.jsonl".into();
        assert!(matches!(merge(vec![fa[0].clone(), two]), Err(MergeError::SeveralSenders { .. })));
        let mut dup = fa[1].clone();
        dup.name = "copy.jsonl".into();
        assert!(matches!(
            merge(vec![fa[0].clone(), fa[1].clone(), dup]),
            Err(MergeError::SameReceiver { index: 0, .. })
        ));
        let mut stranger = fb[1].clone();
        stranger.header =
            Some(TraceHeader::new(TraceSource::Native { node: Node::Server(0), addr: "192.0.2.1:1".into() }));
        let err =
            merge(vec![fa[0].clone(), fa[1].clone(), fa[2].clone(), fa[3].clone(), stranger]).unwrap_err();
        assert!(matches!(err, MergeError::NotAReceiver { .. }), "{err}");

        // A simulated trace, a header-less file, an unparsable line: each named.
        let sim =
            NodeTrace { name: "sim.jsonl".into(), header: Some(simulated(lossy()).0), events: Vec::new() };
        assert_eq!(merge(vec![sim, fa[1].clone()]), Err(MergeError::Simulated { name: "sim.jsonl".into() }));
        let err = NodeTrace::parse(
            "bad.jsonl",
            "{\"schema\":1,\"source\":{\"kind\":\"native\",\"node\":\"client\",\"addr\":\"x\"}}\nnot json\n",
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("bad.jsonl: line 2:"), "{err}");
        let bare = NodeTrace::parse("bare.jsonl", "").expect("empty parses");
        assert_eq!(merge(vec![bare]), Err(MergeError::NoHeader { name: "bare.jsonl".into() }));
        assert_eq!(merge(Vec::new()), Err(MergeError::Empty));
    }

    #[test]
    fn hub_style_remap_moves_only_the_servers_own_ids() {
        let own = TraceEvent::new(Instant::ZERO, Node::Server(0), EventKind::Duplicate)
            .tx(Some(TxId(TxId::base_for(Node::Server(0)) + 7)));
        let m = remap_server_event(own, Node::Server(0), 2);
        assert_eq!(
            (m.node, m.rx, m.tx),
            (Node::Server(2), Some(2), Some(TxId(TxId::base_for(Node::Server(2)) + 7)))
        );
        let clients =
            TraceEvent::new(Instant::ZERO, Node::Server(0), EventKind::Duplicate).tx(Some(TxId(12)));
        assert_eq!(remap_server_event(clients, Node::Server(0), 2).tx, Some(TxId(12)));
    }

    #[test]
    fn receivers_are_matched_by_address_then_peer_then_port() {
        let rs: Vec<String> =
            ["127.0.0.1:7735", "127.0.0.2:7735", "10.0.0.9:9000"].map(String::from).to_vec();
        assert_eq!(match_receiver(&rs, "127.0.0.2:7735", None), Some(1));
        assert_eq!(match_receiver(&rs, "0.0.0.0:9000", None), Some(2));
        assert_eq!(match_receiver(&rs, "0.0.0.0:7735", None), None);
        let peer: SocketAddr = "127.0.0.2:40000".parse().expect("addr");
        assert_eq!(match_receiver(&rs, "0.0.0.0:7735", Some(peer)), Some(1));
        assert_eq!(match_receiver(&rs, "192.168.1.1:7735", Some(peer)), None);
    }
}
