//! Closed-form expected delay of stop-and-wait to n receivers.
//!
//! Derivation (also in `docs/experiments.md`). Each round sends a segment to the receivers still
//! pending. Receiver i gets a round through with probability `q = (1 - p)(1 - l_down)(1 - l_up)`
//! (its loss service, then link loss on the DATA and on the ACK; a lost ACK costs a round just
//! like lost DATA, since the duplicate is acknowledged again). Rounds are independent, so the
//! number of rounds receiver i needs is geometric: `P(K_i <= k) = 1 - (1 - q)^k`, and the
//! segment needs `R = max_i K_i` rounds with `P(R <= k) = (1 - (1 - q)^k)^n`.
//!
//! A segment that needs `k` rounds takes `t(k) = T_1 + w_1 + ... + w_(k-1)`: the successful
//! round's own time `T_1` (the sender's n back-to-back copies, the propagation, transmission
//! and processing of DATA and ACK) plus one wait per failed round: `w_j = T` for the fixed
//! timer (the original cumulative timer: the whole wait for one round is one timeout), and
//! `w_j = RTO * 2^(j-1)` (capped) for the adaptive policy, which backs off on each expiry. Since
//! `t` grows with `k`, the slowest receiver sets the segment's time and
//!
//! `E[segment] = sum_k [F(k) - F(k - 1)] t(k)` with `F(k) = (1 - (1 - q)^k)^n`.
//!
//! The transfer is `S = ceil(size / MSS)` segments and a FIN round (8-byte datagrams), so
//! `E[D] = S * E[segment | DATA] + E[segment | FIN]`.
//!
//! What this teaches: for small p, `E[R] - 1 ~ n p`, so delay grows linearly with n and with p
//! (each receiver is one more chance to lose a round, and each lost round costs a timeout);
//! it falls as `1 / MSS` because S does. Approximations: the adaptive policy's backed-off RTO
//! is assumed to reset on the next segment (it really lasts until the next clean sample, an
//! effect of order p^2), jitter enters at its mean, and receivers are never declared failed.

use crate::rto::RtoPolicy;
use crate::sim::{LinkConfig, LossModel, SimConfig};
use core::time::Duration;

/// Expected transfer delay in seconds for the parameters of `cfg` (identical links assumed
/// unless `cfg.links` overrides them; then the slowest path's time is used).
pub fn expected_delay_secs(cfg: &SimConfig) -> f64 {
    let n = i32::from(cfg.receivers.max(1));
    let segments = cfg.file_size.div_ceil(cfg.mss.max(1) as u64) as f64;
    let header = cfg.dialect.header_len();
    let last = (cfg.file_size % cfg.mss.max(1) as u64) as usize;
    let full = segment_time(cfg, n, header + cfg.mss);
    let data = if last == 0 || segments == 0.0 {
        segments * full
    } else {
        (segments - 1.0) * full + segment_time(cfg, n, header + last)
    };
    let fin_len = cfg.dialect.encoded_len(&crate::wire::Packet::Fin { seq: 0 });
    data + segment_time(cfg, n, fin_len)
}

/// Expected time of one round-trip-bound segment of `len` bytes to `n` receivers.
fn segment_time(cfg: &SimConfig, n: i32, len: usize) -> f64 {
    let ack_len = cfg.dialect.encoded_len(&crate::wire::Packet::Ack { seq: 0 });
    let links: Vec<LinkConfig> = (0..cfg.receivers.max(1)).map(|i| cfg.link_for(i)).collect();
    let round = links
        .iter()
        .map(|l| {
            secs(l.delay) * 2.0
                + secs(l.jitter)
                + tx_secs(l, len)
                + tx_secs(l, ack_len)
                + secs(cfg.host_cost) * (f64::from(n) + 1.0)
        })
        .fold(0.0, f64::max);
    let worst_loss = links.iter().map(|l| l.loss.mean_loss()).fold(0.0, f64::max);
    let q = (1.0 - cfg.loss) * (1.0 - worst_loss) * (1.0 - worst_loss);
    let fail = 1.0 - q;
    let rto = match cfg.policy {
        RtoPolicy::Fixed { timeout } => secs(timeout),
        // A converged estimator on a steady path: SRTT ~ the round, RTTVAR ~ jitter / 4.
        RtoPolicy::Adaptive { min, max, .. } => {
            (round + secs(links[0].jitter)).clamp(secs(min), secs(max).max(secs(min)))
        }
    };
    let max_rto = match cfg.policy {
        RtoPolicy::Adaptive { max, .. } => secs(max),
        RtoPolicy::Fixed { timeout } => secs(timeout),
    };
    if fail <= 0.0 {
        return round;
    }
    // Sum over k until the tail is negligible.
    let (mut expect, mut t, mut prev_f, mut wait) = (0.0, round, 0.0, rto);
    for k in 1..10_000 {
        let f = (1.0 - fail.powi(k)).powi(n);
        expect += (f - prev_f) * t;
        if 1.0 - f < 1e-12 {
            break;
        }
        prev_f = f;
        t += wait;
        if matches!(cfg.policy, RtoPolicy::Adaptive { .. }) {
            wait = (wait * 2.0).min(max_rto);
        }
    }
    expect
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn tx_secs(l: &LinkConfig, bytes: usize) -> f64 {
    if l.bandwidth_bps == 0 {
        0.0
    } else {
        bytes as f64 * 8.0 / l.bandwidth_bps as f64
    }
}

/// Expected number of rounds a segment needs with `n` receivers each failing a round w.p. `fail`.
pub fn expected_rounds(n: u16, fail: f64) -> f64 {
    if fail <= 0.0 {
        return 1.0;
    }
    let mut sum = 0.0;
    for k in 0..100_000 {
        let tail = 1.0 - (1.0 - fail.powi(k)).powi(i32::from(n));
        sum += tail;
        if tail < 1e-15 {
            break;
        }
    }
    sum
}

/// Whether the model covers this configuration well (no bursty loss, which breaks the
/// independence it assumes).
pub fn applies_to(cfg: &SimConfig) -> bool {
    let bursty = |l: &LinkConfig| matches!(l.loss, LossModel::GilbertElliott { .. });
    !bursty(&cfg.link) && !cfg.links.iter().any(bursty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_rounds_matches_hand_values() {
        assert_eq!(expected_rounds(3, 0.0), 1.0);
        // One receiver: geometric mean 1 / (1 - p).
        assert!((expected_rounds(1, 0.2) - 1.25).abs() < 1e-9);
        // Two receivers at p = 0.5: E[max] = sum_k 1 - (1 - 0.5^k)^2 = 2 - 1/3... = 8/3.
        assert!((expected_rounds(2, 0.5) - 8.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn lossless_delay_is_rounds_times_rtt() {
        let cfg = SimConfig {
            file_size: 1000,
            mss: 100,
            loss: 0.0,
            link: LinkConfig::with_delay(Duration::from_millis(5)),
            ..SimConfig::default()
        };
        assert!((expected_delay_secs(&cfg) - 11.0 * 0.010).abs() < 1e-9);
    }
}
