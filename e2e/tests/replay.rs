//! Replay mode in real headless Chromium: load a recorded (simulated, lossy) trace by URL, step
//! forward and back, play to the end, and check what the page shows against the trace itself.

use p2mp_core::sim::{LinkConfig, LossModel, SimConfig};
use p2mp_core::view::TraceModel;
use p2mp_e2e::{browser_or_skip, dist_or_panic, simulated_trace, Browser, Chromedriver, StaticServer};
use std::collections::HashMap;
use std::time::Duration;

fn first_number(text: &str) -> u64 {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn replay_a_lossy_trace_step_and_play_to_the_end() {
    let Some(driver_bin) = browser_or_skip("replay_a_lossy_trace_step_and_play_to_the_end") else {
        return;
    };
    let dist = dist_or_panic();

    // A short lossy transfer: loss-service drops, a network loss, timeouts, retransmissions.
    let cfg = SimConfig {
        file_size: 12_000,
        mss: 500,
        receivers: 3,
        loss: 0.12,
        seed: 7,
        link: LinkConfig { loss: LossModel::Bernoulli { p: 0.03 }, ..LinkConfig::default() },
        ..SimConfig::default()
    };
    let trace = simulated_trace(cfg).expect("simulate");
    let model = TraceModel::from_jsonl(&trace).expect("the simulator's trace parses");
    let expected = model.summary().clone();
    let events = model.events.len();
    assert!(expected.loss_drops + expected.link_drops > 0, "the seed must give drops");
    assert!(expected.retransmissions > 0, "the seed must give retransmissions");
    assert!(expected.end.is_some());

    let files = HashMap::from([("/trace.jsonl".to_string(), trace.into_bytes())]);
    let server = StaticServer::start(&dist, files).expect("static server");
    let driver = Chromedriver::start(&driver_bin).expect("chromedriver");
    let b = Browser::start(&driver, 1400, 1000).await.expect("headless chromium");

    let run = async {
        // No hub here: `live=0` keeps the page from trying the WebSocket.
        b.open(&server.url("/?live=0")).await?;
        b.wait_for("#trace-url")
            .await?
            .send_keys(&server.url("/trace.jsonl"))
            .await
            .map_err(|e| e.to_string())?;
        b.click("#load-url").await?;
        let count =
            b.wait_text("#event-count", Duration::from_secs(20), |t| t == format!("0 / {events}")).await?;
        assert_eq!(count, format!("0 / {events}"));
        assert!(b.text("#source").await?.starts_with("replay"));

        // Step forward three events and back one.
        for _ in 0..3 {
            b.click("#step-forward").await?;
        }
        b.wait_text("#cursor", Duration::from_secs(5), |t| t.starts_with("event 3 /")).await?;
        b.click("#step-back").await?;
        b.wait_text("#cursor", Duration::from_secs(5), |t| t.starts_with("event 2 /")).await?;
        // The second event is the first DATA send: stepping selected it.
        let kind = b.text("#packet-details [data-field=kind]").await?;
        assert_eq!(kind, "DATA");
        let receivers = b.client.find_all(fantoccini::Locator::Css("#receivers [data-receiver]")).await;
        assert_eq!(receivers.map_err(|e| e.to_string())?.len(), 3, "one row per receiver");

        // Keyboard: → steps forward.
        b.wait_for("body").await?.send_keys("\u{E014}").await.map_err(|e| e.to_string())?;
        b.wait_text("#cursor", Duration::from_secs(5), |t| t.starts_with("event 3 /")).await?;

        // Play to the end as fast as possible.
        b.click("#speed option[value='13']").await?;
        b.click("#play").await?;
        let status = b.wait_text("#status", Duration::from_secs(60), |t| t.contains("complete")).await?;
        assert!(status.contains("complete"), "{status}");
        assert_eq!(b.text("#event-count").await?, format!("{events} / {events}"));
        let drops = first_number(&b.text("#drop-count").await?);
        let retx = first_number(&b.text("#retx-count").await?);
        assert_eq!(drops, expected.loss_drops + expected.link_drops);
        assert_eq!(retx, expected.retransmissions);
        assert!(drops >= 1 && retx >= 1);
        let finished =
            b.client.find_all(fantoccini::Locator::Css("#receivers [data-outcome=finished]")).await;
        assert_eq!(finished.map_err(|e| e.to_string())?.len(), 3, "every receiver finished");
        let shot = b.screenshot("replay-complete.png").await?;
        eprintln!("screenshot: {}", shot.display());

        // Back to the first retransmission's time with the scrubber: the diagram mid-transfer.
        let retx_t = model.flights.iter().find(|f| f.retx).map(|f| f.sent.total_micros()).unwrap_or_default();
        let (t0, t1) = (model.events[0].t.total_micros(), model.events[events - 1].t.total_micros());
        let pos = ((retx_t + 30_000 - t0) as f64 / (t1 - t0) as f64 * 10_000.0) as u64;
        b.client
            .execute(
                "const s = document.getElementById('scrubber'); s.value = arguments[0]; \
                 s.dispatchEvent(new Event('input', { bubbles: true }));",
                vec![serde_json::json!(pos.to_string())],
            )
            .await
            .map_err(|e| e.to_string())?;
        b.wait_text("#cursor", Duration::from_secs(5), |t| !t.starts_with(&format!("event {events} ")))
            .await?;
        let shot = b.screenshot("replay-mid.png").await?;
        eprintln!("screenshot: {}", shot.display());

        // A plain static host has no hub: "Run another transfer" says so.
        b.click("#again").await?;
        let err = b.text("#again-error").await?;
        assert!(err.contains("did not start a transfer"), "{err}");

        // The simulate slot feeds the same views (it plays at the speed chosen above).
        b.click("#simulate").await?;
        b.wait_text("#source", Duration::from_secs(10), |t| t.starts_with("simulated")).await?;
        let status = b.wait_text("#status", Duration::from_secs(60), |t| t.contains("complete")).await?;
        assert!(status.contains("3 finished"), "{status}");
        Ok::<(), String>(())
    };
    b.conclude("the browser test", Duration::from_secs(120), run).await;
}
