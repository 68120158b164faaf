//! What the 16-bit checksum cannot see, between real `p2mpclient` and `p2mpserver` processes:
//! a hand-rolled UDP relay in the test rewrites one chosen datagram so that its checksum still
//! holds. A changed DATA payload is accepted (the protocol cannot tell) and caught by the
//! SHA-256 digests both sides print; a changed ACK sequence number misleads a go-back-n client
//! until that receiver's later ACKs contradict it, and the client resends what it lacks.

mod common;

use common::procs::{read_log, spawn_logged, wait_listening, wait_until, Children};
use common::{free_port, ip, LIMIT};
use p2mp_core::wire::internet_checksum;
use p2mp_core::{Dialect, Packet};
use p2mp_native::loopback::{files_equal, write_random_file};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const SERVER: &str = env!("CARGO_BIN_EXE_p2mpserver");
const CLIENT: &str = env!("CARGO_BIN_EXE_p2mpclient");

/// Decides what the relay forwards for each datagram: `down` is client to server. Returns the
/// datagrams to send on (none: dropped).
type Rule = Box<dyn FnMut(bool, &[u8]) -> Vec<Vec<u8>> + Send>;

/// A UDP relay between one client and one server that applies a [`Rule`].
struct Relay {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Relay {
    fn start(listen: Ipv4Addr, upstream: SocketAddr, rule: Rule) -> Relay {
        let client_side = UdpSocket::bind((listen, 0)).unwrap();
        let server_side = UdpSocket::bind((listen, 0)).unwrap();
        for s in [&client_side, &server_side] {
            s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        }
        let addr = client_side.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let rule = Arc::new(Mutex::new(rule));
        let client: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let (c2, s2) = (client_side.try_clone().unwrap(), server_side.try_clone().unwrap());
        let down = {
            let (stop, rule, client) = (stop.clone(), rule.clone(), client.clone());
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 65_536];
                while !stop.load(Ordering::Relaxed) {
                    let Ok((n, from)) = client_side.recv_from(&mut buf) else { continue };
                    *client.lock().unwrap() = Some(from);
                    for d in (rule.lock().unwrap())(true, &buf[..n]) {
                        let _ = server_side.send_to(&d, upstream);
                    }
                }
            })
        };
        let up = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 65_536];
                while !stop.load(Ordering::Relaxed) {
                    let Ok((n, from)) = s2.recv_from(&mut buf) else { continue };
                    let to = *client.lock().unwrap();
                    if let (true, Some(to)) = (from == upstream, to) {
                        for d in (rule.lock().unwrap())(false, &buf[..n]) {
                            let _ = c2.send_to(&d, to);
                        }
                    }
                }
            })
        };
        Relay { addr, stop, threads: vec![down, up] }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn server(addr: SocketAddr, out: &str, dir: &Path, log: &Path) -> Child {
    let mut cmd = Command::new(SERVER);
    let (ip, port) = (addr.ip().to_string(), addr.port().to_string());
    cmd.args([&port, out, "0", "--bind", &ip, "--linger", "0.3", "--idle-timeout", "2"]).current_dir(dir);
    spawn_logged(cmd, log)
}

/// The hex digest that follows `marker` in `text`.
fn digest_after(text: &str, marker: &str) -> String {
    let at = text.find(marker).unwrap_or_else(|| panic!("no `{marker}` in {text}")) + marker.len();
    text[at..].chars().take_while(char::is_ascii_hexdigit).collect()
}

/// Swaps the first two different, 16-bit-aligned words of a DATA payload: RFC 1071 adds the
/// words, and addition does not care about their order.
fn swap_two_words(payload: &mut [u8]) {
    let words = payload.len() / 2;
    for j in 1..words {
        if payload[2 * j..2 * j + 2] != payload[..2] {
            payload.swap(0, 2 * j);
            payload.swap(1, 2 * j + 1);
            return;
        }
    }
    panic!("no two different words");
}

const SEGMENT: u32 = 3;
const MSS: usize = 1000;

#[test]
fn a_payload_change_the_checksum_cannot_see_is_accepted_and_shown_by_the_digests() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = d.join("in.bin");
    write_random_file(&input, 20_000, 31).unwrap();
    let srv = SocketAddr::from((ip(221), free_port(ip(221))));
    let server_log = d.join("server.log");
    let mut procs = Children(vec![server(srv, "out.bin", d, &server_log)]);
    wait_listening(&mut procs.0[0], &server_log);

    // The first copy of DATA 3 gets two of its payload words swapped; everything else passes.
    // The datagram as sent and as rewritten.
    type Crafted = Option<(Vec<u8>, Vec<u8>)>;
    let crafted: Arc<Mutex<Crafted>> = Arc::default();
    let seen = crafted.clone();
    let rule: Rule = Box::new(move |down, datagram| {
        let mut out = datagram.to_vec();
        let mut seen = seen.lock().unwrap();
        if down && seen.is_none() {
            if let Ok(Packet::Data { seq: SEGMENT, .. }) = Dialect::Binary.parse(datagram) {
                swap_two_words(&mut out[8..]); // the binary header is 8 bytes
                *seen = Some((datagram.to_vec(), out.clone()));
            }
        }
        vec![out]
    });
    let relay = Relay::start(ip(222), srv, rule);

    let client_log = d.join("client.log");
    let mut cmd = Command::new(CLIENT);
    cmd.args([relay.addr.to_string(), srv.port().to_string(), "in.bin".into(), MSS.to_string()])
        .args(["--timeout", "0.2"])
        .current_dir(d);
    procs.0.push(spawn_logged(cmd, &client_log));
    let deadline = Instant::now() + LIMIT;
    let client_status = wait_until(&mut procs.0[1], deadline, "client");
    let server_status = wait_until(&mut procs.0[0], deadline, "server");
    drop(relay);

    // The rewritten datagram is well formed with a valid checksum: nothing on the wire can tell.
    let (original, changed) = crafted.lock().unwrap().clone().expect("DATA 3 went through the relay");
    assert_ne!(original, changed);
    assert_eq!(internet_checksum(&original[8..]), internet_checksum(&changed[8..]));
    assert!(Dialect::Binary.parse(&changed).is_ok());

    // Both sides think the transfer succeeded: exit 0, nothing rejected by the server...
    let client_says = read_log(&client_log);
    let server_says = read_log(&server_log);
    assert!(client_status.success(), "{client_says}");
    assert!(server_status.success(), "{server_says}");
    assert!(client_says.contains("The receiver finished."), "{client_says}");
    assert!(server_says.contains(" 0 rejected;"), "{server_says}");
    // ...but the copy differs, in segment 3 alone,
    let (a, b) = (std::fs::read(&input).unwrap(), std::fs::read(d.join("out.bin")).unwrap());
    assert_eq!(a.len(), b.len());
    let seg = SEGMENT as usize * MSS..(SEGMENT as usize + 1) * MSS;
    assert!(a[..seg.start] == b[..seg.start] && a[seg.end..] == b[seg.end..]);
    assert_ne!(a[seg.clone()], b[seg]);
    // and the digests the two print, which the user compares, disagree.
    let sent = digest_after(&client_says, "SHA-256 of the file sent: ");
    let written = digest_after(&server_says, "; SHA-256 ");
    assert_eq!(sent.len(), 64, "{client_says}");
    assert_eq!(written.len(), 64, "{server_says}");
    assert_ne!(sent, written, "the end-to-end digests must expose the damage");
}

#[test]
fn a_changed_ack_sequence_under_go_back_n_is_contradicted_and_that_receiver_still_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_random_file(&d.join("in.bin"), 30_000, 32).unwrap();
    let (victim, good) =
        (SocketAddr::from((ip(223), free_port(ip(223)))), SocketAddr::from((ip(224), free_port(ip(224)))));
    let (victim_log, good_log) = (d.join("victim.log"), d.join("good.log"));
    let mut procs =
        Children(vec![server(victim, "victim.bin", d, &victim_log), server(good, "good.bin", d, &good_log)]);
    wait_listening(&mut procs.0[0], &victim_log);
    wait_listening(&mut procs.0[1], &good_log);

    // The first copy of DATA 3 is lost, so the classic receiver repeats ACK 2 for DATA 4 on.
    // Its first repeat (DATA 4 has been sent, so 4 is a sequence number the client accepts) is
    // changed to ACK 4: the client believes 3 and 4 arrived. The repeats of ACK 2 that follow
    // contradict that, and it goes back to 3.
    let mut dropped = false;
    let mut acks_of_2 = 0;
    let rule: Rule = Box::new(move |down, datagram| {
        match Dialect::Binary.parse(datagram) {
            Ok(Packet::Data { seq: 3, .. }) if down && !dropped => {
                dropped = true;
                return Vec::new();
            }
            Ok(Packet::Ack { seq: 2 }) if !down => {
                acks_of_2 += 1;
                if acks_of_2 == 2 {
                    let mut lie = Vec::new();
                    let _ = Dialect::Binary.emit(&Packet::Ack { seq: 4 }, &mut lie);
                    return vec![lie];
                }
            }
            _ => {}
        }
        vec![datagram.to_vec()]
    });
    let relay = Relay::start(ip(225), victim, rule);

    let client_log = d.join("client.log");
    let mut cmd = Command::new(CLIENT);
    cmd.args([relay.addr.to_string(), good.to_string(), good.port().to_string(), "in.bin".into()])
        .args(["1000", "--mode", "go-back-n", "--window", "8", "--congestion", "fixed"])
        .args(["--timeout", "0.05", "--max-timeouts", "8", "--json"])
        .current_dir(d);
    procs.0.push(spawn_logged(cmd, &client_log));
    let deadline = Instant::now() + LIMIT;
    let client_status = wait_until(&mut procs.0[2], deadline, "client");
    let victim_status = wait_until(&mut procs.0[0], deadline, "victim server");
    let good_status = wait_until(&mut procs.0[1], deadline, "good server");
    drop(relay);

    // Both finished (exit 0), both copies byte-identical, the victim's after a resend of 3.
    assert!(client_status.success(), "{}", read_log(&client_log));
    let json: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&client_log).unwrap().trim()).unwrap();
    assert_eq!(json["receivers"][0]["outcome"], "finished", "{json}");
    assert_eq!(json["receivers"][1]["outcome"], "finished", "{json}");
    assert!(json["receivers"][0]["retransmissions"].as_u64().is_some_and(|n| n > 0), "{json}");
    assert!(good_status.success(), "{}", read_log(&good_log));
    assert!(victim_status.success(), "{}", read_log(&victim_log));
    assert!(files_equal(&d.join("in.bin"), &d.join("good.bin")).unwrap());
    assert!(files_equal(&d.join("in.bin"), &d.join("victim.bin")).unwrap());
    assert!(common::partial_files(d).is_empty(), "{:?}", common::partial_files(d));
}
