//! The project's own test network (Linux only): one sender and several receiver network
//! namespaces joined by a bridge, built with iproute2 (`ip netns`, veth, bridge).
//!
//! ```text
//!   sender ns (10.77.0.1)      receiver ns i (10.77.0.(2+i))
//!        veth ─────┐                ┌───── veth
//!                  └── br0 (bridge ns) ──┘
//! ```
//!
//! The bridge lives in a namespace of its own and every veth pair is created inside the
//! namespaces, so the root namespace's interfaces are never touched. Names carry the process
//! id and a per-process counter, so parallel tests and processes do not collide. IP multicast
//! (224.0.0.0/4) is routed out of each namespace's veth and the bridge floods it to every port
//! (snooping off). Everything is deleted on drop, also when creation fails halfway.

use std::ffi::OsStr;
use std::fmt;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Why a test network could not be made (not root, no `ip`, namespaces forbidden...).
pub struct NetnsUnavailable(pub String);

impl fmt::Display for NetnsUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot build the namespaced test network: {}", self.0)
    }
}

impl fmt::Debug for NetnsUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NetnsUnavailable({:?})", self.0)
    }
}

impl std::error::Error for NetnsUnavailable {}

/// Distinguishes the networks one process makes.
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Receivers at most: their addresses must stay inside 10.77.0.0/24.
const MAX_RECEIVERS: usize = 200;

/// A sender namespace and `receivers` receiver namespaces on one bridge, subnet 10.77.0.0/24:
/// sender 10.77.0.1, receiver i at 10.77.0.(2+i). Deleted on drop.
#[derive(Debug)]
pub struct TestNet {
    /// Namespace holding the bridge.
    bridge_ns: String,
    /// (namespace, veth inside it); the sender first, then the receivers.
    hosts: Vec<(String, String)>,
    /// Namespaces made so far (deleted on drop).
    made: Vec<String>,
}

impl TestNet {
    /// Builds the network. Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2.
    pub fn create(receivers: usize) -> Result<TestNet, NetnsUnavailable> {
        if receivers > MAX_RECEIVERS {
            return Err(NetnsUnavailable(format!("{receivers} receivers (at most {MAX_RECEIVERS})")));
        }
        let pid = std::process::id();
        let call = COUNTER.fetch_add(1, Ordering::Relaxed);
        // A separator keeps (pid, call) pairs apart: 0x327d, 0 vs 0x327, 0xd0.
        let tag = format!("{pid:x}-{call:x}");
        let prefix = format!("p2mp-{pid}-{call}");
        let mut hosts = vec![(format!("{prefix}-snd"), format!("v{tag}s"))];
        for i in 0..receivers {
            hosts.push((format!("{prefix}-r{i}"), format!("v{tag}r{i}")));
        }
        // Interface names are at most 15 bytes (IFNAMSIZ - 1).
        if hosts.iter().any(|(_, v)| v.len() > 15) {
            return Err(NetnsUnavailable(format!("interface name too long for tag {tag}")));
        }
        let mut net = TestNet { bridge_ns: format!("{prefix}-br"), hosts, made: Vec::new() };
        // On error, `net` drops here and deletes what was made.
        net.build()?;
        Ok(net)
    }

    fn build(&mut self) -> Result<(), NetnsUnavailable> {
        let br = self.bridge_ns.clone();
        ip(&["netns", "add", &br])?;
        self.made.push(br.clone());
        ip(&["-n", &br, "link", "set", "lo", "up"])?;
        ip(&["-n", &br, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"])?;
        // No STP: ports forward at once.
        ip(&["-n", &br, "link", "set", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0"])?;
        ip(&["-n", &br, "link", "set", "br0", "up"])?;
        let hosts = self.hosts.clone();
        for (k, (ns, veth)) in hosts.iter().enumerate() {
            ip(&["netns", "add", ns])?;
            self.made.push(ns.clone());
            // The bridge-side end: `b` plus the host's veth name without its leading `v`.
            let port = format!("b{}", &veth[1..]);
            ip(&["-n", &br, "link", "add", &port, "type", "veth", "peer", "name", veth, "netns", ns])?;
            ip(&["-n", &br, "link", "set", &port, "master", "br0", "txqueuelen", "10000", "up"])?;
            let addr = format!("{}/24", host_ip(k));
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            ip(&["-n", ns, "addr", "add", &addr, "dev", veth])?;
            ip(&["-n", ns, "link", "set", veth, "txqueuelen", "10000", "up"])?;
            ip(&["-n", ns, "route", "add", "224.0.0.0/4", "dev", veth])?;
        }
        Ok(())
    }

    /// The sender's namespace.
    pub fn sender_ns(&self) -> &str {
        &self.hosts[0].0
    }

    /// Receiver `i`'s namespace.
    ///
    /// # Panics
    /// If `i` is not below the number of receivers.
    pub fn receiver_ns(&self, i: usize) -> &str {
        &self.hosts[1 + self.check(i)].0
    }

    /// The sender's address, 10.77.0.1.
    pub fn sender_ip(&self) -> Ipv4Addr {
        host_ip(0)
    }

    /// Receiver `i`'s address, 10.77.0.(2+i).
    ///
    /// # Panics
    /// If `i` is not below the number of receivers.
    pub fn receiver_ip(&self, i: usize) -> Ipv4Addr {
        host_ip(1 + self.check(i))
    }

    /// Number of receiver namespaces.
    pub fn receivers(&self) -> usize {
        self.hosts.len() - 1
    }

    /// The name of the veth interface inside namespace `ns` (for uftp -I, multicast joins).
    ///
    /// # Panics
    /// If `ns` is not one of this network's sender or receiver namespaces.
    pub fn iface(&self, ns: &str) -> &str {
        match self.hosts.iter().find(|(n, _)| n == ns) {
            Some((_, veth)) => veth,
            None => panic!("namespace {ns} is not a host of this test network"),
        }
    }

    /// `ip netns exec <ns> <program>`: a Command ready for args/spawn.
    pub fn command(&self, ns: &str, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.arg("netns").arg("exec").arg(ns).arg(program);
        c
    }

    fn check(&self, i: usize) -> usize {
        assert!(i < self.receivers(), "receiver {i} of {}", self.receivers());
        i
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth ends inside it, and with them their peers.
        for ns in self.made.iter().rev() {
            let _ = ip(&["netns", "del", ns]);
        }
    }
}

/// Runs `f` on a new thread that has entered network namespace `ns` (by name, as `ip netns`
/// knows it), and returns its result. Sockets `f` creates stay in that namespace wherever they
/// are used afterwards, so one process can open sockets in several namespaces.
pub fn in_namespace<T: Send>(ns: &str, f: impl FnOnce() -> std::io::Result<T> + Send) -> std::io::Result<T> {
    use std::os::fd::AsRawFd;
    let handle = std::fs::File::open(format!("/run/netns/{ns}"))?;
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: `handle` is an open namespace file; setns changes only this thread's
            // network namespace, and the thread ends when `f` returns.
            if unsafe { libc::setns(handle.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            f()
        })
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("a thread in a test namespace panicked")))
    })
}

/// Whether process `pid` sees a UDP socket bound to local `port` in its network namespace
/// (read from `/proc/PID/net/udp`): a readiness probe for servers spawned with
/// [`TestNet::command`] (`ip netns exec` runs the program in its own process).
pub fn udp_port_bound(pid: u32, port: u16) -> bool {
    let needle = format!(":{port:04X}");
    ["udp", "udp6"].iter().any(|table| {
        std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).is_ok_and(|text| {
            // Columns: sl local_address rem_address ...; the local address ends in :PORT (hex).
            text.lines().skip(1).any(|l| l.split_whitespace().nth(1).is_some_and(|a| a.ends_with(&needle)))
        })
    })
}

/// Address of host `k` (0: the sender, 1 + i: receiver i).
fn host_ip(k: usize) -> Ipv4Addr {
    Ipv4Addr::new(10, 77, 0, 1 + k as u8)
}

/// Runs `ip ARGS`, quietly; its stderr becomes the error.
fn ip(args: &[&str]) -> Result<(), NetnsUnavailable> {
    let out = Command::new("ip").args(args).stdin(Stdio::null()).output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            NetnsUnavailable("no `ip` command (install iproute2)".into())
        } else {
            NetnsUnavailable(format!("cannot run `ip`: {e}"))
        }
    })?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(NetnsUnavailable(format!("`ip {}` failed: {}", args.join(" "), err.trim())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_follow_the_issue_host_list() {
        // uftp's -H 0x0A4D0002,0x0A4D0003,0x0A4D0004 names receivers 0, 1 and 2.
        assert_eq!(u32::from(host_ip(1)), 0x0A4D_0002);
        assert_eq!(u32::from(host_ip(3)), 0x0A4D_0004);
        assert_eq!(host_ip(0), Ipv4Addr::new(10, 77, 0, 1));
    }
}
