//! The crate's error type.

use crate::wire::{Dialect, WireError};
use thiserror::Error;

/// Everything that can go wrong when configuring or driving the core.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Error {
    /// MSS out of range for the dialect.
    #[error("MSS must be between 1 and {max} bytes for the {dialect} dialect (a UDP datagram holds at most 65507), got {mss}")]
    BadMss {
        /// Requested MSS.
        mss: usize,
        /// Largest allowed.
        max: usize,
        /// Dialect in use.
        dialect: Dialect,
    },
    /// The file cannot be numbered in this dialect.
    #[error(
        "a file of {len} bytes is too large for the {dialect} dialect (at most {max} bytes at this MSS)"
    )]
    FileTooLarge {
        /// File length.
        len: u64,
        /// Largest allowed.
        max: u64,
        /// Dialect in use.
        dialect: Dialect,
    },
    /// No receivers given.
    #[error("at least one receiver is required")]
    NoReceivers,
    /// More receivers than trace indices allow.
    #[error("too many receivers: {0} (at most {max})", max = u16::MAX)]
    TooManyReceivers(usize),
    /// The same receiver address twice.
    #[error("receiver {0} is listed twice")]
    DuplicateReceiver(std::net::SocketAddr),
    /// Loss probability outside `[0, 1)`.
    #[error("loss probability must be in [0, 1), got {0}")]
    BadProbability(f64),
    /// A multicast group that is not an IPv4 multicast address (224.0.0.0/4) with a port.
    #[error("multicast group must be an IPv4 multicast address (224.0.0.0 to 239.255.255.255) with a non-zero port, got {0}")]
    BadMulticastGroup(std::net::SocketAddr),
    /// A nonsensical timeout policy or simulation parameter.
    #[error("invalid parameter: {0}")]
    BadParameter(String),
    /// The driver supplied a segment the sender did not ask for.
    #[error(
        "supplied segment {got} ({len} bytes) but the sender asked for segment {want} ({want_len} bytes)"
    )]
    UnexpectedSegment {
        /// Segment supplied.
        got: u32,
        /// Its length.
        len: usize,
        /// Segment requested.
        want: u32,
        /// Requested length.
        want_len: usize,
    },
    /// A trace file line that does not parse.
    #[error("trace line {line}: {message}")]
    Trace {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A datagram could not be encoded or decoded.
    #[error(transparent)]
    Wire(#[from] WireError),
}
