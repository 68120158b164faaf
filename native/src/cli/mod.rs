//! Command-line front ends of `p2mpserver` and `p2mpclient` (the binaries are thin wrappers).

pub mod client;
pub mod server;

use crate::error::{NativeError, Result};
use p2mp_core::{Dialect, RtoPolicy};
use std::future::Future;
use std::process::ExitCode;
use std::time::Duration;

/// Wire dialect, as a command-line value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Wire {
    /// Big-endian binary headers (the default; what Python 3 ports of the assignment use).
    Binary,
    /// The original scripts' ASCII framing with `###` separators and byte offsets.
    Text,
}

impl From<Wire> for Dialect {
    fn from(w: Wire) -> Dialect {
        match w {
            Wire::Binary => Dialect::Binary,
            Wire::Text => Dialect::Text,
        }
    }
}

/// Retransmission timeout policy, as a command-line value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Rto {
    /// One timer per segment, always `--timeout` (the original behaviour).
    Fixed,
    /// Per-receiver RFC 6298 estimate, starting at `--timeout`, kept within
    /// `--rto-min`..`--rto-max`.
    Adaptive,
}

/// ARQ scheme on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ArqMode {
    /// One segment at a time (the classic protocol, and the only one the text dialect has).
    StopAndWait,
    /// Up to `--window` segments in flight; cumulative ACKs; works with any server.
    GoBackN,
    /// Up to `--window` segments in flight, each acknowledged and resent on its own; servers
    /// should run with `--window` to buffer out-of-order segments (without it they still work,
    /// more slowly).
    SelectiveRepeat,
}

/// `--congestion`: the windowed modes' congestion response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CongestionArg {
    /// Model-based pacing at the slowest receiver's delivery rate (BBR-style).
    Bbr,
    /// The configured window, unpaced.
    Fixed,
}

impl From<CongestionArg> for p2mp_core::Congestion {
    fn from(c: CongestionArg) -> Self {
        match c {
            CongestionArg::Bbr => p2mp_core::Congestion::Bbr,
            CongestionArg::Fixed => p2mp_core::Congestion::Fixed,
        }
    }
}

impl ArqMode {
    /// The core's mode with this window.
    pub fn with_window(self, window: u32) -> p2mp_core::Mode {
        match self {
            ArqMode::StopAndWait => p2mp_core::Mode::StopAndWait,
            ArqMode::GoBackN => p2mp_core::Mode::GoBackN { window },
            ArqMode::SelectiveRepeat => p2mp_core::Mode::SelectiveRepeat { window },
        }
    }
}

/// Builds the core's policy from the command-line values.
pub fn policy(rto: Rto, timeout: Duration, min: Duration, max: Duration) -> RtoPolicy {
    match rto {
        Rto::Fixed => RtoPolicy::Fixed { timeout },
        Rto::Adaptive => RtoPolicy::Adaptive { initial: timeout, min, max },
    }
}

/// Parses a duration in seconds (fractions allowed: `0.05`), for clap.
pub fn parse_secs(s: &str) -> std::result::Result<Duration, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("`{s}` is not a number of seconds"))?;
    Duration::try_from_secs_f64(v).map_err(|_| format!("`{s}` is not a valid number of seconds"))
}

/// A seed that differs from run to run (time and process id), for the loss service.
pub fn random_seed() -> u64 {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 32)
}

/// Runs `fut` on a runtime, stopping early on Ctrl-C; prints any error as one line prefixed
/// with `prog` and returns its exit status.
pub fn run_main<F>(prog: &str, multi_thread: bool, fut: F) -> ExitCode
where
    F: Future<Output = Result<()>>,
{
    run_main_handling_ctrl_c(prog, multi_thread, async {
        // The signal is watched by a task of its own: a select polls every branch at each
        // wake-up, and the command's future wakes once a datagram (a round trip, in
        // stop-and-wait), where a oneshot costs an atomic load and the signal stream much more.
        let (tx, interrupted) = tokio::sync::oneshot::channel::<()>();
        let watcher = tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = tx.send(());
            }
        });
        let result = tokio::select! {
            biased;
            r = fut => r,
            // If Ctrl-C cannot be watched, the sender is dropped (Err): the branch is disabled.
            Ok(()) = interrupted => Err(NativeError::Interrupted),
        };
        watcher.abort();
        result
    })
}

/// [`run_main`] for a command that handles Ctrl-C itself (`p2mp impair` reports its counts):
/// nothing else watches for it, so the command's own handler always runs.
pub fn run_main_handling_ctrl_c<F>(prog: &str, multi_thread: bool, fut: F) -> ExitCode
where
    F: Future<Output = Result<()>>,
{
    restore_default_sigpipe();
    let rt = if multi_thread {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()
    } else {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{prog}: error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = rt.block_on(fut);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{prog}: error: {}", one_line(&e.to_string()));
            ExitCode::from(e.exit_code())
        }
    }
}

/// Collapses a message onto one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Rust ignores SIGPIPE, so printing into a closed pipe (`p2mp ... | head`) would panic in
/// `println!`; restore the default so the process ends quietly, as Unix tools do.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to its default at startup, before any thread.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
