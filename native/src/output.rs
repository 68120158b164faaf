//! The server's output file: written to a temporary sibling and renamed into place only once
//! the transfer has completed, so a failed transfer never leaves a truncated file behind.

use crate::error::{NativeError, Result};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// An output being received. Dropping it without [`PartialFile::commit`] deletes the temporary
/// file (on abort, error, Ctrl-C or a cancelled task).
#[derive(Debug)]
pub struct PartialFile {
    target: PathBuf,
    temp: PathBuf,
    writer: Option<BufWriter<File>>,
    bytes: u64,
    hasher: sha2::Sha256,
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
    /// Creates the temporary file beside `target`.
    pub fn create(target: &Path) -> Result<Self> {
        if target.is_dir() {
            return Err(NativeError::OutputFile {
                path: target.to_path_buf(),
                reason: "is a directory".into(),
            });
        }
        let temp = temp_path_for(target)?;
        let file = File::create(&temp).map_err(|e| NativeError::OutputFile {
            path: target.to_path_buf(),
            reason: format!("cannot create {}: {e}", temp.display()),
        })?;
        Ok(PartialFile {
            target: target.to_path_buf(),
            temp,
            writer: Some(BufWriter::with_capacity(1 << 18, file)),
            bytes: 0,
            hasher: sha2::Digest::new(),
        })
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

    /// Hex SHA-256 of everything written so far (the whole file once committed).
    pub fn digest(&self) -> String {
        crate::source::hex(&sha2::Digest::finalize(self.hasher.clone()))
    }

    // A failure once receiving has begun is a failed run (exit 1), unlike a target that cannot
    // be created at all (bad input, exit 2).
    fn write_error(&self, e: std::io::Error) -> NativeError {
        NativeError::WriteFailed { path: self.target.clone(), reason: e.to_string() }
    }

    /// Appends in-sequence payload.
    pub fn append(&mut self, data: &[u8]) -> Result<()> {
        let Some(w) = self.writer.as_mut() else {
            return Ok(()); // already committed: nothing more belongs to the file
        };
        match w.write_all(data) {
            Ok(()) => {
                sha2::Digest::update(&mut self.hasher, data);
                self.bytes += data.len() as u64;
                Ok(())
            }
            Err(e) => Err(self.write_error(e)),
        }
    }

    /// Flushes, closes and renames the file into place. Later calls do nothing.
    pub fn commit(&mut self) -> Result<()> {
        let Some(w) = self.writer.take() else {
            return Ok(());
        };
        let result = w
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|file| file.sync_all())
            .map_err(|e| self.write_error(e))
            .and_then(|()| {
                fs::rename(&self.temp, &self.target).map_err(|e| NativeError::WriteFailed {
                    path: self.target.clone(),
                    reason: format!("cannot rename {} into place: {e}", self.temp.display()),
                })
            });
        if result.is_err() {
            let _ = fs::remove_file(&self.temp);
        }
        result
    }

    /// Whether the file has been renamed into place.
    pub fn is_committed(&self) -> bool {
        self.writer.is_none()
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

impl Drop for PartialFile {
    fn drop(&mut self) {
        self.remove_temp();
    }
}
