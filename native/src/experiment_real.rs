//! Real transfers for `p2mp experiment --real`: in-process servers on 127.0.0.x and a client,
//! driven by the same [`SimConfig`] the simulator takes, so a measured point and a simulated
//! one have exactly the same parameters.
//!
//! - The round-trip time is injected by the servers' reply delay ([`Server::with_reply_delay`]):
//!   each ACK is held `2 * cfg.link.delay` (the simulator's delay is one way).
//! - The servers' loss services use the very seeds the simulator gives its receivers
//!   (`Rng::derive(cfg.seed, 1 + i)`), so as long as no timer fires early the real receivers
//!   draw the same losses on the same datagrams as the simulated ones (common random numbers):
//!   real and simulated delays then differ by timing alone, not by luck.
//! - [`calibrate_host_cost`] measures what one datagram costs a node here, for the
//!   simulator's [`SimConfig::host_cost`].

use crate::client::{Client, ClientConfig};
use crate::console::Console;
use crate::error::{NativeError, Result};
use crate::loopback::files_equal;
use crate::net;
use crate::server::{Server, ServerConfig};
use crate::summary::ClientSummary;
use p2mp_core::rng::Rng;
use p2mp_core::sim::SimConfig;
use p2mp_core::ReceiverConfig;
use std::path::Path;
use std::time::Duration;

/// The loss-service seed the simulator gives receiver `i` of a run seeded `seed`.
pub fn receiver_seed(seed: u64, i: u16) -> u64 {
    Rng::derive(seed, 1 + u64::from(i)).next_u64()
}

/// The round-trip time `cfg` describes (twice its one-way link delay).
pub fn rtt_of(cfg: &SimConfig) -> Duration {
    cfg.link.delay * 2
}

/// Sends `input` (which must be `cfg.file_size` bytes long) to `cfg.receivers` in-process
/// servers on loopback with `cfg`'s MSS, dialect, policy, loss and seeds, the RTT injected by
/// the servers; checks every copy, deletes them, and returns the client's summary.
pub async fn real_transfer(cfg: &SimConfig, input: &Path, dir: &Path) -> Result<ClientSummary> {
    let rtt = rtt_of(cfg);
    let sender = cfg.sender_config();
    // Long enough to answer a FIN retransmitted after a timeout, short enough not to dominate.
    let linger = match cfg.policy {
        p2mp_core::RtoPolicy::Fixed { timeout } => timeout + rtt * 2,
        p2mp_core::RtoPolicy::Adaptive { .. } => Duration::from_millis(300) + rtt * 2,
    }
    .min(Duration::from_secs(2));
    let mut handles = Vec::new();
    let mut addrs = Vec::new();
    let mut outputs = Vec::new();
    for i in 0..cfg.receivers {
        let output = dir.join(format!("received-{}.bin", i + 1));
        let server_cfg = ServerConfig {
            bind: net::loopback_server_addr(usize::from(i), 0),
            output: output.clone(),
            receiver: ReceiverConfig {
                dialect: cfg.dialect,
                loss: cfg.loss,
                seed: receiver_seed(cfg.seed, i),
                index: i,
                linger,
                idle_timeout: Some(Duration::from_secs(60)),
                reorder_window: 0,
            },
            trace_file: None,
        };
        let server = Server::bind(server_cfg, Console::quiet()).await?.with_reply_delay(rtt);
        addrs.push(server.local_addr());
        outputs.push(output);
        handles.push(tokio::spawn(server.run()));
    }
    let client = Client::prepare(
        ClientConfig { receivers: addrs, file: input.to_path_buf(), sender, bind: None, trace_file: None },
        Console::quiet(),
    )
    .await;
    let client = match client {
        Ok(c) => c.run().await,
        Err(e) => Err(e),
    };
    let mut server_error = None;
    for h in handles {
        let abort = h.abort_handle();
        match tokio::time::timeout(linger + Duration::from_secs(5), h).await {
            Ok(Ok(Ok(_))) => {}
            Ok(Ok(Err(e))) => server_error = server_error.or(Some(e)),
            Ok(Err(e)) => {
                server_error = server_error.or(Some(NativeError::Verify(format!("server task failed: {e}"))))
            }
            Err(_) => {
                abort.abort();
                server_error = server_error
                    .or(Some(NativeError::Verify("a server did not close after the transfer".into())));
            }
        }
    }
    let mut verified = Ok(());
    for out in &outputs {
        if verified.is_ok()
            && client.is_ok()
            && server_error.is_none()
            && !files_equal(input, out).unwrap_or(false)
        {
            verified = Err(NativeError::Verify(format!("{} differs from the input", out.display())));
        }
        // Best effort: the directory is temporary anyway.
        let _ = std::fs::remove_file(out);
    }
    let client = client?;
    if let Some(e) = server_error {
        return Err(e);
    }
    verified?;
    if !client.all_finished() {
        return Err(NativeError::ReceiversFailed {
            failed: client.failed(),
            total: usize::from(cfg.receivers),
        });
    }
    Ok(client)
}

/// The delay of one real transfer in seconds.
pub async fn real_delay_secs(cfg: &SimConfig, input: &Path, dir: &Path) -> Result<f64> {
    Ok(real_transfer(cfg, input, dir).await?.delay_secs())
}

/// What one datagram costs a node on this machine, measured as the simulator counts it.
///
/// A lossless round to n receivers takes `RTT + (n + 1) c` in the simulator (the sender's n
/// copies leave `c` apart, the last receiver's ACK costs it `c` more); so a real lossless
/// transfer of `S` segments (plus the FIN round) taking `D` gives
/// `c = (D / (S + 1) - RTT) / (n + 1)`. Everything the real path adds to a round beyond the
/// injected RTT (system calls, the runtime's wake-ups, the delay line's timer slack) is
/// folded into `c`. `segments` sets the transfer's length; the file is written to `dir` and
/// deleted.
pub async fn calibrate_host_cost(cfg: &SimConfig, segments: u64, dir: &Path) -> Result<Duration> {
    let size = segments.max(1) * cfg.mss as u64;
    let cal = SimConfig { file_size: size, loss: 0.0, ..cfg.clone() };
    let input = dir.join("calibration.bin");
    crate::loopback::write_random_file(&input, size, cal.seed)
        .map_err(|e| NativeError::OutputFile { path: input.clone(), reason: e.to_string() })?;
    let result = real_transfer(&cal, &input, dir).await;
    let _ = std::fs::remove_file(&input);
    let summary = result?;
    let rounds = summary.segments as f64 + 1.0;
    let round = summary.delay_secs() / rounds;
    let excess = (round - rtt_of(cfg).as_secs_f64()).max(0.0);
    Ok(Duration::from_secs_f64(excess / (f64::from(cfg.receivers) + 1.0)))
}
