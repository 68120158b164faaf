//! Hostile input: arbitrary bytes into both codecs and both state machines. Nothing panics,
//! nothing grows without bound, and forged ACKs from non-receivers never count. Seeds are fixed
//! so CI runs the same cases every time; `PROPTEST_CASES=100000` runs a longer campaign.

use p2mp_core::sim::receiver_addr;
use p2mp_core::{Dialect, Instant, Packet, Receiver, ReceiverConfig, Sender, SenderConfig};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use std::net::SocketAddr;

/// Cases per property: the CI default, or `PROPTEST_CASES` for a longer campaign.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn dialect() -> impl Strategy<Value = Dialect> {
    prop_oneof![Just(Dialect::Binary), Just(Dialect::Text)]
}

/// Mostly well-formed datagrams with a sprinkling of junk, so the state machines get deep.
fn datagram(d: Dialect) -> impl Strategy<Value = Vec<u8>> {
    let valid =
        (0u32..64, prop::collection::vec(any::<u8>(), 1..40), 0u8..3).prop_map(move |(seq, payload, k)| {
            let p = match k {
                0 => Packet::Data { seq, payload: &payload },
                1 => Packet::Ack { seq },
                _ => Packet::Fin { seq: if d == Dialect::Binary { 0 } else { seq } },
            };
            let mut v = Vec::new();
            let _ = d.emit(&p, &mut v);
            v
        });
    prop_oneof![3 => valid, 1 => prop::collection::vec(any::<u8>(), 0..120)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(2000), rng_seed: RngSeed::Fixed(0x9e37), ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics(d in dialect(), bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = d.parse(&bytes);
        let _ = d.sequence_field(&bytes);
    }

    #[test]
    fn emit_then_parse_round_trips(d in dialect(), seq in any::<u32>(), payload in prop::collection::vec(any::<u8>(), 1..1500)) {
        let mut buf = Vec::new();
        d.emit(&Packet::Data { seq, payload: &payload }, &mut buf).unwrap();
        prop_assert_eq!(buf.len(), d.header_len() + payload.len());
        prop_assert_eq!(d.parse(&buf), Ok(Packet::Data { seq, payload: &payload }));
        buf.clear();
        d.emit(&Packet::Ack { seq }, &mut buf).unwrap();
        prop_assert_eq!(d.parse(&buf), Ok(Packet::Ack { seq }));
    }

    #[test]
    fn single_bit_flips_in_the_payload_are_caught(d in dialect(), payload in prop::collection::vec(any::<u8>(), 1..600), bit in any::<prop::sample::Index>()) {
        let mut buf = Vec::new();
        d.emit(&Packet::Data { seq: 7, payload: &payload }, &mut buf).unwrap();
        let i = d.header_len() * 8 + bit.index(payload.len() * 8);
        buf[i / 8] ^= 1 << (i % 8);
        // A one-bit error always changes a ones' complement sum.
        let parsed = d.parse(&buf);
        prop_assert!(parsed.is_err(), "flip at bit {} not detected", i);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(300), rng_seed: RngSeed::Fixed(0x79b9), ..ProptestConfig::default() })]

    #[test]
    fn receiver_survives_any_sequence(d in dialect(), loss in 0.0f64..0.5, inputs in prop::collection::vec((0u8..4, datagram(Dialect::Binary), datagram(Dialect::Text), 0u64..50_000), 1..200)) {
        let mut r = Receiver::new(ReceiverConfig { dialect: d, loss, ..ReceiverConfig::default() }).unwrap();
        let mut now = Instant::ZERO;
        let mut buf = Vec::new();
        let mut written = 0u64;
        for (who, bin, txt, dt) in inputs {
            now += core::time::Duration::from_micros(dt);
            let from = receiver_addr(u16::from(who)); // four different senders
            r.handle_datagram(now, from, if d == Dialect::Binary { &bin } else { &txt }, None);
            if who == 3 { r.handle_timeout(now); }
            while let Some(t) = r.poll_transmit(now, &mut buf) {
                prop_assert_eq!(Some(t.destination), r.peer());
                prop_assert!(buf.len() <= 80);
            }
            while let Some(out) = r.poll_output() {
                if let p2mp_core::ReceiverOutput::Data(v) = out { written += v.len() as u64; }
            }
            while r.poll_event().is_some() {}
        }
        let s = r.stats();
        prop_assert_eq!(s.bytes, written);
        prop_assert!(s.lost + s.malformed + s.bad_checksum + s.foreign <= s.datagrams);
    }

    #[test]
    fn sender_ignores_forgeries_and_survives_junk(d in dialect(), inputs in prop::collection::vec((0u8..5, datagram(Dialect::Binary), datagram(Dialect::Text), 0u64..400_000), 1..200)) {
        let receivers = [receiver_addr(0), receiver_addr(1)];
        let forger: SocketAddr = "127.0.0.99:7735".parse().unwrap();
        let cfg = SenderConfig { mss: 10, dialect: d, max_timeouts: 3, ..SenderConfig::default() };
        let mut s = Sender::new(cfg, &receivers, 200, Instant::ZERO).unwrap();
        let mut now = Instant::ZERO;
        let mut buf = Vec::new();
        let mut forged = 0;
        for (who, bin, txt, dt) in inputs {
            while let Some(req) = s.poll_read() { s.supply(req.seq, &vec![b'x'; req.len]).unwrap(); }
            while s.poll_transmit(now, &mut buf).is_some() {}
            while s.poll_event().is_some() {}
            now += core::time::Duration::from_micros(dt);
            let bytes = if d == Dialect::Binary { &bin } else { &txt };
            match who {
                0 | 1 => s.handle_datagram(now, receivers[usize::from(who)], bytes, None),
                2 => { forged += 1; s.handle_datagram(now, forger, bytes, None) }
                _ => s.handle_timeout(now),
            }
        }
        prop_assert_eq!(s.ignored().foreign, forged);
        prop_assert!(s.segments_done() <= s.segments());
    }

    #[test]
    fn forged_acks_alone_never_complete_a_segment(d in dialect(), seqs in prop::collection::vec(0u32..300, 1..100)) {
        let cfg = SenderConfig { mss: 10, dialect: d, ..SenderConfig::default() };
        let mut s = Sender::new(cfg, &[receiver_addr(0)], 200, Instant::ZERO).unwrap();
        let forger: SocketAddr = "127.0.0.99:7735".parse().unwrap();
        let mut buf = Vec::new();
        while let Some(req) = s.poll_read() { s.supply(req.seq, &vec![0; req.len]).unwrap(); }
        while s.poll_transmit(Instant::ZERO, &mut buf).is_some() {}
        for seq in seqs {
            let mut v = Vec::new();
            d.emit(&Packet::Ack { seq }, &mut v).unwrap();
            s.handle_datagram(Instant::from_micros(5), forger, &v, None);
        }
        prop_assert_eq!(s.segments_done(), 0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(300), rng_seed: RngSeed::Fixed(7), ..ProptestConfig::default() })]

    /// Every scheme (stop-and-wait, go-back-n, selective repeat), with either congestion
    /// response, a rate cap or none,
    /// unicast or multicast, under ACKs for any segment, junk and arbitrary gaps in time: no
    /// panic, progress never beyond the file, and after the driver has handled everything due
    /// no deadline is left in the past (a deadline nothing can act on spins a driver).
    #[test]
    fn every_sender_survives_anything_and_never_leaves_a_deadline_behind(
        scheme in 0u8..3,
        bbr in any::<bool>(),
        group in any::<bool>(),
        rate in prop::sample::select(vec![0u64, 1_000_000, 100_000_000]),
        inputs in prop::collection::vec((0u8..5, 0u32..40, datagram(Dialect::Binary), 0u64..30_000), 1..300),
    ) {
        use core::time::Duration;
        use p2mp_core::{AnySender, Congestion, Mode, RtoPolicy};
        let receivers = [receiver_addr(0), receiver_addr(1), receiver_addr(2)];
        let cfg = SenderConfig {
            mss: 10,
            mode: match scheme {
                0 => Mode::StopAndWait,
                1 => Mode::GoBackN { window: 8 },
                _ => Mode::SelectiveRepeat { window: 8 },
            },
            congestion: if bbr { Congestion::Bbr } else { Congestion::Fixed },
            rate_bps: rate,
            multicast: group.then(|| "239.1.2.3:7735".parse().unwrap()),
            policy: RtoPolicy::Adaptive {
                initial: Duration::from_millis(10),
                min: Duration::from_millis(1),
                max: Duration::from_millis(50),
            },
            max_timeouts: 50,
            ..SenderConfig::default()
        };
        let mut s = AnySender::new(cfg, &receivers, 300, Instant::ZERO).unwrap();
        let mut now = Instant::ZERO;
        let mut buf = Vec::new();
        for (who, seq, junk, dt) in inputs {
            // The driver's loop: everything due now, until nothing is.
            for _ in 0..10_000 {
                while let Some(req) = s.poll_read() { s.supply(req.seq, &vec![b'x'; req.len]).unwrap(); }
                while s.poll_transmit(now, &mut buf).is_some() {}
                while s.poll_event().is_some() {}
                match s.poll_timeout() {
                    Some(t) if t <= now => s.handle_timeout(now),
                    _ => break,
                }
            }
            if let Some(t) = s.poll_timeout() {
                prop_assert!(t > now, "deadline {t} left behind at {now}");
            }
            if s.is_done() { break; }
            now += Duration::from_micros(dt);
            match who {
                0..=2 => {
                    let mut v = Vec::new();
                    Dialect::Binary.emit(&Packet::Ack { seq }, &mut v).unwrap();
                    s.handle_datagram(now, receivers[usize::from(who)], &v, None);
                }
                3 => s.handle_datagram(now, receivers[0], &junk, None),
                _ => {}
            }
        }
        prop_assert!(s.segments_done() <= s.segments());
    }
}

/// What every DATA for segment `seq` carries in the reorder-buffer property: its number, then
/// a length that varies, so a segment delivered in the wrong place never matches.
fn payload_of(seq: u32) -> Vec<u8> {
    let mut v = seq.to_le_bytes().to_vec();
    v.resize(4 + seq as usize % 5, 0xa5);
    v
}

/// A reorder window: mostly small (deep, many gaps filled), sometimes anything up to the
/// largest accepted, and that largest itself.
fn reorder_window() -> impl Strategy<Value = u32> {
    use p2mp_core::window::MAX_WINDOW;
    prop_oneof![3 => 0u32..=4, 3 => 5u32..=64, 1 => 0u32..=MAX_WINDOW, 1 => Just(MAX_WINDOW)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(300), rng_seed: RngSeed::Fixed(0x5e1e), ..ProptestConfig::default() })]

    /// The selective-repeat receiver under segments at, inside, at the edge of, just past and
    /// behind its window, anywhere at all, FINs, junk and a second sender: no panic, never more
    /// than `reorder_window - 1` segments held, never an ACK for a segment it neither delivered
    /// nor holds (but for [`p2mp_core::wire::NOTHING_IN_ORDER`] while it has none in order), and what it hands out is always segments 0, 1, 2, ... in order, each once.
    #[test]
    fn reorder_buffer_stays_within_its_window_and_delivers_in_order(
        window in reorder_window(),
        loss in prop_oneof![Just(0.0f64), 0.0f64..0.3],
        inputs in prop::collection::vec(
            (0u8..8, 0u8..10, any::<u32>(), prop::collection::vec(any::<u8>(), 0..24), 0u64..50_000),
            1..400,
        ),
    ) {
        use p2mp_core::ReceiverOutput;
        let cfg = ReceiverConfig { reorder_window: window, loss, seed: u64::from(window), ..ReceiverConfig::default() };
        let mut r = Receiver::new(cfg).unwrap();
        // How far past the next expected segment it may hold one.
        let ahead = u64::from(window.saturating_sub(1));
        let mut now = Instant::ZERO;
        let mut buf = Vec::new();
        let mut dgram = Vec::new();
        let mut delivered = 0u32;
        let mut finished = false;
        for (who, kind, x, junk, dt) in inputs {
            now += core::time::Duration::from_micros(dt);
            // Binary: the next segment expected is the count delivered.
            let next = r.stats().segments;
            let seq = match kind {
                0..=2 => next,
                3..=5 => next + u64::from(x) % (u64::from(window) + 2),
                6 => (next + ahead + u64::from(x % 5)).saturating_sub(2),
                7 => next.saturating_sub(1 + u64::from(x % 4)),
                _ => u64::from(x),
            };
            let seq = u32::try_from(seq).unwrap_or(x);
            dgram.clear();
            match (kind, x % 3) {
                (9, 0) => Dialect::Binary.emit(&Packet::Fin { seq: 0 }, &mut dgram).unwrap(),
                (9, _) => dgram.extend_from_slice(&junk),
                _ => Dialect::Binary.emit(&Packet::Data { seq, payload: &payload_of(seq) }, &mut dgram).unwrap(),
            }
            // Mostly the sender, sometimes a stranger with the same kind of datagrams.
            let from = receiver_addr(u16::from(who / 7));
            r.handle_datagram(now, from, &dgram, None);
            r.handle_timeout(now);
            let next = r.stats().segments;
            while let Some(t) = r.poll_transmit(now, &mut buf) {
                prop_assert_eq!(Some(t.destination), r.peer());
                if let Ok(Packet::Ack { seq: k }) = Dialect::Binary.parse(&buf) {
                    // Or, holding nothing in order, the ACK that says so.
                    let nothing = k == p2mp_core::wire::NOTHING_IN_ORDER && next == 0;
                    prop_assert!(u64::from(k) <= next + ahead || nothing, "ACK {} with next {} and window {}", k, next, window);
                }
            }
            while let Some(out) = r.poll_output() {
                match out {
                    ReceiverOutput::Data(v) => {
                        prop_assert!(!finished, "data after the end of file");
                        prop_assert_eq!(v, payload_of(delivered), "segment {} out of place", delivered);
                        delivered += 1;
                    }
                    ReceiverOutput::Finished { segments, .. } => {
                        prop_assert_eq!(segments, u64::from(delivered));
                        finished = true;
                    }
                    _ => {}
                }
            }
            while r.poll_event().is_some() {}
            let held = r.buffered_segments() as u64;
            prop_assert!(held <= ahead, "{} held with window {}", held, window);
            if finished {
                prop_assert_eq!(held, 0, "held segments after the end of file");
            }
            prop_assert_eq!(r.stats().segments, u64::from(delivered));
        }
    }
}
