//! Optional JSON Lines trace recording: a [`TraceHeader`] line, then one [`TraceEvent`] per line.

use crate::error::{NativeError, Result};
use p2mp_core::trace::{TraceHeader, TraceSource};
use p2mp_core::{Node, TraceEvent};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A trace recorder; does nothing (and costs nothing) when no path was given. It can also
/// stream the events live to a hub ([`TraceFile::attach`]).
#[derive(Debug)]
pub struct TraceFile {
    inner: Option<(PathBuf, BufWriter<File>)>,
    live: Option<crate::publish::PublishHandle>,
}

impl TraceFile {
    /// A recorder that records nothing.
    pub fn off() -> Self {
        TraceFile { inner: None, live: None }
    }

    /// Creates `path` (when given) and writes the header for `node` at `addr`.
    pub fn create(path: Option<&Path>, node: Node, addr: SocketAddr) -> Result<Self> {
        let Some(path) = path else {
            return Ok(Self::off());
        };
        let err = |source| NativeError::TraceFile { path: path.to_path_buf(), source };
        let file = File::create(path).map_err(err)?;
        let mut w = BufWriter::with_capacity(1 << 16, file);
        let header = TraceHeader::new(TraceSource::Native { node, addr: addr.to_string() });
        serde_json::to_writer(&mut w, &header).map_err(|e| err(e.into()))?;
        w.write_all(b"\n").map_err(err)?;
        Ok(TraceFile { inner: Some((path.to_path_buf(), w)), live: None })
    }

    /// Whether events are being recorded.
    pub fn is_on(&self) -> bool {
        self.inner.is_some()
    }

    /// Also streams every event live through `live`, after a header for `node` at `addr`.
    pub fn attach(&mut self, mut live: crate::publish::PublishHandle, node: Node, addr: SocketAddr) {
        live.header(node, addr);
        self.live = Some(live);
    }

    /// Whether events go anywhere (a file or a live stream).
    pub fn is_recording(&self) -> bool {
        self.inner.is_some() || self.live.is_some()
    }

    /// Marks the moment the node's clock starts (time 0 of its events): published events are
    /// rebased on the system clock's reading now.
    pub fn clock_started(&mut self) {
        if let Some(live) = &mut self.live {
            live.clock_started();
        }
    }

    /// Appends one event (and publishes it, when streaming; that never blocks).
    pub fn record(&mut self, ev: &TraceEvent) -> Result<()> {
        if let Some(live) = &mut self.live {
            live.publish(ev);
        }
        if let Some((path, w)) = &mut self.inner {
            let err = |source| NativeError::TraceFile { path: path.clone(), source };
            serde_json::to_writer(&mut *w, ev).map_err(|e| err(e.into()))?;
            w.write_all(b"\n").map_err(err)?;
        }
        Ok(())
    }

    /// Flushes buffered lines to disk.
    pub fn flush(&mut self) -> Result<()> {
        if let Some((path, w)) = &mut self.inner {
            w.flush().map_err(|source| NativeError::TraceFile { path: path.clone(), source })?;
        }
        Ok(())
    }
}
