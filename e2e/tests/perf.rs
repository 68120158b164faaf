//! Performance of the in-browser simulation, measured in real headless Chromium. A
//! measurement, not a check, so ignored by default; one test at a time (two browsers at once
//! would measure each other):
//!
//! ```text
//! cargo xtask web && cargo test -p p2mp-e2e --test perf -- --ignored --nocapture --test-threads=1
//! ```
//!
//! `in_browser_simulation_performance` prints: the wasm size (raw and gzip -9), the page load
//! time from a local static server (navigation start to the app's first render), the
//! animation's frames per second with 16 receivers and several hundred packets on screen
//! (requestAnimationFrame counted in the page, with the page's own main-thread work per
//! frame), and the time to compute a 10 MB, n = 5 simulation with its full trace in the page
//! (the "Compute to the end" button reports it).
//!
//! `experiments_sweep_main_thread` runs the classic Task 1 sweep (10 MB, n = 1..5, 5 runs a
//! point) in the experiments tab and reports the longest main-thread block while it runs
//! (PerformanceObserver 'longtask', the largest gap between 10 ms timer callbacks, and the
//! tab's own `__expChunkMs` / `__expMaxChunkMs` / `__expChunks` hooks).

use p2mp_e2e::{browser_or_skip, dist_dir, Browser, Chromedriver, StaticServer};
use std::collections::HashMap;
use std::time::{Duration, Instant};

fn wasm_sizes(dist: &std::path::Path) -> Option<(u64, u64)> {
    let wasm = std::fs::read_dir(dist)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "wasm"))?;
    let raw = std::fs::metadata(&wasm).ok()?.len();
    let gz = std::process::Command::new("gzip").arg("-9c").arg(&wasm).output().ok()?;
    Some((raw, gz.stdout.len() as u64))
}

/// Counts animation frames for `secs` seconds in the page, with what each frame costs the
/// page's main thread: from the start of the frame's requestAnimationFrame callbacks to a
/// message posted then, which runs once the frame's script, Yew renders, style, layout and
/// paint are done (rasterisation and compositing happen off the main thread).
async fn count_frames(b: &Browser, secs: u64) -> Result<f64, String> {
    b.client
        .execute(
            "window.__frames = 0; window.__worst = 0; window.__busy = 0; window.__worstBusy = 0; \
             window.__loopJs = 0; window.__renders0 = window.__renders || 0; \
             let last = performance.now(), start = 0; const ch = new MessageChannel(); \
             ch.port1.onmessage = () => { const b = performance.now() - start; window.__busy += b; \
               window.__worstBusy = Math.max(window.__worstBusy, b); }; \
             window.__cmpJs = 0; \
             const f = (t) => { window.__frames++; window.__worst = Math.max(window.__worst, t - last); last = t; \
               start = performance.now(); window.__loopJs += window.__frameMs || 0; \
               window.__cmpJs += window.__cmpFrameMs || 0; ch.port2.postMessage(0); \
               requestAnimationFrame(f); }; requestAnimationFrame(f);",
            vec![],
        )
        .await
        .map_err(|e| e.to_string())?;
    let t = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let v = b
        .client
        .execute(
            "return [window.__frames, window.__worst, window.__busy, window.__worstBusy, window.__loopJs, \
                     (window.__renders || 0) - window.__renders0, window.__drawMs || 0, window.__simMs || 0, \
                     window.__wireMs || 0, window.__narrateMs || 0, window.__liveStrokes || 0, \
                     window.__cmpJs, window.__cmpDrawMs || 0, window.__cmpSimMs || 0];",
            vec![],
        )
        .await
        .map_err(|e| e.to_string())?;
    let secs = t.elapsed().as_secs_f64();
    let f = |i: usize| v[i].as_f64().unwrap_or(0.0);
    let frames = f(0).max(1.0);
    eprintln!(
        "    page's main thread per frame: {:.1} ms on average, {:.0} ms at worst (animation loop's \
         own script {:.1} ms: simulate, tick, paint); panel renders {:.1}/s; worst frame gap {:.0} ms; \
         last paint {:.1} ms with {:.0} strokes drawn live, simulate {:.1} ms, in-flight list {:.1} ms, narration {:.1} ms",
        f(2) / frames,
        f(3),
        f(4) / frames,
        f(5) / secs,
        f(1),
        f(6),
        f(10),
        f(7),
        f(8),
        f(9)
    );
    if f(11) > 0.0 {
        eprintln!(
            "    compare view's own loop per frame: {:.1} ms on average (last: paint of the three panels {:.1} ms, \
             simulate {:.1} ms)",
            f(11) / frames,
            f(12),
            f(13)
        );
    }
    Ok(f(0) / secs)
}

#[tokio::test]
#[ignore = "a measurement, about half a minute"]
async fn in_browser_simulation_performance() {
    let Some(driver_bin) = browser_or_skip("in_browser_simulation_performance") else {
        return;
    };
    let dist = dist_dir().expect("dist/ (cargo xtask web)");
    if let Some((raw, gz)) = wasm_sizes(&dist) {
        eprintln!("wasm: {} KiB raw, {} KiB gzip -9", raw / 1024, gz / 1024);
    }
    let server = StaticServer::start(&dist, HashMap::new()).expect("server");
    let driver = Chromedriver::start(&driver_bin).expect("chromedriver");
    let b = Browser::start(&driver, 1400, 1000).await.expect("chromium");
    let run = async {
        // Page load: navigation start to the app's first render (wasm fetched, compiled, run).
        for round in 0..3 {
            b.open(&server.url("/?live=0")).await?;
            b.wait_for("#status").await?;
            let ms = b
                .client
                .execute(
                    "const n = performance.getEntriesByType('navigation')[0]; \
                     return [performance.now(), n ? n.loadEventEnd : -1, n ? n.domContentLoadedEventEnd : -1];",
                    vec![],
                )
                .await
                .map_err(|e| e.to_string())?;
            eprintln!(
                "page load #{round}: app rendered by {:.0} ms (load event {:.0} ms, DOMContentLoaded {:.0} ms)",
                ms[0].as_f64().unwrap_or(0.0),
                ms[1].as_f64().unwrap_or(0.0),
                ms[2].as_f64().unwrap_or(0.0)
            );
        }

        // Animation: 16 receivers, selective repeat with a window of 64 and no loss (losses stall
        // the shared window until a timeout): ~1000 datagrams on the wire, all drawn, the
        // simulation stepped every frame.
        for window in [16, 64] {
            let q = format!("sim=1&n=16&p=0&mode=sr&window={window}&size=5000000&delay=200&rto=2000");
            b.open(&server.url(&format!("/?{q}"))).await?;
            b.wait_text("#source", Duration::from_secs(10), |t| t.starts_with("simulated")).await?;
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let fps = count_frames(&b, 4).await?;
            let on_wire = b.text("#in-flight-panel h3").await?;
            eprintln!("animation at 1x, 16 receivers, window {window}: {fps:.1} frames/s; {on_wire}");
        }
        b.screenshot("perf-16-receivers.png").await?;

        // The compare view: the same 16 receivers under all three schemes at once, three
        // panels painted every frame (stop-and-wait 16 on the wire, the windowed two 256 each),
        // in a window tall enough to have all three on screen.
        let tall = Browser::start(&driver, 1400, 1900).await?;
        let q = "compare=1&n=16&p=0&cw=16&size=5000000&delay=200&rto=2000";
        let compare = async {
            tall.open(&server.url(&format!("/?{q}"))).await?;
            tall.wait_for("#compare .compare-panel").await?;
            tall.client
                .execute("document.getElementById('compare-controls').scrollIntoView();", vec![])
                .await
                .map_err(|e| e.to_string())?;
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let renders0 = tall.client.execute("return window.__cmpRenders || 0;", vec![]).await;
            let t = Instant::now();
            let fps = count_frames(&tall, 4).await?;
            let renders1 = tall.client.execute("return window.__cmpRenders || 0;", vec![]).await;
            let rate = match (renders0, renders1) {
                (Ok(a), Ok(b)) => {
                    (b.as_f64().unwrap_or(0.0) - a.as_f64().unwrap_or(0.0)) / t.elapsed().as_secs_f64()
                }
                _ => 0.0,
            };
            eprintln!(
                "compare view at 1x, 16 receivers, window 16, three panels on screen: {fps:.1} frames/s; \
                 view renders {rate:.1}/s; {}",
                tall.text("#cmp-clock").await?
            );
            tall.screenshot("perf-compare-16-receivers.png").await?;
            Ok::<(), String>(())
        }
        .await;
        tall.close().await;
        compare?;

        // Compute a 10 MB, n = 5 transfer with its full trace in the page.
        let q = "sim=1&n=5&size=10000000&p=0.05&rto=1000";
        for round in 0..2 {
            b.open(&server.url(&format!("/?{q}&play=0"))).await?;
            b.wait_text("#source", Duration::from_secs(10), |t| t.starts_with("simulated")).await?;
            let t = Instant::now();
            b.click("#sim-complete").await?;
            let note = b.wait_text("#compute-time", Duration::from_secs(60), |t| !t.is_empty()).await?;
            eprintln!(
                "10 MB, n = 5 with trace #{round}: {note} (click to DOM update {:.2} s); {}",
                t.elapsed().as_secs_f64(),
                b.text("#event-count").await?
            );
        }
        Ok::<(), String>(())
    };
    b.conclude("the browser test", Duration::from_secs(240), run).await;
}

#[tokio::test]
#[ignore = "a measurement, about half a minute"]
async fn experiments_sweep_main_thread() {
    let Some(driver_bin) = browser_or_skip("experiments_sweep_main_thread") else {
        return;
    };
    let dist = dist_dir().expect("dist/ (cargo xtask web)");
    let server = StaticServer::start(&dist, HashMap::new()).expect("server");
    let driver = Chromedriver::start(&driver_bin).expect("chromedriver");
    let b = Browser::start(&driver, 1400, 1000).await.expect("chromium");
    let run = async {
        b.open(&server.url("/?live=0")).await?;
        b.click("#tab-experiments").await?;
        // The classic Task 1 sweep: 10 MB, n = 1..5, 5 runs a point (25 transfers).
        for (id, v) in [("#exp-size", "10000000"), ("#exp-runs", "5")] {
            let el = b.wait_for(id).await?;
            el.send_keys(&format!("\u{E009}a\u{E000}{v}\u{E004}")).await.map_err(|e| e.to_string())?;
        }
        b.client
            .execute(
                "window.__lt = []; window.__gap = 0; window.__expMaxChunkMs = 0; \
                 try { new PerformanceObserver(l => { for (const e of l.getEntries()) window.__lt.push(e.duration); }) \
                   .observe({ type: 'longtask' }); } catch (e) { window.__lt = null; } \
                 window.__chunkLog = []; let seen = 0; \
                 let last = performance.now(); window.__gapTimer = setInterval(() => { const t = performance.now(); \
                   window.__gap = Math.max(window.__gap, t - last); last = t; \
                   if ((window.__expChunks || 0) > seen) { seen = window.__expChunks; \
                     window.__chunkLog.push(Math.round(window.__expChunkMs)); } }, 10);",
                vec![],
            )
            .await
            .map_err(|e| e.to_string())?;
        let t = Instant::now();
        b.click("#exp-run").await?;
        let status = b.wait_text("#exp-status", Duration::from_secs(400), |t| t.starts_with("Done")).await?;
        let wall = t.elapsed().as_secs_f64();
        let v = b
            .client
            .execute(
                "clearInterval(window.__gapTimer); const l = window.__lt || []; \
                 return [window.__lt === null ? -1 : l.length, Math.max(0, ...l), l.reduce((a, b) => a + b, 0), \
                         window.__gap, window.__expMaxChunkMs || 0, window.__expChunks || 0, \
                         window.__chunkLog.slice().sort((a, b) => b - a).slice(0, 6).join(', '), \
                         (() => { const c = window.__chunkLog.slice().sort((a, b) => a - b); \
                                  return c.length ? c[Math.floor(c.length / 2)] : 0; })()];",
                vec![],
            )
            .await
            .map_err(|e| e.to_string())?;
        let f = |i: usize| v[i].as_f64().unwrap_or(0.0);
        eprintln!(
            "Task 1 sweep, 10 MB, 5 runs a point: {status} (wall {wall:.1} s); long tasks (> 50 ms): {:.0}, \
             longest {:.0} ms, {:.1} s in all; largest gap between 10 ms timer callbacks {:.0} ms; \
             tab's longest chunk {:.1} ms over {:.0} chunks (median of those seen {:.0} ms; longest seen: {} ms)",
            f(0),
            f(1),
            f(2) / 1000.0,
            f(3),
            f(4),
            f(5),
            f(7),
            v[6].as_str().unwrap_or_default()
        );
        Ok::<(), String>(())
    };
    b.conclude("the browser test", Duration::from_secs(480), run).await;
}
