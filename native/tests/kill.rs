//! Real process kills: a `p2mpserver` and a `p2mpclient` process SIGKILLed mid-transfer. A
//! killed server cannot delete its temporary file; the next server started on that target
//! removes it (its writer is gone), never one a running server is writing.
#![cfg(unix)]

mod common;

use common::procs::{read_log, spawn_logged, wait_listening, wait_until, Children};
use common::{free_port, ip, LIMIT};
use p2mp_native::loopback::{files_equal, write_random_file};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const SERVER: &str = env!("CARGO_BIN_EXE_p2mpserver");
const CLIENT: &str = env!("CARGO_BIN_EXE_p2mpclient");

/// 1 MB in 1,000 segments; with each reply held 1 ms a transfer takes over a second, and the
/// server's 256 KiB write buffer first reaches the disk about a quarter of the way in.
const SIZE: u64 = 1_000_000;

/// A server on `ip:port` writing `out` (relative to `dir`), logging to `log`.
fn server(ip: Ipv4Addr, port: u16, out: &str, dir: &Path, log: &Path, idle: &str) -> Child {
    let mut cmd = Command::new(SERVER);
    let (ip, port) = (ip.to_string(), port.to_string());
    cmd.args([&port, out, "0", "--bind", &ip, "--linger", "0.3", "--idle-timeout", idle, "--delay", "1ms"])
        .current_dir(dir);
    spawn_logged(cmd, log)
}

fn client(targets: &[String], port: u16, dir: &Path, log: &Path) -> Child {
    let mut cmd = Command::new(CLIENT);
    cmd.args(targets)
        .args([&port.to_string(), "in.bin", "1000", "--timeout", "0.05", "--max-timeouts", "8", "--json"])
        .current_dir(dir);
    spawn_logged(cmd, log)
}

/// The temporary files of `target` in `dir`, with their sizes.
fn partials_of(dir: &Path, target: &str) -> Vec<(PathBuf, u64)> {
    let prefix = format!(".{target}.p2mp-partial-");
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| (e.path(), e.metadata().map_or(0, |m| m.len())))
        .collect();
    v.sort();
    v
}

/// Every name in `dir` that looks like a partial output.
fn all_partials(dir: &Path) -> Vec<String> {
    common::partial_files(dir)
}

/// Waits until part of the file has reached `writer`'s temporary file of `target` (the
/// transfer is under way) and returns that file; panics if `sender` ends first.
fn wait_for_bytes_on_disk(dir: &Path, target: &str, writer: u32, sender: &mut Child) -> PathBuf {
    let deadline = Instant::now() + LIMIT;
    let mine = format!("p2mp-partial-{writer}-");
    loop {
        if let Some((p, _)) = partials_of(dir, target)
            .into_iter()
            .find(|(p, len)| *len > 0 && p.to_string_lossy().contains(&mine))
        {
            return p;
        }
        assert!(sender.try_wait().unwrap().is_none(), "the transfer ended before the kill");
        assert!(Instant::now() < deadline, "no bytes reached the disk");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_sigkilled_server_is_failed_and_its_leftover_is_removed_when_it_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = d.join("in.bin");
    write_random_file(&input, SIZE, 21).unwrap();
    let (victim, good, bystander) = (ip(211), ip(212), ip(213));
    let (victim_port, good_port, bystander_port) = (free_port(victim), free_port(good), free_port(bystander));
    let victim_log = d.join("victim.log");
    let good_log = d.join("good.log");
    let bystander_log = d.join("bystander.log");
    // A running server writing the same target: no sweep may touch its temporary file.
    let mut procs = Children(vec![server(bystander, bystander_port, "victim.bin", d, &bystander_log, "60")]);
    wait_listening(&mut procs.0[0], &bystander_log);
    let bystander_pid = procs.0[0].id();
    let bystander_file = partials_of(d, "victim.bin");
    assert_eq!(bystander_file.len(), 1);
    procs.0.push(server(victim, victim_port, "victim.bin", d, &victim_log, "60"));
    procs.0.push(server(good, good_port, "good.bin", d, &good_log, "60"));
    wait_listening(&mut procs.0[1], &victim_log);
    wait_listening(&mut procs.0[2], &good_log);
    let victim_pid = procs.0[1].id();

    let targets = [format!("{victim}:{victim_port}"), format!("{good}:{good_port}")];
    let client_log = d.join("client.log");
    procs.0.push(client(&targets, good_port, d, &client_log));
    let stale = wait_for_bytes_on_disk(d, "victim.bin", victim_pid, &mut procs.0[3]);
    procs.0[1].kill().unwrap(); // SIGKILL: no destructor runs
    let killed = procs.0[1].wait().unwrap();
    assert_eq!(killed.code(), None, "killed by a signal");

    let deadline = Instant::now() + LIMIT;
    let client_status = wait_until(&mut procs.0[3], deadline, "client");
    let good_status = wait_until(&mut procs.0[2], deadline, "good server");
    // The client: the killed receiver failed, the other finished byte-identical; exit 1.
    assert_eq!(client_status.code(), Some(1), "{}", read_log(&client_log));
    let json: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&client_log).unwrap().trim()).unwrap();
    assert_eq!(json["receivers"][0]["outcome"], "failed", "{json}");
    assert_eq!(json["receivers"][1]["outcome"], "finished", "{json}");
    let acked = json["receivers"][0]["acked"].as_u64().unwrap();
    assert!(acked > 0 && acked < SIZE / 1000, "killed mid-transfer: {acked} segments acknowledged");
    assert!(good_status.success(), "{}", read_log(&good_log));
    assert!(files_equal(&input, &d.join("good.bin")).unwrap());
    // Nothing at the target looks complete: no target, only the hidden temporary file the kill
    // left behind, shorter than the input.
    assert!(!d.join("victim.bin").exists());
    let left = std::fs::metadata(&stale).expect("SIGKILL leaves the temporary file").len();
    assert!(left > 0 && left < SIZE, "{left}");
    assert!(stale.file_name().unwrap().to_string_lossy().starts_with('.'));
    // A leftover of another target, from the same dead process: not this target's to remove.
    let other = d.join(format!(".other.bin.p2mp-partial-{victim_pid}-0"));
    std::fs::write(&other, b"x").unwrap();

    // Restarted on the same address and target: it removes the dead server's leftover (and
    // says so), keeps the running bystander's, and serves a fresh transfer.
    let restart_log = d.join("restart.log");
    procs.0[1] = server(victim, victim_port, "victim.bin", d, &restart_log, "60");
    wait_listening(&mut procs.0[1], &restart_log);
    let said = read_log(&restart_log);
    let name = stale.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        said.contains(&format!("{name}, a partial file left by process {victim_pid}, which is gone")),
        "{said}"
    );
    assert!(!stale.exists(), "the dead server's leftover is removed");
    assert!(other.exists(), "another target's leftover is left alone");
    let now: Vec<_> = partials_of(d, "victim.bin").into_iter().map(|(p, _)| p).collect();
    assert_eq!(now.len(), 2, "the bystander's and the restarted server's: {now:?}");
    assert!(now.contains(&bystander_file[0].0), "a running server's file is never removed");

    let again_log = d.join("again.log");
    procs.0[3] = client(&targets[..1], victim_port, d, &again_log);
    let again = wait_until(&mut procs.0[3], Instant::now() + LIMIT, "second client");
    assert!(again.success(), "{}", read_log(&again_log));
    let restarted = wait_until(&mut procs.0[1], Instant::now() + LIMIT, "restarted server");
    assert!(restarted.success(), "{}", read_log(&restart_log));
    assert!(files_equal(&input, &d.join("victim.bin")).unwrap());

    // The bystander, interrupted, deletes its own temporary file.
    // SAFETY: kill sends SIGINT to our own child, which has not been waited for.
    assert_eq!(unsafe { libc::kill(bystander_pid as libc::pid_t, libc::SIGINT) }, 0);
    let status = wait_until(&mut procs.0[0], Instant::now() + LIMIT, "bystander");
    assert_eq!(status.code(), Some(1), "{}", read_log(&bystander_log));
    // Left: only the other target's leftover (the restarted server's file became the target).
    assert_eq!(all_partials(d), vec![format!(".other.bin.p2mp-partial-{victim_pid}-0")]);
}

#[test]
fn a_sigkilled_client_makes_the_server_give_up_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_random_file(&d.join("in.bin"), SIZE, 22).unwrap();
    let addr = ip(214);
    let port = free_port(addr);
    let server_log = d.join("server.log");
    let mut procs = Children(vec![server(addr, port, "out.bin", d, &server_log, "0.5")]);
    wait_listening(&mut procs.0[0], &server_log);
    let server_pid = procs.0[0].id();
    let client_log = d.join("client.log");
    procs.0.push(client(&[format!("{addr}:{port}")], port, d, &client_log));
    wait_for_bytes_on_disk(d, "out.bin", server_pid, &mut procs.0[1]);
    procs.0[1].kill().unwrap();
    procs.0[1].wait().unwrap();

    let status = wait_until(&mut procs.0[0], Instant::now() + LIMIT, "server");
    let said = read_log(&server_log);
    assert_eq!(status.code(), Some(1), "{said}");
    assert!(said.contains("transfer aborted: the sender went silent"), "{said}");
    assert!(!d.join("out.bin").exists(), "an abandoned transfer must not leave its target");
    assert!(all_partials(d).is_empty(), "{:?}", all_partials(d));
}
