//! `p2mp demo` in its serving mode, as a user runs it: the live view on an ephemeral port with
//! a given `--dist` (so nothing is built), a first transfer watched by a WebSocket viewer, then
//! more on request, by `POST /api/again` and by `p2mp demo --again`: 202 when idle, 409 while a
//! transfer runs. Every wait is bounded; the demo process is killed on drop.

use futures_util::StreamExt;
use p2mp_core::trace::TraceLine;
use p2mp_core::{EventKind, TraceEvent};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

const P2MP: &str = env!("CARGO_BIN_EXE_p2mp");
/// Bound of each wait (generous: the machine is shared).
const STEP: Duration = Duration::from_secs(60);
/// Bound of the whole test.
const WHOLE: Duration = Duration::from_secs(240);
/// Receivers of each transfer.
const N: usize = 2;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A child process killed (and reaped) on drop, so that a failing test leaves nothing running.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The demo's stdout, line by line, with everything read so far for failure messages.
struct Stdout {
    rx: mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
}

impl Stdout {
    /// Waits (bounded) for the next line that `want` accepts.
    async fn until(&mut self, what: &str, want: impl Fn(&str) -> bool) -> String {
        let found = tokio::time::timeout(STEP, async {
            while let Some(line) = self.rx.recv().await {
                self.seen.push(line.clone());
                if want(&line) {
                    return Some(line);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(line)) => line,
            Ok(None) => panic!("the demo exited before printing {what}:\n{}", self.seen.join("\n")),
            Err(_) => panic!("no {what} within {STEP:?}:\n{}", self.seen.join("\n")),
        }
    }
}

/// Reads the viewer (bounded) up to the client's next `transfer_end`; returns the receivers
/// of each `transfer_start` seen on the way and whether a header line came first.
async fn next_transfer(viewer: &mut Ws) -> (Vec<Vec<String>>, bool) {
    let mut starts = Vec::new();
    let mut header_first = None;
    let read = async {
        while let Some(m) = viewer.next().await {
            let Ok(Message::Text(t)) = m else { panic!("the viewer's connection ended: {m:?}") };
            for l in t.as_str().split('\n') {
                match serde_json::from_str::<TraceLine>(l).expect("viewers get valid lines") {
                    TraceLine::Header(_) => {
                        header_first.get_or_insert(true);
                    }
                    TraceLine::Event(TraceEvent {
                        kind: EventKind::TransferStart { receivers, .. }, ..
                    }) => {
                        header_first.get_or_insert(false);
                        starts.push(receivers);
                    }
                    TraceLine::Event(TraceEvent { kind: EventKind::TransferEnd { .. }, .. }) => return,
                    TraceLine::Event(_) => {}
                }
            }
        }
        panic!("the viewer's connection ended");
    };
    tokio::time::timeout(STEP, read).await.expect("the viewer sees the transfer end in time");
    (starts, header_first == Some(true))
}

/// `POST /api/again` on `host`; returns the status and the whole response.
async fn post_again(host: &str) -> (u16, String) {
    let exchange = async {
        let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
        let req = format!("POST /api/again HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).await.unwrap();
        String::from_utf8_lossy(&resp).into_owned()
    };
    let text = tokio::time::timeout(STEP, exchange).await.expect("the hub answers in time");
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

/// `GET /` on `host`; returns the status and the body.
async fn get_page(host: &str) -> (u16, String) {
    let exchange = async {
        let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
        let req = format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).await.unwrap();
        String::from_utf8_lossy(&resp).into_owned()
    };
    let text = tokio::time::timeout(STEP, exchange).await.expect("the page comes in time");
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

/// Runs `p2mp demo --again` against the demo on `port` (bounded); returns success, stdout and
/// stderr.
async fn demo_again(port: u16) -> (bool, String, String) {
    let mut child = KillOnDrop(
        Command::new(P2MP)
            .args(["demo", "--again", "--ui-port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let status = tokio::time::timeout(STEP, async {
        loop {
            if let Some(s) = child.0.try_wait().unwrap() {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("p2mp demo --again ends in time");
    let (mut out, mut err) = (String::new(), String::new());
    use std::io::Read;
    child.0.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    child.0.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    (status.success(), out, err)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serves_transfers_on_request_and_refuses_while_one_runs() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    std::fs::create_dir(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<!doctype html><title>demo-serve test page</title>\n").unwrap();
    let udp_port = free_udp_port().to_string();
    let mut demo = KillOnDrop(
        Command::new(P2MP)
            .args(["demo", "--n", "2", "--port", &udp_port, "--p", "0.05", "--size", "20000"])
            .args(["--timeout", "0.05", "--seed", "7", "--quiet", "--ui-port", "0", "--dist"])
            .arg(&dist)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Keep reading its stdout to the end: a closed pipe would end it at its next line.
    let (tx, rx) = mpsc::unbounded_channel();
    let pipe = demo.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut stdout = Stdout { rx, seen: Vec::new() };

    let scenario = async {
        let opened = stdout.until("the live view's URL", |l| l.starts_with("Live view: open ")).await;
        let url = opened.split_whitespace().nth(3).unwrap().to_string();
        let host = url.trim_start_matches("http://").trim_end_matches('/').to_string();
        assert!(host.starts_with("127.0.0.1:"), "{opened}");
        let ui_port: u16 = host.rsplit(':').next().unwrap().parse().unwrap();
        assert_ne!(ui_port, 0, "{opened}");
        assert!(
            !stdout.seen.iter().any(|l| l.contains("Building the web app")),
            "--dist is used as is: {:#?}",
            stdout.seen
        );
        let (status, body) = get_page(&host).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("demo-serve test page"), "the page comes from --dist: {body}");

        // The first transfer (started by the demo itself; a viewer that joins late gets it
        // replayed from the start).
        let (mut viewer, _) =
            tokio::time::timeout(STEP, tokio_tungstenite::connect_async(format!("ws://{host}/ws/view")))
                .await
                .expect("connect in time")
                .expect("the viewer connects");
        let (starts, header_first) = next_transfer(&mut viewer).await;
        assert_eq!(starts.len(), 1, "one transfer_start: {starts:?}");
        assert_eq!(starts[0].len(), N, "{starts:?}");
        assert!(header_first, "a header line opens the transfer");
        stdout.until("the first \"Still serving\"", |l| l.starts_with("Still serving")).await;
        assert_eq!(stdout.seen.iter().filter(|l| *l == "Demo OK.").count(), 1, "{:#?}", stdout.seen);

        // Idle: POST /api/again starts a second transfer (202); right after, while it runs,
        // another request is refused (409).
        let (status, resp) = post_again(&host).await;
        assert_eq!(status, 202, "{resp}");
        let (status, resp) = post_again(&host).await;
        assert_eq!(status, 409, "{resp}");
        let (starts, header_first) = next_transfer(&mut viewer).await;
        assert_eq!(starts.len(), 1, "the second transfer_start: {starts:?}");
        assert_eq!(starts[0].len(), N, "{starts:?}");
        assert!(header_first, "a header line opens the second transfer");
        stdout.until("the second \"Still serving\"", |l| l.starts_with("Still serving")).await;
        assert_eq!(stdout.seen.iter().filter(|l| *l == "Demo OK.").count(), 2, "{:#?}", stdout.seen);

        // Idle again: `p2mp demo --again` starts a third; a second `--again` while it runs
        // fails with the hub's 409.
        let (ok, out, err) = demo_again(ui_port).await;
        assert!(ok, "{out}\n{err}");
        assert!(out.contains("starts another transfer"), "{out}");
        let (ok, out, err) = demo_again(ui_port).await;
        assert!(!ok, "refused while a transfer runs: {out}\n{err}");
        assert!(err.contains("answered 409"), "{out}\n{err}");
        let (starts, _) = next_transfer(&mut viewer).await;
        assert_eq!(starts.len(), 1, "the third transfer_start: {starts:?}");
        stdout.until("the third \"Still serving\"", |l| l.starts_with("Still serving")).await;
        assert_eq!(stdout.seen.iter().filter(|l| *l == "Demo OK.").count(), 3, "{:#?}", stdout.seen);
        assert!(!stdout.seen.iter().any(|l| l.contains("failed")), "{:#?}", stdout.seen);
    };
    tokio::time::timeout(WHOLE, scenario).await.expect("the whole scenario within its bound");

    // The demo serves until stopped: still running, then killed and reaped.
    assert!(demo.0.try_wait().unwrap().is_none(), "the demo keeps serving");
    demo.0.kill().unwrap();
    let status = demo.0.wait().unwrap();
    assert!(!status.success(), "killed: {status}");
}
