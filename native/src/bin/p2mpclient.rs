//! The `p2mpclient` binary; see [`p2mp_native::cli::client`].

fn main() -> std::process::ExitCode {
    p2mp_native::cli::client::main()
}
