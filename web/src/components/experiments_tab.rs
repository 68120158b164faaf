//! The experiments tab: one of the three classic sweeps (or a custom one) run on the simulator
//! in chunks of about 30 ms (at most ~50), each a series of slices of [`STEPS_PER_SLICE`] simulator
//! events (a chunk may end inside a transfer), then `setTimeout(0)`, so the page stays
//! responsive even while one 10 MB transfer runs; a progress bar; the core's plot (delay vs
//! the parameter, with the model's curve) beside a table; CSV and SVG downloads.
//!
//! Timing hooks for e2e/tests/perf.rs and the browser tests: `window.__expChunkMs` (the last
//! chunk, its re-render included), `__expMaxChunkMs` (the longest of the current sweep) and
//! `__expChunks` (chunks of the current sweep).

use super::download::download_text;
use crate::experiments::{ExperimentForm, Runner, Which};
use p2mp_core::experiment::Param;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

/// Wall-clock budget of one chunk (milliseconds): slices run until it is spent.
const SLICE_MS: f64 = 30.0;

/// Simulator events per slice: about 1–3 ms of work in the page, so a chunk overruns its
/// budget by at most that.
const STEPS_PER_SLICE: u64 = 2_000;

type Shared = Rc<RefCell<(u64, Option<Runner>)>>;

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or_else(js_sys::Date::now, |p| p.now())
}

/// Sets `window[name]` (a timing hook).
fn hook(name: &str, v: f64) {
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &name.into(), &v.into());
    }
}

/// Runs chunks until done or cancelled (the generation changed), calling `update` after each.
/// `stats` is (chunks so far, the longest so far in milliseconds).
fn schedule(shared: Shared, generation: u64, update: Callback<()>, stats: (u32, f64)) {
    let f = Closure::once_into_js(move || {
        let start = now_ms();
        let more = {
            let mut s = shared.borrow_mut();
            if s.0 != generation {
                return;
            }
            let Some(r) = s.1.as_mut() else { return };
            let mut more = r.advance(STEPS_PER_SLICE);
            while more && now_ms() - start < SLICE_MS {
                more = r.advance(STEPS_PER_SLICE);
            }
            more
        };
        update.emit(());
        let took = now_ms() - start;
        let stats = (stats.0 + 1, stats.1.max(took));
        hook("__expChunkMs", took);
        hook("__expMaxChunkMs", stats.1);
        hook("__expChunks", f64::from(stats.0));
        if more {
            schedule(shared, generation, update, stats);
        }
    });
    if let Some(w) = web_sys::window() {
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(f.unchecked_ref(), 0);
    }
}

fn read<T: std::str::FromStr>(id: &str, what: &str) -> Result<T, String> {
    let v = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
        .map(|i| i.value())
        .unwrap_or_default();
    v.trim().parse().map_err(|_| format!("{what}: “{}” is not valid", v.trim()))
}

/// The tab.
#[function_component(ExperimentsTab)]
pub fn experiments_tab() -> Html {
    let form = use_state(ExperimentForm::default);
    let shared: Shared = use_mut_ref(|| (0u64, None));
    let redraw = use_force_update();
    let error = use_state(|| None::<String>);
    let elapsed = use_state(|| 0.0f64);

    let on_which = {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let s: HtmlSelectElement = e.target_unchecked_into();
            if let Some(w) = Which::parse(&s.value()) {
                form.set(ExperimentForm { which: w, ..(*form).clone() });
            }
        })
    };
    let on_param = {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let s: HtmlSelectElement = e.target_unchecked_into();
            let param = match s.value().as_str() {
                "n" => Param::N,
                "mss" => Param::Mss,
                _ => Param::P,
            };
            let values = match param {
                Param::N => "1, 2, 4, 8, 16",
                Param::Mss => "100, 250, 500, 1000, 1400",
                Param::P => "0, 0.05, 0.1, 0.15, 0.2",
            };
            form.set(ExperimentForm { param, values: values.into(), ..(*form).clone() });
        })
    };
    let run = {
        let form = form.clone();
        let shared = shared.clone();
        let error = error.clone();
        let redraw = redraw.clone();
        let elapsed = elapsed.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let f = (|| -> Result<ExperimentForm, String> {
                Ok(ExperimentForm {
                    file_size: read("exp-size", "file size")?,
                    runs: read("exp-runs", "runs")?,
                    seed: read("exp-seed", "seed")?,
                    values: web_sys::window()
                        .and_then(|w| w.document())
                        .and_then(|d| d.get_element_by_id("exp-values"))
                        .and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
                        .map_or_else(|| form.values.clone(), |i| i.value()),
                    ..(*form).clone()
                })
            })();
            match f.and_then(|f| f.sweep().map(|s| (f, s))) {
                Ok((f, sweep)) => {
                    error.set(None);
                    form.set(f);
                    let generation = {
                        let mut s = shared.borrow_mut();
                        s.0 += 1;
                        s.1 = Some(Runner::new(sweep));
                        s.0
                    };
                    let t0 = now_ms();
                    let redraw = redraw.clone();
                    let elapsed = elapsed.clone();
                    let update = Callback::from(move |()| {
                        elapsed.set(now_ms() - t0);
                        redraw.force_update();
                    });
                    schedule(shared.clone(), generation, update, (0, 0.0));
                }
                Err(msg) => error.set(Some(msg)),
            }
        })
    };
    let cancel = {
        let shared = shared.clone();
        let redraw = redraw.clone();
        Callback::from(move |_: MouseEvent| {
            let mut s = shared.borrow_mut();
            s.0 += 1;
            if let Some(r) = s.1.as_mut().filter(|r| !r.finished()) {
                r.error = Some("stopped".into());
            }
            drop(s);
            redraw.force_update();
        })
    };
    let s = shared.borrow();
    let runner = s.1.as_ref();
    let (done, total) = runner.map_or((0, 0), |r| (r.done(), r.total()));
    let running = runner.is_some_and(|r| !r.finished());
    let export = |what: &'static str| {
        let shared = shared.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(r) = shared.borrow().1.as_ref() {
                let _ = match what {
                    "csv" => download_text("experiment.csv", "text/csv", &r.csv()),
                    _ => download_text("experiment.svg", "image/svg+xml", &r.svg()),
                };
            }
        })
    };
    let f = &*form;
    let status = match runner {
        None => "Not run yet.".to_string(),
        Some(r) if r.error.is_some() => format!("Failed: {}", r.error.clone().unwrap_or_default()),
        Some(r) if r.finished() => {
            format!("Done: {} transfers in {:.1} s (in this page).", r.total(), *elapsed / 1000.0)
        }
        Some(_) => format!("Running: {done} of {total} transfers…"),
    };
    let has_points = runner.is_some_and(|r| !r.points().is_empty());
    html! {
        <section id="experiments" aria-label="Experiments">
            <form class="source" id="exp-form" onsubmit={run}>
                <h2>{ "Experiments" }</h2>
                <p class="hint">{ "Sweeps of the simulator, each point the mean of several transfers, against the analytic model. \
                    The classic setting is a 10 MB file (10000000 bytes); smaller files run faster in the page." }</p>
                <div class="grid">
                    <label class="field" for="exp-which">{ "Experiment" }
                        <select id="exp-which" onchange={on_which}>
                            <option value="task1" selected={f.which == Which::Task1}>{ "1: delay vs n" }</option>
                            <option value="task2" selected={f.which == Which::Task2}>{ "2: delay vs MSS" }</option>
                            <option value="task3" selected={f.which == Which::Task3}>{ "3: delay vs p" }</option>
                            <option value="custom" selected={f.which == Which::Custom}>{ "custom sweep" }</option>
                        </select>
                    </label>
                    <label class="field" for="exp-size">{ "File (bytes)" }
                        <input id="exp-size" value={f.file_size.to_string()} inputmode="numeric" /></label>
                    <label class="field" for="exp-runs">{ "Runs per point" }
                        <input id="exp-runs" value={f.runs.to_string()} inputmode="numeric" /></label>
                    <label class="field" for="exp-seed">{ "First seed" }
                        <input id="exp-seed" value={f.seed.to_string()} inputmode="numeric" /></label>
                    if f.which == Which::Custom {
                        <label class="field" for="exp-param">{ "Parameter" }
                            <select id="exp-param" onchange={on_param}>
                                <option value="n" selected={f.param == Param::N}>{ "receivers n" }</option>
                                <option value="mss" selected={f.param == Param::Mss}>{ "MSS" }</option>
                                <option value="p" selected={f.param == Param::P}>{ "loss p" }</option>
                            </select>
                        </label>
                        <label class="field wide" for="exp-values">{ "Values" }
                            <input id="exp-values" value={f.values.clone()} /></label>
                    }
                </div>
                <div class="row">
                    <button id="exp-run" type="submit" class="primary">{ "Run" }</button>
                    <button id="exp-cancel" type="button" onclick={cancel} disabled={!running}>{ "Stop" }</button>
                    <progress id="exp-progress" max={total.max(1).to_string()} value={done.to_string()}
                        aria-label="Progress"></progress>
                    <span id="exp-status" role="status">{ status }</span>
                </div>
                if let Some(e) = &*error {
                    <p class="error" role="alert">{ e.clone() }</p>
                }
            </form>
            if let Some(r) = runner.filter(|_| has_points) {
                <div class="exp-results">
                    <div id="exp-plot">{ Html::from_html_unchecked(AttrValue::from(r.svg())) }</div>
                    <div>
                        <table id="exp-table">
                            <thead><tr><th>{ r.sweep().param.name() }</th><th>{ "mean (s)" }</th><th>{ "std (s)" }</th>
                                <th>{ "min" }</th><th>{ "max" }</th><th>{ "model (s)" }</th></tr></thead>
                            <tbody>
                                { for r.points().iter().map(|p| html! {
                                    <tr><td>{ crate::simulate::trim_num(p.value) }</td>
                                        <td>{ format!("{:.3}", p.stats.mean) }</td><td>{ format!("{:.3}", p.stats.std) }</td>
                                        <td>{ format!("{:.3}", p.stats.min) }</td><td>{ format!("{:.3}", p.stats.max) }</td>
                                        <td>{ format!("{:.3}", p.model) }</td></tr>
                                }) }
                            </tbody>
                        </table>
                        <div class="row">
                            <button id="exp-csv" type="button" onclick={export("csv")}>{ "Download CSV" }</button>
                            <button id="exp-svg" type="button" onclick={export("svg")}>{ "Download SVG" }</button>
                        </div>
                    </div>
                </div>
            }
        </section>
    }
}
