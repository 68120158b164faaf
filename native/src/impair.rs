//! A UDP impairment proxy for real nodes: it sits between a client and one server and puts the
//! core's seeded [`Link`] model (drop, burst loss, duplication, reordering, delay with jitter,
//! bandwidth limit, bit corruption) on both directions, in real time.
//!
//! The client sends to the proxy's address instead of the server's; the proxy forwards from its
//! own socket, so the server sees the proxy as its sender. The same seed gives the same fate to
//! the n-th datagram of each direction, so a run is reproducible as far as the OS scheduling of
//! real sockets allows.

use crate::clock::Clock;
use crate::error::{NativeError, Result};
use crate::net;
use p2mp_core::sim::{Link, LinkConfig};
use p2mp_core::Instant;
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use tokio::net::UdpSocket;

/// One proxied path.
#[derive(Clone, Debug)]
pub struct ImpairConfig {
    /// Where the client sends.
    pub listen: SocketAddr,
    /// The real server.
    pub upstream: SocketAddr,
    /// Client-to-server impairments.
    pub down: LinkConfig,
    /// Server-to-client impairments.
    pub up: LinkConfig,
    /// Seed of both directions' fates.
    pub seed: u64,
}

/// What the proxy did, per direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DirectionStats {
    /// Datagrams that came in.
    pub received: u64,
    /// Copies sent on (duplicates count twice).
    pub forwarded: u64,
    /// Lost by the link model.
    pub dropped: u64,
    /// Extra copies made.
    pub duplicated: u64,
    /// Bit-flipped.
    pub corrupted: u64,
}

/// Counters of both directions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImpairStats {
    /// Client to server.
    pub down: DirectionStats,
    /// Server to client.
    pub up: DirectionStats,
}

/// The counters of a running proxy, readable while it runs and after it is cancelled.
pub type SharedStats = Arc<Mutex<ImpairStats>>;

impl DirectionStats {
    /// `N received, N forwarded, N dropped, N duplicated, N corrupted`.
    pub fn render(&self) -> String {
        format!(
            "{} received, {} forwarded, {} dropped, {} duplicated, {} corrupted",
            self.received, self.forwarded, self.dropped, self.duplicated, self.corrupted
        )
    }
}

impl ImpairStats {
    /// One line: `client to server: ...; server to client: ...`.
    pub fn render(&self) -> String {
        format!("client to server: {}; server to client: {}", self.down.render(), self.up.render())
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    at: Instant,
    order: u64,
    down: bool,
    bytes: Vec<u8>,
}

/// A bound proxy, ready to [`Impairer::run`].
#[derive(Debug)]
pub struct Impairer {
    cfg: ImpairConfig,
    client_side: UdpSocket,
    server_side: UdpSocket,
    local: SocketAddr,
    shared: SharedStats,
}

/// The largest datagram read (a UDP payload is at most 65507 bytes).
const RECV_BUF: usize = 65_536;

impl Impairer {
    /// Validates the link parameters and binds both sockets.
    pub async fn bind(cfg: ImpairConfig) -> Result<Self> {
        cfg.down.validate().map_err(NativeError::Usage)?;
        cfg.up.validate().map_err(NativeError::Usage)?;
        let client_side = net::bind(cfg.listen).await?;
        let local = client_side.local_addr().map_err(NativeError::Network)?;
        let any: IpAddr = match cfg.upstream {
            SocketAddr::V4(a) if a.ip().is_loopback() => Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
            SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
        };
        let server_side = net::bind(SocketAddr::new(any, 0)).await?;
        Ok(Impairer { cfg, client_side, server_side, local, shared: SharedStats::default() })
    }

    /// The address clients should send to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The counters, updated as datagrams pass (for a report when the proxy is stopped).
    pub fn stats(&self) -> SharedStats {
        Arc::clone(&self.shared)
    }

    /// Forwards until cancelled (drop the future to stop). Never fails on a datagram.
    pub async fn run(self) -> Result<ImpairStats> {
        let clock = Clock::start();
        let mut down = Link::new(self.cfg.down, self.cfg.seed);
        let mut up = Link::new(self.cfg.up, self.cfg.seed ^ 0x5bd1_e995);
        let mut queue: BinaryHeap<Reverse<Due>> = BinaryHeap::new();
        let mut order = 0u64;
        let mut client: Option<SocketAddr> = None;
        let mut stats = ImpairStats::default();
        let mut buf_c = vec![0u8; RECV_BUF];
        let mut buf_s = vec![0u8; RECV_BUF];
        loop {
            // Send everything that is due.
            let now = clock.now();
            while queue.peek().is_some_and(|Reverse(d)| d.at <= now) {
                let Some(Reverse(d)) = queue.pop() else { break };
                let sent = if d.down {
                    self.server_side.send_to(&d.bytes, self.cfg.upstream).await
                } else if let Some(c) = client {
                    self.client_side.send_to(&d.bytes, c).await
                } else {
                    continue;
                };
                if let Err(e) = sent {
                    if !net::is_transient(&e) {
                        return Err(NativeError::Network(e));
                    }
                }
            }
            let next = queue.peek().map(|Reverse(d)| d.at);
            tokio::select! {
                r = self.client_side.recv_from(&mut buf_c) => match r {
                    Ok((n, from)) => {
                        client = Some(from);
                        let bytes = buf_c.get(..n).unwrap_or(&[]);
                        schedule(&mut down, clock.now(), bytes, true, &mut queue, &mut order, &mut stats.down);
                        publish(&self.shared, stats);
                    }
                    Err(e) if net::is_transient(&e) => {}
                    Err(e) => return Err(NativeError::Network(e)),
                },
                r = self.server_side.recv_from(&mut buf_s) => match r {
                    // Only the real server's replies go back; anything else on this port is junk.
                    Ok((n, from)) if from == self.cfg.upstream => {
                        let bytes = buf_s.get(..n).unwrap_or(&[]);
                        schedule(&mut up, clock.now(), bytes, false, &mut queue, &mut order, &mut stats.up);
                        publish(&self.shared, stats);
                    }
                    Ok(_) => {}
                    Err(e) if net::is_transient(&e) => {}
                    Err(e) => return Err(NativeError::Network(e)),
                },
                () = clock.sleep_until(next) => {}
            }
        }
    }
}

/// Copies the counters where [`Impairer::stats`] readers see them (a poisoned lock only means a
/// reader panicked: the counters are plain numbers, still good to overwrite).
fn publish(shared: &SharedStats, stats: ImpairStats) {
    match shared.lock() {
        Ok(mut s) => *s = stats,
        Err(poisoned) => *poisoned.into_inner() = stats,
    }
}

/// Decides a datagram's fate and queues its copies.
fn schedule(
    link: &mut Link,
    now: Instant,
    bytes: &[u8],
    down: bool,
    queue: &mut BinaryHeap<Reverse<Due>>,
    order: &mut u64,
    stats: &mut DirectionStats,
) {
    stats.received += 1;
    let verdict = link.transmit(now, bytes.len());
    if verdict.arrivals.is_empty() {
        stats.dropped += 1;
        return;
    }
    let mut data = bytes.to_vec();
    if let Some((byte, mask)) = verdict.corrupt {
        if let Some(b) = data.get_mut(byte) {
            *b ^= mask;
            stats.corrupted += 1;
        }
    }
    stats.duplicated += verdict.arrivals.len() as u64 - 1;
    for at in verdict.arrivals {
        stats.forwarded += 1;
        *order += 1;
        queue.push(Reverse(Due { at, order: *order, down, bytes: data.clone() }));
    }
}
