//! The compare view in real headless Chromium: a lossy scenario opened from a shared URL runs
//! under stop-and-wait, go-back-N and selective repeat side by side on one clock; selective
//! repeat finishes while stop-and-wait is still going; the table's numbers equal the core
//! simulator's own results for the same parameters and seed, computed here natively; keys
//! drive the shared clock; the URL follows the controls; the preset opens it.

use fantoccini::Locator;
use p2mp_core::sim::{SimConfig, Simulation};
use p2mp_core::trace::{EventKind, Node};
use p2mp_core::window::Mode;
use p2mp_core::PacketKind;
use p2mp_e2e::{artifacts_dir, browser_or_skip, dist_or_panic, Browser, Chromedriver, StaticServer};
use p2mp_web::simulate::SimParams;
use std::collections::HashMap;
use std::time::Duration;

/// What the table must show for one scheme, from a plain native run of the core simulator.
#[derive(Debug, PartialEq)]
struct Expected {
    scheme: &'static str,
    delay: u64,
    goodput: u64,
    data: u64,
    retransmissions: u64,
    timeouts: u64,
    acks: u64,
    finished: u64,
}

/// The scenario a query string describes, run natively under each scheme.
fn native(query: &str) -> Vec<Expected> {
    let (p, errors) = SimParams::from_query(query);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(p.compare, "a compare scenario");
    let w = p.compare_window;
    let base: SimConfig = p.config().expect("config");
    [
        ("saw", Mode::StopAndWait),
        ("gbn", Mode::GoBackN { window: w }),
        ("sr", Mode::SelectiveRepeat { window: w }),
    ]
    .into_iter()
    .map(|(scheme, mode)| {
        let mut sim = Simulation::new(SimConfig { mode, ..base.clone() }).expect("simulation");
        let r = sim.run();
        // The table counts the datagrams sent up to the transfer's end.
        let end = sim
            .trace()
            .iter()
            .position(|e| matches!(e.kind, EventKind::TransferEnd { .. }))
            .expect("the transfer ends");
        let sends = |kind: PacketKind, client: bool| {
            sim.trace()[..end]
                .iter()
                .filter(|e| matches!(e.kind, EventKind::Send { packet, .. } if packet == kind))
                .filter(|e| (e.node == Node::Client) == client)
                .count() as u64
        };
        let t = &r.totals;
        Expected {
            scheme,
            delay: t.delay_micros,
            goodput: (u128::from(t.bytes) * 8_000_000 / u128::from(t.delay_micros.max(1))) as u64,
            data: sends(PacketKind::Data, true),
            retransmissions: t.retransmissions,
            timeouts: t.timeouts,
            acks: sends(PacketKind::Ack, false),
            finished: u64::from(t.finished),
        }
    })
    .collect()
}

async fn cell(b: &Browser, scheme: &str, field: &str) -> Result<u64, String> {
    let css = format!("#compare-table tr[data-scheme={scheme}] td[data-field={field}]");
    let el = b.wait_for(&css).await?;
    let v = el.attr("data-value").await.map_err(|e| e.to_string())?.unwrap_or_default();
    v.parse().map_err(|_| format!("{css}: data-value {v:?}"))
}

async fn row_done(b: &Browser, scheme: &str) -> Result<bool, String> {
    let el = b.wait_for(&format!("#compare-table tr[data-scheme={scheme}]")).await?;
    Ok(el.attr("data-done").await.map_err(|e| e.to_string())?.as_deref() == Some("true"))
}

async fn wait_done(b: &Browser, scheme: &str, timeout: Duration) -> Result<(), String> {
    let start = std::time::Instant::now();
    while !row_done(b, scheme).await? {
        if start.elapsed() > timeout {
            return Err(format!("the {scheme} row did not fill in within {timeout:?}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

async fn query(b: &Browser) -> Result<String, String> {
    let url = b.client.current_url().await.map_err(|e| e.to_string())?;
    Ok(url.query().unwrap_or_default().to_string())
}

/// Presses `key` with the focus on the page itself (not in a form control).
async fn press(b: &Browser, key: &str) -> Result<(), String> {
    b.client
        .execute("document.activeElement && document.activeElement.blur();", vec![])
        .await
        .map_err(|e| e.to_string())?;
    b.client
        .active_element()
        .await
        .map_err(|e| e.to_string())?
        .send_keys(key)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn compare_view_runs_three_schemes_on_one_clock_and_matches_the_core() {
    let Some(driver_bin) =
        browser_or_skip("compare_view_runs_three_schemes_on_one_clock_and_matches_the_core")
    else {
        return;
    };
    let dist = dist_or_panic();
    let server = StaticServer::start(&dist, HashMap::new()).expect("static server");
    let driver = Chromedriver::start(&driver_bin).expect("chromedriver");
    let b = Browser::start(&driver, 1400, 1900).await.expect("headless chromium");

    let run = async {
        // 1. A lossy scenario from a shared URL (`play=0`: waiting at time zero): three stacked
        //    panels, titled, with counters.
        let q = "compare=1&n=3&p=0.1&size=20000&rto=60&seed=1";
        let expected = native(q);
        let (saw, sr) = (&expected[0], &expected[2]);
        assert!(sr.delay < saw.delay, "natively, selective repeat is faster: {expected:?}");
        assert!(saw.retransmissions > 0 && sr.retransmissions > 0, "the seed must give losses");
        b.open(&server.url(&format!("/?{q}&play=0"))).await?;
        b.wait_for("#compare").await?;
        let panels = b
            .client
            .find_all(Locator::Css("#compare .compare-panel canvas"))
            .await
            .map_err(|e| e.to_string())?;
        assert_eq!(panels.len(), 3, "one diagram per scheme");
        for (id, title) in [
            ("#compare-saw .scheme", "Stop-and-wait"),
            ("#compare-gbn .scheme", "Go-back-N, window 8"),
            ("#compare-sr .scheme", "Selective repeat, window 8"),
        ] {
            assert_eq!(b.text(id).await?, title);
        }
        let held = b.text("#compare-held").await?;
        assert!(held.contains("Held equal") && held.contains("seed"), "{held}");
        let checked = b.wait_for("#p-compare").await?.prop("checked").await.map_err(|e| e.to_string())?;
        assert_eq!(checked.as_deref(), Some("true"));
        assert!(b.client.find(Locator::Css("#ladder")).await.is_err(), "the single diagram is replaced");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(b.text("#cmp-play").await?.contains("Play"), "paused");
        let clock = b.text("#cmp-clock").await?;
        assert!(clock.starts_with("t = 0 µs"), "{clock}");

        // 2. One clock, at half speed: selective repeat finishes while stop-and-wait is still
        //    early.
        b.click("#cmp-speed option[value='2']").await?;
        b.click("#cmp-play").await?;
        wait_done(&b, "sr", Duration::from_secs(20)).await?;
        b.click("#cmp-play").await?;
        assert!(!row_done(&b, "saw").await?, "stop-and-wait cannot be over when selective repeat just is");
        let sr_counter = b.text("#compare-sr .counter").await?;
        assert!(sr_counter.starts_with("done in"), "{sr_counter}");
        let saw_counter = b.text("#compare-saw .counter").await?;
        assert!(saw_counter.contains("segments"), "{saw_counter}");
        b.screenshot("compare-midway.png").await?;
        let section = b.wait_for("#compare").await?;
        let png = section.screenshot().await.map_err(|e| e.to_string())?;
        std::fs::write(artifacts_dir().join("compare-midway-view.png"), png).map_err(|e| e.to_string())?;

        // 3. Full speed to the end: the table is the core's own result, number for number.
        b.click("#cmp-speed option[value='13']").await?;
        b.click("#cmp-play").await?;
        for scheme in ["saw", "gbn", "sr"] {
            wait_done(&b, scheme, Duration::from_secs(30)).await?;
        }
        for e in &expected {
            let got = Expected {
                scheme: e.scheme,
                delay: cell(&b, e.scheme, "delay").await?,
                goodput: cell(&b, e.scheme, "goodput").await?,
                data: cell(&b, e.scheme, "data").await?,
                retransmissions: cell(&b, e.scheme, "retransmissions").await?,
                timeouts: cell(&b, e.scheme, "timeouts").await?,
                acks: cell(&b, e.scheme, "acks").await?,
                finished: cell(&b, e.scheme, "finished").await?,
            };
            assert_eq!(&got, e, "the table's {} row", e.scheme);
            // The visible text is the same number.
            let text =
                b.text(&format!("#compare-table tr[data-scheme={}] td[data-field=data]", e.scheme)).await?;
            assert_eq!(text, e.data.to_string());
        }
        assert!(cell(&b, "sr", "delay").await? < cell(&b, "saw", "delay").await?);
        let speedup = b.text("#compare-table tr[data-scheme=sr] td[data-field=speedup]").await?;
        assert!(speedup.ends_with("× faster"), "{speedup}");
        let clock = b.text("#cmp-clock").await?;
        b.screenshot("compare.png").await?;
        let section = b.wait_for("#compare").await?;
        let png = section.screenshot().await.map_err(|e| e.to_string())?;
        std::fs::write(artifacts_dir().join("compare-view.png"), png).map_err(|e| e.to_string())?;

        // 4. Keys move the shared clock: a step back; on a fresh run at 1x, Space pauses all
        //    three and plays them again.
        press(&b, "\u{E012}").await?;
        let back = b.wait_text("#cmp-clock", Duration::from_secs(5), |t| t != clock).await?;
        assert!(back.starts_with("t = "), "{back}");
        b.click("#cmp-speed option[value='3']").await?;
        b.click("#simulate").await?;
        b.wait_text("#cmp-play", Duration::from_secs(5), |t| t.contains("Pause")).await?;
        press(&b, " ").await?;
        b.wait_text("#cmp-play", Duration::from_secs(5), |t| t.contains("Play")).await?;
        let paused = b.text("#cmp-clock").await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(b.text("#cmp-clock").await?, paused, "paused: the clock stands still");
        press(&b, " ").await?;
        b.wait_text("#cmp-play", Duration::from_secs(5), |t| t.contains("Pause")).await?;
        b.wait_text("#cmp-clock", Duration::from_secs(5), |t| t != paused).await?;

        // 5. The URL follows the controls: another window restarts all three with it.
        b.set_field("#p-compare-window", "4").await?;
        b.wait_text("#compare-sr .scheme", Duration::from_secs(5), |t| t == "Selective repeat, window 4")
            .await?;
        let qs = query(&b).await?;
        for part in ["compare=1", "cw=4", "p=0.1", "rto=60"] {
            assert!(qs.split('&').any(|kv| kv == part), "{part} in {qs}");
        }
        // Off: back to the single diagram.
        b.click("#p-compare").await?;
        b.wait_for("#ladder").await?;
        assert!(!query(&b).await?.contains("compare=1"));
        assert!(b.client.find(Locator::Css("#compare")).await.is_err());

        // 6. The preset opens the comparison.
        b.click("#preset-compare").await?;
        b.wait_for("#compare").await?;
        let qs = query(&b).await?;
        assert!(qs.contains("preset=compare") && qs.contains("compare=1"), "{qs}");
        b.wait_for("#preset-idea").await?;
        Ok::<(), String>(())
    };
    b.conclude("the compare test", Duration::from_secs(150), run).await;
}
