//! Work that follows a transfer's bytes in order (hashing, writing the output file) moved off
//! the transfer's thread: the bytes are copied into large buffers, and a worker thread takes
//! each full buffer. Stop-and-wait spends one round trip per segment, so every microsecond of
//! per-segment work that leaves the loop is a microsecond off each round trip; a 256 KiB
//! buffer costs one channel hand-off per 500+ segments.
//!
//! Memory is bounded: at most [`DEPTH`] full buffers wait for the worker, and the transfer
//! blocks when they are all taken (the disk is slower than the network: back-pressure, not
//! growth).

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Bytes per buffer handed to the worker.
pub const CHUNK: usize = 1 << 18;
/// Full buffers that may wait for the worker.
pub const DEPTH: usize = 4;

/// A worker thread applying `work` to the bytes pushed, in order, with state `S`.
pub struct Offload<S> {
    full: Option<SyncSender<Vec<u8>>>,
    free: Receiver<Vec<u8>>,
    worker: Option<JoinHandle<(S, io::Result<()>)>>,
    failed: Arc<AtomicBool>,
    current: Vec<u8>,
    allocated: usize,
}

impl<S> std::fmt::Debug for Offload<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Offload").field("pending", &self.current.len()).finish_non_exhaustive()
    }
}

impl<S: Send + 'static> Offload<S> {
    /// Starts the worker (thread `name`) with `state`. After the first error of `work` the
    /// worker skips the rest; [`Offload::failed`] tells, [`Offload::finish`] returns the error.
    pub fn spawn(
        name: &str,
        state: S,
        mut work: impl FnMut(&mut S, &[u8]) -> io::Result<()> + Send + 'static,
    ) -> io::Result<Self> {
        let (full_tx, full_rx) = mpsc::sync_channel::<Vec<u8>>(DEPTH);
        let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
        let failed = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&failed);
        let worker = std::thread::Builder::new().name(name.into()).spawn(move || {
            let mut state = state;
            let mut result = Ok(());
            for mut buf in full_rx {
                if result.is_ok() {
                    result = work(&mut state, &buf);
                    if result.is_err() {
                        flag.store(true, Ordering::Release);
                    }
                }
                buf.clear();
                let _ = free_tx.send(buf); // the producer may be gone: nothing to return to
            }
            (state, result)
        })?;
        Ok(Offload {
            full: Some(full_tx),
            free: free_rx,
            worker: Some(worker),
            failed,
            current: Vec::with_capacity(CHUNK),
            allocated: 1,
        })
    }

    /// Appends `data`; hands the buffer over once it is full (blocking while [`DEPTH`] full
    /// buffers already wait).
    pub fn push(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let room = CHUNK - self.current.len();
            let (now, later) = data.split_at(room.min(data.len()));
            self.current.extend_from_slice(now);
            data = later;
            if self.current.len() == CHUNK {
                self.hand_over();
            }
        }
    }

    /// Whether `work` has failed (the error comes with [`Offload::finish`]).
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Hands over what is buffered, waits for the worker to finish everything, and returns
    /// its state with the first error of `work`.
    pub fn finish(mut self) -> (Option<S>, io::Result<()>) {
        if !self.current.is_empty() {
            self.hand_over();
        }
        self.join()
    }

    fn join(&mut self) -> (Option<S>, io::Result<()>) {
        self.full = None; // ends the worker's loop once it has taken what is queued
        match self.worker.take().map(JoinHandle::join) {
            Some(Ok((state, result))) => (Some(state), result),
            Some(Err(_)) => (None, Err(io::Error::other("the worker thread panicked"))),
            None => (None, Err(io::Error::other("the worker has already finished"))),
        }
    }

    fn hand_over(&mut self) {
        let next = match self.free.try_recv() {
            Ok(buf) => buf,
            Err(_) if self.allocated < DEPTH + 2 => {
                self.allocated += 1;
                Vec::with_capacity(CHUNK)
            }
            // Every buffer is queued or being worked on: wait for one.
            Err(_) => self.free.recv().unwrap_or_else(|_| Vec::with_capacity(CHUNK)),
        };
        let full = std::mem::replace(&mut self.current, next);
        if let Some(tx) = &self.full {
            // A worker gone means it panicked: `finish` reports it.
            let _ = tx.send(full);
        }
    }
}

impl<S> Drop for Offload<S> {
    fn drop(&mut self) {
        // The worker holds files: it must be done with them before the owner removes them.
        self.full = None;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worker_sees_every_byte_in_order_across_buffers() {
        let mut off = Offload::spawn("test", Vec::new(), |seen: &mut Vec<u8>, b| {
            seen.extend_from_slice(b);
            Ok(())
        })
        .expect("spawn");
        let data: Vec<u8> = (0..3 * CHUNK + 777).map(|i| (i % 251) as u8).collect();
        for piece in data.chunks(500) {
            off.push(piece);
        }
        let (seen, result) = off.finish();
        assert!(result.is_ok());
        assert_eq!(seen.expect("state"), data);
    }

    #[test]
    fn the_first_error_is_reported_and_later_buffers_are_skipped() {
        let mut off = Offload::spawn("test", 0usize, |calls: &mut usize, _| {
            *calls += 1;
            Err(io::Error::other("disk full"))
        })
        .expect("spawn");
        off.push(&vec![1u8; 2 * CHUNK]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !off.failed() && std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        assert!(off.failed());
        let (calls, result) = off.finish();
        assert_eq!(calls, Some(1));
        assert_eq!(result.expect_err("error").to_string(), "disk full");
    }
}
