//! Live mode in real headless Chromium against a stand-in for the hub's viewer endpoint (the
//! page's own origin, `/ws/view`), streaming a lossy simulated transfer in many messages.
//!
//! `live_hub.rs` makes the same checks against the real hub with a real loopback transfer.

use p2mp_core::sim::{LinkConfig, LossModel, SimConfig};
use p2mp_core::view::TraceModel;
use p2mp_e2e::{browser_or_skip, dist_or_panic, simulated_trace, Browser, Chromedriver, Hub, StaticServer};
use std::collections::HashMap;
use std::time::Duration;

#[tokio::test]
async fn live_view_follows_a_streamed_transfer_to_completion() {
    let Some(driver_bin) = browser_or_skip("live_view_follows_a_streamed_transfer_to_completion") else {
        return;
    };
    let dist = dist_or_panic();
    let cfg = SimConfig {
        file_size: 6_000,
        receivers: 4,
        loss: 0.15,
        seed: 11,
        link: LinkConfig { loss: LossModel::Bernoulli { p: 0.03 }, ..LinkConfig::default() },
        ..SimConfig::default()
    };
    let trace = simulated_trace(cfg).expect("simulate");
    let model = TraceModel::from_jsonl(&trace).expect("parse");
    let events = model.events.len();
    let s = model.summary();
    assert!(s.retransmissions > 0 && s.loss_drops + s.link_drops > 0, "the seed must give losses");
    // A junk line in the stream is counted and skipped.
    let streamed = trace.replacen('\n', "\nthis is not json\n", 1);
    let hub = Hub { live_trace: Some(streamed), lines_per_message: 25, gap: Duration::from_millis(5) };
    let server = StaticServer::start_with_hub(&dist, HashMap::new(), hub).expect("server");
    let driver = Chromedriver::start(&driver_bin).expect("chromedriver");
    let b = Browser::start(&driver, 1280, 900).await.expect("headless chromium");

    let run = async {
        // The default live URL is the page's own origin.
        b.open(&server.url("/")).await?;
        let status = b.wait_text("#status", Duration::from_secs(30), |t| t.contains("complete")).await?;
        assert!(status.contains("4 finished"), "{status}");
        assert_eq!(b.text("#event-count").await?, format!("{events} / {events}"));
        assert_eq!(b.text("#live-status").await?, "connected");
        assert!(b.text("#source").await?.starts_with("live · ws://127.0.0.1:"));
        let bad: u64 = b.text("#bad-lines").await?.parse().map_err(|e| format!("bad lines: {e}"))?;
        assert_eq!(bad, 1, "the junk line is counted");
        let rows = b.client.find_all(fantoccini::Locator::Css("#receivers [data-receiver]")).await;
        assert_eq!(rows.map_err(|e| e.to_string())?.len(), 4);
        let drops: u64 = b.text("#drop-count").await?.parse().map_err(|e| format!("drops: {e}"))?;
        let retx: u64 = b.text("#retx-count").await?.parse().map_err(|e| format!("retx: {e}"))?;
        assert_eq!((drops, retx), (s.loss_drops + s.link_drops, s.retransmissions));
        // "Run another transfer" asks the hub (here it answers 200).
        b.click("#again").await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(b.client.find(fantoccini::Locator::Css("#again-error")).await.is_err());
        let shot = b.screenshot("live-complete.png").await?;
        eprintln!("screenshot: {}", shot.display());
        Ok::<(), String>(())
    };
    b.conclude("the browser test", Duration::from_secs(90), run).await;
}
