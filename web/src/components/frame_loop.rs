//! A hook that calls back on every animation frame with the milliseconds since the last one.

use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yew::prelude::*;

type FrameFn = Rc<RefCell<Option<Closure<dyn FnMut(f64)>>>>;

/// Runs `on_frame(elapsed_ms)` on every `requestAnimationFrame` while the component lives.
#[hook]
pub fn use_frame_loop(on_frame: Callback<f64>) {
    use_effect_with((), move |_| {
        let alive = Rc::new(RefCell::new(true));
        let frame: FrameFn = Rc::new(RefCell::new(None));
        let last = Rc::new(RefCell::new(None::<f64>));
        let request = |f: &FrameFn| {
            if let (Some(w), Some(cb)) = (web_sys::window(), f.borrow().as_ref()) {
                let _ = w.request_animation_frame(cb.as_ref().unchecked_ref());
            }
        };
        {
            let frame2 = frame.clone();
            let alive = alive.clone();
            *frame.borrow_mut() = Some(Closure::new(move |now: f64| {
                if !*alive.borrow() {
                    return;
                }
                let prev = last.borrow_mut().replace(now);
                on_frame.emit(prev.map_or(0.0, |p| now - p));
                request(&frame2);
            }));
        }
        request(&frame);
        move || {
            *alive.borrow_mut() = false;
            // The closure holds itself (to request the next frame), so it outlives this handle;
            // `alive` stops it at its next frame.
            drop(frame);
        }
    });
}
