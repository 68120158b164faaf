//! Raw-UDP reference figures for `p2mp bench --arq`, with no protocol at all:
//!
//! - [`blast`]: the ceiling. The same datagrams an ARQ transfer sends (one per segment per
//!   receiver, MSS plus header bytes each) sent as fast as one blocking socket can, to `n`
//!   receiver threads with enlarged socket buffers; timed from the first send until the last
//!   datagram arrives, with the datagrams lost to buffer overflow counted.
//! - [`ping_pong_threads`] and [`ping_pong_tokio`]: the floor of stop-and-wait. One request to
//!   each of `n` echoers and their `n` replies, repeated; the mean round trip, measured with
//!   blocking sockets in threads (the OS floor) and with tokio sockets and echo tasks in the
//!   caller's runtime (the same setting as the in-process loopback transfers).

use crate::net::loopback_server_addr;
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// A datagram of this length stops an echoer.
const STOP_LEN: usize = 1;

/// What a raw blast measured.
#[derive(Clone, Debug)]
pub struct BlastOutcome {
    /// Receivers.
    pub n: usize,
    /// Datagrams sent to each receiver.
    pub per_receiver: u64,
    /// Datagrams each receiver got.
    pub received: Vec<u64>,
    /// Seconds from the first send to the last datagram received by any receiver.
    pub secs: f64,
    /// Seconds the sender spent sending.
    pub send_secs: f64,
    /// Receive buffer the kernel granted each receiver, in bytes (as reported by the OS).
    pub rcvbuf: usize,
    /// Sends that failed (counted as losses).
    pub send_errors: u64,
}

impl BlastOutcome {
    /// Datagrams that never arrived, over all receivers.
    pub fn lost(&self) -> u64 {
        let got: u64 = self.received.iter().sum();
        (self.per_receiver * self.n as u64).saturating_sub(got)
    }
}

/// A blocking UDP socket bound to `bind`, asking for these buffer sizes.
pub fn udp_socket(bind: SocketAddr, rcvbuf: usize, sndbuf: usize) -> io::Result<UdpSocket> {
    let s = Socket::new(Domain::for_address(bind), Type::DGRAM, Some(Protocol::UDP))?;
    // Best effort: the kernel caps these at net.core.{r,w}mem_max.
    let _ = s.set_recv_buffer_size(rcvbuf);
    let _ = s.set_send_buffer_size(sndbuf);
    s.bind(&bind.into())?;
    Ok(s.into())
}

/// Sends `segments` datagrams of `datagram_len` bytes to each of `n` loopback receivers
/// (segment by segment, each to every receiver, as the ARQ client does) as fast as possible,
/// and times their arrival. `buffer` is the socket buffer size asked for on every socket.
pub fn blast(n: usize, segments: u64, datagram_len: usize, buffer: usize) -> io::Result<BlastOutcome> {
    let tx = udp_socket(loopback_server_addr(0, 0), buffer, buffer)?;
    let rx =
        (0..n).map(|i| udp_socket(loopback_server_addr(i, 0), buffer, buffer)).collect::<io::Result<_>>()?;
    blast_sockets(tx, rx, segments, datagram_len)
}

/// [`blast`] from `tx` to the receiver sockets `rx`, made by the caller (e.g. in network
/// namespaces).
pub fn blast_sockets(
    tx: UdpSocket,
    rx: Vec<UdpSocket>,
    segments: u64,
    datagram_len: usize,
) -> io::Result<BlastOutcome> {
    let n = rx.len();
    let sender_done = Arc::new(AtomicBool::new(false));
    let mut addrs = Vec::with_capacity(n);
    let mut threads = Vec::with_capacity(n);
    let mut rcvbuf = 0;
    for sock in rx {
        rcvbuf = socket2::SockRef::from(&sock).recv_buffer_size()?;
        sock.set_read_timeout(Some(Duration::from_millis(50)))?;
        addrs.push(sock.local_addr()?);
        let done = Arc::clone(&sender_done);
        threads.push(thread::spawn(move || -> (u64, Option<Instant>) {
            let mut buf = vec![0u8; 65536];
            let mut count = 0u64;
            let mut last: Option<Instant> = None;
            let mut idle_since = Instant::now();
            while count < segments {
                match sock.recv_from(&mut buf) {
                    Ok(_) => {
                        count += 1;
                        let now = Instant::now();
                        last = Some(now);
                        idle_since = now;
                    }
                    Err(_) => {
                        // Once the sender is done, 300 ms of silence means the rest was lost.
                        if done.load(Ordering::Acquire) && idle_since.elapsed() > Duration::from_millis(300) {
                            break;
                        }
                        if !done.load(Ordering::Acquire) {
                            idle_since = Instant::now();
                        }
                    }
                }
            }
            (count, last)
        }));
    }
    let mut datagram = vec![0xA5u8; datagram_len.max(8)];
    let mut send_errors = 0u64;
    let start = Instant::now();
    for seq in 0..segments {
        datagram[..8].copy_from_slice(&seq.to_be_bytes());
        for a in &addrs {
            if tx.send_to(&datagram, a).is_err() {
                send_errors += 1;
            }
        }
    }
    let send_secs = start.elapsed().as_secs_f64();
    sender_done.store(true, Ordering::Release);
    let mut received = Vec::with_capacity(n);
    let mut end = start;
    for t in threads {
        let (count, last) = t.join().map_err(|_| io::Error::other("a blast receiver thread panicked"))?;
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

/// Mean round trip (seconds) of `rounds` request/response rounds between one client and `n`
/// echo threads on loopback, all with blocking sockets: each round sends a `request_len`-byte
/// datagram to every echoer and waits for all `n` replies of `reply_len` bytes. A warm-up of
/// `rounds / 10` rounds is not counted.
pub fn ping_pong_threads(n: usize, request_len: usize, reply_len: usize, rounds: u32) -> io::Result<f64> {
    let echoers = (0..n).map(|i| UdpSocket::bind(loopback_server_addr(i, 0))).collect::<io::Result<_>>()?;
    let client = UdpSocket::bind(loopback_server_addr(0, 0))?;
    ping_pong_sockets(client, echoers, request_len, reply_len, rounds)
}

/// [`ping_pong_threads`] between sockets made by the caller (e.g. in network namespaces): the
/// client's and one per echoer.
pub fn ping_pong_sockets(
    client: UdpSocket,
    echoers: Vec<UdpSocket>,
    request_len: usize,
    reply_len: usize,
    rounds: u32,
) -> io::Result<f64> {
    let n = echoers.len();
    let mut addrs = Vec::with_capacity(n);
    let mut threads = Vec::with_capacity(n);
    for sock in echoers {
        sock.set_read_timeout(Some(Duration::from_secs(5)))?;
        addrs.push(sock.local_addr()?);
        threads.push(thread::spawn(move || echo(&sock, reply_len)));
    }
    let result = ping_pong_client(&client, &addrs, request_len, rounds);
    for t in threads {
        let _ = t.join();
    }
    result
}

/// Echoes every datagram on `sock` with `reply_len` bytes to its sender until a stop datagram
/// (one byte, what [`ping_pong_client`] sends last) or a receive error (the socket's read
/// timeout, if it has one).
pub fn echo(sock: &UdpSocket, reply_len: usize) {
    let mut buf = vec![0u8; 65536];
    let reply = vec![0u8; reply_len.max(2)];
    while let Ok((len, from)) = sock.recv_from(&mut buf) {
        if len == STOP_LEN {
            break;
        }
        let _ = sock.send_to(&reply, from);
    }
}

/// The requesting side of a ping-pong against echoers at `addrs` (threads or processes running
/// [`echo`]): `rounds / 10` warm-up rounds, then the mean of `rounds` rounds, each one
/// `request_len`-byte datagram to every echoer and all their replies; stops the echoers.
pub fn ping_pong_client(
    client: &UdpSocket,
    addrs: &[SocketAddr],
    request_len: usize,
    rounds: u32,
) -> io::Result<f64> {
    let n = addrs.len();
    client.set_read_timeout(Some(Duration::from_secs(2)))?;
    let request = vec![0u8; request_len.max(2)];
    let mut buf = vec![0u8; 65536];
    let warmup = rounds / 10;
    let mut result = Ok(());
    let mut start = Instant::now();
    for r in 0..warmup + rounds {
        if r == warmup {
            start = Instant::now();
        }
        for a in addrs {
            client.send_to(&request, a)?;
        }
        for _ in 0..n {
            if let Err(e) = client.recv_from(&mut buf) {
                result = Err(e);
                break;
            }
        }
        if result.is_err() {
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64() / f64::from(rounds.max(1));
    for a in addrs {
        let _ = client.send_to(&[0u8; STOP_LEN], a);
    }
    result.map(|()| secs)
}

/// [`echo`] on a tokio socket, as a `p2mp echo --tokio` process runs it: replies go as the
/// nodes send ([`crate::batch::send_now`]). It stops once `silence` passes without 1024
/// datagrams: one timer, moved every 1024 of them (a server likewise keeps one armed timer,
/// its idle deadline, not one per receive), so a silent peer ends it within `silence` and a
/// ping-pong (1024 rounds in about 0.1 s here) never does.
pub async fn echo_tokio(sock: &tokio::net::UdpSocket, reply_len: usize, silence: Duration) {
    let mut buf = vec![0u8; 65536];
    let reply = vec![0u8; reply_len.max(2)];
    let watchdog = tokio::time::sleep(silence);
    tokio::pin!(watchdog);
    for k in 0u64.. {
        if k % 1024 == 0 {
            watchdog.as_mut().reset(tokio::time::Instant::now() + silence);
        }
        let got = tokio::select! {
            biased;
            got = sock.recv_from(&mut buf) => got,
            () = &mut watchdog => return,
        };
        match got {
            Ok((len, _)) if len == STOP_LEN => return,
            Ok((_, from)) => {
                let _ = crate::batch::send_now(sock, &reply, from).await;
            }
            Err(_) => return,
        }
    }
}

/// How long 1024 rounds of [`ping_pong_tokio`] may take before a reply counts as lost.
const LOST_AFTER: Duration = Duration::from_secs(5);

/// [`ping_pong_threads`] with tokio sockets: the echoers are tasks spawned on the caller's
/// runtime, as the servers of an in-process loopback transfer are.
pub async fn ping_pong_tokio(n: usize, request_len: usize, reply_len: usize, rounds: u32) -> io::Result<f64> {
    let mut addrs = Vec::with_capacity(n);
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let sock = tokio::net::UdpSocket::bind(loopback_server_addr(i, 0)).await?;
        addrs.push(sock.local_addr()?);
        // The plain loop this floor has always been measured with; `echo_tokio`'s watchdog is
        // for processes, which must end on their own.
        tasks.push(tokio::spawn(async move {
            let mut buf = vec![0u8; 65536];
            let reply = vec![0u8; reply_len.max(2)];
            while let Ok((len, from)) = sock.recv_from(&mut buf).await {
                if len == STOP_LEN {
                    break;
                }
                let _ = crate::batch::send_now(&sock, &reply, from).await;
            }
        }));
    }
    let client = tokio::net::UdpSocket::bind(loopback_server_addr(0, 0)).await?;
    let request = vec![0u8; request_len.max(2)];
    let mut buf = vec![0u8; 65536];
    let warmup = rounds / 10;
    let mut start = Instant::now();
    let mut result = Ok(());
    // Sends go as the nodes' do (`send_now`), and one watchdog for a lost reply, moved every
    // 1024 rounds, stands for the nodes' one armed timer (a per-receive `timeout` would
    // register a timer each time): the floor pays for nothing the nodes skip.
    let watchdog = tokio::time::sleep(LOST_AFTER);
    tokio::pin!(watchdog);
    'rounds: for r in 0..warmup + rounds {
        if r == warmup {
            start = Instant::now();
        }
        if r % 1024 == 0 {
            watchdog.as_mut().reset(tokio::time::Instant::now() + LOST_AFTER);
        }
        for a in &addrs {
            crate::batch::send_now(&client, &request, *a).await?;
        }
        for _ in 0..n {
            tokio::select! {
                biased;
                got = client.recv_from(&mut buf) => if let Err(e) = got {
                    result = Err(e);
                    break 'rounds;
                },
                () = &mut watchdog => {
                    result = Err(io::Error::new(io::ErrorKind::TimedOut, "ping-pong reply lost"));
                    break 'rounds;
                }
            }
        }
    }
    let secs = start.elapsed().as_secs_f64() / f64::from(rounds.max(1));
    for a in &addrs {
        let _ = client.send_to(&[0u8; STOP_LEN], a).await;
    }
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(1), t).await;
    }
    result.map(|()| secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn echoer(silence: Duration) -> (SocketAddr, tokio::task::JoinHandle<()>) {
        let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let addr = sock.local_addr().expect("addr");
        (addr, tokio::spawn(async move { echo_tokio(&sock, 8, silence).await }))
    }

    #[tokio::test]
    async fn the_tokio_echo_answers_each_request_with_the_reply_length_and_stops_on_the_stop_datagram() {
        let (addr, task) = echoer(Duration::from_secs(30)).await;
        let me = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let mut buf = [0u8; 64];
        for _ in 0..3 {
            me.send_to(&[7u8; 508], addr).await.expect("send");
            let (len, from) = tokio::time::timeout(Duration::from_secs(5), me.recv_from(&mut buf))
                .await
                .expect("reply")
                .expect("recv");
            assert_eq!((len, from), (8, addr));
        }
        me.send_to(&[0u8; STOP_LEN], addr).await.expect("send");
        tokio::time::timeout(Duration::from_secs(5), task).await.expect("stopped").expect("joined");
    }

    #[tokio::test(start_paused = true)]
    async fn the_tokio_echo_gives_up_after_its_silence() {
        let (_addr, task) = echoer(Duration::from_secs(30)).await;
        let start = tokio::time::Instant::now();
        task.await.expect("joined");
        assert!(start.elapsed() >= Duration::from_secs(30));
    }
}
