//! The simulator agrees with the closed-form model (docs/experiments.md states the tolerance).

use core::time::Duration;
use p2mp_core::model::expected_delay_secs;
use p2mp_core::sim::{LinkConfig, SimConfig, Simulation};
use p2mp_core::RtoPolicy;

/// Relative tolerance between the model and the mean of the simulated runs.
const TOLERANCE: f64 = 0.05;

fn mean_sim_delay(cfg: &SimConfig, runs: u64) -> f64 {
    let total: f64 = (0..runs)
        .map(|seed| {
            let mut s =
                Simulation::new(SimConfig { seed: 1000 + seed, trace: false, ..cfg.clone() }).unwrap();
            s.run().totals.delay_micros as f64 / 1e6
        })
        .sum();
    total / runs as f64
}

fn grid() -> Vec<SimConfig> {
    let base = SimConfig {
        file_size: 2_000_000,
        mss: 500,
        link: LinkConfig::with_delay(Duration::from_millis(2)),
        policy: RtoPolicy::Fixed { timeout: Duration::from_millis(100) },
        max_timeouts: 1000,
        ..SimConfig::default()
    };
    let mut v = Vec::new();
    for n in [1, 3, 5] {
        for p in [0.01, 0.05, 0.1] {
            v.push(SimConfig { receivers: n, loss: p, ..base.clone() });
        }
    }
    v.push(SimConfig { mss: 100, receivers: 3, loss: 0.05, ..base.clone() });
    v.push(SimConfig { mss: 1000, receivers: 3, loss: 0.05, ..base.clone() });
    v.push(SimConfig { policy: RtoPolicy::adaptive(), receivers: 3, loss: 0.05, ..base.clone() });
    v.push(SimConfig { host_cost: Duration::from_micros(50), receivers: 5, loss: 0.02, ..base });
    v
}

#[test]
fn simulation_matches_model_within_tolerance() {
    let mut worst: f64 = 0.0;
    for cfg in grid() {
        let model = expected_delay_secs(&cfg);
        let sim = mean_sim_delay(&cfg, 10);
        let err = (sim - model).abs() / model;
        println!(
            "n={} p={} mss={} policy={} model={model:.3}s sim={sim:.3}s err={:.1}%",
            cfg.receivers,
            cfg.loss,
            cfg.mss,
            cfg.policy,
            err * 100.0
        );
        worst = worst.max(err);
        assert!(err < TOLERANCE, "model {model} vs sim {sim} for {cfg:?}");
    }
    println!("worst relative error {:.2}%", worst * 100.0);
}
