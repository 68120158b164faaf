//! The simulate source: a few parameters for the core's simulator, run in the page.
//! (The in-browser teaching mode will grow this form; the player does not change.)

use crate::simulate::SimParams;
use std::str::FromStr;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Properties of [`SimulateSource`].
#[derive(Properties, PartialEq)]
pub struct SimulateSourceProps {
    /// Run with these parameters.
    pub on_run: Callback<SimParams>,
}

fn field<T: FromStr>(id: &str, name: &str) -> Result<T, String> {
    let text = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| wasm_bindgen::JsCast::dyn_into::<HtmlInputElement>(e).ok())
        .map(|i| i.value())
        .unwrap_or_default();
    text.trim().parse().map_err(|_| format!("{name}: “{}” is not a valid number", text.trim()))
}

fn read() -> Result<SimParams, String> {
    Ok(SimParams {
        receivers: field("sim-receivers", "receivers")?,
        loss: field("sim-loss", "loss p")?,
        link_loss: field("sim-link-loss", "link loss")?,
        file_size: field("sim-file-size", "file size")?,
        mss: field("sim-mss", "MSS")?,
        delay_ms: field("sim-delay", "delay")?,
        seed: field("sim-seed", "seed")?,
    })
}

/// The form.
#[function_component(SimulateSource)]
pub fn simulate_source(props: &SimulateSourceProps) -> Html {
    let error = use_state(|| None::<String>);
    let d = SimParams::default();
    let onsubmit = {
        let error = error.clone();
        let cb = props.on_run.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match read().and_then(|p| p.config().map(|_| p)) {
                Ok(p) => {
                    error.set(None);
                    cb.emit(p);
                }
                Err(msg) => error.set(Some(msg)),
            }
        })
    };
    let input = |id: &'static str, label: &'static str, value: String| {
        html! {
            <label class="field" for={id}>{ label }
                <input id={id} inputmode="decimal" {value} />
            </label>
        }
    };
    html! {
        <form class="source" id="simulate-source" {onsubmit} aria-label="Simulate a transfer">
            <h2>{ "Simulate" }</h2>
            <div class="grid">
                { input("sim-receivers", "Receivers", d.receivers.to_string()) }
                { input("sim-loss", "Loss p", d.loss.to_string()) }
                { input("sim-link-loss", "Link loss", d.link_loss.to_string()) }
                { input("sim-file-size", "File bytes", d.file_size.to_string()) }
                { input("sim-mss", "MSS", d.mss.to_string()) }
                { input("sim-delay", "Delay ms", d.delay_ms.to_string()) }
                { input("sim-seed", "Seed", d.seed.to_string()) }
            </div>
            <button id="simulate" type="submit">{ "Simulate" }</button>
            if let Some(msg) = &*error {
                <p class="error" role="alert">{ msg.clone() }</p>
            }
        </form>
    }
}
