//! The live trace hub (`p2mp ui`) on loopback: viewers, backlog, ordering and remapping, slow
//! viewers, hostile publishers, token, Origin and limits; and streaming that never stalls a
//! transfer. Every wait is bounded.

use futures_util::{SinkExt, StreamExt};
use p2mp_core::trace::{TraceHeader, TraceLine, TraceSource};
use p2mp_core::view::TraceModel;
use p2mp_core::{Dialect, EventKind, Instant, Node, PacketKind, RtoPolicy, SenderConfig, TraceEvent};
use p2mp_native::hub::{Hub, HubConfig, HubHandle};
use p2mp_native::loopback::{
    files_equal, run_loopback_traced, write_random_file, LoopbackOutcome, LoopbackSpec,
};
use p2mp_native::publish::{PublishTarget, Publisher};
use p2mp_native::Console;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

const LIMIT: Duration = Duration::from_secs(60);

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn cfg() -> HubConfig {
    let mut c = HubConfig::new("127.0.0.1:0".parse().unwrap());
    c.quiet = true;
    c.hold = Duration::from_millis(100);
    c
}

async fn start(c: HubConfig) -> (HubHandle, SocketAddr, String) {
    let hub = Hub::bind(c, None).await.expect("bind hub");
    let addr = hub.local_addr();
    let publish = hub.publish_url();
    let (handle, _, _task) = hub.spawn();
    (handle, addr, publish)
}

async fn ws(url: &str, headers: &[(&str, &str)]) -> Result<Ws, WsError> {
    let mut req = url.into_client_request()?;
    for (k, v) in headers {
        req.headers_mut()
            .insert(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
    }
    tokio::time::timeout(Duration::from_secs(10), tokio_tungstenite::connect_async(req))
        .await
        .expect("connect in time")
        .map(|(w, _)| w)
}

fn status_of(e: &WsError) -> Option<u16> {
    match e {
        WsError::Http(resp) => Some(resp.status().as_u16()),
        _ => None,
    }
}

/// Reads lines until `done` accepts one (inclusive) or the connection ends.
async fn read_until(w: &mut Ws, done: impl Fn(&TraceLine) -> bool) -> Vec<TraceLine> {
    let mut out = Vec::new();
    let read = async {
        while let Some(m) = w.next().await {
            let Ok(Message::Text(t)) = m else { break };
            for l in t.as_str().split('\n') {
                let line: TraceLine = serde_json::from_str(l).expect("viewers get valid lines only");
                let stop = done(&line);
                out.push(line);
                if stop {
                    return;
                }
            }
        }
    };
    let _ = tokio::time::timeout(LIMIT, read).await;
    out
}

fn is_end(l: &TraceLine) -> bool {
    matches!(l, TraceLine::Event(TraceEvent { kind: EventKind::TransferEnd { .. }, .. }))
}

fn spec(n: usize, loss: f64, timeout_ms: u64) -> LoopbackSpec {
    LoopbackSpec {
        n,
        port: 0,
        loss,
        seed: 7,
        sender: SenderConfig {
            mss: 500,
            dialect: Dialect::Binary,
            policy: RtoPolicy::Fixed { timeout: Duration::from_millis(timeout_ms) },
            max_timeouts: 20,
            ..SenderConfig::default()
        },
        linger: Duration::from_millis(200),
        idle_timeout: Some(Duration::from_secs(20)),
    }
}

async fn transfer(
    dir: &Path,
    size: u64,
    spec: &LoopbackSpec,
    live: Option<&PublishTarget>,
) -> LoopbackOutcome {
    let input = dir.join("input.bin");
    write_random_file(&input, size, 3).unwrap();
    let out = tokio::time::timeout(
        LIMIT,
        run_loopback_traced(spec, &input, dir, |_, _| Console::quiet(), Console::quiet(), live),
    )
    .await
    .expect("transfer in time")
    .expect("transfer runs");
    for o in &out.outputs {
        assert!(files_equal(&input, o).unwrap(), "{} differs", o.display());
    }
    out
}

fn header_line(node: Node, addr: &str) -> String {
    serde_json::to_string(&TraceHeader::new(TraceSource::Native { node, addr: addr.into() })).unwrap()
}

fn event_line(e: &TraceEvent) -> String {
    serde_json::to_string(e).unwrap()
}

fn start_event(t: u64, receivers: Vec<String>) -> TraceEvent {
    TraceEvent::new(
        Instant::from_micros(t),
        Node::Client,
        EventKind::TransferStart {
            file_size: 1000,
            mss: 500,
            segments: 2,
            receivers,
            dialect: Dialect::Binary,
            policy: Box::new(RtoPolicy::Fixed { timeout: Duration::from_secs(1) }),
            max_timeouts: 5,
        },
    )
}

fn end_event(t: u64) -> TraceEvent {
    TraceEvent::new(
        Instant::from_micros(t),
        Node::Client,
        EventKind::TransferEnd { totals: Default::default() },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_joining_mid_transfer_gets_the_backlog_then_live_events_in_time_order() {
    // Causality below holds when every node's events reach the hub within the hold; a test
    // binary's parallel tests on a loaded 2-core machine can delay a publisher past 100 ms.
    let mut c = cfg();
    c.hold = Duration::from_millis(500);
    let (hub, addr, publish) = start(c).await;
    let view_url = format!("ws://{addr}/ws/view");
    let mut early = ws(&view_url, &[]).await.expect("viewer");
    let dir = tempfile::tempdir().unwrap();
    let live = PublishTarget::WebSocket(publish);
    let spec = spec(3, 0.15, 40);
    let run = {
        let dir = dir.path().to_path_buf();
        tokio::spawn(async move { transfer(&dir, 60_000, &spec, Some(&live)).await })
    };
    // Join once the hub has released part of the transfer.
    let joined = tokio::time::timeout(LIMIT, async {
        while hub.stats().released < 50 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(joined.is_ok(), "the hub released nothing");
    let mut late = ws(&view_url, &[]).await.expect("late viewer");
    let outcome = run.await.unwrap();
    assert!(!run_is_over_too_early(&outcome), "the transfer should be long enough to join mid-way");
    let a = read_until(&mut early, is_end).await;
    let b = read_until(&mut late, is_end).await;
    assert!(is_end(a.last().unwrap()) && is_end(b.last().unwrap()), "both viewers see the end");
    assert_eq!(a, b, "the late viewer gets the same stream: header, backlog, then live events");

    // Header first, then events in time order, servers on the client's receiver indices.
    assert!(
        matches!(&a[0], TraceLine::Header(h) if matches!(h.source, TraceSource::Native { node: Node::Client, .. }))
    );
    let events: Vec<&TraceEvent> = a[1..]
        .iter()
        .map(|l| match l {
            TraceLine::Event(e) => e,
            TraceLine::Header(_) => panic!("one transfer, one header"),
        })
        .collect();
    assert!(matches!(events[0].kind, EventKind::TransferStart { .. }));
    assert_eq!(events[0].t, Instant::ZERO, "the transfer starts at 0 on the client's clock");
    assert!(events.windows(2).all(|w| w[0].t <= w[1].t), "time order");
    let names: Vec<String> = outcome.addrs.iter().map(|a| a.to_string()).collect();
    match &events[0].kind {
        EventKind::TransferStart { receivers, .. } => assert_eq!(receivers, &names),
        _ => unreachable!(),
    }
    for i in 0..3u16 {
        let ev: Vec<&&TraceEvent> = events.iter().filter(|e| e.node == Node::Server(i)).collect();
        assert!(!ev.is_empty(), "server {i} published");
        assert!(ev.iter().all(|e| e.rx == Some(i)), "server {i}'s events carry its index");
    }
    // Causality: every DATA arrival at a server comes after the client sent it there.
    for (k, e) in events.iter().enumerate() {
        if let (Node::Server(i), EventKind::Arrive { packet: PacketKind::Data, .. }) = (e.node, &e.kind) {
            let sent = events[..k].iter().any(|s| {
                s.node == Node::Client
                    && s.rx == Some(i)
                    && s.seq == e.seq
                    && matches!(s.kind, EventKind::Send { .. })
            });
            assert!(sent, "arrival of {:?} at {i} before its send", e.seq);
        }
    }
    // The viewer's model sees the whole transfer: losses, retransmissions, everyone finished.
    let mut model = TraceModel::new();
    for e in events {
        model.push(e.clone());
    }
    let s = model.summary();
    assert!(s.loss_drops > 0 && s.retransmissions > 0, "{s:?}");
    assert!(s.end.is_some());
    assert_eq!(s.receivers.len(), 3);
    assert!(
        model
            .flights
            .iter()
            .filter(|f| f.from == Node::Client)
            .all(|f| f.fate != p2mp_core::view::Fate::InFlight),
        "every DATA is paired with its fate"
    );
}

fn run_is_over_too_early(o: &LoopbackOutcome) -> bool {
    o.client.all_finished() && o.servers.iter().any(|s| s.is_err())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_that_does_not_read_is_dropped_while_others_and_publishers_go_on() {
    let mut c = cfg();
    c.viewer_queue = 4;
    c.hold = Duration::from_millis(10);
    let (hub, addr, publish) = start(c).await;
    // The stuck viewer: a small receive buffer, a handshake, then never a read.
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let mut stuck = sock.connect(addr).await.unwrap();
    stuck
        .write_all(
            format!(
                "GET /ws/view HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut head = [0u8; 12];
    stuck.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 101");
    let mut good = ws(&format!("ws://{addr}/ws/view"), &[]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(hub.stats().viewers, 2);

    // A publisher floods: 120 transfers whose start events are 200 KB each (24 MB).
    let mut publisher = ws(&publish, &[]).await.unwrap();
    let big: Vec<String> = (0..200).map(|i| format!("10.0.{}.{}:{:0>990}", i / 250, i % 250, 7)).collect();
    let n = 120;
    let flood = async {
        publisher.send(Message::text(header_line(Node::Client, "127.0.0.1:1"))).await.unwrap();
        let started = std::time::Instant::now();
        for k in 0..n {
            let line = event_line(&start_event(1_000_000 + k, big.clone()));
            publisher.send(Message::text(line)).await.unwrap();
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
        started.elapsed()
    };
    let reader = async {
        let mut starts = 0;
        while starts < n {
            let Ok(Some(Ok(Message::Text(t)))) = tokio::time::timeout(LIMIT, good.next()).await else {
                break;
            };
            starts += t.as_str().split('\n').filter(|l| l.contains("transfer_start")).count() as u64;
        }
        starts
    };
    let (took, starts) = tokio::join!(flood, reader);
    assert_eq!(starts, n, "the reading viewer gets every transfer");
    assert!(took < Duration::from_secs(20), "the publisher was never held up ({took:?})");
    let dropped = tokio::time::timeout(LIMIT, async {
        while hub.stats().viewers > 1 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(dropped.is_ok(), "the stuck viewer is dropped");
    assert_eq!(hub.stats().viewers, 1, "the reading viewer stays");
    drop(stuck);
}

#[tokio::test]
async fn malformed_or_misplaced_lines_are_rejected_and_never_forwarded() {
    let (hub, addr, publish) = start(cfg()).await;
    let mut viewer = ws(&format!("ws://{addr}/ws/view"), &[]).await.unwrap();
    // An event before any header: rejected.
    let mut rogue = ws(&publish, &[]).await.unwrap();
    rogue.send(Message::text(event_line(&start_event(5, vec!["127.0.0.1:9".into()])))).await.unwrap();
    let mut p = ws(&publish, &[]).await.unwrap();
    let good = TraceEvent::new(Instant::from_micros(1_500), Node::Client, EventKind::SegmentComplete).seq(0);
    let other_node = TraceEvent::new(Instant::from_micros(1_600), Node::Server(0), EventKind::Duplicate);
    let msg = [
        header_line(Node::Client, "127.0.0.1:5000"),
        event_line(&start_event(1_000, vec!["127.0.0.1:9".into()])),
        "this is not json".into(),
        r#"{"t":1200,"node":"client","ev":"no_such_event"}"#.into(),
        r#"{"t":"soon","node":"client","ev":"segment_complete"}"#.into(),
        event_line(&good),
        event_line(&other_node),
        header_line(Node::Client, "127.0.0.1:5001"),
    ]
    .join("\n");
    p.send(Message::text(msg)).await.unwrap();
    p.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    p.send(Message::text(event_line(&end_event(2_000)))).await.unwrap();
    let lines = read_until(&mut viewer, is_end).await;
    let events: Vec<&TraceEvent> = lines
        .iter()
        .filter_map(|l| match l {
            TraceLine::Event(e) => Some(e),
            TraceLine::Header(_) => None,
        })
        .collect();
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert!(matches!(lines[0], TraceLine::Header(_)));
    assert!(matches!(events[0].kind, EventKind::TransferStart { .. }));
    assert_eq!(events[1].kind, EventKind::SegmentComplete);
    assert_eq!(events[1].t, Instant::from_micros(500), "rebased on the transfer's start");
    assert!(is_end(lines.last().unwrap()));
    // Each rejection is counted and kept with its reason, in the log's words (the hub is quiet
    // here: they are kept all the same). Six lines and the binary message; the rogue
    // publisher's connection races the other's, so wait for its count too.
    let counted = tokio::time::timeout(Duration::from_secs(10), async {
        while hub.stats().rejected < 7 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(counted.is_ok(), "{:?}", hub.stats());
    assert_eq!(hub.stats().rejected, 7, "{:#?}", hub.rejections());
    let notices = hub.rejections();
    assert_eq!(notices.len(), 7, "{notices:#?}");
    let from_p = "rejected a trace line from Client at 127.0.0.1:5000: ";
    let reasons: Vec<&str> = notices.iter().filter_map(|n| n.strip_prefix(from_p)).collect();
    assert_eq!(reasons.len(), 5, "{notices:#?}");
    for (i, line) in [3, 4, 5].into_iter().enumerate() {
        assert!(reasons[i].starts_with(&format!("line {line} does not parse: ")), "{notices:#?}");
    }
    // The parser's message follows (serde_json's words: not pinned beyond a hint).
    assert!(reasons[0].contains("column"), "{notices:#?}");
    assert!(reasons[1].contains("TraceLine") && reasons[2].contains("TraceLine"), "{notices:#?}");
    assert_eq!(reasons[3], "an event of Server(0) from a publisher of Client", "{notices:#?}");
    assert_eq!(reasons[4], "a second header line", "{notices:#?}");
    let rogue: Vec<&String> =
        notices.iter().filter(|n| n.starts_with("rejected a trace line from publisher 127.0.0.1:")).collect();
    assert_eq!(rogue.len(), 1, "{notices:#?}");
    assert!(rogue[0].ends_with(": an event before the header line"), "{notices:#?}");
    assert_eq!(
        notices
            .iter()
            .filter(|n| n.starts_with("rejected a binary message from publisher 127.0.0.1:")
                && n.ends_with(": traces are text"))
            .count(),
        1,
        "{notices:#?}"
    );
}

#[tokio::test]
async fn beyond_loopback_a_token_is_required_of_publishers_and_viewers() {
    // Refused without a token.
    let mut c = cfg();
    c.bind = "0.0.0.0:0".parse().unwrap();
    assert!(Hub::bind(c.clone(), None).await.is_err(), "0.0.0.0 needs --token");
    c.token = Some("s3cret-T0k".into());
    let hub = Hub::bind(c, None).await.expect("with a token");
    let port = hub.local_addr().port();
    assert!(hub.url().ends_with("?token=s3cret-T0k"));
    let (_h, _, _t) = hub.spawn();
    let base = format!("127.0.0.1:{port}");
    for path in ["/ws/view", "/ws/publish"] {
        let e = ws(&format!("ws://{base}{path}"), &[]).await.expect_err("no token");
        assert_eq!(status_of(&e), Some(401), "{path}: {e}");
        let e = ws(&format!("ws://{base}{path}?token=wrong"), &[]).await.expect_err("wrong token");
        assert_eq!(status_of(&e), Some(401), "{path}: {e}");
        ws(&format!("ws://{base}{path}?token=s3cret-T0k"), &[]).await.expect("right token");
    }
    // The page itself: 401 without the token; with it, a cookie that the page's own requests
    // (its WebSocket, POST /api/again) carry.
    let (status, head) = http(&base, "GET / HTTP/1.1", &[]).await;
    assert_eq!(status, 401, "{head}");
    let (status, head) = http(&base, "GET /?token=s3cret-T0k HTTP/1.1", &[]).await;
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("Set-Cookie: p2mp_token=s3cret-T0k; Path=/; HttpOnly; SameSite=Strict"), "{head}");
    ws(&format!("ws://{base}/ws/view"), &[("Cookie", "p2mp_token=s3cret-T0k")]).await.expect("cookie");
    // --require-token on loopback.
    let mut c = cfg();
    c.require_token = true;
    assert!(Hub::bind(c, None).await.is_err());
}

/// One HTTP request; returns the status and the response head.
async fn http(host: &str, request_line: &str, headers: &[&str]) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    let mut req = format!("{request_line}\r\nHost: {host}\r\nContent-Length: 0\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut resp = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut resp)).await;
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text.split("\r\n\r\n").next().unwrap_or_default().to_string())
}

#[tokio::test]
async fn browser_connections_from_another_origin_are_refused() {
    let mut c = cfg();
    c.allow_origins = vec!["http://localhost:3000".into()];
    let (_hub, addr, _) = start(c).await;
    let url = format!("ws://{addr}/ws/view");
    let e = ws(&url, &[("Origin", "http://evil.example")]).await.expect_err("foreign origin");
    assert_eq!(status_of(&e), Some(403), "{e}");
    let e = ws(&url, &[("Origin", "null")]).await.expect_err("null origin");
    assert_eq!(status_of(&e), Some(403), "{e}");
    ws(&url, &[("Origin", &format!("http://{addr}"))]).await.expect("the page's own origin");
    ws(&url, &[("Origin", "http://localhost:3000")]).await.expect("an allowed origin");
    ws(&url, &[]).await.expect("no Origin: not a browser");
    let host = addr.to_string();
    let (status, _) = http(&host, "POST /api/again HTTP/1.1", &["Origin: http://evil.example"]).await;
    assert_eq!(status, 403, "cross-site POST");
    let (status, _) = http(&host, "POST /api/again HTTP/1.1", &[&format!("Origin: http://{addr}")]).await;
    assert_eq!(status, 404, "not a demo's hub");
}

#[tokio::test]
async fn an_oversized_message_closes_the_publisher_and_is_not_forwarded() {
    let mut c = cfg();
    c.max_message = 64 * 1024;
    let (_hub, addr, publish) = start(c).await;
    let mut viewer = ws(&format!("ws://{addr}/ws/view"), &[]).await.unwrap();
    let mut p = ws(&publish, &[]).await.unwrap();
    let mut msg = header_line(Node::Client, "127.0.0.1:5000");
    msg.push('\n');
    msg.push_str(&event_line(&start_event(10, vec!["x".repeat(100 * 1024)])));
    let _ = p.send(Message::text(msg)).await;
    // The hub closes the connection.
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match p.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the hub closes a publisher that sends an oversized message");
    // Nothing reached the viewer; a normal publisher still works.
    let mut q = ws(&publish, &[]).await.unwrap();
    let msg = [
        header_line(Node::Client, "127.0.0.1:5001"),
        event_line(&start_event(10, vec!["a:1".into()])),
        event_line(&end_event(20)),
    ];
    q.send(Message::text(msg.join("\n"))).await.unwrap();
    let lines = read_until(&mut viewer, is_end).await;
    assert_eq!(lines.len(), 3, "{lines:?}");
    match &lines[1] {
        TraceLine::Event(TraceEvent { kind: EventKind::TransferStart { receivers, .. }, .. }) => {
            assert_eq!(receivers, &vec!["a:1".to_string()])
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn connections_beyond_the_limit_are_refused_until_one_closes() {
    let mut c = cfg();
    c.max_connections = 2;
    let (hub, addr, _) = start(c).await;
    let url = format!("ws://{addr}/ws/view");
    let a = ws(&url, &[]).await.unwrap();
    let _b = ws(&url, &[]).await.unwrap();
    let e = ws(&url, &[]).await.expect_err("third connection");
    assert_eq!(status_of(&e), Some(503), "{e}");
    drop(a);
    let ok = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if hub.stats().viewers < 2 {
                if let Ok(w) = ws(&url, &[]).await {
                    return w;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(ok.is_ok(), "a slot frees when a connection closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_or_silent_hub_never_stalls_a_transfer() {
    // Dead: nothing listens. Silent: accepts TCP but never answers the handshake.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    for url in [format!("ws://{dead}/ws/publish"), format!("ws://{silent_addr}/ws/publish")] {
        let dir = tempfile::tempdir().unwrap();
        let target = PublishTarget::WebSocket(url.clone());
        let started = std::time::Instant::now();
        let out = transfer(dir.path(), 300_000, &spec(3, 0.0, 500), Some(&target)).await;
        let took = started.elapsed();
        assert!(out.client.all_finished());
        // Without a hub problem this is well under a second on loopback; the bound is generous
        // for a loaded machine but far below the hub's 3 s connect timeout times the retries.
        assert!(took < Duration::from_secs(8), "{url}: {took:?}");
    }
    // The driver's side never waits: 100,000 events into a dead hub's queue, counted.
    let (p, mut h) = Publisher::start(PublishTarget::WebSocket(format!("ws://{dead}/ws/publish")));
    h.header(Node::Client, "127.0.0.1:1".parse().unwrap());
    let ev = TraceEvent::new(Instant::from_micros(1), Node::Client, EventKind::SegmentComplete);
    let t = std::time::Instant::now();
    for _ in 0..100_000 {
        h.publish(&ev);
    }
    assert!(t.elapsed() < Duration::from_secs(5), "publishing is a try_send");
    drop(h);
    let s = p.finish(Duration::from_secs(10)).await;
    assert_eq!(s.sent, 0);
    assert_eq!(s.dropped + s.undelivered, 100_000, "{s:?}");
}

/// A child process killed on drop.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_line_nodes_publish_to_p2mp_ui() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let mut ui = Child(
        Command::new(env!("CARGO_BIN_EXE_p2mp"))
            .args(["ui", "--port", "0", "--dist", "/nonexistent-dist-for-test"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // --dist must hold an index.html: refused.
    let status = tokio::time::timeout(LIMIT, async {
        loop {
            if let Some(s) = ui.0.try_wait().unwrap() {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(status.code(), Some(2));
    ui = Child(
        Command::new(env!("CARGO_BIN_EXE_p2mp"))
            .args(["ui", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = ui.0.stdout.take().unwrap();
    // Keep reading its stdout to the end: a closed pipe would end it at its next line.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let first = rx.recv_timeout(LIMIT).expect("p2mp ui prints its URL");
    let url = first.rsplit(' ').next().unwrap().trim_end_matches('/').to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");
    let host = url.trim_start_matches("http://").to_string();
    let publish = format!("ws://{host}/ws/publish");
    let mut viewer = ws(&format!("ws://{host}/ws/view"), &[]).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    write_random_file(&input, 30_000, 9).unwrap();
    let (p, q) = (free_udp_port(), free_udp_port());
    // One server on its own address, one on the wildcard (matched by the address its
    // publisher connects from, and its port).
    let servers: Vec<Child> = [("127.0.0.1", p, "a.bin"), ("0.0.0.0", q, "b.bin")]
        .iter()
        .map(|(bind, port, out)| {
            Child(
                Command::new(env!("CARGO_BIN_EXE_p2mpserver"))
                    .args([&port.to_string(), dir.path().join(out).to_str().unwrap(), "0.1"])
                    .args(["--bind", bind, "--seed", "4", "--linger", "0.3", "--quiet", "--trace", &publish])
                    .spawn()
                    .unwrap(),
            )
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let client = Command::new(env!("CARGO_BIN_EXE_p2mpclient"))
        .args(["127.0.0.1", &format!("127.0.0.1:{q}"), &p.to_string(), input.to_str().unwrap(), "500"])
        .args(["--timeout", "0.05", "--quiet", "--trace", &publish])
        .status()
        .unwrap();
    assert!(client.success());
    let lines = read_until(&mut viewer, is_end).await;
    drop(servers);
    assert!(is_end(lines.last().unwrap()), "the viewer sees the whole transfer");
    let mut model = TraceModel::new();
    for l in &lines[1..] {
        if let TraceLine::Event(e) = l {
            model.push(e.clone());
        }
    }
    let nodes: std::collections::HashSet<Node> = model.events.iter().map(|e| e.node).collect();
    assert!(nodes.contains(&Node::Server(0)) && nodes.contains(&Node::Server(1)), "{nodes:?}");
    let s = model.summary();
    assert!(s.loss_drops > 0, "{s:?}");
    assert_eq!(s.receivers.len(), 2);
}
