//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod procs;

use p2mp_core::{Dialect, ReceiverConfig, RtoPolicy, SenderConfig};
use p2mp_native::net::loopback_server_addr;
use p2mp_native::{Console, Server, ServerConfig};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `127.0.0.<last>` on Linux, which routes all of 127/8 to loopback, so a test can own an
/// address (and a restarted server take its port back); elsewhere 127.0.0.1.
pub fn ip(last: u8) -> std::net::Ipv4Addr {
    if cfg!(target_os = "linux") {
        std::net::Ipv4Addr::new(127, 0, 0, last)
    } else {
        std::net::Ipv4Addr::LOCALHOST
    }
}

/// A UDP port on `ip` that the OS just handed out, free for a node to bind next.
pub fn free_port(ip: std::net::Ipv4Addr) -> u16 {
    std::net::UdpSocket::bind((ip, 0)).expect("bind a probe socket").local_addr().expect("addr").port()
}

/// Every network wait in the tests is bounded by this.
pub const LIMIT: Duration = Duration::from_secs(60);

/// A fixed, short timeout policy for fast tests.
pub fn fixed(ms: u64) -> RtoPolicy {
    RtoPolicy::Fixed { timeout: Duration::from_millis(ms) }
}

/// An adaptive policy with test-friendly bounds.
pub fn adaptive() -> RtoPolicy {
    RtoPolicy::Adaptive {
        initial: Duration::from_millis(50),
        min: Duration::from_millis(15),
        max: Duration::from_millis(200),
    }
}

/// Sender configuration.
pub fn sender(mss: usize, dialect: Dialect, policy: RtoPolicy, max_timeouts: u32) -> SenderConfig {
    SenderConfig { mss, dialect, policy, max_timeouts, ..SenderConfig::default() }
}

/// A server bound on the i-th loopback address, port chosen by the OS.
pub async fn server(
    i: usize,
    dir: &Path,
    dialect: Dialect,
    loss: f64,
    seed: u64,
    console: Console,
) -> (Server, PathBuf) {
    windowed_server(i, dir, dialect, loss, seed, console, 0).await
}

/// [`server`] buffering up to `reorder_window` segments out of order (for selective repeat).
pub async fn windowed_server(
    i: usize,
    dir: &Path,
    dialect: Dialect,
    loss: f64,
    seed: u64,
    console: Console,
    reorder_window: u32,
) -> (Server, PathBuf) {
    let output = dir.join(format!("out-{i}.bin"));
    let cfg = ServerConfig {
        bind: loopback_server_addr(i, 0),
        output: output.clone(),
        receiver: ReceiverConfig {
            dialect,
            loss,
            seed,
            index: i as u16,
            // Five of adaptive()'s largest timeouts: a shorter linger lets a lost FIN ACK
            // leave a whole copy reported failed (core/tests/linger.rs).
            linger: Duration::from_secs(1),
            idle_timeout: Some(Duration::from_secs(20)),
            reorder_window,
        },
        trace_file: None,
    };
    (Server::bind(cfg, console).await.expect("bind server"), output)
}

/// Names in `dir` that look like partial outputs.
pub fn partial_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("p2mp-partial"))
        .collect()
}

/// Checks `p2mp bench --arq`'s stop-and-wait pairs on `net` for `n` receivers: five ratios of a
/// transfer to the `floor` measured just before it, and the verdict taken from their median.
pub fn assert_floor_pairs(out: &str, net: &str, n: usize, floor: &str) {
    let tag = format!("[{net}] n={n}: ");
    let line = out
        .lines()
        .map(str::trim_start)
        .find(|l| l.starts_with(&tag))
        .unwrap_or_else(|| panic!("no {net} pairs for n = {n}:\n{out}"));
    let list = line[tag.len()..].split(" ->").next().unwrap_or("");
    let mut ratios: Vec<f64> =
        list.split_whitespace().map(|r| r.parse().unwrap_or_else(|_| panic!("ratio {r}:\n{out}"))).collect();
    assert_eq!(ratios.len(), 5, "{out}");
    assert!(ratios.iter().all(|r| r.is_finite() && *r > 0.0), "{out}");
    ratios.sort_by(f64::total_cmp);
    let verdict = format!(
        "[{net}] stop-and-wait p=0 n={n} vs its {floor} floor, 5 pairs back to back: median {:.3}x",
        ratios[2]
    );
    assert!(out.contains(&verdict), "{verdict}\n{out}");
}
