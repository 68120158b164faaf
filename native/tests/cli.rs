//! Tests of the `p2mpserver` and `p2mpclient` binaries: printouts, exit statuses, JSON.

mod common;

use p2mp_core::{Dialect, Packet};
use p2mp_native::loopback::{files_equal, write_random_file};
use std::fs::File;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const SERVER: &str = env!("CARGO_BIN_EXE_p2mpserver");
const CLIENT: &str = env!("CARGO_BIN_EXE_p2mpclient");
const LIMIT: Duration = Duration::from_secs(60);

struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// A child whose output goes to files in `dir` (no pipe can fill up), killed if it outlives
/// the limit.
struct Proc {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

fn spawn(exe: &str, args: &[&str], dir: &Path, tag: &str) -> Proc {
    let out = dir.join(format!("{tag}.stdout"));
    let err = dir.join(format!("{tag}.stderr"));
    let child = Command::new(exe)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap())
        .spawn()
        .unwrap();
    Proc { child, out, err }
}

impl Proc {
    fn wait(mut self) -> Run {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if start.elapsed() > LIMIT {
                let _ = self.child.kill();
                panic!("process did not finish within {LIMIT:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Run {
            status,
            stdout: std::fs::read_to_string(&self.out).unwrap(),
            stderr: std::fs::read_to_string(&self.err).unwrap(),
        }
    }

    /// Waits until the server has bound its socket (it says so on stderr).
    fn wait_listening(&mut self) {
        let start = Instant::now();
        while !std::fs::read_to_string(&self.err).unwrap_or_default().contains("listening on") {
            if let Some(s) = self.child.try_wait().unwrap() {
                panic!(
                    "server exited early ({s}): {}",
                    std::fs::read_to_string(&self.err).unwrap_or_default()
                );
            }
            assert!(start.elapsed() < LIMIT, "server never started listening");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // Never leave a node running after a failed assertion.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(exe: &str, args: &[&str], dir: &Path) -> Run {
    spawn(exe, args, dir, "run").wait()
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn exact_loss_and_timeout_lines() {
    let dir = tempfile::tempdir().unwrap();
    write_random_file(&dir.path().join("in.bin"), 20_001, 1).unwrap();
    let port = free_port().to_string();
    let mut server = spawn(
        SERVER,
        &[&port, "out.bin", "0.2", "--bind", "127.0.0.1", "--seed", "1", "--linger", "0.3"],
        dir.path(),
        "server",
    );
    server.wait_listening();
    let client = run(CLIENT, &["127.0.0.1", &port, "in.bin", "500", "--timeout", "0.03"], dir.path());
    let server = server.wait();
    assert!(client.status.success(), "{}", client.stderr);
    assert!(server.status.success(), "{}", server.stderr);
    assert!(files_equal(&dir.path().join("in.bin"), &dir.path().join("out.bin")).unwrap());
    let losses: Vec<&str> = server.stdout.lines().filter(|l| l.starts_with("Packet loss")).collect();
    assert!(!losses.is_empty(), "{}", server.stdout);
    for l in &losses {
        let x = l.strip_prefix("Packet loss, sequence number = ").unwrap();
        assert!(x.parse::<u32>().is_ok(), "{l:?}");
    }
    let timeouts: Vec<&str> = client.stdout.lines().filter(|l| l.starts_with("Timeout")).collect();
    assert!(!timeouts.is_empty(), "{}", client.stdout);
    for l in &timeouts {
        let y = l.strip_prefix("Timeout, sequence number = ").unwrap();
        assert!(y.parse::<u32>().is_ok(), "{l:?}");
    }
    assert!(client.stdout.contains("Total delay:"));
    assert!(client.stdout.contains("finished"));
}

#[test]
fn json_summaries_parse_and_failed_receiver_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    write_random_file(&dir.path().join("in.bin"), 30_000, 2).unwrap();
    let port = free_port().to_string();
    let dead = format!("127.0.0.1:{}", free_port());
    let mut server = spawn(
        SERVER,
        &[&port, "out.bin", "0.1", "--bind", "127.0.0.1", "--seed", "3", "--linger", "0.3", "--json"],
        dir.path(),
        "server",
    );
    server.wait_listening();
    let client = run(
        CLIENT,
        &[
            "127.0.0.1",
            &dead,
            &port,
            "in.bin",
            "1000",
            "--wire",
            "binary",
            "--timeout",
            "0.03",
            "--max-timeouts",
            "4",
            "--json",
        ],
        dir.path(),
    );
    let server = server.wait();
    assert_eq!(client.status.code(), Some(1), "{}", client.stderr);
    assert!(client.stderr.contains("1 of 2 receivers failed"), "{}", client.stderr);
    let c: serde_json::Value = serde_json::from_str(client.stdout.trim()).unwrap();
    assert_eq!(c["bytes"], 30_000);
    assert_eq!(c["segments"], 30);
    assert_eq!(c["receivers"][0]["outcome"], "finished");
    assert_eq!(c["receivers"][1]["outcome"], "failed");
    assert!(c["delay_micros"].as_u64().unwrap() > 0);
    // Timeout lines go to stderr with --json, so stdout is only the JSON.
    assert!(client.stderr.contains("Timeout, sequence number = "));
    assert!(server.status.success(), "{}", server.stderr);
    let s: serde_json::Value = serde_json::from_str(server.stdout.trim()).unwrap();
    assert_eq!(s["bytes"], 30_000);
    assert_eq!(s["seed"], 3);
    assert!(files_equal(&dir.path().join("in.bin"), &dir.path().join("out.bin")).unwrap());
}

/// The server gives up on a sender that goes silent: non-zero exit, one-line error, and neither
/// the target nor a partial file is left behind.
#[test]
fn aborted_transfer_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let port_s = port.to_string();
    let mut server = spawn(
        SERVER,
        &[&port_s, "out.bin", "0", "--bind", "127.0.0.1", "--idle-timeout", "0.3"],
        dir.path(),
        "server",
    );
    server.wait_listening();
    let mut dgram = Vec::new();
    Dialect::Binary.emit(&Packet::Data { seq: 0, payload: b"half a file" }, &mut dgram).unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.send_to(&dgram, ("127.0.0.1", port)).unwrap();
    let server = server.wait();
    assert_eq!(server.status.code(), Some(1), "{}", server.stderr);
    let err: Vec<&str> = server.stderr.lines().filter(|l| !l.contains("listening on")).collect();
    assert_eq!(err.len(), 1, "{}", server.stderr);
    assert!(err[0].contains("aborted"), "{}", err[0]);
    assert!(!dir.path().join("out.bin").exists());
    assert!(common::partial_files(dir.path()).is_empty());
}

fn assert_bad_input(exe: &str, args: &[&str], dir: &Path, needle: &str) {
    let r = run(exe, args, dir);
    assert_eq!(r.status.code(), Some(2), "{args:?}: {}{}", r.stdout, r.stderr);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?}: not one line: {:?}", r.stderr);
    assert!(lines[0].contains("error"), "{args:?}: {}", lines[0]);
    assert!(
        lines[0].to_lowercase().contains(&needle.to_lowercase()),
        "{args:?}: {:?} lacks {needle:?}",
        lines[0]
    );
    assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
}

#[test]
fn client_bad_input_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("f.bin"), b"hello").unwrap();
    std::fs::create_dir(d.join("adir")).unwrap();
    let big = File::create(d.join("big.bin")).unwrap();
    // Sparse: takes no disk space.
    big.set_len((1u64 << 32) + 10).unwrap();
    drop(big);
    let c = CLIENT;
    assert_bad_input(c, &["127.0.0.1", "7735", "missing.bin", "500"], d, "missing.bin");
    assert_bad_input(c, &["127.0.0.1", "7735", "adir", "500"], d, "not a regular file");
    assert_bad_input(c, &["127.0.0.1", "0", "f.bin", "500"], d, "port");
    assert_bad_input(c, &["127.0.0.1", "70000", "f.bin", "500"], d, "port");
    assert_bad_input(c, &["127.0.0.1:0", "7735", "f.bin", "500"], d, "port");
    assert_bad_input(c, &["127.0.0.1", "7735", "f.bin", "0"], d, "MSS");
    assert_bad_input(c, &["127.0.0.1", "7735", "f.bin", "70000"], d, "MSS");
    assert_bad_input(c, &["127.0.0.1", "7735", "f.bin", "abc"], d, "MSS");
    assert_bad_input(c, &["no-such-host.invalid", "7735", "f.bin", "500"], d, "no-such-host.invalid");
    assert_bad_input(c, &["7735", "f.bin", "500"], d, "at least 4");
    assert_bad_input(c, &["127.0.0.1", "7735", "big.bin", "500", "--wire", "text"], d, "too large");
    assert_bad_input(c, &["127.0.0.1", "7735", "f.bin", "500", "--bind", "nonsense"], d, "bind address");
    // Negative numbers are values, not options: the client's own one-line error, not clap's usage.
    assert_bad_input(c, &["127.0.0.1", "-1", "f.bin", "500"], d, "port");
    assert_bad_input(c, &["127.0.0.1", "7735", "f.bin", "-5"], d, "MSS");
    // One byte over the largest MSS whose DATA still fits in a 65507-byte UDP datagram.
    let over_binary = (Dialect::Binary.max_mss() + 1).to_string();
    let over_text = (Dialect::Text.max_mss() + 1).to_string();
    assert_bad_input(c, &["127.0.0.1", "7735", "f.bin", &over_binary], d, "MSS");
    assert_bad_input(c, &["127.0.0.1", "7735", "f.bin", &over_text, "--wire", "text"], d, "MSS");
    // Clap's own usage errors may span lines, but they still exit 2.
    assert_usage_error(c, &["127.0.0.1", "7735", "f.bin", "500", "--no-such-option"], d);
    assert_usage_error(c, &["127.0.0.1", "7735", "f.bin", "500", "--timeout", "-1"], d);
    assert_usage_error(c, &[], d);
}

/// The largest MSS of each dialect passes the client's validation (checked directly: sending
/// it would need a system that carries 65507-byte datagrams), and one byte more does not.
#[test]
fn largest_mss_passes_validation() {
    use clap::Parser;
    use p2mp_native::cli::client::{split_positionals, ClientArgs};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.bin");
    std::fs::write(&file, b"hello").unwrap();
    let file = file.to_str().unwrap();
    // Binary: an 8-byte header; text: 16 + 3 + 16 + 3 + 32 digits and separators, then `###`.
    for (wire, dialect, max) in [("binary", Dialect::Binary, 65_499), ("text", Dialect::Text, 65_434)] {
        assert_eq!(dialect.max_mss(), max, "{wire}");
        assert_eq!(dialect.header_len() + max, 65_507, "{wire}");
        for (mss, valid) in [(max, true), (max + 1, false)] {
            let mss = mss.to_string();
            let args =
                ClientArgs::try_parse_from(["p2mpclient", "127.0.0.1", "7735", file, &mss, "--wire", wire])
                    .unwrap();
            let pos = split_positionals(&args.args).unwrap();
            let r = args.sender_config(&pos);
            assert_eq!(r.is_ok(), valid, "{wire} MSS {mss}: {r:?}");
        }
    }
}

fn assert_usage_error(exe: &str, args: &[&str], dir: &Path) {
    let r = run(exe, args, dir);
    assert_eq!(r.status.code(), Some(2), "{args:?}: {}{}", r.stdout, r.stderr);
    assert!(r.stderr.starts_with("error:"), "{args:?}: {:?}", r.stderr);
    assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
}

#[test]
fn server_bad_input_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = SERVER;
    let port = free_port().to_string();
    assert_bad_input(s, &["0", "out.bin", "0.1"], d, "port");
    assert_bad_input(s, &["65536", "out.bin", "0.1"], d, "port");
    assert_bad_input(s, &[&port, "out.bin", "1"], d, "probability");
    assert_bad_input(s, &[&port, "out.bin", "-0.1"], d, "probability");
    assert_bad_input(s, &[&port, "out.bin", "lots"], d, "probability");
    assert_bad_input(s, &[&port, "out.bin", "0.1", "--bind", "300.1.1.1"], d, "bind");
    assert_bad_input(s, &[&port, "no/such/dir/out.bin", "0.1", "--bind", "127.0.0.1"], d, "out.bin");
    assert_bad_input(s, &["-1", "out.bin", "0.1"], d, "port");
    std::fs::create_dir(d.join("adir")).unwrap();
    assert_bad_input(s, &[&port, "adir", "0.1", "--bind", "127.0.0.1"], d, "is a directory");
    assert_usage_error(s, &[&port, "out.bin"], d);
    assert_usage_error(s, &[&port, "out.bin", "0.1", "--no-such-option"], d);
    assert!(common::partial_files(d).is_empty());
}

#[test]
fn help_explains_options() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(CLIENT, &["--help"], dir.path());
    assert!(r.status.success());
    for opt in ["--wire", "--timeout", "--rto", "--max-timeouts", "--bind", "--json", "--quiet"] {
        assert!(r.stdout.contains(opt), "client help lacks {opt}");
    }
    let r = run(SERVER, &["--help"], dir.path());
    assert!(r.status.success());
    for opt in ["--bind", "--wire", "--seed", "--linger", "--idle-timeout", "--json", "--trace-file"] {
        assert!(r.stdout.contains(opt), "server help lacks {opt}");
    }
}
