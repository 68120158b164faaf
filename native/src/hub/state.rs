//! The hub's shared state: publishers, the current transfer, the reorder buffer, the backlog
//! and the viewers.
//!
//! Publishers send events on their own clock rebased to Unix-epoch microseconds (see
//! [`crate::publish`]). The client's `transfer_start` opens a transfer: its time becomes 0, its
//! `receivers` list names the receiver indices. Each server publisher is mapped to an index by
//! its address (see [`match_receiver`]), its events get that index in `node` and `rx`, its
//! transmission ids are moved into that index's range
//! ([`p2mp_core::merge::remap_server_event`]), and its clock is aligned on the client's with
//! [`p2mp_core::view::clock_offsets`]. Events then wait in a short reorder buffer and are
//! released to the viewers in time order. ([`p2mp_core::merge`] does the same offline, for
//! the nodes' trace files.)

pub use p2mp_core::merge::match_receiver;
use p2mp_core::trace::{TraceHeader, TraceLine, TraceSource, SCHEMA_VERSION};
use p2mp_core::{EventKind, Instant, Node, TraceEvent};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Server events buffered per publisher while the hub waits for the client's `transfer_start`.
pub const EARLY_EVENTS_MAX: usize = 50_000;
/// Events of a transfer kept for clock-offset estimation (the first ones carry the evidence).
const CALIBRATION_MAX: usize = 20_000;
/// Events kept in a transfer's backlog for late viewers; beyond, late viewers see a prefix.
pub const BACKLOG_LINES_MAX: usize = 2_000_000;
/// Target size of one message to viewers.
const MESSAGE_TARGET: usize = 256 * 1024;
/// Rejected lines logged per publisher (the rest are only counted).
const REJECT_LOG_MAX: u64 = 5;
/// Rejection notices kept for [`Shared::rejections`] (the most recent ones).
pub const REJECTIONS_KEPT: usize = 32;

/// The demo's hook for `POST /api/again`.
#[derive(Clone, Debug)]
pub struct AgainHook {
    /// Asks the demo for one more transfer.
    pub tx: mpsc::Sender<()>,
    /// Set while a transfer runs (by the hub when it accepts a request, cleared by the demo).
    pub busy: Arc<AtomicBool>,
}

/// What `POST /api/again` did.
#[derive(Debug, PartialEq, Eq)]
pub enum AgainOutcome {
    /// A transfer was started.
    Started,
    /// One is running already.
    Busy,
    /// This hub is not a demo's.
    NotHere,
}

struct Publisher {
    header: Option<(Node, String)>,
    peer: Option<SocketAddr>,
    /// The transfer generation and receiver index this publisher feeds, once known.
    bound: Option<(u64, u16)>,
    /// The transfer generation when it connected.
    opened_at: u64,
    early: VecDeque<TraceEvent>,
    early_dropped: u64,
    rejected: u64,
}

struct Transfer {
    generation: u64,
    t0: u64,
    receivers: Vec<String>,
    calibration: Vec<TraceEvent>,
    calibration_dirty: bool,
    offsets: Vec<i64>,
    ended: bool,
}

struct Pending {
    t: u64,
    order: u64,
    ready_at: std::time::Instant,
    event: TraceEvent,
}

impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        (self.t, self.order) == (o.t, o.order)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.t, self.order).cmp(&(o.t, o.order))
    }
}

struct Viewer {
    id: u64,
    peer: Option<SocketAddr>,
    tx: mpsc::Sender<Utf8Bytes>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    generation: u64,
    publishers: HashMap<u64, Publisher>,
    transfer: Option<Transfer>,
    pending: BinaryHeap<Reverse<Pending>>,
    order: u64,
    last_released: u64,
    backlog: Vec<Utf8Bytes>,
    backlog_lines: usize,
    backlog_full_logged: bool,
    viewers: Vec<Viewer>,
    rejected: u64,
    rejections: VecDeque<String>,
}

impl State {
    /// Counts a rejection and keeps its notice (the last [`REJECTIONS_KEPT`]).
    fn record_rejection(&mut self, notice: String) {
        self.rejected += 1;
        if self.rejections.len() >= REJECTIONS_KEPT {
            self.rejections.pop_front();
        }
        self.rejections.push_back(notice);
    }
}

/// Counters, for tests and logs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HubStats {
    /// Viewers connected now.
    pub viewers: usize,
    /// Publishers connected now.
    pub publishers: usize,
    /// Events released to viewers in the current transfer.
    pub released: usize,
    /// Transfers seen.
    pub transfers: u64,
    /// Trace lines and binary messages rejected from publishers since the hub started, each
    /// with a reason (see [`Shared::rejections`]); none of them reached a viewer.
    pub rejected: u64,
}

/// The state shared by every connection of one hub.
pub struct Shared {
    state: Mutex<State>,
    hold: Duration,
    viewer_queue: usize,
    again: Option<AgainHook>,
    quiet: bool,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("hold", &self.hold).finish_non_exhaustive()
    }
}

/// A viewer's subscription: what happened so far, then a queue of live messages.
pub struct Subscription {
    /// Id, to unsubscribe.
    pub id: u64,
    /// The current transfer's header and events so far, as messages.
    pub backlog: Vec<Utf8Bytes>,
    /// Live messages; closed when the hub drops a viewer that does not keep up.
    pub rx: mpsc::Receiver<Utf8Bytes>,
}

impl Shared {
    /// New state: events wait `hold` in the reorder buffer; each viewer queues at most
    /// `viewer_queue` messages.
    pub fn new(hold: Duration, viewer_queue: usize, again: Option<AgainHook>, quiet: bool) -> Self {
        Shared { state: Mutex::new(State::default()), hold, viewer_queue: viewer_queue.max(1), again, quiet }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent-enough state for a viewer hub.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Logs a notice on stderr (unless quiet).
    pub fn log(&self, msg: &str) {
        if !self.quiet {
            eprintln!("p2mp ui: {msg}");
        }
    }

    /// Current counters.
    pub fn stats(&self) -> HubStats {
        let s = self.lock();
        HubStats {
            viewers: s.viewers.len(),
            publishers: s.publishers.len(),
            released: s.backlog_lines,
            transfers: s.generation,
            rejected: s.rejected,
        }
    }

    /// The most recent rejection notices (at most [`REJECTIONS_KEPT`]), oldest first, in the
    /// words of the hub's log line without its `p2mp ui: ` prefix, e.g. `rejected a trace line
    /// from Client at 127.0.0.1:5000: a second header line`. Kept even when the hub is quiet
    /// and beyond the first five per publisher that are logged.
    pub fn rejections(&self) -> Vec<String> {
        self.lock().rejections.iter().cloned().collect()
    }

    /// Rejects a whole message from a publisher (`what` it is, e.g. "binary message", and
    /// `why`): counted, kept for [`Shared::rejections`] and logged.
    pub fn reject_message(&self, peer: Option<SocketAddr>, what: &str, why: &str) {
        let notice = format!("rejected a {what} from publisher {}: {why}", fmt_peer(peer));
        self.lock().record_rejection(notice.clone());
        self.log(&notice);
    }

    /// Handles `POST /api/again`.
    pub fn again(&self) -> AgainOutcome {
        let Some(hook) = &self.again else { return AgainOutcome::NotHere };
        if hook.busy.compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst).is_err() {
            return AgainOutcome::Busy;
        }
        match hook.tx.try_send(()) {
            Ok(()) => AgainOutcome::Started,
            Err(_) => {
                hook.busy.store(false, Ordering::SeqCst);
                AgainOutcome::Busy
            }
        }
    }

    /// Registers a viewer.
    pub fn subscribe(&self, peer: Option<SocketAddr>) -> Subscription {
        let (tx, rx) = mpsc::channel(self.viewer_queue);
        let mut s = self.lock();
        s.next_id += 1;
        let id = s.next_id;
        s.viewers.push(Viewer { id, peer, tx });
        Subscription { id, backlog: s.backlog.clone(), rx }
    }

    /// Removes a viewer (it went away).
    pub fn unsubscribe(&self, id: u64) {
        self.lock().viewers.retain(|v| v.id != id);
    }

    /// Registers a publisher; `peer` is its network address (None in-process).
    pub fn open_publisher(&self, peer: Option<SocketAddr>) -> u64 {
        let mut s = self.lock();
        s.next_id += 1;
        let id = s.next_id;
        let opened_at = s.generation;
        s.publishers.insert(
            id,
            Publisher {
                header: None,
                peer,
                bound: None,
                opened_at,
                early: VecDeque::new(),
                early_dropped: 0,
                rejected: 0,
            },
        );
        id
    }

    /// Removes a publisher, logging what it lost.
    pub fn close_publisher(&self, id: u64) {
        let p = self.lock().publishers.remove(&id);
        if let Some(p) = p {
            if p.rejected > 0 || p.early_dropped > 0 || (p.bound.is_none() && !p.early.is_empty()) {
                let who =
                    p.header.as_ref().map_or("a publisher".to_string(), |(n, a)| format!("{n:?} at {a}"));
                self.log(&format!(
                    "{who} left: {} lines rejected, {} events dropped (no transfer to attach them to)",
                    p.rejected,
                    p.early_dropped + if p.bound.is_none() { p.early.len() as u64 } else { 0 }
                ));
            }
        }
    }

    /// Ingests one message of JSON Lines from publisher `id`. Lines that do not parse, or do
    /// not fit (an event before the header, a second header, an event of another node), are
    /// rejected with a logged reason and never forwarded. Returns the number rejected.
    pub fn ingest(&self, id: u64, text: &str) -> usize {
        // Parse outside the lock.
        let mut lines = Vec::new();
        let mut bad = Vec::new();
        for (i, line) in text.split('\n').enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match serde_json::from_str::<TraceLine>(line) {
                Ok(l) => lines.push(l),
                Err(e) => bad.push(format!("line {} does not parse: {e}", i + 1)),
            }
        }
        let mut s = self.lock();
        let s = &mut *s;
        let Some(p) = s.publishers.get_mut(&id) else { return bad.len() + lines.len() };
        let mut accepted: Vec<TraceEvent> = Vec::with_capacity(lines.len());
        for l in lines {
            match l {
                TraceLine::Header(h) => {
                    if p.header.is_some() {
                        bad.push("a second header line".into());
                    } else {
                        match check_header(&h) {
                            Ok(hdr) => p.header = Some(hdr),
                            Err(why) => bad.push(why),
                        }
                    }
                }
                TraceLine::Event(e) => match &p.header {
                    None => bad.push("an event before the header line".into()),
                    Some((node, _)) if e.node != *node => {
                        bad.push(format!("an event of {:?} from a publisher of {node:?}", e.node))
                    }
                    Some(_) => accepted.push(e),
                },
            }
        }
        let rejected = bad.len();
        if rejected > 0 {
            let before = p.rejected;
            p.rejected += rejected as u64;
            let who = p
                .header
                .as_ref()
                .map_or_else(|| format!("publisher {}", fmt_peer(p.peer)), |(n, a)| format!("{n:?} at {a}"));
            let to_log = REJECT_LOG_MAX.saturating_sub(before) as usize;
            for (i, why) in bad.iter().enumerate() {
                let notice = format!("rejected a trace line from {who}: {why}");
                if i < to_log {
                    self.log(&notice);
                }
                s.record_rejection(notice);
            }
        }
        for e in accepted {
            ingest_event(s, id, e, self.hold);
        }
        rejected
    }

    /// Releases the events that have waited long enough, in time order, to every viewer and
    /// into the backlog. Called periodically.
    pub fn tick(&self) {
        let now = std::time::Instant::now();
        let mut s = self.lock();
        let s = &mut *s;
        if let Some(tr) = &mut s.transfer {
            if tr.calibration_dirty {
                tr.offsets = p2mp_core::view::clock_offsets(&tr.calibration, tr.receivers.len() as u16);
                tr.calibration_dirty = false;
            }
        }
        let mut out = Vec::new();
        while let Some(Reverse(top)) = s.pending.peek() {
            if top.ready_at > now {
                break;
            }
            let Some(Reverse(mut p)) = s.pending.pop() else { break };
            // Something that arrived too late for its place still goes out, at the latest time
            // released so far: viewers need time order.
            let t = p.t.max(s.last_released);
            s.last_released = t;
            p.event.t = Instant::from_micros(t);
            out.push(p.event);
        }
        if out.is_empty() {
            return;
        }
        let lines: Vec<String> = out.iter().filter_map(|e| serde_json::to_string(e).ok()).collect();
        for msg in pack(&lines) {
            broadcast(s, msg, lines.len(), self);
        }
    }
}

fn fmt_peer(p: Option<SocketAddr>) -> String {
    p.map_or_else(|| "in-process".to_string(), |a| a.to_string())
}

fn check_header(h: &TraceHeader) -> Result<(Node, String), String> {
    if h.schema != SCHEMA_VERSION {
        return Err(format!("schema version {} is not supported (expected {SCHEMA_VERSION})", h.schema));
    }
    match &h.source {
        TraceSource::Native { node, addr } => Ok((*node, addr.clone())),
        TraceSource::Simulated { .. } => Err("a simulated trace cannot be published live".into()),
    }
}

/// Joins lines into messages of about [`MESSAGE_TARGET`] bytes.
fn pack(lines: &[String]) -> Vec<Utf8Bytes> {
    let mut msgs = Vec::new();
    let mut cur = String::new();
    for l in lines {
        if !cur.is_empty() && cur.len() + l.len() + 1 > MESSAGE_TARGET {
            msgs.push(Utf8Bytes::from(std::mem::take(&mut cur)));
        }
        if !cur.is_empty() {
            cur.push('\n');
        }
        cur.push_str(l);
    }
    if !cur.is_empty() {
        msgs.push(Utf8Bytes::from(cur));
    }
    msgs
}

/// Sends `msg` to every viewer (dropping those whose queue is full) and appends it to the
/// backlog (`lines` lines).
fn broadcast(s: &mut State, msg: Utf8Bytes, lines: usize, shared: &Shared) {
    s.viewers.retain(|v| match v.tx.try_send(msg.clone()) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            shared.log(&format!(
                "dropped viewer {} ({}): it does not keep up (its queue of {} messages is full)",
                v.id,
                fmt_peer(v.peer),
                shared.viewer_queue
            ));
            false
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    });
    if s.backlog_lines + lines <= BACKLOG_LINES_MAX {
        s.backlog.push(msg);
        s.backlog_lines += lines;
    } else if !s.backlog_full_logged {
        s.backlog_full_logged = true;
        shared.log("the transfer's backlog is full: viewers joining from now on see only its beginning");
    }
}

fn ingest_event(s: &mut State, id: u64, e: TraceEvent, hold: Duration) {
    let Some(p) = s.publishers.get(&id) else { return };
    let Some((node, addr)) = p.header.clone() else { return };
    let bound = p.bound;
    let current = s.transfer.as_ref().map(|t| t.generation);
    match node {
        Node::Client => {
            if let EventKind::TransferStart { receivers, .. } = &e.kind {
                start_transfer(s, id, e.t.total_micros(), receivers.clone(), &addr);
                push(s, e, None, hold);
                // Servers that published before the client: attach them now.
                let ids: Vec<u64> = s.publishers.keys().copied().collect();
                for pid in ids {
                    try_bind(s, pid, hold);
                }
                return;
            }
            if bound.is_some() && bound.map(|b| b.0) == current {
                if matches!(e.kind, EventKind::TransferEnd { .. }) {
                    if let Some(tr) = &mut s.transfer {
                        tr.ended = true;
                    }
                }
                push(s, e, None, hold);
            }
        }
        Node::Server(_) => match bound {
            None => {
                if let Some(p) = s.publishers.get_mut(&id) {
                    if p.early.len() >= EARLY_EVENTS_MAX {
                        p.early_dropped += 1;
                    } else {
                        p.early.push_back(e);
                    }
                }
                try_bind(s, id, hold);
            }
            Some((g, rx)) => {
                if Some(g) == current {
                    push(s, e, Some((node, rx)), hold);
                }
            }
        },
    }
}

fn start_transfer(s: &mut State, client: u64, t0: u64, receivers: Vec<String>, addr: &str) {
    // Whatever the previous transfer still holds goes out first, at once.
    let rest: Vec<Pending> = std::iter::from_fn(|| s.pending.pop().map(|Reverse(p)| p)).collect();
    if !rest.is_empty() {
        let lines: Vec<String> = rest
            .into_iter()
            .map(|mut p| {
                let t = p.t.max(s.last_released);
                s.last_released = t;
                p.event.t = Instant::from_micros(t);
                p.event
            })
            .filter_map(|e| serde_json::to_string(&e).ok())
            .collect();
        let viewers = std::mem::take(&mut s.viewers);
        let msgs = pack(&lines);
        s.viewers =
            viewers.into_iter().filter(|v| msgs.iter().all(|m| v.tx.try_send(m.clone()).is_ok())).collect();
    }
    s.generation += 1;
    let n = receivers.len();
    s.transfer = Some(Transfer {
        generation: s.generation,
        t0,
        receivers,
        calibration: Vec::new(),
        calibration_dirty: false,
        offsets: vec![0; n],
        ended: false,
    });
    s.last_released = 0;
    s.backlog.clear();
    s.backlog_lines = 0;
    s.backlog_full_logged = false;
    if let Some(p) = s.publishers.get_mut(&client) {
        p.bound = Some((s.generation, 0));
    }
    let header = TraceHeader::new(TraceSource::Native { node: Node::Client, addr: addr.to_string() });
    let line = serde_json::to_string(&header).unwrap_or_default();
    let msg = Utf8Bytes::from(line);
    s.viewers.retain(|v| v.tx.try_send(msg.clone()).is_ok());
    s.backlog.push(msg);
}

fn try_bind(s: &mut State, id: u64, hold: Duration) {
    let Some(tr) = &s.transfer else { return };
    let generation = tr.generation;
    let Some(p) = s.publishers.get_mut(&id) else { return };
    let Some((node @ Node::Server(_), addr)) = p.header.clone() else { return };
    if p.bound.is_some() {
        return;
    }
    // A transfer that started before this publisher appeared and is over already is not its
    // own (a demo's next transfer reuses the addresses): wait for the next one.
    if tr.ended && tr.generation <= p.opened_at {
        return;
    }
    let Some(rx) = match_receiver(&tr.receivers, &addr, p.peer) else { return };
    p.bound = Some((generation, rx));
    let early: Vec<TraceEvent> = p.early.drain(..).collect();
    if let Some(tr) = &mut s.transfer {
        tr.calibration_dirty = true;
    }
    for e in early {
        push(s, e, Some((node, rx)), hold);
    }
    if let Some(tr) = &mut s.transfer {
        tr.offsets = p2mp_core::view::clock_offsets(&tr.calibration, tr.receivers.len() as u16);
        tr.calibration_dirty = false;
    }
}

/// Queues an event of the current transfer (`server`: the publisher's node and the receiver
/// index, for server events) in the reorder buffer.
fn push(s: &mut State, e: TraceEvent, server: Option<(Node, u16)>, hold: Duration) {
    let Some(tr) = &mut s.transfer else { return };
    let e = match server {
        Some((from, rx)) => p2mp_core::merge::remap_server_event(e, from, rx),
        None => e,
    };
    let raw = e.t.total_micros();
    if tr.calibration.len() < CALIBRATION_MAX {
        tr.calibration.push(e.clone());
        if server.is_some() {
            tr.calibration_dirty = true;
        }
    }
    let offset = server.and_then(|(_, rx)| tr.offsets.get(usize::from(rx)).copied()).unwrap_or(0);
    let shift =
        |t: u64| (i128::from(t) - i128::from(offset) - i128::from(tr.t0)).clamp(0, i128::from(u64::MAX >> 1));
    let rel = shift(raw);
    let mut e = e;
    if let EventKind::TimerArmed { deadline, .. } = &mut e.kind {
        *deadline = Instant::from_micros(shift(deadline.total_micros()) as u64);
    }
    s.order += 1;
    let ready_at = std::time::Instant::now() + hold;
    s.pending.push(Reverse(Pending { t: rel as u64, order: s.order, ready_at, event: e }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_packed_under_the_target() {
        let lines: Vec<String> = (0..10_000).map(|i| format!("{{\"n\":{i:0>60}}}")).collect();
        let msgs = pack(&lines);
        assert!(msgs.len() > 1);
        assert!(msgs.iter().all(|m| m.len() <= MESSAGE_TARGET));
        let n: usize = msgs.iter().map(|m| m.split('\n').count()).sum();
        assert_eq!(n, lines.len());
    }
}
