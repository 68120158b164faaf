//! Sans-IO core of P2MP-FTP, point-to-multipoint reliable file transfer over UDP.
//!
//! Nothing here reads a clock, a socket or a file: time and datagrams are inputs; datagrams to
//! send, timer deadlines and trace events are outputs. The same state machines run in the native
//! nodes, in the simulator and in the browser.
//!
//! - [`wire`]: both dialects' codecs.
//! - [`sender`] / [`receiver`]: the protocol's two sides.
//! - [`rto`]: timeout policies.
//! - [`window`], [`congestion`]: go-back-n and selective repeat, and their pacing.
//! - [`trace`]: the typed event trace that viewers replay.
//! - [`sim`]: a deterministic discrete-event simulator over a modelled network.
//! - [`model`], [`experiment`]: the analytic delay model and the classic experiments.
//! - [`view`]: a viewer's model of a trace (flights paired with fates, state at any point).
//! - [`merge`]: the per-node trace files of one transfer merged into one, on the sender's clock.

pub mod congestion;
pub mod error;
pub mod experiment;
pub mod machine;
pub mod merge;
pub mod model;
pub mod receiver;
pub mod rng;
pub mod rto;
pub mod sender;
pub mod sim;
pub mod time;
pub mod trace;
pub mod view;
pub mod window;
pub mod wire;

pub use congestion::Congestion;
pub use error::Error;
pub use machine::AnySender;
pub use receiver::{Receiver, ReceiverConfig, ReceiverOutput, ReceiverStats};
pub use rto::RtoPolicy;
pub use sender::{Outcome, ReadRequest, ReceiverReport, Sender, SenderConfig, Transmit};
pub use time::Instant;
pub use trace::{EventFilter, EventKind, Node, TraceEvent, TxId};
pub use window::{Mode, WindowSender};
pub use wire::{Dialect, Packet, PacketKind, WireError};
