//! The simulate source: every parameter as a labelled control, preset scenarios, a seed with a
//! "new seed" button. Changing a control restarts the simulation (the app does that when
//! `on_change` fires) and the page URL follows, so the scenario can be shared as a link.

use crate::simulate::{presets, trim_num, LinkLoss, Rto, SimParams, MAX_RECEIVERS};
use p2mp_core::window::Mode;
use p2mp_core::wire::Dialect;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

/// Properties of [`SimPanel`].
#[derive(Properties, PartialEq)]
pub struct SimPanelProps {
    /// The parameters shown.
    pub params: SimParams,
    /// New parameters (restart with them).
    pub on_change: Callback<SimParams>,
    /// Run again with the same parameters.
    pub on_run: Callback<()>,
    /// Simulate the rest of the transfer at once.
    pub on_complete: Callback<()>,
    /// How long the last "compute to the end" took, as text.
    pub compute_note: Option<String>,
    /// The last preset chosen, for its explanation.
    pub preset: Option<String>,
    /// A preset was chosen (its name).
    pub on_preset: Callback<String>,
    /// Messages about values that were clamped or ignored.
    pub messages: Vec<String>,
    /// Report messages (or clear them with an empty list).
    pub on_messages: Callback<Vec<String>>,
}

/// The parameter form.
#[function_component(SimPanel)]
pub fn sim_panel(props: &SimPanelProps) -> Html {
    let p = &props.params;
    // A control changed `key` to `value`: recompute through the URL parser (clamps, messages).
    let set = {
        let params = p.clone();
        let on_change = props.on_change.clone();
        let on_messages = props.on_messages.clone();
        move |key: &'static str| {
            let params = params.clone();
            let on_change = on_change.clone();
            let on_messages = on_messages.clone();
            Callback::from(move |value: String| {
                let (next, msgs) = params.with_field(key, &value);
                on_messages.emit(msgs);
                if next != params {
                    on_change.emit(next);
                }
            })
        }
    };
    let input =
        |id: &'static str, key: &'static str, label: &'static str, value: String, hint: &'static str| {
            let cb = set(key);
            let onchange = Callback::from(move |e: Event| {
                let i: HtmlInputElement = e.target_unchecked_into();
                cb.emit(i.value());
            });
            html! {
                <label class="field" for={id} title={hint}>{ label }
                    <input id={id} {onchange} value={value} inputmode="decimal" />
                </label>
            }
        };
    let select = |id: &'static str,
                  key: &'static str,
                  label: &'static str,
                  value: &str,
                  options: &[(&'static str, &'static str)]| {
        let cb = set(key);
        let onchange = Callback::from(move |e: Event| {
            let s: HtmlSelectElement = e.target_unchecked_into();
            cb.emit(s.value());
        });
        html! {
            <label class="field" for={id}>{ label }
                <select id={id} {onchange}>
                    { for options.iter().map(|(v, text)| html! {
                        <option value={*v} selected={*v == value}>{ *text }</option>
                    }) }
                </select>
            </label>
        }
    };
    let new_seed = {
        let cb = set("seed");
        Callback::from(move |_: MouseEvent| {
            let seed = (js_sys::Math::random() * 1e9) as u64 + 1;
            cb.emit(seed.to_string());
        })
    };
    let run = {
        let cb = props.on_run.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            cb.emit(());
        })
    };
    let rto_kind = match p.rto {
        Rto::Fixed(_) => "fixed",
        Rto::Adaptive => "adaptive",
    };
    let rto_ms = match p.rto {
        Rto::Fixed(t) => trim_num(t),
        Rto::Adaptive => "100".into(),
    };
    let on_rto_kind = {
        let cb = set("rto");
        let ms = rto_ms.clone();
        Callback::from(move |e: Event| {
            let s: HtmlSelectElement = e.target_unchecked_into();
            cb.emit(if s.value() == "adaptive" { "adaptive".into() } else { ms.clone() });
        })
    };
    let on_compare = {
        let cb = set("compare");
        Callback::from(move |e: Event| {
            let i: HtmlInputElement = e.target_unchecked_into();
            cb.emit(if i.checked() { "1".into() } else { "0".into() });
        })
    };
    let mode = crate::simulate::mode_name(p.mode);
    let windowed = p.mode != Mode::StopAndWait;
    let list = |v: &[f64]| v.iter().map(|x| trim_num(*x)).collect::<Vec<_>>().join(", ");
    let dead = p.dead.map_or_else(String::new, |(r, t)| format!("{r}@{}", trim_num(t)));
    let idea = props
        .preset
        .as_ref()
        .and_then(|n| presets().into_iter().find(|pr| pr.name == n.as_str()))
        .map(|pr| pr.idea);
    html! {
        <form class="source sim" id="simulate-source" onsubmit={run} aria-label="Simulate a transfer">
            <h2>{ "Simulate (teaching mode)" }</h2>
            <div class="presets" role="group" aria-label="Preset scenarios">
                { for presets().into_iter().map(|pr| {
                    let cb = props.on_preset.clone();
                    let name = pr.name.to_string();
                    let pressed = props.preset.as_deref() == Some(pr.name);
                    html! {
                        <button type="button" id={format!("preset-{}", pr.name)} title={pr.idea}
                            aria-pressed={pressed.to_string()}
                            onclick={Callback::from(move |_: MouseEvent| cb.emit(name.clone()))}>{ pr.title }</button>
                    }
                }) }
            </div>
            if let Some(idea) = idea {
                <p id="preset-idea" class="hint">{ idea }</p>
            }
            <div class="grid">
                { input("p-receivers", "n", "Receivers (1–16)", p.receivers.to_string(), "number of servers, 1 to 16") }
                { input("p-loss", "p", "Loss p (0–0.5)", trim_num(p.loss), "each server's loss service drops a DATA with this probability") }
                { input("p-mss", "mss", "MSS (bytes)", p.mss.to_string(), "payload bytes per segment, 16 to 8000") }
                { input("p-size", "size", "File (bytes)", p.file_size.to_string(), "up to 20000000") }
                { input("p-delay", "delay", "Delay (ms)", trim_num(p.delay_ms), "one-way delay of every link") }
                { input("p-jitter", "jitter", "Jitter (ms)", trim_num(p.jitter_ms), "extra delay, uniform in [0, jitter]") }
                { input("p-delays", "delays", "Per-receiver delays", list(&p.delays_ms), "comma-separated ms, one per server (blank: all the same)") }
                { input("p-jitters", "jitters", "Per-receiver jitter", list(&p.jitters_ms), "comma-separated ms, one per server (blank: all the same)") }
                { input("p-bandwidth", "bw", "Bandwidth (Mbit/s)", trim_num(p.bandwidth_mbps), "0: unlimited") }
                <label class="field" for="p-rto-kind">{ "Timeout" }
                    <select id="p-rto-kind" onchange={on_rto_kind}>
                        <option value="fixed" selected={rto_kind == "fixed"}>{ "fixed" }</option>
                        <option value="adaptive" selected={rto_kind == "adaptive"}>{ "adaptive (RFC 6298)" }</option>
                    </select>
                </label>
                if rto_kind == "fixed" {
                    { input("p-rto", "rto", "Timer (ms)", rto_ms.clone(), "fixed retransmission timeout") }
                }
                { input("p-maxto", "maxto", "Give up after", p.max_timeouts.to_string(), "consecutive silent timeouts before a server is declared failed") }
                { select("p-dialect", "dialect", "Wire dialect", if p.dialect == Dialect::Text { "text" } else { "binary" },
                    &[("binary", "binary"), ("text", "text (classic)")]) }
                { select("p-link-model", "linkloss", "Link loss", p.link_model.name(),
                    &[("none", "none"), ("bernoulli", "Bernoulli"), ("burst", "burst (Gilbert-Elliott)")]) }
                if p.link_model != LinkLoss::None {
                    { input("p-link-loss", "lp", "Link loss rate", trim_num(p.link_loss), "0 to 0.5, both directions") }
                }
                if p.link_model == LinkLoss::Burst {
                    { input("p-burst", "burst", "Mean burst", trim_num(p.burst_len), "datagrams per burst, 1 to 100") }
                }
                if p.compare {
                    { input("p-compare-window", "cw", "Window (go-back-N, SR)", p.compare_window.to_string(),
                        "segments outstanding in the two windowed schemes, 1 to 1024") }
                } else {
                    { select("p-mode", "mode", "ARQ scheme", mode,
                        &[("saw", "stop-and-wait"), ("gbn", "go-back-N"), ("sr", "selective repeat")]) }
                    if windowed {
                        { input("p-window", "window", "Window", p.mode.window().to_string(), "segments outstanding, 1 to 1024") }
                    }
                }
                { input("p-dead", "dead", "Dead receiver", dead, "RECEIVER@SECONDS: that server stops answering then (blank: none)") }
                <label class="field wide" for="p-seed">{ "Seed" }
                    <span class="row">
                        <input id="p-seed" value={p.seed.to_string()} inputmode="numeric"
                            onchange={{ let cb = set("seed"); Callback::from(move |e: Event| {
                                let i: HtmlInputElement = e.target_unchecked_into();
                                cb.emit(i.value());
                            }) }} />
                        <button type="button" id="new-seed" onclick={new_seed} title="A random seed">{ "New seed" }</button>
                    </span>
                </label>
            </div>
            <div class="row">
                <label class="compare-toggle" for="p-compare"
                    title="Run this scenario under stop-and-wait, go-back-N and selective repeat, side by side on one clock">
                    <input id="p-compare" type="checkbox" checked={p.compare} onchange={on_compare} />
                    { " Compare ARQ schemes side by side" }
                </label>
            </div>
            <div class="row">
                <button id="simulate" type="submit" class="primary">{ "Restart" }</button>
                if !p.compare {
                <button id="sim-complete" type="button" title="Simulate the rest of the transfer now (then scrub or step through it)"
                    onclick={{ let cb = props.on_complete.clone(); Callback::from(move |_: MouseEvent| cb.emit(())) }}>
                    { "Compute to the end" }</button>
                }
                if let Some(n) = &props.compute_note {
                    <span id="compute-time" class="hint">{ n.clone() }</span>
                }
                <span class="hint">{ format!("Up to {MAX_RECEIVERS} receivers. Any change restarts; the page address holds the scenario.") }</span>
            </div>
            if !props.messages.is_empty() {
                <ul id="param-errors" class="error" role="alert">
                    { for props.messages.iter().map(|m| html! { <li>{ m.clone() }</li> }) }
                </ul>
            }
        </form>
    }
}
