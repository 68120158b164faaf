//! Play, pause, step, speed, the timeline scrubber, follow-live and zoom.

use crate::geometry::fmt_micros;
use crate::player::{speed_label, Action, Player, SPEED_MAX};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

/// Properties of [`TransportControls`].
#[derive(Properties, PartialEq)]
pub struct TransportControlsProps {
    /// The state shown.
    pub player: Player,
    /// Where actions go.
    pub dispatch: Callback<Action>,
}

/// Scrubber resolution (steps over the trace's duration).
const SCRUB_STEPS: u64 = 10_000;

/// The playback bar.
#[function_component(TransportControls)]
pub fn transport_controls(props: &TransportControlsProps) -> Html {
    let p = &props.player;
    let d = &props.dispatch;
    let send = |a: Action| {
        let d = d.clone();
        Callback::from(move |_: MouseEvent| d.emit(a.clone()))
    };
    let (t0, t1, len) = {
        let t = p.trace();
        (t.t_first(), t.t_last(), t.model.events.len())
    };
    let span = t1.saturating_sub(t0).max(1);
    let pos = (p.playhead.saturating_sub(t0) as u128 * u128::from(SCRUB_STEPS) / u128::from(span)) as u64;
    let on_scrub = {
        let d = d.clone();
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            if let Ok(v) = input.value().parse::<u64>() {
                let t = t0 + (u128::from(v) * u128::from(span) / u128::from(SCRUB_STEPS)) as u64;
                d.emit(Action::SeekTime(t));
            }
        })
    };
    let on_speed = {
        let d = d.clone();
        Callback::from(move |e: Event| {
            let sel: HtmlSelectElement = e.target_unchecked_into();
            if let Ok(i) = sel.value().parse::<usize>() {
                d.emit(Action::SetSpeed(i));
            }
        })
    };
    let on_follow = {
        let d = d.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            d.emit(Action::FollowLive(input.checked()));
        })
    };
    let empty = len == 0;
    html! {
        <section id="controls" aria-label="Playback">
            <div class="buttons">
                <button id="step-back" onclick={send(Action::StepBack)} disabled={empty}
                    title="Step one event back (←)" aria-label="Step back">{ "◀ Step" }</button>
                <button id="play" class="primary" onclick={send(Action::TogglePlay)} disabled={empty}
                    title="Play or pause (Space)" aria-pressed={p.playing.to_string()}>
                    { if p.playing { "Pause" } else { "▶ Play" } }
                </button>
                <button id="step-forward" onclick={send(Action::StepForward)} disabled={empty}
                    title="Step one event forward (→)" aria-label="Step forward">{ "Step ▶" }</button>
                <label class="speed">
                    { "Speed " }
                    <button id="slower" onclick={send(Action::Slower)} title="Slower (−)" aria-label="Slower">{ "−" }</button>
                    <select id="speed" onchange={on_speed} aria-label="Playback speed">
                        { for (0..=SPEED_MAX).map(|i| html! {
                            <option value={i.to_string()} selected={i == p.speed}>{ speed_label(i) }</option>
                        }) }
                    </select>
                    <button id="faster" onclick={send(Action::Faster)} title="Faster (+)" aria-label="Faster">{ "+" }</button>
                </label>
                <label class="follow">
                    <input id="follow-live" type="checkbox" checked={p.follow_live} onchange={on_follow} />
                    { " Follow live" }
                </label>
                <span class="zoom">
                    { "Window " }
                    <button id="zoom-in" onclick={send(Action::Zoom(0.5))} aria-label="Zoom in" title="Narrower time window">{ "+" }</button>
                    <span id="window">{ fmt_micros(p.window) }</span>
                    <button id="zoom-out" onclick={send(Action::Zoom(2.0))} aria-label="Zoom out" title="Wider time window">{ "−" }</button>
                </span>
            </div>
            <div class="scrub">
                <input id="scrubber" type="range" min="0" max={SCRUB_STEPS.to_string()} value={pos.to_string()}
                    oninput={on_scrub} disabled={empty} aria-label="Timeline" />
                <span id="cursor" aria-live="off">
                    { format!("event {} / {} · t = {} / {}", p.cursor, len,
                        fmt_micros(p.playhead.saturating_sub(t0)), fmt_micros(span)) }
                </span>
            </div>
        </section>
    }
}
