//! The counts of a finished run.

use crate::transfer::Summary;
use p2mp_core::Outcome;
use yew::prelude::*;

/// Properties of [`SummaryView`].
#[derive(Properties, PartialEq)]
pub struct SummaryViewProps {
    /// The run to show.
    pub summary: Summary,
}

/// Totals, then one row per receiver.
#[function_component(SummaryView)]
pub fn summary_view(props: &SummaryViewProps) -> Html {
    let s = &props.summary;
    let totals = [
        ("Bytes", s.bytes.to_string()),
        ("Segments", s.segments.to_string()),
        ("Transmissions", s.transmissions.to_string()),
        ("Retransmissions", s.retransmissions.to_string()),
        ("Timeouts", s.timeouts.to_string()),
        ("Losses", s.losses.to_string()),
        ("Simulated delay", format!("{:.3} s", s.delay_micros as f64 / 1e6)),
    ];
    html! {
        <section id="summary">
            <h2>{ "Result" }</h2>
            <table class="totals">
                { for totals.iter().map(|(name, value)| html! {
                    <tr><th>{ *name }</th><td>{ value.clone() }</td></tr>
                }) }
            </table>
            <table class="receivers">
                <thead>
                    <tr>
                        <th>{ "Receiver" }</th><th>{ "Losses" }</th><th>{ "Timeouts" }</th>
                        <th>{ "Retransmissions" }</th><th>{ "Outcome" }</th><th>{ "File" }</th>
                    </tr>
                </thead>
                <tbody>
                    { for s.receivers.iter().map(|r| html! {
                        <tr>
                            <td>{ r.addr.to_string() }</td>
                            <td>{ r.losses }</td>
                            <td>{ r.timeouts }</td>
                            <td>{ r.retransmissions }</td>
                            <td>{ outcome_text(r.outcome) }</td>
                            <td>{ if r.identical { "identical" } else { "incomplete" } }</td>
                        </tr>
                    }) }
                </tbody>
            </table>
        </section>
    }
}

fn outcome_text(o: Outcome) -> &'static str {
    match o {
        Outcome::Active => "active",
        Outcome::Finished => "finished",
        Outcome::Failed => "failed",
    }
}
