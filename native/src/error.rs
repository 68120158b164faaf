//! The crate's single error type, and how each error maps to an exit status.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use thiserror::Error;

/// Everything that can stop a native node.
#[derive(Debug, Error)]
pub enum NativeError {
    /// The user gave something unusable on the command line (a port, a number, an option).
    #[error("{0}")]
    Usage(String),
    /// The core rejected the configuration (MSS out of range, file too large for the dialect,
    /// loss probability outside [0, 1), duplicate receivers, ...).
    #[error(transparent)]
    Config(#[from] p2mp_core::Error),
    /// A host name or address could not be resolved or parsed.
    #[error("cannot resolve `{host}`: {reason}")]
    Resolve {
        /// The host as the user typed it.
        host: String,
        /// Why it failed.
        reason: String,
    },
    /// The socket could not be bound.
    #[error("cannot bind UDP socket to {addr}: {source}")]
    Bind {
        /// Address asked for.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The file to send is missing, unreadable or not a regular file.
    #[error("cannot read input file {}: {reason}", path.display())]
    InputFile {
        /// The path as given.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The output file (or its temporary sibling) cannot be created or written.
    #[error("cannot write output file {}: {reason}", path.display())]
    OutputFile {
        /// The path concerned.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Writing the received file failed once receiving had begun (disk full, file size limit,
    /// I/O error), mid-transfer or at the end of file: the transfer is abandoned, nothing more
    /// is acknowledged (not even the FIN), and the temporary file is deleted (when the
    /// [`crate::output::PartialFile`] drops, before [`crate::Server::run`] returns).
    #[error("cannot write output file {}: {reason}; transfer abandoned, the partial output was deleted", path.display())]
    WriteFailed {
        /// The target path.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// A trace file could not be created or written.
    #[error("cannot write trace file {}: {source}", path.display())]
    TraceFile {
        /// The trace path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A socket failed in a way that is not a transient network condition.
    #[error("network error: {0}")]
    Network(#[source] io::Error),
    /// The server gave up on a silent sender: the partial output was deleted.
    #[error("transfer aborted: the sender went silent after {bytes} bytes; the partial output was deleted")]
    Aborted {
        /// Bytes received before giving up.
        bytes: u64,
    },
    /// The node was interrupted (Ctrl-C) before finishing.
    #[error("interrupted")]
    Interrupted,
    /// One or more receivers failed; the others finished.
    #[error("{failed} of {total} receivers failed")]
    ReceiversFailed {
        /// Receivers declared failed.
        failed: usize,
        /// Receivers in the transfer.
        total: usize,
    },
    /// A transferred file differs from the original (demo and bench verification).
    #[error("verification failed: {0}")]
    Verify(String),
    /// A plot could not be rendered (`p2mp experiment --png`).
    #[error("cannot render plot: {0}")]
    Plot(String),
    /// The hub's TCP port could not be bound (`p2mp ui`, `p2mp demo`).
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// Address asked for.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Talking to a hub failed (`p2mp demo --again`).
    #[error("hub: {0}")]
    Hub(String),
}

impl NativeError {
    /// The process exit status for this error: 2 for bad input, 1 for a failed run.
    pub fn exit_code(&self) -> u8 {
        match self {
            NativeError::Usage(_)
            | NativeError::Config(_)
            | NativeError::Resolve { .. }
            | NativeError::Bind { .. }
            | NativeError::InputFile { .. }
            | NativeError::OutputFile { .. }
            | NativeError::TraceFile { .. } => 2,
            NativeError::Network(_)
            | NativeError::Aborted { .. }
            | NativeError::WriteFailed { .. }
            | NativeError::Interrupted
            | NativeError::ReceiversFailed { .. }
            | NativeError::Verify(_)
            | NativeError::Plot(_)
            | NativeError::Hub(_) => 1,
            NativeError::Listen { .. } => 2,
        }
    }

    /// A usage error from anything printable.
    pub fn usage(msg: impl Into<String>) -> Self {
        NativeError::Usage(msg.into())
    }
}

/// The crate's result type.
pub type Result<T, E = NativeError> = std::result::Result<T, E>;
