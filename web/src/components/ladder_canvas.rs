//! The space-time (ladder) diagram's canvas. The app's animation-frame loop paints it (with
//! [`crate::draw::Painter`]) straight from the player, outside Yew's renders; a click picks the
//! packet under the pointer in what is on screen.

use crate::draw::pick;
use crate::player::{Action, Store};
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

/// Properties of [`LadderCanvas`].
#[derive(Properties, PartialEq)]
pub struct LadderCanvasProps {
    /// The canvas element, for the painter.
    pub canvas: NodeRef,
    /// The player as painted (read at the click).
    pub store: Store,
    /// Number of receivers (the canvas's height follows).
    pub receivers: usize,
    /// Where a click's selection goes.
    pub dispatch: Callback<Action>,
    /// If set, a click's pick (flight index or nothing) goes here instead (teaching mode).
    #[prop_or_default]
    pub on_pick: Option<Callback<Option<usize>>>,
}

/// The diagram.
#[function_component(LadderCanvas)]
pub fn ladder_canvas(props: &LadderCanvasProps) -> Html {
    let onclick = {
        let canvas = props.canvas.clone();
        let store = props.store.clone();
        let dispatch = props.dispatch.clone();
        let on_pick = props.on_pick.clone();
        Callback::from(move |e: MouseEvent| {
            let Some(c) = canvas.cast::<HtmlCanvasElement>() else { return };
            let rect = c.get_bounding_client_rect();
            let (x, y) = (f64::from(e.client_x()) - rect.left(), f64::from(e.client_y()) - rect.top());
            let picked = pick(&c, &store.0.borrow(), x, y);
            match &on_pick {
                Some(cb) => cb.emit(picked),
                None => dispatch.emit(Action::Select(picked)),
            }
        })
    };
    let lanes = props.receivers.max(1) + 1;
    let height = (lanes as f64 * 72.0 + 70.0).clamp(260.0, 760.0);
    html! {
        <canvas id="ladder" ref={props.canvas.clone()} {onclick} style={format!("height: {height}px")}
            role="img" aria-label="Space-time diagram: the client and each server as lanes, time to the right; \
            click a packet for its details" tabindex="0">
        </canvas>
    }
}
