//! The selected packet's header fields and fate, and the last event in words.

use crate::narrate::{describe, fate_text, kind_name, node_name};
use crate::player::{Action, Player};
use yew::prelude::*;

/// Properties of [`PacketDetails`].
#[derive(Properties, PartialEq)]
pub struct PacketDetailsProps {
    /// The state shown.
    pub player: Player,
    /// Where actions go.
    pub dispatch: Callback<Action>,
}

/// Details of the selected flight.
#[function_component(PacketDetails)]
pub fn packet_details(props: &PacketDetailsProps) -> Html {
    let p = &props.player;
    let trace = p.trace();
    let t0 = trace.t_first();
    let last = p.cursor.checked_sub(1).and_then(|i| trace.model.events.get(i)).map(describe);
    let flight = p.selected.and_then(|i| trace.model.flights.get(i));
    let clear = {
        let d = props.dispatch.clone();
        Callback::from(move |_: MouseEvent| d.emit(Action::Select(None)))
    };
    html! {
        <section id="details" aria-label="Selected packet">
            <p id="last-event" aria-live="polite">
                <strong>{ "Last event: " }</strong>{ last.unwrap_or_else(|| "none yet".into()) }
            </p>
            if let Some(f) = flight {
                <div id="packet-details">
                    <h3>{ format!("{} {}", kind_name(f.packet), f.seq.map_or_else(String::new, |s| format!("#{s}"))) }
                        <button class="link" onclick={clear} aria-label="Clear selection">{ "✕" }</button></h3>
                    <dl>
                        <dt>{ "Kind" }</dt><dd data-field="kind">{ kind_name(f.packet) }</dd>
                        <dt>{ "Sequence" }</dt><dd data-field="seq">{ f.seq.map_or_else(|| "–".into(), |s| s.to_string()) }</dd>
                        <dt>{ "Tx id" }</dt><dd data-field="tx">{ f.tx.0.to_string() }</dd>
                        <dt>{ "Bytes" }</dt><dd data-field="bytes">{ f.bytes }</dd>
                        <dt>{ "Retransmission" }</dt><dd data-field="retx">{ if f.retx { "yes" } else { "no" } }</dd>
                        <dt>{ "Path" }</dt>
                        <dd data-field="path">{ if f.downstream() {
                            format!("client → server {}", f.rx)
                        } else {
                            format!("{} → client", node_name(f.from))
                        } }</dd>
                        <dt>{ "Sent" }</dt><dd>{ crate::geometry::fmt_micros(f.sent.total_micros().saturating_sub(t0)) }</dd>
                        <dt>{ "Fate" }</dt><dd data-field="fate">{ fate_text(f, t0) }</dd>
                    </dl>
                </div>
            } else {
                <p class="hint">{ "Click a packet in the diagram (or step) to see its header and fate." }</p>
            }
        </section>
    }
}
