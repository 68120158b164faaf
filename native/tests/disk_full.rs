//! Disk full mid-transfer, reproduced without filling a disk: a real `p2mpserver` runs under a
//! small file-size limit (RLIMIT_FSIZE) with SIGXFSZ ignored, so once its output passes the
//! limit a write fails with EFBIG, exactly as `write` fails with ENOSPC on a full disk.
#![cfg(unix)]

mod common;

use common::procs::{read_log, spawn_logged, wait_listening, wait_until, Children};
use common::{free_port, partial_files, LIMIT};
use p2mp_native::loopback::{files_equal, write_random_file};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};
use std::time::Instant;

const SERVER: &str = env!("CARGO_BIN_EXE_p2mpserver");
const CLIENT: &str = env!("CARGO_BIN_EXE_p2mpclient");

/// The MSS of every transfer here.
const MSS: u64 = 1_000;
/// The server buffers this much of the file before each write (`native/src/output.rs`).
const WRITE_BUFFER: u64 = 256 * 1024;

/// A server on 127.0.0.1:`port` writing `out`, logging to `log`; `fsize` limits the size of
/// any file it writes.
fn server(port: u16, out: &str, dir: &Path, log: &Path, fsize: Option<libc::rlim_t>) -> Child {
    let mut cmd = Command::new(SERVER);
    let port = port.to_string();
    cmd.args([&port, out, "0", "--bind", "127.0.0.1", "--linger", "0.3", "--idle-timeout", "10"])
        .current_dir(dir);
    if let Some(limit) = fsize {
        // SAFETY: between fork and exec only async-signal-safe calls (setrlimit, signal) are
        // made, on values owned by the closure. An ignored disposition survives exec, so the
        // write past the limit fails with EFBIG instead of killing the server.
        unsafe {
            cmd.pre_exec(move || {
                let lim = libc::rlimit { rlim_cur: limit, rlim_max: limit };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::signal(libc::SIGXFSZ, libc::SIG_IGN) == libc::SIG_ERR {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    spawn_logged(cmd, log)
}

/// Sends a `file`-byte file to a healthy server and to one whose files may not exceed
/// `limit` bytes, and checks everything that does not depend on where the write failed: the
/// victim exits 1 with one line and leaves nothing, the client exits 1 reporting it failed, the
/// other copy is byte-identical. Returns the client's JSON report of the victim.
fn transfer_past_a_size_limit(file: u64, limit: libc::rlim_t) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_random_file(&d.join("in.bin"), file, 11).unwrap();
    let (good_port, victim_port) =
        (free_port(std::net::Ipv4Addr::LOCALHOST), free_port(std::net::Ipv4Addr::LOCALHOST));
    let good_log = d.join("good.log");
    let victim_log = d.join("victim.log");
    let mut procs = Children(vec![
        server(good_port, "good.bin", d, &good_log, None),
        server(victim_port, "victim.bin", d, &victim_log, Some(limit)),
    ]);
    wait_listening(&mut procs.0[0], &good_log);
    wait_listening(&mut procs.0[1], &victim_log);

    // Bounded: a silent receiver is failed after 8 timeouts of 50 ms.
    let mut client = Command::new(CLIENT);
    let good = format!("127.0.0.1:{good_port}");
    let victim = format!("127.0.0.1:{victim_port}");
    let mss = MSS.to_string();
    let port = good_port.to_string();
    client
        .args([&good, &victim, &port, "in.bin", &mss, "--timeout", "0.05", "--max-timeouts", "8", "--json"])
        .current_dir(d);
    let client_log = d.join("client.log");
    procs.0.push(spawn_logged(client, &client_log));
    let deadline = Instant::now() + LIMIT;
    let client_status = wait_until(&mut procs.0[2], deadline, "client");
    let victim_status = wait_until(&mut procs.0[1], deadline, "victim server");
    let good_status = wait_until(&mut procs.0[0], deadline, "good server");

    // The victim: exit 1 and one line saying what failed, nothing left on disk.
    let victim_err = std::fs::read_to_string(victim_log.with_extension("err")).unwrap();
    assert_eq!(victim_status.code(), Some(1), "{}", read_log(&victim_log));
    let lines: Vec<&str> = victim_err.lines().filter(|l| !l.contains("listening on")).collect();
    assert_eq!(lines.len(), 1, "not one line: {victim_err:?}");
    assert!(lines[0].starts_with("p2mpserver: error: cannot write output file"), "{}", lines[0]);
    assert!(lines[0].contains("victim.bin") && lines[0].contains("abandoned"), "{}", lines[0]);
    assert!(!d.join("victim.bin").exists(), "a failed transfer must not leave its target");
    assert!(partial_files(d).is_empty(), "{:?}", partial_files(d));

    // The client: that receiver failed, the other finished; exit 1.
    assert_eq!(client_status.code(), Some(1), "{}", read_log(&client_log));
    let client_err = std::fs::read_to_string(client_log.with_extension("err")).unwrap();
    assert!(client_err.contains("1 of 2 receivers failed"), "{client_err}");
    let json: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&client_log).unwrap().trim()).unwrap();
    assert_eq!(json["receivers"][0]["outcome"], "finished", "{json}");
    assert_eq!(json["receivers"][1]["outcome"], "failed", "{json}");

    // The other receiver: a byte-identical copy.
    assert!(good_status.success(), "{}", read_log(&good_log));
    assert!(files_equal(&d.join("in.bin"), &d.join("good.bin")).unwrap());
    json["receivers"][1].clone()
}

/// The limit falls after the first buffer written and well before the end: the write fails
/// mid-transfer, the server stops answering, and the client fails it after the segments it
/// had acknowledged (more than the limit's worth: some of the file had reached the disk).
#[test]
fn a_write_failure_mid_transfer_stops_that_server_cleanly_and_the_others_finish() {
    let (file, limit) = (1_000_000, 300_000);
    assert!(WRITE_BUFFER < limit && limit + WRITE_BUFFER < file);
    let victim = transfer_past_a_size_limit(file, limit);
    let acked = victim["acked"].as_u64().unwrap();
    assert!(acked > limit / MSS && acked < file / MSS, "victim acked {acked} segments");
}

/// A file smaller than the write buffer reaches the disk only at the end of file: the write
/// fails then, and the server must not echo the FIN, or the client would count a receiver
/// that kept nothing as finished.
#[test]
fn a_write_failure_at_the_end_of_file_is_never_reported_finished() {
    let (file, limit) = (200_000, 100_000);
    assert!(file < WRITE_BUFFER);
    let victim = transfer_past_a_size_limit(file, limit);
    assert_eq!(victim["acked"].as_u64(), Some(file / MSS), "every segment was acknowledged: {victim}");
}
