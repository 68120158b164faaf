//! The replay source: open or drop a `.jsonl` trace, or load one by URL; or several at once
//! (a client's and its servers' `--trace-file` recordings), which replay merged as one
//! transfer (see [`crate::replay_files`]).

use web_sys::{FileList, HtmlInputElement};
use yew::prelude::*;

/// The files of a list, in order.
fn files_of(list: Option<FileList>) -> Vec<web_sys::File> {
    list.map(|l| (0..l.length()).filter_map(|i| l.get(i)).collect()).unwrap_or_default()
}

/// Properties of [`ReplaySource`].
#[derive(Properties, PartialEq)]
pub struct ReplaySourceProps {
    /// Files were chosen or dropped (one or more, in order).
    pub on_files: Callback<Vec<web_sys::File>>,
    /// Load from this URL (several: separated by white space).
    pub on_url: Callback<String>,
    /// URL(s) to start with (from `?trace=`, space-separated when given several times).
    pub initial_url: AttrValue,
}

/// File picker, drop zone, URL field.
#[function_component(ReplaySource)]
pub fn replay_source(props: &ReplaySourceProps) -> Html {
    let url = use_state(|| props.initial_url.to_string());
    let hover = use_state(|| false);
    let onchange = {
        let cb = props.on_files.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let files = files_of(input.files());
            if !files.is_empty() {
                cb.emit(files);
            }
            input.set_value("");
        })
    };
    let ondrop = {
        let cb = props.on_files.clone();
        let hover = hover.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            hover.set(false);
            let files = files_of(e.data_transfer().and_then(|d| d.files()));
            if !files.is_empty() {
                cb.emit(files);
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
                <label for="trace-file">{ "Open a .jsonl trace, or drop it here (several: a client's and its servers' recordings, replayed as one transfer)" }</label>
                <input id="trace-file" type="file" multiple=true accept=".jsonl,.json,.txt,application/jsonl" {onchange} />
            </div>
            <label for="trace-url">{ "Trace URL (several: separated by spaces)" }</label>
            <div class="row">
                <input id="trace-url" type="text" value={(*url).clone()} {oninput} placeholder="trace.jsonl" spellcheck="false" />
                <button id="load-url" type="submit">{ "Load" }</button>
            </div>
        </form>
    }
}
