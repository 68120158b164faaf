//! A delay line for outgoing datagrams: the server's `--delay` option, which holds each reply
//! for a fixed time before sending it, to give loopback a round-trip time.
//!
//! The queue lives on its own OS thread with a duplicate of the server's socket, so the server's
//! receive loop never waits: it pushes `(due, datagram, destination)` and goes on. Because the
//! delay is the same for every datagram, the queue is FIFO in due time. The thread sleeps with
//! the OS's high-resolution timer (tens of microseconds of slack on Linux) rather than tokio's,
//! whose millisecond ticks would add about half a millisecond to every round trip.

use crate::error::{NativeError, Result};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a send that would block is retried before the datagram is counted as lost.
const SEND_RETRIES: u32 = 200;

/// Holds each datagram pushed to it for a fixed time, then sends it from the same socket.
#[derive(Debug)]
pub struct DelayLine {
    delay: Duration,
    queue: mpsc::Sender<(Instant, Vec<u8>, SocketAddr)>,
    errors: Arc<AtomicU64>,
}

impl DelayLine {
    /// Starts the delay line's thread on a duplicate of `socket`. Dropping the line lets the
    /// thread send what is still queued, then end.
    pub fn spawn(socket: &tokio::net::UdpSocket, delay: Duration) -> Result<Self> {
        let dup = socket2::SockRef::from(socket).try_clone().map_err(NativeError::Network)?;
        let dup: std::net::UdpSocket = dup.into();
        let (queue, rx) = mpsc::channel::<(Instant, Vec<u8>, SocketAddr)>();
        let errors = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&errors);
        std::thread::Builder::new()
            .name("p2mp-delay".into())
            .spawn(move || {
                while let Ok((due, data, to)) = rx.recv() {
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                    if !send(&dup, &data, to) {
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
            .map_err(NativeError::Network)?;
        Ok(DelayLine { delay, queue, errors })
    }

    /// Queues `data` for `to`, due one delay from now.
    pub fn push(&self, data: &[u8], to: SocketAddr) {
        let due = Instant::now() + self.delay;
        if self.queue.send((due, data.to_vec(), to)).is_err() {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Datagrams that could not be sent so far.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }
}

/// Sends one datagram on the (non-blocking) duplicate socket; false if it could not go out.
fn send(socket: &std::net::UdpSocket, data: &[u8], to: SocketAddr) -> bool {
    for _ in 0..SEND_RETRIES {
        match socket.send_to(data, to) {
            Ok(_) => return true,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_micros(50));
            }
            Err(_) => return false,
        }
    }
    false
}
