//! The compare view: the scenario of the simulate panel under stop-and-wait, go-back-N and
//! selective repeat, one ladder diagram each, stacked so that their time axes line up, moved by
//! one clock; each panel titled with its scheme and a live counter; a table of the
//! simulator's totals per scheme below.
//!
//! As in the main view, the simulations stay out of the reducer ([`Compare::apply`]): one
//! [`SimDriver`] per scheme lives here and every animation frame steps each up to where the
//! clock is going, hands the reducer the new events, ticks the clock and paints the three
//! canvases with one [`Painter`] each (the main diagram's painter and its tile cache). The
//! rest of the view re-renders at once on any other change and at most every
//! [`PANEL_INTERVAL_MS`] while only time moves.

use super::{use_frame_loop, Legend};
use crate::compare::{fmt_rate, scheme_params, scheme_title, schemes, Compare, CompareAction, HELD_EQUAL};
use crate::draw::Painter;
use crate::geometry::fmt_micros;
use crate::player::SPEED_MAX;
use crate::sim_source::SimDriver;
use crate::simulate::{mode_name, SimParams};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, HtmlInputElement, HtmlSelectElement, KeyboardEvent};
use yew::prelude::*;

/// The view re-renders at most this often while only time moves (milliseconds).
const PANEL_INTERVAL_MS: f64 = 100.0;
/// Scrubber resolution.
const SCRUB_STEPS: u64 = 10_000;
/// Simulator steps per scheme per frame at full speed.
const STEPS_AT_MAX: usize = 5_000;

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

/// Sets `window[name]` (timing hooks for the performance script).
fn hook(name: &str, v: f64) {
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &name.into(), &v.into());
    }
}

/// Whether a key press is typing into a form control (shortcuts stand aside).
pub fn is_typing(e: &KeyboardEvent) -> bool {
    e.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()).is_some_and(|el| {
        let tag = el.tag_name().to_ascii_lowercase();
        let kind = el.get_attribute("type").unwrap_or_default();
        tag == "textarea" || tag == "select" || (tag == "input" && kind != "range" && kind != "checkbox")
    })
}

type Drivers = Rc<RefCell<Vec<SimDriver>>>;
type Shared = Rc<RefCell<Compare>>;

/// Properties of [`CompareView`].
#[derive(Properties, PartialEq)]
pub struct CompareViewProps {
    /// The scenario (its `mode` is ignored: all three schemes run, windowed ones with
    /// `compare_window`).
    pub params: SimParams,
    /// Bumped to run the same scenario again.
    pub run: u64,
    /// The page was opened with `play=0`: the first run waits at time zero.
    #[prop_or_default]
    pub paused_at_start: bool,
}

/// The three panels, their controls and the table.
#[function_component(CompareView)]
pub fn compare_view(props: &CompareViewProps) -> Html {
    let store: Shared = use_mut_ref(Compare::default);
    let drivers: Drivers = use_mut_ref(Vec::new);
    let painters = use_mut_ref(|| (0..3).map(|_| Painter::default()).collect::<Vec<_>>());
    let canvases = [use_node_ref(), use_node_ref(), use_node_ref()];
    let update = use_force_update();
    let rendered = use_mut_ref(Compare::default);
    let rendered_at = use_mut_ref(|| 0.0f64);
    let compute_note = use_state(|| None::<String>);
    let renders = use_mut_ref(|| 0u64);

    let dispatch: Callback<CompareAction> = {
        let store = store.clone();
        let update = update.clone();
        Callback::from(move |a: CompareAction| {
            let render = {
                let mut c = store.borrow_mut();
                let before = c.clone();
                c.apply(a);
                *c != before && !c.same_but_time(&before)
            };
            if render {
                update.force_update();
            }
        })
    };
    // From the controls and keys: stepping forward past what has been computed asks each
    // simulation for its next event first.
    let ui_dispatch = {
        let store = store.clone();
        let drivers = drivers.clone();
        let dispatch = dispatch.clone();
        Callback::from(move |a: CompareAction| {
            if a == CompareAction::StepForward {
                let clock = store.borrow().clock;
                for (i, d) in drivers.borrow_mut().iter_mut().enumerate() {
                    let behind = store
                        .borrow()
                        .panels
                        .get(i)
                        .is_some_and(|p| !p.ended() && p.player.trace().t_last() <= clock);
                    if behind && !d.is_done() {
                        let b = d.next_event();
                        dispatch.emit(CompareAction::Extend(i, b));
                    }
                }
            }
            dispatch.emit(a);
        })
    };

    // (Re)start: one driver per scheme, at time zero, playing.
    {
        let drivers = drivers.clone();
        let dispatch = dispatch.clone();
        let painters = painters.clone();
        let compute_note = compute_note.clone();
        // The page's own start is run 1 (run 0 is this view's first render).
        let start = props.run <= 1;
        let play = !(props.paused_at_start && start);
        use_effect_with((props.params.clone(), props.run), move |(params, _)| {
            compute_note.set(None);
            if start {
                // Opened from a link: the diagrams, not the form, fill the screen (a projector
                // shows the controls and the three panels).
                if let Some(el) = web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.get_element_by_id("compare-held"))
                {
                    el.scroll_into_view();
                }
            }
            let modes = schemes(params.compare_window);
            dispatch.emit(CompareAction::Open { label: params.label(), modes: modes.to_vec() });
            for p in painters.borrow_mut().iter_mut() {
                p.invalidate();
            }
            let made: Result<Vec<SimDriver>, String> = modes
                .iter()
                .map(|&m| {
                    let p = scheme_params(params, m);
                    SimDriver::new(p.config()?, p.drops.clone())
                })
                .collect();
            match made {
                Ok(ds) => {
                    *drivers.borrow_mut() = ds;
                    for (i, d) in drivers.borrow_mut().iter_mut().enumerate() {
                        dispatch.emit(CompareAction::Extend(i, d.advance_to(0)));
                    }
                    if play {
                        dispatch.emit(CompareAction::Play);
                    }
                }
                Err(e) => {
                    drivers.borrow_mut().clear();
                    dispatch.emit(CompareAction::Error(Some(format!("Simulation failed: {e}"))));
                }
            }
        });
    }

    // Keyboard shortcuts while this view is on screen (the page's own stand aside).
    {
        let dispatch = ui_dispatch.clone();
        use_effect_with((), move |_| {
            let handler = Closure::<dyn FnMut(KeyboardEvent)>::new(move |e: KeyboardEvent| {
                // Not while another tab hides the view.
                let hidden = web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.get_element_by_id("compare"))
                    .is_none_or(|el| el.client_width() == 0);
                if hidden || is_typing(&e) || e.ctrl_key() || e.meta_key() || e.alt_key() {
                    return;
                }
                let action = match e.key().as_str() {
                    " " | "k" => CompareAction::TogglePlay,
                    "ArrowRight" | "." => CompareAction::StepForward,
                    "ArrowLeft" | "," => CompareAction::StepBack,
                    "+" | "=" => CompareAction::Faster,
                    "-" | "_" => CompareAction::Slower,
                    _ => return,
                };
                e.prevent_default();
                dispatch.emit(action);
            });
            let doc = web_sys::window().and_then(|w| w.document());
            if let Some(d) = &doc {
                let _ = d.add_event_listener_with_callback("keydown", handler.as_ref().unchecked_ref());
            }
            move || {
                if let Some(d) = &doc {
                    let _ =
                        d.remove_event_listener_with_callback("keydown", handler.as_ref().unchecked_ref());
                }
            }
        });
    }

    // Every frame: compute each scheme up to where the clock goes, tick, paint the panels.
    {
        let store = store.clone();
        let drivers = drivers.clone();
        let painters = painters.clone();
        let canvases = canvases.clone();
        let rendered = rendered.clone();
        let rendered_at = rendered_at.clone();
        let update = update.clone();
        let rebuilds = use_mut_ref(|| 0usize);
        use_frame_loop(Callback::from(move |ms: f64| {
            let t0 = now_ms();
            let (go, advance, clock) = {
                let c = store.borrow();
                (c.playing, c.advance_micros(ms), c.clock)
            };
            if go {
                for (i, d) in drivers.borrow_mut().iter_mut().enumerate().filter(|(_, d)| !d.is_done()) {
                    let batch = match advance {
                        Some(dt) => {
                            let target = clock.saturating_add(dt);
                            (target > d.now()).then(|| d.advance_to(target))
                        }
                        None => Some(d.advance_steps(STEPS_AT_MAX)),
                    };
                    if let Some(b) = batch {
                        store.borrow_mut().apply(CompareAction::Extend(i, b));
                    }
                }
            }
            let t1 = now_ms();
            store.borrow_mut().apply(CompareAction::Tick(ms));
            let render = {
                let (c, r) = (store.borrow(), rendered.borrow());
                *c != *r && (!c.same_but_time(&r) || now_ms() - *rendered_at.borrow() >= PANEL_INTERVAL_MS)
            };
            if render {
                update.force_update();
            }
            let t2 = now_ms();
            let c = store.borrow();
            let mut ps = painters.borrow_mut();
            let (mut strokes, mut live, mut rebuilt) = (0, 0, 0);
            for ((panel, painter), node) in c.panels.iter().zip(ps.iter_mut()).zip(&canvases) {
                if let Some(canvas) = node.cast::<HtmlCanvasElement>() {
                    if let Some(stats) = painter.paint(&canvas, &panel.player) {
                        strokes += stats.strokes;
                        live += stats.live;
                        rebuilt += usize::from(stats.rebuilt);
                    }
                }
            }
            hook("__cmpStrokes", strokes as f64);
            hook("__cmpLiveStrokes", live as f64);
            if rebuilt > 0 {
                *rebuilds.borrow_mut() += rebuilt;
                hook("__cmpRebuilds", *rebuilds.borrow() as f64);
            }
            hook("__cmpSimMs", t1 - t0);
            hook("__cmpDrawMs", now_ms() - t2);
            hook("__cmpFrameMs", now_ms() - t0);
        }));
    }

    let complete = {
        let drivers = drivers.clone();
        let dispatch = dispatch.clone();
        let compute_note = compute_note.clone();
        Callback::from(move |_: MouseEvent| {
            let t = now_ms();
            for (i, d) in drivers.borrow_mut().iter_mut().enumerate().filter(|(_, d)| !d.is_done()) {
                let b = d.run_to_end();
                dispatch.emit(CompareAction::Extend(i, b));
            }
            compute_note.set(Some(format!("computed in {:.0} ms", now_ms() - t)));
        })
    };

    let snapshot = store.borrow().clone();
    *rendered.borrow_mut() = snapshot.clone();
    *rendered_at.borrow_mut() = now_ms();
    *renders.borrow_mut() += 1;
    hook("__cmpRenders", *renders.borrow() as f64);
    let c = &snapshot;
    let send = |a: CompareAction| {
        let d = ui_dispatch.clone();
        Callback::from(move |_: MouseEvent| d.emit(a.clone()))
    };
    let span = c.t_end().max(1);
    let pos = (u128::from(c.clock.min(span)) * u128::from(SCRUB_STEPS) / u128::from(span)) as u64;
    let on_scrub = {
        let d = ui_dispatch.clone();
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            if let Ok(v) = input.value().parse::<u64>() {
                d.emit(CompareAction::Pause);
                d.emit(CompareAction::SeekTime(
                    (u128::from(v) * u128::from(span) / u128::from(SCRUB_STEPS)) as u64,
                ));
            }
        })
    };
    let on_speed = {
        let d = ui_dispatch.clone();
        Callback::from(move |e: Event| {
            let sel: HtmlSelectElement = e.target_unchecked_into();
            if let Ok(i) = sel.value().parse::<usize>() {
                d.emit(CompareAction::SetSpeed(i));
            }
        })
    };
    let empty = c.is_empty();
    let lanes = usize::from(props.params.receivers) + 1;
    let height = (lanes as f64 * 30.0 + 70.0).clamp(170.0, 440.0);
    let computing = c.panels.iter().any(|p| !p.ended());
    let saw_delay = c.panels.first().and_then(|p| p.row.as_ref()).map(|r| r.delay_micros);

    html! {
        <section id="compare" aria-label="ARQ schemes compared">
            if let Some(e) = &c.error {
                <p class="error banner" role="alert">{ e.clone() }</p>
            }
            <p id="compare-held" class="hint">{ HELD_EQUAL }</p>
            <section id="compare-controls" class="controls" aria-label="Playback of all three">
                <div class="buttons">
                    <button id="cmp-step-back" onclick={send(CompareAction::StepBack)} disabled={empty}
                        title="Back to the previous event of any scheme (←)" aria-label="Step back">{ "◀ Step" }</button>
                    <button id="cmp-play" class="primary" onclick={send(CompareAction::TogglePlay)} disabled={empty}
                        title="Play or pause all three (Space)" aria-pressed={c.playing.to_string()}>
                        { if c.playing { "Pause" } else { "▶ Play" } }
                    </button>
                    <button id="cmp-step-forward" onclick={send(CompareAction::StepForward)} disabled={empty}
                        title="On to the next event of any scheme (→)" aria-label="Step forward">{ "Step ▶" }</button>
                    <label class="speed">
                        { "Speed " }
                        <button id="cmp-slower" onclick={send(CompareAction::Slower)} title="Slower (−)" aria-label="Slower">{ "−" }</button>
                        <select id="cmp-speed" onchange={on_speed} aria-label="Playback speed">
                            { for (0..=SPEED_MAX).map(|i| html! {
                                <option value={i.to_string()} selected={i == c.speed}>{ crate::player::speed_label(i) }</option>
                            }) }
                        </select>
                        <button id="cmp-faster" onclick={send(CompareAction::Faster)} title="Faster (+)" aria-label="Faster">{ "+" }</button>
                    </label>
                    <span class="zoom">
                        { "Window " }
                        <button id="cmp-zoom-in" onclick={send(CompareAction::Zoom(0.5))} aria-label="Zoom in" title="Narrower time window">{ "+" }</button>
                        <span id="cmp-window">{ fmt_micros(c.window) }</span>
                        <button id="cmp-zoom-out" onclick={send(CompareAction::Zoom(2.0))} aria-label="Zoom out" title="Wider time window">{ "−" }</button>
                    </span>
                    <button id="cmp-complete" onclick={complete} disabled={!computing}
                        title="Simulate the rest of all three transfers now (the table fills in)">{ "Compute to the end" }</button>
                    if let Some(n) = &*compute_note {
                        <span id="cmp-compute-time" class="hint">{ n.clone() }</span>
                    }
                </div>
                <div class="scrub">
                    <input id="cmp-scrubber" type="range" min="0" max={SCRUB_STEPS.to_string()} value={pos.to_string()}
                        oninput={on_scrub} disabled={empty} aria-label="Shared timeline" />
                    <span id="cmp-clock" aria-live="off">{ format!("t = {} / {}", fmt_micros(c.clock), fmt_micros(c.t_end())) }</span>
                </div>
            </section>
            <div class="compare-panels">
                { for c.panels.iter().zip(canvases.iter()).map(|(panel, node)| {
                    let name = mode_name(panel.mode);
                    let title = scheme_title(panel.mode);
                    let progress = panel.progress();
                    let done = progress.done_in.is_some();
                    html! {
                        <figure class={classes!("compare-panel", done.then_some("done"))} id={format!("compare-{name}")}
                            data-scheme={name}>
                            <figcaption>
                                <span class="scheme">{ title.clone() }</span>
                                <span class="counter" data-counter={name}>{ progress.text() }</span>
                            </figcaption>
                            <canvas class="compare-ladder" ref={node.clone()} style={format!("height: {height}px")}
                                role="img" aria-label={format!("Space-time diagram of {title}: the client and each server as lanes, time to the right")}>
                            </canvas>
                        </figure>
                    }
                }) }
            </div>
            <Legend follow_live={false} />
            <div class="table-scroll">
            <table id="compare-table">
                <caption>{ "Totals per scheme, as the simulator reports them; a row fills in when that transfer ends. Goodput is file bits over the total delay." }</caption>
                <thead>
                    <tr>
                        <th scope="col">{ "Scheme" }</th>
                        <th scope="col">{ "Total delay" }</th>
                        <th scope="col">{ "vs stop-and-wait" }</th>
                        <th scope="col">{ "Goodput" }</th>
                        <th scope="col">{ "DATA transmissions" }</th>
                        <th scope="col">{ "Retransmissions" }</th>
                        <th scope="col">{ "Timeouts" }</th>
                        <th scope="col">{ "ACKs" }</th>
                        <th scope="col">{ "Receivers finished" }</th>
                    </tr>
                </thead>
                <tbody aria-live="polite">
                    { for c.panels.iter().map(|panel| {
                        let name = mode_name(panel.mode);
                        let title = scheme_title(panel.mode);
                        match &panel.row {
                            Some(r) => {
                                let speedup = saw_delay.filter(|_| r.delay_micros > 0).map_or_else(
                                    || "—".to_string(),
                                    |s| format!("{:.2}× faster", s as f64 / r.delay_micros as f64),
                                );
                                let n = |field: &'static str, v: u64| html! {
                                    <td data-field={field} data-value={v.to_string()}>{ v }</td>
                                };
                                html! {
                                    <tr data-scheme={name} data-done="true">
                                        <th scope="row">{ title }</th>
                                        <td data-field="delay" data-value={r.delay_micros.to_string()}>{ fmt_micros(r.delay_micros) }</td>
                                        <td data-field="speedup">{ speedup }</td>
                                        <td data-field="goodput" data-value={r.goodput_bps().to_string()}>{ fmt_rate(r.goodput_bps()) }</td>
                                        { n("data", r.data_transmissions) }
                                        { n("retransmissions", r.retransmissions) }
                                        { n("timeouts", r.timeouts) }
                                        { n("acks", r.acks) }
                                        <td data-field="finished" data-value={r.finished.to_string()}>
                                            { format!("{} of {}", r.finished, r.finished + r.failed) }</td>
                                    </tr>
                                }
                            }
                            None => html! {
                                <tr data-scheme={name} data-done="false">
                                    <th scope="row">{ title }</th>
                                    <td colspan="8" class="pending">{ "still running…" }</td>
                                </tr>
                            },
                        }
                    }) }
                </tbody>
            </table>
            </div>
        </section>
    }
}
