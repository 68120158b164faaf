//! `p2mpserver <port> <file-name> <p>`: receive one file.

use super::{parse_secs, random_seed, run_main, Wire};
use crate::console::Console;
use crate::error::{NativeError, Result};
use crate::net;
use crate::server::{Server, ServerConfig};
use clap::Parser;
use p2mp_core::ReceiverConfig;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// P2MP-FTP server: receives one file from a p2mpclient over UDP, reliably and in order.
///
/// Each arriving datagram first goes through a loss service that discards it with probability
/// p and prints `Packet loss, sequence number = X`. The file is written to a temporary file
/// beside FILE-NAME and renamed into place only when the transfer completes.
#[derive(Debug, Parser)]
#[command(name = "p2mpserver", version, allow_negative_numbers = true)]
pub struct ServerArgs {
    /// UDP port to listen on (1-65535; 7735 is the conventional one).
    pub port: String,
    /// Where to write the received file.
    #[arg(value_name = "FILE-NAME")]
    pub file: PathBuf,
    /// Loss probability, 0 <= p < 1: the chance that the loss service discards a datagram.
    pub p: String,
    /// IP address to listen on (e.g. 127.0.0.2 to run several servers on one machine).
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0")]
    pub bind: String,
    /// Also receive the DATA a `p2mpclient --multicast` sends to this IPv4 multicast group
    /// (PORT defaults to the server's port), while still taking unicast on its own address.
    /// One server per host on the wildcard address; with --bind IP several can share a host.
    #[arg(long, value_name = "GROUP[:PORT]")]
    pub multicast: Option<String>,
    /// IPv4 address of the interface to join the multicast group on (default: that of --bind,
    /// else the routing table's choice).
    #[arg(long, value_name = "ADDR")]
    pub interface: Option<String>,
    /// Wire dialect: binary (default) or text (the original Python scripts' framing).
    #[arg(long, value_enum, default_value_t = Wire::Binary)]
    pub wire: Wire,
    /// Seed of the loss service's random generator, for reproducible runs (default: from the clock).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Buffer up to N segments out of order and acknowledge each (for clients in
    /// `--mode selective-repeat`); 0 (default): the classic receiver, which serves stop-and-wait
    /// and go-back-n clients.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub window: u32,
    /// Seconds to keep answering retransmitted FINs after the file is complete (restarted by
    /// each one); keep it several of the client's largest timeouts, or a lost answer can leave
    /// a complete copy reported failed.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = parse_secs)]
    pub linger: Duration,
    /// Give up (and delete the partial file) if the sender is silent this many seconds
    /// mid-transfer; 0 waits forever.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_secs)]
    pub idle_timeout: Duration,
    /// Print a JSON summary on stdout (loss lines then go to stderr).
    #[arg(long)]
    pub json: bool,
    /// Print nothing but errors (and the JSON summary, with --json).
    #[arg(long)]
    pub quiet: bool,
    /// Record the event trace as JSON Lines in this file.
    #[arg(long, value_name = "PATH")]
    pub trace_file: Option<PathBuf>,
    /// Stream the event trace live to a hub (`p2mp ui`): ws://HOST:PORT/ws/publish, with
    /// ?token=... if it needs one. Never slows the transfer; an unreachable hub is a warning.
    #[arg(long, value_name = "URL")]
    pub trace: Option<String>,
    /// Hold every reply this long before sending it (e.g. 10ms), to emulate a round-trip time
    /// on loopback; the server keeps receiving meanwhile.
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = crate::units::parse_duration)]
    pub delay: Duration,
}

impl ServerArgs {
    /// Turns the arguments into a validated configuration.
    pub fn config(&self) -> Result<ServerConfig> {
        let port = net::parse_port(&self.port)?;
        let loss: f64 = self.p.trim().parse().map_err(|_| {
            NativeError::usage(format!(
                "invalid loss probability `{}` (expected a number with 0 <= p < 1)",
                self.p
            ))
        })?;
        let bind = net::parse_bind(&self.bind, port)?;
        let receiver = ReceiverConfig {
            dialect: self.wire.into(),
            loss,
            seed: self.seed.unwrap_or_else(random_seed),
            index: 0,
            linger: self.linger,
            idle_timeout: (!self.idle_timeout.is_zero()).then_some(self.idle_timeout),
            reorder_window: self.window,
        };
        // Validates p with the core's own check.
        p2mp_core::Receiver::new(receiver.clone())?;
        Ok(ServerConfig { bind, output: self.file.clone(), receiver, trace_file: self.trace_file.clone() })
    }
}

async fn serve(args: ServerArgs) -> Result<()> {
    let live = args.trace.as_deref().map(crate::publish::PublishTarget::parse).transpose()?;
    let cfg = args.config()?;
    let console = if args.quiet {
        Console::quiet()
    } else if args.json {
        Console::stderr()
    } else {
        Console::stdout()
    };
    let multicast = args.multicast(&cfg)?;
    let mut server = Server::bind(cfg, console.clone()).await?.with_reply_delay(args.delay);
    if let Some((group, interface)) = multicast {
        server = server.with_multicast(group, interface)?;
    }
    let (server, publisher) = match live {
        Some(target) => {
            let (p, h) = crate::publish::Publisher::start(target);
            (server.with_publisher(h), Some(p))
        }
        None => (server, None),
    };
    if !args.quiet {
        for stale in server.stale_removed() {
            eprintln!(
                "p2mpserver: removed {}, a partial file left by process {}, which is gone",
                stale.path.display(),
                stale.pid
            );
        }
        eprintln!(
            "p2mpserver: listening on {} ({} dialect), writing {}",
            server.local_addr(),
            args.wire_name(),
            args.file.display()
        );
    }
    let summary = server.run().await;
    if let Some(p) = publisher {
        p.finish_and_report("p2mpserver").await;
    }
    let summary = summary?;
    if args.json {
        let json = serde_json::to_string(&summary)
            .map_err(|e| NativeError::usage(format!("cannot encode summary: {e}")))?;
        println!("{json}");
    } else if !args.quiet {
        console.line(&summary.render());
    }
    Ok(())
}

impl ServerArgs {
    /// The multicast group to join and the interface to join it on, if `--multicast` was given.
    pub fn multicast(&self, cfg: &ServerConfig) -> Result<Option<(SocketAddr, Ipv4Addr)>> {
        let Some(group) = self.multicast.as_deref() else { return Ok(None) };
        if matches!(self.wire, Wire::Text) {
            return Err(NativeError::usage("--multicast uses the binary dialect (not --wire text)"));
        }
        let group = crate::multicast::parse_group(group, cfg.bind.port())?;
        let interface = match (self.interface.as_deref(), cfg.bind.ip()) {
            (Some(i), _) => crate::multicast::parse_interface(i)?,
            (None, IpAddr::V4(ip)) => ip,
            (None, IpAddr::V6(_)) => Ipv4Addr::UNSPECIFIED,
        };
        Ok(Some((group, interface)))
    }

    fn wire_name(&self) -> &'static str {
        match self.wire {
            Wire::Binary => "binary",
            Wire::Text => "text",
        }
    }
}

/// Entry point of the `p2mpserver` binary.
pub fn main() -> ExitCode {
    let args = ServerArgs::parse();
    run_main("p2mpserver", false, serve(args))
}
