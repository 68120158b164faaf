//! Host tests of the state logic: reducer, timeline index, geometry, narration.

use crate::geometry::{distance, hit, stroke, strokes_in_view, ticks, Ending, Layout};
use crate::narrate::describe;
use crate::player::{again_url, speed_label, Action, Connection, Player, Source, SPEED_MAX, SPEED_REAL_TIME};
use crate::simulate::{simulate_jsonl, SimParams};
use crate::timeline::{flight_overlaps, throughput_bins, visible_flights, TimerEnd};
use p2mp_core::view::{Fate, TraceModel};
use p2mp_core::Outcome;

fn lossy() -> String {
    simulate_jsonl(&SimParams {
        file_size: 10_000,
        loss: 0.15,
        link_model: crate::simulate::LinkLoss::Bernoulli,
        link_loss: 0.03,
        seed: 3,
        ..SimParams::default()
    })
    .expect("simulate")
}

fn loaded(text: &str) -> Player {
    let mut p = Player::default();
    p.apply(Action::Open(Source::Replay { name: "t.jsonl".into() }));
    p.apply(Action::Ingest(text.to_string()));
    p
}

#[test]
fn replay_loads_paused_at_the_start_and_counts_like_the_core() {
    let text = lossy();
    let p = loaded(&text);
    let core = TraceModel::from_jsonl(&text).expect("parse");
    assert_eq!(p.len(), core.events.len());
    assert_eq!((p.cursor, p.playing, p.bad_lines, p.transfers), (0, false, 0, 1));
    assert_eq!(p.playhead, p.trace().t_first());
    assert_eq!(p.trace().model.summary(), core.summary());
    assert!(p.window >= 1_000, "window fitted to the delay");
}

#[test]
fn steps_move_one_event_and_select_its_packet() {
    let mut p = loaded(&lossy());
    p.apply(Action::StepBack);
    assert_eq!(p.cursor, 0, "cannot step before the start");
    p.apply(Action::StepForward); // TransferStart: no packet
    assert_eq!((p.cursor, p.selected), (1, None));
    p.apply(Action::StepForward); // the first DATA send
    assert_eq!(p.cursor, 2);
    let sel = p.selected.expect("a send selects its flight");
    assert_eq!(p.trace().model.flights[sel].send_index, 1);
    assert_eq!(p.playhead, p.trace().model.events[1].t.total_micros());
    p.apply(Action::StepBack);
    assert_eq!(p.cursor, 1);
    let len = p.len();
    p.apply(Action::SeekEvent(len + 10));
    assert_eq!(p.cursor, len);
    p.apply(Action::StepForward);
    assert_eq!(p.cursor, len, "cannot step past the end");
}

#[test]
fn playing_advances_with_time_and_stops_at_the_end() {
    let mut p = loaded(&lossy());
    p.apply(Action::Play);
    assert!(p.playing);
    let start = p.playhead;
    p.apply(Action::Tick(10.0)); // 10 ms at 1x
    assert_eq!(p.playhead, start + 10_000);
    assert_eq!(p.cursor, p.trace().count_until(p.playhead));
    p.apply(Action::SetSpeed(SPEED_REAL_TIME + 3)); // 10x
    p.apply(Action::Tick(10.0));
    assert_eq!(p.playhead, start + 110_000);
    // Absurd frame times are clamped, not trusted.
    p.apply(Action::Tick(f64::NAN));
    assert_eq!(p.playhead, start + 110_000);
    p.apply(Action::SetSpeed(SPEED_MAX));
    for _ in 0..1000 {
        p.apply(Action::Tick(16.0));
        if !p.playing {
            break;
        }
    }
    assert!(!p.playing);
    assert_eq!(p.cursor, p.len());
    assert_eq!(p.playhead, p.trace().t_last());
    // Play again from the end restarts.
    p.apply(Action::TogglePlay);
    assert!(p.playing);
    assert_eq!(p.cursor, 0);
}

#[test]
fn speed_and_zoom_stay_in_range() {
    let mut p = Player::default();
    for _ in 0..30 {
        p.apply(Action::Faster);
    }
    assert_eq!(p.speed, SPEED_MAX);
    assert_eq!(p.speed_label(), "max");
    for _ in 0..30 {
        p.apply(Action::Slower);
    }
    assert_eq!(speed_label(p.speed), "0.1x");
    assert_eq!(speed_label(SPEED_REAL_TIME), "1x");
    assert_eq!(speed_label(SPEED_MAX - 1), "1000x");
    p.apply(Action::Zoom(1e-9));
    assert_eq!(p.window, 100);
    p.apply(Action::Zoom(f64::INFINITY));
    assert_eq!(p.window, 100, "non-finite zoom ignored");
    p.apply(Action::Zoom(1e12));
    assert_eq!(p.window, 600_000_000);
}

#[test]
fn seeking_by_time_sets_the_cursor() {
    let mut p = loaded(&lossy());
    let t = p.trace().model.events[40].t.total_micros();
    p.apply(Action::SeekTime(t));
    assert_eq!(p.cursor, p.trace().count_until(t));
    assert!(p.cursor > 40);
    p.apply(Action::SeekTime(u64::MAX));
    assert_eq!((p.cursor, p.playhead), (p.len(), p.trace().t_last()));
}

#[test]
fn live_chunks_split_anywhere_follow_the_newest_event_and_a_header_resets() {
    let text = lossy();
    let mut p = Player::default();
    p.apply(Action::Open(Source::Live { url: "ws://h/ws/view".into() }));
    assert!(p.follow_live);
    assert_eq!(p.connection, Connection::Connecting);
    p.apply(Action::Connection(Connection::Open));
    // Messages hold whole lines, one or many.
    let lines: Vec<&str> = text.lines().collect();
    for chunk in lines.chunks(7) {
        p.apply(Action::Ingest(chunk.join("\n")));
        assert_eq!(p.cursor, p.len(), "following pins the cursor to the newest event");
    }
    assert_eq!(p.len(), lines.len() - 1);
    assert_eq!(p.playhead, p.trace().t_last());
    // While following, time runs on (a countdown moves) but stops at the end of a finished one.
    p.apply(Action::Tick(100.0));
    assert_eq!(p.playhead, p.trace().t_last(), "ended: nothing ahead");
    // Junk is counted, never fatal.
    p.apply(Action::Ingest("not json\n{\"t\":1}\n\n".into()));
    assert_eq!(p.bad_lines, 2);
    assert!(p.last_bad.is_some());
    // A new transfer starts with its header.
    let gen = p.generation;
    p.apply(Action::Ingest(lines[..3].join("\n")));
    assert_eq!((p.transfers, p.len()), (2, 2));
    assert!(p.generation > gen);
    // Stepping leaves follow mode.
    p.apply(Action::StepBack);
    assert!(!p.follow_live);
    p.apply(Action::FollowLive(true));
    assert_eq!(p.cursor, p.len());
}

#[test]
fn live_time_runs_ahead_of_a_silent_transfer_by_at_most_two_seconds() {
    let text = lossy();
    let lines: Vec<&str> = text.lines().collect();
    let mut p = Player::default();
    p.apply(Action::Open(Source::Live { url: "ws://h".into() }));
    p.apply(Action::Ingest(lines[..20].join("\n")));
    let last = p.trace().t_last();
    p.apply(Action::Tick(100.0));
    assert_eq!(p.playhead, last + 100_000);
    for _ in 0..100 {
        p.apply(Action::Tick(100.0));
    }
    assert_eq!(p.playhead, last + 2_000_000);
}

#[test]
fn unsupported_schema_and_garbage_are_counted() {
    let mut p = Player::default();
    p.apply(Action::Ingest(
        "{\"schema\":99,\"source\":{\"kind\":\"simulated\",\"params\":null}}\n\u{0}\u{1}\n[1,2]".into(),
    ));
    assert_eq!((p.bad_lines, p.len(), p.transfers), (3, 0, 0));
    // Playing an empty trace does nothing.
    p.apply(Action::Play);
    p.apply(Action::StepForward);
    p.apply(Action::Tick(16.0));
    assert_eq!((p.playing, p.cursor), (false, 0));
}

#[test]
fn timeline_pairs_timers_with_expiries_and_completions() {
    let p = loaded(&lossy());
    let t = p.trace();
    let s = t.model.summary();
    let tl = &t.timeline;
    assert_eq!(tl.expiries.len() as u64, s.timeouts);
    assert_eq!(tl.completes.len() as u64, s.segments_done);
    let fired = tl.timers.iter().filter(|x| matches!(x.end, Some((_, TimerEnd::Fired)))).count();
    let resent: usize = tl.expiries.iter().map(|x| x.resend_to.len() + x.failed.len()).sum();
    assert_eq!(fired, resent, "every fired timer is in an expiry's resend list");
    for x in &tl.expiries {
        for &rx in &x.resend_to {
            // The timer that fired was this receiver's, and its deadline is the expiry time.
            assert!(tl
                .timers
                .iter()
                .any(|s| s.rx == rx && s.end == Some((x.t, TimerEnd::Fired)) && s.deadline <= x.t));
        }
    }
    assert!(tl.timers.iter().all(|s| s.end.is_some()), "a finished transfer leaves no timer running");
    assert_eq!(tl.outcomes.iter().filter(|o| o.2 == Outcome::Finished).count(), 3);
    assert!(tl.max_lifetime >= 5_000 && tl.typical_delay() == 5_000, "5 ms links");
    assert_eq!(tl.scanned, t.model.flights.len());
}

#[test]
fn visible_flights_match_the_core_query_without_scanning_everything() {
    let p = loaded(&lossy());
    let t = p.trace();
    let (t0, t1) = (t.t_first(), t.t_last());
    for k in 0..50 {
        let from = t0 + (t1 - t0) * k / 50;
        let to = from + 40_000;
        let ours: Vec<usize> = visible_flights(&t.model, &t.timeline, from, to)
            .filter(|&i| flight_overlaps(&t.model.flights[i], from, to))
            .collect();
        let core: Vec<u64> = t
            .model
            .flights_between(p2mp_core::Instant::from_micros(from), p2mp_core::Instant::from_micros(to))
            .map(|f| f.tx.0)
            .collect();
        let ours_tx: Vec<u64> = ours.iter().map(|&i| t.model.flights[i].tx.0).collect();
        assert_eq!(ours_tx, core, "window {from}..{to}");
        assert!(visible_flights(&t.model, &t.timeline, from, to).len() < t.model.flights.len() / 2 || k < 5);
    }
}

#[test]
fn strokes_go_from_sender_lane_to_destination_and_end_as_their_fate() {
    let p = loaded(&lossy());
    let t = p.trace();
    let model = &t.model;
    let l = Layout::new(1000.0, 400.0, 3, 1_000_000, 100_000);
    assert_eq!((l.from, l.to), (920_000, 1_020_000));
    assert_eq!(l.x(l.from), l.left);
    assert_eq!(l.x(l.to), l.width - l.right);
    assert_eq!(l.lane_y(0), l.top);
    assert_eq!(l.lane_y(3), l.height - l.bottom);
    assert!((l.t_at(l.x(950_000)) as i64 - 950_000).abs() <= 1);

    let f = model
        .flights
        .iter()
        .find(|f| f.downstream() && matches!(f.fate, Fate::Arrived { .. }))
        .expect("data");
    let sent = f.sent.total_micros();
    let l = Layout::new(1000.0, 400.0, 3, sent + 2_500, 100_000);
    assert!(stroke(&l, f, sent.saturating_sub(1), 5_000).is_none() || sent == 0);
    let mid = stroke(&l, f, sent + 2_500, 5_000).expect("half way");
    assert_eq!(mid.ending, Ending::Moving);
    let (y_client, y_server) = (l.lane_y(0), l.lane_y(usize::from(f.rx) + 1));
    assert!((mid.y1 - (y_client + y_server) / 2.0).abs() < 1e-6, "half way down at half time");
    let done = stroke(&l, f, sent + 50_000, 5_000).expect("arrived");
    assert_eq!((done.ending, done.y1), (Ending::Arrived, y_server));
    assert!(distance(&done, (done.x0 + done.x1) / 2.0, (done.y0 + done.y1) / 2.0) < 1e-6);

    let lost = model.flights.iter().find(|f| matches!(f.fate, Fate::LossDrop { .. })).expect("a loss drop");
    let s = stroke(&l, lost, u64::MAX / 2, 5_000).expect("drawn");
    assert_eq!(s.ending, Ending::LossDrop);
    let link = model.flights.iter().find(|f| matches!(f.fate, Fate::LinkDrop { .. })).expect("a link drop");
    let s = stroke(&l, link, u64::MAX / 2, 5_000).expect("drawn");
    assert_eq!(s.ending, Ending::LinkDrop);
    let (a, b) = (l.lane_y(crate::geometry::lanes_of(link).0), l.lane_y(crate::geometry::lanes_of(link).1));
    assert!((s.y1 - (a + b) / 2.0).abs() < 1e-6, "a network loss dies half way");
}

#[test]
fn clicking_picks_the_nearest_packet_in_view() {
    let p = loaded(&lossy());
    let t = p.trace();
    let f = &t.model.flights[5];
    let playhead = f.sent.total_micros() + 20_000;
    let l = Layout::new(1200.0, 400.0, 3, playhead, 60_000);
    let strokes = strokes_in_view(&t.model, &t.timeline, &l, playhead);
    let (i, s) = strokes.iter().find(|(i, _)| *i == 5).expect("flight 5 in view");
    let (x, y) = ((s.x0 + s.x1) / 2.0, (s.y0 + s.y1) / 2.0);
    let picked = hit(strokes.iter().map(|(i, s)| (*i, s)), x + 1.0, y, 8.0).expect("a hit");
    let ps = &strokes.iter().find(|(j, _)| *j == picked).expect("picked is in view").1;
    assert!(distance(ps, x + 1.0, y) <= distance(s, x + 1.0, y) && *i == 5);
    assert_eq!(hit(strokes.iter().map(|(i, s)| (*i, s)), -500.0, -500.0, 8.0), None);
}

#[test]
fn ticks_throughput_and_urls() {
    let (step, marks) = ticks(0, 1_000_000, 10);
    assert_eq!(step, 100_000);
    assert_eq!(marks.len(), 11);
    let (step, marks) = ticks(1_234, 1_300, 4);
    assert_eq!((step, marks.first().copied()), (20, Some(1_240)));
    assert_eq!(crate::geometry::fmt_micros(1_250_000), "1.25 s");
    assert_eq!(crate::geometry::fmt_micros(12_500), "12.5 ms");
    assert_eq!(crate::geometry::fmt_micros(850), "850 µs");
    use crate::geometry::fmt_tick;
    assert_eq!(fmt_tick(12_150_000, 50_000), "12.15 s");
    assert_eq!(fmt_tick(12_000_000, 1_000_000), "12 s");
    assert_eq!(fmt_tick(950_000, 50_000), "950 ms");
    assert_eq!(fmt_tick(1_500, 500), "1.5 ms");

    let bins = throughput_bins(&[(0, 0), (500_000, 1), (999_999, 2), (1_000_000, 3)], 0, 1_000_000, 2, 500);
    assert_eq!(bins, vec![1_000.0, 3_000.0], "the end time falls in the last bin");
    assert_eq!(throughput_bins(&[(5, 0)], 10, 10, 4, 500), vec![0.0; 4]);

    assert_eq!(again_url("ws://127.0.0.1:8080/ws/view"), "http://127.0.0.1:8080/api/again");
    assert_eq!(again_url("wss://example.org/ws/view"), "https://example.org/api/again");
    assert_eq!(again_url("nonsense"), "/api/again");
}

#[test]
fn every_event_has_words() {
    let text = lossy();
    let model = TraceModel::from_jsonl(&text).expect("parse");
    for e in &model.events {
        assert!(!describe(e).is_empty());
    }
    assert!(model.events.iter().map(describe).any(|d| d.starts_with("Timeout, sequence number = ")));
    assert!(describe(model.events.last().expect("end")).starts_with("Transfer complete"));
}

#[test]
fn simulate_rejects_bad_parameters() {
    for bad in [
        SimParams { receivers: 0, ..SimParams::default() },
        SimParams { receivers: 17, ..SimParams::default() },
        SimParams { loss: 1.0, ..SimParams::default() },
        SimParams { link_loss: -0.1, ..SimParams::default() },
        SimParams { delay_ms: f64::NAN, ..SimParams::default() },
        SimParams { file_size: u64::MAX, ..SimParams::default() },
        SimParams { mss: 0, ..SimParams::default() },
    ] {
        assert!(simulate_jsonl(&bad).is_err(), "{bad:?}");
    }
    let a = simulate_jsonl(&SimParams::default()).expect("default runs");
    assert_eq!(a, simulate_jsonl(&SimParams::default()).expect("again"), "deterministic");
}

#[test]
fn svg_export_is_a_standalone_document_of_the_window() {
    let mut p = loaded(&lossy());
    // Half way through, a retransmission selected.
    let (mid, sel) = {
        let t = p.trace();
        let i = t.model.flights.iter().position(|f| f.retx).expect("a retransmission");
        (t.model.flights[i].sent.total_micros() + 1, i)
    };
    p.apply(Action::SeekTime(mid));
    p.apply(Action::Select(Some(sel)));
    let svg = crate::scene::svg(&p, 1000.0, 400.0);
    assert!(svg.starts_with("<?xml version=\"1.0\""));
    assert!(svg.contains(r#"<svg xmlns="http://www.w3.org/2000/svg""#));
    assert!(svg.trim_end().ends_with("</svg>"));
    for part in
        [">Client</text>", ">Server 0</text>", ">Server 2</text>", "stroke-dasharray=\"6 3\"", "<circle "]
    {
        assert!(svg.contains(part), "{part}");
    }
    // Balanced, and nothing unescaped in text.
    assert_eq!(svg.matches("<g ").count(), svg.matches("</g>").count());
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    assert!(!svg.contains("NaN") && !svg.contains("inf"));
    assert_eq!(crate::scene::xml_escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    // Same state, same picture.
    assert_eq!(svg, crate::scene::svg(&p, 1000.0, 400.0));
}

#[test]
fn only_playback_progress_counts_as_the_same_view() {
    let mut p = loaded(&lossy());
    let before = p.clone();
    p.apply(Action::Play);
    assert!(!p.same_but_time(&before), "play is a discrete change");
    let playing = p.clone();
    p.apply(Action::Tick(16.0));
    assert_ne!(p, playing);
    assert!(p.same_but_time(&playing), "a tick only moves the playhead");
    p.apply(Action::Select(Some(1)));
    assert!(!p.same_but_time(&playing));
}
