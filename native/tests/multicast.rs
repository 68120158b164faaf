//! IP multicast over real UDP: the client sends each DATA once to a group the servers joined,
//! ACKs and FINs stay unicast, and the copies are byte-identical.
//!
//! - On the project's namespaced test network (three receiver namespaces on a bridge), with the
//!   binaries and lossy servers; skips with "skipped: reason" on stderr where namespaces cannot
//!   be made.
//! - On loopback, in process: three servers on 127.0.0.x share the group's port through their
//!   own group sockets (Linux: multicast over `lo` needs the interface named on both sides).
//! - Bad groups and the text dialect are refused with exit status 2.
#![cfg(target_os = "linux")]

mod common;

use common::procs::{read_log, spawn_logged, wait_until, Children};
use common::LIMIT;
use p2mp_core::{Mode, ReceiverConfig};
use p2mp_native::loopback::{files_equal, write_random_file};
use p2mp_native::netns::{udp_port_bound, TestNet};
use p2mp_native::{Client, ClientConfig, Console, Server, ServerConfig};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SERVER: &str = env!("CARGO_BIN_EXE_p2mpserver");
const CLIENT: &str = env!("CARGO_BIN_EXE_p2mpclient");
const PORT: u16 = 7735;
const GROUP: &str = "239.77.0.1";

/// Selective repeat to three lossy servers in three namespaces through the group. Servers 0
/// and 1 listen on the wildcard address (one socket, joined); server 2 is bound to its own
/// address and hears the group on a second socket: both server paths are exercised.
#[test]
fn selective_repeat_through_a_group_to_three_namespaces() {
    let net = match TestNet::create(3) {
        Ok(net) => net,
        Err(e) => {
            eprintln!("skipped: {e}");
            return;
        }
    };
    let deadline = Instant::now() + LIMIT;
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in.bin");
    let size = 1_000_000u64;
    let mss = 1000u64;
    write_random_file(&input, size, 77).expect("input");
    let mut servers = Children(Vec::new());
    let mut outs: Vec<PathBuf> = Vec::new();
    for i in 0..3 {
        let out = dir.path().join(format!("out-{i}.bin"));
        let ip = net.receiver_ip(i).to_string();
        let mut cmd = net.command(net.receiver_ns(i), SERVER);
        cmd.arg(PORT.to_string()).arg(&out).arg("0.05");
        cmd.args(["--multicast", GROUP, "--interface", &ip, "--seed", &(70 + i).to_string()]);
        if i == 2 {
            cmd.args(["--bind", &ip]);
        }
        cmd.args(["--window", "64", "--linger", "0.3", "--idle-timeout", "20", "--json"]);
        servers.0.push(spawn_logged(cmd, &dir.path().join(format!("server-{i}.log"))));
        outs.push(out);
    }
    for (i, s) in servers.0.iter().enumerate() {
        while !udp_port_bound(s.id(), PORT) {
            assert!(Instant::now() < deadline, "server {i} never bound port {PORT}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let mut cmd = net.command(net.sender_ns(), CLIENT);
    for i in 0..3 {
        cmd.arg(net.receiver_ip(i).to_string());
    }
    cmd.arg(PORT.to_string()).arg(&input).arg(mss.to_string());
    cmd.args(["--mode", "selective-repeat", "--window", "64", "--multicast", GROUP]);
    cmd.args(["--interface", &net.sender_ip().to_string()]);
    cmd.args(["--rto", "adaptive", "--timeout", "0.05", "--max-timeouts", "50", "--json"]);
    let client_log = dir.path().join("client.log");
    let mut client = Children(vec![spawn_logged(cmd, &client_log)]);
    let status = wait_until(&mut client.0[0], deadline, "p2mpclient");
    assert!(status.success(), "client failed ({status}):\n{}", read_log(&client_log));
    for (i, (s, out)) in servers.0.iter_mut().zip(&outs).enumerate() {
        let log = dir.path().join(format!("server-{i}.log"));
        let status = wait_until(s, deadline, "p2mpserver");
        assert!(status.success(), "server {i} failed ({status}):\n{}", read_log(&log));
        assert!(files_equal(&input, out).expect("compare"), "copy {i} differs from the input");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&client_log).expect("client log")).expect("JSON");
    let totals = &summary["totals"];
    let (tx, retx) = (totals["transmissions"].as_u64().unwrap(), totals["retransmissions"].as_u64().unwrap());
    let segments = size.div_ceil(mss);
    eprintln!("multicast: {segments} segments, {tx} datagrams ({retx} retransmissions)");
    // Each segment's first copy went once to the group; the FINs went to each server.
    assert_eq!(tx - retx, segments + 3, "{summary}");
    assert!(retx > 0, "p = 0.05 must cost retransmissions");
    // Unicast needs 3 x (segments + 1) first copies alone.
    assert!(tx < 3 * segments, "{tx} datagrams for {segments} segments");
}

/// Three in-process servers on 127.0.0.60-62 share the group's port, each through its own group
/// socket, and reply from their unicast addresses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_servers_on_one_host_share_the_group() {
    loopback_transfer(Mode::SelectiveRepeat { window: 32 }, 60, 2).await;
}

/// The classic protocol over the group: each segment once, then unicast or group resends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_and_wait_through_a_group_on_loopback() {
    loopback_transfer(Mode::StopAndWait, 63, 3).await;
}

async fn loopback_transfer(mode: Mode, first: u8, group_last: u8) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    write_random_file(&input, 300_007, 5).unwrap();
    let lo = Ipv4Addr::LOCALHOST;
    let mut port = 0;
    let mut group = None;
    let mut targets = Vec::new();
    let mut tasks = Vec::new();
    let mut outs = Vec::new();
    for i in 0..3u8 {
        let out = dir.path().join(format!("out-{i}.bin"));
        let cfg = ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, first + i], port)),
            output: out.clone(),
            receiver: ReceiverConfig {
                loss: 0.05,
                seed: 50 + u64::from(i),
                index: u16::from(i),
                linger: Duration::from_millis(300),
                reorder_window: mode.window(),
                ..ReceiverConfig::default()
            },
            trace_file: None,
        };
        let srv = Server::bind(cfg, Console::capture()).await.unwrap();
        port = srv.local_addr().port();
        let g = *group.get_or_insert(SocketAddr::from(([239, 77, 0, group_last], port)));
        let srv = srv.with_multicast(g, lo).unwrap();
        targets.push(srv.local_addr());
        outs.push(out);
        tasks.push(tokio::spawn(srv.run()));
    }
    let mut sender = common::sender(1000, p2mp_core::Dialect::Binary, common::adaptive(), 50);
    sender.mode = mode;
    sender.multicast = group;
    let cfg = ClientConfig {
        receivers: targets,
        file: input.clone(),
        sender,
        bind: Some(SocketAddr::from((lo, 0))),
        trace_file: None,
    };
    let client = Client::prepare(cfg, Console::capture()).await.unwrap();
    let summary = tokio::time::timeout(LIMIT, client.run()).await.unwrap().unwrap();
    assert!(summary.all_finished(), "{mode:?}: {}", summary.render());
    for (t, out) in tasks.into_iter().zip(&outs) {
        let s = tokio::time::timeout(LIMIT, t).await.unwrap().unwrap().unwrap();
        assert_eq!(Some(&s.sha256), summary.sha256.as_ref());
        assert!(files_equal(&input, out).unwrap(), "{mode:?}");
    }
    let t = &summary.totals;
    assert_eq!(t.transmissions - t.retransmissions, t.segments + 3, "{t:?}");
    assert!(t.retransmissions > 0);
    assert!(t.transmissions < 3 * t.segments, "{t:?}");
}

fn bad_input(exe: &str, args: &[&str], needle: &str) {
    let out = Command::new(exe).args(args).stdin(Stdio::null()).output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(needle), "{args:?}: {stderr}");
}

#[test]
fn bad_groups_and_the_text_dialect_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    write_random_file(&input, 1000, 1).unwrap();
    let f = input.to_str().unwrap();
    let client = |extra: &[&'static str]| -> Vec<&str> {
        let mut v = vec!["127.0.0.2", "7735", f, "500", "--mode", "selective-repeat"];
        v.extend_from_slice(extra);
        v
    };
    bad_input(CLIENT, &client(&["--multicast", "10.1.2.3"]), "multicast");
    bad_input(CLIENT, &client(&["--multicast", "ff02::1"]), "multicast");
    bad_input(CLIENT, &client(&["--multicast", "nonsense"]), "multicast");
    bad_input(CLIENT, &client(&["--multicast", GROUP, "--wire", "text"]), "binary");
    let out = dir.path().join("out.bin");
    let o = out.to_str().unwrap();
    bad_input(SERVER, &["7735", o, "0", "--multicast", "192.168.1.1"], "multicast");
    bad_input(SERVER, &["7735", o, "0", "--multicast", GROUP, "--wire", "text"], "binary");
    bad_input(SERVER, &["7735", o, "0", "--multicast", GROUP, "--interface", "eth0"], "interface");
    // A server on the IPv6 wildcard would see the client under two addresses.
    if let Ok(probe) = std::net::UdpSocket::bind("[::]:0") {
        let port = probe.local_addr().unwrap().port().to_string();
        drop(probe);
        bad_input(SERVER, &[&port, o, "0", "--multicast", GROUP, "--bind", "::"], "IPv4");
        assert!(!out.exists());
    }
}

/// Where the group cannot be reached (a fresh network namespace: no route, no interface up),
/// the client says so at once and exits 2 instead of timing every receiver out.
#[test]
fn an_unreachable_group_is_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    write_random_file(&input, 10_000, 1).unwrap();
    let probe = Command::new("unshare").args(["-n", "true"]).status();
    if !probe.is_ok_and(|s| s.success()) {
        eprintln!("skipped: cannot make a network namespace with unshare -n");
        return;
    }
    let out = Command::new("unshare")
        .args(["-n", CLIENT, "127.0.0.2", "7735"])
        .arg(&input)
        .args(["500", "--mode", "selective-repeat", "--multicast", GROUP])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot send to multicast group 239.77.0.1:7735"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}
