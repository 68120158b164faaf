//! The simulated figures in `docs/experiments.md` are pinned to the current code: the n = 1 rows
//! of `docs/img/task1.csv` and `docs/img/task1-adaptive.csv` are recomputed here, exactly as
//! `p2mp experiment --task all [--timeout adaptive] --out docs/img` computes them, and must match
//! the files byte for byte.
//!
//! The simulator is deterministic, so a change in the simulator, the sender, the receiver or the
//! model that moves a stop-and-wait delay by a microsecond fails this test; the fix is to
//! regenerate the figures (the commands are in `docs/experiments.md`) and update the numbers the
//! doc quotes, not to loosen the test.

use core::time::Duration;
use p2mp_core::experiment::{classic_base, csv, simulate_point, Sweep};
use p2mp_core::sim::{LinkConfig, SimConfig};
use p2mp_core::RtoPolicy;
use std::path::PathBuf;

/// `docs/img/NAME`, found from this crate's manifest directory.
fn doc_image(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/img").join(name)
}

/// Task 1 as `p2mp experiment --task 1 [--timeout adaptive]` builds it with its defaults: 10 MB,
/// RTT 10 ms (5 ms each way), seed 1, 5 runs per point (see `plan` in
/// `native/src/app/experiment.rs`).
fn cli_task1(policy: RtoPolicy) -> Sweep {
    let base = SimConfig {
        file_size: 10_000_000,
        link: LinkConfig::with_delay(Duration::from_millis(10) / 2),
        policy,
        seed: 1,
        ..classic_base()
    };
    let mut sweep = Sweep::task1(base);
    sweep.runs = 5;
    sweep
}

/// Recomputes the n = 1 row of `docs/img/NAME` (the cheapest row: one receiver, the fewest
/// events; 5 transfers of 10 MB, a fraction of a second with `p2mp-core` optimised in the dev
/// profile) and compares it, and the header, with the file's.
fn check_n1_row(name: &str, policy: RtoPolicy) {
    let path = doc_image(name);
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = doc.lines();
    let header = lines.next().unwrap_or_else(|| panic!("{name} is empty"));
    let documented = lines.find(|l| l.starts_with("1,")).unwrap_or_else(|| panic!("{name} has no n = 1 row"));

    let sweep = cli_task1(policy);
    assert!(sweep.values.contains(&1.0));
    let point = simulate_point(&sweep, 1.0).unwrap();
    let ours = csv(&sweep, &[point]);
    let mut ours = ours.lines();
    assert_eq!(ours.next(), Some(header), "docs/img/{name}: CSV header changed");
    assert_eq!(
        ours.next(),
        Some(documented),
        "docs/img/{name} (n = 1) no longer matches the simulator: regenerate docs/img with the \
         commands in docs/experiments.md and update the numbers quoted there"
    );
}

#[test]
fn task1_csv_n1_row_is_reproduced_by_the_current_simulator() {
    check_n1_row("task1.csv", RtoPolicy::Fixed { timeout: Duration::from_secs(1) });
}

#[test]
fn task1_adaptive_csv_n1_row_is_reproduced_by_the_current_simulator() {
    check_n1_row("task1-adaptive.csv", RtoPolicy::adaptive());
}
