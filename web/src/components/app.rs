//! The page: sources on top, the diagram with its controls, and the side panel; an
//! experiments tab beside it.
//! Owns the state (a [`Player`] in a shared cell, changed only through its reducer,
//! [`Player::apply`], which does no I/O) and the I/O that feeds it (WebSocket, fetch, files,
//! the simulator).
//!
//! Animation stays out of Yew: one `requestAnimationFrame` loop advances the simulation and
//! the playhead in the shared player and paints the diagram itself; the panels (narration,
//! in-flight list, totals, receivers, chart) re-render at once on any other change and at most
//! every [`PANEL_INTERVAL_MS`] while only the playhead moves.
//!
//! The in-browser simulation is an incremental source: the [`SimDriver`] lives here (in a
//! `use_mut_ref`, outside the reducer) and every animation frame steps it up to where the
//! playhead is going before the player's tick, so the diagram shows the simulator's present
//! and a click on a packet in flight can drop it (teaching mode).
//!
//! With `compare` set in the parameters, the compare view ([`CompareView`]) takes the
//! diagram's place and runs the scenario under the three ARQ schemes itself.

use super::{
    download_blob, download_text, is_typing, use_frame_loop, CompareView, ExperimentsTab, InFlightList,
    LadderCanvas, Legend, LiveSource, Narration, PacketDetails, ReceiversPanel, ReplaySource, SimPanel,
    ThroughputChart, TotalsView, TransportControls, WireEntry,
};
use crate::io::{self, LiveConnection};
use crate::narrate::kind_name;
use crate::player::{again_url, Action, Connection, Player, Source, Store};
use crate::replay_files::{combine, split_urls};
use crate::sim_source::{Dropped, SimDriver};
use crate::simulate::{parse_query, preset, query_wants_simulation, SimParams};
use p2mp_core::trace::{Node, TraceHeader, TraceSource, TxId};
use p2mp_core::view::{Fate, Flight};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::KeyboardEvent;
use yew::prelude::*;

/// The panels re-render at most this often while only playback moves (milliseconds); any
/// other change renders at once. The diagram is painted every frame regardless.
const PANEL_INTERVAL_MS: f64 = 100.0;

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

/// Sets `window[name]` (timing hooks for the performance script, e2e/tests/perf.rs).
fn hook(name: &str, v: f64) {
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &name.into(), &v.into());
    }
}

fn load_text(dispatch: &Callback<Action>, source: Source, text: String) {
    dispatch.emit(Action::Open(source));
    dispatch.emit(Action::Ingest(text));
}

/// Root component.
#[function_component(App)]
pub fn app() -> Html {
    // The state lives outside Yew (the animation loop moves the playhead every frame without
    // a render); actions apply to it at once and re-render when they change anything.
    let store = use_mut_ref(Player::default);
    let update = use_force_update();
    // The player as last rendered, and when.
    let rendered = use_mut_ref(Player::default);
    let rendered_at = use_mut_ref(|| 0.0f64);
    let painter = use_mut_ref(crate::draw::Painter::default);
    let canvas_ref = use_node_ref();
    let renders = use_mut_ref(|| 0u64);
    let dispatch: Callback<Action> = {
        let store = store.clone();
        let update = update.clone();
        Callback::from(move |a: Action| {
            // What a source streams in (a live transfer's lines, simulation batches) waits for
            // the animation loop's next panel render unless it changes more than progress.
            let streamed = matches!(a, Action::Ingest(_) | Action::Extend(_));
            let render = {
                let mut p = store.borrow_mut();
                let before = p.clone();
                p.apply(a);
                *p != before && !(streamed && p.same_but_time(&before))
            };
            if render {
                update.force_update();
            }
        })
    };
    let live = use_mut_ref(|| None::<LiveConnection>);
    let live_url = use_state(io::default_live_url);
    let again_error = use_state(|| None::<String>);
    let initial_trace = use_memo((), |_| io::query_params("trace").join(" "));
    // The simulation's parameters start from the page URL (`?sim=1&n=5...` or `?preset=NAME`).
    let initial_query = use_memo((), |_| io::query_string());
    let params = use_state(|| SimParams::from_query(&initial_query).0);
    let messages = use_state(|| {
        if query_wants_simulation(&initial_query) {
            SimParams::from_query(&initial_query).1
        } else {
            Vec::new()
        }
    });
    let preset_state = use_state(|| {
        crate::simulate::parse_query(&initial_query)
            .into_iter()
            .rev()
            .find(|(k, _)| k == "preset")
            .map(|(_, v)| v)
            .filter(|v| preset(v).is_some())
    });
    let driver: Rc<RefCell<Option<SimDriver>>> = use_mut_ref(|| None);
    // The player now, for callbacks set up once (frames, keys, clicks).
    let mirror = store.clone();
    let tab = use_state(|| "visualize");
    let compute_note = use_state(|| None::<String>);
    // The compare view (`params.compare`): bumped to run it again; whether it is on screen
    // (the page's own shortcuts then stand aside for its own).
    let compare_run = use_mut_ref(|| 0u64);
    let compare_shown = use_mut_ref(|| false);

    let connect = {
        let live = live.clone();
        let dispatch = dispatch.clone();
        let live_url = live_url.clone();
        let driver = driver.clone();
        Callback::from(move |url: String| {
            live.borrow_mut().take();
            driver.borrow_mut().take();
            live_url.set(url.clone());
            dispatch.emit(Action::Open(Source::Live { url: url.clone() }));
            let on_text = dispatch.reform(Action::Ingest);
            let on_state = dispatch.reform(Action::Connection);
            match LiveConnection::open(&url, on_text, on_state) {
                Ok(c) => *live.borrow_mut() = Some(c),
                Err(e) => dispatch.emit(Action::Connection(Connection::Closed(e))),
            }
        })
    };
    let load_url = {
        let live = live.clone();
        let dispatch = dispatch.clone();
        let driver = driver.clone();
        Callback::from(move |urls: String| {
            live.borrow_mut().take();
            driver.borrow_mut().take();
            let dispatch = dispatch.clone();
            spawn_local(async move {
                // Several URLs: one transfer's node recordings, merged.
                match io::fetch_texts(split_urls(&urls)).await.and_then(combine) {
                    Ok(c) => {
                        load_text(&dispatch, Source::Replay { name: c.name }, c.text);
                        if io::query_param("autoplay").is_some_and(|v| v != "0") {
                            dispatch.emit(Action::Play);
                        }
                    }
                    Err(e) => dispatch.emit(Action::Error(Some(e))),
                }
            });
        })
    };
    let load_file = {
        let live = live.clone();
        let dispatch = dispatch.clone();
        let driver = driver.clone();
        Callback::from(move |files: Vec<web_sys::File>| {
            live.borrow_mut().take();
            driver.borrow_mut().take();
            let dispatch = dispatch.clone();
            spawn_local(async move {
                // Several files: one transfer's node recordings, merged.
                match io::read_files(files).await.and_then(combine) {
                    Ok(c) => load_text(&dispatch, Source::Replay { name: c.name }, c.text),
                    Err(e) => dispatch.emit(Action::Error(Some(e))),
                }
            });
        })
    };
    // Start (or restart) the in-browser simulation with `params`; the URL follows.
    let start_sim = {
        let live = live.clone();
        let dispatch = dispatch.clone();
        let driver = driver.clone();
        let params_state = params.clone();
        let preset_state = preset_state.clone();
        let compare_run = compare_run.clone();
        Callback::from(move |(p, preset_name): (SimParams, Option<String>)| {
            live.borrow_mut().take();
            params_state.set(p.clone());
            preset_state.set(preset_name.clone());
            let mut q = p.to_query();
            if let Some(n) = &preset_name {
                q = format!("preset={n}&{q}");
            }
            io::set_query(&q);
            if p.compare {
                // The compare view runs its own three simulations.
                driver.borrow_mut().take();
                *compare_run.borrow_mut() += 1;
                dispatch.emit(Action::Open(Source::None));
                return;
            }
            let made = p.config().and_then(|cfg| SimDriver::new(cfg, p.drops.clone()));
            match made {
                Ok(mut d) => {
                    let first = d.advance_to(0);
                    *driver.borrow_mut() = Some(d);
                    dispatch.emit(Action::Open(Source::Simulated { label: p.label() }));
                    dispatch.emit(Action::Extend(first));
                    dispatch.emit(Action::Play);
                }
                Err(e) => {
                    driver.borrow_mut().take();
                    dispatch.emit(Action::Error(Some(format!("Simulation failed: {e}"))));
                }
            }
        })
    };
    let on_params = start_sim.reform(|p: SimParams| (p, None));
    let on_run = {
        let start_sim = start_sim.clone();
        let params = params.clone();
        let preset_state = preset_state.clone();
        Callback::from(move |()| start_sim.emit(((*params).clone(), (*preset_state).clone())))
    };
    let on_preset = {
        let start_sim = start_sim.clone();
        let messages = messages.clone();
        Callback::from(move |name: String| {
            if let Some(pr) = preset(&name) {
                messages.set(Vec::new());
                start_sim.emit((pr.params, Some(name)));
            }
        })
    };
    let on_messages = {
        let messages = messages.clone();
        Callback::from(move |m: Vec<String>| messages.set(m))
    };
    // Simulate the rest at once (and time it: the page's own performance figure).
    let on_complete = {
        let driver = driver.clone();
        let dispatch = dispatch.clone();
        let compute_note = compute_note.clone();
        Callback::from(move |()| {
            let now = || web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now());
            let t0 = now();
            let batch = driver.borrow_mut().as_mut().map(SimDriver::run_to_end);
            let Some(batch) = batch else { return };
            let (t1, n) = (now(), batch.events.len());
            dispatch.emit(Action::Extend(batch));
            let t2 = now();
            compute_note.set(Some(format!(
                "simulated {n} more events in {:.3} s, indexed in {:.3} s",
                (t1 - t0) / 1000.0,
                (t2 - t1) / 1000.0
            )));
        })
    };
    // Teaching mode: lose a datagram on the wire at the playhead.
    let drop_tx = {
        let driver = driver.clone();
        let mirror = mirror.clone();
        let dispatch = dispatch.clone();
        Callback::from(move |tx: TxId| {
            let playhead = mirror.borrow().playhead;
            let outcome = driver.borrow_mut().as_mut().map(|d| d.drop_packet(tx, playhead));
            match outcome {
                Some(Dropped::Appended(b)) => dispatch.emit(Action::Extend(b)),
                Some(Dropped::Rebuilt(b)) => dispatch.emit(Action::Replace(b)),
                Some(Dropped::NotFound) => dispatch.emit(Action::Error(Some(
                    "That packet is no longer on the wire: nothing dropped.".into(),
                ))),
                None => {}
            }
        })
    };
    let on_pick = {
        let mirror = mirror.clone();
        let dispatch = dispatch.clone();
        let drop_tx = drop_tx.clone();
        Callback::from(move |picked: Option<usize>| {
            let p = mirror.borrow().clone();
            dispatch.emit(Action::Select(picked));
            if !matches!(p.source, Source::Simulated { .. }) {
                return;
            }
            let tx = picked.and_then(|i| {
                let trace = p.trace();
                let f = trace.model.flights.get(i)?;
                on_the_wire(f, p.playhead).then_some(f.tx)
            });
            if let Some(tx) = tx {
                drop_tx.emit(tx);
            }
        })
    };
    // Actions from the controls and keys: stepping forward past what has been simulated asks
    // the simulator for the next event first.
    let ui_dispatch = {
        let driver = driver.clone();
        let mirror = mirror.clone();
        let dispatch = dispatch.clone();
        Callback::from(move |a: Action| {
            if a == Action::StepForward {
                let p = mirror.borrow().clone();
                if matches!(p.source, Source::Simulated { .. }) && p.cursor >= p.len() {
                    if let Some(d) = driver.borrow_mut().as_mut().filter(|d| !d.is_done()) {
                        dispatch.emit(Action::Extend(d.next_event()));
                    }
                }
            }
            dispatch.emit(a);
        })
    };
    let export_jsonl = {
        let driver = driver.clone();
        let mirror = mirror.clone();
        let dispatch = dispatch.clone();
        Callback::from(move |_: MouseEvent| {
            let p = mirror.borrow().clone();
            let simulated = matches!(p.source, Source::Simulated { .. });
            let (header, events) = match driver.borrow().as_ref().filter(|_| simulated) {
                Some(d) => match d.complete_trace() {
                    Ok(ev) => (d.header(), ev),
                    Err(e) => {
                        dispatch.emit(Action::Error(Some(format!("Export failed: {e}"))));
                        return;
                    }
                },
                None => (
                    TraceHeader::new(TraceSource::Native {
                        node: Node::Client,
                        addr: "exported by the visualizer".into(),
                    }),
                    p.trace().model.events.clone(),
                ),
            };
            let mut out = serde_json::to_string(&header).unwrap_or_default();
            out.push('\n');
            for e in &events {
                out.push_str(&serde_json::to_string(e).unwrap_or_default());
                out.push('\n');
            }
            if let Err(e) = download_text("trace.jsonl", "application/x-ndjson", &out) {
                dispatch.emit(Action::Error(Some(format!("Export failed: {e}"))));
            }
        })
    };
    let export_png = Callback::from(move |_: MouseEvent| {
        let canvas = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id("ladder"))
            .and_then(|e| e.dyn_into::<web_sys::HtmlCanvasElement>().ok());
        if let Some(c) = canvas {
            let cb = Closure::once_into_js(move |blob: Option<web_sys::Blob>| {
                if let Some(b) = blob {
                    let _ = download_blob("diagram.png", &b);
                }
            });
            let _ = c.to_blob(cb.unchecked_ref());
        }
    });
    let export_svg = {
        let store = store.clone();
        let dispatch = dispatch.clone();
        let canvas_ref = canvas_ref.clone();
        Callback::from(move |_: MouseEvent| {
            let (w, h) = canvas_ref.cast::<web_sys::HtmlCanvasElement>().map_or((1000.0, 500.0), |c| {
                (f64::from(c.client_width().max(200)), f64::from(c.client_height().max(120)))
            });
            let svg = crate::scene::svg(&store.borrow(), w, h);
            if let Err(e) = download_text("diagram.svg", "image/svg+xml", &svg) {
                dispatch.emit(Action::Error(Some(format!("Export failed: {e}"))));
            }
        })
    };
    let again = {
        let again_error = again_error.clone();
        let live_url = live_url.clone();
        let connect = connect.clone();
        let p = store.borrow();
        let is_live = matches!(p.source, Source::Live { .. }) && p.connection == Connection::Open;
        drop(p);
        Callback::from(move |()| {
            let again_error = again_error.clone();
            let ws = (*live_url).clone();
            let connect = connect.clone();
            spawn_local(async move {
                match io::post(&again_url(&ws)).await {
                    Ok(_) => {
                        again_error.set(None);
                        if !is_live {
                            connect.emit(ws);
                        }
                    }
                    Err(e) => again_error.set(Some(format!("The hub did not start a transfer: {e}"))),
                }
            });
        })
    };

    // Start: a simulation from `?sim=1...`/`?preset=NAME`, a trace from `?trace=URL`, else
    // the hub this page came from (unless `?live=0`).
    {
        let load_url = load_url.clone();
        let connect = connect.clone();
        let initial = (*initial_trace).clone();
        let url = (*live_url).clone();
        let start_sim = start_sim.clone();
        let wants_sim = query_wants_simulation(&initial_query);
        let p0 = (*params).clone();
        let preset0 = (*preset_state).clone();
        let dispatch = dispatch.clone();
        use_effect_with((), move |_| {
            if wants_sim {
                // `play=0`: start paused at time zero (to drop the very first packets).
                let paused = io::query_param("play").as_deref() == Some("0");
                start_sim.emit((p0, preset0));
                if paused {
                    dispatch.emit(Action::Pause);
                }
            } else if !initial.is_empty() {
                load_url.emit(initial);
            } else if io::query_param("live").as_deref() != Some("0") {
                connect.emit(url);
            }
        });
    }

    // Keyboard shortcuts.
    {
        let dispatch = ui_dispatch.clone();
        let compare_shown = compare_shown.clone();
        use_effect_with((), move |_| {
            let handler = Closure::<dyn FnMut(KeyboardEvent)>::new(move |e: KeyboardEvent| {
                if *compare_shown.borrow() || is_typing(&e) || e.ctrl_key() || e.meta_key() || e.alt_key() {
                    return;
                }
                let action = match e.key().as_str() {
                    " " | "k" => Action::TogglePlay,
                    "ArrowRight" | "." => Action::StepForward,
                    "ArrowLeft" | "," => Action::StepBack,
                    "+" | "=" => Action::Faster,
                    "-" | "_" => Action::Slower,
                    "l" | "L" => Action::FollowLive(true),
                    "Escape" => Action::Select(None),
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

    // Every frame: advance the simulation to where the playhead goes, tick, paint the diagram;
    // re-render the panels when something other than the playhead changed, or every
    // PANEL_INTERVAL_MS while playing.
    {
        let driver = driver.clone();
        let store = store.clone();
        let rendered = rendered.clone();
        let rendered_at = rendered_at.clone();
        let painter = painter.clone();
        let canvas_ref = canvas_ref.clone();
        let update = update.clone();
        use_frame_loop(Callback::from(move |ms: f64| {
            let t0 = now_ms();
            let (go, advance, playhead) = {
                let p = store.borrow();
                (p.playing && matches!(p.source, Source::Simulated { .. }), p.advance_micros(ms), p.playhead)
            };
            if go {
                if let Some(d) = driver.borrow_mut().as_mut().filter(|d| !d.is_done()) {
                    let batch = match advance {
                        Some(dt) => {
                            let target = playhead.saturating_add(dt);
                            (target > d.now()).then(|| d.advance_to(target))
                        }
                        None => Some(d.advance_steps(5_000)),
                    };
                    if let Some(b) = batch {
                        store.borrow_mut().apply(Action::Extend(b));
                    }
                }
            }
            let t1 = now_ms();
            store.borrow_mut().apply(Action::Tick(ms));
            let t2 = now_ms();
            let render = {
                let (p, r) = (store.borrow(), rendered.borrow());
                *p != *r && (!p.same_but_time(&r) || t2 - *rendered_at.borrow() >= PANEL_INTERVAL_MS)
            };
            if render {
                // Renders in a microtask after this frame's paint, before the page is drawn.
                update.force_update();
            }
            if let Some(c) = canvas_ref.cast::<web_sys::HtmlCanvasElement>() {
                if let Some(stats) = painter.borrow_mut().paint(&c, &store.borrow()) {
                    hook("__drawMs", now_ms() - t2);
                    hook("__strokes", stats.strokes as f64);
                    hook("__liveStrokes", stats.live as f64);
                    hook("__cachedStrokes", stats.cached as f64);
                }
            }
            hook("__simMs", t1 - t0);
            hook("__tickMs", t2 - t1);
            hook("__frameMs", now_ms() - t0);
        }));
    }

    let tr = now_ms();
    let snapshot = store.borrow().clone();
    *rendered.borrow_mut() = snapshot.clone();
    *rendered_at.borrow_mut() = tr;
    *renders.borrow_mut() += 1;
    hook("__renders", *renders.borrow() as f64);
    let p = &snapshot;
    let summary = {
        let trace = p.trace.clone();
        let cursor = p.cursor;
        use_memo((p.generation, cursor, Rc::as_ptr(&p.trace) as usize), move |_| {
            trace.borrow().model.summary_at(cursor)
        })
    };
    let live_connection =
        if matches!(p.source, Source::Live { .. }) { p.connection.clone() } else { Connection::Idle };
    let dismiss = dispatch.reform(|_: MouseEvent| Action::Error(None));

    let simulated = matches!(p.source, Source::Simulated { .. });
    let tw = now_ms();
    let (wire, wire_total) = if simulated { wire_entries(p) } else { (Vec::new(), 0) };
    hook("__wireMs", now_ms() - tw);
    let on_tab = |name: &'static str| {
        let tab = tab.clone();
        Callback::from(move |_: MouseEvent| tab.set(name))
    };
    let visualize = *tab == "visualize";
    // The compare view replaces the diagram while the simulate source is in charge (a live
    // connection or a replay opened meanwhile shows in the main view).
    let show_compare = params.compare && matches!(p.source, Source::None | Source::Simulated { .. });
    *compare_shown.borrow_mut() = show_compare && visualize;

    html! {
        <>
            <header class="top">
                <h1>{ "P2MP-FTP visualizer" }</h1>
                <p class="tagline">{ "One sender, n receivers, ARQ over lossy links: watch a live transfer, replay a trace, or simulate one and drop packets yourself." }</p>
                <nav class="tabs" role="tablist">
                    <button id="tab-visualize" role="tab" aria-selected={visualize.to_string()} onclick={on_tab("visualize")}>{ "Visualize" }</button>
                    <button id="tab-experiments" role="tab" aria-selected={(!visualize).to_string()} onclick={on_tab("experiments")}>{ "Experiments" }</button>
                </nav>
            </header>
            <div id="experiments-tab" hidden={visualize}>
                <ExperimentsTab />
            </div>
            <div id="visualize-tab" hidden={!visualize}>
            if let Some(e) = &p.error {
                <p id="error" class="error banner" role="alert">{ e.clone() }
                    <button class="link" onclick={dismiss} aria-label="Dismiss">{ "✕" }</button></p>
            }
            <section id="sources" aria-label="Sources">
                <SimPanel params={(*params).clone()} on_change={on_params} on_run={on_run}
                    on_complete={on_complete} compute_note={(*compute_note).clone()}
                    preset={(*preset_state).clone()} on_preset={on_preset}
                    messages={(*messages).clone()} on_messages={on_messages} />
                <LiveSource default_url={(*live_url).clone()} connection={live_connection}
                    on_connect={connect} on_again={again} again_error={(*again_error).clone()} />
                <ReplaySource on_files={load_file} on_url={load_url} initial_url={(*initial_trace).clone()} />
            </section>
            if show_compare {
                <CompareView params={(*params).clone()} run={*compare_run.borrow()}
                    paused_at_start={parse_query(&initial_query).iter().any(|(k, v)| k == "play" && v == "0")} />
            } else {
            <main class="layout">
                <div class="stage">
                    <TransportControls player={p.clone()} dispatch={ui_dispatch.clone()} />
                    <LadderCanvas canvas={canvas_ref.clone()} store={Store(store.clone())}
                        receivers={summary.receivers.len()} dispatch={dispatch.clone()} on_pick={on_pick} />
                    <Legend />
                    <div class="row exports">
                        <button id="export-jsonl" onclick={export_jsonl} disabled={p.is_empty()}
                            title="The trace (header and events) as JSON Lines: loads back in replay mode">{ "Export trace (.jsonl)" }</button>
                        <button id="export-png" onclick={export_png} disabled={p.is_empty()}>{ "Export diagram (PNG)" }</button>
                        <button id="export-svg" onclick={export_svg} disabled={p.is_empty()}
                            title="The diagram's visible window as a standalone SVG (vectors)">{ "Export diagram (SVG)" }</button>
                    </div>
                    if simulated {
                        <InFlightList entries={wire} total={wire_total} on_drop={drop_tx} />
                    }
                    <Narration player={p.clone()} />
                    <PacketDetails player={p.clone()} dispatch={dispatch.clone()} />
                </div>
                <aside class="side">
                    <TotalsView summary={(*summary).clone()} player={p.clone()} />
                    <ReceiversPanel summary={(*summary).clone()} />
                    <ThroughputChart player={p.clone()} />
                </aside>
            </main>
            }
            </div>
        </>
    }
}

/// Whether flight `f` is on the wire at `playhead` (sent, not yet at its fate).
pub fn on_the_wire(f: &Flight, playhead: u64) -> bool {
    f.sent.total_micros() <= playhead
        && match f.fate {
            Fate::InFlight => true,
            fate => fate.at().is_some_and(|at| at.total_micros() > playhead),
        }
}

/// Most entries in the in-flight list.
const WIRE_LIST: usize = 40;

/// The datagrams on the wire at the playhead, as list entries (with their tips' positions on
/// the canvas), and how many there are.
fn wire_entries(p: &Player) -> (Vec<WireEntry>, usize) {
    let trace = p.trace();
    let (model, timeline) = (&trace.model, &trace.timeline);
    let range = crate::timeline::visible_flights(model, timeline, p.playhead, p.playhead);
    let canvas = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("ladder"))
        .and_then(|e| e.dyn_into::<web_sys::HtmlCanvasElement>().ok());
    let layout = canvas.as_ref().map(|c| crate::draw::layout_of(c, p));
    let delay = timeline.typical_delay();
    let mut total = 0;
    let mut out = Vec::new();
    for f in range.filter_map(|i| model.flights.get(i)).filter(|f| on_the_wire(f, p.playhead)) {
        total += 1;
        if out.len() >= WIRE_LIST {
            continue;
        }
        let seq = f.seq.map_or_else(String::new, |s| format!(" {s}"));
        let label = if f.downstream() {
            format!("{}{seq} → server {}", kind_name(f.packet), f.rx)
        } else {
            format!("{}{seq} ← server {}", kind_name(f.packet), f.rx)
        };
        let d = match f.fate {
            Fate::InFlight => timeline
                .arrivals
                .get(&f.tx)
                .map_or(delay, |&a| a.saturating_sub(f.sent.total_micros()).max(1)),
            _ => delay,
        };
        let at = layout
            .as_ref()
            .and_then(|l| crate::geometry::stroke(l, f, p.playhead, d))
            .map(|s| (s.x0 + (s.x1 - s.x0) * 0.9, s.y0 + (s.y1 - s.y0) * 0.9));
        out.push(WireEntry { tx: f.tx, rx: f.rx, downstream: f.downstream(), label, at });
    }
    (out, total)
}
