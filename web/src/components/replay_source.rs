//! The replay source: open or drop a `.jsonl` trace, or load one by URL.

use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Properties of [`ReplaySource`].
#[derive(Properties, PartialEq)]
pub struct ReplaySourceProps {
    /// A file was chosen or dropped.
    pub on_file: Callback<web_sys::File>,
    /// Load from this URL.
    pub on_url: Callback<String>,
    /// URL to start with (from `?trace=`).
    pub initial_url: AttrValue,
}

/// File picker, drop zone, URL field.
#[function_component(ReplaySource)]
pub fn replay_source(props: &ReplaySourceProps) -> Html {
    let url = use_state(|| props.initial_url.to_string());
    let hover = use_state(|| false);
    let onchange = {
        let cb = props.on_file.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            if let Some(f) = input.files().and_then(|l| l.get(0)) {
                cb.emit(f);
            }
            input.set_value("");
        })
    };
    let ondrop = {
        let cb = props.on_file.clone();
        let hover = hover.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            hover.set(false);
            if let Some(f) = e.data_transfer().and_then(|d| d.files()).and_then(|l| l.get(0)) {
                cb.emit(f);
            }
        })
    };
    let ondragover = {
        let hover = hover.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            hover.set(true);
        })
    };
    let ondragleave = {
        let hover = hover.clone();
        Callback::from(move |_: DragEvent| hover.set(false))
    };
    let oninput = {
        let url = url.clone();
        Callback::from(move |e: InputEvent| url.set(e.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let onsubmit = {
        let url = url.clone();
        let cb = props.on_url.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let u = url.trim().to_string();
            if !u.is_empty() {
                cb.emit(u);
            }
        })
    };
    html! {
        <form class="source" id="replay-source" {onsubmit} aria-label="Replay a trace">
            <h2>{ "Replay" }</h2>
            <div class={classes!("dropzone", (*hover).then_some("hover"))} {ondrop} {ondragover} {ondragleave}>
                <label for="trace-file">{ "Open a .jsonl trace, or drop it here" }</label>
                <input id="trace-file" type="file" accept=".jsonl,.json,.txt,application/jsonl" {onchange} />
            </div>
            <label for="trace-url">{ "Trace URL" }</label>
            <div class="row">
                <input id="trace-url" type="text" value={(*url).clone()} {oninput} placeholder="trace.jsonl" spellcheck="false" />
                <button id="load-url" type="submit">{ "Load" }</button>
            </div>
        </form>
    }
}
