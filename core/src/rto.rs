//! Retransmission timeout policies: the original fixed timer, and RFC 6298 adaptive RTO.

use core::fmt;
use core::time::Duration;
use serde::{Deserialize, Serialize};

/// How long the sender waits for ACKs before retransmitting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum RtoPolicy {
    /// One timer per segment, the same value always (the original scripts: 1 s).
    Fixed {
        /// The timeout.
        #[serde(with = "micros")]
        timeout: Duration,
    },
    /// Per-receiver SRTT/RTTVAR as in RFC 6298 with Karn's rule and exponential backoff.
    Adaptive {
        /// RTO before the first sample.
        #[serde(with = "micros")]
        initial: Duration,
        /// Lower bound.
        #[serde(with = "micros")]
        min: Duration,
        /// Upper bound.
        #[serde(with = "micros")]
        max: Duration,
    },
}

impl Default for RtoPolicy {
    fn default() -> Self {
        RtoPolicy::Fixed { timeout: Duration::from_secs(1) }
    }
}

impl RtoPolicy {
    /// The adaptive policy with RFC 6298's initial value and bounds suited to LANs: the RFC's
    /// 1 s floor would make every loss on a sub-millisecond path cost a full second.
    pub fn adaptive() -> Self {
        RtoPolicy::Adaptive {
            initial: Duration::from_secs(1),
            min: Duration::from_millis(1),
            max: Duration::from_secs(60),
        }
    }

    /// Checks that the durations make sense.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            RtoPolicy::Fixed { timeout } if timeout.is_zero() => Err("timeout must be positive".into()),
            RtoPolicy::Adaptive { min, .. } if min.is_zero() => Err("minimum RTO must be positive".into()),
            RtoPolicy::Adaptive { min, max, .. } if min > max => {
                Err(format!("minimum RTO {min:?} exceeds maximum {max:?}"))
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for RtoPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RtoPolicy::Fixed { timeout } => write!(f, "fixed {timeout:?}"),
            RtoPolicy::Adaptive { initial, min, max } => {
                write!(f, "adaptive (initial {initial:?}, bounds {min:?}..{max:?})")
            }
        }
    }
}

/// One receiver's round-trip estimator.
#[derive(Clone, Debug)]
pub struct RttEstimator {
    policy: RtoPolicy,
    srtt: Option<Duration>,
    rttvar: Duration,
    rto: Duration,
}

/// RFC 6298's clock granularity G: our clock counts microseconds.
const GRANULARITY: Duration = Duration::from_micros(1);

impl RttEstimator {
    /// A fresh estimator (no samples yet).
    pub fn new(policy: RtoPolicy) -> Self {
        let rto = match policy {
            RtoPolicy::Fixed { timeout } => timeout,
            RtoPolicy::Adaptive { initial, min, max } => initial.clamp(min, max),
        };
        RttEstimator { policy, srtt: None, rttvar: Duration::ZERO, rto }
    }

    /// The timeout to arm now.
    pub fn rto(&self) -> Duration {
        self.rto
    }

    /// Smoothed RTT, once sampled.
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// RTT variance.
    pub fn rttvar(&self) -> Duration {
        self.rttvar
    }

    /// Feeds a sample from a segment that was not retransmitted (Karn's rule is the caller's).
    /// Returns whether the policy uses samples.
    pub fn on_sample(&mut self, rtt: Duration) -> bool {
        let RtoPolicy::Adaptive { min, max, .. } = self.policy else {
            return false;
        };
        match self.srtt {
            None => {
                self.srtt = Some(rtt);
                self.rttvar = rtt / 2;
            }
            Some(srtt) => {
                let err = srtt.abs_diff(rtt);
                // RTTVAR <- 3/4 RTTVAR + 1/4 |SRTT - R'|, SRTT <- 7/8 SRTT + 1/8 R'
                self.rttvar = (self.rttvar * 3 + err) / 4;
                self.srtt = Some((srtt * 7 + rtt) / 8);
            }
        }
        let srtt = self.srtt.unwrap_or(rtt);
        self.rto = (srtt + (self.rttvar * 4).max(GRANULARITY)).clamp(min, max);
        true
    }

    /// Backs the timer off after an expiry (RFC 6298 5.5); the fixed policy keeps its value.
    pub fn on_timeout(&mut self) {
        if let RtoPolicy::Adaptive { max, .. } = self.policy {
            self.rto = (self.rto * 2).min(max);
        }
    }
}

/// Serialises a `Duration` as whole microseconds, the trace's unit.
pub(crate) mod micros {
    use core::time::Duration;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_micros)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn fixed_policy_never_moves() {
        let mut e = RttEstimator::new(RtoPolicy::default());
        assert!(!e.on_sample(MS * 10));
        e.on_timeout();
        assert_eq!(e.rto(), Duration::from_secs(1));
    }

    #[test]
    fn adaptive_follows_rfc6298() {
        let policy =
            RtoPolicy::Adaptive { initial: Duration::from_secs(1), min: MS, max: Duration::from_secs(60) };
        let mut e = RttEstimator::new(policy);
        assert_eq!(e.rto(), Duration::from_secs(1));
        // First sample R=100ms: SRTT=100, RTTVAR=50, RTO=100+200=300ms.
        e.on_sample(MS * 100);
        assert_eq!(e.rto(), MS * 300);
        // Second R=200ms: RTTVAR=3/4*50+1/4*100=62.5, SRTT=7/8*100+1/8*200=112.5, RTO=362.5ms.
        e.on_sample(MS * 200);
        assert_eq!(e.srtt(), Some(Duration::from_micros(112_500)));
        assert_eq!(e.rttvar(), Duration::from_micros(62_500));
        assert_eq!(e.rto(), Duration::from_micros(362_500));
        e.on_timeout();
        assert_eq!(e.rto(), Duration::from_micros(725_000));
    }

    #[test]
    fn adaptive_respects_bounds() {
        let policy = RtoPolicy::Adaptive { initial: MS * 500, min: MS * 20, max: MS * 800 };
        let mut e = RttEstimator::new(policy);
        e.on_sample(Duration::from_micros(50));
        assert_eq!(e.rto(), MS * 20);
        for _ in 0..10 {
            e.on_timeout();
        }
        assert_eq!(e.rto(), MS * 800);
        assert!(RtoPolicy::Adaptive { initial: MS, min: MS * 2, max: MS }.validate().is_err());
        assert!(RtoPolicy::Fixed { timeout: Duration::ZERO }.validate().is_err());
    }

    #[test]
    fn policy_json_uses_microseconds() {
        let json = serde_json::to_string(&RtoPolicy::default()).expect("serialise");
        assert_eq!(json, r#"{"kind":"fixed","timeout":1000000}"#);
    }
}
