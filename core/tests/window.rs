//! Go-back-n and selective repeat beside stop-and-wait: same wire, same trace, same harness.

use core::time::Duration;
use p2mp_core::sim::{DeadReceiver, LinkConfig, SimConfig, SimResult, Simulation};
use p2mp_core::trace::EventKind;
use p2mp_core::{Instant, Mode, Outcome, RtoPolicy};

fn cfg(mode: Mode, loss: f64, receivers: u16) -> SimConfig {
    SimConfig {
        file_size: 200_001,
        mss: 500,
        receivers,
        loss,
        seed: 4,
        mode,
        link: LinkConfig::with_delay(Duration::from_millis(5)),
        policy: RtoPolicy::Fixed { timeout: Duration::from_millis(50) },
        max_timeouts: 50,
        ..SimConfig::default()
    }
}

fn run(c: SimConfig) -> (Simulation, SimResult) {
    let mut s = Simulation::new(c).unwrap();
    let r = s.run();
    (s, r)
}

/// Runs `c`, dropping the first `copies` copies of DATA `seq` on their way to receiver 1.
fn run_dropping_data_to_1(c: SimConfig, seq: u32, copies: u32) -> SimResult {
    let mut sim = Simulation::new(c).unwrap();
    sim.set_intercept(move |d| {
        let data = d.kind == Some(p2mp_core::PacketKind::Data);
        if d.downstream && data && d.receiver == 1 && d.field == Some(seq) && d.attempt < copies {
            p2mp_core::sim::Fate::Drop
        } else {
            p2mp_core::sim::Fate::Pass
        }
    });
    sim.run()
}

const GBN: Mode = Mode::GoBackN { window: 16 };
const SR: Mode = Mode::SelectiveRepeat { window: 16 };

#[test]
fn windowed_modes_deliver_intact_files_and_beat_stop_and_wait() {
    let (_, saw) = run(cfg(Mode::StopAndWait, 0.0, 3));
    for mode in [GBN, SR] {
        let (_, r) = run(cfg(mode, 0.0, 3));
        assert!(r.receivers.iter().all(|x| x.intact), "{mode:?}");
        assert_eq!(r.totals.retransmissions, 0, "{mode:?}");
        assert_eq!(r.totals.transmissions, 3 * (401 + 1));
        // 16 segments per 10 ms round trip instead of one.
        assert!(
            r.totals.delay_micros * 10 < saw.totals.delay_micros,
            "{mode:?}: {} vs {}",
            r.totals.delay_micros,
            saw.totals.delay_micros
        );
    }
}

#[test]
fn under_loss_selective_repeat_resends_only_what_was_lost() {
    let (_, gbn) = run(cfg(GBN, 0.05, 3));
    let (sim, sr) = run(cfg(SR, 0.05, 3));
    assert!(gbn.receivers.iter().all(|x| x.intact));
    assert!(sr.receivers.iter().all(|x| x.intact));
    let lost: u64 = sr.receivers.iter().map(|x| x.stats.lost).sum();
    // Every loss costs selective repeat exactly one retransmission (a lost ACK costs one too,
    // but ACKs are not lost here).
    assert_eq!(sr.totals.retransmissions, lost);
    // Go-back-n resends the whole outstanding window to that receiver.
    assert!(
        gbn.totals.retransmissions > 3 * sr.totals.retransmissions,
        "{} vs {}",
        gbn.totals.retransmissions,
        sr.totals.retransmissions
    );
    // Buffered out-of-order segments are written in order.
    let buffered: u64 = sr.receivers.iter().map(|x| x.stats.segments).sum();
    assert_eq!(buffered, 3 * 401);
    assert!(sim.trace().iter().any(|e| matches!(e.kind, EventKind::TimerFired { .. })));
}

#[test]
fn selective_repeat_sender_completes_against_classic_receivers() {
    let (_, r) = run(SimConfig { receiver_window: Some(0), ..cfg(SR, 0.05, 2) });
    assert!(r.receivers.iter().all(|x| x.intact));
}

#[test]
fn go_back_n_works_with_classic_receivers_by_construction() {
    // A classic receiver discards out-of-order DATA and acknowledges cumulatively: go-back-n.
    let (_, r) = run(SimConfig { receiver_window: Some(0), ..cfg(GBN, 0.1, 2) });
    assert!(r.receivers.iter().all(|x| x.intact));
}

#[test]
fn a_dead_receiver_fails_without_stalling_the_window() {
    for mode in [GBN, SR] {
        let dead = vec![DeadReceiver { receiver: 1, at: Instant::from_millis(30) }];
        let (_, r) = run(SimConfig { dead, max_timeouts: 5, ..cfg(mode, 0.02, 3) });
        assert_eq!(r.receivers[1].report.outcome, Outcome::Failed, "{mode:?}");
        assert!(r.receivers[0].intact && r.receivers[2].intact, "{mode:?}");
    }
}

#[test]
fn pacing_caps_the_rate() {
    // 200 kB at 2 Mb/s cannot take less than 0.8 s (plus headers); unpaced, the window of 16
    // over a 10 ms round trip needs about 0.26 s.
    let (_, r) = run(SimConfig { rate_bps: 2_000_000, ..cfg(SR, 0.0, 1) });
    assert!(r.receivers[0].intact);
    assert!(r.totals.delay_micros >= 800_000, "{}", r.totals.delay_micros);
    let (_, unpaced) = run(cfg(SR, 0.0, 1));
    assert!(unpaced.totals.delay_micros < r.totals.delay_micros / 2);
}

#[test]
fn windowed_runs_are_deterministic_and_traces_pair_up() {
    let c = SimConfig {
        link: LinkConfig { jitter: Duration::from_millis(3), ..LinkConfig::default() },
        ..cfg(SR, 0.05, 3)
    };
    let (a, ra) = run(c.clone());
    let (b, _) = run(c);
    assert_eq!(a.trace(), b.trace());
    assert!(ra.receivers.iter().all(|x| x.intact));
    let mut m = p2mp_core::view::TraceModel::new();
    for e in a.trace() {
        m.push(e.clone());
    }
    assert!(m.flights.iter().all(|f| f.fate != p2mp_core::view::Fate::InFlight));
    assert_eq!(m.summary().segments_done, 401);
}

#[test]
fn windowed_modes_refuse_the_text_dialect() {
    let c = SimConfig { dialect: p2mp_core::Dialect::Text, ..cfg(SR, 0.0, 1) };
    assert!(Simulation::new(c).is_err());
}

#[test]
fn selective_repeat_fast_retransmit_recovers_a_loss_without_a_timeout() {
    let c = SimConfig { policy: RtoPolicy::Fixed { timeout: Duration::from_secs(1) }, ..cfg(SR, 0.0, 2) };
    let r = run_dropping_data_to_1(c, 40, 1);
    assert!(r.receivers.iter().all(|x| x.intact));
    assert_eq!(r.totals.timeouts, 0, "recovered before the 1 s timer");
    assert_eq!(r.totals.retransmissions, 1);
    assert!(r.totals.delay_micros < 1_000_000, "{}", r.totals.delay_micros);
}

#[test]
fn selective_repeat_recovers_a_lost_first_segment_without_a_timeout() {
    // Segment 0 opens a classic receiver's transfer, so losing it used to leave receiver 1
    // silent until the initial timeout, and the shared window held every receiver there. A
    // buffering receiver acknowledges what follows, which calls 0 lost a round trip later.
    let c = SimConfig { policy: RtoPolicy::Fixed { timeout: Duration::from_secs(1) }, ..cfg(SR, 0.0, 2) };
    let mut sim = Simulation::new(c).unwrap();
    // The first window left when the simulation was made: take segment 0 to receiver 1 off
    // the wire.
    let first = sim
        .trace()
        .iter()
        .find(|e| matches!(e.kind, EventKind::Send { .. }) && e.rx == Some(1) && e.seq == Some(0))
        .and_then(|e| e.tx)
        .expect("segment 0 sent to receiver 1");
    assert!(sim.drop_in_flight(first));
    let r = sim.run();
    assert!(r.receivers.iter().all(|x| x.intact));
    assert_eq!(r.totals.timeouts, 0, "recovered before the 1 s timer");
    assert_eq!(r.totals.retransmissions, 1);
    assert!(r.totals.delay_micros < 1_000_000, "{}", r.totals.delay_micros);
}

#[test]
fn selective_repeat_catches_a_lost_retransmission_without_a_timeout() {
    // Segment 40 to receiver 1 is lost, and so is its fast retransmission: ACKs of segments
    // sent after that copy call it lost again, a round trip later, not a second later (given
    // room in the window to send something after it).
    let sr64 = Mode::SelectiveRepeat { window: 64 };
    let c = SimConfig { policy: RtoPolicy::Fixed { timeout: Duration::from_secs(1) }, ..cfg(sr64, 0.0, 2) };
    let r = run_dropping_data_to_1(c, 40, 2);
    assert!(r.receivers.iter().all(|x| x.intact));
    assert_eq!(r.totals.timeouts, 0, "recovered before the 1 s timer");
    assert_eq!(r.totals.retransmissions, 2);
    assert!(r.totals.delay_micros < 1_000_000, "{}", r.totals.delay_micros);
}

#[test]
fn go_back_n_fast_retransmit_recovers_a_loss_without_a_timeout() {
    let c = SimConfig { policy: RtoPolicy::Fixed { timeout: Duration::from_secs(1) }, ..cfg(GBN, 0.0, 2) };
    let r = run_dropping_data_to_1(c, 40, 1);
    assert!(r.receivers.iter().all(|x| x.intact));
    assert_eq!(r.totals.timeouts, 0, "recovered before the 1 s timer");
    // Go-back-n resends what was outstanding to that receiver, and only to it.
    assert!(r.totals.retransmissions >= 1 && r.totals.retransmissions <= 16, "{}", r.totals.retransmissions);
    assert_eq!(r.receivers[0].report.retransmissions, 0);
    assert!(r.totals.delay_micros < 1_000_000, "{}", r.totals.delay_micros);
}

#[test]
fn go_back_n_against_buffering_receivers_never_leaves_a_short_file_that_looks_complete() {
    // A misconfiguration: go-back-n reads selective-repeat ACKs as cumulative and may skip a
    // lost segment. The receiver then holds data beyond a gap and refuses the FIN, so it is
    // reported failed rather than finishing short.
    let (_, r) = run(SimConfig { receiver_window: Some(16), max_timeouts: 5, ..cfg(GBN, 0.05, 3) });
    for x in &r.receivers {
        assert!(x.intact || x.report.outcome == Outcome::Failed, "{x:?}");
        if x.report.outcome == Outcome::Finished {
            assert!(x.intact);
        }
    }
}

/// A classic receiver (no reorder buffer) answers a resent segment it already holds with the
/// ACK of its last in-order segment, never with the segment's own ACK: once the first ACK of a
/// segment is lost, a selective-repeat sender must read those answers as cumulative, or it
/// resends that segment until the receiver is declared failed.
#[test]
fn selective_repeat_survives_a_lost_ack_from_a_classic_receiver() {
    for (seq, copies) in [(40u32, 1u32), (40, 3), (0, 1), (400, 1)] {
        let mut sim = Simulation::new(SimConfig { receiver_window: Some(0), ..cfg(SR, 0.0, 2) }).unwrap();
        sim.set_intercept(move |d| {
            let ack = d.kind == Some(p2mp_core::PacketKind::Ack);
            if !d.downstream && ack && d.receiver == 1 && d.field == Some(seq) && d.attempt < copies {
                p2mp_core::sim::Fate::Drop
            } else {
                p2mp_core::sim::Fate::Pass
            }
        });
        let r = sim.run();
        assert!(r.receivers.iter().all(|x| x.intact), "ACK {seq} lost {copies}x: {:?}", r.receivers);
        assert!(
            r.receivers.iter().all(|x| x.report.outcome == Outcome::Finished),
            "ACK {seq} lost {copies}x"
        );
    }
}

/// The same with every kind of loss at once: 5% of DATA dropped by the loss service, 5% of
/// ACKs lost on the way back, classic receivers, several seeds.
#[test]
fn selective_repeat_with_classic_receivers_survives_random_ack_loss() {
    for seed in 0..12u64 {
        let mut sim =
            Simulation::new(SimConfig { receiver_window: Some(0), seed, ..cfg(SR, 0.05, 3) }).unwrap();
        let mut rng = p2mp_core::rng::Rng::new(seed + 100);
        sim.set_intercept(move |d| {
            let ack = d.kind == Some(p2mp_core::PacketKind::Ack);
            if !d.downstream && ack && rng.below(100) < 5 {
                p2mp_core::sim::Fate::Drop
            } else {
                p2mp_core::sim::Fate::Pass
            }
        });
        let r = sim.run();
        for x in &r.receivers {
            assert!(x.intact && x.report.outcome == Outcome::Finished, "seed {seed}: {x:?}");
        }
    }
}

/// Selective repeat over a link that loses, copies and reorders datagrams both ways (and the
/// loss service on top), to classic and to buffering receivers, 80 seeds each: every receiver
/// finishes with an intact copy. The reading of repeated ACKs as cumulative must rescue the
/// classic receivers (without it most of them failed) without fooling the buffering ones, to
/// which copied and reordered ACKs come too.
#[test]
fn selective_repeat_through_copies_and_reordering_to_either_kind_of_receiver() {
    let link = LinkConfig {
        jitter: Duration::from_millis(3),
        loss: p2mp_core::sim::LossModel::Bernoulli { p: 0.05 },
        duplicate: 0.1,
        reorder: 0.1,
        ..LinkConfig::with_delay(Duration::from_millis(3))
    };
    for receiver_window in [Some(0), None] {
        for seed in 0..80u64 {
            let c = SimConfig {
                file_size: 60_001,
                receivers: 3,
                seed,
                link,
                receiver_window,
                policy: RtoPolicy::Fixed { timeout: Duration::from_millis(40) },
                max_timeouts: 30,
                ..cfg(SR, 0.05, 3)
            };
            let (_, r) = run(c);
            for x in &r.receivers {
                assert!(
                    x.intact && x.report.outcome == Outcome::Finished,
                    "receiver window {receiver_window:?}, seed {seed}: {x:?}"
                );
            }
        }
    }
}

#[test]
fn windowed_senders_to_buffering_receivers_survive_a_lost_first_segment() {
    // Buffering receivers (`p2mpserver --window`) answer go-back-n too. With DATA 0 lost, one
    // acknowledges the segments after it one by one, which go-back-n reads as cumulative; past
    // its window it answers NOTHING_IN_ORDER, and the sender goes back to 0. Selective repeat
    // with a receiver window smaller than its own gets the same answers.
    let cases = [
        (Mode::GoBackN { window: 16 }, 16u32, 1u16),
        (Mode::GoBackN { window: 16 }, 16, 2),
        (Mode::GoBackN { window: 64 }, 64, 3),
        (Mode::GoBackN { window: 64 }, 8, 2),
        (Mode::SelectiveRepeat { window: 64 }, 8, 2),
    ];
    for (mode, window, receivers) in cases {
        let c = SimConfig {
            receiver_window: Some(window),
            policy: RtoPolicy::Fixed { timeout: Duration::from_millis(200) },
            ..cfg(mode, 0.0, receivers)
        };
        let mut sim = Simulation::new(c).unwrap();
        let target = receivers - 1;
        let first = sim
            .trace()
            .iter()
            .find(|e| matches!(e.kind, EventKind::Send { .. }) && e.rx == Some(target) && e.seq == Some(0))
            .and_then(|e| e.tx)
            .expect("segment 0 sent");
        assert!(sim.drop_in_flight(first));
        let r = sim.run();
        assert!(r.receivers.iter().all(|x| x.intact), "{mode:?} n = {receivers}: {:?}", r.receivers);
        assert_eq!(r.totals.failed, 0, "{mode:?} n = {receivers}");
        // Its counts come out exact: each segment acknowledged once, whatever was taken back.
        assert!(
            r.receivers.iter().all(|x| x.report.acked == r.totals.segments),
            "{mode:?} {:?}",
            r.receivers
        );
    }
}
