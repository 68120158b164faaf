//! The selected packet's header fields and fate, and the last event in words.

use crate::narrate::{describe, fate_text, kind_name, node_name};
use crate::player::{Action, Player};
use p2mp_core::trace::EventKind;
use p2mp_core::view::Flight;
use p2mp_core::wire::{Dialect, PacketKind};
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
                        <dt>{ "Header" }</dt><dd data-field="header">{ header_text(&trace, f) }</dd>
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

/// The datagram's header fields as they were on the wire, in the transfer's dialect: sequence
/// (a segment number, or the text dialect's byte offset), checksum and type.
fn header_text(trace: &crate::player::Trace, f: &Flight) -> String {
    let info = trace.model.summary().info.as_ref();
    let dialect = info.map_or(Dialect::Binary, |i| i.dialect);
    let checksum = match trace.model.events.get(f.send_index).map(|e| &e.kind) {
        Some(EventKind::Send { checksum: Some(c), .. }) => Some(*c),
        _ => None,
    };
    let seq = f.seq.unwrap_or(0);
    match dialect {
        Dialect::Binary => {
            let (sum, kind) = match f.packet {
                PacketKind::Data => {
                    (checksum.map_or_else(|| "not recorded".into(), |c| format!("0x{c:04X}")), "0x5555")
                }
                PacketKind::Ack => ("0x0000".into(), "0xAAAA"),
                PacketKind::Fin => ("0x0000".into(), "0xFFFF"),
            };
            format!("seq {seq} · checksum {sum} · type {kind}")
        }
        Dialect::Text => {
            // The text dialect numbers bytes: the offset of the segment's first byte.
            let offset = info.map_or(0, |i| u64::from(seq) * u64::from(i.mss)).min(u64::from(u32::MAX));
            let (sum, kind) = match f.packet {
                PacketKind::Ack => ("0000000000000000".to_string(), "1010101010101010"),
                _ => (
                    checksum.map_or_else(|| "not recorded".into(), |c| format!("{c:016b}")),
                    "0101010101010101",
                ),
            };
            format!("offset {offset} · checksum {sum} · type {kind}")
        }
    }
}
