//! The `p2mp-web` binary: the page on wasm32 (see the library's docs), a small tool on the host.

#[cfg(target_arch = "wasm32")]
fn main() {
    yew::Renderer::<p2mp_web::components::App>::new().render();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    use std::process::ExitCode;
    let args: Vec<String> = std::env::args().skip(1).collect();
    match host::run(&args) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The host tool's commands.
#[cfg(not(target_arch = "wasm32"))]
mod host {
    use p2mp_web::player::{Action, Player, Source};
    use p2mp_web::simulate::{simulate_jsonl, SimParams};

    fn arg<T: std::str::FromStr>(args: &[String], i: usize, name: &str, default: T) -> Result<T, String> {
        match args.get(i) {
            None => Ok(default),
            Some(s) => s.parse().map_err(|_| format!("{name}: `{s}` is not valid")),
        }
    }

    /// Runs one command; returns what to print.
    pub fn run(args: &[String]) -> Result<String, String> {
        match args.first().map(String::as_str) {
            Some("sim") => {
                let d = SimParams::default();
                let p = SimParams {
                    receivers: arg(args, 1, "receivers", d.receivers)?,
                    loss: arg(args, 2, "loss", d.loss)?,
                    file_size: arg(args, 3, "file size", d.file_size)?,
                    seed: arg(args, 4, "seed", d.seed)?,
                    ..d
                };
                simulate_jsonl(&p)
            }
            Some("summary") => {
                let path = args.get(1).ok_or("summary needs a file")?;
                let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
                let mut p = Player::default();
                p.apply(Action::Open(Source::Replay { name: path.clone() }));
                p.apply(Action::Ingest(text));
                let t = p.trace();
                let s = t.model.summary();
                Ok(format!(
                    "events {} (bad lines {}), flights {}, receivers {}, retransmissions {}, timeouts {}, \
                     loss drops {}, link drops {}, ended {}\n",
                    t.model.events.len(),
                    p.bad_lines,
                    t.model.flights.len(),
                    s.receivers.len(),
                    s.retransmissions,
                    s.timeouts,
                    s.loss_drops,
                    s.link_drops,
                    s.end.is_some()
                ))
            }
            _ => {
                Err("usage: p2mp-web sim [receivers] [loss] [file-size] [seed] | p2mp-web summary FILE"
                    .into())
            }
        }
    }
}
