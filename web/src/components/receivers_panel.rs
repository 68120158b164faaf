//! Per-receiver progress, timeouts, retransmissions, RTO and outcome.

use crate::geometry::fmt_micros;
use p2mp_core::view::Summary;
use p2mp_core::Outcome;
use yew::prelude::*;

/// Properties of [`ReceiversPanel`].
#[derive(Properties, PartialEq)]
pub struct ReceiversPanelProps {
    /// The state at the cursor.
    pub summary: Summary,
}

/// One row per receiver.
#[function_component(ReceiversPanel)]
pub fn receivers_panel(props: &ReceiversPanelProps) -> Html {
    let s = &props.summary;
    let segments = s.info.as_ref().map_or(0, |i| i.segments);
    html! {
        <section aria-label="Receivers">
            <h2>{ "Receivers" }</h2>
            <ul id="receivers">
                { for s.receivers.iter().enumerate().map(|(i, r)| {
                    let pct = if segments == 0 {
                        if r.outcome == Outcome::Finished { 100.0 } else { 0.0 }
                    } else {
                        r.acked as f64 * 100.0 / segments as f64
                    };
                    let (outcome, class) = match r.outcome {
                        Outcome::Active => ("active", "active"),
                        Outcome::Finished => ("✓ finished", "finished"),
                        Outcome::Failed => ("✗ failed", "failed"),
                    };
                    html! {
                        <li data-receiver={i.to_string()} data-outcome={class} class={classes!("receiver", class)}>
                            <div class="rx-head">
                                <strong>{ format!("Server {i}") }</strong>
                                <span class="rx-name">{ r.name.clone() }</span>
                                <span class={classes!("outcome", class)}>{ outcome }</span>
                            </div>
                            <div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax={segments.to_string()}
                                aria-valuenow={r.acked.to_string()} aria-label={format!("Server {i} progress")}>
                                <div class="fill" style={format!("width: {pct:.1}%")}></div>
                            </div>
                            <div class="rx-stats">
                                <span>{ format!("{}/{} segs", r.acked, segments) }</span>
                                <span data-field="timeouts">{ format!("{} timeouts", r.timeouts) }</span>
                                <span data-field="retx">{ format!("{} retx", r.retransmissions) }</span>
                                <span data-field="drops">{ format!("{} drops", r.loss_drops + r.link_drops) }</span>
                                <span data-field="rto">{ format!("RTO {}", r.rto_micros.map_or_else(|| "–".into(), fmt_micros)) }</span>
                            </div>
                        </li>
                    }
                }) }
            </ul>
        </section>
    }
}
