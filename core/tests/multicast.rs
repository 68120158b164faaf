//! IP multicast: each DATA goes once to a group every receiver joined, over each receiver's own
//! (independently lossy) link; retransmissions go by unicast to a lone missing receiver and to
//! the group when more than half of the live receivers miss a segment.

use core::time::Duration;
use p2mp_core::sim::{Fate, LinkConfig, LossModel, SimConfig, SimResult, Simulation, SIM_GROUP};
use p2mp_core::trace::{EventKind, Node, TraceEvent};
use p2mp_core::view::{self, TraceModel};
use p2mp_core::{Dialect, Error, Mode, PacketKind, RtoPolicy, SenderConfig};
use std::net::SocketAddr;

const SR: Mode = Mode::SelectiveRepeat { window: 16 };
const GBN: Mode = Mode::GoBackN { window: 16 };
/// 200_001 bytes at MSS 500.
const SEGMENTS: u64 = 401;

fn cfg(mode: Mode, receivers: u16, multicast: bool) -> SimConfig {
    SimConfig {
        file_size: 200_001,
        mss: 500,
        receivers,
        loss: 0.05,
        seed: 7,
        mode,
        link: LinkConfig {
            loss: LossModel::Bernoulli { p: 0.02 },
            ..LinkConfig::with_delay(Duration::from_millis(5))
        },
        policy: RtoPolicy::Fixed { timeout: Duration::from_millis(50) },
        max_timeouts: 50,
        multicast,
        ..SimConfig::default()
    }
}

fn run(c: SimConfig) -> (Simulation, SimResult) {
    let mut s = Simulation::new(c).unwrap();
    let r = s.run();
    (s, r)
}

fn client_sends(trace: &[TraceEvent]) -> impl Iterator<Item = &TraceEvent> {
    trace.iter().filter(|e| e.node == Node::Client && matches!(e.kind, EventKind::Send { .. }))
}

fn is_multicast(e: &TraceEvent) -> bool {
    matches!(e.kind, EventKind::Send { multicast: true, .. })
}

fn is_retx(e: &TraceEvent) -> bool {
    matches!(e.kind, EventKind::Send { retx: true, .. })
}

#[test]
fn three_lossy_receivers_get_identical_files_for_far_fewer_datagrams() {
    for mode in [SR, GBN, Mode::StopAndWait] {
        let (_, uni) = run(cfg(mode, 3, false));
        let (sim, multi) = run(cfg(mode, 3, true));
        assert!(uni.receivers.iter().all(|r| r.intact), "{mode:?} unicast");
        assert!(multi.receivers.iter().all(|r| r.intact), "{mode:?} multicast");
        let lost: u64 = multi.receivers.iter().map(|r| r.stats.lost).sum();
        assert!(lost > 20, "{mode:?}: the seed must lose datagrams at every receiver ({lost})");
        // First copies: one datagram per segment, plus a unicast FIN per receiver.
        assert_eq!(multi.totals.transmissions - multi.totals.retransmissions, SEGMENTS + 3, "{mode:?}");
        assert_eq!(uni.totals.transmissions - uni.totals.retransmissions, 3 * (SEGMENTS + 1), "{mode:?}");
        // Go-back-n resends whole windows, most of them to a single receiver: less gain.
        let factor = if mode == GBN { 1 } else { 2 };
        assert!(
            multi.totals.transmissions * factor < uni.totals.transmissions,
            "{mode:?}: {} datagrams by multicast vs {} by unicast",
            multi.totals.transmissions,
            uni.totals.transmissions
        );
        // Every first DATA is a group datagram, once per receiver in the trace.
        let first: Vec<_> = client_sends(sim.trace())
            .filter(|e| !is_retx(e) && matches!(e.kind, EventKind::Send { packet: PacketKind::Data, .. }))
            .collect();
        assert_eq!(first.len() as u64, 3 * SEGMENTS, "{mode:?}");
        assert!(first.iter().all(|e| is_multicast(e)), "{mode:?}");
    }
}

#[test]
fn trace_pairs_every_copy_of_a_group_datagram_with_its_own_fate() {
    let (sim, r) = run(cfg(SR, 3, true));
    let trace = sim.trace();
    let mut model = TraceModel::new();
    for e in trace {
        model.push(e.clone());
    }
    // Counted as datagrams on the wire, as the sender counts them.
    assert_eq!(model.summary().transmissions, r.totals.transmissions);
    assert_eq!(model.summary().retransmissions, r.totals.retransmissions);
    let copies: Vec<_> =
        model.flights.iter().filter(|f| f.downstream() && f.packet == PacketKind::Data).collect();
    let data_sends =
        client_sends(trace).filter(|e| matches!(e.kind, EventKind::Send { packet: PacketKind::Data, .. }));
    assert_eq!(copies.len(), data_sends.count());
    let mut link_drops = 0;
    for f in &copies {
        match f.fate {
            view::Fate::InFlight => panic!("copy {:?} to {} never resolved", f.tx, f.rx),
            view::Fate::LinkDrop { .. } => link_drops += 1,
            _ => {}
        }
        // The fate was recorded for this copy's receiver.
        let at = f.fate_index.map(|i| &trace[i]).unwrap();
        assert_eq!(at.rx, Some(f.rx));
        assert_eq!(at.tx, Some(f.tx));
    }
    assert!(link_drops > 0, "the links must lose some copies");
    // A group datagram's copies: same time and segment, consecutive ids, one per receiver.
    let first = client_sends(trace).find(|e| is_multicast(e)).unwrap();
    let group: Vec<_> = client_sends(trace).filter(|e| e.t == first.t && e.seq == first.seq).collect();
    assert_eq!(group.iter().map(|e| e.rx.unwrap()).collect::<Vec<_>>(), vec![0, 1, 2]);
    assert_eq!(group[1].tx.unwrap().0, group[0].tx.unwrap().0 + 1);
    assert_eq!(group[2].tx.unwrap().0, group[0].tx.unwrap().0 + 2);
    // Losses are independent per receiver: some group datagram reached one receiver and not another.
    let mixed =
        model.flights.chunk_by(|a, b| a.sent == b.sent && a.seq == b.seq && a.downstream()).any(|g| {
            g.iter().any(|f| matches!(f.fate, view::Fate::Arrived { .. }))
                && g.iter()
                    .any(|f| matches!(f.fate, view::Fate::LinkDrop { .. } | view::Fate::LossDrop { .. }))
        });
    assert!(mixed);
}

/// Runs a loss-free transfer in which DATA segment 40's first copy is lost on the paths of
/// `miss`, and returns the retransmissions of segment 40 and the totals. (Segment 40: the first
/// window goes out before an interceptor can be installed.)
fn resend_of_40(mode: Mode, receivers: u16, miss: &'static [u16]) -> (Vec<TraceEvent>, SimResult) {
    let mut c = cfg(mode, receivers, true);
    c.loss = 0.0;
    c.link = LinkConfig::with_delay(Duration::from_millis(5));
    let mut s = Simulation::new(c).unwrap();
    s.set_intercept(move |d| {
        let first_data_40 =
            d.downstream && d.kind == Some(PacketKind::Data) && d.field == Some(40) && d.attempt == 0;
        if first_data_40 && miss.contains(&d.receiver) {
            return Fate::Drop;
        }
        Fate::Pass
    });
    let r = s.run();
    assert!(r.receivers.iter().all(|x| x.intact));
    let resent = client_sends(s.trace()).filter(|e| is_retx(e) && e.seq == Some(40)).cloned().collect();
    (resent, r)
}

#[test]
fn a_segment_one_receiver_misses_is_resent_to_it_alone_by_unicast() {
    for mode in [SR, GBN, Mode::StopAndWait] {
        let (resent, r) = resend_of_40(mode, 3, &[1]);
        assert_eq!(resent.len(), 1, "{mode:?}: {resent:?}");
        assert_eq!(resent[0].rx, Some(1));
        assert!(!is_multicast(&resent[0]), "{mode:?}");
        if mode != GBN {
            assert_eq!(r.totals.retransmissions, 1, "{mode:?}");
        }
    }
}

#[test]
fn a_segment_most_receivers_miss_is_resent_once_to_the_group() {
    for mode in [SR, GBN, Mode::StopAndWait] {
        let (resent, r) = resend_of_40(mode, 3, &[0, 2]);
        assert_eq!(resent.len(), 2, "{mode:?}: {resent:?}");
        assert!(resent.iter().all(is_multicast), "{mode:?}");
        assert_eq!(resent.iter().map(|e| e.rx.unwrap()).collect::<Vec<_>>(), vec![0, 2]);
        assert_eq!(resent[0].t, resent[1].t);
        if mode != GBN {
            assert_eq!(r.totals.retransmissions, 1, "{mode:?}: one datagram serves both");
        }
    }
    // Two of four is not more than half: two unicast copies.
    let (resent, r) = resend_of_40(SR, 4, &[1, 3]);
    assert_eq!(resent.len(), 2);
    assert!(!resent.iter().any(is_multicast));
    assert_eq!(r.totals.retransmissions, 2);
    // Three of four is.
    let (resent, r) = resend_of_40(SR, 4, &[0, 1, 3]);
    assert_eq!(resent.len(), 3);
    assert!(resent.iter().all(is_multicast));
    assert_eq!(r.totals.retransmissions, 1);
}

#[test]
fn the_threshold_is_at_least_two_and_more_than_half() {
    use p2mp_core::sender::multicast_retransmit;
    assert!(!multicast_retransmit(1, 1));
    assert!(!multicast_retransmit(1, 3));
    assert!(multicast_retransmit(2, 3));
    assert!(multicast_retransmit(2, 2));
    assert!(!multicast_retransmit(2, 4));
    assert!(multicast_retransmit(3, 4));
    assert!(!multicast_retransmit(4, 8));
    assert!(multicast_retransmit(5, 8));
}

#[test]
fn group_must_be_ipv4_multicast_and_binary() {
    let with = |g: &str| SenderConfig {
        mode: SR,
        multicast: Some(g.parse::<SocketAddr>().unwrap()),
        ..SenderConfig::default()
    };
    assert!(with("239.77.0.1:7735").validate(1000).is_ok());
    assert!(with("224.0.0.251:5353").validate(1000).is_ok());
    for bad in ["10.0.0.1:7735", "240.0.0.1:7735", "239.77.0.1:0", "[ff02::1]:7735"] {
        assert!(matches!(with(bad).validate(1000), Err(Error::BadMulticastGroup(_))), "{bad}");
    }
    let text = SenderConfig { dialect: Dialect::Text, mode: Mode::StopAndWait, ..with("239.1.2.3:7735") };
    assert!(matches!(text.validate(1000), Err(Error::BadParameter(_))));
    assert_eq!(SIM_GROUP.port(), 7735);
}

#[test]
fn old_traces_without_the_multicast_field_still_parse() {
    let line = r#"{"t":1,"node":"client","rx":0,"seq":0,"tx":1,"ev":"send","packet":"data","bytes":508,"retx":false}"#;
    let e: TraceEvent = serde_json::from_str(line).unwrap();
    assert!(!is_multicast(&e));
    // And unicast sends are written without it.
    assert_eq!(serde_json::to_string(&e).unwrap(), line);
}

#[test]
fn a_dead_receiver_fails_and_the_others_finish() {
    use p2mp_core::sim::DeadReceiver;
    use p2mp_core::{Instant, Outcome};
    for mode in [SR, GBN, Mode::StopAndWait] {
        let mut c = cfg(mode, 3, true);
        c.max_timeouts = 8;
        c.dead = vec![DeadReceiver { receiver: 1, at: Instant::from_millis(100) }];
        let (_, r) = run(c);
        let outcomes: Vec<_> = r.receivers.iter().map(|x| x.report.outcome).collect();
        assert_eq!(outcomes, [Outcome::Finished, Outcome::Failed, Outcome::Finished], "{mode:?}");
        assert!(r.receivers[0].intact && r.receivers[2].intact, "{mode:?}");
    }
}

#[test]
fn receivers_whose_acks_are_merely_slower_do_not_turn_a_resend_into_a_group_copy() {
    // Receiver 0 is 1 ms away, the others 20 ms: when receiver 0's loss of segment 40 shows
    // (three later ACKs), the far receivers' ACKs of 40 are still on their way.
    let mut c = cfg(SR, 3, true);
    c.loss = 0.0;
    c.policy = RtoPolicy::adaptive();
    c.links = vec![
        LinkConfig::with_delay(Duration::from_millis(1)),
        LinkConfig::with_delay(Duration::from_millis(20)),
        LinkConfig::with_delay(Duration::from_millis(20)),
    ];
    let mut s = Simulation::new(c).unwrap();
    s.set_intercept(|d| {
        let lost = d.downstream && d.receiver == 0 && d.field == Some(40) && d.attempt == 0;
        if lost && d.kind == Some(PacketKind::Data) {
            Fate::Drop
        } else {
            Fate::Pass
        }
    });
    let r = s.run();
    assert!(r.receivers.iter().all(|x| x.intact));
    let resent: Vec<_> = client_sends(s.trace()).filter(|e| is_retx(e) && e.seq == Some(40)).collect();
    assert_eq!(resent.len(), 1, "{resent:?}");
    assert_eq!(resent[0].rx, Some(0));
    assert!(!is_multicast(resent[0]));
    // Nobody got a copy it did not need.
    assert!(r.receivers.iter().all(|x| x.stats.duplicates == 0), "{:?}", r.receivers);
}
