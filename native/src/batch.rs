//! Batched UDP I/O for the drivers: several datagrams per system call where the platform has it,
//! with no allocation per datagram.
//!
//! - **Linux** ([`IoMode::Auto`], the default): sends go through quinn-udp with UDP GSO (one
//!   `sendmsg` carries up to 64 equal-size datagrams to one destination, which the kernel splits;
//!   on loopback it is not even split when the receiver has GRO on); receives use `recvmmsg`
//!   (up to 32 buffers per call) with UDP GRO (one buffer may hold many datagrams of one sender,
//!   cut at [`quinn_udp::RecvMeta::stride`]). A kernel or device that refuses GSO (EIO/EINVAL)
//!   turns it off for that socket and the refused batch is resent one datagram at a time.
//!   Until the first burst a receive asks for two buffers (stop-and-wait gets one datagram at a
//!   time), then for all of them, with GRO on. A receive that fills fewer buffers than it asked
//!   for has emptied the queue, and tells tokio so: the next wait needs no `recvfrom` that
//!   fails with EAGAIN, one system call less per wake-up than tokio's own `recv_from` makes.
//! - [`IoMode::NoGso`]: `recvmmsg` batches (two buffers until the first burst, as above) but no GSO or GRO,
//!   one datagram per send; what a Linux kernel without UDP GSO/GRO (before 4.18/5.0) gets.
//! - [`IoMode::Plain`], and always on Windows, macOS and other systems: tokio's `send_to` and
//!   `recv_from`, one datagram per call (the drivers still take every datagram already queued
//!   before they reply, which saves wake-ups, not system calls).
//!
//! The mode comes from the environment variable `P2MP_IO` (`auto`, `nogso` or `plain`; unset or
//! unknown: `auto`), for users on odd kernels or tunnels, and from
//! [`crate::Client::with_io`]/[`crate::Server::with_io`] in code.
//!
//! A single datagram (stop-and-wait's one segment to one receiver, a lone ACK) always goes out
//! with a plain `send_to`: batching cannot help it and the plain call is the cheapest.

use std::io;
use std::net::SocketAddr;
use tokio::net::UdpSocket;

/// Environment variable that selects the [`IoMode`] (`auto`, `nogso`, `plain`).
pub const IO_ENV: &str = "P2MP_IO";

/// How a node does its socket I/O.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IoMode {
    /// The best the platform has: on Linux GSO sends and GRO + `recvmmsg` receives; elsewhere
    /// [`IoMode::Plain`].
    #[default]
    Auto,
    /// Linux: `recvmmsg` receives, no GSO/GRO (one datagram per send); elsewhere plain.
    NoGso,
    /// One datagram per system call (tokio `send_to`/`recv_from`) everywhere.
    Plain,
}

impl IoMode {
    /// Parses `auto`, `nogso` (or `no-gso`) and `plain` (or `off`), any case.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Some(IoMode::Auto),
            "nogso" | "no-gso" => Some(IoMode::NoGso),
            "plain" | "off" => Some(IoMode::Plain),
            _ => None,
        }
    }

    /// The mode `P2MP_IO` asks for ([`IoMode::Auto`] when unset or not understood).
    pub fn from_env() -> Self {
        std::env::var(IO_ENV).ok().and_then(|v| Self::parse(&v)).unwrap_or_default()
    }
}

/// Largest datagram, or GRO train of datagrams, one receive buffer holds (a GSO send, hence a
/// train coalesced from it, is at most 64 KiB).
const SLOT: usize = 1 << 16;

/// Most receive buffers filled by one `recvmmsg` (quinn-udp's batch on Linux).
const MAX_SLOTS: usize = 32;

/// Bytes at most in one GSO send (a UDP payload is at most 65507 bytes).
const MAX_GSO_BYTES: usize = 65_000;

/// A tokio UDP socket with batched sends and receives where the platform has them.
#[derive(Debug)]
pub struct BatchSocket {
    socket: UdpSocket,
    #[cfg(target_os = "linux")]
    state: Option<quinn_udp::UdpSocketState>,
    /// Whether trains may go out as one GSO send ([`IoMode::Auto`]).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    gso: bool,
    /// Receives ask for every buffer (and GRO in [`IoMode::Auto`]) once a burst has been
    /// seen; until then for two, which costs less per call when datagrams come one at a
    /// time (stop-and-wait).
    #[cfg(target_os = "linux")]
    batched_rx: std::sync::atomic::AtomicBool,
}

impl BatchSocket {
    /// Wraps `socket` for `mode`. On Linux with [`IoMode::Auto`]/[`IoMode::NoGso`] this turns on
    /// what quinn-udp needs (non-blocking, packet info, GRO in `Auto`) but keeps the socket's
    /// fragmentation behaviour: a datagram larger than the path MTU is still fragmented by IP,
    /// as with a plain socket.
    pub fn new(socket: UdpSocket, mode: IoMode) -> io::Result<Self> {
        #[cfg(target_os = "linux")]
        {
            let state = match mode {
                IoMode::Plain => None,
                IoMode::Auto | IoMode::NoGso => Some(linux::batched_state(&socket)?),
            };
            Ok(BatchSocket {
                socket,
                state,
                gso: mode == IoMode::Auto,
                batched_rx: std::sync::atomic::AtomicBool::new(false),
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = mode;
            Ok(BatchSocket { socket, gso: false })
        }
    }

    /// Switches to `mode` (see [`BatchSocket::new`]); before any datagram is received.
    pub fn set_mode(&mut self, mode: IoMode) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            // A plain `recv_from` cannot tell where GRO joined datagrams: GRO is off until
            // receives are batched.
            linux::set_gro(&self.socket, false);
            self.batched_rx.store(false, std::sync::atomic::Ordering::Relaxed);
            self.state = match mode {
                IoMode::Plain => None,
                IoMode::Auto | IoMode::NoGso => Some(linux::batched_state(&self.socket)?),
            };
        }
        self.gso = mode == IoMode::Auto;
        Ok(())
    }

    /// The underlying socket (plain sends, local address, duplicates for the delay line).
    pub fn socket(&self) -> &UdpSocket {
        &self.socket
    }

    /// Datagrams one send may carry to one destination (1: no GSO).
    pub fn max_segments(&self) -> usize {
        #[cfg(target_os = "linux")]
        if let (Some(state), true) = (&self.state, self.gso) {
            return state.max_gso_segments().max(1);
        }
        1
    }

    /// Whether receives ask for all the [`RxBatch`]'s buffers (and have GRO in
    /// [`IoMode::Auto`]) by now: they ask for two until one call fills both, then switch for
    /// good. Always `false` for [`IoMode::Plain`].
    pub fn batched_receive(&self) -> bool {
        #[cfg(target_os = "linux")]
        if self.state.is_some() {
            return self.batched_rx.load(std::sync::atomic::Ordering::Relaxed);
        }
        false
    }

    /// Sends `contents`, datagrams of `segment_size` bytes (the last may be shorter), to `dest`:
    /// in one system call with GSO when there are several, else with `send_to`. Errors that
    /// `tolerate` accepts are counted (one per datagram lost) and returned as `Ok(count)`; any
    /// other error is returned.
    pub async fn send_segments(
        &self,
        dest: SocketAddr,
        contents: &[u8],
        segment_size: usize,
        tolerate: impl Fn(&io::Error) -> bool,
    ) -> io::Result<u64> {
        let segment_size = segment_size.max(1);
        if contents.len() <= segment_size {
            return tolerated(self.socket.send_to(contents, dest).await.map(drop), 1, &tolerate);
        }
        #[cfg(target_os = "linux")]
        if let (Some(state), true) = (&self.state, self.gso) {
            if state.max_gso_segments() > 1 {
                let transmit = quinn_udp::Transmit {
                    destination: dest,
                    ecn: None,
                    contents,
                    segment_size: Some(segment_size),
                    src_ip: None,
                };
                let sent = loop {
                    self.socket.writable().await?;
                    match self.socket.try_io(tokio::io::Interest::WRITABLE, || {
                        state.try_send(quinn_udp::UdpSockRef::from(&self.socket), &transmit)
                    }) {
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                        r => break r,
                    }
                };
                match sent {
                    Ok(()) => return Ok(0),
                    // quinn-udp has switched GSO off for this socket (the device or kernel
                    // refused it): resend this batch one datagram at a time below.
                    Err(e) if linux::is_gso_refusal(&e) => {}
                    Err(e) => {
                        let count = contents.len().div_ceil(segment_size) as u64;
                        return tolerated(Err(e), count, &tolerate);
                    }
                }
            }
        }
        let mut failed = 0;
        for datagram in contents.chunks(segment_size) {
            failed += tolerated(self.socket.send_to(datagram, dest).await.map(drop), 1, &tolerate)?;
        }
        Ok(failed)
    }

    /// Waits for datagrams and takes every one already queued (up to the batch's capacity) into
    /// `rx`, replacing what it held.
    pub async fn recv(&self, rx: &mut RxBatch) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        let last = rx.got.len();
        rx.got.clear();
        #[cfg(target_os = "linux")]
        if let Some(state) = &self.state {
            let batched = self.batched_receive();
            // Datagrams one at a time (stop-and-wait, before the first burst, or right after a
            // lone datagram): two buffers. The kernel then does not look for more than the
            // second, and a second left empty proves the queue drained (below). A train of
            // datagrams still fits in one buffer (GRO), and anything else waiting comes with
            // the next call, which asks for all the buffers again.
            let slots = if !batched || last == 1 { 2 } else { rx.slots }.min(rx.slots);
            let meta = &mut rx.meta[..slots];
            let n = loop {
                self.socket.readable().await?;
                let mut drained = 0;
                let r = self.socket.try_io(tokio::io::Interest::READABLE, || {
                    let sock = quinn_udp::UdpSockRef::from(&self.socket);
                    let mut chunks = rx.buf.chunks_mut(SLOT);
                    let mut next = || io::IoSliceMut::new(chunks.next().unwrap_or_default());
                    let n = if slots == 1 {
                        state.recv(sock, &mut [next()], meta)?
                    } else {
                        let mut bufs: [io::IoSliceMut<'_>; MAX_SLOTS] = std::array::from_fn(|_| next());
                        state.recv(sock, &mut bufs[..slots], meta)?
                    };
                    if n < slots {
                        // Fewer than asked: the queue is empty. Answering WouldBlock makes
                        // tokio clear the socket's readiness (unless an event came since it
                        // was read), so the next call waits at once instead of first paying
                        // for a receive that fails with EAGAIN: one system call less per
                        // wake-up, a round trip's worth in stop-and-wait.
                        drained = n;
                        return Err(io::ErrorKind::WouldBlock.into());
                    }
                    Ok(n)
                });
                match r {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock && drained > 0 => break drained,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Err(e),
                }
            };
            for m in rx.meta.iter().take(n) {
                rx.got.push(Received { from: m.addr, len: m.len.min(SLOT), stride: m.stride });
            }
            if !batched && n == slots && slots < rx.slots {
                // A burst (a window, not stop-and-wait's one datagram at a time): all the
                // buffers, and GRO, from now on.
                if self.gso {
                    linux::set_gro(&self.socket, true);
                }
                self.batched_rx.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            return Ok(());
        }
        // Plain: one await, then whatever is already queued without waiting.
        let (len, from) = self.socket.recv_from(rx.slot_mut(0)).await?;
        rx.got.push(Received { from, len, stride: len });
        while rx.got.len() < rx.slots {
            let i = rx.got.len();
            match self.socket.try_recv_from(rx.slot_mut(i)) {
                Ok((len, from)) => rx.got.push(Received { from, len, stride: len }),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // Report what came; a lasting error shows again on the next call.
                Err(_) => break,
            }
        }
        Ok(())
    }
}

/// Maps a send result to the datagrams it lost: `Ok(0)` on success, `Ok(count)` if `tolerate`
/// accepts the error, the error otherwise.
fn tolerated(r: io::Result<()>, count: u64, tolerate: &impl Fn(&io::Error) -> bool) -> io::Result<u64> {
    match r {
        Ok(()) => Ok(0),
        Err(e) if tolerate(&e) => Ok(count),
        Err(e) => Err(e),
    }
}

#[derive(Clone, Copy, Debug)]
struct Received {
    from: SocketAddr,
    len: usize,
    stride: usize,
}

/// Reusable receive buffers for [`BatchSocket::recv`]: allocated once, never per datagram.
#[derive(Debug)]
pub struct RxBatch {
    buf: Vec<u8>,
    slots: usize,
    got: Vec<Received>,
    #[cfg(target_os = "linux")]
    meta: Vec<quinn_udp::RecvMeta>,
}

impl RxBatch {
    /// Room for `slots` buffers of 64 KiB (at least 1, at most 32). The memory is zeroed
    /// lazily by the OS, so buffers never filled cost little.
    pub fn new(slots: usize) -> Self {
        let slots = slots.clamp(1, MAX_SLOTS);
        RxBatch {
            buf: vec![0u8; slots * SLOT],
            slots,
            got: Vec::with_capacity(slots),
            #[cfg(target_os = "linux")]
            meta: vec![quinn_udp::RecvMeta::default(); slots],
        }
    }

    fn slot_mut(&mut self, i: usize) -> &mut [u8] {
        self.buf.get_mut(i * SLOT..(i + 1) * SLOT).unwrap_or_default()
    }

    /// The datagrams received, in order, each with its sender (GRO trains cut at their stride).
    pub fn datagrams(&self) -> impl Iterator<Item = (SocketAddr, &[u8])> + '_ {
        self.got.iter().enumerate().flat_map(move |(i, r)| {
            let data = self.buf.get(i * SLOT..i * SLOT + r.len).unwrap_or_default();
            data.chunks(r.stride.max(1)).map(move |d| (r.from, d))
        })
    }

    /// How many datagrams [`RxBatch::datagrams`] yields.
    pub fn len(&self) -> usize {
        self.got.iter().map(|r| r.len.div_ceil(r.stride.max(1))).sum()
    }

    /// Whether the last receive brought nothing.
    pub fn is_empty(&self) -> bool {
        self.got.is_empty()
    }
}

/// Datagrams queued per destination, to go out as GSO trains: the driver pushes what its state
/// machine emits, then [`TxBatch::flush`]es. The buffers are kept between flushes, so a transfer
/// allocates only while its first window grows them.
#[derive(Debug, Default)]
pub struct TxBatch {
    lanes: Vec<Lane>,
    queued: usize,
}

#[derive(Debug)]
struct Lane {
    dest: SocketAddr,
    bytes: Vec<u8>,
    lens: Vec<usize>,
}

impl TxBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Datagrams queued.
    pub fn len(&self) -> usize {
        self.queued
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.queued == 0
    }

    /// Queues `datagram` for `dest`. `hint` is where the destination's lane usually is (the
    /// receiver's index for the client), which spares a search. Datagrams to one destination
    /// keep their order; destinations go out in the order they first appeared.
    pub fn push(&mut self, hint: usize, dest: SocketAddr, datagram: &[u8]) {
        let i = match self.lanes.get(hint) {
            Some(l) if l.dest == dest => hint,
            _ => match self.lanes.iter().position(|l| l.dest == dest) {
                Some(i) => i,
                None => {
                    self.lanes.push(Lane { dest, bytes: Vec::new(), lens: Vec::new() });
                    self.lanes.len() - 1
                }
            },
        };
        let lane = &mut self.lanes[i];
        lane.bytes.extend_from_slice(datagram);
        lane.lens.push(datagram.len());
        self.queued += 1;
    }

    /// Sends everything queued on `socket`, each destination's datagrams in trains of equal
    /// size (the last of a train may be shorter) of at most [`BatchSocket::max_segments`].
    /// Returns the datagrams lost to errors `tolerate` accepts; other errors stop the flush.
    pub async fn flush(
        &mut self,
        socket: &BatchSocket,
        tolerate: impl Fn(&io::Error) -> bool + Copy,
    ) -> io::Result<u64> {
        let result = Self::send_lanes(&self.lanes, socket, tolerate).await;
        self.clear();
        result
    }

    async fn send_lanes(
        lanes: &[Lane],
        socket: &BatchSocket,
        tolerate: impl Fn(&io::Error) -> bool + Copy,
    ) -> io::Result<u64> {
        let max = socket.max_segments();
        let mut failed = 0;
        for lane in lanes {
            let (mut i, mut off) = (0, 0);
            while i < lane.lens.len() {
                let size = lane.lens[i];
                let (mut j, mut bytes) = (i + 1, size);
                while j < lane.lens.len() && j - i < max && bytes + lane.lens[j] <= MAX_GSO_BYTES {
                    let len = lane.lens[j];
                    if len > size {
                        break;
                    }
                    j += 1;
                    bytes += len;
                    if len < size {
                        break; // a shorter datagram ends a train
                    }
                }
                let train = lane.bytes.get(off..off + bytes).unwrap_or_default();
                failed += socket.send_segments(lane.dest, train, size, tolerate).await?;
                i = j;
                off += bytes;
            }
        }
        Ok(failed)
    }

    fn clear(&mut self) {
        for lane in &mut self.lanes {
            lane.bytes.clear();
            lane.lens.clear();
        }
        self.queued = 0;
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::fd::AsRawFd;

    /// quinn-udp state for `socket`, with GRO off (see [`set_gro`]), and the options it sets that
    /// would change a plain socket's behaviour or cost per datagram put back: it forbids IP
    /// fragmentation (a datagram over the MTU would fail instead of being fragmented) and asks
    /// the kernel to timestamp every packet and report its ECN bits and destination address
    /// (work nobody here reads).
    pub(super) fn batched_state(socket: &tokio::net::UdpSocket) -> io::Result<quinn_udp::UdpSocketState> {
        let fd = socket.as_raw_fd();
        let v4 = socket.local_addr()?.is_ipv4();
        let saved_v4 = get(fd, libc::IPPROTO_IP, libc::IP_MTU_DISCOVER);
        let saved_v6 = (!v4).then(|| {
            (
                get(fd, libc::IPPROTO_IPV6, libc::IPV6_MTU_DISCOVER),
                get(fd, libc::IPPROTO_IPV6, libc::IPV6_DONTFRAG),
            )
        });
        let state = quinn_udp::UdpSocketState::new(quinn_udp::UdpSockRef::from(socket))?;
        if let Some(v) = saved_v4 {
            set(fd, libc::IPPROTO_IP, libc::IP_MTU_DISCOVER, v);
        }
        if let Some((mtu, dontfrag)) = saved_v6 {
            if let Some(v) = mtu {
                set(fd, libc::IPPROTO_IPV6, libc::IPV6_MTU_DISCOVER, v);
            }
            if let Some(v) = dontfrag {
                set(fd, libc::IPPROTO_IPV6, libc::IPV6_DONTFRAG, v);
            }
        }
        set(fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 0);
        // Nor do the drivers read the ECN bits or the destination address of what they receive:
        // without these options the kernel builds no control message per datagram.
        if v4 {
            set(fd, libc::IPPROTO_IP, libc::IP_RECVTOS, 0);
            set(fd, libc::IPPROTO_IP, libc::IP_PKTINFO, 0);
        } else {
            set(fd, libc::IPPROTO_IP, libc::IP_RECVTOS, 0);
            set(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 0);
            set(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVTCLASS, 0);
        }
        set_gro(socket, false);
        Ok(state)
    }

    /// Turns UDP GRO on or off on `socket` (GSO trains sent to it then arrive whole or cut).
    pub(super) fn set_gro(socket: &tokio::net::UdpSocket, on: bool) {
        set(socket.as_raw_fd(), libc::SOL_UDP, libc::UDP_GRO, i32::from(on));
    }

    /// The errors with which Linux refuses a GSO send (quinn-udp then stops using GSO).
    pub(super) fn is_gso_refusal(e: &io::Error) -> bool {
        matches!(e.raw_os_error(), Some(libc::EIO) | Some(libc::EINVAL))
    }

    fn get(fd: libc::c_int, level: libc::c_int, name: libc::c_int) -> Option<libc::c_int> {
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `value` and `len` are valid for writes of an int, as getsockopt requires.
        let r =
            unsafe { libc::getsockopt(fd, level, name, (&mut value as *mut libc::c_int).cast(), &mut len) };
        (r == 0).then_some(value)
    }

    fn set(fd: libc::c_int, level: libc::c_int, name: libc::c_int, value: libc::c_int) {
        // SAFETY: `value` is a valid int for the call's duration. Best effort: an option the
        // kernel does not know leaves the socket as quinn-udp configured it.
        let _ = unsafe {
            libc::setsockopt(
                fd,
                level,
                name,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse() {
        assert_eq!(IoMode::parse("AUTO"), Some(IoMode::Auto));
        assert_eq!(IoMode::parse("no-gso"), Some(IoMode::NoGso));
        assert_eq!(IoMode::parse(" plain "), Some(IoMode::Plain));
        assert_eq!(IoMode::parse("fast"), None);
    }

    /// Trains: equal sizes grouped, a shorter datagram closes a train, a longer one starts the
    /// next; every byte arrives once and in order per destination, in every mode.
    #[tokio::test]
    async fn trains_arrive_whole_in_every_mode() {
        for mode in [IoMode::Auto, IoMode::NoGso, IoMode::Plain] {
            let rx_sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let dest = rx_sock.local_addr().unwrap();
            let rx = BatchSocket::new(rx_sock, mode).unwrap();
            let tx = BatchSocket::new(UdpSocket::bind("127.0.0.1:0").await.unwrap(), mode).unwrap();
            let sizes = [500usize, 500, 500, 120, 500, 500, 700, 3, 500];
            let mut batch = TxBatch::new();
            for (k, &len) in sizes.iter().enumerate() {
                batch.push(0, dest, &vec![k as u8; len]);
            }
            assert_eq!(batch.len(), sizes.len());
            assert_eq!(batch.flush(&tx, |_| false).await.unwrap(), 0);
            assert!(batch.is_empty());
            let mut got = Vec::new();
            let mut rxb = RxBatch::new(8);
            while got.len() < sizes.len() {
                tokio::time::timeout(std::time::Duration::from_secs(2), rx.recv(&mut rxb))
                    .await
                    .expect("datagrams lost on loopback")
                    .unwrap();
                for (from, d) in rxb.datagrams() {
                    assert_eq!(from, tx.socket().local_addr().unwrap());
                    got.push(d.to_vec());
                }
            }
            let want: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(k, &len)| vec![k as u8; len]).collect();
            assert_eq!(got, want, "{mode:?}");
            // Nine datagrams waiting fill the eight buffers: a burst, so receives are batched
            // from then on where the platform batches at all.
            let batching = cfg!(target_os = "linux") && mode != IoMode::Plain;
            assert_eq!(rx.batched_receive(), batching, "{mode:?}");
        }
    }

    /// A receive that empties the queue tells tokio the socket is drained instead of asking
    /// the kernel again: a datagram that arrives while it does so must still wake the next
    /// receive. A sender thread sends bursts of 1 to 4 datagrams, unevenly spaced so that some
    /// land during a receive, and waits after each burst until all of it is taken: a datagram
    /// stranded by a wrongly cleared readiness is then never followed by another that would
    /// wake the receiver, and the receive times out. The receiver runs on a multi-threaded
    /// runtime, whose I/O driver may run while a receive is in progress.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_drained_receive_never_strands_a_datagram() {
        for mode in [IoMode::Auto, IoMode::NoGso, IoMode::Plain] {
            let rx = BatchSocket::new(UdpSocket::bind("127.0.0.1:0").await.unwrap(), mode).unwrap();
            let dest = rx.socket().local_addr().unwrap();
            const COUNT: u32 = 2000;
            let taken = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
            let seen = std::sync::Arc::clone(&taken);
            let sender = std::thread::spawn(move || {
                let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                let mut rng = p2mp_core::rng::Rng::new(17);
                let mut k = 0u32;
                while k < COUNT {
                    for _ in 0..1 + rng.below(4) {
                        let until =
                            std::time::Instant::now() + std::time::Duration::from_micros(rng.below(15));
                        while std::time::Instant::now() < until {
                            std::hint::spin_loop();
                        }
                        if k < COUNT {
                            sock.send_to(&k.to_be_bytes(), dest).unwrap();
                            k += 1;
                        }
                    }
                    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
                    while seen.load(std::sync::atomic::Ordering::Acquire) < k
                        && std::time::Instant::now() < deadline
                    {
                        std::hint::spin_loop();
                    }
                }
            });
            let mut rxb = RxBatch::new(8);
            let mut next = 0u32;
            while next < COUNT {
                tokio::time::timeout(std::time::Duration::from_secs(2), rx.recv(&mut rxb))
                    .await
                    .unwrap_or_else(|_| panic!("{mode:?}: datagram {next} stranded"))
                    .unwrap();
                for (_, d) in rxb.datagrams() {
                    assert_eq!(d, next.to_be_bytes(), "{mode:?}");
                    next += 1;
                }
                taken.store(next, std::sync::atomic::Ordering::Release);
            }
            sender.join().unwrap();
        }
    }
}
