//! `p2mp impair` itself, as a user runs it: a real `p2mpserver`, the proxy in front of it with a
//! loss rate and a seed, a real `p2mpclient` through it. The copy is byte-identical and, on
//! Ctrl-C, the proxy prints what it did.
#![cfg(unix)]

mod common;

use common::procs::{read_log, spawn_logged, wait_until, Children};
use common::{free_port, ip, LIMIT};
use p2mp_native::loopback::{files_equal, write_random_file};
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const SERVER: &str = env!("CARGO_BIN_EXE_p2mpserver");
const CLIENT: &str = env!("CARGO_BIN_EXE_p2mpclient");
const P2MP: &str = env!("CARGO_BIN_EXE_p2mp");

/// Waits until `log` says `what`; panics if `child` exits first.
fn wait_for_line(child: &mut Child, log: &Path, what: &str) {
    let deadline = Instant::now() + LIMIT;
    while !read_log(log).contains(what) {
        if let Some(s) = child.try_wait().unwrap() {
            panic!("exited early ({s}): {}", read_log(log));
        }
        assert!(Instant::now() < deadline, "never said `{what}`");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The number before `word` in `text` (`12 dropped` -> 12).
fn count(text: &str, word: &str) -> u64 {
    let at = text.find(&format!(" {word}")).unwrap_or_else(|| panic!("no `{word}` in {text}"));
    let digits: String = text[..at]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().unwrap_or_else(|_| panic!("no count before `{word}` in {text}"))
}

#[test]
fn a_transfer_through_p2mp_impair_arrives_intact_and_the_proxy_counts_its_drops() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = d.join("in.bin");
    write_random_file(&input, 50_000, 41).unwrap();
    let (server_ip, proxy_ip) = (ip(231), ip(232));
    let (server_port, proxy_port) = (free_port(server_ip), free_port(proxy_ip));

    let server_log = d.join("server.log");
    let mut server = Command::new(SERVER);
    server
        .args([&server_port.to_string(), "out.bin", "0", "--bind", &server_ip.to_string()])
        .args(["--linger", "0.5", "--idle-timeout", "10"])
        .current_dir(d);
    let mut procs = Children(vec![spawn_logged(server, &server_log)]);
    wait_for_line(&mut procs.0[0], &server_log, "listening on");

    let proxy_log = d.join("impair.log");
    let mut proxy = Command::new(P2MP);
    proxy
        .arg("impair")
        .args(["--route", &format!("{proxy_ip}:{proxy_port}={server_ip}:{server_port}")])
        .args(["--loss", "0.1", "--seed", "7"]);
    procs.0.push(spawn_logged(proxy, &proxy_log));
    wait_for_line(&mut procs.0[1], &proxy_log, "impairing");

    let client_log = d.join("client.log");
    let mut client = Command::new(CLIENT);
    client
        .args([&format!("{proxy_ip}:{proxy_port}"), &proxy_port.to_string(), "in.bin", "1000"])
        .args(["--timeout", "0.05", "--max-timeouts", "30", "--json"])
        .current_dir(d);
    procs.0.push(spawn_logged(client, &client_log));
    let deadline = Instant::now() + LIMIT;
    let client_status = wait_until(&mut procs.0[2], deadline, "client");
    let server_status = wait_until(&mut procs.0[0], deadline, "server");
    assert!(client_status.success(), "{}", read_log(&client_log));
    assert!(server_status.success(), "{}", read_log(&server_log));
    assert!(files_equal(&input, &d.join("out.bin")).unwrap());
    let json: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&client_log).unwrap().trim()).unwrap();
    let retransmissions = json["totals"]["retransmissions"].as_u64().unwrap();
    assert!(retransmissions > 0, "the proxy's losses cost retransmissions: {json}");

    // Ctrl-C: the proxy stops and prints its counts, exit 0.
    // SAFETY: kill sends SIGINT to our own child, which has not been waited for.
    assert_eq!(unsafe { libc::kill(procs.0[1].id() as libc::pid_t, libc::SIGINT) }, 0);
    let status = wait_until(&mut procs.0[1], Instant::now() + LIMIT, "p2mp impair");
    let said = read_log(&proxy_log);
    assert!(status.success(), "{said}");
    let line = said
        .lines()
        .find(|l| l.starts_with(&format!("impaired {proxy_ip}:{proxy_port} -> {server_ip}:{server_port}: ")))
        .unwrap_or_else(|| panic!("no counts: {said}"));
    let (down, up) = line.split_once("; server to client: ").expect("both directions");
    for (dir, text) in [("client to server", down), ("server to client", up)] {
        let (received, forwarded, dropped) =
            (count(text, "received"), count(text, "forwarded"), count(text, "dropped"));
        // Loss only: every datagram is forwarded once or dropped, and about 10% are dropped.
        assert_eq!(forwarded + dropped, received, "{dir}: {line}");
        assert_eq!((count(text, "duplicated"), count(text, "corrupted")), (0, 0), "{dir}: {line}");
        assert!(dropped > 0 && dropped * 4 < received, "{dir}: {line}");
    }
    // Everything the client sent went through the proxy: its DATA and FIN, counted on the way in.
    let transmissions = json["totals"]["transmissions"].as_u64().unwrap();
    assert!(count(down, "received") >= transmissions, "{line} vs {transmissions} transmissions");
}
