//! An ACK whose sequence number changed in transit (an ACK has no checksum over it) under the
//! windowed modes: the sender believes a receiver holds a segment it lacks. The receiver's
//! later, truthful ACKs contradict that, and the sender goes back and resends what it lacks.

use core::time::Duration;
use p2mp_core::rng::Rng;
use p2mp_core::sim::{Datagram, Fate, LinkConfig, SimConfig, SimResult, Simulation};
use p2mp_core::trace::EventKind;
use p2mp_core::{Mode, Node, Outcome, PacketKind, RtoPolicy};

fn cfg(mode: Mode, receivers: u16, loss: f64, seed: u64) -> SimConfig {
    SimConfig {
        file_size: 100_001,
        mss: 500,
        receivers,
        loss,
        seed,
        mode,
        link: LinkConfig::with_delay(Duration::from_millis(5)),
        policy: RtoPolicy::Fixed { timeout: Duration::from_millis(50) },
        max_timeouts: 10,
        ..SimConfig::default()
    }
}

const GBN: Mode = Mode::GoBackN { window: 16 };
const SR: Mode = Mode::SelectiveRepeat { window: 16 };

fn assert_all_finished_intact(r: &SimResult, what: &str) {
    for (i, x) in r.receivers.iter().enumerate() {
        assert_eq!(x.report.outcome, Outcome::Finished, "{what}: receiver {i}: {x:?}");
        assert!(x.intact, "{what}: receiver {i} output differs: {x:?}");
    }
}

/// Rewrites one ACK: the copy number `attempt` of ACK `from` sent by the last receiver (the
/// victim) becomes ACK `to` (same 256-segment block: one byte of the sequence field flipped),
/// after dropping the first copy of DATA `lost` to it. Returns the run and its trace.
fn lie(c: SimConfig, lost: u32, from: u32, attempt: u32, to: u32) -> (Simulation, SimResult) {
    let victim = c.receivers - 1;
    assert_eq!(from >> 8, to >> 8);
    let mask = (from ^ to) as u8;
    let mut sim = Simulation::new(c).unwrap();
    sim.set_intercept(move |d: &Datagram<'_>| {
        if d.receiver != victim {
            return Fate::Pass;
        }
        if d.downstream && d.kind == Some(PacketKind::Data) && d.field == Some(lost) && d.attempt == 0 {
            return Fate::Drop;
        }
        if !d.downstream && d.kind == Some(PacketKind::Ack) && d.field == Some(from) && d.attempt == attempt {
            // Byte 3 is the low byte of the big-endian sequence field.
            return Fate::Corrupt { byte: 3, mask };
        }
        Fate::Pass
    });
    let r = sim.run();
    (sim, r)
}

/// The changed ACK is in the trace: the network corrupted receiver `rx`'s ACK `from`, and the
/// client took in an ACK `to` from it under the same transmission id.
fn assert_lie_in_trace(sim: &Simulation, rx: u16, from: u32, to: u32) {
    let trace = sim.trace();
    let corrupted = trace
        .iter()
        .find(|e| matches!(e.kind, EventKind::LinkCorrupt) && e.rx == Some(rx) && e.seq == Some(from))
        .and_then(|e| e.tx)
        .expect("the ACK was corrupted on the way");
    assert!(
        trace.iter().any(|e| e.node == Node::Client
            && matches!(e.kind, EventKind::Arrive { packet: PacketKind::Ack, .. })
            && e.rx == Some(rx)
            && e.tx == Some(corrupted)
            && e.seq == Some(to)),
        "the client saw ACK {to} under tx {corrupted:?}"
    );
}

/// Retransmissions of `seq` to receiver `rx`.
fn resent(sim: &Simulation, rx: u16, seq: u32) -> usize {
    sim.trace()
        .iter()
        .filter(|e| {
            e.node == Node::Client
                && matches!(e.kind, EventKind::Send { packet: PacketKind::Data, retx: true, .. })
                && e.rx == Some(rx)
                && e.seq == Some(seq)
        })
        .count()
}

#[test]
fn go_back_n_recovers_from_a_changed_cumulative_ack() {
    // DATA 40 is lost; the classic receiver repeats ACK 39 for DATA 41 on. Its second repeat
    // becomes ACK 44: the client believes 40..=44 arrived. The repeats that follow (ACK 39,
    // below what the client now believes) contradict it, and it resends from 40.
    for receivers in [2, 3] {
        for loss in [0.0, 0.03] {
            let what = format!("{receivers} receivers, loss {loss}");
            let (sim, r) = lie(cfg(GBN, receivers, loss, 7), 40, 39, 1, 44);
            assert_lie_in_trace(&sim, receivers - 1, 39, 44);
            assert_all_finished_intact(&r, &what);
            assert!(resent(&sim, receivers - 1, 40) >= 1, "{what}");
            assert!(r.receivers[1].report.timeouts < 10, "{what}: {:?}", r.receivers[1].report);
        }
    }
}

#[test]
fn go_back_n_recovers_when_the_lie_moved_the_window_past_the_hole() {
    // One receiver: the lie alone moves the window's base past 40 and frees its buffer slot; the
    // sender keeps recent payloads back for exactly this and resends them.
    let (sim, r) = lie(cfg(GBN, 1, 0.0, 3), 40, 39, 1, 50);
    assert_lie_in_trace(&sim, 0, 39, 50);
    assert_all_finished_intact(&r, "1 receiver");
    assert!(resent(&sim, 0, 40) >= 1);
    assert_eq!(r.totals.timeouts, 0, "the contradiction, not the timer, recovers it");
}

#[test]
fn selective_repeat_recovers_from_an_ack_moved_onto_a_lost_segment() {
    // DATA 40 is lost; the buffering receiver acknowledges 41, but that ACK becomes ACK 40: the
    // client believes 40 arrived (and resends 41, whose ACK it lost). Once the window passes 40,
    // DATA beyond the receiver's window draws ACKs of 39, its last in-order segment: the client
    // resends 40.
    for receivers in [2, 3] {
        for loss in [0.0, 0.03] {
            let what = format!("{receivers} receivers, loss {loss}");
            let (sim, r) = lie(cfg(SR, receivers, loss, 7), 40, 41, 0, 40);
            assert_lie_in_trace(&sim, receivers - 1, 41, 40);
            assert_all_finished_intact(&r, &what);
            assert!(resent(&sim, receivers - 1, 40) >= 1, "{what}");
        }
    }
}

#[test]
fn selective_repeat_with_classic_receivers_recovers_from_a_changed_ack() {
    // Classic receivers answer out-of-order DATA with ACK 39; the second becomes ACK 43.
    for receivers in [2, 3] {
        let c = SimConfig { receiver_window: Some(0), ..cfg(SR, receivers, 0.0, 5) };
        let (sim, r) = lie(c, 40, 39, 1, 43);
        assert_lie_in_trace(&sim, receivers - 1, 39, 43);
        assert_all_finished_intact(&r, &format!("{receivers} classic receivers"));
        assert!(resent(&sim, receivers - 1, 40) >= 1);
    }
}

#[test]
fn go_back_n_does_not_take_a_changed_ack_of_the_last_segment_for_the_end_of_file() {
    // 201 segments. The last DATA is lost and the ACK of 199 becomes ACK 200: nothing follows
    // to contradict it, and a classic receiver takes any FIN as the end of file. The ACK skipped
    // a segment, so before the FIN the sender resends the last segment to that receiver.
    for receivers in [2, 3] {
        let (sim, r) = lie(cfg(GBN, receivers, 0.0, 7), 200, 199, 0, 200);
        assert_lie_in_trace(&sim, receivers - 1, 199, 200);
        assert_all_finished_intact(&r, &format!("{receivers} receivers"));
        assert_eq!(resent(&sim, receivers - 1, 200), 1);
        assert_eq!(r.totals.retransmissions, 1, "one probe, nothing else");
    }
}

#[test]
fn selective_repeat_resends_what_a_receiver_lacks_when_it_refuses_the_fin() {
    // DATA 195 is lost and the ACK of 196 becomes ACK 195, near the end: no DATA goes beyond the
    // receiver's window any more. It holds 196..=200 behind the gap, so it refuses the FIN and
    // answers with ACK 194: the sender goes back and resends 195.
    for receivers in [2, 3] {
        let (sim, r) = lie(cfg(SR, receivers, 0.0, 7), 195, 196, 0, 195);
        assert_lie_in_trace(&sim, receivers - 1, 196, 195);
        assert_all_finished_intact(&r, &format!("{receivers} receivers"));
        assert!(resent(&sim, receivers - 1, 195) >= 1);
    }
}

/// A run whose replies (ACKs and FIN echoes) are each corrupted with probability `p`: one
/// random bit of the datagram flipped, as the link model corrupts, drawn from `seed`. Only
/// replies: a flipped sequence field in a DATA header is damage the checksum cannot see (see
/// docs/robustness.md), not what this is about.
fn with_corrupt_replies(c: SimConfig, p: f64, seed: u64) -> (Simulation, SimResult) {
    let mut rng = Rng::new(seed);
    let mut sim = Simulation::new(c).unwrap();
    sim.set_intercept(move |d: &Datagram<'_>| {
        if d.downstream || !rng.chance(p) {
            return Fate::Pass;
        }
        Fate::Corrupt { byte: rng.below(d.bytes.len() as u64) as usize, mask: 1 << rng.below(8) }
    });
    let r = sim.run();
    (sim, r)
}

/// ACKs the client took in with a sequence number other than the one their receiver sent,
/// naming a segment of the file: the changed ACKs the sender could act on.
fn changed_acks(sim: &Simulation, segments: u64) -> usize {
    let sent: std::collections::HashMap<_, _> = sim
        .trace()
        .iter()
        .filter(|e| {
            e.node != Node::Client && matches!(e.kind, EventKind::Send { packet: PacketKind::Ack, .. })
        })
        .map(|e| (e.tx, e.seq))
        .collect();
    sim.trace()
        .iter()
        .filter(|e| {
            e.node == Node::Client && matches!(e.kind, EventKind::Arrive { packet: PacketKind::Ack, .. })
        })
        .filter(|e| {
            e.seq.is_some_and(|s| u64::from(s) < segments) && sent.get(&e.tx).is_some_and(|&s| s != e.seq)
        })
        .count()
}

#[test]
fn with_five_percent_of_replies_corrupted_every_receiver_finishes_in_both_modes() {
    // Go-back-n with classic receivers, selective repeat with buffering ones (each mode's own
    // receivers), window 8, 3 receivers, every other impairment too: loss at the receivers,
    // jitter, duplication and reordering on the links.
    for mode in [Mode::GoBackN { window: 8 }, Mode::SelectiveRepeat { window: 8 }] {
        let mut changed = 0;
        for seed in 0..100u64 {
            let c = SimConfig {
                file_size: 20_001 + seed * 101,
                link: LinkConfig {
                    jitter: Duration::from_millis(1),
                    duplicate: 0.02,
                    reorder: 0.02,
                    ..LinkConfig::with_delay(Duration::from_millis(5))
                },
                ..cfg(mode, 3, 0.05, seed)
            };
            let segments = c.file_size.div_ceil(c.mss as u64);
            let (sim, r) = with_corrupt_replies(c, 0.05, 5000 + seed);
            assert_all_finished_intact(&r, &format!("{mode:?}, seed {seed}"));
            changed += changed_acks(&sim, segments);
        }
        // Enough of them named a segment for the runs to have met the problem many times.
        assert!(changed >= 50, "{mode:?}: {changed} changed ACKs");
    }
}
