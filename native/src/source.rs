//! The client's input file, read segment by segment on demand into one reusable buffer, so
//! memory stays flat whatever the file's size.

use crate::error::{NativeError, Result};
use crate::offload::Offload;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// An open input file.
#[derive(Debug)]
pub struct SourceFile {
    path: PathBuf,
    reader: BufReader<File>,
    len: u64,
    pos: u64,
    buf: Vec<u8>,
    /// Bytes returned from the reader's buffer by the last [`SourceFile::read_at`], not yet
    /// consumed from it.
    lent: usize,
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
            lent: 0,
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

    /// Reads `len` bytes at `offset` and returns them: straight from the reader's buffer when
    /// the segment is all there (one copy fewer per segment), else through the internal one.
    pub fn read_at(&mut self, offset: u64, len: usize) -> Result<&[u8]> {
        let fail =
            |e: std::io::Error| NativeError::InputFile { path: self.path.clone(), reason: e.to_string() };
        // What the previous call lent out of the reader's buffer is taken now.
        self.reader.consume(std::mem::take(&mut self.lent));
        if offset != self.pos {
            self.reader.seek(SeekFrom::Start(offset)).map_err(fail)?;
            self.pos = offset;
        }
        let whole = self.reader.fill_buf().map_err(fail)?.len() >= len;
        let data = if whole {
            self.lent = len;
            self.reader.buffer().get(..len).unwrap_or_default()
        } else {
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
            &self.buf[..]
        };
        if offset == self.hashed {
            if let Some(h) = self.hasher.as_mut() {
                h.push(data);
                self.hashed += len as u64;
            }
        } else {
            self.hasher = None; // read out of order: no digest rather than a wrong one
        }
        self.pos += len as u64;
        Ok(data)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn file_of(len: usize) -> (tempfile::TempDir, PathBuf, Vec<u8>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("input");
        let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        std::fs::write(&path, &bytes).expect("write");
        (dir, path, bytes)
    }

    /// Segments of 500 bytes straddle the reader's 64 KiB buffer now and then: those come
    /// through the internal buffer, the rest straight from the reader's. Every byte must be
    /// right either way, and the digest must be the file's.
    #[test]
    fn in_order_segments_are_the_files_bytes_and_give_its_digest() {
        let (_dir, path, bytes) = file_of(300_001);
        let mut src = SourceFile::open(&path).expect("open");
        for (k, want) in bytes.chunks(500).enumerate() {
            let got = src.read_at((k * 500) as u64, want.len()).expect("read");
            assert_eq!(got, want, "segment {k}");
        }
        assert_eq!(src.digest(), Some(hex(&Sha256::digest(&bytes))));
    }

    /// A retransmission reads an earlier segment again: the right bytes, then the following
    /// ones; the digest is given up rather than computed over bytes out of order.
    #[test]
    fn a_read_out_of_order_gets_its_bytes_and_no_digest() {
        let (_dir, path, bytes) = file_of(200_000);
        let mut src = SourceFile::open(&path).expect("open");
        for (offset, len) in
            [(0usize, 500usize), (500, 500), (0, 500), (70_000, 500), (1000, 500), (199_500, 500)]
        {
            assert_eq!(src.read_at(offset as u64, len).expect("read"), &bytes[offset..offset + len]);
        }
        assert_eq!(src.digest(), None);
    }

    #[test]
    fn a_file_that_shrank_is_an_error_not_short_data() {
        let (_dir, path, _) = file_of(10_000);
        let mut src = SourceFile::open(&path).expect("open");
        std::fs::write(&path, [1u8; 1000]).expect("truncate");
        let err = src.read_at(2000, 500).expect_err("read past the new end").to_string();
        assert!(err.contains("shrank"), "{err}");
    }
}
