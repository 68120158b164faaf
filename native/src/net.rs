//! Addresses and sockets: parsing targets and bind addresses, resolving host names, binding,
//! and telling transient socket errors from fatal ones.

use crate::error::{NativeError, Result};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use tokio::net::UdpSocket;

/// Parses a port number given as text: 1..=65535.
pub fn parse_port(s: &str) -> Result<u16> {
    match s.trim().parse::<u64>() {
        Ok(p) if (1..=65535).contains(&p) => Ok(p as u16),
        Ok(p) => Err(NativeError::usage(format!("port out of range: {p} (expected 1 to 65535)"))),
        Err(_) => Err(NativeError::usage(format!("invalid port `{s}` (expected a number from 1 to 65535)"))),
    }
}

/// Splits a target into host and optional port: `host`, `host:port`, `1.2.3.4:port`,
/// `[v6]:port` or a bare IPv6 address.
pub fn split_target(target: &str) -> Result<(String, Option<u16>)> {
    if target.is_empty() {
        return Err(NativeError::usage("empty server address"));
    }
    if let Ok(sa) = target.parse::<SocketAddr>() {
        if sa.port() == 0 {
            return Err(NativeError::usage(format!(
                "port out of range in `{target}`: 0 (expected 1 to 65535)"
            )));
        }
        return Ok((sa.ip().to_string(), Some(sa.port())));
    }
    if target.parse::<IpAddr>().is_ok() {
        return Ok((target.to_string(), None));
    }
    if let Some(rest) = target.strip_prefix('[') {
        // `[v6]` without a port.
        if let Some(ip) = rest.strip_suffix(']') {
            return Ok((ip.to_string(), None));
        }
        return Err(NativeError::usage(format!("invalid address `{target}`")));
    }
    match target.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !host.contains(':') => {
            Ok((host.to_string(), Some(parse_port(port)?)))
        }
        Some(_) => Err(NativeError::usage(format!("invalid address `{target}`"))),
        None => Ok((target.to_string(), None)),
    }
}

/// Resolves `host` (a name or an IP literal) with `port`, preferring IPv4.
pub async fn resolve(host: &str, port: u16) -> Result<SocketAddr> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let fail = |reason: String| NativeError::Resolve { host: host.to_string(), reason };
    let addrs: Vec<SocketAddr> =
        tokio::net::lookup_host((host, port)).await.map_err(|e| fail(e.to_string()))?.collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| fail("no addresses found".into()))
}

/// Resolves each target (`host` or `host:port`; a target's own port overrides `default_port`).
pub async fn resolve_targets(targets: &[String], default_port: u16) -> Result<Vec<SocketAddr>> {
    let mut out = Vec::with_capacity(targets.len());
    for t in targets {
        let (host, port) = split_target(t)?;
        out.push(resolve(&host, port.unwrap_or(default_port)).await?);
    }
    Ok(out)
}

/// Parses a bind address: an IP (`0.0.0.0`, `127.0.0.2`, `::`) or `ip:port`. A bare IP gets
/// `default_port`.
pub fn parse_bind(s: &str, default_port: u16) -> Result<SocketAddr> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok(sa);
    }
    let ip_text = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')).unwrap_or(s);
    ip_text.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, default_port)).map_err(|_| {
        NativeError::usage(format!(
            "invalid bind address `{s}` (expected an IP address such as 0.0.0.0, optionally with :port)"
        ))
    })
}

/// The wildcard address of the same family as `peer`, port 0: where a client binds by default.
pub fn wildcard_for(peer: &SocketAddr) -> SocketAddr {
    match peer {
        SocketAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        SocketAddr::V6(_) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
    }
}

/// Socket buffer size asked for: a window of segments to many receivers, or their ACKs, must
/// not overflow the OS default (about 200 KiB on Linux) and turn into losses.
const SOCKET_BUFFER: usize = 4 << 20;

/// Binds a UDP socket with large send and receive buffers (best effort: the OS may cap them).
pub async fn bind(addr: SocketAddr) -> Result<UdpSocket> {
    let socket = UdpSocket::bind(addr).await.map_err(|source| NativeError::Bind { addr, source })?;
    let s = socket2::SockRef::from(&socket);
    let _ = s.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = s.set_send_buffer_size(SOCKET_BUFFER);
    Ok(socket)
}

/// The OS code for "no buffer space available": a full interface or socket queue, which a
/// retransmission recovers from (ENOBUFS on every unix, WSAENOBUFS on Windows).
#[cfg(unix)]
const NO_BUFFER_SPACE: Option<i32> = Some(libc::ENOBUFS);
#[cfg(windows)]
const NO_BUFFER_SPACE: Option<i32> = Some(10055);
#[cfg(not(any(unix, windows)))]
const NO_BUFFER_SPACE: Option<i32> = None;

/// The OS code for "message too long": a datagram larger than the system sends (EMSGSIZE on
/// every unix, WSAEMSGSIZE on Windows).
#[cfg(unix)]
const MESSAGE_TOO_LONG: Option<i32> = Some(libc::EMSGSIZE);
#[cfg(windows)]
const MESSAGE_TOO_LONG: Option<i32> = Some(10040);
#[cfg(not(any(unix, windows)))]
const MESSAGE_TOO_LONG: Option<i32> = None;

/// Whether `e` carries the OS error `code` (never, if this system has no such code).
fn has_code(e: &io::Error, code: Option<i32>) -> bool {
    code.is_some() && e.raw_os_error() == code
}

/// Whether a socket error is a passing network condition that must not stop a node: ICMP
/// port-unreachable reported as ECONNREFUSED / ECONNRESET (Linux, Windows), an interrupted call,
/// a full buffer (ENOBUFS), an unreachable host or network.
pub fn is_transient(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused
            | ConnectionReset
            | ConnectionAborted
            | Interrupted
            | WouldBlock
            | TimedOut
            | HostUnreachable
            | NetworkUnreachable
            | NetworkDown
            | AddrNotAvailable
    ) || has_code(e, NO_BUFFER_SPACE)
}

/// Whether a send failed because the datagram is larger than this system lets a UDP datagram
/// be (macOS, for one, caps them at 9216 bytes by default, below the 65507 UDP allows).
pub fn is_message_too_long(e: &io::Error) -> bool {
    has_code(e, MESSAGE_TOO_LONG)
}

/// The error that stops a sender whose send of DATA with `mss` payload bytes failed: a
/// datagram too large for this system names the MSS as the cause (bad input, exit status 2);
/// anything else is a network error.
pub fn send_failure(e: io::Error, mss: usize) -> NativeError {
    if is_message_too_long(&e) {
        NativeError::usage(format!(
            "MSS {mss} is too large for this system: it refused the datagram ({e}); use a smaller MSS"
        ))
    } else {
        NativeError::Network(e)
    }
}

/// The loopback address for the `i`-th in-process server (0-based) and the port it should use:
/// `127.0.0.{i+1}` on `port` on Linux (every 127/8 address is local there); elsewhere
/// `127.0.0.1` on `port + i`, since other systems usually have only 127.0.0.1.
pub fn loopback_server_addr(i: usize, port: u16) -> SocketAddr {
    if cfg!(target_os = "linux") && i < 254 {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, (i + 1) as u8)), port)
    } else {
        let p = if port == 0 { 0 } else { port.saturating_add(i as u16) };
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_split() {
        assert_eq!(split_target("host").unwrap(), ("host".into(), None));
        assert_eq!(split_target("host:99").unwrap(), ("host".into(), Some(99)));
        assert_eq!(split_target("10.0.0.1:7").unwrap(), ("10.0.0.1".into(), Some(7)));
        assert_eq!(split_target("::1").unwrap(), ("::1".into(), None));
        assert_eq!(split_target("[::1]:80").unwrap(), ("::1".into(), Some(80)));
        assert!(split_target("host:0").is_err());
        assert!(split_target("host:70000").is_err());
        assert!(split_target("host:x").is_err());
        assert!(split_target("").is_err());
    }

    #[test]
    fn ports_and_binds() {
        assert_eq!(parse_port("7735").unwrap(), 7735);
        assert!(parse_port("0").is_err());
        assert!(parse_port("65536").is_err());
        assert!(parse_port("-1").is_err());
        assert_eq!(parse_bind("127.0.0.2", 9).unwrap(), "127.0.0.2:9".parse().unwrap());
        assert_eq!(parse_bind("[::1]", 9).unwrap(), "[::1]:9".parse().unwrap());
        assert!(parse_bind("nonsense", 9).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn full_buffers_pass_and_oversized_datagrams_name_the_mss() {
        assert!(is_transient(&io::Error::from_raw_os_error(libc::ENOBUFS)));
        let too_long = io::Error::from_raw_os_error(libc::EMSGSIZE);
        assert!(!is_transient(&too_long));
        let e = send_failure(too_long, 9300);
        assert_eq!(e.exit_code(), 2);
        let msg = e.to_string();
        assert!(msg.contains("MSS 9300 is too large for this system"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
        let other = send_failure(io::Error::from_raw_os_error(libc::EBADF), 500);
        assert!(matches!(other, NativeError::Network(_)), "{other}");
    }
}
