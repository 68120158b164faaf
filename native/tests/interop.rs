//! Interop with independent peers written in Python from the protocol brief, run as
//! subprocesses: `p2mpclient` against a Python receiver (`tests/peers/p2mp_receiver.py`), and
//! real `p2mpserver` processes receiving from a Python sender (`tests/peers/p2mp_sender.py`).
//!
//! These tests need Python 3 (`python3` or `python` on PATH). Without it they fail, unless
//! `P2MP_SKIP_PYTHON=1` is set, which skips them explicitly.

mod common;

use common::procs::{read_log, spawn_logged, wait_until, Children};
use p2mp_native::loopback::{files_equal, write_random_file};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const CLIENT: &str = env!("CARGO_BIN_EXE_p2mpclient");
const SERVER: &str = env!("CARGO_BIN_EXE_p2mpserver");
const LIMIT: Duration = Duration::from_secs(60);

/// The Python 3 interpreter; `None` (skip) only when `P2MP_SKIP_PYTHON=1` asks for it.
fn python() -> Option<&'static str> {
    let found = ["python3", "python"].into_iter().find(|exe| {
        Command::new(exe)
            .arg("-c")
            .arg("import sys; sys.exit(0 if sys.version_info[0] == 3 else 1)")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if found.is_some() {
        return found;
    }
    if std::env::var("P2MP_SKIP_PYTHON").is_ok_and(|v| v == "1") {
        eprintln!("SKIPPED (P2MP_SKIP_PYTHON=1): no Python 3 interpreter on PATH");
        return None;
    }
    panic!(
        "the interop tests need Python 3 (`python3` or `python` on PATH) and found none; \
         install it, or set P2MP_SKIP_PYTHON=1 to skip these tests explicitly"
    );
}

struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the Python receiver and returns it with the port it bound.
fn start_peer(py: &str, wire: &str, out: &Path, p: f64) -> (Peer, u16) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/p2mp_receiver.py");
    let mut child = Command::new(py)
        .arg(script)
        .args(["--wire", wire, "--out"])
        .arg(out)
        .args(["--p", &p.to_string(), "--seed", "7", "--linger", "0.5"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start python peer");
    let stdout = child.stdout.take().unwrap();
    let peer = Peer(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(LIMIT).expect("python peer never said READY");
    let port = line
        .trim()
        .strip_prefix("READY ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line from the peer: {line:?}"));
    (peer, port)
}

fn wait(mut peer: Peer) -> bool {
    let start = Instant::now();
    loop {
        if let Some(s) = peer.0.try_wait().unwrap() {
            return s.success();
        }
        assert!(start.elapsed() < LIMIT, "python peer did not exit");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn interop(wire: &str, size: u64, mss: &str) {
    interop_with(wire, mss, |path| write_random_file(path, size, 99).unwrap());
}

fn interop_with(wire: &str, mss: &str, make_input: impl FnOnce(&Path)) {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    let output = dir.path().join("out.bin");
    make_input(&input);
    let (peer, port) = start_peer(py, wire, &output, 0.1);
    let status = Command::new(CLIENT)
        .args(["127.0.0.1", &port.to_string()])
        .arg(&input)
        .args([mss, "--wire", wire, "--timeout", "0.03", "--quiet"])
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "client failed against the {wire} peer");
    assert!(wait(peer), "python peer failed");
    assert!(files_equal(&input, &output).unwrap(), "{wire}: bytes differ");
}

#[test]
fn text_dialect_against_python_receiver() {
    interop("text", 40_001, "333");
}

#[test]
fn binary_dialect_against_python_receiver() {
    interop("binary", 40_001, "333");
}

/// Payloads full of `###` (the text framing's separator), odd segment lengths.
#[test]
fn text_dialect_payloads_containing_separators() {
    interop_with("text", "7", |path| {
        let mut data = b"###a##b###".repeat(301);
        data.extend_from_slice(b"#");
        std::fs::write(path, data).unwrap();
    });
}

/// Two server addresses no other test uses, sharing a free port: 127.0.0.`first` and the next
/// one on Linux; elsewhere (a single loopback address) 127.0.0.1 with two free ports.
fn server_addrs(first: u8) -> [SocketAddr; 2] {
    for _ in 0..50 {
        let held = if cfg!(target_os = "linux") {
            let a = UdpSocket::bind((Ipv4Addr::new(127, 0, 0, first), 0)).expect("bind a probe socket");
            let port = a.local_addr().unwrap().port();
            match UdpSocket::bind((Ipv4Addr::new(127, 0, 0, first + 1), port)) {
                Ok(b) => [a, b],
                Err(_) => continue,
            }
        } else {
            let bind = || UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a probe socket");
            [bind(), bind()]
        };
        return held.map(|s| s.local_addr().unwrap());
    }
    panic!("no free port shared by 127.0.0.{first} and 127.0.0.{}", first + 1);
}

/// What one server printed: the sequence fields of its `Packet loss` lines, and the datagram
/// and loss counts of its summary line.
struct ServerReport {
    losses: Vec<u64>,
    datagrams: u64,
    lost: u64,
}

fn server_report(stdout: &str) -> ServerReport {
    const LOSS: &str = "Packet loss, sequence number = ";
    let losses = stdout
        .lines()
        .filter(|l| l.starts_with("Packet loss"))
        .map(|l| {
            l.strip_prefix(LOSS)
                .and_then(|x| x.parse().ok())
                .unwrap_or_else(|| panic!("malformed loss line {l:?}"))
        })
        .collect();
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("Received "))
        .unwrap_or_else(|| panic!("no summary line in {stdout}"));
    // "...; N datagrams, M lost by the loss service, ..."
    let count_before = |what: &str| -> u64 {
        let head = &summary[..summary.find(what).unwrap_or_else(|| panic!("no `{what}` in {summary}"))];
        head.rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{summary}"))
    };
    ServerReport { losses, datagrams: count_before(" datagrams"), lost: count_before(" lost by") }
}

/// Two `p2mpserver` processes with p > 0 and fixed seeds receive an odd-length file from the
/// Python sender in `wire`: both outputs are byte-identical to the input, and each server's
/// `Packet loss` lines account exactly for the datagrams the sender never heard back about.
fn servers_receive_from_python_sender(wire: &str, first_addr: u8) {
    let Some(py) = python() else { return };
    let deadline = Instant::now() + LIMIT;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    write_random_file(&input, 12_345, 5).unwrap();
    let addrs = server_addrs(first_addr);
    let outputs: Vec<PathBuf> = (0..2).map(|i| dir.path().join(format!("out-{i}.bin"))).collect();
    let logs: Vec<PathBuf> = (0..2).map(|i| dir.path().join(format!("server-{i}.log"))).collect();
    let mut servers = Children(Vec::new());
    for (i, addr) in addrs.iter().enumerate() {
        let mut cmd = Command::new(SERVER);
        cmd.arg(addr.port().to_string()).arg(&outputs[i]).arg("0.15");
        cmd.args(["--bind", &addr.ip().to_string(), "--seed", &(11 + i).to_string(), "--wire", wire]);
        cmd.args(["--linger", "0.3", "--idle-timeout", "20"]);
        servers.0.push(spawn_logged(cmd, &logs[i]));
    }
    for log in &logs {
        while !read_log(log).contains("listening on") {
            assert!(Instant::now() < deadline, "server never said it was listening: {}", read_log(log));
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/p2mp_sender.py");
    let mut cmd = Command::new(py);
    cmd.arg(script).args(["--wire", wire, "--file"]).arg(&input);
    cmd.args(["--mss", "200", "--timeout", "0.05", "--max-timeouts", "40", "--drain", "0.2"]);
    cmd.args(addrs.map(|a| a.to_string()));
    let sender_log = dir.path().join("sender.log");
    let mut sender = Children(vec![spawn_logged(cmd, &sender_log)]);
    let status = wait_until(&mut sender.0[0], deadline, "python sender");
    let sender_out = read_log(&sender_log);
    assert!(status.success(), "{wire}: python sender failed:\n{sender_out}");
    for (i, server) in servers.0.iter_mut().enumerate() {
        let status = wait_until(server, deadline, "p2mpserver");
        assert!(status.success(), "{wire}: server {i} failed:\n{}", read_log(&logs[i]));
    }

    assert!(sender_out.lines().any(|l| l.starts_with("Timeout, sequence number = ")), "{sender_out}");
    let summary: serde_json::Value = sender_out
        .lines()
        .find_map(|l| l.strip_prefix("SUMMARY "))
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_else(|| panic!("no SUMMARY line from the sender:\n{sender_out}"));
    for (i, addr) in addrs.iter().enumerate() {
        assert!(files_equal(&input, &outputs[i]).unwrap(), "{wire}: server {i} wrote different bytes");
        let stdout = std::fs::read_to_string(&logs[i]).unwrap();
        let report = server_report(&stdout);
        let mine = &summary[addr.to_string()];
        assert_eq!(mine["finished"], true, "{wire}: {mine}");
        let sent: Vec<u64> = serde_json::from_value(mine["sent"].clone()).expect("the sender's `sent` list");
        let replies = mine["replies"].as_u64().expect("the sender's `replies` count");
        let n = report.losses.len() as u64;
        assert!(n > 0, "{wire}: server {i} lost nothing with p = 0.15 and seed {}", 11 + i);
        assert_eq!(n, report.lost, "{wire}: server {i}: loss lines vs its own count");
        // Loopback loses nothing: the server saw every datagram the sender sent it...
        assert_eq!(report.datagrams, sent.len() as u64, "{wire}: server {i}: datagrams");
        // ...answered each one its loss service let through, and printed one line per other.
        assert_eq!(n, sent.len() as u64 - replies, "{wire}: server {i}: losses vs unanswered datagrams");
        let fields: BTreeSet<u64> = sent.iter().copied().collect();
        for x in &report.losses {
            assert!(fields.contains(x), "{wire}: server {i} reported a loss of {x}, never sent to it");
        }
    }
}

#[test]
fn binary_dialect_servers_receive_from_python_sender() {
    servers_receive_from_python_sender("binary", 80);
}

#[test]
fn text_dialect_servers_receive_from_python_sender() {
    servers_receive_from_python_sender("text", 82);
}
