//! The client's input file, read segment by segment on demand into one reusable buffer, so
//! memory stays flat whatever the file's size.

use crate::error::{NativeError, Result};
use crate::offload::Offload;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// An open input file.
#[derive(Debug)]
pub struct SourceFile {
    path: PathBuf,
    reader: BufReader<File>,
    len: u64,
    pos: u64,
    buf: Vec<u8>,
    /// SHA-256 of the bytes read so far, while they are read in order, on a thread of its own
    /// (see [`crate::offload`]); `None` without a thread or after an out-of-order read.
    hasher: Option<Offload<Sha256>>,
    hashed: u64,
}

impl SourceFile {
    /// Opens `path`, which must be a readable regular file.
    pub fn open(path: &Path) -> Result<Self> {
        let fail = |reason: String| NativeError::InputFile { path: path.to_path_buf(), reason };
        let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
        if !meta.is_file() {
            return Err(fail("not a regular file".into()));
        }
        let file = File::open(path).map_err(|e| fail(e.to_string()))?;
        Ok(SourceFile {
            path: path.to_path_buf(),
            reader: BufReader::with_capacity(1 << 16, file),
            len: meta.len(),
            pos: 0,
            buf: Vec::new(),
            // No thread, no digest: the summary says so rather than the transfer failing.
            hasher: Offload::spawn("p2mp-hasher", Sha256::new(), |h, chunk| {
                h.update(chunk);
                Ok(())
            })
            .ok(),
            hashed: 0,
        })
    }

    /// The file's length when opened.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads `len` bytes at `offset` into the internal buffer and returns them.
    pub fn read_at(&mut self, offset: u64, len: usize) -> Result<&[u8]> {
        let fail =
            |e: std::io::Error| NativeError::InputFile { path: self.path.clone(), reason: e.to_string() };
        if offset != self.pos {
            self.reader.seek(SeekFrom::Start(offset)).map_err(fail)?;
            self.pos = offset;
        }
        self.buf.resize(len, 0);
        self.reader.read_exact(&mut self.buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                NativeError::InputFile {
                    path: self.path.clone(),
                    reason: "the file shrank during the transfer".into(),
                }
            } else {
                fail(e)
            }
        })?;
        if offset == self.hashed {
            if let Some(h) = self.hasher.as_mut() {
                h.push(&self.buf);
                self.hashed += len as u64;
            }
        } else {
            self.hasher = None; // read out of order: no digest rather than a wrong one
        }
        self.pos += len as u64;
        Ok(&self.buf)
    }

    /// Hex SHA-256 of the whole file, once every byte has been read in order. Ends the hashing:
    /// later calls return `None`.
    pub fn digest(&mut self) -> Option<String> {
        let h = self.hasher.take().filter(|_| self.hashed == self.len)?;
        let (state, result) = h.finish();
        result.ok()?;
        Some(hex(&state?.finalize()))
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
