//! How long a receiver must keep answering FINs. The sender reports a receiver finished only
//! when it hears the FIN's ACK; a receiver that stops lingering while its ACKs are still being
//! lost leaves the sender resending FINs to nobody until it declares that receiver failed,
//! though the receiver holds the whole file. Each FIN restarts the linger, so it must outlast
//! the longest gap between FINs that get through: several of the sender's largest timeouts.

use p2mp_core::sim::{LinkConfig, LossModel, SimConfig, Simulation};
use p2mp_core::{Mode, Outcome, RtoPolicy};
use std::time::Duration;

const RTO_MAX: Duration = Duration::from_millis(200);

/// Receivers reported failed though their copy is whole, over `seeds` transfers to three
/// receivers with every impairment at once both ways, as `native/tests/impair.rs` runs them,
/// except that the 5% of datagrams it corrupts are lost here instead: a DATA whose sequence
/// field is flipped passes the 16-bit checksum, and only the native nodes' SHA-256 catches it.
fn failed_but_whole(mode: Mode, linger: Duration, seeds: u64) -> usize {
    let ms = Duration::from_millis;
    let link = LinkConfig {
        delay: ms(2),
        jitter: ms(2),
        bandwidth_bps: 50_000_000,
        queue_bytes: 64_000,
        loss: LossModel::Bernoulli { p: 0.1 },
        duplicate: 0.05,
        reorder: 0.05,
        corrupt: 0.0,
    };
    let mut count = 0;
    for seed in 0..seeds {
        let cfg = SimConfig {
            file_size: 120_001,
            mss: 1000,
            receivers: 3,
            policy: RtoPolicy::Adaptive { initial: ms(50), min: ms(15), max: RTO_MAX },
            max_timeouts: 40,
            loss: 0.0,
            seed,
            link,
            linger,
            trace: false,
            mode,
            ..SimConfig::default()
        };
        let result = Simulation::new(cfg).expect("valid config").run();
        for r in &result.receivers {
            assert!(
                r.report.outcome != Outcome::Finished || r.intact,
                "seed {seed}: finished with a damaged copy"
            );
            count += usize::from(r.report.outcome != Outcome::Finished && r.intact);
        }
    }
    count
}

#[test]
fn a_linger_of_five_maximum_timeouts_lets_every_whole_copy_be_confirmed() {
    for mode in [Mode::StopAndWait, Mode::GoBackN { window: 8 }, Mode::SelectiveRepeat { window: 8 }] {
        assert_eq!(failed_but_whole(mode, RTO_MAX * 5, 150), 0, "{mode:?}");
    }
}

/// The contrast that shows the scenario above does lose FIN ACKs: a linger of 1.5 maximum
/// timeouts (what the native tests' servers had) cuts some whole copies off.
#[test]
fn a_linger_shorter_than_two_maximum_timeouts_reports_whole_copies_failed() {
    let cut = failed_but_whole(Mode::GoBackN { window: 8 }, RTO_MAX * 3 / 2, 300);
    assert!(cut > 0, "no receiver was cut off in 300 transfers");
}
