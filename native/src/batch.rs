//! Batched UDP I/O for the drivers: several datagrams per system call where the platform has it,
//! with no allocation per datagram.
//!
//! - **Linux** ([`IoMode::Auto`], the default): sends go through quinn-udp with UDP GSO (one
//!   `sendmsg` carries up to 64 equal-size datagrams to one destination, which the kernel splits;
//!   on loopback it is not even split when the receiver has GRO on). Receives take one datagram
//!   per `recvfrom` (as [`IoMode::Plain`] does) until three datagrams of one sender are found
//!   queued together, the sign of a sender that bursts (a window); from then on they are this
//!   module's own `recvmmsg` (up to 32 buffers per call, twice as many as the last call filled)
//!   with UDP GRO (one buffer may hold many datagrams of one sender, cut at the segment size its
//!   control message gives). Stop-and-wait never bursts, even with many receivers (one ACK from
//!   each): measured on loopback, its round trip is shorter with `recvfrom`, whose per-call
//!   cost is below a `recvmmsg` slot's even counting the final call that finds the queue empty.
//!   A batched receive that fills fewer buffers than it asked for has emptied the queue and
//!   tells tokio so, which spares that final call. A kernel or device that refuses GSO
//!   (EIO/EINVAL) turns it off for that socket and the refused batch is resent one datagram at
//!   a time.
//! - [`IoMode::NoGso`]: the same receives without GRO, and one datagram per send; what a Linux
//!   kernel without UDP GSO/GRO (before 4.18/5.0) gets.
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
/// Datagrams of one sender found queued together that switch receives to batches.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const BURST: usize = 3;

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
    /// Receives are batched `recvmmsg` calls (with GRO in [`IoMode::Auto`]) once one sender's
    /// datagrams were found queued together; until then one `recvfrom` per datagram, which
    /// costs less when they come one at a time (stop-and-wait).
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

    /// Whether receives are batched (and have GRO in [`IoMode::Auto`]) by now: they switch for
    /// good once three datagrams of one sender were queued together. Always `false` for
    /// [`IoMode::Plain`].
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
            return tolerated(send_now(&self.socket, contents, dest).await, 1, &tolerate);
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
            failed += tolerated(send_now(&self.socket, datagram, dest).await, 1, &tolerate)?;
        }
        Ok(failed)
    }

    /// Waits for datagrams and takes every one already queued (up to the batch's capacity) into
    /// `rx`, replacing what it held. One datagram per system call until three of one sender's
    /// are found queued together; batched from then on.
    pub async fn recv(&self, rx: &mut RxBatch) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        let last = rx.got.len();
        rx.got.clear();
        #[cfg(target_os = "linux")]
        if self.state.is_some() && self.batched_receive() {
            // Twice as many buffers as last time, at least two: every buffer asked for costs a
            // header to set up, and a few datagrams must not pay for 32.
            let slots = (2 * last).clamp(2, rx.slots);
            loop {
                self.socket.readable().await?;
                let r = self.socket.try_io(tokio::io::Interest::READABLE, || {
                    let n = linux::recv_mmsg(&self.socket, &mut rx.buf, slots, self.gso, &mut rx.got)?;
                    if n < slots {
                        // Fewer than asked: the queue is empty. Answering WouldBlock makes
                        // tokio clear the socket's readiness (unless an event came since it
                        // was read), so the next call waits at once instead of first paying
                        // for a receive that fails with EAGAIN.
                        return Err(io::ErrorKind::WouldBlock.into());
                    }
                    Ok(())
                });
                match r {
                    Ok(()) => return Ok(()),
                    // What a drained receive took is in `rx`; an empty one waits again.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock && !rx.got.is_empty() => return Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Err(e),
                }
            }
        }
        // One datagram per call: one await, then whatever is already queued without waiting.
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
        #[cfg(target_os = "linux")]
        if self.state.is_some()
            && rx.got.iter().any(|a| rx.got.iter().filter(|b| b.from == a.from).count() >= BURST)
        {
            // BURST datagrams of one sender queued together: it sends in bursts (a window),
            // which GRO would have joined into one buffer. Batched receives, and GRO, from now
            // on. Single datagrams from several senders (stop-and-wait's ACKs) gain nothing
            // from either: a `recvfrom` costs less than a `recvmmsg` slot. Nor does a pair: a
            // retransmission behind its original, or the two ACKs it draws, which a
            // stop-and-wait node sees after each spurious timeout.
            if self.gso {
                linux::set_gro(&self.socket, true);
            }
            self.batched_rx.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    }
}

/// Sends one datagram on `socket`. A socket is almost always writable: trying at once spares
/// the readiness future that tokio's `send_to` builds, polls and drops (a tenth of a
/// microsecond, a few percent of a stop-and-wait round trip on loopback); only a full socket
/// waits.
pub(crate) async fn send_now(socket: &UdpSocket, datagram: &[u8], dest: SocketAddr) -> io::Result<()> {
    match socket.try_send_to(datagram, dest) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => socket.send_to(datagram, dest).await.map(drop),
        r => r.map(drop),
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
}

impl RxBatch {
    /// Room for `slots` buffers of 64 KiB (at least 1, at most 32). The memory is zeroed
    /// lazily by the OS, so buffers never filled cost little.
    pub fn new(slots: usize) -> Self {
        let slots = slots.clamp(1, MAX_SLOTS);
        RxBatch { buf: vec![0u8; slots * SLOT], slots, got: Vec::with_capacity(slots) }
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
        let lane = self.lane(hint, dest);
        lane.bytes.extend_from_slice(datagram);
        lane.lens.push(datagram.len());
        self.queued += 1;
    }

    /// [`TxBatch::push`] of all of `buf`, leaving `buf` empty, maybe with another allocation
    /// (the batch may keep `buf`'s): a lone datagram to a destination (stop-and-wait sends one per
    /// receiver at a time) moves in without a copy. Only small buffers change hands, so a lane
    /// that carries trains keeps its large one and nothing is reallocated in steady state.
    pub fn push_taking(&mut self, hint: usize, dest: SocketAddr, buf: &mut Vec<u8>) {
        let lane = self.lane(hint, dest);
        let len = buf.len();
        if lane.bytes.is_empty() && lane.bytes.capacity() < 2 * len.max(1) {
            std::mem::swap(&mut lane.bytes, buf);
        } else {
            lane.bytes.extend_from_slice(buf);
        }
        buf.clear();
        lane.lens.push(len);
        self.queued += 1;
    }

    fn lane(&mut self, hint: usize, dest: SocketAddr) -> &mut Lane {
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
        &mut self.lanes[i]
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

    /// quinn-udp state for sending GSO trains on `socket`. It is made on a throwaway socket of
    /// the same family and `socket` itself is left as the OS made it: quinn-udp's set-up turns
    /// on options that change a plain socket's behaviour or cost per datagram (it forbids IP
    /// fragmentation, asks for ECN bits, destination addresses and GRO), and one of them,
    /// receive timestamps, cannot be undone on a live socket: switching `SO_TIMESTAMPNS` off
    /// again leaves the kernel timestamping every packet the host receives until the socket
    /// is closed (a clock read per datagram on every node, seen in profiles). The state keeps
    /// only what the kernel can do (GSO segments, GRO), which is the same for every socket.
    pub(super) fn batched_state(socket: &tokio::net::UdpSocket) -> io::Result<quinn_udp::UdpSocketState> {
        let family = match socket.local_addr()? {
            std::net::SocketAddr::V4(_) => std::net::SocketAddr::from((std::net::Ipv4Addr::UNSPECIFIED, 0)),
            std::net::SocketAddr::V6(_) => std::net::SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 0)),
        };
        let probe = std::net::UdpSocket::bind(family)?;
        quinn_udp::UdpSocketState::new(quinn_udp::UdpSockRef::from(&probe))
    }

    /// Room for the control messages of one datagram: the drivers' sockets ask for none but the
    /// UDP GRO segment size (an int).
    const CONTROL: usize = 64;

    /// One `recvmmsg` into the first `slots` [`SLOT`](super::SLOT)s of `buf`, without waiting;
    /// appends each datagram (or GRO train, with `gro`: its segment size read from the control
    /// message) to `got`. Only the headers asked for are set up: no per-call cost for buffers a
    /// stop-and-wait receive never fills.
    pub(super) fn recv_mmsg(
        socket: &tokio::net::UdpSocket,
        buf: &mut [u8],
        slots: usize,
        gro: bool,
        got: &mut Vec<super::Received>,
    ) -> io::Result<usize> {
        use std::mem::MaybeUninit;
        const N: usize = super::MAX_SLOTS;
        let slots = slots.min(N).min(buf.len() / super::SLOT);
        let mut names = [const { MaybeUninit::<libc::sockaddr_storage>::uninit() }; N];
        let mut iovs = [const { MaybeUninit::<libc::iovec>::uninit() }; N];
        let mut controls = [const { MaybeUninit::<[u64; CONTROL / 8]>::uninit() }; N];
        let mut hdrs = [const { MaybeUninit::<libc::mmsghdr>::uninit() }; N];
        for (i, chunk) in buf.chunks_mut(super::SLOT).take(slots).enumerate() {
            iovs[i].write(libc::iovec { iov_base: chunk.as_mut_ptr().cast(), iov_len: chunk.len() });
            // SAFETY: an all-zero mmsghdr is valid (null pointers, zero lengths); the fields
            // the kernel reads are set below, to buffers that live across the call.
            let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
            h.msg_hdr.msg_name = names[i].as_mut_ptr().cast();
            h.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_hdr.msg_iov = iovs[i].as_mut_ptr();
            h.msg_hdr.msg_iovlen = 1;
            if gro {
                h.msg_hdr.msg_control = controls[i].as_mut_ptr().cast();
                h.msg_hdr.msg_controllen = CONTROL as _;
            }
            hdrs[i].write(h);
        }
        // SAFETY: the first `slots` headers are initialised and point at live, writable names,
        // buffers and control space of the sizes given; no timeout.
        let r = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                hdrs.as_mut_ptr().cast(),
                slots as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = (r as usize).min(slots);
        for (hdr, name) in hdrs.iter().zip(&names).take(n) {
            // SAFETY: the kernel filled the first `n` headers and the names they point at.
            let (h, name) = unsafe { (hdr.assume_init_ref(), name.assume_init_ref()) };
            let Some(from) = socket_addr(name, h.msg_hdr.msg_namelen) else {
                return Err(io::Error::other("a datagram from a non-IP address"));
            };
            let len = (h.msg_len as usize).min(super::SLOT);
            let stride = if gro { gro_stride(&h.msg_hdr).unwrap_or(len) } else { len };
            got.push(super::Received { from, len, stride });
        }
        Ok(n)
    }

    /// The segment size of a GRO train, from its UDP_GRO control message (none: a lone
    /// datagram).
    fn gro_stride(hdr: &libc::msghdr) -> Option<usize> {
        // SAFETY: `hdr` was filled by recvmmsg; the CMSG macros walk its control buffer within
        // the length the kernel wrote, and the UDP_GRO payload is an int.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(hdr);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_UDP && (*c).cmsg_type == libc::UDP_GRO {
                    let size = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>());
                    return usize::try_from(size).ok().filter(|&s| s > 0);
                }
                c = libc::CMSG_NXTHDR(hdr, c);
            }
        }
        None
    }

    /// The IPv4 or IPv6 address the kernel wrote into `name` (`len` bytes), read by socket2.
    fn socket_addr(name: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<std::net::SocketAddr> {
        let mut storage = socket2::SockAddrStorage::zeroed();
        // SAFETY: `sockaddr_storage` is a sockaddr type of this platform (socket2's own
        // example), and the kernel wrote `len` bytes of a socket address into `name`.
        unsafe {
            *storage.view_as::<libc::sockaddr_storage>() = *name;
            socket2::SockAddr::new(storage, len).as_socket()
        }
    }

    /// Turns UDP GRO on or off on `socket` (GSO trains sent to it then arrive whole or cut).
    pub(super) fn set_gro(socket: &tokio::net::UdpSocket, on: bool) {
        set(socket.as_raw_fd(), libc::SOL_UDP, libc::UDP_GRO, i32::from(on));
    }

    /// The errors with which Linux refuses a GSO send (quinn-udp then stops using GSO).
    pub(super) fn is_gso_refusal(e: &io::Error) -> bool {
        matches!(e.raw_os_error(), Some(libc::EIO) | Some(libc::EINVAL))
    }

    fn set(fd: libc::c_int, level: libc::c_int, name: libc::c_int, value: libc::c_int) {
        // SAFETY: `value` is a valid int for the call's duration. Best effort: an option the
        // kernel does not know leaves the socket as it was.
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
            let mut scratch = Vec::new();
            let mut rxb = RxBatch::new(8);
            // Round 0 arrives cut into datagrams (receives not yet batched, no GRO); round 1,
            // with GRO where the mode has it, as trains that the receive must cut again.
            let mut trains = 0;
            for round in 0..2u8 {
                for (k, &len) in sizes.iter().enumerate() {
                    let fill = k as u8 + 16 * round;
                    // Both ways in: copied, or handed over (which may swap buffers with the lane).
                    if k % 2 == 0 {
                        batch.push(0, dest, &vec![fill; len]);
                    } else {
                        scratch.clear();
                        scratch.resize(len, fill);
                        batch.push_taking(0, dest, &mut scratch);
                        assert!(scratch.is_empty());
                    }
                }
                assert_eq!(batch.len(), sizes.len());
                assert_eq!(batch.flush(&tx, |_| false).await.unwrap(), 0);
                assert!(batch.is_empty());
                let mut got = Vec::new();
                while got.len() < sizes.len() {
                    tokio::time::timeout(std::time::Duration::from_secs(2), rx.recv(&mut rxb))
                        .await
                        .expect("datagrams lost on loopback")
                        .unwrap();
                    trains += rxb.len() - rxb.got.len();
                    for (from, d) in rxb.datagrams() {
                        assert_eq!(from, tx.socket().local_addr().unwrap());
                        got.push(d.to_vec());
                    }
                }
                let want: Vec<Vec<u8>> =
                    sizes.iter().enumerate().map(|(k, &len)| vec![k as u8 + 16 * round; len]).collect();
                assert_eq!(got, want, "{mode:?}, round {round}");
            }
            if cfg!(target_os = "linux") && mode == IoMode::Auto {
                assert!(trains > 0, "no GRO train was received: the stride cutting went untested");
            }
            // Nine datagrams waiting fill the eight buffers: a burst, so receives are batched
            // from then on where the platform batches at all.
            let batching = cfg!(target_os = "linux") && mode != IoMode::Plain;
            assert_eq!(rx.batched_receive(), batching, "{mode:?}");
        }
    }

    /// Receives into `rxb` until `want` datagrams came (2 s at most for each).
    async fn take(rx: &BatchSocket, rxb: &mut RxBatch, want: usize) {
        let mut got = 0;
        while got < want {
            tokio::time::timeout(std::time::Duration::from_secs(2), rx.recv(rxb))
                .await
                .expect("datagram lost on loopback")
                .unwrap();
            got += rxb.len();
        }
    }

    /// Receives switch to batches (and GRO) when one sender's datagrams queue up together, which
    /// GRO would join; single datagrams from several senders at once (stop-and-wait's ACKs from
    /// n receivers), and a pair from one (a retransmission behind its original), keep the
    /// cheaper one-datagram calls.
    #[tokio::test]
    async fn only_a_burst_from_one_sender_switches_receives_to_batches() {
        for mode in [IoMode::Auto, IoMode::NoGso, IoMode::Plain] {
            let rx = BatchSocket::new(UdpSocket::bind("127.0.0.1:0").await.unwrap(), mode).unwrap();
            let dest = rx.socket().local_addr().unwrap();
            let senders: Vec<std::net::UdpSocket> =
                (0..3).map(|_| std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).collect();
            let mut rxb = RxBatch::new(8);
            for round in 0..5u8 {
                for s in &senders {
                    s.send_to(&[round; 8], dest).unwrap();
                }
                take(&rx, &mut rxb, senders.len()).await;
                assert!(!rx.batched_receive(), "{mode:?}: one datagram from each of three senders");
            }
            for round in 0..5u8 {
                senders[1].send_to(&[round; 8], dest).unwrap();
                senders[1].send_to(&[round; 8], dest).unwrap();
                take(&rx, &mut rxb, 2).await;
                assert!(!rx.batched_receive(), "{mode:?}: a pair from one sender");
            }
            for k in 0..BURST {
                senders[1].send_to(&[k as u8; 8], dest).unwrap();
            }
            take(&rx, &mut rxb, BURST).await;
            let batching = cfg!(target_os = "linux") && mode != IoMode::Plain;
            assert_eq!(rx.batched_receive(), batching, "{mode:?}: {BURST} datagrams from one sender");
        }
    }

    /// Stop-and-wait's pattern: one datagram per destination per flush, handed over, many
    /// rounds. Buffers change hands between the driver and the lanes; every datagram must still
    /// arrive as it was made, to the right destination.
    #[tokio::test]
    async fn lone_datagrams_handed_over_arrive_intact_round_after_round() {
        let tx = BatchSocket::new(UdpSocket::bind("127.0.0.1:0").await.unwrap(), IoMode::Auto).unwrap();
        let mut rxs = Vec::new();
        for _ in 0..3 {
            let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            rxs.push(BatchSocket::new(s, IoMode::Auto).unwrap());
        }
        let dests: Vec<SocketAddr> = rxs.iter().map(|r| r.socket().local_addr().unwrap()).collect();
        let mut batch = TxBatch::new();
        let mut buf = Vec::with_capacity(600);
        let mut rxb = RxBatch::new(4);
        for round in 0..50u8 {
            for (i, &d) in dests.iter().enumerate() {
                buf.clear();
                buf.extend((0..500u16).map(|b| round ^ (i as u8) ^ (b as u8)));
                batch.push_taking(i, d, &mut buf);
            }
            assert_eq!(batch.flush(&tx, |_| false).await.unwrap(), 0);
            for (i, rx) in rxs.iter().enumerate() {
                tokio::time::timeout(std::time::Duration::from_secs(2), rx.recv(&mut rxb))
                    .await
                    .expect("datagram lost on loopback")
                    .unwrap();
                let got: Vec<Vec<u8>> = rxb.datagrams().map(|(_, d)| d.to_vec()).collect();
                let want: Vec<u8> = (0..500u16).map(|b| round ^ (i as u8) ^ (b as u8)).collect();
                assert_eq!(got, vec![want], "round {round}, receiver {i}");
            }
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
