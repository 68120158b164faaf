//! A state machine's event filter keeps exactly the events a full trace has of the kinds it
//! accepts, each with the same time, receiver, segment and transmission: a driver that records
//! no trace and keeps only what it prints must see what it would have picked out of a full one.

use core::time::Duration;
use p2mp_core::{
    AnySender, EventFilter, EventKind, Instant, Mode, Receiver, ReceiverConfig, RtoPolicy, SenderConfig,
    TraceEvent,
};
use std::net::SocketAddr;

const CLIENT: &str = "10.0.0.1:40000";
const SERVER: &str = "10.0.0.2:7735";

/// A lossless, 100 us link between a sender and one receiver whose loss service drops 20% of
/// what arrives (so timers fire and segments are resent). Returns both machines' events.
fn run(mode: Mode, keep: EventFilter) -> (Vec<TraceEvent>, Vec<TraceEvent>) {
    let (client, server): (SocketAddr, SocketAddr) = (CLIENT.parse().unwrap(), SERVER.parse().unwrap());
    let cfg = SenderConfig {
        mss: 100,
        mode,
        policy: RtoPolicy::Adaptive {
            initial: Duration::from_millis(5),
            min: Duration::from_millis(1),
            max: Duration::from_millis(20),
        },
        max_timeouts: 100,
        ..SenderConfig::default()
    };
    let mut s = AnySender::new(cfg, &[server], 3000, Instant::ZERO).unwrap();
    let reorder_window = if matches!(mode, Mode::SelectiveRepeat { .. }) { 16 } else { 0 };
    let mut r =
        Receiver::new(ReceiverConfig { loss: 0.2, seed: 11, reorder_window, ..ReceiverConfig::default() })
            .unwrap();
    s.set_event_filter(keep);
    r.set_event_filter(keep);
    let (mut sent, mut recv) = (Vec::new(), Vec::new());
    let mut now = Instant::ZERO;
    // Datagrams in flight: (arrival, to the receiver?, bytes).
    let mut wire: Vec<(Instant, bool, Vec<u8>)> = Vec::new();
    let mut buf = Vec::new();
    let delay = Duration::from_micros(100);
    for _ in 0..100_000 {
        while let Some(req) = s.poll_read() {
            let data: Vec<u8> = (0..req.len).map(|i| (i as u64 + req.offset) as u8).collect();
            s.supply(req.seq, &data).unwrap();
        }
        while s.poll_transmit(now, &mut buf).is_some() {
            wire.push((now + delay, true, buf.clone()));
        }
        while r.poll_transmit(now, &mut buf).is_some() {
            wire.push((now + delay, false, buf.clone()));
        }
        while let Some(out) = r.poll_output() {
            if let p2mp_core::ReceiverOutput::Data(d) = out {
                r.recycle(d);
            }
        }
        sent.extend(std::iter::from_fn(|| s.poll_event()));
        recv.extend(std::iter::from_fn(|| r.poll_event()));
        if s.is_done() && r.is_closed() {
            break;
        }
        let next_arrival = wire.iter().map(|w| w.0).min();
        let next = [next_arrival, s.poll_timeout(), r.poll_timeout()].into_iter().flatten().min();
        let Some(next) = next else { break };
        now = next.max(now);
        if let Some(i) = wire.iter().position(|w| w.0 <= now) {
            let (_, to_receiver, bytes) = wire.remove(i);
            if to_receiver {
                r.handle_datagram(now, client, &bytes, None);
            } else {
                s.handle_datagram(now, server, &bytes, None);
            }
        } else {
            s.handle_timeout(now);
            r.handle_timeout(now);
        }
    }
    assert!(s.is_done(), "{mode:?}: the transfer did not end");
    (sent, recv)
}

fn timers_and_rtt(k: &EventKind) -> bool {
    matches!(k, EventKind::TimerArmed { .. } | EventKind::TimerFired { .. } | EventKind::RttSample { .. })
}

fn losses_and_deliveries(k: &EventKind) -> bool {
    matches!(k, EventKind::LossDrop { .. } | EventKind::Deliver { .. })
}

fn sends(k: &EventKind) -> bool {
    matches!(k, EventKind::Send { .. })
}

#[test]
fn a_filtered_trace_is_the_full_trace_filtered() {
    let filters: [(&str, EventFilter); 3] =
        [("timers", timers_and_rtt), ("losses", losses_and_deliveries), ("sends", sends)];
    for mode in [Mode::StopAndWait, Mode::GoBackN { window: 8 }, Mode::SelectiveRepeat { window: 8 }] {
        let (all_sent, all_recv) = run(mode, |_| true);
        for (name, keep) in filters {
            let (sent, recv) = run(mode, keep);
            let want_sent: Vec<_> = all_sent.iter().filter(|e| keep(&e.kind)).cloned().collect();
            let want_recv: Vec<_> = all_recv.iter().filter(|e| keep(&e.kind)).cloned().collect();
            assert!(!want_sent.is_empty() || !want_recv.is_empty(), "{mode:?} {name}: nothing to compare");
            assert_eq!(sent, want_sent, "{mode:?}, {name}: sender");
            assert_eq!(recv, want_recv, "{mode:?}, {name}: receiver");
        }
        assert!(
            all_sent.iter().any(|e| matches!(e.kind, EventKind::TimerFired { .. })),
            "{mode:?}: no timeout"
        );
    }
}
