//! The live source: the hub's WebSocket URL, connect/reconnect, and "run another transfer".

use crate::player::Connection;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Properties of [`LiveSource`].
#[derive(Properties, PartialEq)]
pub struct LiveSourceProps {
    /// The URL to start with.
    pub default_url: AttrValue,
    /// Connection state (Idle when another source is active).
    pub connection: Connection,
    /// Connect (or reconnect) to this URL.
    pub on_connect: Callback<String>,
    /// Ask the hub for another transfer.
    pub on_again: Callback<()>,
    /// The outcome of the last "again" request, if it failed.
    pub again_error: Option<String>,
}

/// Hub URL, connect button, state.
#[function_component(LiveSource)]
pub fn live_source(props: &LiveSourceProps) -> Html {
    let url = use_state(|| props.default_url.to_string());
    let oninput = {
        let url = url.clone();
        Callback::from(move |e: InputEvent| url.set(e.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let connect = {
        let url = url.clone();
        let cb = props.on_connect.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            cb.emit((*url).clone());
        })
    };
    let again = {
        let cb = props.on_again.clone();
        Callback::from(move |_: MouseEvent| cb.emit(()))
    };
    let (state, class) = match &props.connection {
        Connection::Idle => ("not connected".to_string(), "idle"),
        Connection::Connecting => ("connecting…".to_string(), "connecting"),
        Connection::Open => ("connected".to_string(), "open"),
        Connection::Closed(why) => (why.clone(), "closed"),
    };
    let label = if props.connection == Connection::Idle { "Connect" } else { "Reconnect" };
    html! {
        <form class="source" id="live-source" onsubmit={connect} aria-label="Live source">
            <h2>{ "Live" }</h2>
            <label for="live-url">{ "Hub" }</label>
            <input id="live-url" type="url" value={(*url).clone()} {oninput} spellcheck="false" />
            <div class="row">
                <button id="connect" type="submit">{ label }</button>
                <button id="again" type="button" onclick={again}>{ "Run another transfer" }</button>
            </div>
            <p id="live-status" class={classes!("conn", class)}>{ state }</p>
            if let Some(e) = &props.again_error {
                <p class="error" role="alert" id="again-error">{ e.clone() }</p>
            }
        </form>
    }
}
