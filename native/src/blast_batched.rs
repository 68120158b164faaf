//! The raw-UDP blast of [`crate::blast`] with the drivers' own socket I/O ([`crate::batch`]):
//! the same datagrams, in the trains the client forms (up to 64 segments to one receiver per
//! GSO send on Linux), received with `recvmmsg` and GRO. Beside the one-`send_to`-per-datagram
//! blast it shows what the I/O alone can do, so that the ARQ modes are compared with a ceiling
//! that has the same system calls. Elsewhere than Linux it runs the plain path.

use crate::batch::{BatchSocket, IoMode, RxBatch, TxBatch};
use crate::blast::BlastOutcome;
use crate::net::loopback_server_addr;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// A non-blocking socket, ready for `tokio::net::UdpSocket::from_std` in a runtime.
fn std_socket(bind: SocketAddr, buffer: usize) -> io::Result<std::net::UdpSocket> {
    let s = socket2::Socket::new(socket2::Domain::for_address(bind), socket2::Type::DGRAM, None)?;
    // Best effort: the kernel caps these at net.core.{r,w}mem_max.
    let _ = s.set_recv_buffer_size(buffer);
    let _ = s.set_send_buffer_size(buffer);
    s.set_nonblocking(true)?;
    s.bind(&bind.into())?;
    Ok(s.into())
}

fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}

/// Like [`crate::blast::blast`] (`segments` datagrams of `datagram_len` bytes to each of `n`
/// loopback receiver threads, timed to the last arrival), sent and received with `mode`'s I/O:
/// the sender queues each segment for every receiver and sends when 64 segments per receiver
/// are queued, as the client does with a window of 64.
pub fn blast_batched(
    n: usize,
    segments: u64,
    datagram_len: usize,
    buffer: usize,
    mode: IoMode,
) -> io::Result<BlastOutcome> {
    let tx = std_socket(loopback_server_addr(0, 0), buffer)?;
    let rx = (0..n).map(|i| std_socket(loopback_server_addr(i, 0), buffer)).collect::<io::Result<_>>()?;
    blast_batched_sockets(tx, rx, segments, datagram_len, mode)
}

/// [`blast_batched`] from `tx` to the receiver sockets `rx`, made by the caller (e.g. in network
/// namespaces); they are switched to non-blocking here.
pub fn blast_batched_sockets(
    tx: std::net::UdpSocket,
    rx: Vec<std::net::UdpSocket>,
    segments: u64,
    datagram_len: usize,
    mode: IoMode,
) -> io::Result<BlastOutcome> {
    let n = rx.len();
    tx.set_nonblocking(true)?;
    let sender_done = Arc::new(AtomicBool::new(false));
    let mut addrs = Vec::with_capacity(n);
    let mut threads = Vec::with_capacity(n);
    let mut rcvbuf = 0;
    for std_sock in rx {
        std_sock.set_nonblocking(true)?;
        rcvbuf = socket2::SockRef::from(&std_sock).recv_buffer_size()?;
        addrs.push(std_sock.local_addr()?);
        let done = Arc::clone(&sender_done);
        threads.push(thread::spawn(move || -> io::Result<(u64, Option<Instant>)> {
            let rt = runtime()?;
            rt.block_on(async move {
                let sock = BatchSocket::new(tokio::net::UdpSocket::from_std(std_sock)?, mode)?;
                let mut rx = RxBatch::new(32);
                let mut count = 0u64;
                let mut last = None;
                let mut idle_since = Instant::now();
                while count < segments {
                    match tokio::time::timeout(Duration::from_millis(50), sock.recv(&mut rx)).await {
                        Ok(Ok(())) => {
                            count += rx.len() as u64;
                            let now = Instant::now();
                            last = Some(now);
                            idle_since = now;
                        }
                        _ => {
                            // Once the sender is done, 300 ms of silence means the rest was lost.
                            if !done.load(Ordering::Acquire) {
                                idle_since = Instant::now();
                            } else if idle_since.elapsed() > Duration::from_millis(300) {
                                break;
                            }
                        }
                    }
                }
                Ok((count, last))
            })
        }));
    }
    let rt = runtime()?;
    let (start, send_secs, send_errors) = rt.block_on(async {
        let tx = BatchSocket::new(tokio::net::UdpSocket::from_std(tx)?, mode)?;
        let mut batch = TxBatch::new();
        let mut datagram = vec![0xA5u8; datagram_len.max(8)];
        let mut send_errors = 0u64;
        let train = 64 * n;
        let start = Instant::now();
        for seq in 0..segments {
            datagram[..8].copy_from_slice(&seq.to_be_bytes());
            for (i, a) in addrs.iter().enumerate() {
                batch.push(i, *a, &datagram);
            }
            if batch.len() >= train {
                send_errors += batch.flush(&tx, |_| true).await?;
            }
        }
        send_errors += batch.flush(&tx, |_| true).await?;
        io::Result::Ok((start, start.elapsed().as_secs_f64(), send_errors))
    })?;
    sender_done.store(true, Ordering::Release);
    let mut received = Vec::with_capacity(n);
    let mut end = start;
    for t in threads {
        let (count, last) = t.join().map_err(|_| io::Error::other("a blast receiver thread panicked"))??;
        received.push(count);
        if let Some(l) = last {
            end = end.max(l);
        }
    }
    Ok(BlastOutcome {
        n,
        per_receiver: segments,
        received,
        secs: end.duration_since(start).as_secs_f64(),
        send_secs,
        rcvbuf,
        send_errors,
    })
}
