//! Runs a whole stop-and-wait transfer in memory by stepping the core's [`Sender`] and
//! [`Receiver`]s directly: datagrams are delivered instantly, and simulated time only moves
//! forward to the sender's next timer deadline when nothing is in flight.

use p2mp_core::rng::Rng;
use p2mp_core::{Dialect, Instant, Outcome, Receiver, ReceiverConfig, Sender, SenderConfig};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Largest file the page accepts, so a run stays interactive.
pub const MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

/// Most receivers the page accepts.
pub const MAX_RECEIVERS: u16 = 16;

/// Upper bound on driver iterations: a safety net against a core that stops making progress.
const MAX_STEPS: u64 = 50_000_000;

/// What the user asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    /// File length in bytes.
    pub file_size: u64,
    /// Payload bytes per DATA segment.
    pub mss: usize,
    /// Each receiver's loss-service probability, in `[0, 1)`.
    pub loss: f64,
    /// Number of receivers.
    pub receivers: u16,
    /// Seed of the file contents and the loss services.
    pub seed: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params { file_size: 100_000, mss: 500, loss: 0.05, receivers: 3, seed: 1 }
    }
}

/// How one receiver fared.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceiverSummary {
    /// Its address in the run.
    pub addr: SocketAddr,
    /// Datagrams its loss service dropped.
    pub losses: u64,
    /// Timer expiries that included it.
    pub timeouts: u64,
    /// Retransmissions sent to it.
    pub retransmissions: u64,
    /// Finished or failed.
    pub outcome: Outcome,
    /// Whether it ended with exactly the sender's bytes.
    pub identical: bool,
}

/// The counts of a finished run.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// File length in bytes.
    pub bytes: u64,
    /// DATA segments in the file.
    pub segments: u64,
    /// DATA and FIN transmissions, retransmissions included.
    pub transmissions: u64,
    /// Retransmissions among them.
    pub retransmissions: u64,
    /// Sender timer expiries.
    pub timeouts: u64,
    /// Datagrams dropped by all loss services together.
    pub losses: u64,
    /// Simulated time from the first send to the end, in microseconds.
    pub delay_micros: u64,
    /// Per receiver, in order.
    pub receivers: Vec<ReceiverSummary>,
}

/// Checks the parameters the core does not check itself.
fn check(params: &Params) -> Result<(), String> {
    if params.file_size > MAX_FILE_SIZE {
        return Err(format!(
            "file size must be at most {MAX_FILE_SIZE} bytes in the page, got {}",
            params.file_size
        ));
    }
    if params.receivers == 0 || params.receivers > MAX_RECEIVERS {
        return Err(format!("receivers must be between 1 and {MAX_RECEIVERS}, got {}", params.receivers));
    }
    Ok(())
}

/// The file: `len` pseudo-random bytes determined by `seed`.
fn generate_file(len: u64, seed: u64) -> Vec<u8> {
    let mut rng = Rng::derive(seed, u64::MAX);
    let mut data = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    while (data.len() as u64) < len {
        let word = rng.next_u64().to_le_bytes();
        let take = usize::try_from(len - data.len() as u64).map_or(8, |rest| rest.min(8));
        data.extend_from_slice(&word[..take]);
    }
    data
}

/// Runs the transfer to completion and counts what happened.
pub fn run(params: &Params) -> Result<Summary, String> {
    check(params)?;
    let file = generate_file(params.file_size, params.seed);
    let sender_addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40000);
    let addrs: Vec<SocketAddr> = (0..params.receivers)
        .map(|i| {
            let host = u8::try_from(i + 2).unwrap_or(u8::MAX);
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 1, host)), 7735)
        })
        .collect();

    let mut now = Instant::ZERO;
    let cfg = SenderConfig { mss: params.mss, dialect: Dialect::Binary, ..SenderConfig::default() };
    let mut sender = Sender::new(cfg, &addrs, params.file_size, now).map_err(|e| e.to_string())?;
    let mut receivers = (0..params.receivers)
        .map(|i| {
            Receiver::new(ReceiverConfig {
                loss: params.loss,
                seed: Rng::derive(params.seed, u64::from(i)).next_u64(),
                index: i,
                ..ReceiverConfig::default()
            })
            .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut received: Vec<Vec<u8>> = vec![Vec::new(); receivers.len()];

    let mut buf = Vec::new();
    let mut in_flight: Vec<(usize, Vec<u8>)> = Vec::new();
    for _ in 0..MAX_STEPS {
        while let Some(req) = sender.poll_read() {
            let start = usize::try_from(req.offset).map_err(|e| e.to_string())?;
            let chunk = file
                .get(start..start + req.len)
                .ok_or_else(|| format!("sender asked for bytes beyond the file at {start}"))?;
            sender.supply(req.seq, chunk).map_err(|e| e.to_string())?;
        }
        while let Some(t) = sender.poll_transmit(now, &mut buf) {
            in_flight.push((usize::from(t.receiver), buf.clone()));
        }
        while sender.poll_event().is_some() {}

        if in_flight.is_empty() {
            if sender.is_done() {
                return Ok(summarize(&sender, &receivers, &received, &file));
            }
            // Nothing in flight: jump to the next deadline.
            let Some(deadline) = sender.poll_timeout() else {
                return Err("the sender stalled: nothing in flight and no timer armed".into());
            };
            now = now.max(deadline);
            sender.handle_timeout(now);
            for r in &mut receivers {
                r.handle_timeout(now);
            }
            continue;
        }

        for (i, datagram) in in_flight.drain(..) {
            let Some(rx) = receivers.get_mut(i) else {
                continue;
            };
            rx.handle_datagram(now, sender_addr, &datagram, None);
            while rx.poll_transmit(now, &mut buf).is_some() {
                sender.handle_datagram(now, addrs[i], &buf, None);
            }
            while let Some(out) = rx.poll_output() {
                if let p2mp_core::ReceiverOutput::Data(bytes) = out {
                    received[i].extend_from_slice(&bytes);
                }
            }
            while rx.poll_event().is_some() {}
        }
    }
    Err(format!("gave up after {MAX_STEPS} steps"))
}

fn summarize(sender: &Sender, receivers: &[Receiver], received: &[Vec<u8>], file: &[u8]) -> Summary {
    let totals = sender.totals();
    let receivers: Vec<ReceiverSummary> = sender
        .reports()
        .into_iter()
        .zip(receivers)
        .zip(received)
        .map(|((report, rx), bytes)| ReceiverSummary {
            addr: report.addr,
            losses: rx.stats().lost,
            timeouts: report.timeouts,
            retransmissions: report.retransmissions,
            outcome: report.outcome,
            identical: rx.is_finished() && bytes.as_slice() == file,
        })
        .collect();
    Summary {
        bytes: totals.bytes,
        segments: totals.segments,
        transmissions: totals.transmissions,
        retransmissions: totals.retransmissions,
        timeouts: totals.timeouts,
        losses: receivers.iter().map(|r| r.losses).sum(),
        delay_micros: sender.delay().map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
        receivers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossless_run_sends_each_segment_once_per_receiver() {
        let p = Params { file_size: 2001, mss: 500, loss: 0.0, receivers: 3, seed: 7 };
        let s = run(&p).expect("valid parameters");
        assert_eq!(s.segments, 5);
        // Five DATA segments and one FIN, to each of three receivers.
        assert_eq!(s.transmissions, 18);
        assert_eq!((s.retransmissions, s.timeouts, s.losses), (0, 0, 0));
        assert!(s.receivers.iter().all(|r| r.identical && r.outcome == Outcome::Finished));
    }

    #[test]
    fn lossy_run_retransmits_and_still_delivers() {
        let p = Params { file_size: 20_000, mss: 100, loss: 0.2, receivers: 3, seed: 42 };
        let s = run(&p).expect("valid parameters");
        assert!(s.losses > 0 && s.timeouts > 0 && s.retransmissions > 0);
        assert!(s.delay_micros >= 1_000_000, "at least one 1 s timeout");
        assert!(s.receivers.iter().all(|r| r.identical));
        assert_eq!(run(&p), Ok(s), "a seed gives the same run");
    }

    #[test]
    fn empty_file_and_bad_input() {
        let empty = run(&Params { file_size: 0, ..Params::default() }).expect("an empty file is valid");
        assert_eq!(empty.segments, 0);
        assert!(empty.receivers.iter().all(|r| r.identical));
        for bad in [
            Params { mss: 0, ..Params::default() },
            Params { loss: 1.0, ..Params::default() },
            Params { receivers: 0, ..Params::default() },
            Params { file_size: MAX_FILE_SIZE + 1, ..Params::default() },
        ] {
            assert!(run(&bad).is_err(), "{bad:?} must be rejected");
        }
    }
}
