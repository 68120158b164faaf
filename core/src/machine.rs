//! One type for the simulator to drive, whichever ARQ scheme the sender runs.

use crate::error::Error;
use crate::sender::{Ignored, ReadRequest, ReceiverReport, Sender, SenderConfig, Transmit};
use crate::time::Instant;
use crate::trace::{TraceEvent, TransferTotals, TxId};
use crate::window::{Mode, WindowSender};
use std::net::SocketAddr;

/// The client's state machine: stop-and-wait or windowed.
#[derive(Debug)]
pub enum AnySender {
    /// The classic protocol.
    StopAndWait(Sender),
    /// Go-back-n or selective repeat.
    Window(WindowSender),
}

macro_rules! delegate {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            AnySender::StopAndWait($s) => $e,
            AnySender::Window($s) => $e,
        }
    };
}

impl AnySender {
    /// A sender for `cfg.mode`.
    pub fn new(
        cfg: SenderConfig,
        receivers: &[SocketAddr],
        file_len: u64,
        now: Instant,
    ) -> Result<Self, Error> {
        Ok(match cfg.mode {
            Mode::StopAndWait => AnySender::StopAndWait(Sender::new(cfg, receivers, file_len, now)?),
            _ => AnySender::Window(WindowSender::new(cfg, receivers, file_len, now)?),
        })
    }

    /// See [`Sender::delay`].
    pub fn delay(&self) -> Option<core::time::Duration> {
        delegate!(self, s => s.delay())
    }

    /// DATA segments in the file.
    pub fn segments(&self) -> u64 {
        delegate!(self, s => s.segments())
    }

    /// See [`Sender::poll_read`].
    pub fn poll_read(&self) -> Option<ReadRequest> {
        delegate!(self, s => s.poll_read())
    }
    /// See [`Sender::supply`].
    pub fn supply(&mut self, seq: u32, data: &[u8]) -> Result<(), Error> {
        delegate!(self, s => s.supply(seq, data))
    }
    /// See [`Sender::poll_transmit`].
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        delegate!(self, s => s.poll_transmit(now, buf))
    }
    /// See [`Sender::multicast_targets`].
    pub fn multicast_targets(&self) -> &[(u16, TxId)] {
        delegate!(self, s => s.multicast_targets())
    }
    /// See [`Sender::poll_timeout`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        delegate!(self, s => s.poll_timeout())
    }
    /// See [`Sender::set_event_filter`].
    pub fn set_event_filter(&mut self, keep: crate::trace::EventFilter) {
        delegate!(self, s => s.set_event_filter(keep))
    }
    /// See [`Sender::poll_event`].
    pub fn poll_event(&mut self) -> Option<TraceEvent> {
        delegate!(self, s => s.poll_event())
    }
    /// See [`Sender::handle_datagram`].
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8], tx: Option<TxId>) {
        delegate!(self, s => s.handle_datagram(now, from, data, tx))
    }
    /// See [`Sender::handle_timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        delegate!(self, s => s.handle_timeout(now))
    }
    /// See [`Sender::is_done`].
    pub fn is_done(&self) -> bool {
        delegate!(self, s => s.is_done())
    }
    /// See [`Sender::totals`].
    pub fn totals(&self) -> &TransferTotals {
        delegate!(self, s => s.totals())
    }
    /// See [`Sender::reports`].
    pub fn reports(&self) -> Vec<ReceiverReport> {
        delegate!(self, s => s.reports())
    }
    /// See [`Sender::ignored`].
    pub fn ignored(&self) -> Ignored {
        delegate!(self, s => s.ignored())
    }
    /// See [`Sender::segments_done`].
    pub fn segments_done(&self) -> u64 {
        delegate!(self, s => s.segments_done())
    }
}
