//! `p2mp bench`: real loopback transfers without loss, segments per second for n = 1..5; with
//! `--arq`, the ARQ comparison of issue 7: stop-and-wait, go-back-n and selective repeat over a
//! grid of loss rates and receiver counts, beside the raw-UDP ceiling and the ping-pong floor
//! ([`crate::blast`]), and the target ratios computed from the same run; with
//! `--network netns|both`, also on the namespaced test network with one process per node,
//! selective repeat over IP multicast there too (`sr-multicast`), and against uftp where it is
//! installed ([`netns`]).

use crate::blast;
use crate::cli::{parse_secs, Wire};
use crate::console::Console;
use crate::error::{NativeError, Result};
use crate::loopback::{files_equal, run_loopback, write_random_file, LoopbackSpec};
use crate::summary::ClientSummary;
use clap::Args;
use p2mp_core::{Mode, RtoPolicy, SenderConfig};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

#[cfg(target_os = "linux")]
mod netns;

/// Where namespaces do not exist: the network cannot be opened, so nothing else is reached.
#[cfg(not(target_os = "linux"))]
mod netns {
    use super::CellSpec;
    use crate::blast::BlastOutcome;
    use crate::error::Result;
    use std::path::Path;

    pub(super) struct ProcessCell {
        pub secs: f64,
        pub wall: f64,
        pub retransmissions: u64,
        pub timeouts: u64,
        pub datagrams: u64,
    }
    pub(super) const GROUP: &str = "";
    pub(super) struct UftpCell {
        pub secs: Option<f64>,
        pub wall: f64,
    }
    pub(super) enum Ctx {}
    pub(super) fn on_path(_: &str) -> bool {
        false
    }
    impl Ctx {
        pub fn open(_: usize, _: &Path) -> std::result::Result<Ctx, String> {
            Err("the namespaced test network needs Linux".into())
        }
        pub fn warnings(&self) -> &[String] {
            match *self {}
        }
        pub fn describe(&self) -> String {
            match *self {}
        }
        pub fn references(
            &self,
            _: usize,
            _: u64,
            _: usize,
            _: usize,
            _: u32,
            _: usize,
        ) -> Result<(f64, BlastOutcome, BlastOutcome)> {
            match *self {}
        }
        pub fn ping_pong_processes(&self, _: usize, _: usize, _: usize, _: u32, _: bool) -> Result<f64> {
            match *self {}
        }
        pub fn transfer(&self, _: &Path, _: &CellSpec) -> Result<ProcessCell> {
            match *self {}
        }
        pub fn transfer_multicast(&self, _: &Path, _: &CellSpec) -> Result<ProcessCell> {
            match *self {}
        }
        pub fn uftp(&self, _: &Path, _: usize) -> Result<UftpCell> {
            match *self {}
        }
    }
}

/// Options of `p2mp bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Largest number of receivers; runs n = 1..=this.
    #[arg(long, default_value_t = 5)]
    pub max_n: usize,
    /// File size in bytes.
    #[arg(long, default_value_t = 10_000_000)]
    pub size: u64,
    /// Maximum segment size.
    #[arg(long, default_value_t = 500)]
    pub mss: usize,
    /// Wire dialect.
    #[arg(long, value_enum, default_value_t = Wire::Binary)]
    pub wire: Wire,
    /// Fixed retransmission timeout in seconds (only matters if the OS drops a datagram).
    #[arg(long, value_name = "SECS", default_value = "0.2", value_parser = parse_secs)]
    pub timeout: Duration,
    /// Transfers per n (the table shows the mean; the `--arq` grid runs each cell once).
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
    /// Run the ARQ comparison instead: every mode at every loss rate and receiver count, with
    /// the raw-UDP blast ceiling, the ping-pong floor and the target ratios of issue 7.
    #[arg(long)]
    pub arq: bool,
    /// Window of go-back-n and selective repeat (`--arq`; default: each mode's best on a
    /// 2-core machine, 64 for go-back-n and 256 for selective repeat; see docs/performance.md).
    #[arg(long)]
    pub window: Option<u32>,
    /// Receiver counts of the `--arq` grid, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,3,8")]
    pub ns: Vec<usize>,
    /// Servers' loss probabilities of the `--arq` grid, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0,0.01,0.05")]
    pub losses: Vec<f64>,
    /// Lower bound of the adaptive RTO used by every mode in `--arq` (seconds; below about
    /// 2 ms a busy 2-core machine fires spurious timeouts, and tokio timers tick in 1 ms).
    #[arg(long, value_name = "SECS", default_value = "0.002", value_parser = parse_secs)]
    pub rto_min: Duration,
    /// Upper bound of the adaptive RTO in `--arq` (seconds; bounds the exponential backoff,
    /// which go-back-n at p = 0.05 otherwise drives up because Karn's rule leaves few samples).
    #[arg(long, value_name = "SECS", default_value = "0.02", value_parser = parse_secs)]
    pub rto_max: Duration,
    /// Socket buffer size asked for by the raw blast's sockets, bytes (capped by the OS).
    #[arg(long, default_value_t = 4 << 20)]
    pub blast_buffer: usize,
    /// Where `--arq` measures: loopback (nodes in this process), netns (the namespaced test
    /// network: Linux, root, one process per node, and uftp/uftpd where installed), or both.
    #[arg(long, value_enum, default_value_t = Network::Loopback)]
    pub network: Network,
    /// `--arq`: after the grid, this many (floor, transfer) pairs of stop-and-wait at p = 0 per
    /// network and n, run back to back; the stop-and-wait verdict takes the median ratio
    /// (0: only the grid's single transfer against the floor measured before the grid).
    #[arg(long, value_name = "K", default_value_t = 5)]
    pub pairs: usize,
}

/// The networks `p2mp bench --arq` measures on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Network {
    /// 127.0.0.x, servers and client in this process.
    Loopback,
    /// The namespaced test network (sender and receiver namespaces on a bridge).
    Netns,
    /// Loopback, then the namespaced network.
    Both,
}

/// One row of the bench table.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BenchRow {
    /// Receivers.
    pub n: usize,
    /// Mean delay in seconds.
    pub secs: f64,
    /// Segments per second.
    pub segments_per_sec: f64,
    /// File bytes per second, in MB/s.
    pub goodput_mb_per_sec: f64,
    /// Timeouts seen (should be 0 on an idle machine).
    pub timeouts: u64,
}

/// Runs the benchmark and prints the table.
pub async fn run(args: BenchArgs) -> Result<()> {
    if args.arq {
        return run_arq(args).await;
    }
    if args.max_n == 0 || args.repeat == 0 {
        return Err(NativeError::usage("--max-n and --repeat must be at least 1"));
    }
    let dir = tempfile::tempdir()
        .map_err(|e| NativeError::OutputFile { path: std::env::temp_dir(), reason: e.to_string() })?;
    let input = dir.path().join("input.bin");
    write_random_file(&input, args.size, 7735)
        .map_err(|e| NativeError::OutputFile { path: input.clone(), reason: e.to_string() })?;
    let sender = SenderConfig {
        mss: args.mss,
        dialect: args.wire.into(),
        policy: RtoPolicy::Fixed { timeout: args.timeout },
        max_timeouts: 10,
        ..SenderConfig::default()
    };
    sender.validate(args.size)?;
    println!(
        "Loopback bench: {} bytes, MSS {}, p = 0, {} dialect, {} run(s) per n",
        args.size, args.mss, sender.dialect, args.repeat
    );
    println!(
        "{:>3}  {:>10}  {:>12}  {:>13}  {:>8}",
        "n", "time (s)", "segments/s", "goodput MB/s", "timeouts"
    );
    for n in 1..=args.max_n {
        let mut secs = 0.0;
        let mut segments = 0u64;
        let mut timeouts = 0u64;
        for r in 0..args.repeat {
            let spec = LoopbackSpec {
                n,
                port: 0,
                loss: 0.0,
                seed: u64::from(r),
                sender: sender.clone(),
                linger: Duration::from_millis(100),
                idle_timeout: Some(Duration::from_secs(30)),
            };
            let client = verified_transfer(&spec, &input, dir.path(), &format!("n = {n}")).await?;
            secs += client.delay_secs();
            segments = client.segments;
            timeouts += client.totals.timeouts;
        }
        let secs = secs / f64::from(args.repeat);
        let row = BenchRow {
            n,
            secs,
            segments_per_sec: if secs > 0.0 { segments as f64 / secs } else { 0.0 },
            goodput_mb_per_sec: if secs > 0.0 { args.size as f64 / secs / 1e6 } else { 0.0 },
            timeouts,
        };
        println!(
            "{:>3}  {:>10.3}  {:>12.0}  {:>13.3}  {:>8}",
            row.n, row.secs, row.segments_per_sec, row.goodput_mb_per_sec, row.timeouts
        );
    }
    Ok(())
}

/// Runs one loopback transfer and checks that every receiver finished and that every copy
/// equals the input; returns the client's summary.
async fn verified_transfer(
    spec: &LoopbackSpec,
    input: &Path,
    dir: &Path,
    what: &str,
) -> Result<ClientSummary> {
    let out = run_loopback(spec, input, dir, |_, _| Console::quiet(), Console::quiet()).await?;
    if !out.client.all_finished() {
        return Err(NativeError::Verify(format!("{what}: {} receivers failed", out.client.failed())));
    }
    for (path, res) in out.outputs.iter().zip(&out.servers) {
        if res.is_err() || !files_equal(input, path).unwrap_or(false) {
            return Err(NativeError::Verify(format!("{what}: {} differs from the input", path.display())));
        }
    }
    Ok(out.client)
}

/// The name `p2mpclient --mode` takes.
fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::StopAndWait => "stop-and-wait",
        Mode::GoBackN { .. } => "go-back-n",
        Mode::SelectiveRepeat { .. } => "selective-repeat",
    }
}

/// One cell of the `--arq` grid.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ArqCell {
    /// ARQ scheme (`p2mpclient --mode` name), or `uftp`.
    pub mode: &'static str,
    /// Where: `loopback` or `netns`.
    pub network: &'static str,
    /// Servers' loss probability.
    pub loss: f64,
    /// Receivers.
    pub n: usize,
    /// Transfer time (first send to the last end-of-file acknowledgement; uftp's own figure),
    /// seconds.
    pub secs: Option<f64>,
    /// The whole client command, start to exit (process-based runs only), seconds.
    pub wall: Option<f64>,
    /// File bytes per second of transfer time, MB/s.
    pub goodput_mb_per_sec: Option<f64>,
    /// Retransmitted DATA datagrams.
    pub retransmissions: Option<u64>,
    /// Timer expiries.
    pub timeouts: Option<u64>,
    /// Datagrams the client put on the wire (its summary's totals; not known for uftp).
    pub datagrams: Option<u64>,
}

/// The mode column of selective repeat with its DATA sent to an IP multicast group.
const SR_MULTICAST: &str = "sr-multicast";

/// Go-back-n's default window in `--arq`: each loss resends everything in flight, so a larger
/// window costs more at p = 0.05 than it gains at p = 0.
pub const GBN_WINDOW: u32 = 64;
/// Selective repeat's default window in `--arq`: a loss holds the window's left edge for a
/// round trip, and 64 segments (32 KB at MSS 500) go out in less than one between processes
/// (measured on the namespaced network: p = 0.05 kept 41-58% of the p = 0 goodput with 64,
/// 73-79% with 256).
pub const SR_WINDOW: u32 = 256;

/// One transfer of the `--arq` grid, as the node command lines see it.
#[derive(Clone, Debug)]
#[cfg_attr(not(target_os = "linux"), allow(dead_code))] // Only the namespaced runs read all of it.
pub(crate) struct CellSpec {
    mode: Mode,
    loss: f64,
    n: usize,
    seed: u64,
    mss: usize,
    wire: &'static str,
    policy: RtoPolicy,
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
impl CellSpec {
    fn label(&self) -> String {
        format!("{} p = {} n = {}", mode_name(self.mode), self.loss, self.n)
    }

    /// The servers' `--window`: out-of-order buffering for selective repeat only, as on loopback.
    fn server_window(&self) -> u32 {
        match self.mode {
            Mode::SelectiveRepeat { window } => window,
            _ => 0,
        }
    }

    /// `p2mpclient` options for this cell (after the positionals).
    fn client_args(&self) -> Vec<String> {
        let secs = |d: Duration| format!("{:.6}", d.as_secs_f64());
        let mut v =
            vec!["--wire".to_string(), self.wire.to_string(), "--mode".into(), mode_name(self.mode).into()];
        if let Mode::GoBackN { window } | Mode::SelectiveRepeat { window } = self.mode {
            v.extend(["--window".to_string(), window.to_string()]);
        }
        match self.policy {
            RtoPolicy::Adaptive { initial, min, max } => v.extend([
                "--rto".to_string(),
                "adaptive".into(),
                "--timeout".into(),
                secs(initial),
                "--rto-min".into(),
                secs(min),
                "--rto-max".into(),
                secs(max),
            ]),
            RtoPolicy::Fixed { timeout } => v.extend(["--timeout".to_string(), secs(timeout)]),
        }
        v.extend(["--max-timeouts".to_string(), "50".into()]);
        v
    }
}

/// Reference figures for one receiver count on one network.
#[derive(Clone, Debug)]
struct Reference {
    network: &'static str,
    n: usize,
    /// Mean round trip, blocking sockets in threads.
    rtt_threads: f64,
    /// Mean round trip with the echoers laid out as the servers are: tokio tasks in this
    /// runtime on loopback, one process per receiver namespace on the namespaced network.
    rtt_nodes: Option<f64>,
    /// Netns only: the same processes echoing from a tokio runtime with one armed timer, as
    /// the servers run; what the runtime's wake-ups cost shows against `rtt_nodes`.
    rtt_tokio_processes: Option<f64>,
    blast: blast::BlastOutcome,
    /// The same blast with the nodes' batched I/O (GSO/GRO, `recvmmsg`).
    blast_batched: Option<blast::BlastOutcome>,
}

fn mb_per_sec(bytes: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        bytes as f64 / secs / 1e6
    } else {
        0.0
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "MET"
    } else {
        "NOT MET"
    }
}

/// `Some(x)` formatted, or `-`.
fn opt<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map_or_else(|| "-".to_string(), f)
}

/// Runs blocking namespace work off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| NativeError::Verify(format!("bench task failed: {e}")))?
}

const LOOPBACK: &str = "loopback";
const NETNS: &str = "netns";

/// `p2mp bench --arq`.
async fn run_arq(args: BenchArgs) -> Result<()> {
    if args.ns.is_empty() || args.ns.contains(&0) || args.ns.iter().any(|&n| n > 250) {
        return Err(NativeError::usage("--ns must list receiver counts from 1 to 250"));
    }
    if args.losses.is_empty() || args.losses.iter().any(|p| !(0.0..1.0).contains(p)) {
        return Err(NativeError::usage("--losses must list probabilities in [0, 1)"));
    }
    if args.window == Some(0) {
        return Err(NativeError::usage("--window must be at least 1"));
    }
    let (gbn_window, sr_window) = (args.window.unwrap_or(GBN_WINDOW), args.window.unwrap_or(SR_WINDOW));
    let policy = RtoPolicy::Adaptive {
        initial: Duration::from_millis(50).clamp(args.rto_min, args.rto_max),
        min: args.rto_min,
        max: args.rto_max,
    };
    let base = SenderConfig {
        mss: args.mss,
        dialect: args.wire.into(),
        policy,
        max_timeouts: 50,
        ..SenderConfig::default()
    };
    let segments = base.validate(args.size)?;
    let modes = [
        Mode::StopAndWait,
        Mode::GoBackN { window: gbn_window },
        Mode::SelectiveRepeat { window: sr_window },
    ];
    for m in &modes[1..] {
        SenderConfig { mode: *m, ..base.clone() }.validate(args.size)?;
    }
    let wire = match args.wire {
        Wire::Binary => "binary",
        Wire::Text => "text",
    };
    let dir = tempfile::tempdir()
        .map_err(|e| NativeError::OutputFile { path: std::env::temp_dir(), reason: e.to_string() })?;
    let input = dir.path().join("input.bin");
    write_random_file(&input, args.size, 7735)
        .map_err(|e| NativeError::OutputFile { path: input.clone(), reason: e.to_string() })?;
    let mut ns = args.ns.clone();
    ns.sort_unstable();
    ns.dedup();
    let max_n = ns.iter().copied().max().unwrap_or(1);
    let header = base.dialect.header_len();
    let datagram = header + args.mss;
    let on_loopback = matches!(args.network, Network::Loopback | Network::Both);
    println!(
        "ARQ bench: {} bytes = {} segments of MSS {} ({}-byte datagrams, {} dialect), window {} \
         (go-back-n) and {} (selective repeat), RTO {policy} in every mode, one transfer per cell",
        args.size, segments, args.mss, datagram, base.dialect, gbn_window, sr_window
    );
    if on_loopback {
        println!("  loopback: servers and client in one current-thread tokio runtime, on 127.0.0.x");
    }
    let mut not_measured = vec!["IP multicast on loopback (the namespaced network has it: sr-multicast)"];
    let mut ctx: Option<Arc<netns::Ctx>> = None;
    if args.network == Network::Loopback {
        not_measured.push("the namespaced test network and uftp (--network netns|both)");
    } else {
        match netns::Ctx::open(max_n, dir.path()) {
            Ok(c) => {
                println!("  netns: {}", c.describe());
                for w in c.warnings() {
                    println!("  {w}");
                }
                ctx = Some(Arc::new(c));
            }
            Err(reason) if args.network == Network::Netns => {
                return Err(NativeError::Verify(format!("netns: {reason}")));
            }
            Err(reason) => {
                println!("  netns: not available ({reason}); loopback only");
                not_measured.push("the namespaced test network");
            }
        }
    }
    let uftp = ctx.is_some() && netns::on_path("uftp") && netns::on_path("uftpd");
    if uftp {
        println!(
            "  uftp: one `uftpd -d -q -I IFACE -D OUTDIR -T TMPDIR -B {}` per receiver namespace, then \
             `uftp -R -1 -B {} -I IFACE -H <receivers' IPv4 in hex> FILE` in the sender namespace, \
             same file, same receivers, p = 0 only; wall = the uftp command, start to exit; time = \
             its own `Total elapsed time`",
            4 << 20,
            4 << 20
        );
        if args.losses.iter().any(|&p| p > 0.0) {
            not_measured.push(
                "uftp at p > 0 (no netem qdisc here, and p2mp impair proxies unicast while uftp sends \
                 its data by multicast)",
            );
        }
    } else if ctx.is_some() {
        println!("  uftp: not installed (uftp and uftpd not both on PATH)");
        not_measured.push("uftp (not installed)");
    }
    println!("Not measured here: {}.", not_measured.join("; "));

    // References first, on an otherwise idle process. As many round trips as the transfer
    // has: the wake-up latency of this kind of machine changes over seconds (an idle virtual
    // CPU takes longer to wake), so a floor measured over a fraction of the transfer's
    // duration compares the transfer with a different machine.
    let rounds = u32::try_from(segments + 1).unwrap_or(u32::MAX).max(500);
    let mut refs = Vec::new();
    println!();
    println!(
        "References: ping-pong = one {datagram}-byte request to each of n echoers and their n \
         {header}-byte replies, mean of {rounds} rounds (after {} warm-up rounds), x (segments + 1), echoed by threads of this \
         process (thr) or laid out as the servers are (node: tokio tasks in this runtime on \
         loopback, one `p2mp echo` process per receiver namespace on netns); blast = {segments} datagrams of {datagram} bytes to each of n receiver threads, no ARQ, \
         one blocking sender socket, timed to the last arrival",
        rounds / 10
    );
    println!(
        "{:>3}  {:<8}  {:>12}  {:>13}  {:>11}  {:>12}  {:>10}  {:>10}  {:>14}  {:>10}",
        "n",
        "network",
        "RTT thr (us)",
        "RTT node (us)",
        "floor thr s",
        "floor node s",
        "blast s",
        "blast MB/s",
        "blast lost",
        "rcvbuf"
    );
    let floor = |rtt: f64| rtt * (segments + 1) as f64;
    let print_ref = |r: &Reference| {
        println!(
            "{:>3}  {:<8}  {:>12.1}  {:>13}  {:>11.3}  {:>12}  {:>10.3}  {:>10.2}  {:>14}  {:>10}",
            r.n,
            r.network,
            r.rtt_threads * 1e6,
            opt(r.rtt_nodes, |t| format!("{:.1}", t * 1e6)),
            floor(r.rtt_threads),
            opt(r.rtt_nodes, |t| format!("{:.3}", floor(t))),
            r.blast.secs,
            mb_per_sec(args.size, r.blast.secs),
            format!("{}/{}", r.blast.lost(), r.blast.per_receiver * r.n as u64),
            r.blast.rcvbuf
        );
        if let Some(rtt) = r.rtt_tokio_processes {
            println!(
                "     {:<8}  the same ping-pong with the echo processes in the servers' runtime (tokio, one armed \
                 timer): RTT {:.1} us, floor {:.3} s",
                r.network,
                rtt * 1e6,
                floor(rtt)
            );
        }
        if let Some(bb) = &r.blast_batched {
            println!(
                "     {:<8}  the same blast with the nodes' batched I/O (GSO trains of 64, recvmmsg + GRO): \
                 {:.3} s, {:.2} MB/s, lost {}/{}",
                r.network,
                bb.secs,
                mb_per_sec(args.size, bb.secs),
                bb.lost(),
                bb.per_receiver * r.n as u64
            );
        }
    };
    if on_loopback {
        for &n in &ns {
            let rtt_threads = {
                let (n, h) = (n, header);
                tokio::task::spawn_blocking(move || blast::ping_pong_threads(n, datagram, h, rounds))
                    .await
                    .map_err(|e| NativeError::Verify(format!("ping-pong task failed: {e}")))?
                    .map_err(NativeError::Network)?
            };
            let rtt_tokio =
                blast::ping_pong_tokio(n, datagram, header, rounds).await.map_err(NativeError::Network)?;
            let buffer = args.blast_buffer;
            let b = tokio::task::spawn_blocking(move || blast::blast(n, segments, datagram, buffer))
                .await
                .map_err(|e| NativeError::Verify(format!("blast task failed: {e}")))?
                .map_err(NativeError::Network)?;
            let bb = tokio::task::spawn_blocking(move || {
                crate::blast_batched::blast_batched(n, segments, datagram, buffer, crate::batch::IoMode::Auto)
            })
            .await
            .map_err(|e| NativeError::Verify(format!("blast task failed: {e}")))?
            .map_err(NativeError::Network)?;
            let r = Reference {
                network: LOOPBACK,
                n,
                rtt_threads,
                rtt_nodes: Some(rtt_tokio),
                rtt_tokio_processes: None,
                blast: b,
                blast_batched: Some(bb),
            };
            print_ref(&r);
            refs.push(r);
        }
    }
    if let Some(c_ref) = &ctx {
        for &n in &ns {
            let (c, buffer) = (Arc::clone(c_ref), args.blast_buffer);
            let (rtt_threads, b, bb) =
                blocking(move || c.references(n, segments, datagram, header, rounds, buffer)).await?;
            let c = Arc::clone(c_ref);
            let rtt_processes =
                blocking(move || c.ping_pong_processes(n, datagram, header, rounds, false)).await?;
            let c = Arc::clone(c_ref);
            let rtt_tokio_processes =
                blocking(move || c.ping_pong_processes(n, datagram, header, rounds, true)).await?;
            let r = Reference {
                network: NETNS,
                n,
                rtt_threads,
                rtt_nodes: Some(rtt_processes),
                rtt_tokio_processes: Some(rtt_tokio_processes),
                blast: b,
                blast_batched: Some(bb),
            };
            print_ref(&r);
            refs.push(r);
        }
    }

    println!();
    println!(
        "time = transfer time (first send to the last end-of-file ACK); wall = the whole client \
         command, start to exit (netns: every node is a process)"
    );
    let group = format!(
        "; {SR_MULTICAST} = selective repeat with each DATA sent once to group {} (p2mpclient/p2mpserver \
         --multicast)",
        netns::GROUP
    );
    println!(
        "datagrams = what the client put on the wire (its summary's totals){}",
        if ctx.is_some() { group.as_str() } else { "" }
    );
    println!(
        "{:<16}  {:<8}  {:>5}  {:>3}  {:>9}  {:>9}  {:>12}  {:>8}  {:>8}  {:>9}  {:>8}",
        "mode",
        "network",
        "p",
        "n",
        "time (s)",
        "wall (s)",
        "goodput MB/s",
        "retrans",
        "timeouts",
        "datagrams",
        "copies"
    );
    let print_cell = |c: &ArqCell| {
        println!(
            "{:<16}  {:<8}  {:>5}  {:>3}  {:>9}  {:>9}  {:>12}  {:>8}  {:>8}  {:>9}  {:>8}",
            c.mode,
            c.network,
            c.loss,
            c.n,
            opt(c.secs, |t| format!("{t:.3}")),
            opt(c.wall, |t| format!("{t:.3}")),
            opt(c.goodput_mb_per_sec, |g| format!("{g:.2}")),
            opt(c.retransmissions, |r| r.to_string()),
            opt(c.timeouts, |r| r.to_string()),
            opt(c.datagrams, |r| r.to_string()),
            format!("{}/{} ok", c.n, c.n)
        );
    };
    let mut cells = Vec::new();
    let networks: Vec<&'static str> =
        [(on_loopback, LOOPBACK), (ctx.is_some(), NETNS)].iter().filter(|x| x.0).map(|x| x.1).collect();
    for &network in &networks {
        for mode in modes {
            for &loss in &args.losses {
                for &n in &ns {
                    let spec = CellSpec { mode, loss, n, seed: 1000 + n as u64, mss: args.mss, wire, policy };
                    let cell = match (&ctx, network) {
                        (Some(c), NETNS) => {
                            let (c, input, spec) = (Arc::clone(c), input.clone(), spec.clone());
                            let p = blocking(move || c.transfer(&input, &spec)).await?;
                            process_cell(mode_name(mode), network, loss, n, args.size, &p)
                        }
                        _ => loopback_cell(&spec, &base, &input, dir.path(), args.size).await?,
                    };
                    print_cell(&cell);
                    cells.push(cell);
                }
            }
        }
        if let (Some(c), NETNS) = (&ctx, network) {
            // Selective repeat through the group, same losses, receivers and seeds as above.
            if wire != "binary" {
                println!("{SR_MULTICAST:<16}  {network:<8}  not run (multicast uses the binary dialect)");
            }
            let mode = Mode::SelectiveRepeat { window: sr_window };
            for &loss in args.losses.iter().filter(|_| wire == "binary") {
                for &n in &ns {
                    let spec = CellSpec { mode, loss, n, seed: 1000 + n as u64, mss: args.mss, wire, policy };
                    let (c, input) = (Arc::clone(c), input.clone());
                    let p = blocking(move || c.transfer_multicast(&input, &spec)).await?;
                    let cell = process_cell(SR_MULTICAST, network, loss, n, args.size, &p);
                    print_cell(&cell);
                    cells.push(cell);
                }
            }
        }
        if network == NETNS && uftp {
            if let Some(c) = &ctx {
                for &n in &ns {
                    let (c, input2) = (Arc::clone(c), input.clone());
                    let u = blocking(move || c.uftp(&input2, n)).await?;
                    let cell = ArqCell {
                        mode: "uftp",
                        network,
                        loss: 0.0,
                        n,
                        secs: u.secs,
                        wall: Some(u.wall),
                        goodput_mb_per_sec: u.secs.map(|s| mb_per_sec(args.size, s)),
                        retransmissions: None,
                        timeouts: None,
                        datagrams: None,
                    };
                    print_cell(&cell);
                    cells.push(cell);
                }
                if args.losses.iter().any(|&p| p > 0.0) {
                    println!(
                        "{:<16}  {:<8}  {:>5}  not run (no way to put loss under its multicast here)",
                        "uftp", network, "p>0"
                    );
                }
            }
        }
    }

    // Stop-and-wait against its floor, each transfer right after its own floor: the machine
    // drifts over seconds, and the grid's transfer ran long after the floor it is compared
    // with. Same floors as the references' "node" column.
    let mut pairs = Vec::new();
    if args.pairs > 0 && modes.contains(&Mode::StopAndWait) {
        println!();
        println!(
            "Stop-and-wait p=0 against its floor, {} pairs back to back (floor, then transfer) per network and n:",
            args.pairs
        );
        for &network in &networks {
            for &n in &ns {
                let spec = CellSpec {
                    mode: Mode::StopAndWait,
                    loss: 0.0,
                    n,
                    seed: 1000 + n as u64,
                    mss: args.mss,
                    wire,
                    policy,
                };
                let mut pair = FloorPairs { network, n, ratios: Vec::with_capacity(args.pairs) };
                for _ in 0..args.pairs {
                    let (rtt, secs) = match (&ctx, network) {
                        (Some(c), NETNS) => {
                            let c1 = Arc::clone(c);
                            let rtt =
                                blocking(move || c1.ping_pong_processes(n, datagram, header, rounds, false))
                                    .await?;
                            let (c, input, spec) = (Arc::clone(c), input.clone(), spec.clone());
                            (rtt, blocking(move || c.transfer(&input, &spec)).await?.secs)
                        }
                        _ => {
                            let rtt = blast::ping_pong_tokio(n, datagram, header, rounds)
                                .await
                                .map_err(NativeError::Network)?;
                            let cell = loopback_cell(&spec, &base, &input, dir.path(), args.size).await?;
                            (rtt, cell.secs.unwrap_or(f64::INFINITY))
                        }
                    };
                    pair.ratios.push(secs / (rtt * (segments + 1) as f64));
                }
                println!("  {}", pair.render());
                pairs.push(pair);
            }
        }
    }

    print_targets(&cells, &refs, &pairs, segments, ctx.is_some(), uftp);
    Ok(())
}

/// Stop-and-wait's ratios to its floor, measured in pairs back to back.
#[derive(Clone, Debug)]
struct FloorPairs {
    network: &'static str,
    n: usize,
    /// Transfer time / floor, one per pair, in the order run.
    ratios: Vec<f64>,
}

impl FloorPairs {
    /// The median ratio (the lower middle one of an even count).
    fn median(&self) -> f64 {
        let mut r = self.ratios.clone();
        r.sort_by(f64::total_cmp);
        r.get(r.len().saturating_sub(1) / 2).copied().unwrap_or(f64::INFINITY)
    }

    fn render(&self) -> String {
        let all: Vec<String> = self.ratios.iter().map(|r| format!("{r:.3}")).collect();
        format!("[{}] n={}: {} -> median {:.3}x", self.network, self.n, all.join(" "), self.median())
    }
}

/// The cell of a transfer run as processes on the namespaced network.
fn process_cell(
    mode: &'static str,
    network: &'static str,
    loss: f64,
    n: usize,
    size: u64,
    p: &netns::ProcessCell,
) -> ArqCell {
    ArqCell {
        mode,
        network,
        loss,
        n,
        secs: Some(p.secs),
        wall: Some(p.wall),
        goodput_mb_per_sec: Some(mb_per_sec(size, p.secs)),
        retransmissions: Some(p.retransmissions),
        timeouts: Some(p.timeouts),
        datagrams: Some(p.datagrams),
    }
}

/// One in-process loopback transfer of the grid.
async fn loopback_cell(
    spec: &CellSpec,
    base: &SenderConfig,
    input: &Path,
    dir: &Path,
    size: u64,
) -> Result<ArqCell> {
    let lspec = LoopbackSpec {
        n: spec.n,
        port: 0,
        loss: spec.loss,
        seed: spec.seed,
        sender: SenderConfig { mode: spec.mode, ..base.clone() },
        linger: Duration::from_millis(100),
        idle_timeout: Some(Duration::from_secs(30)),
    };
    let client = verified_transfer(&lspec, input, dir, &spec.label()).await?;
    Ok(ArqCell {
        mode: mode_name(spec.mode),
        network: LOOPBACK,
        loss: spec.loss,
        n: spec.n,
        secs: Some(client.delay_secs()),
        wall: None,
        goodput_mb_per_sec: Some(mb_per_sec(size, client.delay_secs())),
        retransmissions: Some(client.totals.retransmissions),
        timeouts: Some(client.totals.timeouts),
        datagrams: Some(client.totals.transmissions),
    })
}

/// Prints the target ratios of issue 7 that this run can compute, per network.
fn print_targets(
    cells: &[ArqCell],
    refs: &[Reference],
    pairs: &[FloorPairs],
    segments: u64,
    netns: bool,
    uftp: bool,
) {
    let find = |net: &str, mode: &str, loss: f64, n: usize| {
        cells.iter().find(|c| c.network == net && c.mode == mode && c.loss == loss && c.n == n)
    };
    let secs = |c: &ArqCell| c.secs.unwrap_or(f64::INFINITY);
    let goodput = |c: &ArqCell| c.goodput_mb_per_sec.unwrap_or(0.0);
    let sr = mode_name(Mode::SelectiveRepeat { window: 1 });
    let saw = mode_name(Mode::StopAndWait);
    println!();
    println!("Targets of issue 7, from this run:");
    let mut networks: Vec<&str> = refs.iter().map(|r| r.network).collect();
    networks.dedup();
    for net in networks {
        let net_refs: Vec<&Reference> = refs.iter().filter(|r| r.network == net).collect();
        // 1. SR p = 0, n = 3 vs the raw blast to 3 receivers.
        match (find(net, sr, 0.0, 3), net_refs.iter().find(|r| r.n == 3)) {
            (Some(c), Some(r)) => {
                let ratio = r.blast.secs / secs(c);
                println!(
                    "  [{net}] selective repeat p=0 n=3 vs raw UDP blast n=3: {:.3} s vs {:.3} s = {:.0}% of \
                     the blast rate (target >= 80%): {}",
                    secs(c),
                    r.blast.secs,
                    ratio * 100.0,
                    verdict(ratio >= 0.8)
                );
                if let Some(bb) = &r.blast_batched {
                    let ratio = bb.secs / secs(c);
                    println!(
                        "  [{net}] selective repeat p=0 n=3 vs the blast with the same batched I/O n=3: {:.3} s \
                         vs {:.3} s = {:.0}% of its rate (target >= 80%): {}",
                        secs(c),
                        bb.secs,
                        ratio * 100.0,
                        verdict(ratio >= 0.8)
                    );
                }
            }
            _ => println!(
                "  [{net}] selective repeat p=0 n=3 vs raw blast: not measured (p = 0, n = 3 not in the grid)"
            ),
        }
        // 2. SR p = 0.05 keeps half its p = 0 goodput (judged at n = 3; other n shown).
        let mut any = false;
        for r in &net_refs {
            if let (Some(c0), Some(c5)) = (find(net, sr, 0.0, r.n), find(net, sr, 0.05, r.n)) {
                any = true;
                let ratio = goodput(c5) / goodput(c0).max(f64::MIN_POSITIVE);
                println!(
                    "  [{net}] selective repeat p=0.05 vs p=0, n={}: {:.2} vs {:.2} MB/s = {:.0}% (target >= \
                     50%): {}",
                    r.n,
                    goodput(c5),
                    goodput(c0),
                    ratio * 100.0,
                    verdict(ratio >= 0.5)
                );
            }
        }
        if !any {
            println!(
                "  [{net}] selective repeat p=0.05 vs p=0: not measured (both loss rates needed in the grid)"
            );
        }
        // 3. Stop-and-wait p = 0 within 1.3x of the ping-pong floor.
        let mut any = false;
        for r in &net_refs {
            if let Some(c) = find(net, saw, 0.0, r.n) {
                any = true;
                let floor_thr = r.rtt_threads * (segments + 1) as f64;
                let thr = format!(
                    "{:.2}x the blocking-threads floor {:.3} s: {}",
                    secs(c) / floor_thr,
                    floor_thr,
                    verdict(secs(c) <= 1.3 * floor_thr)
                );
                let nodes = if net == LOOPBACK {
                    "same-runtime (tokio tasks)"
                } else {
                    "process-per-receiver (p2mp echo)"
                };
                // The runtime-matched floor says what the transfer adds to tokio's own round trip.
                let runtime = r.rtt_tokio_processes.map_or(String::new(), |rtt| {
                    let f = rtt * (segments + 1) as f64;
                    format!(
                        "; {:.2}x the same processes in tokio, {f:.3} s: {}",
                        secs(c) / f,
                        verdict(secs(c) <= 1.3 * f)
                    )
                });
                match r.rtt_nodes {
                    Some(rtt) => {
                        let floor_nodes = rtt * (segments + 1) as f64;
                        println!(
                            "  [{net}] stop-and-wait p=0 n={} vs ping-pong floor: {:.3} s = {:.2}x the \
                             {nodes} floor {:.3} s: {}; {thr}{runtime} (target <= 1.3x)",
                            r.n,
                            secs(c),
                            secs(c) / floor_nodes,
                            floor_nodes,
                            verdict(secs(c) <= 1.3 * floor_nodes),
                        );
                    }
                    None => println!(
                        "  [{net}] stop-and-wait p=0 n={} vs ping-pong floor: {:.3} s = {thr} (target <= 1.3x)",
                        r.n,
                        secs(c)
                    ),
                }
            }
        }
        if !any {
            println!("  [{net}] stop-and-wait vs ping-pong floor: not measured (p = 0 not in the grid)");
        }
        for p in pairs.iter().filter(|p| p.network == net) {
            let (lo, hi) =
                p.ratios.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
            let floor = if net == LOOPBACK {
                "same-runtime (tokio tasks)"
            } else {
                "process-per-receiver (p2mp echo)"
            };
            println!(
                "  [{net}] stop-and-wait p=0 n={} vs its {floor} floor, {} pairs back to back: median {:.3}x \
                 (range {lo:.3}-{hi:.3}): {} (target <= 1.3x)",
                p.n,
                p.ratios.len(),
                p.median(),
                verdict(p.median() <= 1.3)
            );
        }
    }
    // 4. SR n = 3 on the namespaced network beats uftp in wall time (whole command), by unicast
    // and by multicast.
    if let Some(u) = find(NETNS, "uftp", 0.0, 3) {
        let wu = u.wall.unwrap_or(0.0);
        for (label, mode) in [("unicast", sr), ("multicast", SR_MULTICAST)] {
            match find(NETNS, mode, 0.0, 3) {
                Some(c) => {
                    let w = c.wall.unwrap_or(f64::INFINITY);
                    println!(
                        "  [netns] selective repeat ({label}) p=0 n=3 vs uftp wall time, whole command start \
                         to exit: p2mpclient {:.3} s vs uftp {:.3} s = {:.2}x (target: less wall time than \
                         uftp): {}",
                        w,
                        wu,
                        w / wu.max(f64::MIN_POSITIVE),
                        verdict(w < wu)
                    );
                }
                None => println!(
                    "  [netns] selective repeat ({label}) vs uftp wall time: not measured (no {mode} row at p = 0, \
                     n = 3)"
                ),
            }
        }
    }
    match find(NETNS, "uftp", 0.0, 3) {
        Some(_) => {}
        _ if !netns => println!(
            "  selective repeat vs uftp on the namespaced network: not measured (no namespaced network in this \
             run: --network netns|both)"
        ),
        _ if !uftp => println!("  selective repeat vs uftp on the namespaced network: not measured (uftp not installed)"),
        _ => println!("  selective repeat vs uftp on the namespaced network: not measured (p = 0, n = 3 not in the grid)"),
    }
}
