//! `p2mp demo` and `p2mp bench` end to end (small sizes so they stay fast).

use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const P2MP: &str = env!("CARGO_BIN_EXE_p2mp");
const LIMIT: Duration = Duration::from_secs(120);

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs `p2mp` with output in files, killed if it outlives the limit.
fn run(args: &[&str]) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stdout");
    let err = dir.path().join("stderr");
    let mut child = Command::new(P2MP)
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("p2mp {args:?} did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.success(), std::fs::read_to_string(out).unwrap(), std::fs::read_to_string(err).unwrap())
}

#[test]
fn demo_verifies_every_copy() {
    let port = free_port().to_string();
    let (ok, out, err) = run(&[
        "demo",
        "--once",
        "--port",
        &port,
        "--size",
        "100001",
        "--seed",
        "5",
        "--p",
        "0.1",
        "--timeout",
        "0.05",
    ]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("Packet loss, sequence number = "), "{out}");
    assert!(out.contains("Timeout, sequence number = "), "{out}");
    assert_eq!(out.matches("byte-identical").count(), 3, "{out}");
    assert!(out.contains("Demo OK."));
}

#[test]
fn bench_prints_a_row_per_n() {
    let (ok, out, err) = run(&["bench", "--max-n", "2", "--size", "50000"]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("segments/s"), "{out}");
    let rows: Vec<&str> = out.lines().filter(|l| l.trim_start().starts_with(['1', '2'])).collect();
    assert_eq!(rows.len(), 2, "{out}");
}
