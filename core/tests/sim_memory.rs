//! The simulator's memory stays flat with file size: it needs a file's length, not its bytes
//! (`sim::Pattern` stands in for the contents), and with tracing off (as the experiments run
//! it, `SimConfig::trace = false`) it keeps nothing per segment.
//!
//! A counting global allocator measures the peak of live heap bytes during a run. It is its own
//! test binary so the allocator counts nothing but this, and it has a single test so no other
//! thread allocates while it measures.

use core::time::Duration;
use p2mp_core::sim::{LinkConfig, SimConfig, Simulation};
use p2mp_core::RtoPolicy;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting live bytes and their high-water mark.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded unchanged to `System`; the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Simulates a transfer of `file_size` bytes, traced or not; returns the peak heap bytes the
/// run added over what was live before it, and the segments it sent.
fn peak_of(file_size: u64, trace: bool) -> (usize, u64) {
    let cfg = SimConfig {
        file_size,
        mss: 60_000,
        receivers: 2,
        loss: 0.01,
        seed: 7,
        policy: RtoPolicy::Fixed { timeout: Duration::from_millis(100) },
        link: LinkConfig::with_delay(Duration::from_millis(5)),
        max_timeouts: 1000,
        trace,
        ..SimConfig::default()
    };
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let mut sim = Simulation::new(cfg).expect("valid configuration");
    let r = sim.run();
    let peak = PEAK.load(Ordering::Relaxed) - before;
    assert!(r.receivers.iter().all(|x| x.intact), "{file_size} bytes arrive intact");
    assert!(r.totals.retransmissions > 0, "the loss service acts");
    assert_eq!(sim.trace().is_empty(), !trace);
    (peak, r.totals.segments)
}

#[test]
fn untraced_simulation_memory_does_not_grow_with_file_size() {
    let (small, small_segments) = peak_of(10_000_000, false);
    let (big, big_segments) = peak_of(1_000_000_000, false);
    assert_eq!((small_segments, big_segments), (167, 16_667));
    eprintln!("peak heap: 10 MB file {small} bytes, 1 GB file {big} bytes");
    // A hundred times the file, a hundred times the segments, the same memory: the 1 GB run
    // may use at most 1 MiB more than the 10 MB one (it needs none; a per-segment record of
    // even 64 bytes would take ~2 MiB here).
    assert!(big <= small + (1 << 20), "peak heap grew from {small} to {big} bytes with the file size");
    // And the 10 MB run itself is small: a few datagram buffers, not the file.
    assert!(small < 2 << 20, "peak heap {small} bytes for a 10 MB file");
    // The measurement can tell: traced, the same 1 GB run keeps its events and grows by far
    // more than the margin.
    let (traced, _) = peak_of(1_000_000_000, true);
    assert!(traced > big + (4 << 20), "a traced run peaks at {traced} bytes, untraced {big}");
}
