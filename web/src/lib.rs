//! P2MP-FTP in the browser (library half; `main.rs` is the entry point): a visualizer that watches live transfers (WebSocket from the hub),
//! replays recorded traces (JSON Lines files or URLs) and runs the core's simulator in the page.
//! Built by Trunk from the top-level `index.html`.
//!
//! The state logic (player reducer, timeline index, ladder geometry, narration, simulation
//! source) compiles everywhere and is tested on the host; the Yew components only exist on
//! wasm32. On the host the binary is a small tool around the same code:
//!
//! Page URL parameters: `?trace=URL` replays a trace at start (`&autoplay=1` plays it; give
//! `trace=` several times to replay a client's and its servers' recordings merged, see
//! [`replay_files`]),
//! `?live=0` keeps the page from connecting to the hub at its own origin (the default).
//! `?sim=1&n=5&p=0.1...` or `?preset=lost-ack` starts the in-browser simulation with those
//! parameters (see [`simulate::SimParams::to_query`] for the keys: n, p, mss, size, delay,
//! delays, jitter, jitters, bw, rto, maxto, dialect, linkloss, lp, burst, mode, window, seed,
//! dead, drops, compare, cw); the page keeps its URL in step with the controls. `&play=0` starts
//! paused. `compare=1` (or `?preset=compare`) shows the scenario under stop-and-wait, go-back-N
//! and selective repeat side by side on one clock (`cw`: their window, default 8; see
//! [`compare`]).
//!
//! ```text
//! p2mp-web sim [receivers] [loss] [file-size] [seed]   # a simulated trace as JSON Lines
//! p2mp-web summary FILE.jsonl                          # what the side panel would show
//! ```

pub mod compare;
pub mod experiments;
pub mod geometry;
pub mod narrate;
pub mod player;
pub mod replay_files;
pub mod scene;
pub mod sim_source;
pub mod simulate;
pub mod timeline;

#[cfg(target_arch = "wasm32")]
pub mod components;
#[cfg(target_arch = "wasm32")]
pub mod draw;
#[cfg(target_arch = "wasm32")]
pub mod io;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_compare;
#[cfg(test)]
mod tests_teaching;
