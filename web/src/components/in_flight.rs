//! Teaching mode's list of datagrams on the wire: each is a button (Tab to it, Enter to drop
//! it), the keyboard twin of clicking the packet in the diagram.

use p2mp_core::trace::TxId;
use yew::prelude::*;

/// One datagram on the wire.
#[derive(Clone, Debug, PartialEq)]
pub struct WireEntry {
    /// Its transmission id.
    pub tx: TxId,
    /// The receiver whose path it travels.
    pub rx: u16,
    /// Client to server?
    pub downstream: bool,
    /// "DATA 17 → server 2".
    pub label: String,
    /// Where its tip is on the canvas (CSS pixels), if drawn.
    pub at: Option<(f64, f64)>,
}

/// Properties of [`InFlightList`].
#[derive(Properties, PartialEq)]
pub struct InFlightListProps {
    /// What is on the wire (the first few).
    pub entries: Vec<WireEntry>,
    /// How many are on the wire in all.
    pub total: usize,
    /// Drop one.
    pub on_drop: Callback<TxId>,
}

/// The list.
#[function_component(InFlightList)]
pub fn in_flight_list(props: &InFlightListProps) -> Html {
    html! {
        <section id="in-flight-panel" aria-label="Packets in flight">
            <h3>{ format!("In flight ({})", props.total) }</h3>
            <p class="hint">{ "Click a moving packet in the diagram, or pick one here (Tab, Enter), to lose it on the network." }</p>
            <ul id="in-flight">
                { for props.entries.iter().map(|w| {
                    let cb = props.on_drop.clone();
                    let tx = w.tx;
                    let (x, y) = w.at.map_or((String::new(), String::new()), |(x, y)| (format!("{x:.1}"), format!("{y:.1}")));
                    html! {
                        <li>
                            <button type="button" class="drop" data-tx={tx.0.to_string()} data-rx={w.rx.to_string()}
                                data-down={w.downstream.to_string()} data-x={x} data-y={y}
                                onclick={Callback::from(move |_: MouseEvent| cb.emit(tx))}
                                aria-label={format!("Drop {}", w.label)}>{ format!("✕ {}", w.label) }</button>
                        </li>
                    }
                }) }
            </ul>
        </section>
    }
}
