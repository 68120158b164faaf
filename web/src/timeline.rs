//! An index of a trace built alongside the core's [`TraceModel`]: what the ladder diagram needs
//! beyond flights (retransmission timers, their expiries, completed segments, receivers'
//! outcomes) and the bounds that let it draw only the visible time window.
//!
//! Everything here is updated incrementally, one event at a time, so a live source that streams
//! hundreds of thousands of events costs O(1) per event.

use p2mp_core::trace::{EventKind, Node, TraceEvent, TxId};
use p2mp_core::view::{Fate, Flight, TraceModel};
use p2mp_core::{Outcome, PacketKind};
use std::collections::HashMap;

/// How a retransmission timer ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerEnd {
    /// The receiver acknowledged in time (or the segment completed).
    Stopped,
    /// It expired: a timeout.
    Fired,
}

/// One armed retransmission timer of the client, for one receiver and one segment.
#[derive(Clone, Debug, PartialEq)]
pub struct TimerSpan {
    /// The receiver it waits for.
    pub rx: u16,
    /// The segment.
    pub seq: Option<u32>,
    /// When it was armed (microseconds).
    pub armed: u64,
    /// When it would fire.
    pub deadline: u64,
    /// When and how it ended, once it did.
    pub end: Option<(u64, TimerEnd)>,
}

/// A timer expiry and what followed from it.
#[derive(Clone, Debug, PartialEq)]
pub struct Expiry {
    /// When (microseconds).
    pub t: u64,
    /// The segment.
    pub seq: Option<u32>,
    /// The sequence field the client printed.
    pub field: u32,
    /// Receivers that get the retransmission.
    pub resend_to: Vec<u16>,
    /// Receivers declared failed by this expiry.
    pub failed: Vec<u16>,
}

/// Marks on the timeline that are not flights.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    /// Every timer, in arming order.
    pub timers: Vec<TimerSpan>,
    /// Every timer expiry, in time order.
    pub expiries: Vec<Expiry>,
    /// `(time, segment)` of every completed segment, in order.
    pub completes: Vec<(u64, u32)>,
    /// `(time, receiver, outcome)` as the client saw receivers finish or fail.
    pub outcomes: Vec<(u64, u16, Outcome)>,
    /// Longest send-to-fate time of any resolved flight scanned so far (microseconds).
    pub max_lifetime: u64,
    /// Flights before this index have been scanned for [`Timeline::max_lifetime`].
    pub scanned: usize,
    /// Longest timer (deadline minus arming time) so far (microseconds).
    pub max_timer: u64,
    /// Send-to-arrival times of the first arrived flights, to estimate the one-way delay.
    delay_samples: Vec<u64>,
    open_timers: HashMap<u16, usize>,
    /// Arrival times of datagrams still on the wire, when an incremental source (the
    /// simulator) knows them: their strokes move at their true speed.
    pub arrivals: HashMap<TxId, u64>,
}

/// A flight unresolved this long after the latest event counts as silently lost.
const STALE_MICROS: u64 = 30_000_000;
/// Delay samples kept for [`Timeline::typical_delay`].
const DELAY_SAMPLES: usize = 64;

impl Timeline {
    /// Folds one event in (the same event just pushed into the model).
    pub fn apply(&mut self, e: &TraceEvent) {
        let t = e.t.total_micros();
        match &e.kind {
            EventKind::TimerArmed { deadline, .. } => {
                let rx = e.rx.unwrap_or(0);
                self.close_timer(rx, t, TimerEnd::Stopped);
                self.max_timer = self.max_timer.max(deadline.total_micros().saturating_sub(t));
                self.open_timers.insert(rx, self.timers.len());
                self.timers.push(TimerSpan {
                    rx,
                    seq: e.seq,
                    armed: t,
                    deadline: deadline.total_micros(),
                    end: None,
                });
            }
            EventKind::TimerFired { field, receivers } => {
                for &rx in receivers {
                    self.close_timer(rx, t, TimerEnd::Fired);
                }
                self.expiries.push(Expiry {
                    t,
                    seq: e.seq,
                    field: *field,
                    resend_to: receivers.clone(),
                    failed: Vec::new(),
                });
            }
            EventKind::ReceiverFailed { .. } if e.node == Node::Client => {
                let rx = e.rx.unwrap_or(0);
                self.close_timer(rx, t, TimerEnd::Fired);
                if let Some(x) = self.expiries.last_mut().filter(|x| x.t == t) {
                    x.failed.push(rx);
                }
                self.outcomes.push((t, rx, Outcome::Failed));
            }
            EventKind::Arrive { packet: PacketKind::Ack | PacketKind::Fin, .. } if e.node == Node::Client => {
                if let Some(rx) = e.rx {
                    let matches = self
                        .open_timers
                        .get(&rx)
                        .and_then(|&i| self.timers.get(i))
                        .is_some_and(|s| e.seq.is_none() || s.seq.is_none() || s.seq == e.seq);
                    if matches {
                        self.close_timer(rx, t, TimerEnd::Stopped);
                    }
                }
            }
            EventKind::SegmentComplete => {
                let open: Vec<u16> = self.open_timers.keys().copied().collect();
                for rx in open {
                    self.close_timer(rx, t, TimerEnd::Stopped);
                }
                self.completes.push((t, e.seq.unwrap_or(0)));
            }
            EventKind::ReceiverFinished { .. } if e.node == Node::Client => {
                let rx = e.rx.unwrap_or(0);
                self.close_timer(rx, t, TimerEnd::Stopped);
                self.outcomes.push((t, rx, Outcome::Finished));
            }
            _ => {}
        }
    }

    fn close_timer(&mut self, rx: u16, t: u64, how: TimerEnd) {
        if let Some(i) = self.open_timers.remove(&rx) {
            if let Some(s) = self.timers.get_mut(i) {
                s.end = Some((t, how));
            }
        }
    }

    /// Advances the lifetime scan over flights whose fate is known (or that are stale).
    /// Amortised O(1) per flight; call after a batch of events.
    pub fn scan_flights(&mut self, flights: &[Flight], t_last: u64) {
        while let Some(f) = flights.get(self.scanned) {
            let sent = f.sent.total_micros();
            match f.fate {
                Fate::InFlight if sent.saturating_add(STALE_MICROS) > t_last => break,
                Fate::InFlight => {}
                fate => {
                    let at = fate.at().map_or(sent, |a| a.total_micros());
                    let life = at.saturating_sub(sent);
                    self.max_lifetime = self.max_lifetime.max(life);
                    if matches!(fate, Fate::Arrived { .. }) && self.delay_samples.len() < DELAY_SAMPLES {
                        self.delay_samples.push(life);
                    }
                }
            }
            self.scanned += 1;
        }
    }

    /// A typical one-way delay (median of the first arrivals), at least 1 µs; 1 ms if unknown.
    pub fn typical_delay(&self) -> u64 {
        if self.delay_samples.is_empty() {
            return 1000;
        }
        let mut s = self.delay_samples.clone();
        s.sort_unstable();
        s[s.len() / 2].max(1)
    }

    /// The timers that overlap `[from, to]` (armed at or before `to`, ended at or
    /// after `from` or still running).
    pub fn timers_between(&self, from: u64, to: u64) -> impl Iterator<Item = &TimerSpan> {
        // Timers are armed in time order; none runs past its deadline.
        let start = from.saturating_sub(self.max_timer);
        let lo = self.timers.partition_point(|s| s.armed < start);
        let hi = self.timers.partition_point(|s| s.armed <= to);
        self.timers[lo..hi.max(lo)].iter().filter(move |s| s.end.map_or(s.deadline, |(t, _)| t) >= from)
    }

    /// The expiries in `[from, to]`.
    pub fn expiries_between(&self, from: u64, to: u64) -> &[Expiry] {
        let lo = self.expiries.partition_point(|x| x.t < from);
        let hi = self.expiries.partition_point(|x| x.t <= to);
        &self.expiries[lo..hi.max(lo)]
    }

    /// The segment completions in `[from, to]`.
    pub fn completes_between(&self, from: u64, to: u64) -> &[(u64, u32)] {
        let lo = self.completes.partition_point(|c| c.0 < from);
        let hi = self.completes.partition_point(|c| c.0 <= to);
        &self.completes[lo..hi.max(lo)]
    }
}

/// Indices of the flights a diagram of `[from, to]` draws: exactly those of
/// [`TraceModel::flights_between`], found without scanning the whole trace (only flights sent
/// within the longest flight lifetime before `from`), except that flights never resolved and
/// older than that are left out as lost without a trace.
pub fn visible_flights(model: &TraceModel, index: &Timeline, from: u64, to: u64) -> std::ops::Range<usize> {
    let flights = &model.flights;
    let start = from.saturating_sub(index.max_lifetime);
    let lo = flights.partition_point(|f| f.sent.total_micros() < start).min(index.scanned);
    let hi = flights.partition_point(|f| f.sent.total_micros() <= to);
    lo..hi.max(lo)
}

/// Whether flight `f` belongs in a diagram of `[from, to]` (the filter of
/// [`TraceModel::flights_between`]).
pub fn flight_overlaps(f: &Flight, from: u64, to: u64) -> bool {
    let sent = f.sent.total_micros();
    sent <= to && (sent >= from || f.fate.at().is_none_or(|at| at.total_micros() >= from))
}

/// Goodput over time: `bins` equal bins over `[t0, t1]`, each the bytes of the segments
/// completed in it per second (every segment counted as `mss` bytes).
pub fn throughput_bins(completes: &[(u64, u32)], t0: u64, t1: u64, bins: usize, mss: u32) -> Vec<f64> {
    let mut out = vec![0.0; bins];
    if bins == 0 || t1 <= t0 {
        return out;
    }
    let span = (t1 - t0) as f64;
    let width_s = span / bins as f64 / 1e6;
    for &(t, _) in completes {
        if t < t0 || t > t1 {
            continue;
        }
        let b = (((t - t0) as f64 / span) * bins as f64) as usize;
        out[b.min(bins - 1)] += f64::from(mss) / width_s;
    }
    out
}
