//! Integration tests over real UDP on loopback, drivers called in-process.

mod common;

use common::*;
use p2mp_core::trace::TraceLine;
use p2mp_core::{Dialect, Outcome};
use p2mp_native::loopback::{files_equal, write_random_file};
use p2mp_native::{Client, ClientConfig, Console};
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::timeout;

/// 3 servers on 127.0.0.1-3 with p = 0.1, adaptive RTO, an odd-length file: byte-identical
/// copies, and exactly one printed line per loss and per timeout.
async fn three_lossy_servers(dialect: Dialect, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.bin");
    write_random_file(&input, 300_001, seed).unwrap();
    let mut handles = Vec::new();
    let mut addrs = Vec::new();
    let mut outputs = Vec::new();
    let mut consoles = Vec::new();
    for i in 0..3 {
        let console = Console::capture();
        let (srv, out) = server(i, dir.path(), dialect, 0.1, seed + i as u64, console.clone()).await;
        addrs.push(srv.local_addr());
        outputs.push(out);
        consoles.push(console);
        handles.push(tokio::spawn(srv.run()));
    }
    let client_console = Console::capture();
    let client = Client::prepare(
        ClientConfig {
            receivers: addrs.clone(),
            file: input.clone(),
            sender: sender(1400, dialect, adaptive(), 10),
            bind: None,
            trace_file: None,
        },
        client_console.clone(),
    )
    .await
    .unwrap();
    let summary = timeout(LIMIT, client.run()).await.unwrap().unwrap();
    assert!(summary.all_finished(), "{}", summary.render());
    assert_eq!(summary.bytes, 300_001);
    assert_eq!(summary.segments, 300_001u64.div_ceil(1400));
    for ((h, out), console) in handles.into_iter().zip(&outputs).zip(&consoles) {
        let s = timeout(LIMIT, h).await.unwrap().unwrap().unwrap();
        assert_eq!(s.bytes, 300_001);
        assert!(files_equal(&input, out).unwrap(), "{} differs", out.display());
        let lines = console.captured();
        assert_eq!(lines.len() as u64, s.stats.lost);
        assert!(s.stats.lost > 0, "p = 0.1 over ~215 datagrams should lose some");
        for l in &lines {
            let x = l.strip_prefix("Packet loss, sequence number = ").unwrap();
            x.parse::<u32>().unwrap();
        }
    }
    let timeouts = client_console.captured();
    assert_eq!(timeouts.len() as u64, summary.totals.timeouts);
    for l in &timeouts {
        let y = l.strip_prefix("Timeout, sequence number = ").unwrap();
        y.parse::<u32>().unwrap();
    }
    assert!(partial_files(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_lossy_servers_binary() {
    three_lossy_servers(Dialect::Binary, 11).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_lossy_servers_text() {
    three_lossy_servers(Dialect::Text, 23).await;
}

async fn empty_file(dialect: Dialect) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("empty.bin");
    std::fs::write(&input, b"").unwrap();
    let mut handles = Vec::new();
    let mut addrs = Vec::new();
    let mut outputs = Vec::new();
    for i in 0..3 {
        let (srv, out) = server(i, dir.path(), dialect, 0.1, 5 + i as u64, Console::quiet()).await;
        addrs.push(srv.local_addr());
        outputs.push(out);
        handles.push(tokio::spawn(srv.run()));
    }
    let client = Client::prepare(
        ClientConfig {
            receivers: addrs,
            file: input.clone(),
            sender: sender(500, dialect, fixed(30), 10),
            bind: None,
            trace_file: None,
        },
        Console::quiet(),
    )
    .await
    .unwrap();
    let summary = timeout(LIMIT, client.run()).await.unwrap().unwrap();
    assert!(summary.all_finished(), "{}", summary.render());
    assert_eq!(summary.segments, 0);
    for (h, out) in handles.into_iter().zip(&outputs) {
        timeout(LIMIT, h).await.unwrap().unwrap().unwrap();
        assert_eq!(std::fs::metadata(out).unwrap().len(), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_file_yields_empty_files_binary() {
    empty_file(Dialect::Binary).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_file_yields_empty_files_text() {
    empty_file(Dialect::Text).await;
}

/// One server is killed mid-transfer: the client finishes the others, reports that receiver
/// failed, and the killed server leaves neither its target nor a partial file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_server_is_reported_failed_and_others_finish() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.bin");
    write_random_file(&input, 200_001, 3).unwrap();
    let mut handles = Vec::new();
    let mut addrs = Vec::new();
    let mut outputs = Vec::new();
    let mut progress = Vec::new();
    for i in 0..3 {
        // Some loss so the transfer takes long enough to be interrupted.
        let (srv, out) = server(i, dir.path(), Dialect::Binary, 0.05, 40 + i as u64, Console::quiet()).await;
        addrs.push(srv.local_addr());
        outputs.push(out);
        progress.push(srv.bytes_received());
        handles.push(tokio::spawn(srv.run()));
    }
    let client = Client::prepare(
        ClientConfig {
            receivers: addrs.clone(),
            file: input.clone(),
            sender: sender(500, Dialect::Binary, fixed(30), 5),
            bind: None,
            trace_file: None,
        },
        Console::quiet(),
    )
    .await
    .unwrap();
    let client = tokio::spawn(client.run());
    // Kill server 1 (127.0.0.2) once it has some of the file.
    timeout(LIMIT, async {
        while progress[1].load(Ordering::Relaxed) < 20_000 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .expect("server 1 never got 20 kB");
    let victim = handles.remove(1);
    victim.abort();
    assert!(victim.await.unwrap_err().is_cancelled());
    let summary = timeout(LIMIT, client).await.unwrap().unwrap().unwrap();
    assert_eq!(summary.failed(), 1, "{}", summary.render());
    assert_eq!(summary.receivers[1].outcome, Outcome::Failed);
    assert_eq!(summary.receivers[0].outcome, Outcome::Finished);
    assert_eq!(summary.receivers[2].outcome, Outcome::Finished);
    assert!(summary.receivers[1].timeouts >= 5);
    assert!(!summary.all_finished());
    for h in handles {
        timeout(LIMIT, h).await.unwrap().unwrap().unwrap();
    }
    assert!(files_equal(&input, &outputs[0]).unwrap());
    assert!(files_equal(&input, &outputs[2]).unwrap());
    assert!(!outputs[1].exists(), "a killed server must not leave its target");
    assert!(partial_files(dir.path()).is_empty());
}

/// A receiver address where nothing listens (ICMP port unreachable on loopback) is reported as
/// failed; the client does not crash on ECONNREFUSED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_port_is_reported_failed() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.bin");
    write_random_file(&input, 10_001, 9).unwrap();
    let (srv, out) = server(0, dir.path(), Dialect::Binary, 0.0, 1, Console::quiet()).await;
    let live = srv.local_addr();
    let h = tokio::spawn(srv.run());
    let dead = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap()
    };
    let client = Client::prepare(
        ClientConfig {
            receivers: vec![dead, live],
            file: input.clone(),
            sender: sender(500, Dialect::Binary, fixed(20), 3),
            bind: None,
            trace_file: None,
        },
        Console::quiet(),
    )
    .await
    .unwrap();
    let summary = timeout(LIMIT, client.run()).await.unwrap().unwrap();
    assert_eq!(summary.receivers[0].outcome, Outcome::Failed);
    assert_eq!(summary.receivers[1].outcome, Outcome::Finished);
    timeout(LIMIT, h).await.unwrap().unwrap().unwrap();
    assert!(files_equal(&input, &out).unwrap());
}

/// Garbage datagrams (from a stranger, before and during the transfer) never crash a server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_datagrams_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.bin");
    write_random_file(&input, 50_001, 4).unwrap();
    let (srv, out) = server(0, dir.path(), Dialect::Binary, 0.0, 1, Console::quiet()).await;
    let addr = srv.local_addr();
    let junk = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for d in [&b""[..], b"x", b"\0\0\0\0\0\0\x12\x34", &[0xFF; 9000]] {
        junk.send_to(d, addr).await.unwrap();
    }
    let h = tokio::spawn(srv.run());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let spam = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut k = 0u8;
            while !stop.load(Ordering::Relaxed) {
                let _ = junk.send_to(&[k; 8], addr).await;
                k = k.wrapping_add(1);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    let client = Client::prepare(
        ClientConfig {
            receivers: vec![addr],
            file: input.clone(),
            sender: sender(700, Dialect::Binary, fixed(30), 10),
            bind: None,
            trace_file: None,
        },
        Console::quiet(),
    )
    .await
    .unwrap();
    let summary = timeout(LIMIT, client.run()).await.unwrap().unwrap();
    stop.store(true, Ordering::Relaxed);
    spam.await.unwrap();
    assert!(summary.all_finished());
    let s = timeout(LIMIT, h).await.unwrap().unwrap().unwrap();
    assert!(s.stats.malformed + s.stats.foreign > 0);
    assert!(files_equal(&input, &out).unwrap());
}

/// `--trace-file`: a header line, then one event per line, for both nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_files_are_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.bin");
    write_random_file(&input, 20_001, 8).unwrap();
    let server_trace = dir.path().join("server.jsonl");
    let client_trace = dir.path().join("client.jsonl");
    let output = dir.path().join("out.bin");
    let srv = p2mp_native::Server::bind(
        p2mp_native::ServerConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            output: output.clone(),
            receiver: p2mp_core::ReceiverConfig {
                loss: 0.2,
                seed: 2,
                linger: Duration::from_millis(200),
                ..Default::default()
            },
            trace_file: Some(server_trace.clone()),
        },
        Console::quiet(),
    )
    .await
    .unwrap();
    let addr = srv.local_addr();
    let h = tokio::spawn(srv.run());
    let client = Client::prepare(
        ClientConfig {
            receivers: vec![addr],
            file: input.clone(),
            sender: sender(1000, Dialect::Binary, fixed(20), 10),
            bind: None,
            trace_file: Some(client_trace.clone()),
        },
        Console::quiet(),
    )
    .await
    .unwrap();
    let summary = timeout(LIMIT, client.run()).await.unwrap().unwrap();
    assert!(summary.all_finished());
    timeout(LIMIT, h).await.unwrap().unwrap().unwrap();
    for (path, want_loss) in [(&client_trace, false), (&server_trace, true)] {
        let text = std::fs::read_to_string(path).unwrap();
        let lines: Vec<TraceLine> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert!(matches!(lines[0], TraceLine::Header(_)));
        assert!(lines.len() > 10);
        assert!(lines[1..].iter().all(|l| matches!(l, TraceLine::Event(_))));
        let has_loss = text.contains("\"ev\":\"loss_drop\"");
        assert_eq!(has_loss, want_loss, "{}", path.display());
    }
    assert!(std::fs::read_to_string(&client_trace).unwrap().contains("\"ev\":\"transfer_end\""));
}
