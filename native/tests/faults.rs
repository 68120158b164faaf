//! Faults on real loopback UDP: a server killed and restarted, the client killed, two clients
//! at one server, an unwritable target, a flood of junk, sixteen receivers.

mod common;

use common::*;
use p2mp_core::{Dialect, Outcome, Packet, ReceiverConfig};
use p2mp_native::loopback::{files_equal, write_random_file};
use p2mp_native::{Client, ClientConfig, Console, NativeError, Server, ServerConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::{sleep, timeout};

fn client_cfg(receivers: Vec<SocketAddr>, file: &Path, max_timeouts: u32) -> ClientConfig {
    ClientConfig {
        receivers,
        file: file.to_path_buf(),
        sender: sender(500, Dialect::Binary, fixed(30), max_timeouts),
        bind: None,
        trace_file: None,
    }
}

async fn server_at(addr: SocketAddr, output: PathBuf, idle: Duration) -> Server {
    let cfg = ServerConfig {
        bind: addr,
        output,
        receiver: ReceiverConfig {
            dialect: Dialect::Binary,
            linger: Duration::from_millis(300),
            idle_timeout: Some(idle),
            ..ReceiverConfig::default()
        },
        trace_file: None,
    };
    Server::bind(cfg, Console::capture()).await.expect("bind")
}

async fn wait_for(counter: &std::sync::atomic::AtomicU64, bytes: u64) {
    timeout(LIMIT, async {
        while counter.load(Ordering::Relaxed) < bytes {
            sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .expect("transfer made progress");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_and_restarted_mid_transfer_is_failed_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    write_random_file(&input, 400_000, 1).unwrap();
    let (good, good_out) = server(1, dir.path(), Dialect::Binary, 0.0, 1, Console::capture()).await;
    let victim_out = dir.path().join("victim.bin");
    let victim = server_at(p2mp_native::net::loopback_server_addr(2, 0), victim_out.clone(), LIMIT).await;
    let victim_addr = victim.local_addr();
    let progress = victim.bytes_received();
    let targets = vec![good.local_addr(), victim_addr];
    let good_task = tokio::spawn(good.run());
    let victim_task = tokio::spawn(victim.run());
    let client = Client::prepare(client_cfg(targets, &input, 8), Console::capture()).await.unwrap();
    let client_task = tokio::spawn(client.run());
    wait_for(&progress, 50_000).await;
    victim_task.abort();
    let _ = victim_task.await; // the socket is closed once the task is gone
                               // Restarted on the same address: it has lost its state, so it cannot acknowledge what the
                               // client sends next; the client must declare it failed rather than stall or corrupt.
    let restarted_out = dir.path().join("restarted.bin");
    let restarted = server_at(victim_addr, restarted_out.clone(), LIMIT).await;
    let restarted_progress = restarted.bytes_received();
    let restarted_task = tokio::spawn(restarted.run());
    let summary = timeout(LIMIT, client_task).await.unwrap().unwrap().unwrap();
    assert_eq!(summary.receivers[0].outcome, Outcome::Finished);
    assert_eq!(summary.receivers[1].outcome, Outcome::Failed);
    timeout(LIMIT, good_task).await.unwrap().unwrap().unwrap();
    assert!(files_equal(&input, &good_out).unwrap());
    // The restarted server hears only the middle of a file: it does not take it for a new
    // transfer, writes nothing, and is still waiting for one when it is stopped.
    assert_eq!(restarted_progress.load(Ordering::Relaxed), 0);
    assert!(!restarted_task.is_finished());
    restarted_task.abort();
    let _ = restarted_task.await;
    assert!(!victim_out.exists() && !restarted_out.exists());
    assert!(partial_files(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_killed_mid_transfer_makes_the_server_give_up_without_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    write_random_file(&input, 400_000, 2).unwrap();
    let out = dir.path().join("out.bin");
    let srv =
        server_at(p2mp_native::net::loopback_server_addr(3, 0), out.clone(), Duration::from_millis(500))
            .await;
    let progress = srv.bytes_received();
    let target = srv.local_addr();
    let srv_task = tokio::spawn(srv.run());
    let client = Client::prepare(client_cfg(vec![target], &input, 8), Console::capture()).await.unwrap();
    let client_task = tokio::spawn(client.run());
    wait_for(&progress, 30_000).await;
    client_task.abort();
    let r = timeout(LIMIT, srv_task).await.unwrap().unwrap();
    match r {
        Err(NativeError::Aborted { bytes }) => assert!((30_000..400_000).contains(&bytes)),
        other => panic!("expected an abort, got {other:?}"),
    }
    assert!(!out.exists(), "an aborted transfer must not leave its target");
    assert!(partial_files(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_at_one_server_are_never_interleaved() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.bin");
    let b = dir.path().join("b.bin");
    write_random_file(&a, 150_000, 3).unwrap();
    write_random_file(&b, 150_000, 4).unwrap();
    let out = dir.path().join("out.bin");
    let srv = server_at(p2mp_native::net::loopback_server_addr(4, 0), out.clone(), LIMIT).await;
    let target = srv.local_addr();
    let srv_task = tokio::spawn(srv.run());
    let ca = Client::prepare(client_cfg(vec![target], &a, 6), Console::capture()).await.unwrap();
    let cb = Client::prepare(client_cfg(vec![target], &b, 6), Console::capture()).await.unwrap();
    let (ra, rb) = tokio::join!(ca.run(), cb.run());
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    // One is served; the other is ignored (its datagrams come from a foreign address) and
    // reports its receiver failed.
    assert_ne!(ra.all_finished(), rb.all_finished(), "exactly one client is served");
    let s = timeout(LIMIT, srv_task).await.unwrap().unwrap().unwrap();
    assert!(s.stats.foreign > 0, "the other client's datagrams were counted as foreign");
    let served = if ra.all_finished() { &a } else { &b };
    assert!(files_equal(served, &out).unwrap(), "the output is exactly the served client's file");
}

#[tokio::test]
async fn unwritable_target_is_a_clear_error_and_the_client_reports_the_receiver_failed() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    write_random_file(&input, 10_000, 5).unwrap();
    // A path under a regular file cannot be created, even by root.
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let cfg = ServerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        output: blocker.join("out.bin"),
        receiver: ReceiverConfig::default(),
        trace_file: None,
    };
    let err = Server::bind(cfg, Console::capture()).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("cannot write output file"), "{msg}");
    assert!(!msg.contains('\n'));
    // No server: the client's receiver stays silent and is declared failed.
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let client =
        Client::prepare(client_cfg(vec![silent.local_addr().unwrap()], &input, 3), Console::capture())
            .await
            .unwrap();
    let summary = timeout(LIMIT, client.run()).await.unwrap().unwrap();
    assert_eq!(summary.receivers[0].outcome, Outcome::Failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_junk_and_forgeries_does_not_stop_a_transfer() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    write_random_file(&input, 200_001, 6).unwrap();
    let mut targets = Vec::new();
    let mut tasks = Vec::new();
    let mut outs = Vec::new();
    let mut first_progress = None;
    for i in 5..7 {
        let (srv, out) = server(i, dir.path(), Dialect::Binary, 0.05, i as u64, Console::capture()).await;
        first_progress.get_or_insert(srv.bytes_received());
        targets.push(srv.local_addr());
        outs.push(out);
        tasks.push(tokio::spawn(srv.run()));
    }
    let client = Client::prepare(client_cfg(targets.clone(), &input, 20), Console::capture()).await.unwrap();
    let client_addr = client.local_addr();
    let client_task = tokio::spawn(client.run());
    // The flood starts once the transfer runs (before it, a forged DATA 0 could open a transfer
    // of its own: the protocol has no authentication).
    let first_progress = first_progress.unwrap();
    wait_for(&first_progress, 1_000).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flood = {
        let stop = stop.clone();
        let targets = targets.clone();
        tokio::spawn(async move {
            let junk = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let mut rng = p2mp_core::rng::Rng::new(7);
            let mut sent = 0u64;
            let mut buf = Vec::new();
            while !stop.load(Ordering::Relaxed) && sent < 200_000 {
                for k in 0..50u32 {
                    buf.clear();
                    match k % 5 {
                        // Random bytes, truncated headers, an oversized datagram.
                        0 => buf.extend((0..rng.below(40)).map(|_| rng.next_u64() as u8)),
                        1 => buf.extend_from_slice(&[0, 0, 0]),
                        2 if k == 2 => buf.resize(65_000, 0x55),
                        // Well-formed DATA with valid checksums but wrong sequence numbers.
                        2 | 3 => {
                            let _ = Dialect::Binary.emit(
                                &Packet::Data { seq: rng.below(1000) as u32, payload: b"forged" },
                                &mut buf,
                            );
                        }
                        // Forged ACKs for any segment, at the client, from a non-receiver.
                        _ => {
                            let _ =
                                Dialect::Binary.emit(&Packet::Ack { seq: rng.below(500) as u32 }, &mut buf);
                        }
                    }
                    let to = if k % 5 == 4 { client_addr } else { targets[(k as usize) % targets.len()] };
                    let _ = junk.send_to(&buf, to).await;
                    sent += 1;
                }
                sleep(Duration::from_millis(1)).await;
            }
            sent
        })
    };
    let summary = timeout(LIMIT, client_task).await.unwrap().unwrap().unwrap();
    stop.store(true, Ordering::Relaxed);
    let sent = flood.await.unwrap();
    assert!(sent > 1000, "the flood ran: {sent}");
    assert!(summary.all_finished(), "{}", summary.render());
    assert!(summary.ignored.foreign > 0, "forged ACKs were counted");
    for (t, out) in tasks.into_iter().zip(&outs) {
        let s = timeout(LIMIT, t).await.unwrap().unwrap().unwrap();
        assert!(s.stats.foreign > 0);
        assert!(files_equal(&input, out).unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_receivers() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    write_random_file(&input, 100_003, 8).unwrap();
    let mut targets = Vec::new();
    let mut tasks = Vec::new();
    let mut outs = Vec::new();
    for i in 0..16 {
        let (srv, out) =
            server(20 + i, dir.path(), Dialect::Binary, 0.05, 100 + i as u64, Console::capture()).await;
        targets.push(srv.local_addr());
        outs.push(out);
        tasks.push(tokio::spawn(srv.run()));
    }
    let mut cfg = client_cfg(targets, &input, 20);
    cfg.sender.policy = adaptive();
    let client = Client::prepare(cfg, Console::capture()).await.unwrap();
    let summary = timeout(LIMIT, client.run()).await.unwrap().unwrap();
    assert!(summary.all_finished(), "{}", summary.render());
    for (t, out) in tasks.into_iter().zip(&outs) {
        timeout(LIMIT, t).await.unwrap().unwrap().unwrap();
        assert!(files_equal(&input, out).unwrap());
    }
}
