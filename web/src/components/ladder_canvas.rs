//! The space-time (ladder) diagram: a canvas redrawn after every render, and a click picks the
//! packet under the pointer.

use crate::draw::{draw, pick};
use crate::player::{Action, Player};
use p2mp_core::Outcome;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

/// Properties of [`LadderCanvas`].
#[derive(Properties, PartialEq)]
pub struct LadderCanvasProps {
    /// The state to draw.
    pub player: Player,
    /// Receivers' outcomes at the cursor (for the lane labels).
    pub outcomes: Vec<Outcome>,
    /// Where a click's selection goes.
    pub dispatch: Callback<Action>,
    /// If set, a click's pick (flight index or nothing) goes here instead (teaching mode).
    #[prop_or_default]
    pub on_pick: Option<Callback<Option<usize>>>,
}

/// The diagram.
#[function_component(LadderCanvas)]
pub fn ladder_canvas(props: &LadderCanvasProps) -> Html {
    let canvas = use_node_ref();
    let redraw = use_force_update();
    {
        // Redraw when the window is resized.
        use_effect_with((), move |_| {
            let cb = Closure::<dyn FnMut()>::new(move || redraw.force_update());
            if let Some(w) = web_sys::window() {
                let _ = w.add_event_listener_with_callback("resize", cb.as_ref().unchecked_ref());
            }
            move || {
                if let Some(w) = web_sys::window() {
                    let _ = w.remove_event_listener_with_callback("resize", cb.as_ref().unchecked_ref());
                }
            }
        });
    }
    {
        let canvas = canvas.clone();
        let player = props.player.clone();
        let outcomes = props.outcomes.clone();
        use_effect(move || {
            if let Some(c) = canvas.cast::<HtmlCanvasElement>() {
                let perf = web_sys::window().and_then(|w| w.performance());
                let t0 = perf.as_ref().map_or(0.0, |p| p.now());
                draw(&c, &player, &outcomes);
                // The last draw's duration, for the performance script (e2e/tests/perf.rs).
                if let (Some(p), Some(w)) = (perf, web_sys::window()) {
                    let _ = js_sys::Reflect::set(&w, &"__drawMs".into(), &(p.now() - t0).into());
                }
            }
        });
    }
    let onclick = {
        let canvas = canvas.clone();
        let player = props.player.clone();
        let dispatch = props.dispatch.clone();
        let on_pick = props.on_pick.clone();
        Callback::from(move |e: MouseEvent| {
            let Some(c) = canvas.cast::<HtmlCanvasElement>() else { return };
            let rect = c.get_bounding_client_rect();
            let (x, y) = (f64::from(e.client_x()) - rect.left(), f64::from(e.client_y()) - rect.top());
            let picked = pick(&c, &player, x, y);
            match &on_pick {
                Some(cb) => cb.emit(picked),
                None => dispatch.emit(Action::Select(picked)),
            }
        })
    };
    let lanes = props.outcomes.len().max(1) + 1;
    let height = (lanes as f64 * 72.0 + 70.0).clamp(260.0, 760.0);
    html! {
        <canvas id="ladder" ref={canvas} {onclick} style={format!("height: {height}px")}
            role="img" aria-label="Space-time diagram: the client and each server as lanes, time to the right; \
            click a packet for its details" tabindex="0">
        </canvas>
    }
}
