//! `p2mp trace merge`: a real lossy transfer recorded with `--trace-file` by the client and two
//! servers (separate processes, each with its own clock), merged into one trace that shows the
//! whole transfer: both receivers, the servers' loss-service drops paired with the client's
//! sends, in time order on the client's clock.

mod common;

use common::procs::{read_log, spawn_logged, wait_until, Children};
use common::{free_port, LIMIT};
use p2mp_core::view::{Fate, TraceModel};
use p2mp_core::{Node, Outcome};
use p2mp_native::loopback::write_random_file;
use std::process::Command;
use std::time::{Duration, Instant};

const SERVER: &str = env!("CARGO_BIN_EXE_p2mpserver");
const CLIENT: &str = env!("CARGO_BIN_EXE_p2mpclient");
const P2MP: &str = env!("CARGO_BIN_EXE_p2mp");

#[test]
fn merged_recordings_of_a_real_transfer_show_every_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    write_random_file(&d.join("in.bin"), 25_000, 4).expect("input");
    let port = free_port(std::net::Ipv4Addr::LOCALHOST).to_string();
    let mut children = Children(Vec::new());
    for (i, ip) in ["127.0.0.2", "127.0.0.3"].iter().enumerate() {
        let mut cmd = Command::new(SERVER);
        cmd.current_dir(d).args([
            &port,
            &format!("out{}.bin", i + 1),
            "0.15",
            "--bind",
            ip,
            "--seed",
            &(11 + i).to_string(),
            "--linger",
            "0.3",
            "--trace-file",
            &format!("s{}.jsonl", i + 1),
        ]);
        children.0.push(spawn_logged(cmd, &d.join(format!("server{}.log", i + 1))));
    }
    let deadline = Instant::now() + LIMIT;
    for i in 1..=2 {
        let log = d.join(format!("server{i}.log"));
        while !read_log(&log).contains("listening on") {
            assert!(Instant::now() < deadline, "server {i} never listened: {}", read_log(&log));
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    // The servers' clocks are well ahead of the client's.
    std::thread::sleep(Duration::from_millis(300));
    let mut cmd = Command::new(CLIENT);
    cmd.current_dir(d).args([
        "127.0.0.2",
        "127.0.0.3",
        &port,
        "in.bin",
        "500",
        "--timeout",
        "0.05",
        "--max-timeouts",
        "30",
        "--trace-file",
        "c.jsonl",
    ]);
    let client_log = d.join("client.log");
    let mut client = spawn_logged(cmd, &client_log);
    let status = wait_until(&mut client, deadline, "the client");
    assert!(status.success(), "client: {}", read_log(&client_log));
    for (i, c) in children.0.iter_mut().enumerate() {
        let s = wait_until(c, deadline, "a server");
        assert!(s.success(), "server {}: {}", i + 1, read_log(&d.join(format!("server{}.log", i + 1))));
    }

    // Any order of inputs.
    let out = Command::new(P2MP)
        .current_dir(d)
        .args(["trace", "merge", "all.jsonl", "s2.jsonl", "c.jsonl", "s1.jsonl"])
        .output()
        .expect("p2mp trace merge");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("s1.jsonl: receiver 0 (by address)"), "{stderr}");
    assert!(stderr.contains("s2.jsonl: receiver 1 (by address)"), "{stderr}");
    // The servers started at least 300 ms before the client: their clocks are that far ahead.
    let merged = std::fs::read_to_string(d.join("all.jsonl")).expect("merged file");
    let m = TraceModel::from_jsonl(&merged).expect("the merged trace parses");
    assert!(m.events.windows(2).all(|w| w[0].t <= w[1].t), "time order");
    let s = m.summary();
    assert_eq!(s.receivers.len(), 2);
    assert!(s.receivers.iter().all(|r| r.outcome == Outcome::Finished), "{:?}", s.receivers);
    assert!(s.loss_drops > 0, "the servers' drops are in the merged trace");
    assert!(s.receivers.iter().all(|r| r.loss_drops > 0), "{:?}", s.receivers);
    for i in 0..2 {
        assert!(m.events.iter().any(|e| e.node == Node::Server(i)), "server {i}'s events");
    }
    // Every drop and arrival at a server found the client's send it belongs to, and comes
    // after it.
    let down: Vec<_> = m.flights.iter().filter(|f| f.downstream()).collect();
    let dropped = down.iter().filter(|f| matches!(f.fate, Fate::LossDrop { .. })).count();
    assert_eq!(dropped as u64, s.loss_drops);
    assert!(down.iter().all(|f| f.fate != Fate::InFlight), "every DATA and FIN has a fate");
    assert!(down.iter().all(|f| f.fate.at().is_some_and(|at| at >= f.sent)));

    // One file alone, or files of no sender, are told apart.
    let out = Command::new(P2MP)
        .current_dir(d)
        .args(["trace", "merge", "x.jsonl", "s1.jsonl", "s2.jsonl"])
        .output()
        .expect("p2mp trace merge");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("none of the files is the sender's"), "{stderr}");
    assert!(!d.join("x.jsonl").exists());
}
