//! One connection of the hub: a minimal HTTP/1.1 request (static files, `POST /api/again`) or
//! a WebSocket upgrade (`/ws/view`, `/ws/publish`), with the token and Origin checks.

use super::state::{AgainOutcome, Shared};
use super::HubConfig;
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::path::{Component, Path};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Largest request head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// Time allowed to send the request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed to write one message to a viewer before it is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Name of the cookie holding the token for the page's own requests.
const COOKIE: &str = "p2mp_token";

struct Request {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn query_param(&self, name: &str) -> Option<&str> {
        self.query.split('&').find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v))
    }

    fn cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| v.split(';'))
            .find_map(|c| c.trim().split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v))
    }
}

/// Answers a connection beyond the limit.
pub(super) async fn refuse(mut stream: TcpStream) {
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        respond(&mut stream, 503, "text/plain", &[], b"too many connections\n"),
    )
    .await;
}

async fn respond(
    stream: &mut TcpStream,
    status: u16,
    ctype: &str,
    extra: &[String],
    body: &[u8],
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n",
        body.len()
    );
    for h in extra {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.flush().await?;
    stream.shutdown().await
}

/// Reads the request head; returns it and whatever followed it.
async fn read_head(stream: &mut TcpStream) -> Result<(Request, Vec<u8>), u16> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(431);
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return Err(0),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(&buf[..end]) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return Err(400),
    }
    let target = req.path.unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let request = Request {
        method: req.method.unwrap_or("").to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers: req
            .headers
            .iter()
            .map(|h| (h.name.to_string(), String::from_utf8_lossy(h.value).into_owned()))
            .collect(),
    };
    Ok((request, buf[end..].to_vec()))
}

/// Constant-time comparison (the token is a secret).
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether the request may go on: the token (when one is set) from `?token=` or the cookie.
fn token_ok(cfg: &HubConfig, req: &Request) -> bool {
    match &cfg.token {
        None => true,
        Some(t) => {
            req.query_param("token").or_else(|| req.cookie(COOKIE)).is_some_and(|given| same_secret(given, t))
        }
    }
}

/// Whether the request's Origin (sent by browsers) is the page's own or allowed. Requests
/// without an Origin (nodes, command-line tools) pass.
fn origin_ok(cfg: &HubConfig, req: &Request) -> bool {
    let Some(origin) = req.header("origin") else { return true };
    let origin = origin.trim().trim_end_matches('/');
    if cfg.allow_origins.iter().any(|o| o.trim_end_matches('/') == origin) {
        return true;
    }
    let Some(host) = req.header("host") else { return false };
    let host = host.trim();
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|h| h.eq_ignore_ascii_case(host))
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("jsonl") | Some("txt") => "text/plain; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

const NO_DIST: &str = "<!doctype html><meta charset=utf-8><title>P2MP-FTP hub</title>\
<h1>P2MP-FTP hub</h1><p>The web app is not built. Run <code>cargo xtask web</code> in the \
repository (it writes <code>dist/</code>), then restart with <code>--dist dist</code>.</p>\
<p>The hub itself works: nodes publish at <code>/ws/publish</code>, viewers subscribe at \
<code>/ws/view</code>.</p>";

/// Serves one connection to the end.
pub(super) async fn serve_connection(
    shared: Arc<Shared>,
    cfg: Arc<HubConfig>,
    mut stream: TcpStream,
    peer: SocketAddr,
) {
    let _ = stream.set_nodelay(true);
    let (req, rest) = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(x)) => x,
        Ok(Err(0)) | Err(_) => return,
        Ok(Err(status)) => {
            let _ = respond(&mut stream, status, "text/plain", &[], b"bad request\n").await;
            return;
        }
    };
    let is_ws = req.header("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    let needs_checks = is_ws || req.path.starts_with("/api/");
    if needs_checks && !origin_ok(&cfg, &req) {
        shared.log(&format!(
            "refused {} {} from {peer}: Origin {} is not this page's (see --allow-origin)",
            req.method,
            req.path,
            req.header("origin").unwrap_or_default()
        ));
        let _ = respond(&mut stream, 403, "text/plain", &[], b"origin not allowed\n").await;
        return;
    }
    if !token_ok(&cfg, &req) {
        if needs_checks {
            shared.log(&format!("refused {} {} from {peer}: missing or wrong token", req.method, req.path));
        }
        let _ = respond(&mut stream, 401, "text/plain", &[], b"token required: add ?token=...\n").await;
        return;
    }
    match (req.method.as_str(), req.path.as_str(), is_ws) {
        ("GET", "/ws/view", true) | ("GET", "/ws/publish", true) => {
            let Some(key) = req.header("sec-websocket-key").map(str::to_string) else {
                let _ = respond(&mut stream, 400, "text/plain", &[], b"missing Sec-WebSocket-Key\n").await;
                return;
            };
            if req.header("sec-websocket-version").map(str::trim) != Some("13") {
                let _ = respond(
                    &mut stream,
                    400,
                    "text/plain",
                    &["Sec-WebSocket-Version: 13".into()],
                    b"unsupported WebSocket version\n",
                )
                .await;
                return;
            }
            let head = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                derive_accept_key(key.trim().as_bytes())
            );
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let config = WebSocketConfig::default()
                .max_message_size(Some(cfg.max_message))
                .max_frame_size(Some(cfg.max_message))
                .write_buffer_size(0);
            let ws = WebSocketStream::from_partially_read(stream, rest, Role::Server, Some(config)).await;
            if req.path == "/ws/view" {
                view(shared, ws, peer).await;
            } else {
                publish(shared, ws, peer, cfg.max_message).await;
            }
        }
        (_, "/ws/view" | "/ws/publish", _) => {
            let _ =
                respond(&mut stream, 400, "text/plain", &[], b"this endpoint needs a WebSocket upgrade\n")
                    .await;
        }
        ("POST", "/api/again", _) => {
            let (status, body): (u16, &[u8]) = match shared.again() {
                AgainOutcome::Started => (202, b"started another transfer\n"),
                AgainOutcome::Busy => (409, b"a transfer is running; try again when it is over\n"),
                AgainOutcome::NotHere => (404, b"this hub is not a demo's: start transfers with p2mpclient --trace ... (only `p2mp demo` runs them on request)\n"),
            };
            let _ = respond(&mut stream, status, "text/plain; charset=utf-8", &[], body).await;
        }
        ("GET" | "HEAD", path, false) => {
            let head_only = req.method == "HEAD";
            let mut extra = Vec::new();
            if let (Some(t), Some(_)) = (&cfg.token, req.query_param("token")) {
                // The page's own requests (its script, the WebSocket, POST) carry it from now on.
                extra.push(format!("Set-Cookie: {COOKIE}={t}; Path=/; HttpOnly; SameSite=Strict"));
            }
            let (status, ctype, body) = static_file(cfg.dist.as_deref(), path).await;
            let body = if head_only { Vec::new() } else { body };
            let _ = respond(&mut stream, status, ctype, &extra, &body).await;
        }
        _ => {
            let _ = respond(&mut stream, 405, "text/plain", &[], b"method not allowed\n").await;
        }
    }
}

async fn static_file(dist: Option<&Path>, path: &str) -> (u16, &'static str, Vec<u8>) {
    let rel = if path == "/" { "index.html" } else { path.trim_start_matches('/') };
    let rel = Path::new(rel);
    let Some(dist) = dist else {
        return if path == "/" || path == "/index.html" {
            (200, "text/html; charset=utf-8", NO_DIST.as_bytes().to_vec())
        } else {
            (404, "text/plain", b"not found\n".to_vec())
        };
    };
    if rel.as_os_str().is_empty()
        || !rel.components().all(|c| matches!(c, Component::Normal(_)))
        || path.contains('\\')
    {
        return (404, "text/plain", b"not found\n".to_vec());
    }
    let full = dist.join(rel);
    match tokio::fs::read(&full).await {
        Ok(body) => (200, content_type(&full), body),
        Err(_) => (404, "text/plain", b"not found\n".to_vec()),
    }
}

/// A viewer: the backlog, then live messages, until it leaves or falls behind.
async fn view(shared: Arc<Shared>, ws: WebSocketStream<TcpStream>, peer: SocketAddr) {
    let (mut sink, mut incoming) = ws.split();
    let mut sub = shared.subscribe(Some(peer));
    let id = sub.id;
    let backlog = std::mem::take(&mut sub.backlog);
    'viewer: {
        for msg in backlog {
            if !matches!(tokio::time::timeout(WRITE_TIMEOUT, sink.send(Message::Text(msg))).await, Ok(Ok(())))
            {
                break 'viewer;
            }
        }
        loop {
            tokio::select! {
                m = sub.rx.recv() => match m {
                    Some(msg) => match tokio::time::timeout(WRITE_TIMEOUT, sink.send(Message::Text(msg))).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => break,
                        Err(_) => {
                            shared.log(&format!("dropped viewer {id} ({peer}): a write stalled for {WRITE_TIMEOUT:?}"));
                            break;
                        }
                    },
                    None => {
                        // The hub dropped this viewer (queue full): say why, without waiting long.
                        let frame = CloseFrame { code: CloseCode::Policy, reason: "too slow: dropped by the hub".into() };
                        let _ = tokio::time::timeout(Duration::from_secs(1), sink.send(Message::Close(Some(frame)))).await;
                        break;
                    }
                },
                m = incoming.next() => match m {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                    Some(Ok(_)) => {}
                },
            }
        }
    }
    shared.unsubscribe(id);
}

/// A publisher: every text message is ingested; binary messages and oversized ones are refused.
async fn publish(shared: Arc<Shared>, mut ws: WebSocketStream<TcpStream>, peer: SocketAddr, max: usize) {
    let id = shared.open_publisher(Some(peer));
    while let Some(m) = ws.next().await {
        match m {
            Ok(Message::Text(t)) => {
                shared.ingest(id, t.as_str());
            }
            Ok(Message::Binary(_)) => {
                shared.reject_message(Some(peer), "binary message", "traces are text");
            }
            Ok(Message::Close(_)) => break,
            Ok(_) => {}
            Err(e) => {
                let why = match e {
                    tokio_tungstenite::tungstenite::Error::Capacity(_) => {
                        format!("a message larger than {max} bytes; closing")
                    }
                    other => other.to_string(),
                };
                shared.log(&format!("publisher {peer}: {why}"));
                let frame = CloseFrame { code: CloseCode::Size, reason: "message too large".into() };
                let _ =
                    tokio::time::timeout(Duration::from_secs(1), ws.send(Message::Close(Some(frame)))).await;
                break;
            }
        }
    }
    shared.close_publisher(id);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)], query: &str) -> Request {
        Request {
            method: "GET".into(),
            path: "/ws/view".into(),
            query: query.into(),
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn origin_must_be_the_page_or_allowed() {
        let mut cfg = HubConfig::new("127.0.0.1:8080".parse().unwrap());
        assert!(origin_ok(&cfg, &req(&[("Host", "127.0.0.1:8080")], "")));
        assert!(origin_ok(
            &cfg,
            &req(&[("Host", "127.0.0.1:8080"), ("Origin", "http://127.0.0.1:8080")], "")
        ));
        assert!(!origin_ok(&cfg, &req(&[("Host", "127.0.0.1:8080"), ("Origin", "http://evil.example")], "")));
        assert!(!origin_ok(&cfg, &req(&[("Host", "127.0.0.1:8080"), ("Origin", "null")], "")));
        cfg.allow_origins.push("http://localhost:3000".into());
        assert!(origin_ok(
            &cfg,
            &req(&[("Host", "127.0.0.1:8080"), ("Origin", "http://localhost:3000")], "")
        ));
    }

    #[test]
    fn token_from_query_or_cookie() {
        let mut cfg = HubConfig::new("127.0.0.1:8080".parse().unwrap());
        assert!(token_ok(&cfg, &req(&[], "")));
        cfg.token = Some("s3cret".into());
        assert!(!token_ok(&cfg, &req(&[], "")));
        assert!(!token_ok(&cfg, &req(&[], "token=nope")));
        assert!(token_ok(&cfg, &req(&[], "a=1&token=s3cret")));
        assert!(token_ok(&cfg, &req(&[("Cookie", "x=1; p2mp_token=s3cret")], "")));
    }
}
