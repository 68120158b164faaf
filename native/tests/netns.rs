//! Real transfers on the project's own test network: the client in the sender namespace, one
//! p2mpserver per receiver namespace, all on a bridge. Skips (passes, with a message on stderr)
//! where namespaces cannot be made (not root, no iproute2).
#![cfg(target_os = "linux")]

mod common;

use common::procs::{read_log, spawn_logged, wait_until, Children};
use common::LIMIT;
use p2mp_native::loopback::{files_equal, write_random_file};
use p2mp_native::netns::{udp_port_bound, TestNet};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const SERVER: &str = env!("CARGO_BIN_EXE_p2mpserver");
const CLIENT: &str = env!("CARGO_BIN_EXE_p2mpclient");
const PORT: u16 = 7735;

/// Sends a random file of `size` bytes to 3 servers in 3 receiver namespaces, each losing
/// datagrams with probability `loss`; checks the copies are byte-identical.
fn transfer(size: u64, loss: f64, client_args: &[&str], server_window: u32, seed: u64) {
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
    write_random_file(&input, size, seed).expect("input");
    let mut servers = Children(Vec::new());
    let mut outs: Vec<PathBuf> = Vec::new();
    for i in 0..3 {
        let out = dir.path().join(format!("out-{i}.bin"));
        let mut cmd = net.command(net.receiver_ns(i), SERVER);
        cmd.arg(PORT.to_string()).arg(&out).arg(loss.to_string());
        cmd.args(["--bind", &net.receiver_ip(i).to_string(), "--seed", &(seed + i as u64).to_string()]);
        cmd.args(["--window", &server_window.to_string(), "--linger", "0.3", "--idle-timeout", "20"]);
        cmd.arg("--quiet");
        servers.0.push(spawn_logged(cmd, &dir.path().join(format!("server-{i}.log"))));
        outs.push(out);
    }
    // The client's first DATA must not arrive before the servers have bound their sockets.
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
    cmd.arg(PORT.to_string()).arg(&input).arg("1000");
    cmd.args(client_args).args(["--max-timeouts", "50", "--quiet"]);
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
}

#[test]
fn selective_repeat_to_three_namespaces() {
    let args = ["--mode", "selective-repeat", "--window", "64", "--rto", "adaptive", "--timeout", "0.05"];
    transfer(2_000_000, 0.0, &args, 64, 11);
}

#[test]
fn stop_and_wait_to_three_namespaces_with_loss() {
    let args = ["--rto", "adaptive", "--timeout", "0.05", "--rto-min", "0.002"];
    transfer(300_000, 0.05, &args, 0, 12);
}

#[test]
fn network_is_deleted_on_drop() {
    let net = match TestNet::create(1) {
        Ok(net) => net,
        Err(e) => {
            eprintln!("skipped: {e}");
            return;
        }
    };
    let names = [net.sender_ns().to_string(), net.receiver_ns(0).to_string()];
    assert_eq!(net.receiver_ip(0).to_string(), "10.77.0.2");
    let listed = || {
        String::from_utf8_lossy(&Command::new("ip").args(["netns", "list"]).output().unwrap().stdout)
            .into_owned()
    };
    assert!(names.iter().all(|n| listed().contains(n.as_str())));
    drop(net);
    let after = listed();
    assert!(names.iter().all(|n| !after.contains(n.as_str())), "{after}");
}
