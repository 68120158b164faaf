//! `p2mp bench --arq --network netns` end to end on a small file: p2mpserver and p2mpclient
//! processes in the test namespaces, one verified row per mode (selective repeat over IP
//! multicast too, with the datagrams the client sent) beside the loopback-free references.
//! Skips (passes, with a message on stderr) where namespaces cannot be made.
#![cfg(target_os = "linux")]

mod common;

use p2mp_native::netns::TestNet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const P2MP: &str = env!("CARGO_BIN_EXE_p2mp");
const LIMIT: Duration = Duration::from_secs(180);

/// Runs `p2mp bench --arq --network netns` with `args`, bounded by [`LIMIT`]; returns stdout
/// once it has exited successfully.
fn run_bench(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    let mut child = Command::new(P2MP)
        .args(["bench", "--arq", "--network", "netns"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("p2mp bench --arq --network netns {args:?} did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = std::fs::read_to_string(&out_path).unwrap();
    let err = std::fs::read_to_string(&err_path).unwrap();
    assert!(status.success(), "{out}\n{err}");
    out
}

/// The column `i` of a table row, as a number.
fn col(row: &str, i: usize, out: &str) -> f64 {
    row.split_whitespace()
        .nth(i)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("column {i} of `{row}` is not a number:\n{out}"))
}

#[test]
fn netns_bench_prints_one_verified_row_per_mode() {
    if let Err(e) = TestNet::create(1) {
        eprintln!("skipped: {e}");
        return;
    }
    let out = run_bench(&["--size", "200000", "--ns", "2", "--losses", "0.05", "--window", "16"]);
    // No row or reference line on loopback (the header may name loopback to say what is not run).
    let on_loopback = |l: &str| l.split_whitespace().take(2).any(|w| w == "loopback");
    assert!(!out.lines().any(on_loopback), "only the namespaced network was asked for:\n{out}");
    let mut datagrams = std::collections::HashMap::new();
    for mode in ["stop-and-wait", "go-back-n", "selective-repeat", "sr-multicast"] {
        let rows: Vec<&str> = out.lines().filter(|l| l.starts_with(&format!("{mode} "))).collect();
        assert_eq!(rows.len(), 1, "one {mode} row expected:\n{out}");
        assert!(rows[0].contains(" netns "), "{mode} row not on netns:\n{out}");
        assert!(rows[0].ends_with("2/2 ok"), "{mode} copies not verified:\n{out}");
        // mode network p n time wall goodput retrans timeouts datagrams copies ok
        let cols: Vec<&str> = rows[0].split_whitespace().collect();
        let sent: u64 = cols[9].parse().unwrap_or_else(|_| panic!("{mode}: no datagram count:\n{out}"));
        datagrams.insert(mode, sent);
    }
    // 200000 bytes at MSS 500: 400 segments. Unicast puts each first copy on the wire once per
    // receiver; the group takes it once for both.
    assert!(datagrams["selective-repeat"] >= 2 * 400, "{out}");
    assert!(datagrams["sr-multicast"] >= 400, "{out}");
    assert!(datagrams["sr-multicast"] < datagrams["selective-repeat"], "{out}");
    let reference: Vec<&str> = out.lines().filter(|l| l.trim_start().starts_with("2  netns")).collect();
    assert_eq!(reference.len(), 1, "one netns reference row for n = 2 expected:\n{out}");
    // n network RTT-thr RTT-node floor-thr floor-node ...: the node floor comes from one
    // `p2mp echo` process per receiver namespace, as the servers run.
    let cols: Vec<&str> = reference[0].split_whitespace().collect();
    let rtt_node: f64 = cols[3].parse().unwrap_or_else(|_| panic!("no process ping-pong round trip:\n{out}"));
    assert!(rtt_node > 0.0, "{out}");
    assert!(out.contains("[netns] selective repeat p=0.05 vs p=0"), "{out}");
    // The same echo processes in tokio, as the servers run: a round trip of their own.
    let tokio_line = out
        .lines()
        .find(|l| l.contains("the echo processes in the servers' runtime"))
        .unwrap_or_else(|| panic!("no tokio echo reference:\n{out}"));
    let rtt: f64 = tokio_line
        .split("RTT ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no tokio echo round trip:\n{out}"));
    assert!(rtt > 0.0, "{out}");
    common::assert_floor_pairs(&out, "netns", 2, "process-per-receiver (p2mp echo)");
}

/// Where uftp is installed (`cargo xtask test` installs it as root), the bench runs it to the
/// same receivers, checks every copy it delivered, and sets selective repeat's whole command
/// against uftp's, by unicast and by multicast.
#[test]
fn netns_bench_runs_uftp_to_the_same_receivers() {
    if let Err(e) = TestNet::create(1) {
        eprintln!("skipped: {e}");
        return;
    }
    let on_path = |p: &str| {
        std::env::var_os("PATH").is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(p).is_file()))
    };
    if !on_path("uftp") || !on_path("uftpd") {
        eprintln!("skipped: uftp and uftpd are not both on PATH (Debian package uftp)");
        return;
    }
    let out = run_bench(&["--size", "200000", "--ns", "3", "--losses", "0", "--window", "16"]);
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("uftp ")).collect();
    assert_eq!(rows.len(), 1, "one uftp row expected:\n{out}");
    // mode network p n time wall goodput retrans timeouts datagrams copies ok: the copies are
    // compared with the input before the row is printed.
    assert!(rows[0].contains(" netns ") && rows[0].ends_with("3/3 ok"), "{out}");
    let uftp_wall = col(rows[0], 5, &out);
    assert!(uftp_wall > 0.0, "{out}");
    for (label, mode) in [("unicast", "selective-repeat"), ("multicast", "sr-multicast")] {
        let row = out.lines().find(|l| l.starts_with(&format!("{mode} "))).unwrap_or_else(|| panic!("{out}"));
        let wall = col(row, 5, &out);
        let verdict = format!(
            "[netns] selective repeat ({label}) p=0 n=3 vs uftp wall time, whole command start to exit: \
             p2mpclient {wall:.3} s vs uftp {uftp_wall:.3} s"
        );
        assert!(out.contains(&verdict), "{verdict}\n{out}");
    }
}
