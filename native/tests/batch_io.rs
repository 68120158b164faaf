//! Batched socket I/O (native/src/batch.rs): whatever I/O path the client and the servers use
//! (GSO trains and GRO/recvmmsg, recvmmsg alone, or plain one-datagram calls, as `P2MP_IO`
//! selects), every receiver ends with a byte-identical copy, also when the file's last segment is
//! short (it closes a GSO train) and when segments are lost and resent out of order.

mod common;

use common::*;
use p2mp_core::{Dialect, Mode, ReceiverConfig};
use p2mp_native::batch::IoMode;
use p2mp_native::loopback::{files_equal, write_random_file};
use p2mp_native::{Client, ClientConfig, Console, Server, ServerConfig};
use std::time::Duration;
use tokio::time::timeout;

/// Sends a 1 234 567-byte file (2470 segments of 500 bytes, the last of 67) to `n` servers
/// using `server_io`, from a client using `client_io`, and checks every copy.
async fn transfer(mode: Mode, client_io: IoMode, server_io: IoMode, n: usize, loss: f64, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    write_random_file(&input, 1_234_567, seed).unwrap();
    let mut targets = Vec::new();
    let mut tasks = Vec::new();
    let mut outs = Vec::new();
    for i in 0..n {
        let out = dir.path().join(format!("out-{i}.bin"));
        let cfg = ServerConfig {
            bind: p2mp_native::net::loopback_server_addr(60 + i, 0),
            output: out.clone(),
            receiver: ReceiverConfig {
                loss,
                seed: seed + i as u64,
                linger: Duration::from_millis(300),
                // Go-back-n talks to classic receivers (it acknowledges cumulatively).
                reorder_window: match mode {
                    Mode::SelectiveRepeat { window } => window,
                    _ => 0,
                },
                ..ReceiverConfig::default()
            },
            trace_file: None,
        };
        let srv = Server::bind(cfg, Console::capture()).await.unwrap().with_io(server_io).unwrap();
        targets.push(srv.local_addr());
        outs.push(out);
        tasks.push(tokio::spawn(srv.run()));
    }
    let mut sender = sender(500, Dialect::Binary, adaptive(), 50);
    sender.mode = mode;
    let client = Client::prepare(
        ClientConfig { receivers: targets, file: input.clone(), sender, bind: None, trace_file: None },
        Console::capture(),
    )
    .await
    .unwrap()
    .with_io(client_io)
    .unwrap();
    let what = format!("{mode:?}, client {client_io:?}, servers {server_io:?}, p = {loss}");
    let summary = timeout(LIMIT, client.run()).await.unwrap().unwrap();
    assert!(summary.all_finished(), "{what}: {}", summary.render());
    assert_eq!(summary.segments, 2470, "{what}");
    if loss > 0.0 {
        assert!(summary.totals.retransmissions > 0, "{what}");
    }
    for (t, out) in tasks.into_iter().zip(&outs) {
        let s = timeout(LIMIT, t).await.unwrap().unwrap().unwrap();
        assert_eq!(Some(&s.sha256), summary.sha256.as_ref(), "{what}");
        assert!(files_equal(&input, out).unwrap(), "{what}: {} differs", out.display());
    }
}

const SR: Mode = Mode::SelectiveRepeat { window: 64 };

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selective_repeat_to_eight_receivers_batched() {
    transfer(SR, IoMode::Auto, IoMode::Auto, 8, 0.0, 11).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selective_repeat_batched_with_loss() {
    transfer(SR, IoMode::Auto, IoMode::Auto, 3, 0.05, 12).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_back_n_batched_with_loss() {
    transfer(Mode::GoBackN { window: 32 }, IoMode::Auto, IoMode::Auto, 3, 0.02, 13).await;
    transfer(Mode::GoBackN { window: 32 }, IoMode::Plain, IoMode::Plain, 3, 0.02, 13).await;
}

/// `P2MP_IO=plain`: what Windows and macOS run, and the way out on an odd kernel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selective_repeat_plain_fallback() {
    transfer(SR, IoMode::Plain, IoMode::Plain, 5, 0.02, 14).await;
}

/// `P2MP_IO=nogso`: recvmmsg batches, one datagram per send (a kernel without UDP GSO/GRO).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selective_repeat_without_gso() {
    transfer(SR, IoMode::NoGso, IoMode::NoGso, 5, 0.02, 15).await;
}

/// A batching client with plain servers and the reverse: the paths interoperate (GSO trains are
/// ordinary datagrams on the wire).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_and_plain_nodes_interoperate() {
    transfer(SR, IoMode::Auto, IoMode::Plain, 3, 0.0, 16).await;
    transfer(SR, IoMode::Plain, IoMode::Auto, 3, 0.0, 17).await;
}

/// Stop-and-wait sends one datagram per receiver at a time: the batched path must not change it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_and_wait_batched() {
    transfer(Mode::StopAndWait, IoMode::Auto, IoMode::Auto, 3, 0.02, 18).await;
}
