//! P2MP-FTP in the browser: a minimal page that runs a stop-and-wait transfer in memory with the
//! core's sender and receivers and shows what happened. Built by Trunk from the top-level
//! `index.html`; the full visualizer will replace the components.
//!
//! On the host (where there is no page) the binary runs the default transfer and prints the
//! counts, so the driver is built, linted and tested with the rest of the workspace.

#[cfg(target_arch = "wasm32")]
mod components;
mod transfer;

#[cfg(target_arch = "wasm32")]
fn main() {
    yew::Renderer::<components::App>::new().render();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let params = transfer::Params::default();
    eprintln!(
        "p2mp-web is a browser app (build it with `cargo xtask web`); running its default transfer here."
    );
    match transfer::run(&params) {
        Ok(s) => {
            println!(
                "{params:?}\nsegments {}, transmissions {}, retransmissions {}, timeouts {}, losses {}, simulated delay {:.3} s",
                s.segments,
                s.transmissions,
                s.retransmissions,
                s.timeouts,
                s.losses,
                s.delay_micros as f64 / 1e6
            );
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
