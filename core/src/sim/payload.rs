//! Synthetic file contents: the simulator needs a file's length, not its bytes.

use crate::rng::Rng;

/// Period of the pattern; prime, so segment boundaries rarely line up with it.
const PERIOD: usize = 4093;

/// A deterministic pseudo-random byte pattern standing in for a file of any length, in
/// constant memory: byte `o` of the file is `block[o % PERIOD]`.
#[derive(Clone, Debug)]
pub struct Pattern {
    /// `PERIOD + max slice` bytes, so any slice is contiguous.
    block: Vec<u8>,
}

impl Pattern {
    /// A pattern drawn from `seed`, serving slices of up to `max_len` bytes.
    pub fn new(seed: u64, max_len: usize) -> Self {
        let mut rng = Rng::derive(seed, 0x9A77);
        let head: Vec<u8> = (0..PERIOD).map(|_| rng.next_u64() as u8).collect();
        let block = head.iter().copied().cycle().take(PERIOD + max_len).collect();
        Pattern { block }
    }

    /// Bytes `offset..offset + len` of the file (len at most the `max_len` given to `new`).
    pub fn slice(&self, offset: u64, len: usize) -> &[u8] {
        let start = (offset % PERIOD as u64) as usize;
        let end = (start + len).min(self.block.len());
        &self.block[start..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_are_consistent_across_boundaries() {
        let p = Pattern::new(3, 500);
        let whole: Vec<u8> = (0..10_000u64).map(|o| p.slice(o, 1)[0]).collect();
        for off in [0u64, 499, 4092, 4093, 8000] {
            assert_eq!(p.slice(off, 500), &whole[off as usize..off as usize + 500]);
        }
    }
}
