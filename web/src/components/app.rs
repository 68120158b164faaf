//! The page: sources on top, the diagram with its controls, and the side panel.
//! Owns the state (`use_reducer`) and the I/O that feeds it (WebSocket, fetch, files, the
//! simulator); the reducer itself ([`crate::player`]) does no I/O.

use super::{
    use_frame_loop, LadderCanvas, Legend, LiveSource, PacketDetails, ReceiversPanel, ReplaySource,
    SimulateSource, ThroughputChart, TotalsView, TransportControls,
};
use crate::io::{self, LiveConnection};
use crate::player::{again_url, Action, Connection, Player, Source};
use crate::simulate::{simulate_jsonl, SimParams};
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::KeyboardEvent;
use yew::prelude::*;

/// The player wrapped for `use_reducer`: the trace is shared, so a step costs no copy.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlayerState(pub Player);

impl Reducible for PlayerState {
    type Action = Action;
    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = self.0.clone();
        next.apply(action);
        if next == self.0 {
            return self;
        }
        Rc::new(PlayerState(next))
    }
}

fn load_text(dispatch: &Callback<Action>, source: Source, text: String) {
    dispatch.emit(Action::Open(source));
    dispatch.emit(Action::Ingest(text));
}

/// Root component.
#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer_eq(PlayerState::default);
    let dispatch: Callback<Action> = {
        let state = state.clone();
        Callback::from(move |a: Action| state.dispatch(a))
    };
    let live = use_mut_ref(|| None::<LiveConnection>);
    let live_url = use_state(io::default_live_url);
    let again_error = use_state(|| None::<String>);
    let initial_trace = use_memo((), |_| io::query_param("trace").unwrap_or_default());

    let connect = {
        let live = live.clone();
        let dispatch = dispatch.clone();
        let live_url = live_url.clone();
        Callback::from(move |url: String| {
            live.borrow_mut().take();
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
        Callback::from(move |url: String| {
            live.borrow_mut().take();
            let dispatch = dispatch.clone();
            spawn_local(async move {
                match io::fetch_text(&url).await {
                    Ok(text) => {
                        load_text(&dispatch, Source::Replay { name: url }, text);
                        if io::query_param("autoplay").is_some_and(|v| v != "0") {
                            dispatch.emit(Action::Play);
                        }
                    }
                    Err(e) => dispatch.emit(Action::Error(Some(format!("Cannot load {url}: {e}")))),
                }
            });
        })
    };
    let load_file = {
        let live = live.clone();
        let dispatch = dispatch.clone();
        Callback::from(move |file: web_sys::File| {
            live.borrow_mut().take();
            let dispatch = dispatch.clone();
            let name = file.name();
            spawn_local(async move {
                match io::read_file(file).await {
                    Ok(text) => load_text(&dispatch, Source::Replay { name }, text),
                    Err(e) => dispatch.emit(Action::Error(Some(format!("Cannot read {name}: {e}")))),
                }
            });
        })
    };
    let simulate = {
        let live = live.clone();
        let dispatch = dispatch.clone();
        Callback::from(move |params: SimParams| {
            live.borrow_mut().take();
            match simulate_jsonl(&params) {
                Ok(text) => {
                    load_text(&dispatch, Source::Simulated { label: params.label() }, text);
                    dispatch.emit(Action::Play);
                }
                Err(e) => dispatch.emit(Action::Error(Some(format!("Simulation failed: {e}")))),
            }
        })
    };
    let again = {
        let again_error = again_error.clone();
        let live_url = live_url.clone();
        let connect = connect.clone();
        let is_live = matches!(state.0.source, Source::Live { .. }) && state.0.connection == Connection::Open;
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

    // Start: a trace from `?trace=URL`, else the hub this page came from (unless `?live=0`).
    {
        let load_url = load_url.clone();
        let connect = connect.clone();
        let initial = (*initial_trace).clone();
        let url = (*live_url).clone();
        use_effect_with((), move |_| {
            if !initial.is_empty() {
                load_url.emit(initial);
            } else if io::query_param("live").as_deref() != Some("0") {
                connect.emit(url);
            }
        });
    }

    // Keyboard shortcuts.
    {
        let dispatch = dispatch.clone();
        use_effect_with((), move |_| {
            let handler = Closure::<dyn FnMut(KeyboardEvent)>::new(move |e: KeyboardEvent| {
                let typing =
                    e.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()).is_some_and(|el| {
                        let tag = el.tag_name().to_ascii_lowercase();
                        let kind = el.get_attribute("type").unwrap_or_default();
                        tag == "textarea"
                            || tag == "select"
                            || (tag == "input" && kind != "range" && kind != "checkbox")
                    });
                if typing || e.ctrl_key() || e.meta_key() || e.alt_key() {
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

    use_frame_loop(dispatch.reform(Action::Tick));

    let p = &state.0;
    let summary = {
        let trace = p.trace.clone();
        let cursor = p.cursor;
        use_memo((p.generation, cursor, Rc::as_ptr(&p.trace) as usize), move |_| {
            trace.borrow().model.summary_at(cursor)
        })
    };
    let outcomes: Vec<p2mp_core::Outcome> = summary.receivers.iter().map(|r| r.outcome).collect();
    let live_connection =
        if matches!(p.source, Source::Live { .. }) { p.connection.clone() } else { Connection::Idle };
    let dismiss = dispatch.reform(|_: MouseEvent| Action::Error(None));

    html! {
        <>
            <header class="top">
                <h1>{ "P2MP-FTP visualizer" }</h1>
                <p class="tagline">{ "One sender, n receivers, stop-and-wait ARQ: watch a live transfer, replay a trace, or simulate one." }</p>
            </header>
            if let Some(e) = &p.error {
                <p id="error" class="error banner" role="alert">{ e.clone() }
                    <button class="link" onclick={dismiss} aria-label="Dismiss">{ "✕" }</button></p>
            }
            <section id="sources" aria-label="Sources">
                <LiveSource default_url={(*live_url).clone()} connection={live_connection}
                    on_connect={connect} on_again={again} again_error={(*again_error).clone()} />
                <ReplaySource on_file={load_file} on_url={load_url} initial_url={(*initial_trace).clone()} />
                <SimulateSource on_run={simulate} />
            </section>
            <main class="layout">
                <div class="stage">
                    <TransportControls player={p.clone()} dispatch={dispatch.clone()} />
                    <LadderCanvas player={p.clone()} outcomes={outcomes} dispatch={dispatch.clone()} />
                    <Legend />
                    <PacketDetails player={p.clone()} dispatch={dispatch.clone()} />
                </div>
                <aside class="side">
                    <TotalsView summary={(*summary).clone()} player={p.clone()} />
                    <ReceiversPanel summary={(*summary).clone()} />
                    <ThroughputChart player={p.clone()} />
                </aside>
            </main>
        </>
    }
}
