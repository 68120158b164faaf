//! Totals at the cursor and the transfer's status.

use crate::geometry::fmt_micros;
use crate::player::{Connection, Player, Source};
use p2mp_core::view::Summary;
use yew::prelude::*;

/// Properties of [`TotalsView`].
#[derive(Properties, PartialEq)]
pub struct TotalsViewProps {
    /// The state at the cursor.
    pub summary: Summary,
    /// The player (source, counts).
    pub player: Player,
}

/// Status line and totals.
#[function_component(TotalsView)]
pub fn totals_view(props: &TotalsViewProps) -> Html {
    let s = &props.summary;
    let p = &props.player;
    let len = p.len();
    let status = if let Some(end) = &s.end {
        format!(
            "Transfer complete: {} finished, {} failed, delay {}",
            end.finished,
            end.failed,
            fmt_micros(end.delay_micros)
        )
    } else if len == 0 {
        match (&p.source, &p.connection) {
            (Source::Live { .. }, Connection::Connecting) => "Connecting to the hub…".into(),
            (Source::Live { .. }, Connection::Open) => "Connected: waiting for a transfer".into(),
            (Source::Live { .. }, Connection::Closed(why)) => format!("Live connection {why}"),
            _ => "No trace loaded: connect, open a trace or simulate".into(),
        }
    } else if s.info.is_some() {
        format!("In progress: {} of {} segments", s.segments_done, s.info.as_ref().map_or(0, |i| i.segments))
    } else {
        "In progress".into()
    };
    let source = match &p.source {
        Source::None => "none".to_string(),
        Source::Live { url } => format!("live · {url}"),
        Source::Replay { name } => format!("replay · {name}"),
        Source::Simulated { label } => format!("simulated · {label}"),
    };
    html! {
        <section aria-label="Totals">
            <p id="status" role="status" class={classes!("status", s.end.as_ref().map(|_| "complete"))}>{ status }</p>
            <p class="source">{ "Source: " }<span id="source">{ source }</span></p>
            <dl class="totals">
                <dt>{ "Events" }</dt><dd id="event-count">{ format!("{} / {}", p.cursor, len) }</dd>
                <dt>{ "Segments done" }</dt><dd id="segments-done">{ s.segments_done }</dd>
                <dt>{ "Transmissions" }</dt><dd id="tx-count">{ s.transmissions }</dd>
                <dt>{ "Retransmissions" }</dt><dd id="retx-count">{ s.retransmissions }</dd>
                <dt>{ "Timeouts" }</dt><dd id="timeout-count">{ s.timeouts }</dd>
                <dt>{ "Drops" }</dt>
                <dd id="drop-count" title="loss service + network">{ s.loss_drops + s.link_drops }</dd>
                <dt>{ "Loss service / network" }</dt><dd>{ format!("{} / {}", s.loss_drops, s.link_drops) }</dd>
                <dt>{ "Rejected" }</dt><dd>{ s.rejects }</dd>
                <dt>{ "Bad lines" }</dt>
                <dd id="bad-lines" title={p.last_bad.clone().unwrap_or_default()}>{ p.bad_lines }</dd>
            </dl>
        </section>
    }
}
