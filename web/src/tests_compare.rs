//! Host tests of the compare view: its URL keys and preset, the shared clock of the reducer,
//! the table's numbers against the core simulator run directly, and what the runs hold equal.

use crate::compare::{
    count_sends, fmt_rate, run_all, scheme_params, scheme_title, schemes, Compare, CompareAction,
};
use crate::player::SPEED_MAX;
use crate::sim_source::SimDriver;
use crate::simulate::{preset, query_wants_simulation, SimParams, DEFAULT_COMPARE_WINDOW, MAX_WINDOW};
use p2mp_core::sim::Simulation;
use p2mp_core::trace::{EventKind, Node, TraceEvent};
use p2mp_core::window::Mode;

/// A lossy scenario: 3 servers, p = 0.1, 40 segments.
fn lossy() -> SimParams {
    SimParams {
        compare: true,
        loss: 0.1,
        file_size: 20_000,
        rto: crate::simulate::Rto::Fixed(60.0),
        ..SimParams::default()
    }
}

/// Opens a comparison of `base` and computes every scheme to the end at once (as the page's
/// "compute to the end" does), reporting each one's row.
fn opened(base: &SimParams) -> Compare {
    let mut c = Compare::default();
    let modes = schemes(base.compare_window).to_vec();
    c.apply(CompareAction::Open { label: base.label(), modes: modes.clone() });
    for (i, mode) in modes.into_iter().enumerate() {
        let p = scheme_params(base, mode);
        let mut d = SimDriver::new(p.config().expect("config"), p.drops.clone()).expect("driver");
        c.apply(CompareAction::Extend(i, d.advance_to(0)));
        c.apply(CompareAction::Extend(i, d.run_to_end()));
    }
    c
}

#[test]
fn url_holds_the_compare_state_and_the_preset_turns_it_on() {
    let p = SimParams { compare: true, compare_window: 16, loss: 0.2, seed: 7, ..SimParams::default() };
    let q = p.to_query();
    assert!(q.split('&').any(|kv| kv == "compare=1"), "{q}");
    assert!(q.split('&').any(|kv| kv == "cw=16"), "{q}");
    assert_eq!(SimParams::from_query(&q), (p.clone(), Vec::new()));
    // The default window is not written; off writes nothing.
    let q8 = SimParams { compare_window: DEFAULT_COMPARE_WINDOW, ..p.clone() }.to_query();
    assert!(!q8.contains("cw="), "{q8}");
    assert!(!SimParams::default().to_query().contains("compare"));
    // `compare=1` alone opens a simulation (the compare view) with the defaults.
    assert!(query_wants_simulation("compare=1"));
    assert!(!query_wants_simulation("compare=0&live=0"));
    let (d, errors) = SimParams::from_query("compare=1");
    assert!(errors.is_empty() && d.compare && d.compare_window == DEFAULT_COMPARE_WINDOW, "{d:?} {errors:?}");
    // Bad values: clamped or ignored with a message, never a panic.
    let (c, errors) = SimParams::from_query("compare=maybe&cw=5000");
    assert!(!c.compare);
    assert_eq!(c.compare_window, MAX_WINDOW);
    assert_eq!(errors.len(), 2, "{errors:?}");
    // The preset: a lossy scenario, compare on, window 8.
    let pr = preset("compare").expect("preset");
    assert!(pr.params.compare && pr.params.loss > 0.0 && pr.params.compare_window == 8);
    let (back, errors) = SimParams::from_query("preset=compare");
    assert!(errors.is_empty() && back == pr.params, "{errors:?}");
    // A form control toggles it.
    let (on, _) = SimParams::default().with_field("compare", "1");
    assert!(on.compare);
    let (off, _) = on.with_field("compare", "0");
    assert!(!off.compare);
    assert!(on.label().contains("stop-and-wait vs go-back-n vs selective repeat w=8"), "{}", on.label());
}

#[test]
fn each_run_is_the_base_scenario_under_one_scheme() {
    let base = SimParams { mode: Mode::GoBackN { window: 3 }, compare_window: 5, ..lossy() };
    let modes = schemes(base.compare_window);
    assert_eq!(modes, [Mode::StopAndWait, Mode::GoBackN { window: 5 }, Mode::SelectiveRepeat { window: 5 }]);
    for m in modes {
        let p = scheme_params(&base, m);
        assert_eq!(p.mode, m);
        assert!(!p.compare);
        let cfg = p.config().expect("config");
        let want = base.config().expect("config");
        assert_eq!(
            (cfg.seed, cfg.loss, cfg.file_size, cfg.receivers),
            (want.seed, want.loss, want.file_size, want.receivers)
        );
        assert_eq!((cfg.link, cfg.policy, cfg.mss), (want.link, want.policy, want.mss));
    }
    assert_eq!(scheme_title(modes[0]), "Stop-and-wait");
    assert_eq!(scheme_title(modes[2]), "Selective repeat, window 5");
}

/// The table's rows are the simulator's own totals: equal to a plain `Simulation::run` of
/// each scheme, with DATA and ACK datagrams counted in its trace up to the transfer's end.
#[test]
fn rows_equal_the_core_simulator_run_directly() {
    let base = lossy();
    let rows = run_all(&base).expect("run");
    let c = opened(&base);
    for (i, mode) in schemes(base.compare_window).into_iter().enumerate() {
        let mut sim = Simulation::new(scheme_params(&base, mode).config().expect("config")).expect("sim");
        let r = sim.run();
        let end =
            sim.trace().iter().position(|e| matches!(e.kind, EventKind::TransferEnd { .. })).expect("end");
        assert_eq!(c.panels[i].end_at, Some(sim.trace()[end].t.total_micros()));
        let (data, acks) = count_sends(&sim.trace()[..end]);
        let row = &rows[i];
        assert_eq!(row.mode, mode);
        assert_eq!(row.delay_micros, r.totals.delay_micros, "{mode:?}");
        assert_eq!(row.retransmissions, r.totals.retransmissions, "{mode:?}");
        assert_eq!(row.timeouts, r.totals.timeouts, "{mode:?}");
        assert_eq!(row.data_transmissions, data, "{mode:?}");
        assert_eq!(row.acks, acks, "{mode:?}");
        assert_eq!(row.finished, 3);
        // DATA + FIN transmissions: DATA are most of them, FIN the rest.
        assert!(
            data < r.totals.transmissions && r.totals.transmissions - data <= 3 * (1 + r.totals.timeouts)
        );
        // The page's incremental runs give the same rows.
        assert_eq!(c.panels[i].row.as_ref(), Some(row), "{mode:?}");
        assert_eq!(row.goodput_bps(), 20_000 * 8 * 1_000_000 / row.delay_micros);
    }
    // The point of the view: with losses, selective repeat finishes well before stop-and-wait,
    // and go-back-N resends more DATA than selective repeat.
    let (saw, gbn, sr) = (&rows[0], &rows[1], &rows[2]);
    assert!(sr.delay_micros * 2 < saw.delay_micros, "SR {} vs SAW {}", sr.delay_micros, saw.delay_micros);
    assert!(gbn.data_transmissions > sr.data_transmissions, "{gbn:?} {sr:?}");
    assert!(saw.retransmissions > 0 && sr.retransmissions > 0);
}

/// Server `rx`'s loss-service tosses in arrival order: true where it dropped the datagram.
fn tosses(events: &[TraceEvent], rx: u16) -> Vec<bool> {
    events
        .iter()
        .filter(|e| e.node == Node::Server(rx))
        .filter_map(|e| match e.kind {
            EventKind::LossDrop { .. } => Some(true),
            EventKind::Arrive { .. } => Some(false),
            _ => None,
        })
        .collect()
}

/// What the page says is held equal: the k-th datagram to reach server i meets the same coin
/// toss in every scheme.
#[test]
fn the_same_seed_gives_each_server_the_same_coin_tosses_in_every_scheme() {
    let base = SimParams { loss: 0.3, receivers: 4, ..lossy() };
    let c = opened(&base);
    for rx in 0..4 {
        let seqs: Vec<Vec<bool>> =
            c.panels.iter().map(|p| tosses(&p.player.trace().model.events, rx)).collect();
        let common = seqs.iter().map(Vec::len).min().unwrap_or(0);
        assert!(common > 20, "server {rx}: {common} arrivals");
        assert!(seqs[0][..common].contains(&true), "some drops");
        for s in &seqs[1..] {
            assert_eq!(&s[..common], &seqs[0][..common], "server {rx}");
        }
    }
}

#[test]
fn one_clock_moves_every_panel_and_holds_a_finished_one_at_its_end() {
    let base = lossy();
    let mut c = opened(&base);
    assert_eq!(c.panels.len(), 3);
    assert_eq!(c.clock, 0);
    let ends: Vec<u64> = c.panels.iter().map(|p| p.end_at.expect("ended")).collect();
    let (saw_end, sr_end) = (ends[0], ends[2]);
    assert!(sr_end < saw_end);
    // Every panel has the same time window.
    assert!(c.panels.iter().all(|p| p.player.window == c.window));

    // Seek between the two ends: selective repeat is over, stop-and-wait is not.
    let t = (sr_end + saw_end) / 2;
    c.apply(CompareAction::SeekTime(t));
    assert_eq!(c.panels[0].player.playhead, t);
    assert_eq!(c.panels[2].player.playhead, sr_end, "a finished panel stays at its end");
    assert!(c.panels[2].progress().done_in.is_some());
    assert!(c.panels[0].progress().done_in.is_none());
    assert!(c.panels[2].progress().text().starts_with("done in"), "{}", c.panels[2].progress().text());
    for p in &c.panels {
        assert_eq!(p.player.cursor, p.player.trace().count_until(p.player.playhead));
    }

    // Play at 1x: 10 ms of wall clock is 10 ms of simulated time for all three.
    c.apply(CompareAction::SeekTime(0));
    c.apply(CompareAction::Play);
    assert!(c.playing);
    c.apply(CompareAction::Tick(10.0));
    assert_eq!(c.clock, 10_000);
    assert!(c.panels.iter().all(|p| p.player.playhead == 10_000));
    // Faster: 2x.
    c.apply(CompareAction::Faster);
    c.apply(CompareAction::Tick(10.0));
    assert_eq!(c.clock, 30_000);
    // Pause stops the clock.
    c.apply(CompareAction::TogglePlay);
    c.apply(CompareAction::Tick(10.0));
    assert_eq!(c.clock, 30_000);

    // Step forward: to the next event of any panel, and back again.
    let next = c
        .panels
        .iter()
        .filter_map(|p| {
            p.player.trace().model.events.iter().map(|e| e.t.total_micros()).find(|&t| t > 30_000)
        })
        .min()
        .expect("a next event");
    c.apply(CompareAction::StepForward);
    assert_eq!(c.clock, next);
    c.apply(CompareAction::StepBack);
    assert!(c.clock <= 30_000);

    // Max speed plays to the end at once and stops; play again starts over.
    c.apply(CompareAction::SetSpeed(SPEED_MAX));
    c.apply(CompareAction::Play);
    c.apply(CompareAction::Tick(16.0));
    assert_eq!(c.clock, saw_end);
    assert!(!c.playing && c.at_end());
    c.apply(CompareAction::Play);
    assert_eq!(c.clock, 0);

    // Zoom changes every panel's window together.
    let w = c.window;
    c.apply(CompareAction::Zoom(0.5));
    assert_eq!(c.window, w / 2);
    assert!(c.panels.iter().all(|p| p.player.window == w / 2));
    assert!(!c.auto_window);
}

#[test]
fn the_clock_never_passes_what_has_been_computed() {
    let base = lossy();
    let mut c = Compare::default();
    let modes = schemes(8).to_vec();
    c.apply(CompareAction::Open { label: "x".into(), modes: modes.clone() });
    assert!(c.is_empty());
    c.apply(CompareAction::Play);
    assert!(!c.playing, "nothing to play yet");
    let mut drivers: Vec<SimDriver> = modes
        .iter()
        .map(|&m| {
            let p = scheme_params(&base, m);
            SimDriver::new(p.config().expect("config"), Vec::new()).expect("driver")
        })
        .collect();
    for (i, d) in drivers.iter_mut().enumerate() {
        c.apply(CompareAction::Extend(i, d.advance_to(0)));
    }
    c.apply(CompareAction::Play);
    assert!(c.playing);
    // The page computes each run up to where the clock is going, then ticks.
    for (i, d) in drivers.iter_mut().enumerate() {
        c.apply(CompareAction::Extend(i, d.advance_to(5_000)));
    }
    c.apply(CompareAction::Tick(100.0));
    assert_eq!(c.clock, 5_000, "held at the horizon");
    assert!(c.playing, "still computing: playback goes on");
    // Streaming changes only time: the page need not re-render its panels at once.
    let before = c.clone();
    for (i, d) in drivers.iter_mut().enumerate() {
        c.apply(CompareAction::Extend(i, d.advance_to(9_000)));
    }
    c.apply(CompareAction::Tick(4.0));
    assert!(c.same_but_time(&before));
    c.apply(CompareAction::Pause);
    assert!(!c.same_but_time(&before));
}

#[test]
fn rates_read_well() {
    assert_eq!(fmt_rate(850), "850 bit/s");
    assert_eq!(fmt_rate(12_500), "12.5 kbit/s");
    assert_eq!(fmt_rate(3_414_000), "3.414 Mbit/s");
}

#[test]
fn steps_visit_each_event_of_any_panel_up_to_its_end() {
    let base = lossy();
    let mut c = opened(&base);
    let sr_end = c.panels[2].end_at.expect("ended");
    let saw_end = c.panels[0].end_at.expect("ended");
    // Every event time up to each panel's end, merged: what stepping forward visits.
    let mut times: Vec<u64> = c
        .panels
        .iter()
        .flat_map(|p| {
            let end = p.end_at.expect("ended");
            p.player
                .trace()
                .model
                .events
                .iter()
                .map(|e| e.t.total_micros())
                .filter(|&t| t <= end)
                .collect::<Vec<_>>()
        })
        .filter(|&t| t > 0)
        .collect();
    times.sort_unstable();
    times.dedup();
    let mut visited = Vec::new();
    loop {
        let before = c.clock;
        c.apply(CompareAction::StepForward);
        if c.clock == before {
            break;
        }
        visited.push(c.clock);
    }
    assert_eq!(visited, times);
    assert_eq!(c.clock, saw_end);
    assert_eq!(c.panels[2].player.playhead, sr_end);
    // And back, the same way.
    let mut back = Vec::new();
    while c.clock > 0 {
        c.apply(CompareAction::StepBack);
        back.push(c.clock);
    }
    back.pop();
    back.reverse();
    times.pop();
    assert_eq!(back, times);
}
