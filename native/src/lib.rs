//! Native nodes of P2MP-FTP: the sans-IO core ([`p2mp_core`]) driven over real UDP sockets
//! with tokio.
//!
//! - [`server`]: the receiver driver ([`server::Server`]), writing through [`output`].
//! - [`client`]: the sender driver ([`client::Client`]), reading through [`source`].
//! - [`cli`]: the `p2mpserver` and `p2mpclient` command lines; [`app`]: the `p2mp` tool.
//! - [`console`], [`trace_file`], [`summary`]: what the nodes print and record.
//! - [`loopback`]: in-process transfers on loopback (demo, bench, tests); [`blast`]: raw-UDP
//!   ceiling and ping-pong floor for `p2mp bench --arq`; [`blast_batched`]: the same blast with the
//!   drivers' batched I/O.
//! - [`experiment_real`], [`plot_png`]: real transfers and PNG plots for `p2mp experiment`.
//! - [`clock`], [`net`], [`delay`], [`units`]: time, address and delay plumbing, unit parsing.
//! - [`multicast`]: IPv4 multicast group parsing, sender options and receivers' membership.
//! - [`batch`]: batched UDP I/O (GSO/GRO and `recvmmsg` on Linux, plain elsewhere).
//! - [`hub`], [`publish`]: the live trace hub (`p2mp ui`) and streaming to it (`--trace`).
//! - [`error`]: the crate's error type and exit statuses.
//! - `netns` (Linux): the namespaced test network (sender and receivers on a bridge).

#![warn(missing_docs)]

pub mod app;
pub mod batch;
pub mod blast;
pub mod blast_batched;
pub mod cli;
pub mod client;
pub mod clock;
pub mod console;
pub mod delay;
pub mod error;
pub mod experiment_real;
pub mod hub;
pub mod impair;
pub mod loopback;
pub mod multicast;
pub mod net;
#[cfg(target_os = "linux")]
pub mod netns;
pub mod offload;
pub mod output;
pub mod plot_png;
pub mod publish;
pub mod server;
pub mod source;
pub mod summary;
pub mod trace_file;
pub mod units;

pub use client::{Client, ClientConfig};
pub use console::Console;
pub use error::{NativeError, Result};
pub use server::{Server, ServerConfig, ServerSummary};
pub use summary::ClientSummary;
