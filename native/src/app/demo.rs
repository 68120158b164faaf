//! `p2mp demo`: the whole protocol on one machine, with the printouts a user should expect,
//! watched live in the browser (the hub and the page come from [`super::ui`]).

use crate::cli::{parse_secs, policy, Rto, Wire};
use crate::console::Console;
use crate::error::{NativeError, Result};
use crate::loopback::{files_equal, run_loopback_traced, write_random_file, LoopbackSpec};
use crate::net;
use crate::publish::PublishTarget;
use clap::Args;
use p2mp_core::SenderConfig;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Options of `p2mp demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Number of servers (on 127.0.0.1, 127.0.0.2, ... on Linux; on other systems on
    /// 127.0.0.1 with consecutive ports).
    #[arg(long, default_value_t = 3)]
    pub n: usize,
    /// The servers' UDP port.
    #[arg(long, default_value_t = 7735)]
    pub port: u16,
    /// Loss probability of each server's loss service.
    #[arg(long, default_value_t = 0.05)]
    pub p: f64,
    /// Size of the generated file in bytes (small enough to watch: about 10 s at p = 0.05).
    #[arg(long, default_value_t = 150_000)]
    pub size: u64,
    /// Maximum segment size (payload bytes per datagram).
    #[arg(long, default_value_t = 500)]
    pub mss: usize,
    /// Wire dialect.
    #[arg(long, value_enum, default_value_t = Wire::Binary)]
    pub wire: Wire,
    /// Timeout policy (fixed by default, so that each loss shows as a visible countdown).
    #[arg(long, value_enum, default_value_t = Rto::Fixed)]
    pub rto: Rto,
    /// Retransmission timeout (fixed) or initial timeout (adaptive), in seconds.
    #[arg(long, value_name = "SECS", default_value = "0.25", value_parser = parse_secs)]
    pub timeout: Duration,
    /// Lower bound of the adaptive timeout, in seconds.
    #[arg(long, value_name = "SECS", default_value = "0.01", value_parser = parse_secs)]
    pub rto_min: Duration,
    /// Upper bound of the adaptive timeout, in seconds.
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = parse_secs)]
    pub rto_max: Duration,
    /// Seed of the loss services and of the file's contents (default: from the clock).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Do not print the loss and timeout lines, only the summary and verification.
    #[arg(long)]
    pub quiet: bool,
    /// Run one transfer, verify it and exit: no web page, no hub (tests, CI).
    #[arg(long)]
    pub once: bool,
    /// Ask the demo already running (at --ui-bind/--ui-port) for another transfer, and exit.
    #[arg(long, conflicts_with = "once")]
    pub again: bool,
    /// Publish the transfers to this hub (ws://HOST:PORT/ws/publish) instead of the demo's own.
    #[arg(long, value_name = "URL")]
    pub trace: Option<String>,
    /// IP address of the live view (page and hub).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub ui_bind: IpAddr,
    /// TCP port of the live view.
    #[arg(long, value_name = "PORT", default_value_t = 8080)]
    pub ui_port: u16,
    /// The built web app (default: ./dist or the repository's dist/, built if missing).
    #[arg(long, value_name = "DIR")]
    pub dist: Option<PathBuf>,
    /// The hub's security options.
    #[command(flatten)]
    pub security: super::ui::Security,
}

/// Runs the demo: the live view and a first transfer, then more on request (see
/// [`super::ui::demo`]); with `--once`, one transfer. `Ok` only if every copy is byte-identical
/// to the input.
pub async fn run(args: DemoArgs) -> Result<()> {
    super::ui::demo(args).await
}

/// One transfer with seed `seed`, streamed live to `live` when given; `Ok` only if every copy
/// is byte-identical to the input.
pub async fn transfer(args: &DemoArgs, seed: u64, live: Option<&PublishTarget>) -> Result<()> {
    if args.n == 0 {
        return Err(NativeError::usage("--n must be at least 1"));
    }
    if args.port == 0 {
        return Err(NativeError::usage("--port must be between 1 and 65535"));
    }
    let dir = tempfile::tempdir()
        .map_err(|e| NativeError::OutputFile { path: std::env::temp_dir(), reason: e.to_string() })?;
    let input = dir.path().join("input.bin");
    write_random_file(&input, args.size, seed)
        .map_err(|e| NativeError::OutputFile { path: input.clone(), reason: e.to_string() })?;
    let sender = SenderConfig {
        mss: args.mss,
        dialect: args.wire.into(),
        policy: policy(args.rto, args.timeout, args.rto_min, args.rto_max),
        max_timeouts: 10,
        ..SenderConfig::default()
    };
    let spec = LoopbackSpec {
        n: args.n,
        port: args.port,
        loss: args.p,
        seed,
        sender: sender.clone(),
        linger: Duration::from_millis(500),
        idle_timeout: Some(Duration::from_secs(30)),
    };
    let targets: Vec<String> =
        (0..args.n).map(|i| net::loopback_server_addr(i, args.port).to_string()).collect();
    println!(
        "P2MP-FTP demo: {} server{} ({}), p = {}, seed {}",
        args.n,
        if args.n == 1 { "" } else { "s" },
        targets.join(", "),
        args.p,
        seed
    );
    println!(
        "Sending a random {}-byte file with MSS {} ({} dialect, {})",
        args.size, args.mss, sender.dialect, sender.policy
    );
    println!(
        "Servers print `Packet loss, sequence number = X`; the client prints `Timeout, sequence number = Y`."
    );
    let quiet = args.quiet;
    let outcome = run_loopback_traced(
        &spec,
        &input,
        dir.path(),
        |_, addr| {
            if quiet {
                Console::quiet()
            } else {
                Console::stdout().with_prefix(format!("[server {addr}] "))
            }
        },
        if quiet { Console::quiet() } else { Console::stdout().with_prefix("[client] ") },
        live,
    )
    .await?;
    println!("{}", outcome.client.render());
    let mut bad = Vec::new();
    for ((out, addr), res) in outcome.outputs.iter().zip(&outcome.addrs).zip(&outcome.servers) {
        let same = res.is_ok() && files_equal(&input, out).unwrap_or(false);
        if same {
            println!(
                "Verified: the copy received by {addr} is byte-identical to the input ({} bytes)",
                args.size
            );
        } else {
            let why = match res {
                Err(e) => e.to_string(),
                Ok(_) => "its copy differs from the input".to_string(),
            };
            println!("MISMATCH: server {addr}: {why}");
            bad.push(addr.to_string());
        }
    }
    if bad.is_empty() && outcome.client.all_finished() {
        println!("Demo OK.");
        Ok(())
    } else {
        Err(NativeError::Verify(format!(
            "{} of {} copies are missing or differ",
            bad.len().max(outcome.client.failed()),
            args.n
        )))
    }
}
