//! `p2mp bench`: real loopback transfers without loss, segments per second for n = 1..5; with
//! `--arq`, the ARQ comparison of issue 7: stop-and-wait, go-back-n and selective repeat over a
//! grid of loss rates and receiver counts, beside the raw-UDP ceiling and the ping-pong floor
//! ([`crate::blast`]), and the target ratios computed from the same run.

use crate::blast;
use crate::cli::{parse_secs, Wire};
use crate::console::Console;
use crate::error::{NativeError, Result};
use crate::loopback::{files_equal, run_loopback, write_random_file, LoopbackSpec};
use crate::summary::ClientSummary;
use clap::Args;
use p2mp_core::{Mode, RtoPolicy, SenderConfig};
use std::path::Path;
use std::time::Duration;

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
    /// Window of go-back-n and selective repeat (`--arq`).
    #[arg(long, default_value_t = 64)]
    pub window: u32,
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
    /// ARQ scheme (`p2mpclient --mode` name).
    pub mode: &'static str,
    /// Servers' loss probability.
    pub loss: f64,
    /// Receivers.
    pub n: usize,
    /// Transfer time (first send to the last end-of-file acknowledgement), seconds.
    pub secs: f64,
    /// File bytes per second of transfer time, MB/s.
    pub goodput_mb_per_sec: f64,
    /// Retransmitted DATA datagrams.
    pub retransmissions: u64,
    /// Timer expiries.
    pub timeouts: u64,
}

/// Reference figures for one receiver count.
#[derive(Clone, Debug)]
struct Reference {
    n: usize,
    /// Mean round trip, blocking sockets in threads.
    rtt_threads: f64,
    /// Mean round trip, tokio sockets in this runtime.
    rtt_tokio: f64,
    blast: blast::BlastOutcome,
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

/// `p2mp bench --arq`.
async fn run_arq(args: BenchArgs) -> Result<()> {
    if args.ns.is_empty() || args.ns.contains(&0) || args.ns.iter().any(|&n| n > 250) {
        return Err(NativeError::usage("--ns must list receiver counts from 1 to 250"));
    }
    if args.losses.is_empty() || args.losses.iter().any(|p| !(0.0..1.0).contains(p)) {
        return Err(NativeError::usage("--losses must list probabilities in [0, 1)"));
    }
    if args.window == 0 {
        return Err(NativeError::usage("--window must be at least 1"));
    }
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
        Mode::GoBackN { window: args.window },
        Mode::SelectiveRepeat { window: args.window },
    ];
    for m in &modes[1..] {
        SenderConfig { mode: *m, ..base.clone() }.validate(args.size)?;
    }
    let dir = tempfile::tempdir()
        .map_err(|e| NativeError::OutputFile { path: std::env::temp_dir(), reason: e.to_string() })?;
    let input = dir.path().join("input.bin");
    write_random_file(&input, args.size, 7735)
        .map_err(|e| NativeError::OutputFile { path: input.clone(), reason: e.to_string() })?;
    let header = base.dialect.header_len();
    let datagram = header + args.mss;
    println!(
        "ARQ bench on loopback: {} bytes = {} segments of MSS {} ({}-byte datagrams, {} dialect), \
         window {}, RTO {policy} in every mode, one transfer per cell, servers and client in one \
         current-thread tokio runtime",
        args.size, segments, args.mss, datagram, base.dialect, args.window
    );
    println!(
        "Not measured here: the namespaced test network, IP multicast, and uftp/uftpd (not \
         installed); the uftp wall-time target is not assessed."
    );

    // References first, on an otherwise idle process.
    let mut ns = args.ns.clone();
    ns.sort_unstable();
    ns.dedup();
    let rounds = u32::try_from(segments + 1).unwrap_or(u32::MAX).clamp(500, 5000);
    let mut refs = Vec::with_capacity(ns.len());
    println!();
    println!(
        "References: ping-pong = one {datagram}-byte request to each of n echoers and their n \
         {header}-byte replies, mean of {rounds} rounds (after {} warm-up rounds), x (segments + 1); \
         blast = {segments} datagrams of {datagram} bytes to each of n receiver threads, no ARQ, \
         one blocking sender socket, timed to the last arrival",
        rounds / 10
    );
    println!(
        "{:>3}  {:>12}  {:>12}  {:>11}  {:>11}  {:>10}  {:>10}  {:>14}  {:>10}",
        "n",
        "RTT thr (us)",
        "RTT tok (us)",
        "floor thr s",
        "floor tok s",
        "blast s",
        "blast MB/s",
        "blast lost",
        "rcvbuf"
    );
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
        let floor = |rtt: f64| rtt * (segments + 1) as f64;
        println!(
            "{:>3}  {:>12.1}  {:>12.1}  {:>11.3}  {:>11.3}  {:>10.3}  {:>10.2}  {:>14}  {:>10}",
            n,
            rtt_threads * 1e6,
            rtt_tokio * 1e6,
            floor(rtt_threads),
            floor(rtt_tokio),
            b.secs,
            mb_per_sec(args.size, b.secs),
            format!("{}/{}", b.lost(), b.per_receiver * n as u64),
            b.rcvbuf
        );
        refs.push(Reference { n, rtt_threads, rtt_tokio, blast: b });
    }

    println!();
    println!(
        "{:<16}  {:>5}  {:>3}  {:>9}  {:>12}  {:>8}  {:>8}  {:>8}",
        "mode", "p", "n", "time (s)", "goodput MB/s", "retrans", "timeouts", "copies"
    );
    let mut cells = Vec::new();
    for mode in modes {
        for &loss in &args.losses {
            for &n in &ns {
                let spec = LoopbackSpec {
                    n,
                    port: 0,
                    loss,
                    seed: 1000 + n as u64,
                    sender: SenderConfig { mode, ..base.clone() },
                    linger: Duration::from_millis(100),
                    idle_timeout: Some(Duration::from_secs(30)),
                };
                let what = format!("{} p = {loss} n = {n}", mode_name(mode));
                let client = verified_transfer(&spec, &input, dir.path(), &what).await?;
                let cell = ArqCell {
                    mode: mode_name(mode),
                    loss,
                    n,
                    secs: client.delay_secs(),
                    goodput_mb_per_sec: mb_per_sec(args.size, client.delay_secs()),
                    retransmissions: client.totals.retransmissions,
                    timeouts: client.totals.timeouts,
                };
                println!(
                    "{:<16}  {:>5}  {:>3}  {:>9.3}  {:>12.2}  {:>8}  {:>8}  {:>8}",
                    cell.mode,
                    cell.loss,
                    cell.n,
                    cell.secs,
                    cell.goodput_mb_per_sec,
                    cell.retransmissions,
                    cell.timeouts,
                    format!("{n}/{n} ok")
                );
                cells.push(cell);
            }
        }
    }

    print_targets(&cells, &refs, segments);
    Ok(())
}

/// Prints the target ratios of issue 7 that this run can compute.
fn print_targets(cells: &[ArqCell], refs: &[Reference], segments: u64) {
    let find =
        |mode: &str, loss: f64, n: usize| cells.iter().find(|c| c.mode == mode && c.loss == loss && c.n == n);
    let sr = mode_name(Mode::SelectiveRepeat { window: 1 });
    let saw = mode_name(Mode::StopAndWait);
    println!();
    println!("Targets of issue 7, from this run:");
    // 1. SR p = 0, n = 3 vs the raw blast to 3 receivers.
    match (find(sr, 0.0, 3), refs.iter().find(|r| r.n == 3)) {
        (Some(c), Some(r)) => {
            let ratio = r.blast.secs / c.secs;
            println!(
                "  selective repeat p=0 n=3 vs raw UDP blast n=3: {:.3} s vs {:.3} s = {:.0}% of the blast \
                 rate (target >= 80%): {}",
                c.secs,
                r.blast.secs,
                ratio * 100.0,
                verdict(ratio >= 0.8)
            );
        }
        _ => println!("  selective repeat p=0 n=3 vs raw blast: not measured (p = 0, n = 3 not in the grid)"),
    }
    // 2. SR p = 0.05 keeps half its p = 0 goodput (judged at n = 3; other n shown).
    let mut any = false;
    for r in refs {
        if let (Some(c0), Some(c5)) = (find(sr, 0.0, r.n), find(sr, 0.05, r.n)) {
            any = true;
            let ratio = c5.goodput_mb_per_sec / c0.goodput_mb_per_sec.max(f64::MIN_POSITIVE);
            println!(
                "  selective repeat p=0.05 vs p=0, n={}: {:.2} vs {:.2} MB/s = {:.0}% (target >= 50%): {}",
                r.n,
                c5.goodput_mb_per_sec,
                c0.goodput_mb_per_sec,
                ratio * 100.0,
                verdict(ratio >= 0.5)
            );
        }
    }
    if !any {
        println!("  selective repeat p=0.05 vs p=0: not measured (both loss rates needed in the grid)");
    }
    // 3. Stop-and-wait p = 0 within 1.3x of the ping-pong floor.
    let mut any = false;
    for r in refs {
        if let Some(c) = find(saw, 0.0, r.n) {
            any = true;
            let floor_tok = r.rtt_tokio * (segments + 1) as f64;
            let floor_thr = r.rtt_threads * (segments + 1) as f64;
            println!(
                "  stop-and-wait p=0 n={} vs ping-pong floor: {:.3} s = {:.2}x the same-runtime (tokio) floor \
                 {:.3} s: {}; {:.2}x the blocking-threads floor {:.3} s: {} (target <= 1.3x)",
                r.n,
                c.secs,
                c.secs / floor_tok,
                floor_tok,
                verdict(c.secs <= 1.3 * floor_tok),
                c.secs / floor_thr,
                floor_thr,
                verdict(c.secs <= 1.3 * floor_thr)
            );
        }
    }
    if !any {
        println!("  stop-and-wait vs ping-pong floor: not measured (p = 0 not in the grid)");
    }
    println!(
        "  selective repeat vs uftp on the namespaced network: not measured (no namespaces or uftp here)"
    );
}
