//! The narration panel: the latest events explained in plain words, newest last, scrolled to
//! the bottom as they come.

use crate::narrate::explain;
use crate::player::Player;
use web_sys::Element;
use yew::prelude::*;

/// Lines of history kept on screen.
pub const NARRATION_LINES: usize = 80;

/// Properties of [`Narration`].
#[derive(Properties, PartialEq)]
pub struct NarrationProps {
    /// The state narrated (events up to its cursor).
    pub player: Player,
}

/// The panel.
#[function_component(Narration)]
pub fn narration(props: &NarrationProps) -> Html {
    let list = use_node_ref();
    let p = &props.player;
    let tn = web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now());
    let lines: Vec<(usize, String, f64)> = {
        let trace = p.trace();
        let t0 = trace.t_first();
        let from = p.cursor.saturating_sub(NARRATION_LINES);
        (from..p.cursor.min(trace.model.events.len()))
            .map(|i| {
                let t = trace.model.events[i].t.total_micros().saturating_sub(t0) as f64 / 1e6;
                (i, explain(&trace.model, &trace.timeline, i), t)
            })
            .collect()
    };
    if let Some(w) = web_sys::window() {
        let dt = w.performance().map_or(0.0, |p| p.now()) - tn;
        let _ = js_sys::Reflect::set(&w, &"__narrateMs".into(), &dt.into());
    }
    {
        let list = list.clone();
        use_effect_with((p.cursor, p.generation), move |_| {
            if let Some(el) = list.cast::<Element>() {
                el.set_scroll_top(el.scroll_height());
            }
        });
    }
    let now = lines.last().map(|(_, s, _)| s.clone()).unwrap_or_else(|| "Nothing has happened yet.".into());
    html! {
        <section id="narration-panel" aria-label="Narration">
            <h3>{ "What is happening" }</h3>
            <p id="narration-now" aria-live="polite">{ now }</p>
            <ol id="narration" ref={list}>
                { for lines.into_iter().map(|(i, s, t)| html! {
                    <li data-index={i.to_string()}><span class="t">{ format!("{t:.3} s") }</span>{ " " }{ s }</li>
                }) }
            </ol>
        </section>
    }
}
