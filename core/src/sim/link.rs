//! A modelled one-way link: delay, jitter, bandwidth, loss (Bernoulli or Gilbert-Elliott
//! bursts), duplication, reordering and corruption, all drawn from its own seeded generator.
//!
//! This is the reusable fault-injection layer: the simulator puts one on every direction of
//! every client-receiver path, and a native impairment proxy can drive the same type with real
//! time.

use crate::rng::Rng;
use crate::rto::micros;
use crate::time::Instant;
use core::time::Duration;
use serde::{Deserialize, Serialize};

/// How a link loses datagrams (beyond the receivers' own loss service).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LossModel {
    /// No link loss.
    #[default]
    None,
    /// Each datagram lost independently with probability `p`.
    Bernoulli {
        /// Loss probability.
        p: f64,
    },
    /// Two-state Markov chain (good/bad) with a loss probability per state: losses come in bursts.
    GilbertElliott {
        /// Chance per datagram of moving from good to bad.
        p_good_bad: f64,
        /// Chance per datagram of moving from bad to good (mean burst length is its inverse).
        p_bad_good: f64,
        /// Loss probability in the good state.
        loss_good: f64,
        /// Loss probability in the bad state.
        loss_bad: f64,
    },
}

impl LossModel {
    /// Long-run fraction of datagrams lost.
    pub fn mean_loss(&self) -> f64 {
        match *self {
            LossModel::None => 0.0,
            LossModel::Bernoulli { p } => p,
            LossModel::GilbertElliott { p_good_bad, p_bad_good, loss_good, loss_bad } => {
                let denom = p_good_bad + p_bad_good;
                if denom <= 0.0 {
                    return loss_good;
                }
                let bad = p_good_bad / denom;
                (1.0 - bad) * loss_good + bad * loss_bad
            }
        }
    }

    fn validate(&self) -> Result<(), String> {
        let probs: &[f64] = match self {
            LossModel::None => &[],
            LossModel::Bernoulli { p } => &[*p][..],
            LossModel::GilbertElliott { p_good_bad, p_bad_good, loss_good, loss_bad } => {
                return [*p_good_bad, *p_bad_good, *loss_good, *loss_bad]
                    .iter()
                    .try_for_each(|&p| check_prob("Gilbert-Elliott probability", p));
            }
        };
        probs.iter().try_for_each(|&p| check_prob("link loss", p))
    }
}

fn check_prob(what: &str, p: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(format!("{what} must be in [0, 1], got {p}"))
    }
}

/// Parameters of one direction of a path.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LinkConfig {
    /// One-way propagation delay.
    #[serde(with = "micros")]
    pub delay: Duration,
    /// Extra delay drawn uniformly from `[0, jitter]` per datagram (may reorder).
    #[serde(with = "micros")]
    pub jitter: Duration,
    /// Bits per second; 0 means unlimited.
    pub bandwidth_bps: u64,
    /// Drop-tail queue in front of a bandwidth-limited link, bytes; a datagram that finds
    /// more than this waiting is dropped (a router's or a receiver's full buffer). 0: unbounded.
    pub queue_bytes: u64,
    /// Link loss.
    pub loss: LossModel,
    /// Chance a datagram is delivered twice.
    pub duplicate: f64,
    /// Chance a datagram is held back by an extra delay of up to twice `delay` + 1 ms, so that
    /// later ones overtake it.
    pub reorder: f64,
    /// Chance one random bit of a datagram is flipped.
    pub corrupt: f64,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            delay: Duration::from_millis(5),
            jitter: Duration::ZERO,
            bandwidth_bps: 0,
            queue_bytes: 0,
            loss: LossModel::None,
            duplicate: 0.0,
            reorder: 0.0,
            corrupt: 0.0,
        }
    }
}

impl LinkConfig {
    /// A perfect link with only a fixed delay.
    pub fn with_delay(delay: Duration) -> Self {
        LinkConfig { delay, ..Default::default() }
    }

    /// Checks probabilities are probabilities.
    pub fn validate(&self) -> Result<(), String> {
        self.loss.validate()?;
        check_prob("duplicate", self.duplicate)?;
        check_prob("reorder", self.reorder)?;
        check_prob("corrupt", self.corrupt)
    }
}

/// What the link does to one datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Arrival times of the copies delivered (empty: lost).
    pub arrivals: Vec<Instant>,
    /// Whether the copies were corrupted (`Some((byte, mask))` flips `byte` with `mask`).
    pub corrupt: Option<(usize, u8)>,
}

/// One direction of a path, with its own generator and queue state.
#[derive(Clone, Debug)]
pub struct Link {
    cfg: LinkConfig,
    rng: Rng,
    busy_until: Instant,
    bad_state: bool,
}

impl Link {
    /// A link whose draws are fixed by `seed`.
    pub fn new(cfg: LinkConfig, seed: u64) -> Self {
        Link { cfg, rng: Rng::new(seed), busy_until: Instant::ZERO, bad_state: false }
    }

    /// The link's parameters.
    pub fn config(&self) -> &LinkConfig {
        &self.cfg
    }

    /// Decides the fate of a `len`-byte datagram sent at `now`.
    pub fn transmit(&mut self, now: Instant, len: usize) -> Verdict {
        // Serialisation: a bandwidth-limited link is a FIFO; lost datagrams still used it.
        let depart = if self.cfg.bandwidth_bps > 0 {
            let bits = len as u128 * 8;
            let tx = Duration::from_micros((bits * 1_000_000 / u128::from(self.cfg.bandwidth_bps)) as u64);
            let start = self.busy_until.max(now);
            if self.cfg.queue_bytes > 0 {
                let waiting = start.saturating_duration_since(now).as_micros();
                let backlog = waiting * u128::from(self.cfg.bandwidth_bps) / 8_000_000;
                if backlog + len as u128 > u128::from(self.cfg.queue_bytes) {
                    return Verdict { arrivals: Vec::new(), corrupt: None };
                }
            }
            self.busy_until = start + tx;
            self.busy_until
        } else {
            now
        };
        if self.lost() {
            return Verdict { arrivals: Vec::new(), corrupt: None };
        }
        let corrupt = (self.cfg.corrupt > 0.0 && len > 0 && self.rng.chance(self.cfg.corrupt))
            .then(|| (self.rng.below(len as u64) as usize, 1u8 << self.rng.below(8)));
        let copies = if self.cfg.duplicate > 0.0 && self.rng.chance(self.cfg.duplicate) { 2 } else { 1 };
        let arrivals = (0..copies).map(|_| depart + self.cfg.delay + self.extra_delay()).collect();
        Verdict { arrivals, corrupt }
    }

    fn lost(&mut self) -> bool {
        match self.cfg.loss {
            LossModel::None => false,
            LossModel::Bernoulli { p } => self.rng.chance(p),
            LossModel::GilbertElliott { p_good_bad, p_bad_good, loss_good, loss_bad } => {
                let flip = if self.bad_state { p_bad_good } else { p_good_bad };
                if self.rng.chance(flip) {
                    self.bad_state = !self.bad_state;
                }
                self.rng.chance(if self.bad_state { loss_bad } else { loss_good })
            }
        }
    }

    fn extra_delay(&mut self) -> Duration {
        let mut extra = Duration::ZERO;
        if !self.cfg.jitter.is_zero() {
            extra += Duration::from_micros(self.rng.below(self.cfg.jitter.as_micros() as u64 + 1));
        }
        if self.cfg.reorder > 0.0 && self.rng.chance(self.cfg.reorder) {
            let span = self.cfg.delay.as_micros() as u64 * 2 + 1000;
            extra += Duration::from_micros(1 + self.rng.below(span));
        }
        extra
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bandwidth_serialises_datagrams() {
        let cfg =
            LinkConfig { delay: Duration::from_millis(1), bandwidth_bps: 8_000_000, ..Default::default() };
        let mut l = Link::new(cfg, 1);
        // 1000 bytes at 8 Mb/s = 1 ms each.
        let a = l.transmit(Instant::ZERO, 1000);
        let b = l.transmit(Instant::ZERO, 1000);
        assert_eq!(a.arrivals, vec![Instant::from_millis(2)]);
        assert_eq!(b.arrivals, vec![Instant::from_millis(3)]);
    }

    #[test]
    fn a_full_queue_drops_the_tail() {
        // 1000-byte datagrams at 8 Mb/s (1 ms each) into a 2500-byte queue: the first goes
        // straight on the wire, two more wait, the fourth finds 2000 bytes queued plus its own
        // 1000 > 2500 and is dropped; once the queue drains there is room again.
        let cfg = LinkConfig {
            delay: Duration::from_millis(1),
            bandwidth_bps: 8_000_000,
            queue_bytes: 2500,
            ..Default::default()
        };
        let mut l = Link::new(cfg, 1);
        let fates: Vec<bool> = (0..4).map(|_| !l.transmit(Instant::ZERO, 1000).arrivals.is_empty()).collect();
        assert_eq!(fates, vec![true, true, false, false]);
        assert!(!l.transmit(Instant::from_millis(1), 1000).arrivals.is_empty());
    }

    #[test]
    fn gilbert_elliott_loses_in_bursts_at_the_stated_mean() {
        let loss =
            LossModel::GilbertElliott { p_good_bad: 0.01, p_bad_good: 0.2, loss_good: 0.0, loss_bad: 0.8 };
        let mut l = Link::new(LinkConfig { loss, ..Default::default() }, 9);
        let n = 200_000;
        let lost: Vec<bool> = (0..n).map(|_| l.transmit(Instant::ZERO, 10).arrivals.is_empty()).collect();
        let frac = lost.iter().filter(|&&x| x).count() as f64 / n as f64;
        assert!((frac - loss.mean_loss()).abs() < 0.005, "frac {frac} vs {}", loss.mean_loss());
        // Bursty: a loss is far more likely right after a loss than on average.
        let after_loss = lost.windows(2).filter(|w| w[0]).count();
        let both = lost.windows(2).filter(|w| w[0] && w[1]).count();
        assert!(both as f64 / after_loss as f64 > 3.0 * frac);
    }

    #[test]
    fn same_seed_same_fates() {
        let cfg = LinkConfig {
            jitter: Duration::from_millis(3),
            loss: LossModel::Bernoulli { p: 0.3 },
            duplicate: 0.1,
            reorder: 0.1,
            corrupt: 0.1,
            ..Default::default()
        };
        let run = |seed| {
            let mut l = Link::new(cfg, seed);
            (0..500).map(|i| l.transmit(Instant::from_millis(i), 100)).collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
        assert!(LinkConfig { duplicate: 1.5, ..cfg }.validate().is_err());
    }
}
