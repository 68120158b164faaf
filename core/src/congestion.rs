//! Congestion response of the windowed senders: model-based pacing in the style of BBR
//! (Cardwell et al., "BBR: Congestion-Based Congestion Control", ACM Queue 2016).
//!
//! Why not loss-halving AIMD (Reno/CUBIC)? The classic protocol's receivers drop segments on
//! purpose (the loss service, p up to 0.5), and that loss says nothing about a full queue. An
//! AIMD sender that halves on every loss settles at about 1.22 / sqrt(p) segments per round trip
//! (Mathis et al.): at p = 0.05 that is 5 segments, an eighth of a 64-segment window, so a lossy
//! receiver would throttle everyone. Instead the controller measures what each receiver actually
//! takes (acknowledged segments per second), paces new segments at the slowest live receiver's
//! rate and caps the window at twice the bandwidth-delay product. Random loss barely moves the
//! delivery rate (retransmissions are delivered too); an overrun path or receiver does: its queue
//! overflows, its delivery rate stops growing, and the pacing rate follows it down. So the rate
//! adapts to loss that matters, through the delivery rate, not to each lost datagram.
//!
//! Phases, as BBR v1: *startup* (pacing gain 2.89, the window grows about 2.89x per round until
//! the bottleneck rate stops growing by 25% for three rounds), *drain* (one round at 1/2.89 to
//! empty the queue startup built), then *probe bandwidth* (gains 1.25, 0.75, then 1 for six
//! rounds, repeating). Simplifications: a round is a fixed interval (the minimum RTT, at least
//! [`MIN_ROUND`]) rather than a packet-timed round trip, there is no ProbeRTT phase (transfers
//! are short; the minimum RTT is kept for the whole transfer), and the window gets a host
//! allowance of [`MIN_ROUND`] beyond the minimum RTT, because a process that sleeps on 1 ms
//! timers and shares a core sees acknowledgements in bursts that the path's RTT does not show.

use crate::time::Instant;
use core::time::Duration;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Which congestion response a windowed sender runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Congestion {
    /// Model-based pacing (BBR-style): pace at the slowest receiver's measured delivery rate,
    /// window at most twice the bandwidth-delay product and at most the configured window.
    #[default]
    Bbr,
    /// The configured window, always; no pacing beyond the `rate_bps` cap.
    Fixed,
}

/// Shortest round (and the host allowance added to the minimum RTT for the window).
pub const MIN_ROUND: Duration = Duration::from_millis(1);
/// The window the controller starts with (and never goes below), in segments.
pub const INITIAL_WINDOW: u64 = 16;
/// Rounds the bandwidth filter remembers.
const BW_ROUNDS: usize = 10;
/// Startup and drain gain: 2 / ln 2.
const STARTUP_GAIN: f64 = 2.885;
/// Probe-bandwidth pacing gains, one per round.
const CYCLE: [f64; 8] = [1.25, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
/// Steady-state window gain (times the bandwidth-delay product).
const CWND_GAIN: f64 = 2.0;
/// Pacing credit kept after an idle spell: a driver that wakes late (1 ms timer ticks) may send
/// this much time's worth of segments back to back instead of falling behind for good.
const BURST: Duration = Duration::from_millis(2);

/// The controller's phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Rate unknown or still growing: exponential growth.
    Startup,
    /// One round below the rate, to empty the queue startup built.
    Drain,
    /// Steady state, probing up and down around the measured rate.
    ProbeBandwidth,
}

/// What the controller currently allows, for reports and viewers.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CongestionState {
    /// Current phase.
    pub phase: Phase,
    /// Bottleneck delivery rate estimate, segments per second (0 before the first round).
    pub bandwidth: f64,
    /// Minimum RTT seen, microseconds (0 before the first sample).
    pub min_rtt_micros: u64,
    /// Segments allowed in flight.
    pub window: u64,
    /// Pacing rate for new segments, segments per second (0: unpaced).
    pub pacing_rate: f64,
}

/// One round's delivery rate, segments per second, and when the round ended.
#[derive(Debug, Clone, Copy)]
struct Sample {
    end: Instant,
    rate: f64,
}

#[derive(Debug, Clone)]
struct ReceiverRate {
    live: bool,
    delivered: u64,
    at_round_start: u64,
    /// Per-round delivery rates, newest last, at most [`BW_ROUNDS`].
    samples: VecDeque<Sample>,
}

/// The congestion controller of one windowed transfer.
#[derive(Debug, Clone)]
pub struct Controller {
    kind: Congestion,
    max_window: u64,
    receivers: Vec<ReceiverRate>,
    /// Start of the current round; `None` until the first acknowledgement (rounds before it
    /// would measure the first round trip's silence, not the path).
    round_start: Option<Instant>,
    min_rtt: Option<Duration>,
    phase: Phase,
    full_bw: f64,
    full_bw_rounds: u32,
    cycle: usize,
    /// Earliest release of the next new segment, microseconds (fractional: at tens of
    /// thousands of segments per second, whole microseconds would bias the rate).
    next_release: f64,
    bw: f64,
    /// This round hit the protocol's window: its delivery rate says nothing about the path.
    limited: bool,
}

impl Controller {
    /// A controller for `receivers` receivers and at most `max_window` segments in flight.
    pub fn new(kind: Congestion, max_window: u64, receivers: usize, now: Instant) -> Self {
        Controller {
            kind,
            max_window: max_window.max(1),
            receivers: vec![
                ReceiverRate {
                    live: true,
                    delivered: 0,
                    at_round_start: 0,
                    samples: VecDeque::new()
                };
                receivers
            ],
            round_start: None,
            min_rtt: None,
            phase: Phase::Startup,
            full_bw: 0.0,
            full_bw_rounds: 0,
            cycle: 2,
            next_release: now.total_micros() as f64,
            bw: 0.0,
            limited: false,
        }
    }

    /// Segments allowed in flight now.
    pub fn window(&self) -> u64 {
        if self.kind == Congestion::Fixed {
            return self.max_window;
        }
        let floor = INITIAL_WINDOW.min(self.max_window);
        if self.bw <= 0.0 {
            return floor;
        }
        let gain = if self.phase == Phase::ProbeBandwidth { CWND_GAIN } else { STARTUP_GAIN };
        let rtt = self.min_rtt.unwrap_or(MIN_ROUND) + MIN_ROUND;
        let bdp = self.bw * rtt.as_secs_f64();
        ((gain * bdp).ceil() as u64).clamp(floor, self.max_window)
    }

    /// Pacing rate for new segments, segments per second (0: unpaced).
    pub fn pacing_rate(&self) -> f64 {
        if self.kind == Congestion::Fixed || self.bw <= 0.0 {
            return 0.0;
        }
        let gain = match self.phase {
            Phase::Startup => STARTUP_GAIN,
            Phase::Drain => 1.0 / STARTUP_GAIN,
            Phase::ProbeBandwidth => CYCLE[self.cycle],
        };
        gain * self.bw
    }

    /// When the next new segment may be sent (`None`: now, unpaced).
    pub fn release_at(&self) -> Option<Instant> {
        (self.pacing_rate() > 0.0).then(|| Instant::from_micros(self.next_release.ceil() as u64))
    }

    /// Records that a new segment went out at `now`.
    pub fn on_release(&mut self, now: Instant) {
        let rate = self.pacing_rate();
        if rate <= 0.0 {
            return;
        }
        let earliest = now.total_micros().saturating_sub(BURST.as_micros() as u64) as f64;
        self.next_release = self.next_release.max(earliest) + 1e6 / rate;
    }

    /// An RTT sample (first transmissions only, as Karn's rule).
    pub fn on_rtt(&mut self, rtt: Duration) {
        if self.min_rtt.is_none_or(|m| rtt < m) {
            self.min_rtt = Some(rtt);
        }
    }

    /// Receiver `rx` acknowledged `segments` more segments at `now`.
    pub fn on_delivered(&mut self, rx: usize, segments: u64, now: Instant) {
        if let Some(r) = self.receivers.get_mut(rx) {
            r.delivered += segments;
        }
        let Some(start) = self.round_start else {
            self.round_start = Some(now);
            for r in &mut self.receivers {
                r.at_round_start = r.delivered;
            }
            return;
        };
        let round = self.min_rtt.unwrap_or(MIN_ROUND).max(MIN_ROUND);
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= round {
            self.end_round(now, elapsed);
        }
    }

    /// Receiver `rx`'s acknowledgement of `segments` segments, credited at `since` or later
    /// (`None`: when is unknown), turned out false (an ACK changed in transit, contradicted by
    /// its later ACKs): takes them back.
    ///
    /// Exact when all of it is in the current round. Otherwise what the current round holds is
    /// taken off it, and every sample of a round that ended at or after `since` is lowered by
    /// the most the credit can have added to it (all of it in that round, and no round shorter
    /// than the current one, since the minimum RTT only falls): the estimate may come out low,
    /// never high. At zero the controller is back to its initial window, as before its first
    /// measurement.
    pub fn on_undelivered(&mut self, rx: usize, segments: u64, since: Option<Instant>) {
        let round = self.min_rtt.unwrap_or(MIN_ROUND).max(MIN_ROUND).as_secs_f64();
        let current = match (since, self.round_start) {
            // A round that ends at `t` counted what was credited at `t`.
            (Some(t), Some(start)) => t > start,
            (_, None) => true,
            (None, Some(_)) => false,
        };
        let Some(r) = self.receivers.get_mut(rx) else { return };
        r.delivered -= segments.min(r.delivered - r.at_round_start);
        if current {
            return;
        }
        let excess = segments as f64 / round;
        for s in r.samples.iter_mut().filter(|s| since.is_none_or(|t| s.end >= t)) {
            s.rate = (s.rate - excess).max(0.0);
        }
        self.bw = self.bottleneck();
    }

    /// The sender could not send because the protocol's window (the receivers' buffer) was
    /// full: the current round does not count towards leaving startup.
    pub fn on_window_limited(&mut self) {
        self.limited = true;
    }

    /// Receiver `rx` finished or failed: it no longer bounds the rate.
    pub fn on_receiver_gone(&mut self, rx: usize) {
        if let Some(r) = self.receivers.get_mut(rx) {
            r.live = false;
        }
        self.bw = self.bottleneck();
    }

    /// A snapshot for reports.
    pub fn state(&self) -> CongestionState {
        CongestionState {
            phase: self.phase,
            bandwidth: self.bw,
            min_rtt_micros: self.min_rtt.map_or(0, |d| d.as_micros() as u64),
            window: self.window(),
            pacing_rate: self.pacing_rate(),
        }
    }

    fn end_round(&mut self, now: Instant, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let limited = core::mem::take(&mut self.limited);
        for r in self.receivers.iter_mut().filter(|r| r.live) {
            let rate = (r.delivered - r.at_round_start) as f64 / secs;
            r.at_round_start = r.delivered;
            // A window-limited round shows what the sender offered, not what the path takes:
            // it may raise the estimate, never age a better sample out (BBR's app-limited rule).
            if limited && r.samples.iter().any(|s| s.rate >= rate) {
                continue;
            }
            if r.samples.len() == BW_ROUNDS {
                r.samples.pop_front();
            }
            r.samples.push_back(Sample { end: now, rate });
        }
        self.round_start = Some(now);
        self.bw = self.bottleneck();
        match self.phase {
            Phase::Startup => {
                if self.bw >= self.full_bw * 1.25 {
                    self.full_bw = self.bw;
                    self.full_bw_rounds = 0;
                } else if !limited {
                    self.full_bw_rounds += 1;
                    if self.full_bw_rounds >= 3 {
                        self.phase = Phase::Drain;
                    }
                }
            }
            Phase::Drain => self.phase = Phase::ProbeBandwidth,
            Phase::ProbeBandwidth => self.cycle = (self.cycle + 1) % CYCLE.len(),
        }
    }

    /// The slowest live receiver's best recent rate (0 before any round).
    fn bottleneck(&self) -> f64 {
        let mut slowest: Option<f64> = None;
        for r in self.receivers.iter().filter(|r| r.live && !r.samples.is_empty()) {
            let best = r.samples.iter().map(|s| s.rate).fold(0.0, f64::max);
            slowest = Some(slowest.map_or(best, |s| s.min(best)));
        }
        slowest.unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(m: u64) -> Instant {
        Instant::from_millis(m)
    }

    #[test]
    fn a_false_delivery_taken_back_never_leaves_the_rate_higher() {
        let run = |undo: Option<(u64, u64)>| {
            let mut c = Controller::new(Congestion::Bbr, 1000, 1, ms(0));
            c.on_rtt(Duration::from_millis(10));
            for t in 0..=40u64 {
                // 5 segments per ms; at `at` ms, 8 more that were never delivered.
                let extra = undo.map_or(0, |(at, _)| if t == at { 8 } else { 0 });
                c.on_delivered(0, 5 + extra, ms(t));
                if let Some((at, after)) = undo {
                    if t == at + after {
                        c.on_undelivered(0, 8, Some(ms(at)));
                    }
                }
            }
            c.state().bandwidth
        };
        let truth = run(None);
        // Taken back within the same round (rounds end at 10, 20, 30 ms): exact.
        assert_eq!(run(Some((21, 5))), truth);
        // Taken back after its round was sampled, at once or rounds later: low, not high.
        for (at, after) in [(20, 0), (21, 9), (21, 19)] {
            let got = run(Some((at, after)));
            assert!(got <= truth && got > 0.8 * truth, "{at} + {after}: {got} vs {truth}");
        }
    }

    #[test]
    fn fixed_keeps_the_configured_window_unpaced() {
        let mut c = Controller::new(Congestion::Fixed, 64, 2, ms(0));
        c.on_rtt(Duration::from_millis(10));
        for t in 0..100 {
            c.on_delivered(0, 5, ms(t));
            c.on_delivered(1, 5, ms(t));
        }
        assert_eq!(c.window(), 64);
        assert_eq!(c.release_at(), None);
    }

    #[test]
    fn startup_ends_when_the_rate_stops_growing_then_paces_at_the_slowest_receiver() {
        let mut c = Controller::new(Congestion::Bbr, 1000, 2, ms(0));
        c.on_rtt(Duration::from_millis(10));
        // Receiver 0 takes 1000 segments/s, receiver 1 only 400: 10 and 4 per 10 ms round.
        for round in 1..=8u64 {
            c.on_delivered(0, 10, ms(10 * round));
            c.on_delivered(1, 4, ms(10 * round));
        }
        assert_eq!(c.state().phase, Phase::ProbeBandwidth);
        assert!((c.state().bandwidth - 400.0).abs() < 1.0, "{:?}", c.state());
        // Window: 2 x 400/s x (10 ms + 1 ms host allowance) = 8.8, floored at the initial 16.
        assert_eq!(c.window(), INITIAL_WINDOW);
        // A receiver that fails no longer holds the others back.
        c.on_receiver_gone(1);
        assert!((c.state().bandwidth - 1000.0).abs() < 1.0);
    }

    #[test]
    fn pacing_spaces_releases_and_keeps_only_a_bounded_credit() {
        let mut c = Controller::new(Congestion::Bbr, 1000, 1, ms(0));
        c.on_rtt(Duration::from_millis(10));
        for round in 1..=8u64 {
            c.on_delivered(0, 10, ms(10 * round));
        }
        let rate = c.pacing_rate();
        assert!(rate > 0.0);
        // After a long idle spell only BURST worth of releases are due at once.
        let now = ms(1_000);
        let mut burst = 0;
        while c.release_at().is_some_and(|t| t <= now) && burst < 1000 {
            c.on_release(now);
            burst += 1;
        }
        let allowed = (BURST.as_secs_f64() * rate).ceil() as usize + 1;
        assert!(burst >= 1 && burst <= allowed, "burst {burst}, allowed {allowed}");
    }
}
