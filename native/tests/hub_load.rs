//! One hundred browsers subscribed to one live transfer: every one of them gets the whole
//! transfer, and the transfer goes on. How much they slow it is measured by the ignored test
//! `hundred_viewers_slowdown` (a benchmark, not a timed assertion: timings flake on shared
//! machines); docs/robustness.md records the figure.

use futures_util::StreamExt;
use p2mp_core::{Dialect, RtoPolicy, SenderConfig};
use p2mp_native::hub::{Hub, HubConfig};
use p2mp_native::loopback::{files_equal, run_loopback_traced, write_random_file, LoopbackSpec};
use p2mp_native::publish::PublishTarget;
use p2mp_native::Console;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

const LIMIT: Duration = Duration::from_secs(120);

fn spec() -> LoopbackSpec {
    LoopbackSpec {
        n: 3,
        port: 0,
        loss: 0.05,
        seed: 9,
        sender: SenderConfig {
            mss: 500,
            dialect: Dialect::Binary,
            policy: RtoPolicy::Fixed { timeout: Duration::from_millis(20) },
            max_timeouts: 30,
            ..SenderConfig::default()
        },
        linger: Duration::from_millis(100),
        idle_timeout: Some(Duration::from_secs(20)),
    }
}

/// Runs one transfer publishing to a fresh hub with `viewers` subscribed; returns the transfer's
/// wall time and how many viewers saw its end.
async fn run(dir: &Path, size: u64, viewers: usize) -> (Duration, usize) {
    let mut cfg = HubConfig::new("127.0.0.1:0".parse().unwrap());
    cfg.quiet = true;
    cfg.hold = Duration::from_millis(50);
    let hub = Hub::bind(cfg, None).await.expect("bind hub");
    let addr = hub.local_addr();
    let publish = hub.publish_url();
    let (_handle, _, _task) = hub.spawn();
    let mut readers = Vec::new();
    for _ in 0..viewers {
        let (mut w, _) =
            tokio_tungstenite::connect_async(format!("ws://{addr}/ws/view")).await.expect("viewer");
        readers.push(tokio::spawn(async move {
            let read = async {
                while let Some(Ok(m)) = w.next().await {
                    // A browser parses what it shows; here only the end matters, and a cheap
                    // reader keeps the measurement about the hub, not about 100 JSON parsers
                    // sharing the transfer's two cores.
                    if let Message::Text(t) = m {
                        if t.as_str().contains("\"ev\":\"transfer_end\"") {
                            return true;
                        }
                    }
                }
                false
            };
            tokio::time::timeout(LIMIT, read).await.unwrap_or(false)
        }));
    }
    let input = dir.join(format!("in-{viewers}.bin"));
    write_random_file(&input, size, 5).unwrap();
    let live = PublishTarget::WebSocket(publish);
    let start = Instant::now();
    let out = tokio::time::timeout(
        LIMIT,
        run_loopback_traced(&spec(), &input, dir, |_, _| Console::quiet(), Console::quiet(), Some(&live)),
    )
    .await
    .expect("transfer in time")
    .expect("transfer runs");
    let took = start.elapsed();
    assert!(out.client.all_finished());
    for o in &out.outputs {
        assert!(files_equal(&input, o).unwrap());
    }
    let mut saw_end = 0;
    for r in readers {
        if r.await.unwrap_or(false) {
            saw_end += 1;
        }
    }
    (took, saw_end)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_viewers_all_see_the_whole_transfer() {
    let dir = tempfile::tempdir().unwrap();
    let (_, saw_end) = run(dir.path(), 60_000, 100).await;
    assert_eq!(saw_end, 100, "every viewer got the transfer to its end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement: cargo test --release -p p2mp-native --test hub_load -- --ignored --nocapture"]
async fn hundred_viewers_slowdown() {
    let dir = tempfile::tempdir().unwrap();
    let size = 1_000_000;
    let mut rows = Vec::new();
    for round in 0..3 {
        for viewers in [0usize, 100] {
            let (took, saw) = run(dir.path(), size, viewers).await;
            println!("round {round}: {viewers:>3} viewers: {:.3} s ({saw} saw the end)", took.as_secs_f64());
            rows.push((viewers, took.as_secs_f64()));
        }
    }
    let mean = |v: usize| {
        let xs: Vec<f64> = rows.iter().filter(|r| r.0 == v).map(|r| r.1).collect();
        xs.iter().sum::<f64>() / xs.len() as f64
    };
    println!(
        "mean: 0 viewers {:.3} s, 100 viewers {:.3} s, slowdown {:.1}%",
        mean(0),
        mean(100),
        (mean(100) / mean(0) - 1.0) * 100.0
    );
}
