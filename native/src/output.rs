//! The server's output file: written to a temporary sibling and renamed into place only once
//! the transfer has completed, so a failed transfer never leaves a truncated file behind.
//!
//! A server that dies without unwinding (SIGKILL, a power cut) cannot delete its temporary file.
//! On Unix the writer holds an exclusive `flock` on it for as long as it is open, and the next
//! [`PartialFile::create`] for the same target removes the temporary files of that target whose
//! writer is gone: the process named in the file name no longer exists *and* nobody holds the
//! lock (the kernel drops it when the process dies). A file another running server is writing
//! fails both tests, so it is never touched.

use crate::error::{NativeError, Result};
use crate::offload::Offload;
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// An output being received. Dropping it without [`PartialFile::commit`] deletes the temporary
/// file (on abort, error, Ctrl-C or a cancelled task).
#[derive(Debug)]
pub struct PartialFile {
    target: PathBuf,
    temp: PathBuf,
    /// Writes and hashes on a thread of its own (see [`crate::offload`]).
    writer: Option<Offload<(File, Sha256)>>,
    bytes: u64,
    digest: Option<String>,
    committed: bool,
    stale: Vec<StalePartial>,
}

/// A temporary file of the same target left by a server that died, removed by
/// [`PartialFile::create`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StalePartial {
    /// The file removed.
    pub path: PathBuf,
    /// The process that wrote it (named in the file name), no longer running.
    pub pid: u32,
}

/// The temporary path used for `target`: `.<name>.p2mp-partial-<pid>-<k>` in the same folder.
pub fn temp_path_for(target: &Path) -> Result<PathBuf> {
    let name = target.file_name().ok_or_else(|| NativeError::OutputFile {
        path: target.to_path_buf(),
        reason: "not a file name".into(),
    })?;
    let k = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".p2mp-partial-{}-{k}", std::process::id()));
    Ok(target.with_file_name(temp_name))
}

impl PartialFile {
    /// Creates the temporary file beside `target`, first removing the temporary files of that
    /// target left by servers that died (see [`remove_stale_partials`]).
    pub fn create(target: &Path) -> Result<Self> {
        if target.is_dir() {
            return Err(NativeError::OutputFile {
                path: target.to_path_buf(),
                reason: "is a directory".into(),
            });
        }
        let stale = remove_stale_partials(target);
        let temp = temp_path_for(target)?;
        let file = File::create(&temp).map_err(|e| NativeError::OutputFile {
            path: target.to_path_buf(),
            reason: format!("cannot create {}: {e}", temp.display()),
        })?;
        // Marks the file as being written for as long as it is open. A file system without
        // locks makes the lock fail here and in every sweep, so nothing is ever removed there.
        #[cfg(unix)]
        let _ = lock::try_exclusive(&file);
        let mut written = 0u64;
        let writer = Offload::spawn("p2mp-writer", (file, Sha256::new()), move |(file, hasher), chunk| {
            file.write_all(chunk)?;
            start_writeback(file, written, chunk.len());
            written += chunk.len() as u64;
            hasher.update(chunk);
            Ok(())
        });
        let writer = match writer {
            Ok(w) => w,
            Err(e) => {
                let _ = fs::remove_file(&temp);
                return Err(NativeError::OutputFile {
                    path: target.to_path_buf(),
                    reason: format!("cannot start its writer thread: {e}"),
                });
            }
        };
        Ok(PartialFile {
            target: target.to_path_buf(),
            temp,
            writer: Some(writer),
            bytes: 0,
            digest: None,
            committed: false,
            stale,
        })
    }

    /// The temporary files of the same target left by dead servers that [`PartialFile::create`]
    /// removed.
    pub fn stale_removed(&self) -> &[StalePartial] {
        &self.stale
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The temporary path being written.
    pub fn temp(&self) -> &Path {
        &self.temp
    }

    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Hex SHA-256 of the file, once committed (the hashing runs behind the writes).
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    // A failure once receiving has begun is a failed run (exit 1), unlike a target that cannot
    // be created at all (bad input, exit 2).
    fn write_error(&self, e: std::io::Error) -> NativeError {
        NativeError::WriteFailed { path: self.target.clone(), reason: e.to_string() }
    }

    /// Appends in-sequence payload. The write happens behind (see [`crate::offload`]): a
    /// failure shows at a later append, within [`crate::offload::CHUNK`] bytes, or at
    /// [`PartialFile::commit`], never later.
    pub fn append(&mut self, data: &[u8]) -> Result<()> {
        let Some(w) = self.writer.as_mut() else {
            if self.committed {
                return Ok(()); // nothing more belongs to the file
            }
            return Err(self.write_error(std::io::Error::other("an earlier write failed")));
        };
        if w.failed() {
            let e = self.finish_writes().err().unwrap_or_else(|| std::io::Error::other("write failed"));
            let _ = fs::remove_file(&self.temp);
            return Err(self.write_error(e));
        }
        w.push(data);
        self.bytes += data.len() as u64;
        Ok(())
    }

    /// Waits for every write, then records the digest; returns the file.
    fn finish_writes(&mut self) -> std::io::Result<File> {
        let w = self.writer.take().ok_or_else(|| std::io::Error::other("already finished"))?;
        let (file, digest) = finish(w)?;
        self.digest = Some(digest);
        Ok(file)
    }

    /// Waits for the writes, syncs, closes and renames the file into place. Later calls do
    /// nothing once it has succeeded, and fail again once it has failed. The waiting, the sync
    /// and the rename take milliseconds of blocking I/O: they run on tokio's blocking pool, so
    /// the runtime's other tasks (the other servers of an in-process transfer, the client) go
    /// on meanwhile. Cancelled while it waits, the commit still completes: the file was whole.
    pub async fn commit(&mut self) -> Result<()> {
        if self.committed {
            return Ok(());
        }
        let Some(writer) = self.writer.take() else {
            return Err(self.write_error(std::io::Error::other("already finished")));
        };
        let (temp, target) = (self.temp.clone(), self.target.clone());
        let job = tokio::task::spawn_blocking(move || {
            let failed = |reason: String| NativeError::WriteFailed { path: target.clone(), reason };
            // The file is closed (dropped) before the rename.
            let result = finish(writer)
                .and_then(|(file, digest)| file.sync_all().map(|()| digest))
                .map_err(|e| failed(e.to_string()))
                .and_then(|digest| {
                    fs::rename(&temp, &target)
                        .map_err(|e| failed(format!("cannot rename {} into place: {e}", temp.display())))?;
                    Ok(digest)
                });
            if result.is_err() {
                let _ = fs::remove_file(&temp);
            }
            result
        });
        let result = job.await.unwrap_or_else(|e| {
            let _ = fs::remove_file(&self.temp);
            Err(self.write_error(std::io::Error::other(format!("the commit task failed: {e}"))))
        });
        self.digest = Some(result?);
        self.committed = true;
        Ok(())
    }

    /// Whether the file has been renamed into place.
    pub fn is_committed(&self) -> bool {
        self.committed
    }

    /// Deletes the temporary file.
    pub fn discard(mut self) {
        self.remove_temp();
    }

    fn remove_temp(&mut self) {
        if let Some(w) = self.writer.take() {
            drop(w);
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Starts writing `len` bytes at `offset` of `file` to disk without waiting for it, so the
/// sync at commit finds little left to do: it is on the path to the end-of-file echo, and a
/// 10 MB file left dirty took 7 ms to sync here. Linux only; elsewhere the sync does it all.
fn start_writeback(file: &File, offset: u64, len: usize) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let (Ok(offset), Ok(len)) = (libc::off64_t::try_from(offset), libc::off64_t::try_from(len)) else {
            return;
        };
        // SAFETY: a valid descriptor and a byte range; the call only schedules writeback.
        // Best effort: an error here leaves the work to the final sync.
        let _ = unsafe { libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, offset, len);
}

/// Waits for every write of `writer`; returns the file and the hex SHA-256 of what was written.
fn finish(writer: Offload<(File, Sha256)>) -> std::io::Result<(File, String)> {
    let (state, result) = writer.finish();
    result?;
    let (file, hasher) = state.ok_or_else(|| std::io::Error::other("the writer thread failed"))?;
    Ok((file, crate::source::hex(&hasher.finalize())))
}

/// Removes the temporary files of `target` (`.<name>.p2mp-partial-<pid>-<k>` beside it) whose
/// writer is gone: process `<pid>` does not exist (a zombie still counts as existing) and no one
/// holds the file's lock. Files of other targets, of this process, or that cannot be checked
/// are left alone; errors are ignored (a sweep is best effort). Returns what was removed.
/// Without Unix process and lock checks (other systems) it removes nothing.
pub fn remove_stale_partials(target: &Path) -> Vec<StalePartial> {
    #[cfg(unix)]
    {
        lock::sweep(target)
    }
    #[cfg(not(unix))]
    {
        let _ = target;
        Vec::new()
    }
}

/// The pid in a temporary file name of `target`'s (`prefix` is `.<name>.p2mp-partial-`), if
/// `name` is one: `<prefix><pid>-<k>`, both decimal.
#[cfg_attr(not(unix), allow(dead_code))] // only the Unix sweep reads pids
fn partial_pid(name: &[u8], prefix: &[u8]) -> Option<u32> {
    let rest = name.strip_prefix(prefix)?;
    let dash = rest.iter().position(|&b| b == b'-')?;
    let (pid, k) = (rest.get(..dash)?, rest.get(dash + 1..)?);
    let decimal = |d: &[u8]| !d.is_empty() && d.iter().all(u8::is_ascii_digit);
    if !decimal(pid) || !decimal(k) {
        return None;
    }
    std::str::from_utf8(pid).ok()?.parse().ok()
}

#[cfg(unix)]
mod lock {
    use super::{partial_pid, StalePartial};
    use std::fs::{self, File};
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Path, PathBuf};

    /// Takes an exclusive lock on `file` without waiting; false if someone else holds one (or
    /// the file system has no locks).
    pub(super) fn try_exclusive(file: &File) -> bool {
        // SAFETY: flock on a descriptor owned by `file`, alive for the call.
        unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
    }

    /// Whether process `pid` exists (signal 0 checks without sending anything).
    fn exists(pid: u32) -> bool {
        // 0 and values past i32::MAX would name process groups or every process.
        let Ok(p) = libc::pid_t::try_from(pid) else { return true };
        if p <= 0 {
            return true;
        }
        // SAFETY: kill with signal 0 sends nothing; it only reports whether `p` exists.
        if unsafe { libc::kill(p, 0) } == 0 {
            return true;
        }
        // EPERM: it exists but belongs to someone else.
        std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }

    pub(super) fn sweep(target: &Path) -> Vec<StalePartial> {
        let Some(name) = target.file_name() else { return Vec::new() };
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut prefix = b".".to_vec();
        prefix.extend_from_slice(name.as_bytes());
        prefix.extend_from_slice(b".p2mp-partial-");
        let Ok(entries) = fs::read_dir(&dir) else { return Vec::new() };
        let me = std::process::id();
        let mut removed = Vec::new();
        for entry in entries.flatten() {
            let Some(pid) = partial_pid(entry.file_name().as_bytes(), &prefix) else { continue };
            // Our own files may be between creation and locking; a live writer is never touched.
            if pid == me || exists(pid) {
                continue;
            }
            // Only regular files (never follow a link planted under that name).
            if !entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            let path = entry.path();
            let Ok(file) = File::open(&path) else { continue };
            // Held: a writer in another pid namespace is still at it.
            if !try_exclusive(&file) {
                continue;
            }
            if fs::remove_file(&path).is_ok() {
                removed.push(StalePartial { path, pid });
            }
        }
        removed
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        self.remove_temp();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_of_that_target_carry_a_pid() {
        let p = b".out.bin.p2mp-partial-";
        assert_eq!(partial_pid(b".out.bin.p2mp-partial-123-0", p), Some(123));
        assert_eq!(partial_pid(b".out.bin.p2mp-partial-7-42", p), Some(7));
        for other in [
            &b".out.bin2.p2mp-partial-123-0"[..],
            b".out.bin.p2mp-partial-123",
            b".out.bin.p2mp-partial--0",
            b".out.bin.p2mp-partial-12x-0",
            b".out.bin.p2mp-partial-123-0.bak",
            b"out.bin",
            b".out.bin.p2mp-partial-99999999999-0",
        ] {
            assert_eq!(partial_pid(other, p), None, "{}", String::from_utf8_lossy(other));
        }
    }

    /// Stale files of the target whose process is gone are removed; a live writer's, another
    /// target's, and a locked one are not.
    #[cfg(unix)]
    #[test]
    fn a_sweep_removes_only_what_a_dead_process_left_of_that_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        // A pid that no longer exists: a child that ran and was reaped.
        let mut done = std::process::Command::new("true").spawn().unwrap();
        done.wait().unwrap();
        let dead = done.id();
        let mut alive = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let name = |t: &str, pid: u32| dir.path().join(format!(".{t}.p2mp-partial-{pid}-0"));
        let stale = name("out.bin", dead);
        let live = name("out.bin", alive.id());
        let other_target = name("other.bin", dead);
        let locked = dir.path().join(format!(".out.bin.p2mp-partial-{dead}-1"));
        for p in [&stale, &live, &other_target, &locked] {
            fs::write(p, b"partial").unwrap();
        }
        // Locked as a writer in another pid namespace would hold it.
        let holder = File::open(&locked).unwrap();
        assert!(lock::try_exclusive(&holder));

        let removed = remove_stale_partials(&target);
        assert_eq!(removed, vec![StalePartial { path: stale.clone(), pid: dead }]);
        assert!(!stale.exists());
        assert!(live.exists() && other_target.exists() && locked.exists());

        // Once the lock is released, the locked one goes too; the live writer's stays.
        drop(holder);
        let f = PartialFile::create(&target).unwrap();
        assert_eq!(f.stale_removed().len(), 1);
        assert!(!locked.exists() && live.exists());
        // A new file is locked while written: a sweep from elsewhere cannot take it.
        assert!(!lock::try_exclusive(&File::open(f.temp()).unwrap()));
        let _ = alive.kill();
        let _ = alive.wait();
    }
}
