//! Host tests of teaching mode: URL <-> parameters, presets, the incremental simulation
//! source and its drops, narration, the experiments runner.

use crate::experiments::{parse_values, ExperimentForm, Runner, Which};
use crate::narrate::{explain, servers_phrase};
use crate::player::{Action, Player, Source};
use crate::sim_source::{Dropped, SimDriver};
use crate::simulate::{
    preset, presets, query_wants_simulation, LinkLoss, Rto, ScriptedDrop, SimParams, MAX_RECEIVERS,
};
use p2mp_core::experiment::Param;
use p2mp_core::trace::{EventKind, Node, TraceEvent};
use p2mp_core::view::TraceModel;
use p2mp_core::window::Mode;
use p2mp_core::wire::Dialect;
use p2mp_core::PacketKind;

fn full_run(p: &SimParams) -> Vec<TraceEvent> {
    let mut d = SimDriver::new(p.config().expect("config"), p.drops.clone()).expect("driver");
    d.run_to_end().events
}

#[test]
fn url_round_trips_every_parameter() {
    let p = SimParams {
        receivers: 7,
        loss: 0.125,
        link_model: LinkLoss::Burst,
        link_loss: 0.07,
        burst_len: 6.5,
        file_size: 123_456,
        mss: 1_000,
        delay_ms: 12.5,
        delays_ms: vec![1.0, 2.5, 40.0],
        jitter_ms: 3.0,
        jitters_ms: vec![0.0, 1.0],
        bandwidth_mbps: 10.0,
        rto: Rto::Adaptive,
        max_timeouts: 4,
        dialect: Dialect::Text,
        mode: Mode::SelectiveRepeat { window: 32 },
        seed: 987_654_321,
        dead: Some((3, 0.25)),
        drops: vec![ScriptedDrop { ack: true, rx: 1, seq: 2 }, ScriptedDrop { ack: false, rx: 0, seq: 9 }],
        compare: true,
        compare_window: 16,
    };
    let q = p.to_query();
    assert!(query_wants_simulation(&q));
    let (back, errors) = SimParams::from_query(&format!("?{q}"));
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(back, p, "{q}");
    // Defaults write nothing but `sim=1`.
    assert_eq!(SimParams::default().to_query(), "sim=1");
    assert_eq!(SimParams::from_query("sim=1"), (SimParams::default(), Vec::new()));
    // Fixed timers and go-back-n too.
    let p = SimParams { rto: Rto::Fixed(250.0), mode: Mode::GoBackN { window: 5 }, ..SimParams::default() };
    assert_eq!(SimParams::from_query(&p.to_query()).0, p);
    // Presets round-trip as `preset=NAME` plus their values.
    for pr in presets() {
        let (back, errors) = SimParams::from_query(&format!("preset={}&{}", pr.name, pr.params.to_query()));
        assert!(errors.is_empty(), "{}: {errors:?}", pr.name);
        assert_eq!(back, pr.params, "{}", pr.name);
        assert_eq!(SimParams::from_query(&format!("preset={}", pr.name)).0, pr.params);
    }
}

#[test]
fn bad_url_parameters_are_clamped_or_ignored_with_messages_never_a_panic() {
    let (p, errors) = SimParams::from_query(
        "n=99&p=abc&mss=-5&size=1e12&rto=soon&mode=zz&dead=9@1&drops=foo,ack:1:2&seed=-1&%ZZ=1&delays=1,a\
         &window=0&dialect=morse&linkloss=lots&delay=NaN&jitter=inf&bw=1e300&preset=nope&burst=0",
    );
    assert_eq!(p.receivers, MAX_RECEIVERS);
    assert_eq!(p.loss, SimParams::default().loss);
    assert_eq!(p.mss, crate::simulate::MSS_RANGE.0);
    assert_eq!(p.file_size, crate::simulate::MAX_FILE_SIZE);
    assert_eq!(p.rto, SimParams::default().rto);
    assert_eq!(p.dead, Some((9, 1.0)), "n was clamped to 16, so server 9 exists");
    assert_eq!(p.drops, vec![ScriptedDrop { ack: true, rx: 1, seq: 2 }]);
    assert_eq!(p.seed, 1);
    assert!(errors.len() >= 10, "{errors:?}");
    p.config().expect("whatever the URL said, the result runs");
    // Anything at all parses without panicking.
    for q in ["", "?", "&&&", "=", "n", "n=", "%", "%4", "a=%E2%82", "dead=@", "drops=ack:", "delays=,,,"] {
        let (p, _) = SimParams::from_query(q);
        p.config().expect(q);
    }
}

#[test]
fn dead_receiver_in_range_is_kept() {
    let (p, errors) = SimParams::from_query("n=4&dead=3@0.5");
    assert!(errors.is_empty());
    assert_eq!(p.dead, Some((3, 0.5)));
    let (p, errors) = SimParams::from_query("n=2&dead=3@0.5");
    assert_eq!((p.dead, errors.len()), (None, 1));
    let (p, _) = p.with_field("dead", "");
    assert_eq!(p.dead, None);
}

#[test]
fn with_field_sets_one_control() {
    let p = SimParams::default();
    let (q, e) = p.with_field("n", "5");
    assert!(e.is_empty());
    assert_eq!(q, SimParams { receivers: 5, ..p.clone() });
    let (q, _) = p.with_field("mode", "gbn");
    assert_eq!(q.mode, Mode::GoBackN { window: 8 });
    let (q, _) = q.with_field("window", "16");
    assert_eq!(q.mode, Mode::GoBackN { window: 16 });
    let (q, e) = p.with_field("p", "0.9");
    assert_eq!((q.loss, e.len()), (0.5, 1), "clamped with a message");
    let (q, _) = p.with_field("rto", "adaptive");
    assert_eq!(q.rto, Rto::Adaptive);
}

#[test]
fn every_preset_runs_to_completion() {
    for pr in presets() {
        let events = full_run(&pr.params);
        let mut m = TraceModel::new();
        for e in events {
            m.push(e);
        }
        let s = m.summary();
        let end = s.end.as_ref().unwrap_or_else(|| panic!("{} ends", pr.name));
        match pr.name {
            "no-loss" => assert_eq!(s.retransmissions, 0),
            "dead-receiver" => assert_eq!(end.failed, 1),
            "lost-ack" => {
                assert_eq!((s.link_drops, s.retransmissions, s.timeouts), (1, 1, 1));
                let retx: Vec<_> = m.flights.iter().filter(|f| f.retx).map(|f| (f.rx, f.seq)).collect();
                assert_eq!(retx, vec![(1, Some(2))], "resent to server 1 alone");
            }
            "bursty" => assert!(s.link_drops > 1),
            "many" => assert_eq!(s.receivers.len(), 16),
            _ => {}
        }
        if pr.name != "dead-receiver" {
            assert_eq!(end.failed, 0, "{}", pr.name);
        }
    }
}

#[test]
fn incremental_source_gives_the_same_trace_as_a_full_run() {
    let p = SimParams { loss: 0.2, seed: 11, file_size: 6_000, ..SimParams::default() };
    let whole = full_run(&p);
    let mut d = SimDriver::new(p.config().expect("config"), Vec::new()).expect("driver");
    let mut got = d.advance_to(0).events;
    let mut t = 0;
    while !d.is_done() {
        t += 7_000;
        let b = d.advance_to(t);
        assert!(b.events.iter().all(|e| e.t.total_micros() <= t), "nothing from the future");
        if let Some(h) = b.horizon {
            assert_eq!(h, t, "the horizon is where it was asked to go");
        }
        got.extend(b.events);
    }
    assert_eq!(got, whole);
}

#[test]
fn a_dropped_packet_is_resent_to_exactly_its_receiver() {
    let p = SimParams { loss: 0.0, receivers: 3, file_size: 2_000, delay_ms: 20.0, ..SimParams::default() };
    let mut d = SimDriver::new(p.config().expect("config"), Vec::new()).expect("driver");
    d.advance_to(0);
    d.advance_to(5_000);
    let victim = d
        .in_flight()
        .into_iter()
        .find(|w| w.downstream && w.rx == 2)
        .expect("DATA 0 to server 2 on the wire");
    let Dropped::Appended(b) = d.drop_packet(victim.tx, 5_000) else { panic!("drop at the present") };
    assert!(b.events.iter().any(|e| matches!(e.kind, EventKind::LinkDrop { packet: PacketKind::Data })));
    let rest = d.run_to_end().events;
    let fired: Vec<_> = rest
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::TimerFired { receivers, .. } => Some(receivers.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(fired, vec![vec![2]]);
    let retx: Vec<_> = rest
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Send { retx: true, .. }))
        .map(|e| (e.rx, e.seq))
        .collect();
    assert_eq!(retx, vec![(Some(2), Some(0))]);
    assert_eq!(d.drop_packet(victim.tx, d.now()), Dropped::NotFound);
}

#[test]
fn a_drop_in_the_past_rebuilds_up_to_the_playhead() {
    let p = SimParams { loss: 0.0, receivers: 2, file_size: 2_000, delay_ms: 20.0, ..SimParams::default() };
    let mut d = SimDriver::new(p.config().expect("config"), Vec::new()).expect("driver");
    d.advance_to(0);
    d.advance_to(200_000); // the sim is ahead; the user scrubbed back to 10 ms
    let mut look = SimDriver::new(p.config().expect("config"), Vec::new()).expect("driver");
    look.advance_to(10_000);
    let victim = look.in_flight().into_iter().find(|w| w.downstream).expect("on the wire at 10 ms");
    let Dropped::Rebuilt(b) = d.drop_packet(victim.tx, 10_000) else { panic!("rebuilt") };
    assert_eq!(b.horizon, Some(10_000));
    assert!(b.events.iter().all(|e| e.t.total_micros() <= 10_000));
    assert_eq!(d.now(), 10_000);
    // Its complete trace (for exports) contains the drop and one retransmission.
    let all = d.complete_trace().expect("complete");
    assert_eq!(all.iter().filter(|e| matches!(e.kind, EventKind::LinkDrop { .. })).count(), 1);
    assert_eq!(all.iter().filter(|e| matches!(e.kind, EventKind::Send { retx: true, .. })).count(), 1);
}

#[test]
fn player_plays_an_incremental_source_up_to_its_horizon() {
    let p = SimParams { loss: 0.1, seed: 2, file_size: 3_000, ..SimParams::default() };
    let mut d = SimDriver::new(p.config().expect("config"), Vec::new()).expect("driver");
    let mut pl = Player::default();
    pl.apply(Action::Open(Source::Simulated { label: p.label() }));
    pl.apply(Action::Extend(d.advance_to(0)));
    pl.apply(Action::Play);
    assert!(pl.playing && pl.horizon == Some(0));
    let mut frames = 0;
    while pl.playing && frames < 100_000 {
        let dt = pl.advance_micros(16.0).expect("1x");
        if !d.is_done() {
            pl.apply(Action::Extend(d.advance_to(pl.playhead + dt)));
        }
        pl.apply(Action::Tick(16.0));
        assert!(pl.playhead <= pl.t_end());
        frames += 1;
    }
    assert!(!pl.playing && pl.horizon.is_none(), "stops at the end of a finished simulation");
    assert_eq!(pl.cursor, pl.len());
    assert_eq!(pl.trace().model.events, full_run(&p));
}

#[test]
fn narration_explains_drops_with_the_timer_and_timeouts_with_the_receivers() {
    let pr = preset("lost-ack").expect("preset");
    let mut m = TraceModel::new();
    let mut tl = crate::timeline::Timeline::default();
    for e in full_run(&pr.params) {
        tl.apply(&e);
        m.push(e);
    }
    let texts: Vec<String> = (0..m.events.len()).map(|i| explain(&m, &tl, i)).collect();
    let lost = texts.iter().find(|t| t.contains("lost server 1's ACK")).expect("narrated");
    assert!(
        lost.starts_with("The network lost server 1's ACK of segment 2: server 1 has the segment, but the client cannot know; the client will resend segment 2 to server 1 alone when its timer fires in "),
        "{lost}"
    );
    assert!(texts
        .iter()
        .any(|t| t == "Timeout: no ACK of segment 2 in time, so the client resends it to server 1 alone."));
    assert!(texts.iter().any(|t| t.starts_with("Server 1 already has segment 2")));
    assert!(texts.iter().all(|t| t.chars().next().is_some_and(char::is_uppercase)), "sentences");

    // A loss-service drop, like the example.
    let p = SimParams { loss: 0.3, seed: 3, rto: Rto::Fixed(840.0), ..SimParams::default() };
    let mut m = TraceModel::new();
    let mut tl = crate::timeline::Timeline::default();
    for e in full_run(&p) {
        tl.apply(&e);
        m.push(e);
    }
    let i = m.events.iter().position(|e| matches!(e.kind, EventKind::LossDrop { .. })).expect("a drop");
    let e = &m.events[i];
    let Node::Server(rx) = e.node else { panic!("dropped at a server") };
    let seq = e.seq.expect("seq");
    let text = explain(&m, &tl, i);
    let prefix = format!(
        "Server {rx}'s loss service dropped segment {seq}; the client will resend it to server {rx} alone when its timer fires in 0.8"
    );
    assert!(text.starts_with(&prefix), "{text}");
    assert_eq!(servers_phrase(&[1, 3]), "servers 1 and 3");
    assert_eq!(servers_phrase(&[0, 1, 4]), "servers 0, 1 and 4");
}

#[test]
fn experiments_run_one_transfer_per_step_and_export() {
    let f = ExperimentForm {
        which: Which::Custom,
        param: Param::P,
        values: "0, 0.1".into(),
        file_size: 10_000,
        runs: 2,
        seed: 1,
    };
    let mut r = Runner::new(f.sweep().expect("sweep"));
    assert_eq!(r.total(), 4);
    let mut steps = 0;
    while r.step() {
        steps += 1;
        assert_eq!(r.done(), steps);
    }
    assert!(r.finished() && r.error.is_none());
    assert_eq!(r.points().len(), 2);
    // In slices of 50 events (the tab runs slices of 2000): more calls, the same points.
    let mut sliced = Runner::new(f.sweep().expect("sweep"));
    let mut calls = 0;
    while sliced.advance(50) {
        calls += 1;
    }
    assert!(calls > 4, "{calls} slices");
    assert_eq!(sliced.points(), r.points());
    assert_eq!(r.csv().lines().count(), 3);
    assert!(r.svg().starts_with("<svg"));
    assert!(parse_values(Param::N, "1, 99").is_err());
    assert!(ExperimentForm { runs: 0, ..f.clone() }.sweep().is_err());
    assert_eq!(ExperimentForm { which: Which::Task2, ..f }.sweep().expect("task 2").values.len(), 10);
}

#[test]
fn windowed_mode_keeps_hundreds_on_the_wire() {
    let (p, _) = SimParams::from_query("sim=1&n=16&p=0&mode=sr&window=64&size=5000000&delay=20&rto=200");
    let mut d = SimDriver::new(p.config().expect("config"), Vec::new()).expect("driver");
    let mut pl = Player::default();
    pl.apply(Action::Open(Source::Simulated { label: p.label() }));
    pl.apply(Action::Extend(d.advance_to(0)));
    for k in 1..=100u64 {
        pl.apply(Action::Extend(d.advance_to(k * 16_000)));
    }
    let n = d.in_flight().len();
    let trace = pl.trace();
    let unresolved = trace.model.flights.iter().filter(|f| f.fate == p2mp_core::view::Fate::InFlight).count();
    assert!(n > 300, "{n} on the wire");
    assert!(unresolved >= n, "{unresolved} unresolved flights in the model, {n} in the simulator");
}

#[test]
fn narration_reads_the_ack_of_nothing_in_order() {
    // Go-back-n to a buffering receiver that lost segment 0 (a recorded native trace can show
    // it; the page's own simulations pair each mode with its usual receiver).
    use p2mp_core::sim::{SimConfig, Simulation};
    let cfg = SimConfig {
        receivers: 1,
        file_size: 20_000,
        mode: Mode::GoBackN { window: 16 },
        receiver_window: Some(8),
        loss: 0.0,
        ..SimConfig::default()
    };
    let mut sim = Simulation::new(cfg).expect("config");
    let first = sim
        .trace()
        .iter()
        .find(|e| matches!(e.kind, EventKind::Send { .. }) && e.seq == Some(0))
        .and_then(|e| e.tx)
        .expect("segment 0 sent");
    assert!(sim.drop_in_flight(first));
    let r = sim.run();
    assert!(r.receivers.iter().all(|x| x.intact));
    let mut m = TraceModel::new();
    let mut tl = crate::timeline::Timeline::default();
    for e in sim.take_trace() {
        tl.apply(&e);
        m.push(e);
    }
    let i = m
        .events
        .iter()
        .position(|e| {
            matches!(e.kind, EventKind::Send { packet: PacketKind::Ack, .. })
                && e.seq == Some(p2mp_core::wire::NOTHING_IN_ORDER)
        })
        .expect("the ACK of nothing in order");
    assert_eq!(
        explain(&m, &tl, i),
        "Server 0 has nothing in order yet: its ACK of segment -1 asks for segment 0."
    );
    // The event list names it the same way, not as segment 4294967295.
    assert!(
        crate::narrate::describe(&m.events[i]).ends_with("ACK #-1 to the client"),
        "{}",
        crate::narrate::describe(&m.events[i])
    );
}
