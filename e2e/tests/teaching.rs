//! Teaching mode in real headless Chromium: the in-browser simulation set up through its
//! controls and from a shared URL, checked against the same simulation run natively here;
//! packets dropped by clicking them in the diagram and by keyboard, followed by a timeout and
//! a retransmission to exactly that receiver; the trace export; a preset; the experiments tab.
//! And the determinism claim on a lossy, jittery run with burst link loss: the trace the wasm
//! simulator exports is the native simulator's, line for line.

mod common;

use common::{attr, click_canvas_at, fetch_download, finish_and_compare, native, num};
use fantoccini::Locator;
use p2mp_core::sim::{LinkConfig, SimConfig};
use p2mp_core::trace::EventKind;
use p2mp_core::view::TraceModel;
use p2mp_e2e::{browser_or_skip, dist_or_panic, simulated_trace, Browser, Chromedriver, StaticServer};
use p2mp_web::simulate::SimParams;
use std::collections::HashMap;
use std::time::Duration;

#[tokio::test]
async fn teaching_mode_controls_url_drops_exports_and_experiments() {
    let Some(driver_bin) = browser_or_skip("teaching_mode_controls_url_drops_exports_and_experiments") else {
        return;
    };
    let dist = dist_or_panic();
    let server = StaticServer::start(&dist, HashMap::new()).expect("static server");
    let driver = Chromedriver::start(&driver_bin).expect("chromedriver");
    let b = Browser::start(&driver, 1400, 1100).await.expect("headless chromium");

    let run = async {
        // 1. A scenario from a shared URL: restored into the controls and run.
        let q = "sim=1&n=4&p=0.15&size=8000&rto=60&seed=5";
        let (events, expected) = native(q, &[]);
        assert!(expected.retransmissions > 0, "the seed must give losses");
        b.open(&server.url(&format!("/?{q}"))).await?;
        b.wait_text("#source", Duration::from_secs(10), |t| t.starts_with("simulated")).await?;
        assert_eq!(b.value("#p-receivers").await?, "4");
        assert_eq!(b.value("#p-loss").await?, "0.15");
        finish_and_compare(&b, events.len(), &expected).await?;
        let rows =
            b.client.find_all(Locator::Css("#receivers [data-receiver]")).await.map_err(|e| e.to_string())?;
        assert_eq!(rows.len(), 4);
        let narration = b.text("#narration").await?;
        assert!(narration.contains("Transfer complete"), "{narration}");

        // 2. Parameters set through the controls: each change restarts and the URL follows.
        b.set_field("#p-receivers", "2").await?;
        b.set_field("#p-loss", "0.2").await?;
        b.set_field("#p-seed", "9").await?;
        b.click("#p-mode option[value='sr']").await?;
        b.wait_for("#p-window").await?;
        b.set_field("#p-window", "4").await?;
        // The page updates its address after it re-renders: poll for it rather than race it.
        let parts = ["n=2", "p=0.2", "seed=9", "mode=sr", "window=4", "rto=60"];
        let mut query = String::new();
        for _ in 0..50 {
            let url = b.client.current_url().await.map_err(|e| e.to_string())?;
            query = url.query().unwrap_or_default().to_string();
            if parts.iter().all(|part| query.split('&').any(|kv| kv == *part)) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for part in parts {
            assert!(query.split('&').any(|kv| kv == part), "{part} in {query}");
        }
        let (events, expected) = native(&query, &[]);
        finish_and_compare(&b, events.len(), &expected).await?;
        // Out-of-range input is clamped with a message, never a crash.
        b.set_field("#p-receivers", "99").await?;
        let msg = b.text("#param-errors").await?;
        assert!(msg.contains("out of range"), "{msg}");
        assert_eq!(b.value("#p-receivers").await?, "16");

        // 3. Teaching mode: start paused, drop DATA 0 to one server by clicking it in the
        //    diagram, and another by keyboard from the in-flight list.
        let q = "sim=1&n=3&p=0&size=3000&delay=20&rto=200&seed=1";
        b.open(&server.url(&format!("/?{q}&play=0"))).await?;
        b.wait_text("#in-flight-panel h3", Duration::from_secs(10), |t| t == "In flight (3)").await?;
        let first = b.wait_for("#in-flight button[data-down=true]").await?;
        let (tx, rx) = (attr(&first, "data-tx").await?, attr(&first, "data-rx").await?);
        let (x, y): (f64, f64) = (
            attr(&first, "data-x").await?.parse().map_err(|_| "data-x")?,
            attr(&first, "data-y").await?.parse().map_err(|_| "data-y")?,
        );
        click_canvas_at(&b, x, y).await?;
        let now =
            b.wait_text("#narration-now", Duration::from_secs(5), |t| t.contains("network lost")).await?;
        assert!(now.contains(&format!("segment 0 on its way to server {rx}")), "{now}");
        assert!(now.contains(&format!("resend it to server {rx} alone when its timer fires in")), "{now}");
        assert_eq!(
            b.text("#packet-details [data-field=tx]").await?,
            tx,
            "the clicked packet is the dropped one"
        );
        assert_eq!(num(&b.text("#drop-count").await?), 1);

        // The keyboard: focus another DATA in the list and press Enter.
        let second = b.wait_for(&format!("#in-flight button[data-down=true]:not([data-tx='{tx}'])")).await?;
        let (tx2, rx2) = (attr(&second, "data-tx").await?, attr(&second, "data-rx").await?);
        b.client
            .execute(
                &format!("document.querySelector(\"#in-flight button[data-tx='{tx2}']\").focus();"),
                vec![],
            )
            .await
            .map_err(|e| e.to_string())?;
        b.client
            .active_element()
            .await
            .map_err(|e| e.to_string())?
            .send_keys("\u{E007}")
            .await
            .map_err(|e| e.to_string())?;
        b.wait_text("#drop-count", Duration::from_secs(5), |t| num(t) == 2).await?;

        // Play at half speed (at 1x on a loaded machine the timeout's line can scroll out of
        // the narration panel between two polls): the timer fires and DATA 0 goes again to
        // exactly those two servers.
        b.click("#speed option[value='2']").await?;
        b.click("#play").await?;
        let history = b
            .wait_text("#narration", Duration::from_secs(20), |t| t.contains("Timeout: no ACK of segment 0"))
            .await?;
        let (a, z) = if rx < rx2 { (&rx, &rx2) } else { (&rx2, &rx) };
        assert!(
            history.contains(&format!("resends it to servers {a} and {z}"))
                || (history.contains(&format!("resends it to server {rx} alone"))
                    && history.contains(&format!("resends it to server {rx2} alone"))),
            "{history}"
        );
        let drops = [tx.parse().map_err(|_| "tx")?, tx2.parse().map_err(|_| "tx2")?];
        let (events, expected) = native(q, &drops);
        let retx: Vec<u16> = events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Send { retx: true, .. }))
            .filter_map(|e| e.rx)
            .collect();
        let mut want: Vec<u16> = vec![rx.parse().map_err(|_| "rx")?, rx2.parse().map_err(|_| "rx2")?];
        want.sort_unstable();
        let mut got = retx.clone();
        got.sort_unstable();
        assert_eq!(got, want, "natively, the retransmissions go to exactly the two receivers");
        finish_and_compare(&b, events.len(), &expected).await?;
        assert_eq!(num(&b.text("#retx-count").await?), 2);
        b.screenshot("teaching-drop.png").await?;

        // 4. Export the trace: it parses and matches the native run with the same drops.
        b.click("#export-jsonl").await?;
        let text = fetch_download(&b).await?;
        let model = TraceModel::from_jsonl(&text).map_err(|e| format!("export does not parse: {e}"))?;
        // Same seed, same parameters, same drops: the wasm simulator's trace is the native
        // one, event for event.
        assert_eq!(model.events, events, "the browser's trace differs from the native run");
        assert_eq!(model.summary(), &expected);

        // The diagram as SVG: a standalone document that the browser's XML parser accepts as
        // SVG, with the lanes and the flights of the visible window.
        b.click("#export-svg").await?;
        let name = b
            .client
            .execute("return document.getElementById('download-link').getAttribute('data-name');", vec![])
            .await
            .map_err(|e| e.to_string())?;
        assert_eq!(name.as_str(), Some("diagram.svg"));
        let svg = fetch_download(&b).await?;
        assert!(svg.starts_with("<?xml"), "{}", &svg[..svg.len().min(200)]);
        assert!(svg.trim_end().ends_with("</svg>"), "the SVG is complete");
        for part in [">Client</text>", ">Server 0</text>", ">Server 2</text>", "<line ", "<circle "] {
            assert!(svg.contains(part), "{part} in the SVG");
        }
        let parsed = b
            .client
            .execute(
                "const d = new DOMParser().parseFromString(arguments[0], 'image/svg+xml'); \
                 const r = d.documentElement; \
                 return [r.localName, r.namespaceURI, d.getElementsByTagName('parsererror').length, \
                         d.getElementsByTagName('line').length, r.getAttribute('width')];",
                vec![serde_json::Value::String(svg.clone())],
            )
            .await
            .map_err(|e| e.to_string())?;
        assert_eq!(parsed[0].as_str(), Some("svg"), "{parsed:?}");
        assert_eq!(parsed[1].as_str(), Some("http://www.w3.org/2000/svg"), "{parsed:?}");
        assert_eq!(parsed[2].as_u64(), Some(0), "no XML parse error: {parsed:?}");
        assert!(parsed[3].as_u64().unwrap_or(0) > 10, "lines drawn: {parsed:?}");
        std::fs::write(p2mp_e2e::artifacts_dir().join("teaching-diagram.svg"), &svg)
            .map_err(|e| e.to_string())?;

        // 5. A preset: one lost ACK, resent to that server alone.
        b.click("#preset-lost-ack").await?;
        b.wait_for("#preset-idea").await?;
        let url = b.client.current_url().await.map_err(|e| e.to_string())?;
        let query = url.query().unwrap_or_default().to_string();
        assert!(query.contains("preset=lost-ack"), "{query}");
        let (events, expected) = native(&query, &[]);
        finish_and_compare(&b, events.len(), &expected).await?;
        let history = b.text("#narration").await?;
        assert!(
            history.contains("The network lost server 1's ACK of segment 2") || expected.link_drops == 1,
            "{history}"
        );

        // 6. The experiments tab: a small sweep, plot and table, CSV download.
        b.click("#tab-experiments").await?;
        b.set_field("#exp-size", "20000").await?;
        b.set_field("#exp-runs", "2").await?;
        b.click("#exp-run").await?;
        b.wait_text("#exp-status", Duration::from_secs(30), |t| t.starts_with("Done")).await?;
        let rows = b.client.find_all(Locator::Css("#exp-table tbody tr")).await.map_err(|e| e.to_string())?;
        assert_eq!(rows.len(), 5, "task 1: n = 1..5");
        b.wait_for("#exp-plot svg").await?;
        b.click("#exp-csv").await?;
        let csv = fetch_download(&b).await?;
        assert_eq!(csv.lines().count(), 6, "{csv}");
        b.screenshot("teaching-experiments.png").await?;
        Ok::<(), String>(())
    };
    b.conclude("the teaching test", Duration::from_secs(150), run).await;
}

/// The lines of a JSON Lines text, each parsed to a JSON value (blank lines skipped).
fn json_lines(text: &str) -> Result<Vec<serde_json::Value>, String> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}: {l}", i + 1)))
        .collect()
}

#[tokio::test]
async fn lossy_jittery_bursty_run_exports_the_native_trace_bit_for_bit() {
    // The receivers' loss service at p = 0.2, 3 ms of jitter, Gilbert-Elliott bursts on every
    // link (5 % long-run loss, bursts of 3 datagrams on average) behind a 5 Mb/s limit; four
    // receivers, a 6 kB file, a fixed seed.
    let q = "sim=1&n=4&p=0.2&size=6000&mss=500&jitter=3&linkloss=burst&lp=0.05&burst=3&bw=5&rto=60&maxto=50&seed=12";
    let (params, errors) = SimParams::from_query(q);
    assert!(errors.is_empty(), "{errors:?}");
    let cfg = params.config().expect("config");
    let native_text = simulated_trace(cfg.clone()).expect("native simulation");
    let native_lines = json_lines(&native_text).expect("the native trace parses");
    let native_model = TraceModel::from_jsonl(&native_text).expect("the native trace reads back");
    let expected = native_model.summary().clone();
    // The scenario exercises what it claims to: both kinds of loss happen, the jitter moves
    // events, and the page's driver (stepwise, as the page runs it) agrees with one native run.
    assert!(expected.loss_drops > 0 && expected.link_drops > 0, "{expected:?}");
    assert!(expected.retransmissions > 0 && expected.timeouts > 0, "{expected:?}");
    let still = SimConfig { link: LinkConfig { jitter: Duration::ZERO, ..cfg.link }, ..cfg.clone() };
    let still = TraceModel::from_jsonl(&simulated_trace(still).expect("native")).expect("reads back");
    assert_ne!(still.events, native_model.events, "the jitter changes the events");
    let (driver_events, _) = native(q, &[]);
    assert_eq!(driver_events, native_model.events, "the page's driver and a plain run agree natively");

    let Some(driver_bin) = browser_or_skip("lossy_jittery_bursty_run_exports_the_native_trace_bit_for_bit")
    else {
        return;
    };
    let dist = dist_or_panic();
    let server = StaticServer::start(&dist, HashMap::new()).expect("static server");
    let driver = Chromedriver::start(&driver_bin).expect("chromedriver");
    let b = Browser::start(&driver, 1400, 1100).await.expect("headless chromium");
    let run = async {
        b.open(&server.url(&format!("/?{q}"))).await?;
        b.wait_text("#source", Duration::from_secs(10), |t| t.starts_with("simulated")).await?;
        assert_eq!(b.value("#p-receivers").await?, "4");
        assert_eq!(b.value("#p-loss").await?, "0.2");
        finish_and_compare(&b, native_model.events.len(), &expected).await?;
        b.click("#export-jsonl").await?;
        let text = fetch_download(&b).await?;
        let wasm_lines = json_lines(&text).map_err(|e| format!("the export does not parse: {e}"))?;
        // The header (schema and the simulation's parameters) first, then every event.
        assert_eq!(wasm_lines.first(), native_lines.first(), "headers differ");
        for (i, (got, want)) in wasm_lines.iter().zip(&native_lines).enumerate().skip(1) {
            assert_eq!(got, want, "event {i} of the wasm trace differs from the native one");
        }
        assert_eq!(wasm_lines.len(), native_lines.len(), "the traces have different lengths");
        Ok::<(), String>(())
    };
    b.conclude("the determinism test", Duration::from_secs(90), run).await;
}
