//! Simulator speed: the classic Task 1 point (10 MB, MSS 500, n = 5, p = 0.05) with tracing off
//! and on, and the full grid of all three experiments (25 points x 5 runs).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use p2mp_core::experiment::{classic_base, simulate_once, Sweep};
use p2mp_core::sim::SimConfig;
use std::time::Instant;

fn task1_point() -> SimConfig {
    SimConfig { receivers: 5, mss: 500, loss: 0.05, ..classic_base() }
}

fn simulation(c: &mut Criterion) {
    let cfg = task1_point();
    let (_, steps) = simulate_once(&cfg).unwrap_or_default();
    let mut g = c.benchmark_group("simulate");
    g.sample_size(10);
    // Elements are simulator events (datagram arrivals and timer expiries): Criterion's
    // throughput line is events per second.
    g.throughput(Throughput::Elements(steps));
    g.bench_function("task1_10MB_n5_p0.05_untraced", |b| b.iter(|| simulate_once(&cfg)));
    let traced = SimConfig { trace: true, ..cfg.clone() };
    g.bench_function("task1_10MB_n5_p0.05_traced", |b| b.iter(|| simulate_once(&traced)));
    g.finish();

    // The grid takes seconds: time it once per sample.
    let mut g = c.benchmark_group("grid");
    g.sample_size(10);
    g.bench_function("all_three_experiments_125_runs", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                for sweep in
                    [Sweep::task1(classic_base()), Sweep::task2(classic_base()), Sweep::task3(classic_base())]
                {
                    for &v in &sweep.values {
                        for run in 0..sweep.runs {
                            let _ = simulate_once(&sweep.config(v, run));
                        }
                    }
                }
            }
            start.elapsed()
        })
    });
    g.finish();
}

criterion_group!(benches, simulation);
criterion_main!(benches);
