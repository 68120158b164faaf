//! The namespaced half of `p2mp bench --arq` (Linux): the same measurements on the project's
//! test network ([`crate::netns::TestNet`]), with every node a process of its own, as a user
//! runs them: `p2mpserver` in each receiver namespace, `p2mpclient` in the sender namespace
//! (both binaries next to the running `p2mp`), and, where installed, uftp/uftpd on the same
//! receivers. The raw blast and ping-pong run in this process on sockets opened inside the
//! namespaces. Selective repeat also runs over IP multicast here ([`Ctx::transfer_multicast`]):
//! one server per namespace can own the group's port, which loopback cannot give cleanly.

use super::CellSpec;
use crate::batch::IoMode;
use crate::blast::{self, BlastOutcome};
use crate::error::{NativeError, Result};
use crate::loopback::files_equal;
use crate::netns::{in_namespace, udp_port_bound, TestNet};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The servers' UDP port (each receiver has its own namespace, hence its own port space).
const PORT: u16 = 7735;
/// uftpd's default port, watched to know it is listening.
const UFTPD_PORT: u16 = 1044;
/// Longest any one process of the bench may run.
const LIMIT: Duration = Duration::from_secs(300);
/// Socket buffers of uftp and uftpd (`-B`), as in the issue.
const UFTP_BUFFER: &str = "4194304";
/// The group of the multicast rows (administratively scoped, as in the multicast tests).
pub(super) const GROUP: &str = "239.77.0.1";

/// What one process-based transfer measured.
#[derive(Clone, Debug)]
pub(super) struct ProcessCell {
    /// The client's transfer time (first send to the last end-of-file acknowledgement).
    pub secs: f64,
    /// The whole client command, spawn to exit.
    pub wall: f64,
    /// Retransmitted DATA datagrams.
    pub retransmissions: u64,
    /// Timer expiries.
    pub timeouts: u64,
    /// Datagrams the client put on the wire (its summary's `totals.transmissions`: DATA first
    /// copies, once per segment to the group with multicast, retransmissions and FINs).
    pub datagrams: u64,
}

/// What one uftp run measured.
#[derive(Clone, Debug)]
pub(super) struct UftpCell {
    /// uftp's own "Total elapsed time", if it printed one.
    pub secs: Option<f64>,
    /// The whole uftp command, spawn to exit.
    pub wall: f64,
}

/// The test network and the binaries that run on it.
pub(super) struct Ctx {
    net: TestNet,
    server: PathBuf,
    client: PathBuf,
    dir: PathBuf,
    /// Mean cost of `ip netns exec NS true`, seconds (part of every wall time here).
    exec_overhead: f64,
    /// Warnings to print (stale binaries).
    warnings: Vec<String>,
}

/// Children killed when dropped, however the bench ends.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            if let Ok(None) = c.try_wait() {
                let _ = c.kill();
            }
            let _ = c.wait();
        }
    }
}

fn io_err(what: &str, e: io::Error) -> NativeError {
    NativeError::Verify(format!("{what}: {e}"))
}

/// Waits for `child`, checking every millisecond (the wall times are read when this returns);
/// kills it past `LIMIT`.
fn wait(child: &mut Child, what: &str) -> Result<ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().map_err(|e| io_err(what, e))? {
            return Ok(s);
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(NativeError::Verify(format!("{what} did not finish within {LIMIT:?}")));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits until the process `child` has a UDP socket on `port`.
fn wait_bound(child: &mut Child, port: u16, what: &str, log: &Path) -> Result<()> {
    let start = Instant::now();
    while !udp_port_bound(child.id(), port) {
        if let Ok(Some(s)) = child.try_wait() {
            return Err(NativeError::Verify(format!("{what} exited ({s}) before listening: {}", tail(log))));
        }
        if start.elapsed() > Duration::from_secs(10) {
            return Err(NativeError::Verify(format!("{what} did not listen on port {port} within 10 s")));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}

/// The last lines of a log, for error messages.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

fn spawn(mut cmd: Command, log: &Path, what: &str) -> Result<Child> {
    let out = std::fs::File::create(log).map_err(|e| io_err(what, e))?;
    let err = out.try_clone().map_err(|e| io_err(what, e))?;
    cmd.stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| io_err(&format!("cannot start {what}"), e))
}

/// Whether `program` is an executable file in a directory of PATH.
pub(super) fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// uftp's host ID of an IPv4 address: its 32 bits in hex (`-H 0x0A4D0002,...`).
fn uftp_host_id(ip: std::net::Ipv4Addr) -> String {
    format!("0x{:08X}", u32::from(ip))
}

/// The seconds in uftp's `Total elapsed time: 0.228 seconds` line.
fn uftp_elapsed(log: &str) -> Option<f64> {
    log.lines()
        .find_map(|l| l.trim().strip_prefix("Total elapsed time:")?.split_whitespace().next()?.parse().ok())
}

impl Ctx {
    /// Builds a network with `max_n` receivers and finds the node binaries next to this one.
    pub fn open(max_n: usize, dir: &Path) -> std::result::Result<Ctx, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot locate the running p2mp: {e}"))?;
        let bin_dir = exe.parent().ok_or("the running p2mp has no directory")?.to_path_buf();
        let mut warnings = Vec::new();
        let mut bins = Vec::new();
        for name in ["p2mpserver", "p2mpclient"] {
            let path = bin_dir.join(name);
            if !path.is_file() {
                return Err(format!(
                    "{} not found next to p2mp (build it: cargo build --release -p p2mp-native --bins)",
                    path.display()
                ));
            }
            // `cargo run --bin p2mp` rebuilds only p2mp: an old sibling measures old code.
            let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
            if let (Some(b), Some(me)) = (modified(&path), modified(&exe)) {
                if b + Duration::from_secs(60) < me {
                    warnings.push(format!(
                        "warning: {} is older than p2mp; rebuild both (cargo build --release -p p2mp-native --bins)",
                        path.display()
                    ));
                }
            }
            bins.push(path);
        }
        let net = TestNet::create(max_n).map_err(|e| e.0)?;
        let mut exec = Duration::ZERO;
        for _ in 0..5 {
            let start = Instant::now();
            let ok = net.command(net.sender_ns(), "true").status().is_ok_and(|s| s.success());
            if !ok {
                return Err("`ip netns exec` cannot run programs in the test namespaces".into());
            }
            exec += start.elapsed();
        }
        let client = bins.pop().unwrap_or_default();
        let server = bins.pop().unwrap_or_default();
        Ok(Ctx {
            net,
            server,
            client,
            dir: dir.to_path_buf(),
            exec_overhead: exec.as_secs_f64() / 5.0,
            warnings,
        })
    }

    /// Warnings to print before measuring (e.g. stale node binaries).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// One line on what the network is.
    pub fn describe(&self) -> String {
        format!(
            "sender {} in namespace {} (veth {}), receivers {}..{} in {} namespaces of their own, all \
             on one bridge in a namespace of its own (veth pairs, MTU 1500); p2mpserver/p2mpclient \
             from {} started with `ip netns exec` (mean {:.1} ms per start, part of every wall time)",
            self.net.sender_ip(),
            self.net.sender_ns(),
            self.net.iface(self.net.sender_ns()),
            self.net.receiver_ip(0),
            self.net.receiver_ip(self.net.receivers() - 1),
            self.net.receivers(),
            self.client.parent().map(|p| p.display().to_string()).unwrap_or_default(),
            self.exec_overhead * 1e3
        )
    }

    fn sender_socket(&self, buffer: usize) -> io::Result<UdpSocket> {
        let bind = SocketAddr::from((self.net.sender_ip(), 0));
        in_namespace(self.net.sender_ns(), || blast::udp_socket(bind, buffer, buffer))
    }

    fn receiver_sockets(&self, n: usize, buffer: usize) -> io::Result<Vec<UdpSocket>> {
        (0..n)
            .map(|i| {
                let bind = SocketAddr::from((self.net.receiver_ip(i), 0));
                in_namespace(self.net.receiver_ns(i), || blast::udp_socket(bind, buffer, buffer))
            })
            .collect()
    }

    /// The ping-pong round trip (blocking sockets, threads), the raw blast to `n` receivers
    /// and the same blast with the nodes' batched I/O, sender and receivers in their namespaces.
    pub fn references(
        &self,
        n: usize,
        segments: u64,
        datagram: usize,
        header: usize,
        rounds: u32,
        buffer: usize,
    ) -> Result<(f64, BlastOutcome, BlastOutcome)> {
        let client = self.sender_socket(buffer).map_err(NativeError::Network)?;
        let echoers = self.receiver_sockets(n, buffer).map_err(NativeError::Network)?;
        let rtt = blast::ping_pong_sockets(client, echoers, datagram, header, rounds)
            .map_err(NativeError::Network)?;
        let tx = self.sender_socket(buffer).map_err(NativeError::Network)?;
        let rx = self.receiver_sockets(n, buffer).map_err(NativeError::Network)?;
        let b = blast::blast_sockets(tx, rx, segments, datagram).map_err(NativeError::Network)?;
        let tx = self.sender_socket(buffer).map_err(NativeError::Network)?;
        let rx = self.receiver_sockets(n, buffer).map_err(NativeError::Network)?;
        let bb = crate::blast_batched::blast_batched_sockets(tx, rx, segments, datagram, IoMode::Auto)
            .map_err(NativeError::Network)?;
        Ok((rtt, b, bb))
    }

    /// The ping-pong round trip as the nodes run: one `p2mp echo` process per receiver
    /// namespace (the servers' layout), blocking or (`tokio`) in the servers' runtime, the
    /// requests from this process in the sender namespace.
    pub fn ping_pong_processes(
        &self,
        n: usize,
        datagram: usize,
        header: usize,
        rounds: u32,
        tokio: bool,
    ) -> Result<f64> {
        let exe = std::env::current_exe().map_err(|e| io_err("cannot find the p2mp binary", e))?;
        let mut echoers = Children(Vec::with_capacity(n));
        let mut addrs = Vec::with_capacity(n);
        for i in 0..n {
            let addr = SocketAddr::from((self.net.receiver_ip(i), PORT));
            let mut cmd = self.net.command(self.net.receiver_ns(i), &exe);
            cmd.args(["echo", "--bind", &addr.to_string(), "--reply-len", &header.to_string()]);
            if tokio {
                cmd.arg("--tokio");
            }
            let log = self.dir.join(format!("echo-{}.log", i + 1));
            echoers.0.push(spawn(cmd, &log, "p2mp echo")?);
            if let Some(child) = echoers.0.last_mut() {
                wait_bound(child, PORT, &format!("p2mp echo {}", i + 1), &log)?;
            }
            addrs.push(addr);
        }
        let client = self.sender_socket(1 << 20).map_err(NativeError::Network)?;
        let rtt = blast::ping_pong_client(&client, &addrs, datagram, rounds).map_err(NativeError::Network)?;
        for (i, child) in echoers.0.iter_mut().enumerate() {
            wait(child, &format!("p2mp echo {}", i + 1))?;
        }
        Ok(rtt)
    }

    /// One ARQ transfer of `input` from a p2mpclient in the sender namespace to `spec.n`
    /// p2mpservers in receiver namespaces; checks every copy.
    pub fn transfer(&self, input: &Path, spec: &CellSpec) -> Result<ProcessCell> {
        self.run_transfer(input, spec, false)
    }

    /// The same transfer with the DATA sent once to [`GROUP`]: each server listens on the
    /// wildcard address (one socket, joined on its own interface; its namespace has no other
    /// server), the client sends by the sender's interface; ACKs, FINs and the resends the
    /// client chooses to unicast go to each server's address, as in the unicast rows.
    pub fn transfer_multicast(&self, input: &Path, spec: &CellSpec) -> Result<ProcessCell> {
        self.run_transfer(input, spec, true)
    }

    fn run_transfer(&self, input: &Path, spec: &CellSpec, multicast: bool) -> Result<ProcessCell> {
        let what = if multicast { format!("multicast {}", spec.label()) } else { spec.label() };
        let mut servers = Children(Vec::new());
        let mut outs = Vec::new();
        for i in 0..spec.n {
            let out = self.dir.join(format!("netns-received-{}.bin", i + 1));
            let _ = std::fs::remove_file(&out);
            let mut cmd = self.net.command(self.net.receiver_ns(i), &self.server);
            cmd.arg(PORT.to_string()).arg(&out).arg(spec.loss.to_string());
            let ip = self.net.receiver_ip(i).to_string();
            if multicast {
                cmd.args(["--multicast", GROUP, "--interface", &ip]);
            } else {
                cmd.args(["--bind", &ip]);
            }
            cmd.args([
                "--seed",
                &(spec.seed + i as u64).to_string(),
                "--window",
                &spec.server_window().to_string(),
            ]);
            cmd.args(["--wire", spec.wire, "--linger", "0.1", "--idle-timeout", "30", "--quiet"]);
            let log = self.dir.join(format!("netns-server-{}.log", i + 1));
            let mut child = spawn(cmd, &log, "p2mpserver")?;
            let ready = wait_bound(&mut child, PORT, &format!("p2mpserver {}", i + 1), &log);
            servers.0.push(child);
            ready?;
            outs.push((out, log));
        }
        let mut cmd = self.net.command(self.net.sender_ns(), &self.client);
        cmd.args((0..spec.n).map(|i| self.net.receiver_ip(i).to_string()));
        cmd.arg(PORT.to_string()).arg(input).arg(spec.mss.to_string());
        cmd.args(spec.client_args());
        if multicast {
            cmd.args(["--multicast", GROUP, "--interface", &self.net.sender_ip().to_string()]);
        }
        cmd.args(["--json", "--quiet"]);
        let log = self.dir.join("netns-client.log");
        let start = Instant::now();
        let mut client = Children(vec![spawn(cmd, &log, "p2mpclient")?]);
        let status = wait(&mut client.0[0], "p2mpclient")?;
        let wall = start.elapsed().as_secs_f64();
        let text = std::fs::read_to_string(&log).map_err(|e| io_err("p2mpclient output", e))?;
        if !status.success() {
            return Err(NativeError::Verify(format!("{what}: p2mpclient failed ({status}): {}", tail(&log))));
        }
        let summary: serde_json::Value = text
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str(l).ok())
            .ok_or_else(|| NativeError::Verify(format!("{what}: no JSON summary from p2mpclient")))?;
        let field = |k: &str| summary["totals"][k].as_u64().unwrap_or(0);
        let secs = summary["delay_micros"].as_u64().unwrap_or(0) as f64 / 1e6;
        for (i, (child, (out, log))) in servers.0.iter_mut().zip(&outs).enumerate() {
            let s = wait(child, "p2mpserver")?;
            if !s.success() {
                return Err(NativeError::Verify(format!(
                    "{what}: p2mpserver {} failed ({s}): {}",
                    i + 1,
                    tail(log)
                )));
            }
            if !files_equal(input, out).unwrap_or(false) {
                return Err(NativeError::Verify(format!("{what}: {} differs from the input", out.display())));
            }
        }
        Ok(ProcessCell {
            secs,
            wall,
            retransmissions: field("retransmissions"),
            timeouts: field("timeouts"),
            datagrams: field("transmissions"),
        })
    }

    /// Sends `input` with uftp from the sender namespace to uftpd in each of the first `n`
    /// receiver namespaces, as the issue describes; checks every copy.
    pub fn uftp(&self, input: &Path, n: usize) -> Result<UftpCell> {
        let name = input.file_name().ok_or_else(|| NativeError::Verify("input has no file name".into()))?;
        let src_dir = input.parent().unwrap_or(Path::new("."));
        let mut daemons = Children(Vec::new());
        let mut outs = Vec::new();
        for i in 0..n {
            let ns = self.net.receiver_ns(i);
            let out = self.dir.join(format!("uftp-out-{}", i + 1));
            let tmp = self.dir.join(format!("uftp-tmp-{}", i + 1));
            let _ = std::fs::remove_dir_all(&out);
            let _ = std::fs::remove_dir_all(&tmp);
            for d in [&out, &tmp] {
                std::fs::create_dir_all(d).map_err(|e| io_err("uftp directories", e))?;
            }
            let mut cmd = self.net.command(ns, "uftpd");
            // -d: foreground, log to stderr (so it can be killed by its pid); -q: no DNS lookups.
            cmd.args(["-d", "-q", "-I", self.net.iface(ns), "-D"]).arg(&out).arg("-T").arg(&tmp);
            cmd.args(["-B", UFTP_BUFFER]);
            let log = self.dir.join(format!("uftpd-{}.log", i + 1));
            let mut child = spawn(cmd, &log, "uftpd")?;
            let ready = wait_bound(&mut child, UFTPD_PORT, &format!("uftpd {}", i + 1), &log);
            daemons.0.push(child);
            ready?;
            outs.push(out.join(name));
        }
        let hosts: Vec<String> = (0..n).map(|i| uftp_host_id(self.net.receiver_ip(i))).collect();
        let mut cmd = self.net.command(self.net.sender_ns(), "uftp");
        cmd.args(["-R", "-1", "-B", UFTP_BUFFER, "-I", self.net.iface(self.net.sender_ns())]);
        cmd.args(["-H", &hosts.join(",")]).arg(name).current_dir(src_dir);
        let log = self.dir.join("uftp.log");
        let start = Instant::now();
        let mut sender = Children(vec![spawn(cmd, &log, "uftp")?]);
        let status = wait(&mut sender.0[0], "uftp")?;
        let wall = start.elapsed().as_secs_f64();
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if !status.success() {
            return Err(NativeError::Verify(format!("uftp n = {n} failed ({status}): {}", tail(&log))));
        }
        // uftpd moves the file from -T to -D when the session ends, just after uftp exits.
        for out in &outs {
            let deadline = Instant::now() + Duration::from_secs(5);
            while !files_equal(input, out).unwrap_or(false) {
                if Instant::now() > deadline {
                    return Err(NativeError::Verify(format!(
                        "uftp n = {n}: {} missing or different from the input",
                        out.display()
                    )));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        drop(daemons);
        Ok(UftpCell { secs: uftp_elapsed(&text), wall })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uftp_figures_parse() {
        assert_eq!(uftp_host_id(std::net::Ipv4Addr::new(10, 77, 0, 2)), "0x0A4D0002");
        let log = "Transfer status:\nHost: 0x0A4D0002  Status: Completed   time:   0.228 seconds\n\
                   Total elapsed time: 0.228 seconds\nOverall throughput: 42890.19 KB/s\n";
        assert_eq!(uftp_elapsed(log), Some(0.228));
        assert_eq!(uftp_elapsed("nothing"), None);
    }
}
