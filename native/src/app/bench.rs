//! `p2mp bench`: real loopback transfers without loss, segments per second for n = 1..5.

use crate::cli::{parse_secs, Wire};
use crate::console::Console;
use crate::error::{NativeError, Result};
use crate::loopback::{files_equal, run_loopback, write_random_file, LoopbackSpec};
use clap::Args;
use p2mp_core::{RtoPolicy, SenderConfig};
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
    /// Transfers per n (the table shows the mean).
    #[arg(long, default_value_t = 1)]
    pub repeat: u32,
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
            let out =
                run_loopback(&spec, &input, dir.path(), |_, _| Console::quiet(), Console::quiet()).await?;
            if !out.client.all_finished() {
                return Err(NativeError::Verify(format!(
                    "n = {n}: {} receivers failed",
                    out.client.failed()
                )));
            }
            for (path, res) in out.outputs.iter().zip(&out.servers) {
                if res.is_err() || !files_equal(&input, path).unwrap_or(false) {
                    return Err(NativeError::Verify(format!(
                        "n = {n}: {} differs from the input",
                        path.display()
                    )));
                }
            }
            secs += out.client.delay_secs();
            segments = out.client.segments;
            timeouts += out.client.totals.timeouts;
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
