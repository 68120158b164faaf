//! What the diagram's colours and marks mean, and the keyboard shortcuts.

use crate::draw::colour;
use yew::prelude::*;

fn swatch(colour: &'static str, dashed: bool) -> Html {
    let style = format!("border-top: 3px {} {colour}", if dashed { "dashed" } else { "solid" });
    html! { <span class="swatch" {style} aria-hidden="true"></span> }
}

/// Properties of [`Legend`].
#[derive(Properties, PartialEq)]
pub struct LegendProps {
    /// Mention the follow-live shortcut (the compare view has no live source).
    #[prop_or(true)]
    pub follow_live: bool,
}

/// The legend under the diagram.
#[function_component(Legend)]
pub fn legend(props: &LegendProps) -> Html {
    html! {
        <section id="legend" aria-label="Legend">
            <ul class="legend">
                <li>{ swatch(colour::DATA, false) }{ "DATA" }</li>
                <li>{ swatch(colour::RETX, true) }{ "DATA retransmission" }</li>
                <li>{ swatch(colour::ACK, false) }{ "ACK" }</li>
                <li>{ swatch(colour::FIN, false) }{ "FIN / FIN echo" }</li>
                <li><span class="mark drop">{ "×" }</span>{ "dropped by the receiver's loss service" }</li>
                <li><span class="mark drop">{ "⊗" }</span>{ "lost by the network" }</li>
                <li><span class="mark">{ "●" }</span>{ "packet in flight" }</li>
                <li><span class="mark timer">{ "▬" }</span>{ "retransmission timer" }</li>
                <li><span class="mark timer">{ "◆" }</span>{ "timeout" }</li>
                <li><span class="mark done">{ "#n✓" }</span>{ "segment complete" }</li>
            </ul>
            <p class="shortcuts">
                <kbd>{ "Space" }</kbd>{ " play/pause · " }
                <kbd>{ "←" }</kbd>{ " / " }<kbd>{ "→" }</kbd>{ " step back/forward · " }
                <kbd>{ "+" }</kbd>{ " / " }<kbd>{ "−" }</kbd>{ " speed" }
                if props.follow_live {
                    { " · " }<kbd>{ "L" }</kbd>{ " follow live · click a packet for its details" }
                }
            </p>
        </section>
    }
}
