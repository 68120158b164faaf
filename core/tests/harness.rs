//! Protocol scenarios driven through the simulator's interceptor, in the style of quinn's
//! `Pair`: each test picks one datagram and drops, duplicates, delays or corrupts it.

use core::time::Duration;
use p2mp_core::sim::{DeadReceiver, Fate, LinkConfig, LossModel, SimConfig, SimResult, Simulation};
use p2mp_core::trace::{EventKind, Node, RejectReason, TraceEvent};
use p2mp_core::{Dialect, Instant, Mode, PacketKind, RtoPolicy};
use std::collections::HashSet;

fn base(file_size: u64, mss: usize, receivers: u16) -> SimConfig {
    SimConfig {
        file_size,
        mss,
        receivers,
        loss: 0.0,
        link: LinkConfig::with_delay(Duration::from_millis(5)),
        max_timeouts: 5,
        ..SimConfig::default()
    }
}

fn all_intact(r: &SimResult) -> bool {
    r.receivers.iter().all(|x| x.intact)
}

fn timer_fired(trace: &[TraceEvent]) -> Vec<(u32, Vec<u16>)> {
    trace
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TimerFired { receivers, .. } => Some((e.seq.unwrap_or(u32::MAX), receivers.clone())),
            _ => None,
        })
        .collect()
}

fn retransmissions(trace: &[TraceEvent]) -> Vec<(u16, u32)> {
    trace
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Send { retx: true, .. } if e.node == Node::Client => Some((e.rx?, e.seq?)),
            _ => None,
        })
        .collect()
}

#[test]
fn clean_transfer_sends_each_segment_once_to_each_receiver() {
    let mut sim = Simulation::new(base(10_001, 100, 3)).unwrap();
    let r = sim.run();
    assert!(all_intact(&r));
    assert_eq!(r.totals.segments, 101);
    assert_eq!(r.totals.transmissions, 3 * (101 + 1), "every DATA and the FIN, once each");
    assert_eq!(r.totals.retransmissions, 0);
    assert_eq!(r.totals.finished, 3);
    // 101 segments + FIN, one 10 ms round trip each.
    assert_eq!(r.totals.delay_micros, 102 * 10_000);
}

#[test]
fn lost_data_is_resent_to_that_receiver_alone_after_one_timeout() {
    let mut sim = Simulation::new(base(1000, 100, 3)).unwrap();
    sim.set_intercept(|d| {
        if d.downstream
            && d.kind == Some(PacketKind::Data)
            && d.field == Some(3)
            && d.receiver == 1
            && d.attempt == 0
        {
            Fate::Drop
        } else {
            Fate::Pass
        }
    });
    let r = sim.run();
    assert!(all_intact(&r));
    assert_eq!(timer_fired(sim.trace()), vec![(3, vec![1])]);
    assert_eq!(retransmissions(sim.trace()), vec![(1, 3)]);
    assert_eq!(r.receivers[1].report.timeouts, 1);
    assert_eq!(r.receivers[0].report.timeouts, 0);
    let drops = sim.trace().iter().filter(|e| matches!(e.kind, EventKind::LinkDrop { .. })).count();
    assert_eq!(drops, 1);
    // One fixed 1 s timeout on top of 11 round trips.
    assert_eq!(r.totals.delay_micros, 11 * 10_000 + 1_000_000);
}

#[test]
fn lost_ack_makes_the_receiver_see_a_duplicate_and_ack_again() {
    let mut sim = Simulation::new(base(1000, 100, 2)).unwrap();
    sim.set_intercept(|d| {
        if !d.downstream
            && d.kind == Some(PacketKind::Ack)
            && d.field == Some(2)
            && d.attempt == 0
            && d.receiver == 0
        {
            Fate::Drop
        } else {
            Fate::Pass
        }
    });
    let r = sim.run();
    assert!(all_intact(&r));
    assert_eq!(r.receivers[0].stats.duplicates, 1);
    assert_eq!(r.receivers[0].stats.segments, 10, "the duplicate is not written twice");
    assert_eq!(retransmissions(sim.trace()), vec![(0, 2)]);
}

#[test]
fn duplicated_data_is_acked_but_written_once() {
    let mut sim = Simulation::new(base(1000, 100, 3)).unwrap();
    sim.set_intercept(|d| {
        if d.downstream && d.field == Some(1) && d.receiver == 2 && d.kind == Some(PacketKind::Data) {
            Fate::Duplicate
        } else {
            Fate::Pass
        }
    });
    let r = sim.run();
    assert!(all_intact(&r));
    assert_eq!(r.receivers[2].stats.duplicates, 1);
    assert_eq!(r.totals.retransmissions, 0);
    assert_eq!(r.totals.timeouts, 0);
    assert!(r.receivers.iter().all(|x| x.stats.bytes == 1000));
}

#[test]
fn corrupted_payload_is_rejected_then_retransmitted() {
    for dialect in [Dialect::Binary, Dialect::Text] {
        let mut sim = Simulation::new(SimConfig { dialect, ..base(1000, 100, 2) }).unwrap();
        let header = dialect.header_len();
        sim.set_intercept(move |d| {
            if d.downstream
                && d.kind == Some(PacketKind::Data)
                && d.receiver == 0
                && d.attempt == 0
                && d.bytes.len() > header
            {
                let seg4 = match dialect {
                    Dialect::Binary => 4,
                    Dialect::Text => 400,
                };
                if d.field == Some(seg4) {
                    return Fate::Corrupt { byte: header + 7, mask: 0x10 };
                }
            }
            Fate::Pass
        });
        let r = sim.run();
        assert!(all_intact(&r), "{dialect}");
        assert_eq!(r.receivers[0].stats.bad_checksum, 1, "{dialect}");
        let rejects = sim
            .trace()
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Reject { reason: RejectReason::Checksum }))
            .count();
        assert_eq!(rejects, 1);
        assert_eq!(retransmissions(sim.trace()), vec![(0, 4)], "{dialect}");
    }
}

#[test]
fn late_out_of_order_ack_is_ignored_and_counted() {
    let mut sim = Simulation::new(base(1000, 100, 2)).unwrap();
    // The first ACK of segment 5 from receiver 1 arrives after the timeout and after the
    // retransmission's ACK: it must be recognised as stale and change nothing.
    sim.set_intercept(|d| {
        if !d.downstream
            && d.receiver == 1
            && d.field == Some(5)
            && d.attempt == 0
            && d.kind == Some(PacketKind::Ack)
        {
            Fate::Delay(Duration::from_millis(1500))
        } else {
            Fate::Pass
        }
    });
    let r = sim.run();
    assert!(all_intact(&r));
    assert_eq!(r.totals.timeouts, 1);
    assert_eq!(r.totals.failed, 0);
    let stale = sim
        .trace()
        .iter()
        .filter(|e| {
            e.node == Node::Client && matches!(e.kind, EventKind::Reject { reason: RejectReason::Unexpected })
        })
        .count();
    assert!(stale >= 1, "late ACK counted as unexpected");
    assert_eq!(sim.sender().ignored().unexpected as usize, stale);
}

#[test]
fn silent_receiver_is_declared_failed_and_the_others_finish() {
    let mut sim = Simulation::new(SimConfig {
        dead: vec![DeadReceiver { receiver: 2, at: Instant::ZERO }],
        ..base(2000, 100, 3)
    })
    .unwrap();
    let r = sim.run();
    assert!(r.receivers[0].intact && r.receivers[1].intact);
    assert!(!r.receivers[2].intact);
    assert_eq!(r.totals.failed, 1);
    assert_eq!(r.totals.finished, 2);
    assert_eq!(r.receivers[2].report.outcome, p2mp_core::Outcome::Failed);
    assert_eq!(r.receivers[2].report.timeouts, 5, "max_timeouts consecutive timeouts");
    let failed: Vec<_> = sim
        .trace()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::ReceiverFailed { timeouts: 5 }))
        .map(|e| e.rx)
        .collect();
    assert_eq!(failed, vec![Some(2)]);
}

#[test]
fn receiver_dying_mid_transfer_fails_only_that_receiver() {
    let mut sim = Simulation::new(SimConfig {
        dead: vec![DeadReceiver { receiver: 0, at: Instant::from_millis(55) }],
        ..base(2000, 100, 2)
    })
    .unwrap();
    let r = sim.run();
    assert!(!r.receivers[0].intact);
    assert!(r.receivers[1].intact);
    // DATA 5 arrives at 55 ms, just as it dies: segments 0-4 were acknowledged.
    assert_eq!(r.receivers[0].report.acked, 5, "acked the segments before it died");
}

#[test]
fn everyone_dead_ends_the_transfer() {
    let dead = (0..2).map(|receiver| DeadReceiver { receiver, at: Instant::ZERO }).collect();
    let mut sim = Simulation::new(SimConfig { dead, ..base(500, 100, 2) }).unwrap();
    let r = sim.run();
    assert_eq!(r.totals.failed, 2);
    assert!(sim.is_done());
    assert!(matches!(sim.trace().last().map(|e| &e.kind), Some(EventKind::TransferEnd { .. })));
}

#[test]
fn empty_file_is_a_fin_alone() {
    for dialect in [Dialect::Binary, Dialect::Text] {
        let mut sim = Simulation::new(SimConfig { dialect, ..base(0, 100, 3) }).unwrap();
        let r = sim.run();
        assert!(all_intact(&r));
        assert_eq!(r.totals.segments, 0);
        assert_eq!(r.totals.transmissions, 3);
        let sends: Vec<_> = sim
            .trace()
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::Send { packet, .. } if e.node == Node::Client => Some(packet),
                _ => None,
            })
            .collect();
        assert_eq!(sends, vec![PacketKind::Fin; 3]);
        assert!(r.receivers.iter().all(|x| x.stats.bytes == 0 && x.stats.segments == 0));
    }
}

#[test]
fn exact_multiple_of_mss_has_no_short_segment() {
    let mut sim = Simulation::new(base(500, 100, 2)).unwrap();
    let r = sim.run();
    assert!(all_intact(&r));
    assert_eq!(r.totals.segments, 5);
    let data_sizes: HashSet<u32> = sim
        .trace()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Deliver { bytes } => Some(bytes),
            _ => None,
        })
        .collect();
    assert_eq!(data_sizes, HashSet::from([100]));
}

#[test]
fn mss_of_one_byte_works_in_both_dialects() {
    for dialect in [Dialect::Binary, Dialect::Text] {
        let mut sim = Simulation::new(SimConfig { dialect, loss: 0.2, seed: 11, ..base(37, 1, 2) }).unwrap();
        let r = sim.run();
        assert!(all_intact(&r), "{dialect}");
        assert_eq!(r.totals.segments, 37);
    }
}

#[test]
fn loss_service_drops_are_traced_with_the_wire_field_and_recovered() {
    for dialect in [Dialect::Binary, Dialect::Text] {
        let mut sim = Simulation::new(SimConfig {
            dialect,
            loss: 0.2,
            seed: 5,
            max_timeouts: 20,
            ..base(5_003, 100, 3)
        })
        .unwrap();
        let r = sim.run();
        assert!(all_intact(&r), "{dialect}");
        let drops: Vec<_> = sim
            .trace()
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::LossDrop { field } => Some((e.seq, field)),
                _ => None,
            })
            .collect();
        let lost: u64 = r.receivers.iter().map(|x| x.stats.lost).sum();
        assert_eq!(drops.len() as u64, lost);
        assert!(lost > 20, "{lost}");
        if dialect == Dialect::Text {
            // Text sequence fields are byte offsets: segment k's field is 100 k.
            assert!(drops.iter().all(|(seq, f)| match (seq, f) {
                (Some(s), Some(f)) if *f != 5_003 => *f == s * 100,
                _ => true,
            }));
        }
        assert!(r.totals.retransmissions >= lost);
    }
}

#[test]
fn same_seed_same_trace_and_different_seed_different_trace() {
    let cfg = SimConfig {
        loss: 0.1,
        link: LinkConfig {
            jitter: Duration::from_millis(2),
            loss: p2mp_core::sim::LossModel::Bernoulli { p: 0.05 },
            duplicate: 0.02,
            reorder: 0.02,
            ..LinkConfig::default()
        },
        max_timeouts: 30,
        ..base(20_000, 250, 4)
    };
    let run = |cfg: SimConfig| {
        let mut s = Simulation::new(cfg).unwrap();
        s.run();
        serde_json::to_string(s.trace()).unwrap()
    };
    let a = run(cfg.clone());
    assert_eq!(a, run(cfg.clone()));
    assert_ne!(a, run(SimConfig { seed: 2, ..cfg }));
}

/// Every impairment the simulator models at once, each strong enough to act on a small
/// transfer: the receivers' loss service, Gilbert-Elliott burst loss, jitter, duplication,
/// reordering, corruption, and a bandwidth limit behind a drop-tail queue that a window of
/// DATA overflows.
fn every_impairment() -> SimConfig {
    SimConfig {
        loss: 0.1,
        mode: Mode::SelectiveRepeat { window: 8 },
        link: LinkConfig {
            delay: Duration::from_millis(5),
            jitter: Duration::from_millis(2),
            bandwidth_bps: 2_000_000,
            queue_bytes: 1_200,
            loss: LossModel::GilbertElliott {
                p_good_bad: 0.02,
                p_bad_good: 0.3,
                loss_good: 0.005,
                loss_bad: 0.6,
            },
            duplicate: 0.03,
            reorder: 0.03,
            corrupt: 0.03,
        },
        max_timeouts: 50,
        ..base(20_000, 250, 4)
    }
}

fn traced(cfg: SimConfig) -> (String, Vec<TraceEvent>) {
    let mut s = Simulation::new(cfg).unwrap();
    let r = s.run();
    assert!(all_intact(&r), "the transfer completes despite the impairments");
    (serde_json::to_string(s.trace()).unwrap(), s.take_trace())
}

#[test]
fn every_impairment_at_once_same_seed_same_trace_and_each_one_acts() {
    let cfg = every_impairment();
    let (a, trace) = traced(cfg.clone());
    assert_eq!(a, traced(cfg.clone()).0, "same seed, same parameters: the same trace");
    assert_ne!(a, traced(SimConfig { seed: 2, ..cfg.clone() }).0, "another seed, another trace");
    // The labelled impairments all show in the trace...
    let count = |f: fn(&EventKind) -> bool| trace.iter().filter(|e| f(&e.kind)).count();
    assert!(count(|k| matches!(k, EventKind::LossDrop { .. })) > 0, "loss service");
    assert!(count(|k| matches!(k, EventKind::LinkDrop { .. })) > 0, "link loss and queue drops");
    assert!(count(|k| matches!(k, EventKind::LinkDuplicate)) > 0, "duplication");
    assert!(count(|k| matches!(k, EventKind::LinkCorrupt)) > 0, "corruption");
    assert!(
        count(|k| matches!(k, EventKind::Reject { reason: RejectReason::Checksum, .. })) > 0,
        "corrupted datagrams are rejected"
    );
    // ...and each parameter, the unlabelled ones (delay spread, bandwidth, queue) included,
    // changes the trace when switched off: the identical traces above are not identical
    // because some impairment did nothing.
    let l = cfg.link;
    let off: [(&str, SimConfig); 8] = [
        ("loss service", SimConfig { loss: 0.0, ..cfg.clone() }),
        ("burst loss", SimConfig { link: LinkConfig { loss: LossModel::None, ..l }, ..cfg.clone() }),
        ("jitter", SimConfig { link: LinkConfig { jitter: Duration::ZERO, ..l }, ..cfg.clone() }),
        ("duplication", SimConfig { link: LinkConfig { duplicate: 0.0, ..l }, ..cfg.clone() }),
        ("reordering", SimConfig { link: LinkConfig { reorder: 0.0, ..l }, ..cfg.clone() }),
        ("corruption", SimConfig { link: LinkConfig { corrupt: 0.0, ..l }, ..cfg.clone() }),
        ("bandwidth", SimConfig { link: LinkConfig { bandwidth_bps: 0, ..l }, ..cfg.clone() }),
        ("queue", SimConfig { link: LinkConfig { queue_bytes: 0, ..l }, ..cfg.clone() }),
    ];
    for (what, c) in off {
        assert_ne!(a, traced(c).0, "switching off {what} changes nothing");
    }
    // Without link loss, the link drops are the queue's.
    let (_, no_link_loss) = traced(SimConfig { link: LinkConfig { loss: LossModel::None, ..l }, ..cfg });
    assert!(no_link_loss.iter().any(|e| matches!(e.kind, EventKind::LinkDrop { .. })), "the queue overflows");
}

#[test]
fn transmission_ids_are_unique_and_retransmissions_reuse_the_segment_not_the_id() {
    let mut sim =
        Simulation::new(SimConfig { loss: 0.2, seed: 3, max_timeouts: 30, ..base(3_000, 100, 3) }).unwrap();
    let r = sim.run();
    assert!(all_intact(&r));
    let sends: Vec<_> = sim.trace().iter().filter(|e| matches!(e.kind, EventKind::Send { .. })).collect();
    let ids: HashSet<_> = sends.iter().map(|e| e.tx.unwrap()).collect();
    assert_eq!(ids.len(), sends.len());
    assert!(
        retransmissions(sim.trace()).len() as u64 == r.totals.retransmissions && r.totals.retransmissions > 0
    );
    // Every arrival or loss at a server names a transmission the client made.
    let client_ids: HashSet<_> =
        sends.iter().filter(|e| e.node == Node::Client).map(|e| e.tx.unwrap()).collect();
    for e in sim.trace().iter().filter(|e| matches!(e.node, Node::Server(_))) {
        if matches!(e.kind, EventKind::Arrive { .. } | EventKind::LossDrop { .. }) {
            assert!(client_ids.contains(&e.tx.unwrap()), "{e:?}");
        }
    }
}

#[test]
fn adaptive_rto_converges_and_obeys_karn() {
    let mut sim = Simulation::new(SimConfig {
        policy: RtoPolicy::adaptive(),
        loss: 0.1,
        seed: 8,
        max_timeouts: 30,
        ..base(10_000, 100, 2)
    })
    .unwrap();
    let r = sim.run();
    assert!(all_intact(&r));
    // 10 ms RTT on a jitter-free link: SRTT settles on it.
    assert!(r.receivers.iter().all(|x| x.report.srtt_micros == Some(10_000)));
    // Much faster than with a fixed 1 s timer.
    let mut fixed =
        Simulation::new(SimConfig { loss: 0.1, seed: 8, max_timeouts: 30, ..base(10_000, 100, 2) }).unwrap();
    assert!(fixed.run().totals.delay_micros > 2 * r.totals.delay_micros);
    // Karn: no RTT sample for a (receiver, segment) that was retransmitted.
    let retx: HashSet<_> = retransmissions(sim.trace()).into_iter().collect();
    for e in sim.trace() {
        if let (EventKind::RttSample { .. }, Some(rx), Some(seq)) = (&e.kind, e.rx, e.seq) {
            assert!(!retx.contains(&(rx, seq)), "sample from retransmitted segment {seq} to {rx}");
        }
    }
}

#[test]
fn bandwidth_and_per_receiver_links_shape_the_delay() {
    let slow = LinkConfig { delay: Duration::from_millis(20), ..LinkConfig::default() };
    let mut sim =
        Simulation::new(SimConfig { links: vec![LinkConfig::default(), slow], ..base(1_000, 100, 2) })
            .unwrap();
    let r = sim.run();
    // The slowest receiver sets the pace: 11 rounds of 40 ms.
    assert_eq!(r.totals.delay_micros, 11 * 40_000);
    let bw = LinkConfig { delay: Duration::ZERO, bandwidth_bps: 1_080_000, ..LinkConfig::default() };
    let mut sim = Simulation::new(SimConfig { link: bw, ..base(1_000, 127, 1) }).unwrap();
    let r = sim.run();
    // 8 segments: 7 full DATA of 135 bytes (1 ms each at 1.08 Mb/s), the last of 119 bytes
    // (881 us); every ACK, the FIN and its echo are 8 bytes (59 us).
    assert!(all_intact(&r));
    assert_eq!(r.totals.delay_micros, 7 * (1_000 + 59) + (881 + 59) + 2 * 59);
}

#[test]
fn trace_serialises_as_json_lines_and_reads_back() {
    let mut sim = Simulation::new(SimConfig { loss: 0.1, ..base(2_000, 100, 2) }).unwrap();
    sim.run();
    let mut text = serde_json::to_string(&sim.header()).unwrap();
    for e in sim.trace() {
        text.push('\n');
        text.push_str(&serde_json::to_string(e).unwrap());
    }
    let lines: Vec<p2mp_core::trace::TraceLine> =
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(matches!(lines[0], p2mp_core::trace::TraceLine::Header(_)));
    assert_eq!(lines.len(), sim.trace().len() + 1);
    assert!(
        matches!(&lines[1], p2mp_core::trace::TraceLine::Event(e) if matches!(e.kind, EventKind::TransferStart { .. }))
    );
}

#[test]
fn tracing_off_gives_the_same_result() {
    let cfg = SimConfig { loss: 0.1, ..base(5_000, 100, 3) };
    let a = Simulation::new(cfg.clone()).unwrap().run();
    let mut quiet = Simulation::new(SimConfig { trace: false, ..cfg }).unwrap();
    let b = quiet.run();
    assert_eq!(a, b);
    assert!(quiet.trace().is_empty());
}

#[test]
fn dropping_a_packet_in_flight_by_hand_triggers_a_timeout_and_a_retransmission_to_that_receiver() {
    let mut sim = Simulation::new(base(1000, 100, 3)).unwrap();
    // Run until segment 4 is on its way to receiver 2, then drop exactly that datagram.
    let target = loop {
        assert!(sim.step(), "segment 4 never went out");
        let hit = sim.in_flight().into_iter().find(|&(_, rx, down, _)| {
            down && rx == 2
                && sim.trace().iter().any(|e| e.tx.is_some() && e.seq == Some(4) && e.rx == Some(2))
        });
        if let Some((tx, ..)) = hit {
            break tx;
        }
    };
    assert!(sim.drop_in_flight(target));
    assert!(!sim.drop_in_flight(target), "already gone");
    let r = sim.run();
    assert!(all_intact(&r));
    assert_eq!(timer_fired(sim.trace()), vec![(4, vec![2])]);
    assert_eq!(retransmissions(sim.trace()), vec![(2, 4)]);
}
