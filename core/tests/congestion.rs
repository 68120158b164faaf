//! The windowed senders' congestion response (core/src/congestion.rs), held against a modelled
//! slow path with a small drop-tail queue, and against random (non-congestion) loss.

use core::time::Duration;
use p2mp_core::sim::{LinkConfig, SimConfig, SimResult, Simulation};
use p2mp_core::{Congestion, Mode, RtoPolicy};

const MSS: usize = 500;

fn cfg(congestion: Congestion, window: u32, loss: f64, link: LinkConfig) -> SimConfig {
    SimConfig {
        file_size: 1_000_000,
        mss: MSS,
        receivers: 3,
        loss,
        seed: 11,
        mode: Mode::SelectiveRepeat { window },
        congestion,
        link,
        policy: RtoPolicy::Adaptive {
            initial: Duration::from_millis(100),
            min: Duration::from_millis(20),
            max: Duration::from_secs(1),
        },
        max_timeouts: 30,
        trace: false,
        ..SimConfig::default()
    }
}

fn run(c: SimConfig) -> SimResult {
    let r = Simulation::new(c).expect("valid config").run();
    assert!(r.receivers.iter().all(|x| x.intact), "every receiver gets the file intact");
    r
}

fn secs(r: &SimResult) -> f64 {
    r.totals.delay_micros as f64 / 1e6
}

/// 4 Mb/s to each receiver behind a 16 KB drop-tail queue (about 30 datagrams), 10 ms RTT.
fn slow_path() -> LinkConfig {
    LinkConfig {
        delay: Duration::from_millis(5),
        bandwidth_bps: 4_000_000,
        queue_bytes: 16_000,
        ..LinkConfig::default()
    }
}

#[test]
fn on_a_slow_path_the_controller_stops_overrunning_the_queue_and_keeps_the_link_busy() {
    let fixed = run(cfg(Congestion::Fixed, 256, 0.0, slow_path()));
    let bbr = run(cfg(Congestion::Bbr, 256, 0.0, slow_path()));
    for (name, r) in [("fixed", &fixed), ("bbr", &bbr)] {
        eprintln!("slow path, {name}: {:.3} s, {} retransmissions", secs(r), r.totals.retransmissions);
    }
    let segments = 2_000u64;
    // A fixed 256-segment window overruns a 30-datagram queue again and again.
    assert!(
        fixed.totals.retransmissions > segments / 2,
        "fixed window: {} retransmissions",
        fixed.totals.retransmissions
    );
    // The controller loses some in startup (it probes at 2.89x) and little after.
    assert!(
        bbr.totals.retransmissions * 10 < fixed.totals.retransmissions,
        "bbr {} vs fixed {} retransmissions",
        bbr.totals.retransmissions,
        fixed.totals.retransmissions
    );
    // And it keeps the link busy: within 30% of the time the bytes need at 4 Mb/s.
    let floor = 1_000_000.0 * 8.0 / 4e6;
    assert!(secs(&bbr) < 1.3 * floor, "bbr took {:.2} s, link floor {floor:.2} s", secs(&bbr));
    // A fixed window keeps the queue full, so its link never idles; the controller pays a
    // little time for sending a tenth of the datagrams.
    assert!(secs(&bbr) < 1.15 * secs(&fixed), "bbr {:.2} s vs fixed {:.2} s", secs(&bbr), secs(&fixed));
}

#[test]
fn random_loss_is_not_taken_for_congestion() {
    // The loss service drops 5% at every receiver; the path itself is clean. Against a fixed
    // window of the same size the controller must cost next to nothing: a loss-halving
    // controller would settle near 5 segments per round trip and take several times longer.
    let clean = LinkConfig::with_delay(Duration::from_millis(5));
    for window in [64, 256] {
        let lossy = |cc| SimConfig { file_size: 5_000_000, ..cfg(cc, window, 0.05, clean) };
        let fixed = run(lossy(Congestion::Fixed));
        let bbr = run(lossy(Congestion::Bbr));
        assert!(
            secs(&bbr) < 1.1 * secs(&fixed),
            "window {window}: bbr {:.3} s vs fixed {:.3} s",
            secs(&bbr),
            secs(&fixed)
        );
    }
}

#[test]
fn one_slow_receiver_sets_the_pace_for_all() {
    // Receiver 0 sits behind the slow path; the other two are on a clean one.
    let clean = LinkConfig::with_delay(Duration::from_millis(5));
    let mixed = |cc| SimConfig { links: vec![slow_path(), clean, clean], ..cfg(cc, 256, 0.0, clean) };
    let fixed = run(mixed(Congestion::Fixed));
    let bbr = run(mixed(Congestion::Bbr));
    let slow_retx = |r: &SimResult| r.receivers[0].report.retransmissions;
    assert!(
        slow_retx(&bbr) * 10 < slow_retx(&fixed),
        "slow receiver's retransmissions: bbr {} vs fixed {}",
        slow_retx(&bbr),
        slow_retx(&fixed)
    );
    let floor = 1_000_000.0 * 8.0 / 4e6;
    assert!(secs(&bbr) < 1.3 * floor, "bbr took {:.2} s, slow link floor {floor:.2} s", secs(&bbr));
}

#[test]
fn on_a_clean_fast_path_the_controller_costs_little_against_a_fixed_window() {
    let clean = LinkConfig::with_delay(Duration::from_millis(5));
    let fixed = run(cfg(Congestion::Fixed, 64, 0.0, clean));
    let bbr = run(cfg(Congestion::Bbr, 64, 0.0, clean));
    assert_eq!(bbr.totals.retransmissions, 0);
    // Startup from 16 segments to the full window takes a few round trips.
    assert!(secs(&bbr) < 1.15 * secs(&fixed), "bbr {:.3} s vs fixed {:.3} s", secs(&bbr), secs(&fixed));
}

#[test]
fn the_rate_cap_holds_on_a_fast_link() {
    let clean = LinkConfig::with_delay(Duration::from_millis(1));
    let mut c = cfg(Congestion::Fixed, 256, 0.0, clean);
    c.rate_bps = 8_000_000;
    let r = run(c);
    // Three receivers' copies of 1 MB plus headers at 8 Mb/s: a little over 3 s, not less.
    let floor = 3.0 * 1_000_000.0 * 8.0 / 8e6;
    assert!(secs(&r) >= floor && secs(&r) < 1.1 * floor, "took {:.3} s, cap floor {floor:.2} s", secs(&r));
}
