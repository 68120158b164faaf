//! End-of-transfer summaries: machine-readable (serde) and human-readable.

use crate::client::ClientConfig;
use crate::server::ServerSummary;
use p2mp_core::sender::Ignored;
use p2mp_core::trace::TransferTotals;
use p2mp_core::{AnySender, Dialect, Outcome, ReceiverReport, RtoPolicy};
use serde::Serialize;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

/// What the client reports at the end of a transfer.
#[derive(Clone, Debug, Serialize)]
pub struct ClientSummary {
    /// The file sent.
    pub file: PathBuf,
    /// The client's socket address.
    pub local_addr: SocketAddr,
    /// File bytes.
    pub bytes: u64,
    /// DATA segments.
    pub segments: u64,
    /// Payload bytes per segment.
    pub mss: usize,
    /// Wire dialect.
    pub dialect: Dialect,
    /// Timeout policy.
    pub policy: RtoPolicy,
    /// Time from the first send to the last end-of-file acknowledgement, in microseconds.
    pub delay_micros: u64,
    /// File bytes per second of delay (0 when the delay is 0).
    pub throughput_bytes_per_sec: f64,
    /// The core's totals.
    pub totals: TransferTotals,
    /// Per receiver: timeouts, retransmissions, outcome.
    pub receivers: Vec<ReceiverReport>,
    /// Datagrams the sender ignored.
    pub ignored: Ignored,
    /// Datagrams that could not be sent (transient errors, ignored).
    pub send_errors: u64,
    /// Hex SHA-256 of the file as read, to compare with the servers' (the wire's 16-bit
    /// checksum misses some damage; this does not).
    pub sha256: Option<String>,
}

impl ClientSummary {
    /// Collects the summary from a finished sender.
    pub fn from_sender(
        sender: &AnySender,
        cfg: &ClientConfig,
        local_addr: SocketAddr,
        send_errors: u64,
    ) -> Self {
        let totals = sender.totals().clone();
        let delay_micros = sender.delay().map_or(totals.delay_micros, |d| d.as_micros() as u64);
        let throughput_bytes_per_sec =
            if delay_micros == 0 { 0.0 } else { totals.bytes as f64 / (delay_micros as f64 / 1e6) };
        ClientSummary {
            file: cfg.file.clone(),
            local_addr,
            bytes: totals.bytes,
            segments: totals.segments,
            mss: cfg.sender.mss,
            dialect: cfg.sender.dialect,
            policy: cfg.sender.policy,
            delay_micros,
            throughput_bytes_per_sec,
            totals,
            receivers: sender.reports(),
            ignored: sender.ignored(),
            send_errors,
            sha256: None,
        }
    }

    /// Receivers that did not finish.
    pub fn failed(&self) -> usize {
        self.receivers.iter().filter(|r| r.outcome != Outcome::Finished).count()
    }

    /// Whether every receiver finished.
    pub fn all_finished(&self) -> bool {
        self.failed() == 0
    }

    /// The delay in seconds.
    pub fn delay_secs(&self) -> f64 {
        self.delay_micros as f64 / 1e6
    }

    /// The human-readable summary (several lines, no trailing newline).
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Sent {} bytes in {} segments (MSS {}, {} dialect, timeout {}) to {} receiver{}",
            self.bytes,
            self.segments,
            self.mss,
            self.dialect,
            self.policy,
            self.receivers.len(),
            if self.receivers.len() == 1 { "" } else { "s" }
        );
        let _ = writeln!(
            s,
            "Total delay: {:.6} s; throughput: {}",
            self.delay_secs(),
            human_rate(self.throughput_bytes_per_sec)
        );
        let _ = writeln!(
            s,
            "Transmissions: {} ({} retransmissions), timeouts: {}",
            self.totals.transmissions, self.totals.retransmissions, self.totals.timeouts
        );
        let width = self.receivers.iter().map(|r| r.addr.to_string().len()).max().unwrap_or(8).max(8);
        let _ =
            writeln!(s, "  {:<width$}  {:>8}  {:>15}  outcome", "receiver", "timeouts", "retransmissions");
        for r in &self.receivers {
            let _ = writeln!(
                s,
                "  {:<width$}  {:>8}  {:>15}  {}",
                r.addr.to_string(),
                r.timeouts,
                r.retransmissions,
                outcome_name(r.outcome)
            );
        }
        if let Some(d) = &self.sha256 {
            let _ = writeln!(s, "SHA-256 of the file sent: {d}");
        }
        let failed = self.failed();
        if failed == 0 && self.receivers.len() == 1 {
            let _ = write!(s, "The receiver finished.");
        } else if failed == 0 {
            let _ = write!(s, "All {} receivers finished.", self.receivers.len());
        } else {
            let _ = write!(s, "{failed} of {} receivers FAILED.", self.receivers.len());
        }
        s
    }
}

/// A receiver outcome as a word.
pub fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Active => "unfinished",
        Outcome::Finished => "finished",
        Outcome::Failed => "failed",
    }
}

/// Bytes per second as `x.xx MB/s (y.yy Mbit/s)`.
pub fn human_rate(bytes_per_sec: f64) -> String {
    format!("{:.3} MB/s ({:.2} Mbit/s)", bytes_per_sec / 1e6, bytes_per_sec * 8.0 / 1e6)
}

impl ServerSummary {
    /// The human-readable one-line summary.
    pub fn render(&self) -> String {
        let peer = self.peer.map_or_else(|| "nobody".to_string(), |p| p.to_string());
        format!(
            "Received {} bytes ({} segments) from {} into {}; {} datagrams, {} lost by the loss service, {} duplicates, {} rejected; SHA-256 {}",
            self.bytes,
            self.segments,
            peer,
            self.output.display(),
            self.stats.datagrams,
            self.stats.lost,
            self.stats.duplicates,
            self.stats.malformed + self.stats.bad_checksum + self.stats.foreign + self.stats.unexpected,
            self.sha256,
        )
    }
}
