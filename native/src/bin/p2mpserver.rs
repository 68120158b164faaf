//! The `p2mpserver` binary; see [`p2mp_native::cli::server`].

fn main() -> std::process::ExitCode {
    p2mp_native::cli::server::main()
}
