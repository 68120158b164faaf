//! Helpers shared by the teaching-mode browser tests (teaching.rs, teaching_more.rs): the
//! native run a query string describes, form fields, downloads, clicks on the diagram.

// Each test file uses its own subset.
#![allow(dead_code)]

use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use p2mp_core::trace::{TraceEvent, TxId};
use p2mp_core::view::{Summary, TraceModel};
use p2mp_e2e::Browser;
use p2mp_web::sim_source::{Dropped, SimDriver};
use p2mp_web::simulate::SimParams;
use std::time::Duration;

/// The simulation a query string describes, run natively to the end, with `drops` (tx ids)
/// made at time zero, as the page does.
pub fn native(query: &str, drops: &[u64]) -> (Vec<TraceEvent>, Summary) {
    let (p, errors) = SimParams::from_query(query);
    assert!(errors.is_empty(), "{errors:?}");
    let mut d = SimDriver::new(p.config().expect("config"), p.drops.clone()).expect("driver");
    let mut events = d.advance_to(0).events;
    for &tx in drops {
        match d.drop_packet(TxId(tx), 0) {
            Dropped::Appended(b) => events.extend(b.events),
            other => panic!("native drop of {tx}: {other:?}"),
        }
    }
    events.extend(d.run_to_end().events);
    let mut m = TraceModel::new();
    for e in &events {
        m.push(e.clone());
    }
    let s = m.summary().clone();
    (events, s)
}

/// The first number in `text` (0 if none).
pub fn num(text: &str) -> u64 {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Plays at full speed to the end and checks the totals against `expected`.
pub async fn finish_and_compare(b: &Browser, events: usize, expected: &Summary) -> Result<(), String> {
    b.click("#speed option[value='13']").await?;
    let playing = b.text("#play").await?;
    if !playing.contains("Pause") {
        b.click("#play").await?;
    }
    b.wait_text("#event-count", Duration::from_secs(30), |t| t == format!("{events} / {events}")).await?;
    let status = b.text("#status").await?;
    assert!(status.contains("complete"), "{status}");
    let got = [
        ("#tx-count", expected.transmissions),
        ("#retx-count", expected.retransmissions),
        ("#timeout-count", expected.timeouts),
        ("#drop-count", expected.loss_drops + expected.link_drops),
        ("#segments-done", expected.segments_done),
    ];
    for (id, want) in got {
        assert_eq!(num(&b.text(id).await?), want, "{id}");
    }
    Ok(())
}

/// An attribute of `el` ("" if absent).
pub async fn attr(el: &fantoccini::elements::Element, name: &str) -> Result<String, String> {
    Ok(el.attr(name).await.map_err(|e| e.to_string())?.unwrap_or_default())
}

/// The text of what the page last offered for download.
pub async fn fetch_download(b: &Browser) -> Result<String, String> {
    let v = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             fetch(document.getElementById('download-link').href).then(r => r.text()).then(done, e => done('ERR ' + e));",
            vec![],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(v.as_str().unwrap_or_default().to_string())
}

/// The query string of the page's URL.
pub async fn query(b: &Browser) -> Result<String, String> {
    let url = b.client.current_url().await.map_err(|e| e.to_string())?;
    Ok(url.query().unwrap_or_default().to_string())
}

/// A real mouse click (WebDriver pointer actions) at (`x`, `y`) in the diagram's CSS pixels.
pub async fn click_canvas_at(b: &Browser, x: f64, y: f64) -> Result<(), String> {
    let canvas = b.wait_for("#ladder").await?;
    // WebDriver offsets count from the centre of the element's *visible* part: a canvas that
    // runs past the bottom of the window would shift every click. Bring all of it into view.
    let rect = b
        .client
        .execute(
            "const c = document.getElementById('ladder'); c.scrollIntoView({block: 'center'}); \
             const r = c.getBoundingClientRect(); return [r.width, r.height];",
            vec![],
        )
        .await
        .map_err(|e| e.to_string())?;
    let (w, h) = (rect[0].as_f64().unwrap_or(0.0), rect[1].as_f64().unwrap_or(0.0));
    // Pointer offsets are from the element's centre.
    let click = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement {
            element: canvas,
            duration: None,
            x: (x - w / 2.0).round() as i64,
            y: (y - h / 2.0).round() as i64,
        })
        .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
        .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
    b.client.perform_actions(click).await.map_err(|e| e.to_string())
}
