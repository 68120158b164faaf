//! Goodput over the whole transfer as a small inline SVG, with the playhead.

use crate::geometry::fmt_micros;
use crate::player::Player;
use crate::timeline::throughput_bins;
use yew::prelude::*;

/// Properties of [`ThroughputChart`].
#[derive(Properties, PartialEq)]
pub struct ThroughputChartProps {
    /// The state shown.
    pub player: Player,
}

const W: f64 = 300.0;
const H: f64 = 90.0;
const BINS: usize = 60;

/// The chart.
#[function_component(ThroughputChart)]
pub fn throughput_chart(props: &ThroughputChartProps) -> Html {
    let p = &props.player;
    let trace = p.trace.clone();
    let (bins, t0, t1) = use_memo((p.generation, Rc::as_ptr(&p.trace) as usize), move |_| {
        let t = trace.borrow();
        let mss = t.model.summary().info.as_ref().map_or(500, |i| i.mss);
        let (t0, t1) = (t.t_first(), t.t_last());
        (throughput_bins(&t.timeline.completes, t0, t1, BINS, mss), t0, t1)
    })
    .as_ref()
    .clone();
    let peak = bins.iter().copied().fold(0.0, f64::max);
    let points: String = bins
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let x = (i as f64 + 0.5) * W / BINS as f64;
            let y = H - 4.0 - if peak > 0.0 { v / peak * (H - 14.0) } else { 0.0 };
            format!("{x:.1},{y:.1} ")
        })
        .collect();
    let px = if t1 > t0 { (p.playhead.saturating_sub(t0)) as f64 / (t1 - t0) as f64 * W } else { 0.0 };
    let label = if peak >= 1e6 {
        format!("peak {:.2} MB/s", peak / 1e6)
    } else {
        format!("peak {:.1} kB/s", peak / 1e3)
    };
    html! {
        <section aria-label="Throughput">
            <h2>{ "Throughput" }</h2>
            <svg id="throughput" viewBox={format!("0 0 {W} {H}")} role="img"
                aria-label={format!("Goodput over {}: {label}", fmt_micros(t1.saturating_sub(t0)))}>
                <rect x="0" y="0" width={W.to_string()} height={H.to_string()} fill="#f7f7f7" />
                <polyline points={points} fill="none" stroke="#0072B2" stroke-width="2" />
                <line x1={px.to_string()} x2={px.to_string()} y1="0" y2={H.to_string()} stroke="#1a1a1a" stroke-dasharray="3 2" />
                <text x="4" y="12" font-size="11" fill="#333">{ label }</text>
            </svg>
            <p class="hint">{ format!("Segments completed per second × MSS, over {}", fmt_micros(t1.saturating_sub(t0))) }</p>
        </section>
    }
}

use std::rc::Rc;
