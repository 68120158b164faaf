//! The page: the parameters form and the result of the last run.

use super::{ParamsForm, SummaryView};
use crate::transfer::{self, Params, Summary};
use yew::prelude::*;

/// Root component.
#[function_component(App)]
pub fn app() -> Html {
    let result = use_state(|| None::<Result<Summary, String>>);
    let on_run = {
        let result = result.clone();
        Callback::from(move |params: Params| result.set(Some(transfer::run(&params))))
    };
    html! {
        <main>
            <h1>{ "P2MP-FTP" }</h1>
            <p>
                { "One sender delivers a file to n receivers with stop-and-wait ARQ. This page \
                   runs the protocol's sans-IO core in your browser: datagrams are delivered \
                   instantly, each receiver's loss service drops them with probability p, and \
                   simulated time jumps to the sender's 1 s timer when nothing is in flight." }
            </p>
            <ParamsForm {on_run} />
            {
                match &*result {
                    None => html! {},
                    Some(Ok(summary)) => html! { <SummaryView summary={summary.clone()} /> },
                    Some(Err(e)) => html! { <p class="error" role="alert">{ e.clone() }</p> },
                }
            }
        </main>
    }
}
