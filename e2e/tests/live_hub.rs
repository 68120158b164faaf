//! Live mode in real headless Chromium against the real hub (`p2mp_native::hub`, what
//! `p2mp ui` serves): the page comes from the hub, a real loopback transfer with loss
//! (3 servers, p = 0.1) publishes to it over WebSocket, and the DOM must show it live to the
//! end. Saves `artifacts/live-hub-complete.png`.

use p2mp_core::{Dialect, RtoPolicy, SenderConfig};
use p2mp_e2e::{browser_or_skip, dist_or_panic, Browser, Chromedriver};
use p2mp_native::hub::{Hub, HubConfig};
use p2mp_native::loopback::{files_equal, run_loopback_traced, write_random_file, LoopbackSpec};
use p2mp_native::publish::PublishTarget;
use p2mp_native::Console;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_view_of_a_real_lossy_transfer_through_the_hub() {
    let Some(driver_bin) = browser_or_skip("live_view_of_a_real_lossy_transfer_through_the_hub") else {
        return;
    };
    let dist = dist_or_panic();
    let mut cfg = HubConfig::new("127.0.0.1:0".parse().expect("addr"));
    cfg.dist = Some(dist);
    cfg.quiet = true;
    let hub = Hub::bind(cfg, None).await.expect("hub");
    let page = hub.url();
    let publish = PublishTarget::WebSocket(hub.publish_url());
    let (_handle, _, _serving) = hub.spawn();
    let driver = Chromedriver::start(&driver_bin).expect("chromedriver");
    let b = Browser::start(&driver, 1400, 1300).await.expect("headless chromium");

    let run = async {
        // The page connects to its own origin's /ws/view before the transfer starts.
        b.open(&page).await?;
        b.wait_text("#live-status", Duration::from_secs(30), |t| t == "connected").await?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let input = dir.path().join("input.bin");
        write_random_file(&input, 40_000, 21).map_err(|e| e.to_string())?;
        let spec = LoopbackSpec {
            n: 3,
            port: 0,
            loss: 0.1,
            seed: 21,
            sender: SenderConfig {
                mss: 500,
                dialect: Dialect::Binary,
                policy: RtoPolicy::Fixed { timeout: Duration::from_millis(100) },
                max_timeouts: 20,
                ..SenderConfig::default()
            },
            linger: Duration::from_millis(300),
            idle_timeout: Some(Duration::from_secs(20)),
        };
        let out = run_loopback_traced(
            &spec,
            &input,
            dir.path(),
            |_, _| Console::quiet(),
            Console::quiet(),
            Some(&publish),
        )
        .await
        .map_err(|e| format!("transfer: {e}"))?;
        for o in &out.outputs {
            assert!(files_equal(&input, o).map_err(|e| e.to_string())?, "{} differs", o.display());
        }
        let retx_real = out.client.totals.retransmissions;
        let status = b.wait_text("#status", Duration::from_secs(30), |t| t.contains("complete")).await?;
        assert!(status.contains("3 finished"), "{status}");
        assert_eq!(b.text("#live-status").await?, "connected");
        let rows = b.client.find_all(fantoccini::Locator::Css("#receivers [data-receiver]")).await;
        assert_eq!(rows.map_err(|e| e.to_string())?.len(), 3, "three receivers listed");
        let count = b.text("#event-count").await?;
        let (shown, total) = count.split_once(" / ").ok_or(format!("event count {count:?}"))?;
        assert!(total.parse::<u64>().map_err(|e| format!("{count}: {e}"))? > 100, "{count}");
        assert!(!shown.is_empty());
        let drops: u64 = b.text("#drop-count").await?.parse().map_err(|e| format!("drops: {e}"))?;
        let retx: u64 = b.text("#retx-count").await?.parse().map_err(|e| format!("retx: {e}"))?;
        assert!(drops > 0, "at least one drop shown");
        assert!(retx > 0, "at least one retransmission shown");
        assert_eq!(retx, retx_real, "the page counts the client's retransmissions");
        let shot = b.screenshot("live-hub-complete.png").await?;
        eprintln!("screenshot: {}", shot.display());
        // Not a demo's hub: "Run another transfer" says so instead of failing silently.
        b.click("#again").await?;
        b.wait_for("#again-error").await?;
        Ok::<(), String>(())
    };
    b.conclude("the browser test", Duration::from_secs(120), run).await;
}
