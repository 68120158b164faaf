//! The `p2mp` tool (`p2mp demo`, `p2mp bench`); see [`p2mp_native::app`].

fn main() -> std::process::ExitCode {
    p2mp_native::app::main()
}
