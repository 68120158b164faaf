//! The viewer's trace model: every send paired with its fate, state at any cursor, clock
//! alignment of live traces.

use core::time::Duration;
use p2mp_core::sim::{LinkConfig, LossModel, SimConfig, Simulation};
use p2mp_core::trace::{EventKind, Node, TraceEvent};
use p2mp_core::view::{clock_offsets, Fate, TraceModel};
use p2mp_core::{Instant, Outcome};

fn traced(cfg: SimConfig) -> (Simulation, TraceModel) {
    let mut sim = Simulation::new(cfg).unwrap();
    sim.run();
    let mut m = TraceModel::new();
    for e in sim.trace() {
        m.push(e.clone());
    }
    (sim, m)
}

fn lossy() -> SimConfig {
    SimConfig {
        file_size: 60_000,
        mss: 500,
        receivers: 4,
        loss: 0.1,
        seed: 21,
        link: LinkConfig { loss: LossModel::Bernoulli { p: 0.03 }, ..LinkConfig::default() },
        max_timeouts: 50,
        ..SimConfig::default()
    }
}

#[test]
fn every_flight_meets_a_fate_that_matches_the_counters() {
    let (sim, m) = traced(lossy());
    let r = sim.result();
    assert!(
        m.flights.iter().all(|f| f.fate != Fate::InFlight),
        "a finished simulation leaves nothing in flight"
    );
    let loss = m.flights.iter().filter(|f| matches!(f.fate, Fate::LossDrop { .. })).count() as u64;
    assert_eq!(loss, r.receivers.iter().map(|x| x.stats.lost).sum::<u64>());
    let s = m.summary();
    assert_eq!(s.loss_drops, loss);
    assert_eq!(
        s.link_drops,
        m.flights.iter().filter(|f| matches!(f.fate, Fate::LinkDrop { .. })).count() as u64
    );
    assert_eq!(s.retransmissions, r.totals.retransmissions);
    assert_eq!(s.timeouts, r.totals.timeouts);
    assert_eq!(s.segments_done, r.totals.segments);
    assert_eq!(s.end.as_ref(), Some(&r.totals));
    assert!(s.receivers.iter().all(|x| x.outcome == Outcome::Finished && x.acked == r.totals.segments));
    for (v, res) in s.receivers.iter().zip(&r.receivers) {
        assert_eq!(v.timeouts, res.report.timeouts);
        assert_eq!(v.retransmissions, res.report.retransmissions);
    }
    // Arrivals come after sends.
    assert!(m.flights.iter().all(|f| f.fate.at().is_some_and(|at| at >= f.sent)));
}

#[test]
fn live_traces_without_ids_on_arrivals_pair_the_same_way() {
    // Real nodes cannot know the id of what arrives; stop-and-wait pairing recovers it.
    let cfg = SimConfig { link: LinkConfig::default(), ..lossy() };
    let (sim, tagged) = traced(cfg);
    let mut live = TraceModel::new();
    for e in sim.trace() {
        let mut e = e.clone();
        if !matches!(e.kind, EventKind::Send { .. }) {
            e.tx = None;
        }
        live.push(e);
    }
    assert_eq!(tagged.flights.len(), live.flights.len());
    for (a, b) in tagged.flights.iter().zip(&live.flights) {
        assert_eq!(a.fate, b.fate, "flight {a:?}");
    }
}

#[test]
fn summary_at_any_cursor_equals_folding_the_prefix() {
    let (_, m) = traced(SimConfig { file_size: 400_000, ..lossy() });
    assert!(m.events.len() > 3 * 4096, "exercise checkpoints: {}", m.events.len());
    for cursor in [0, 1, 100, 4095, 4096, 4097, 9000, m.events.len() - 1, m.events.len(), m.events.len() + 5]
    {
        let mut s = p2mp_core::view::Summary::default();
        for e in &m.events[..cursor.min(m.events.len())] {
            s.apply(e);
        }
        assert_eq!(m.summary_at(cursor), s, "cursor {cursor}");
    }
}

#[test]
fn flights_in_a_window_are_those_on_the_wire() {
    let (_, m) = traced(lossy());
    // Just after some DATA left the client it is on the wire (5 ms one-way delay).
    let t = m.flights[40].sent + Duration::from_micros(1);
    let on_wire: Vec<_> = m.in_flight_at(t).collect();
    assert!(!on_wire.is_empty());
    assert!(on_wire.iter().all(|f| f.sent <= t && f.fate.at().is_some_and(|at| at > t)));
    assert!(on_wire.iter().any(|f| f.tx == m.flights[40].tx));
    let window: Vec<_> = m.flights_between(t, t + Duration::from_millis(100)).collect();
    assert!(window.len() >= on_wire.len());
}

#[test]
fn jsonl_round_trip_and_errors_name_the_line() {
    let (sim, m) = traced(lossy());
    let mut text = serde_json::to_string(&sim.header()).unwrap();
    for e in sim.trace() {
        text.push('\n');
        text.push_str(&serde_json::to_string(e).unwrap());
    }
    let back = TraceModel::from_jsonl(&text).unwrap();
    assert_eq!(back.events, m.events);
    assert!(back.header.is_some());
    let bad =
        format!("{}\n{{\"t\":1,\"node\":\"client\",\"ev\":\"nonsense\"}}\n", text.lines().next().unwrap());
    let err = TraceModel::from_jsonl(&bad).unwrap_err().to_string();
    assert!(err.starts_with("trace line 2:"), "{err}");
    let future = text.replacen("\"schema\":1", "\"schema\":99", 1);
    assert!(TraceModel::from_jsonl(&future).unwrap_err().to_string().contains("schema version 99"));
}

#[test]
fn clock_offsets_recover_a_shifted_server_clock() {
    let (sim, _) =
        traced(SimConfig { loss: 0.0, link: LinkConfig::with_delay(Duration::from_millis(5)), ..lossy() });
    let shift = |e: &TraceEvent, s: i64| {
        let mut e = e.clone();
        e.t = Instant::from_micros((e.t.total_micros() as i64 + s) as u64);
        e
    };
    let shifts = [0i64, 40_000, 3_000, 0];
    let events: Vec<TraceEvent> = sim
        .trace()
        .iter()
        .map(|e| match e.node {
            Node::Server(i) => shift(e, shifts[usize::from(i)]),
            Node::Client => e.clone(),
        })
        .collect();
    let off = clock_offsets(&events, 4);
    // Same clock: left alone. Shifted: recovered to within the one-way delay.
    assert_eq!(off[0], 0);
    assert_eq!(off[3], 0);
    assert!((off[1] - 40_000).abs() <= 5_000, "{off:?}");
    // A 3 ms shift is within the 5 ms one-way delay: causality alone cannot see it.
    assert!(off[2] == 0 || (off[2] - 3_000).abs() <= 5_000, "{off:?}");
}
