//! The `p2mp` tool: one binary with subcommands (`demo`, `bench`, `experiment`, `ui`, `impair`, `trace`).

pub mod bench;
pub mod demo;
pub mod experiment;
pub mod impair;
pub mod trace;
pub mod ui;

use crate::cli::run_main;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// P2MP-FTP: point-to-multipoint reliable file transfer over UDP.
#[derive(Debug, Parser)]
#[command(name = "p2mp", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start n servers on loopback in this process, send them a random file, verify the copies.
    Demo(demo::DemoArgs),
    /// Measure real loopback transfers (p = 0) for n = 1..5 receivers.
    Bench(bench::BenchArgs),
    /// The three classic experiments or a custom sweep: simulated (default) or real (--real),
    /// with the analytic model beside them; table, CSV, SVG and PNG.
    Experiment(experiment::ExperimentArgs),
    /// Serve the web app and the live trace hub on one port (default http://127.0.0.1:8080/):
    /// nodes publish with --trace ws://HOST:PORT/ws/publish, browsers watch.
    Ui(ui::UiArgs),
    /// UDP impairment proxies (loss, bursts, duplication, reordering, delay, jitter, bandwidth,
    /// corruption; seeded) to put between a client and its servers.
    Impair(impair::ImpairArgs),
    /// Work with recorded traces: `p2mp trace merge OUT IN...` merges the --trace-file
    /// recordings of one transfer's client and servers into one trace that replays whole.
    Trace(trace::TraceArgs),
    /// Echo datagrams (the far end of `bench --arq`'s ping-pong floor on the namespaced
    /// network, one process per receiver as the servers are).
    #[command(hide = true)]
    Echo(EchoArgs),
}

/// `p2mp echo`: replies to every datagram with `--reply-len` bytes until a one-byte datagram
/// or 30 seconds of silence.
#[derive(Debug, clap::Args)]
pub struct EchoArgs {
    /// Address to listen on.
    #[arg(long)]
    pub bind: std::net::SocketAddr,
    /// Bytes per reply.
    #[arg(long, default_value_t = 8)]
    pub reply_len: usize,
    /// Echo from a current-thread tokio runtime with one armed timer, as a server runs,
    /// instead of a blocking socket.
    #[arg(long)]
    pub tokio: bool,
}

fn echo(args: &EchoArgs) -> ExitCode {
    const SILENCE: std::time::Duration = std::time::Duration::from_secs(30);
    let sock =
        std::net::UdpSocket::bind(args.bind).and_then(|s| s.set_read_timeout(Some(SILENCE)).map(|()| s));
    let served = sock.and_then(|sock| {
        if !args.tokio {
            crate::blast::echo(&sock, args.reply_len);
            return Ok(());
        }
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        rt.block_on(async {
            sock.set_nonblocking(true)?;
            let sock = tokio::net::UdpSocket::from_std(sock)?;
            crate::blast::echo_tokio(&sock, args.reply_len, SILENCE).await;
            Ok(())
        })
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("p2mp echo: error: cannot echo on {}: {e}", args.bind);
            ExitCode::from(2)
        }
    }
}

/// Entry point of the `p2mp` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo(args) => run_main("p2mp demo", true, demo::run(args)),
        Command::Bench(args) => run_main("p2mp bench", false, bench::run(args)),
        Command::Experiment(args) => run_main("p2mp experiment", false, experiment::run(args)),
        Command::Ui(args) => run_main("p2mp ui", true, ui::run(args)),
        Command::Impair(args) => crate::cli::run_main_handling_ctrl_c("p2mp impair", true, impair::run(args)),
        Command::Trace(args) => run_main("p2mp trace", false, trace::run(args)),
        Command::Echo(args) => echo(&args),
    }
}
