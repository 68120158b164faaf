//! A 10 MB, 5-receiver transfer (about 660,000 events) replayed in headless Chromium: how long
//! the load takes and how many frames per second the diagram keeps while playing. Slow, so
//! ignored by default: `cargo test -p p2mp-e2e --release --test big_trace -- --ignored --nocapture`.

use p2mp_core::sim::SimConfig;
use p2mp_e2e::{browser_or_skip, dist_dir, simulated_trace, Browser, Chromedriver, StaticServer};
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[tokio::test]
#[ignore = "a measurement, about a minute"]
async fn ten_megabytes_five_receivers_replays_smoothly() {
    let Some(driver_bin) = browser_or_skip("ten_megabytes_five_receivers_replays_smoothly") else {
        return;
    };
    let dist = dist_dir().expect("dist/ (cargo xtask web)");
    let cfg = SimConfig { file_size: 10_000_000, receivers: 5, loss: 0.05, seed: 1, ..SimConfig::default() };
    let trace = simulated_trace(cfg).expect("simulate");
    let lines = trace.lines().count() - 1;
    eprintln!("trace: {} MB, {lines} events", trace.len() / 1_000_000);
    let files = HashMap::from([("/big.jsonl".to_string(), trace.into_bytes())]);
    let server = StaticServer::start(&dist, files).expect("server");
    let driver = Chromedriver::start(&driver_bin).expect("chromedriver");
    let b = Browser::start(&driver, 1400, 1000).await.expect("chromium");
    let run = async {
        let start = Instant::now();
        b.open(&server.url("/?live=0&trace=/big.jsonl")).await?;
        b.wait_text("#event-count", Duration::from_secs(120), |t| t == format!("0 / {lines}")).await?;
        eprintln!("loaded in {:.1} s (fetch, parse, pair, index)", start.elapsed().as_secs_f64());
        // Play at 100x (about 500 s of the transfer) for a few seconds and count animation frames.
        b.click("#speed option[value='9']").await?;
        b.client
            .execute(
                "window.__frames = 0; const f = () => { window.__frames++; requestAnimationFrame(f); }; \
                 requestAnimationFrame(f);",
                vec![],
            )
            .await
            .map_err(|e| e.to_string())?;
        b.click("#play").await?;
        let t = Instant::now();
        tokio::time::sleep(Duration::from_secs(5)).await;
        let frames = b.client.execute("return window.__frames;", vec![]).await.map_err(|e| e.to_string())?;
        let fps = frames.as_f64().unwrap_or(0.0) / t.elapsed().as_secs_f64();
        eprintln!("playing at 100x: {fps:.0} frames/s; {}", b.text("#cursor").await?);
        b.screenshot("big-trace.png").await?;
        Ok::<(), String>(())
    };
    b.conclude("the browser test", Duration::from_secs(240), run).await;
}
