//! Go-back-n and selective repeat over real UDP: the same servers, identical files.

mod common;

use common::*;
use p2mp_core::{Dialect, Mode, ReceiverConfig};
use p2mp_native::loopback::{files_equal, write_random_file};
use p2mp_native::{Client, ClientConfig, Console, Server, ServerConfig};
use std::time::Duration;
use tokio::time::timeout;

async fn transfer(mode: Mode, server_window: u32, loss: f64, seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    write_random_file(&input, 300_007, seed).unwrap();
    let mut targets = Vec::new();
    let mut tasks = Vec::new();
    let mut outs = Vec::new();
    for i in 0..3 {
        let out = dir.path().join(format!("out-{i}.bin"));
        let cfg = ServerConfig {
            bind: p2mp_native::net::loopback_server_addr(40 + i, 0),
            output: out.clone(),
            receiver: ReceiverConfig {
                loss,
                seed: seed + i as u64,
                linger: Duration::from_millis(300),
                reorder_window: server_window,
                ..ReceiverConfig::default()
            },
            trace_file: None,
        };
        let srv = Server::bind(cfg, Console::capture()).await.unwrap();
        targets.push(srv.local_addr());
        outs.push(out);
        tasks.push(tokio::spawn(srv.run()));
    }
    let mut sender = sender(1000, Dialect::Binary, adaptive(), 30);
    sender.mode = mode;
    let client = Client::prepare(
        ClientConfig { receivers: targets, file: input.clone(), sender, bind: None, trace_file: None },
        Console::capture(),
    )
    .await
    .unwrap();
    let summary = timeout(LIMIT, client.run()).await.unwrap().unwrap();
    assert!(summary.all_finished(), "{mode:?}: {}", summary.render());
    if loss > 0.0 {
        assert!(summary.totals.retransmissions > 0);
    }
    for (t, out) in tasks.into_iter().zip(&outs) {
        let s = timeout(LIMIT, t).await.unwrap().unwrap().unwrap();
        assert_eq!(Some(&s.sha256), summary.sha256.as_ref());
        assert!(files_equal(&input, out).unwrap(), "{mode:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_back_n_with_classic_servers() {
    transfer(Mode::GoBackN { window: 32 }, 0, 0.05, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selective_repeat_with_buffering_servers() {
    transfer(Mode::SelectiveRepeat { window: 32 }, 32, 0.05, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selective_repeat_with_classic_servers_still_completes() {
    transfer(Mode::SelectiveRepeat { window: 16 }, 0, 0.02, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_and_wait_client_with_buffering_servers() {
    transfer(Mode::StopAndWait, 32, 0.05, 4).await;
}
