//! In-process transfers on the loopback interface: n servers and a client in one runtime, as
//! used by `p2mp demo`, `p2mp bench` and the tests. Also random input files and comparison.

use crate::client::{Client, ClientConfig};
use crate::console::Console;
use crate::error::{NativeError, Result};
use crate::net;
use crate::publish::{PublishTarget, Publisher};
use crate::server::{Server, ServerConfig, ServerSummary};
use crate::summary::ClientSummary;
use p2mp_core::rng::Rng;
use p2mp_core::{ReceiverConfig, SenderConfig};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Parameters of an in-process loopback transfer.
#[derive(Clone, Debug)]
pub struct LoopbackSpec {
    /// Number of servers.
    pub n: usize,
    /// Port for the servers (0: each picks a free one).
    pub port: u16,
    /// Servers' loss probability.
    pub loss: f64,
    /// Base seed; server `i` uses `seed + i`.
    pub seed: u64,
    /// The client's parameters.
    pub sender: SenderConfig,
    /// Servers' linger after finishing.
    pub linger: Duration,
    /// Servers' idle timeout.
    pub idle_timeout: Option<Duration>,
}

/// What a loopback transfer produced.
#[derive(Debug)]
pub struct LoopbackOutcome {
    /// The client's summary.
    pub client: ClientSummary,
    /// Each server's result, in order.
    pub servers: Vec<Result<ServerSummary>>,
    /// Each server's output path, in order.
    pub outputs: Vec<PathBuf>,
    /// Each server's address, in order.
    pub addrs: Vec<SocketAddr>,
}

/// Binds `spec.n` servers on loopback writing into `out_dir`, sends `input` to them, waits for
/// them to close, and returns everything. `server_console(i, addr)` says where server `i`
/// prints its loss lines.
pub async fn run_loopback(
    spec: &LoopbackSpec,
    input: &Path,
    out_dir: &Path,
    server_console: impl Fn(usize, SocketAddr) -> Console,
    client_console: Console,
) -> Result<LoopbackOutcome> {
    run_loopback_traced(spec, input, out_dir, server_console, client_console, None).await
}

/// [`run_loopback`], every node also streaming its trace live to `live` (see
/// [`crate::publish`]) when given.
pub async fn run_loopback_traced(
    spec: &LoopbackSpec,
    input: &Path,
    out_dir: &Path,
    server_console: impl Fn(usize, SocketAddr) -> Console,
    client_console: Console,
    live: Option<&PublishTarget>,
) -> Result<LoopbackOutcome> {
    let mut publishers = Vec::new();
    let mut attach = |target: Option<&PublishTarget>| {
        target.map(|t| {
            let (p, h) = Publisher::start(t.clone());
            publishers.push(p);
            h
        })
    };
    let mut handles = Vec::with_capacity(spec.n);
    let mut addrs = Vec::with_capacity(spec.n);
    let mut outputs = Vec::with_capacity(spec.n);
    for i in 0..spec.n {
        let output = out_dir.join(format!("received-{}.bin", i + 1));
        let cfg = ServerConfig {
            bind: net::loopback_server_addr(i, spec.port),
            output: output.clone(),
            receiver: ReceiverConfig {
                dialect: spec.sender.dialect,
                loss: spec.loss,
                seed: spec.seed.wrapping_add(i as u64),
                index: i as u16,
                linger: spec.linger,
                idle_timeout: spec.idle_timeout,
                reorder_window: match spec.sender.mode {
                    p2mp_core::Mode::SelectiveRepeat { window } => window,
                    _ => 0,
                },
            },
            trace_file: None,
        };
        let server = Server::bind(cfg, Console::quiet()).await?;
        let addr = server.local_addr();
        // Rebind the console now that the address is known (port 0 picks one).
        let mut server = server.with_console(server_console(i, addr));
        if let Some(h) = attach(live) {
            server = server.with_publisher(h);
        }
        addrs.push(addr);
        outputs.push(output);
        handles.push(tokio::spawn(server.run()));
    }
    let client = Client::prepare(
        ClientConfig {
            receivers: addrs.clone(),
            file: input.to_path_buf(),
            sender: spec.sender.clone(),
            bind: None,
            trace_file: None,
        },
        client_console,
    )
    .await?;
    let client = match attach(live) {
        Some(h) => client.with_publisher(h),
        None => client,
    };
    let client = client.run().await;
    let grace = spec.linger + Duration::from_secs(2);
    let mut servers = Vec::with_capacity(handles.len());
    for h in handles {
        let abort = h.abort_handle();
        servers.push(match tokio::time::timeout(grace, h).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => Err(NativeError::Verify(format!("server task failed: {e}"))),
            Err(_) => {
                abort.abort();
                Err(NativeError::Verify("server did not close after the transfer".into()))
            }
        });
    }
    for p in publishers {
        p.finish_and_report("trace").await;
    }
    Ok(LoopbackOutcome { client: client?, servers, outputs, addrs })
}

/// Writes `size` pseudo-random bytes (determined by `seed`) to `path`, streaming.
pub fn write_random_file(path: &Path, size: u64, seed: u64) -> std::io::Result<()> {
    let mut rng = Rng::new(seed);
    let mut w = BufWriter::new(File::create(path)?);
    let mut chunk = vec![0u8; 1 << 16];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        for word in chunk[..n].chunks_mut(8) {
            let bytes = rng.next_u64().to_le_bytes();
            word.copy_from_slice(&bytes[..word.len()]);
        }
        w.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    w.flush()
}

/// Whether two files have identical contents (streaming comparison).
pub fn files_equal(a: &Path, b: &Path) -> std::io::Result<bool> {
    let (fa, fb) = (File::open(a)?, File::open(b)?);
    if fa.metadata()?.len() != fb.metadata()?.len() {
        return Ok(false);
    }
    let (mut ra, mut rb) = (BufReader::new(fa), BufReader::new(fb));
    let (mut ba, mut bb) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let n = read_full(&mut ra, &mut ba)?;
        let m = read_full(&mut rb, &mut bb)?;
        if n != m || ba[..n] != bb[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..])? {
            0 => break,
            k => filled += k,
        }
    }
    Ok(filled)
}
