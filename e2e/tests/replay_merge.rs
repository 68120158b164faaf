//! Replay of a real transfer recorded per node, in real headless Chromium: a lossy loopback
//! transfer to two servers, the client and each server recording its own `--trace-file` (as
//! `p2mpclient`/`p2mpserver` do: one file per node, node-relative clocks, each server calling
//! itself server 0), all three files opened at once through the replay file picker. The page
//! must merge them: both receivers listed, the servers' loss-service drops shown beside the
//! client's sends, stepping and playing to the end. Saves `artifacts/replay-merged.png`.

use p2mp_core::merge::merge_jsonl;
use p2mp_core::view::TraceModel;
use p2mp_core::{Dialect, ReceiverConfig, RtoPolicy, SenderConfig};
use p2mp_e2e::{browser_or_skip, dist_or_panic, Browser, Chromedriver, StaticServer};
use p2mp_native::loopback::{files_equal, write_random_file};
use p2mp_native::net::loopback_server_addr;
use p2mp_native::{Client, ClientConfig, Console, Server, ServerConfig};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn first_number(text: &str) -> u64 {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Runs the transfer; returns the client's trace file and the servers'.
async fn record(dir: &Path) -> Result<(PathBuf, Vec<PathBuf>), String> {
    let input = dir.join("input.bin");
    write_random_file(&input, 20_000, 8).map_err(|e| e.to_string())?;
    let mut addrs = Vec::new();
    let mut handles = Vec::new();
    let mut server_traces = Vec::new();
    for i in 0..2 {
        let trace = dir.join(format!("s{}.jsonl", i + 1));
        let cfg = ServerConfig {
            bind: loopback_server_addr(i, 0),
            output: dir.join(format!("received-{}.bin", i + 1)),
            receiver: ReceiverConfig {
                loss: 0.2,
                seed: 40 + i as u64,
                // As p2mpserver: a server does not know its place in the client's list.
                index: 0,
                linger: Duration::from_millis(300),
                idle_timeout: Some(Duration::from_secs(20)),
                ..ReceiverConfig::default()
            },
            trace_file: Some(trace.clone()),
        };
        let server = Server::bind(cfg, Console::quiet()).await.map_err(|e| format!("server: {e}"))?;
        addrs.push(server.local_addr());
        handles.push(tokio::spawn(server.run()));
        server_traces.push(trace);
    }
    // The servers' clocks start well before the client's.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let client_trace = dir.join("c.jsonl");
    let client = Client::prepare(
        ClientConfig {
            receivers: addrs,
            file: input.clone(),
            sender: SenderConfig {
                mss: 500,
                dialect: Dialect::Binary,
                policy: RtoPolicy::Fixed { timeout: Duration::from_millis(60) },
                max_timeouts: 30,
                ..SenderConfig::default()
            },
            bind: None,
            trace_file: Some(client_trace.clone()),
        },
        Console::quiet(),
    )
    .await
    .map_err(|e| format!("client: {e}"))?;
    let summary = client.run().await.map_err(|e| format!("transfer: {e}"))?;
    assert!(summary.all_finished(), "every receiver finished");
    for (i, h) in handles.into_iter().enumerate() {
        let r = tokio::time::timeout(Duration::from_secs(10), h).await;
        let ok = matches!(r, Ok(Ok(Ok(_))));
        assert!(ok, "server {} did not end cleanly: {r:?}", i + 1);
        let out = dir.join(format!("received-{}.bin", i + 1));
        assert!(files_equal(&input, &out).map_err(|e| e.to_string())?, "{} differs", out.display());
    }
    Ok((client_trace, server_traces))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_merges_a_real_transfers_per_node_recordings() {
    let Some(driver_bin) = browser_or_skip("replay_merges_a_real_transfers_per_node_recordings") else {
        return;
    };
    let dist = dist_or_panic();
    let dir = tempfile::tempdir().expect("tempdir");
    let (client_trace, server_traces) = record(dir.path()).await.expect("recording");
    let read = |p: &PathBuf| std::fs::read_to_string(p).expect("trace file");
    let client_text = read(&client_trace);
    let texts: Vec<(String, String)> = std::iter::once(&client_trace)
        .chain(&server_traces)
        .map(|p| (p.file_name().unwrap_or_default().to_string_lossy().into_owned(), read(p)))
        .collect();

    // The client's file alone has no server drop: that is what merging adds.
    let alone = TraceModel::from_jsonl(&client_text).expect("client trace");
    assert_eq!(alone.summary().loss_drops, 0);
    let merged = merge_jsonl(texts.iter().map(|(n, t)| (n.as_str(), t.as_str()))).expect("merge");
    let model = TraceModel::from_jsonl(&merged.to_jsonl()).expect("merged trace");
    let expected = model.summary().clone();
    let events = model.events.len();
    assert!(expected.loss_drops > 0, "the seeds must give server drops");
    assert!(merged.servers.iter().all(|a| a.offset_micros > 300_000), "{:?}", merged.servers);

    let server = StaticServer::start(&dist, HashMap::new()).expect("static server");
    let driver = Chromedriver::start(&driver_bin).expect("chromedriver");
    let b = Browser::start(&driver, 1400, 1000).await.expect("headless chromium");
    let run = async {
        b.open(&server.url("/?live=0")).await?;
        // Server files first: the order does not matter.
        let paths: Vec<String> = server_traces
            .iter()
            .chain(std::iter::once(&client_trace))
            .map(|p| p.display().to_string())
            .collect();
        b.wait_for("#trace-file").await?.send_keys(&paths.join("\n")).await.map_err(|e| e.to_string())?;
        let count =
            b.wait_text("#event-count", Duration::from_secs(20), |t| t == format!("0 / {events}")).await?;
        assert_eq!(count, format!("0 / {events}"));
        let source = b.text("#source").await?;
        assert!(source.starts_with("replay"), "{source}");
        for name in ["s1.jsonl", "s2.jsonl", "c.jsonl"] {
            assert!(source.contains(name), "{source}");
        }
        // Step through the start: the transfer_start, then the first DATA.
        for _ in 0..4 {
            b.click("#step-forward").await?;
        }
        b.wait_text("#cursor", Duration::from_secs(5), |t| t.starts_with("event 4 /")).await?;
        b.click("#step-back").await?;
        b.wait_text("#cursor", Duration::from_secs(5), |t| t.starts_with("event 3 /")).await?;
        let rows = b.client.find_all(fantoccini::Locator::Css("#receivers [data-receiver]")).await;
        assert_eq!(rows.map_err(|e| e.to_string())?.len(), 2, "both receivers listed");

        // Play to the end as fast as possible.
        b.click("#speed option[value='13']").await?;
        b.click("#play").await?;
        let status = b.wait_text("#status", Duration::from_secs(60), |t| t.contains("complete")).await?;
        assert!(status.contains("2 finished"), "{status}");
        assert_eq!(b.text("#event-count").await?, format!("{events} / {events}"));
        let drops = first_number(&b.text("#drop-count").await?);
        assert!(drops > 0, "the servers' drops are shown");
        assert_eq!(drops, expected.loss_drops);
        let retx = first_number(&b.text("#retx-count").await?);
        assert_eq!(retx, expected.retransmissions);
        let finished =
            b.client.find_all(fantoccini::Locator::Css("#receivers [data-outcome=finished]")).await;
        assert_eq!(finished.map_err(|e| e.to_string())?.len(), 2, "both receivers finished");
        let shot = b.screenshot("replay-merged.png").await?;
        eprintln!("screenshot: {}", shot.display());

        // Files that are not one transfer: the page names the culprit.
        let servers_only: Vec<String> = server_traces.iter().map(|p| p.display().to_string()).collect();
        b.wait_for("#trace-file")
            .await?
            .send_keys(&servers_only.join("\n"))
            .await
            .map_err(|e| e.to_string())?;
        let err = b.wait_text("#error", Duration::from_secs(10), |t| t.contains("sender")).await?;
        assert!(err.contains("none of the files is the sender's"), "{err}");
        Ok::<(), String>(())
    };
    b.conclude("the browser test", Duration::from_secs(120), run).await;
}
