//! Interop with an independent receiver written in Python from the protocol brief
//! (`tests/peers/p2mp_receiver.py`), run as a subprocess. Skipped when python3 is absent.

use p2mp_native::loopback::{files_equal, write_random_file};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const CLIENT: &str = env!("CARGO_BIN_EXE_p2mpclient");
const LIMIT: Duration = Duration::from_secs(60);

fn python() -> Option<&'static str> {
    ["python3", "python"].into_iter().find(|exe| {
        Command::new(exe)
            .arg("-c")
            .arg("import sys; sys.exit(0 if sys.version_info[0] == 3 else 1)")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
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
    let Some(py) = python() else {
        eprintln!("SKIPPED: python3 is not installed; the interop test needs it");
        return;
    };
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
