//! IPv4 multicast plumbing: parsing a group, the sender's socket options, and the receivers'
//! group membership.
//!
//! The client sends each DATA once to the group (see `p2mp_core::SenderConfig::multicast`); its
//! unicast socket does that, so receivers see the same source address whichever way a datagram
//! came. A server joins the group on the socket it already has when that socket is bound to the
//! wildcard address on the group's port; otherwise (bound to one address, e.g. 127.0.0.2 to run
//! several servers on one host) it opens a second socket for the group, shared with the other
//! servers on the host through `SO_REUSEADDR`, and keeps replying from its unicast socket.

use crate::batch::{BatchSocket, RxBatch};
use crate::error::{NativeError, Result};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use tokio::net::UdpSocket;

/// Default time-to-live of multicast DATA: 1 keeps it on the local link (routers do not
/// forward it), which is where the receivers of a test or a classroom are.
pub const DEFAULT_TTL: u32 = 1;

/// Parses `GROUP[:PORT]` (PORT defaults to `default_port`) and checks it is an IPv4 multicast
/// address (224.0.0.0/4): anything else is `p2mp_core::Error::BadMulticastGroup` (exit status 2).
pub fn parse_group(s: &str, default_port: u16) -> Result<SocketAddr> {
    let text = s.trim();
    let addr = match (text.parse::<SocketAddr>(), text.parse::<IpAddr>()) {
        (Ok(sa), _) => sa,
        (_, Ok(ip)) => SocketAddr::new(ip, default_port),
        _ => {
            return Err(NativeError::usage(format!(
                "invalid multicast group `{s}` (expected an IPv4 multicast address such as 239.77.0.1, \
                 optionally with :port)"
            )))
        }
    };
    match addr {
        SocketAddr::V4(a) if a.ip().is_multicast() && a.port() != 0 => Ok(addr),
        _ => Err(p2mp_core::Error::BadMulticastGroup(addr).into()),
    }
}

/// Parses an interface given by its IPv4 address (`0.0.0.0`: let the OS choose).
pub fn parse_interface(s: &str) -> Result<Ipv4Addr> {
    s.trim().parse().map_err(|_| {
        NativeError::usage(format!(
            "invalid interface `{s}` (expected the IPv4 address of a local interface, e.g. 10.77.0.1)"
        ))
    })
}

/// The sender's options: multicast DATA to `group` leaves with `ttl` through the interface whose
/// address is `interface` (`None`: that of the address the socket is bound to, else the one the
/// routing table picks for the group), and is looped back to receivers on the sending host (the
/// OS default, set explicitly). With `check`, then makes sure the group can be reached that
/// way: a host without a route fails here, with a hint, instead of after every receiver timed
/// out.
pub fn configure_sender(
    socket: &UdpSocket,
    group: SocketAddr,
    ttl: u32,
    interface: Option<Ipv4Addr>,
    check: bool,
) -> Result<()> {
    let local = socket.local_addr().map_err(NativeError::Network)?.ip();
    let interface = interface.or(match local {
        IpAddr::V4(ip) => Some(ip),
        IpAddr::V6(_) => None,
    });
    let interface = interface.filter(|ip| !ip.is_unspecified());
    let s = socket2::SockRef::from(socket);
    let fail = |what: &str, e: io::Error| NativeError::usage(format!("cannot set {what} for multicast: {e}"));
    s.set_multicast_ttl_v4(ttl).map_err(|e| fail("the TTL", e))?;
    s.set_multicast_loop_v4(true).map_err(|e| fail("loopback", e))?;
    if let Some(ip) = interface {
        s.set_multicast_if_v4(&ip).map_err(|e| fail(&format!("the interface {ip}"), e))?;
    }
    if check {
        check_route(local, interface, group)?;
    }
    Ok(())
}

/// A UDP socket `connect`ed to the group makes the route lookup the first send would make.
fn check_route(local: IpAddr, interface: Option<Ipv4Addr>, group: SocketAddr) -> Result<()> {
    let unreachable = |e: io::Error| {
        NativeError::usage(format!(
            "cannot send to multicast group {group}: {e} (give --interface with a local IPv4 \
             address, or add a route, e.g. `ip route add 224.0.0.0/4 dev IFACE`)"
        ))
    };
    let probe =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))
            .map_err(NativeError::Network)?;
    if local.is_ipv4() && !local.is_unspecified() {
        probe.bind(&SocketAddr::new(local, 0).into()).map_err(unreachable)?;
    }
    if let Some(ip) = interface {
        probe.set_multicast_if_v4(&ip).map_err(unreachable)?;
    }
    probe.connect(&group.into()).map_err(unreachable)
}

/// Joins `group` on `interface` (0.0.0.0: the OS's choice) with an already bound socket.
pub fn join(socket: &UdpSocket, group: Ipv4Addr, interface: Ipv4Addr) -> Result<()> {
    let s = socket2::SockRef::from(socket);
    s.join_multicast_v4(&group, &interface).map_err(|e| {
        NativeError::usage(format!("cannot join multicast group {group} on interface {interface}: {e}"))
    })?;
    only_joined_groups(socket);
    Ok(())
}

/// Whether a socket bound to `local` receives the datagrams sent to `group` once it joins:
/// it must be bound to the wildcard address and the group's port.
pub fn receives_group(local: SocketAddr, group: SocketAddr) -> bool {
    local.ip().is_unspecified() && local.is_ipv4() && local.port() == group.port()
}

/// A socket of its own for the group's datagrams, beside a server's unicast socket: bound to
/// the group's port with `SO_REUSEADDR` (so that several servers on one host can each have one),
/// and joined on `interface`. On Unix it is bound to the group address itself, which keeps
/// unicast datagrams to that port out of it; Windows cannot bind a multicast address, so it
/// binds the wildcard there.
pub fn bind_group(group: SocketAddr, interface: Ipv4Addr) -> Result<UdpSocket> {
    let SocketAddr::V4(g) = group else {
        return Err(p2mp_core::Error::BadMulticastGroup(group).into());
    };
    let local = if cfg!(windows) {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, g.port()))
    } else {
        group
    };
    let bind_err = |source| NativeError::Bind { addr: local, source };
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))
        .map_err(bind_err)?;
    s.set_reuse_address(true).map_err(bind_err)?;
    s.set_nonblocking(true).map_err(bind_err)?;
    let _ = s.set_recv_buffer_size(4 << 20);
    s.bind(&local.into()).map_err(bind_err)?;
    let socket = UdpSocket::from_std(std::net::UdpSocket::from(s)).map_err(bind_err)?;
    join(&socket, *g.ip(), interface)?;
    Ok(socket)
}

/// Receives a batch from the group socket, if there is one; never completes if there is none
/// (a `select!` branch that stays quiet).
pub async fn recv(socket: Option<&BatchSocket>, rx: &mut RxBatch) -> io::Result<()> {
    match socket {
        Some(s) => s.recv(rx).await,
        None => std::future::pending().await,
    }
}

/// Linux delivers to a socket bound to the wildcard address the datagrams of every group any
/// socket of the host joined on that port (`IP_MULTICAST_ALL`); turn that off so a server only
/// hears its own group. Best effort: other systems already behave so.
fn only_joined_groups(socket: &UdpSocket) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let off: libc::c_int = 0;
        // SAFETY: a valid socket descriptor and a c_int option value of the right size.
        unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_MULTICAST_ALL,
                (&off as *const libc::c_int).cast(),
                core::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = socket;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_parse_and_must_be_multicast() {
        assert_eq!(parse_group("239.77.0.1", 7735).unwrap(), "239.77.0.1:7735".parse().unwrap());
        assert_eq!(parse_group("239.77.0.1:9000", 7735).unwrap(), "239.77.0.1:9000".parse().unwrap());
        for bad in ["10.0.0.1", "255.255.255.255", "239.1.1.1:0", "ff02::1", "[ff02::1]:7735"] {
            let e = parse_group(bad, 7735).unwrap_err();
            assert!(matches!(e, NativeError::Config(p2mp_core::Error::BadMulticastGroup(_))), "{bad}: {e}");
            assert_eq!(e.exit_code(), 2);
        }
        assert_eq!(parse_group("nonsense", 7735).unwrap_err().exit_code(), 2);
        assert!(parse_interface("10.77.0.1").is_ok());
        assert!(parse_interface("eth0").is_err());
    }

    #[test]
    fn only_a_wildcard_socket_on_the_group_port_hears_the_group() {
        let g: SocketAddr = "239.77.0.1:7735".parse().unwrap();
        assert!(receives_group("0.0.0.0:7735".parse().unwrap(), g));
        assert!(!receives_group("127.0.0.2:7735".parse().unwrap(), g));
        assert!(!receives_group("0.0.0.0:7736".parse().unwrap(), g));
        assert!(!receives_group("[::]:7735".parse().unwrap(), g));
    }
}
