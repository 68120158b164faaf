//! `p2mpclient <server-1> ... <server-n> <port> <file-name> <MSS>`: send one file to n servers.

use super::{parse_secs, policy, run_main, Rto, Wire};
use crate::client::{Client, ClientConfig};
use crate::console::Console;
use crate::error::{NativeError, Result};
use crate::net;
use crate::source::SourceFile;
use clap::Parser;
use p2mp_core::SenderConfig;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// P2MP-FTP client: sends one file over UDP to n servers at once, stop-and-wait, reliably and
/// in order.
///
/// Positionals: `<server-1> ... <server-n> <port> <file-name> <MSS>`. A server is a host name
/// or IP address, or `host:port` to override PORT for that server (for several servers on one
/// address). Each retransmission timeout prints `Timeout, sequence number = Y`. Exits with 1 if
/// any receiver failed, 2 on bad input.
#[derive(Debug, Parser)]
#[command(name = "p2mpclient", version, allow_negative_numbers = true)]
pub struct ClientArgs {
    /// `<server-1> ... <server-n> <port> <file-name> <MSS>`: the servers, the servers' UDP port,
    /// the file to send, and the maximum segment size (payload bytes per datagram).
    #[arg(required = true, num_args = 1.., value_name = "SERVER... PORT FILE-NAME MSS")]
    pub args: Vec<String>,
    /// Wire dialect: binary (default) or text (the original Python scripts' framing).
    #[arg(long, value_enum, default_value_t = Wire::Binary)]
    pub wire: Wire,
    /// Retransmission timeout in seconds (fixed policy), or the initial one (adaptive).
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = parse_secs)]
    pub timeout: Duration,
    /// Timeout policy: fixed (one timer per segment, the original behaviour) or adaptive
    /// (RFC 6298 per receiver).
    #[arg(long, value_enum, default_value_t = Rto::Fixed)]
    pub rto: Rto,
    /// Lower bound of the adaptive timeout, in seconds.
    #[arg(long, value_name = "SECS", default_value = "0.001", value_parser = parse_secs)]
    pub rto_min: Duration,
    /// Upper bound of the adaptive timeout, in seconds.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_secs)]
    pub rto_max: Duration,
    /// Declare a receiver failed after this many consecutive timeouts without its ACK.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_timeouts: u32,
    /// ARQ scheme: the classic stop-and-wait (default), go-back-n or selective repeat.
    #[arg(long, value_enum, default_value_t = super::ArqMode::StopAndWait)]
    pub mode: super::ArqMode,
    /// Segments in flight at most, for go-back-n and selective repeat.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub window: u32,
    /// Cap the sending rate of the windowed modes, in bits per second (0: no cap).
    #[arg(long, value_name = "BPS", default_value_t = 0)]
    pub rate: u64,
    /// Congestion response of the windowed modes: `bbr` paces new segments at the slowest
    /// receiver's measured delivery rate with at most 2x its bandwidth-delay product in flight
    /// (random loss is not taken for congestion); `fixed` keeps `--window` in flight, unpaced.
    #[arg(long, value_enum, default_value_t = super::CongestionArg::Bbr)]
    pub congestion: super::CongestionArg,
    /// Local address to send from (IP, or IP:port); default: any address, any port.
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Send each DATA once to this IPv4 multicast group (224.0.0.0/4), which the servers joined
    /// with `p2mpserver --multicast`; PORT defaults to the servers' port. ACKs and FINs stay
    /// unicast; a segment is resent to the group when at least two and more than half of the
    /// live servers miss it, else to each by unicast. Binary dialect only.
    #[arg(long, value_name = "GROUP[:PORT]")]
    pub multicast: Option<String>,
    /// Time-to-live of multicast DATA (1: the local network only).
    #[arg(long, value_name = "N", default_value_t = crate::multicast::DEFAULT_TTL)]
    pub multicast_ttl: u32,
    /// IPv4 address of the interface multicast DATA leaves by (default: that of --bind, else
    /// the routing table's choice).
    #[arg(long, value_name = "ADDR")]
    pub interface: Option<String>,
    /// Print the summary as JSON on stdout (timeout lines then go to stderr).
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
}

/// The positionals, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Positionals {
    /// Servers as typed.
    pub servers: Vec<String>,
    /// The default port.
    pub port: u16,
    /// The file to send.
    pub file: PathBuf,
    /// The MSS.
    pub mss: usize,
}

/// Splits `<server-1> ... <server-n> <port> <file-name> <MSS>`.
pub fn split_positionals(args: &[String]) -> Result<Positionals> {
    if args.len() < 4 {
        return Err(NativeError::usage(format!(
            "expected <server-1> ... <server-n> <port> <file-name> <MSS> (at least 4 arguments), got {}",
            args.len()
        )));
    }
    let (servers, tail) = args.split_at(args.len() - 3);
    let port = net::parse_port(&tail[0])?;
    let mss: usize = tail[2]
        .trim()
        .parse()
        .map_err(|_| NativeError::usage(format!("invalid MSS `{}` (expected a number of bytes)", tail[2])))?;
    Ok(Positionals { servers: servers.to_vec(), port, file: PathBuf::from(&tail[1]), mss })
}

impl ClientArgs {
    /// Validates everything that needs no network: positionals, file, MSS and size limits.
    pub fn sender_config(&self, pos: &Positionals) -> Result<SenderConfig> {
        let sender = SenderConfig {
            mss: pos.mss,
            dialect: self.wire.into(),
            policy: policy(self.rto, self.timeout, self.rto_min, self.rto_max),
            max_timeouts: self.max_timeouts,
            mode: self.mode.with_window(self.window),
            rate_bps: self.rate,
            congestion: self.congestion.into(),
            multicast: self
                .multicast
                .as_deref()
                .map(|g| crate::multicast::parse_group(g, pos.port))
                .transpose()?,
        };
        let source = SourceFile::open(&pos.file)?;
        sender.validate(source.len())?;
        Ok(sender)
    }

    /// The whole configuration, resolving the servers' names.
    pub async fn config(&self) -> Result<ClientConfig> {
        let pos = split_positionals(&self.args)?;
        let sender = self.sender_config(&pos)?;
        let bind = self.bind.as_deref().map(|b| net::parse_bind(b, 0)).transpose()?;
        let receivers = net::resolve_targets(&pos.servers, pos.port).await?;
        Ok(ClientConfig { receivers, file: pos.file, sender, bind, trace_file: self.trace_file.clone() })
    }
}

async fn send(args: ClientArgs) -> Result<()> {
    let live = args.trace.as_deref().map(crate::publish::PublishTarget::parse).transpose()?;
    let cfg = args.config().await?;
    let console = if args.quiet {
        Console::quiet()
    } else if args.json {
        Console::stderr()
    } else {
        Console::stdout().with_progress_if_terminal()
    };
    let interface = args.interface.as_deref().map(crate::multicast::parse_interface).transpose()?;
    let client =
        Client::prepare(cfg, console).await?.with_multicast_options(args.multicast_ttl, interface)?;
    let (client, publisher) = match live {
        Some(target) => {
            let (p, h) = crate::publish::Publisher::start(target);
            (client.with_publisher(h), Some(p))
        }
        None => (client, None),
    };
    let summary = client.run().await;
    if let Some(p) = publisher {
        p.finish_and_report("p2mpclient").await;
    }
    let summary = summary?;
    if args.json {
        let json = serde_json::to_string(&summary)
            .map_err(|e| NativeError::usage(format!("cannot encode summary: {e}")))?;
        println!("{json}");
    } else if !args.quiet {
        println!("{}", summary.render());
    }
    if summary.all_finished() {
        Ok(())
    } else {
        Err(NativeError::ReceiversFailed { failed: summary.failed(), total: summary.receivers.len() })
    }
}

/// Entry point of the `p2mpclient` binary.
pub fn main() -> ExitCode {
    let args = ClientArgs::parse();
    run_main("p2mpclient", false, send(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn positionals_split_from_the_end() {
        let p = split_positionals(&strings(&["a", "b:9", "7735", "f.bin", "500"])).unwrap();
        assert_eq!(p.servers, strings(&["a", "b:9"]));
        assert_eq!(p.port, 7735);
        assert_eq!(p.file, PathBuf::from("f.bin"));
        assert_eq!(p.mss, 500);
        assert!(split_positionals(&strings(&["7735", "f", "500"])).is_err());
        assert!(split_positionals(&strings(&["a", "0", "f", "500"])).is_err());
        assert!(split_positionals(&strings(&["a", "7735", "f", "x"])).is_err());
    }
}
