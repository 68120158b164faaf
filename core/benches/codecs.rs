//! Codec throughput: emit and parse a 500-byte DATA in both dialects, and the checksums.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use p2mp_core::wire::{internet_checksum, text_checksum};
use p2mp_core::{Dialect, Packet};
use std::hint::black_box;

fn codecs(c: &mut Criterion) {
    let payload: Vec<u8> = (0..500u32).map(|i| (i * 7 + 3) as u8).collect();
    let mut g = c.benchmark_group("codec");
    g.throughput(Throughput::Bytes(payload.len() as u64));
    g.bench_function("internet_checksum_500", |b| b.iter(|| internet_checksum(black_box(&payload))));
    g.bench_function("text_checksum_500", |b| b.iter(|| text_checksum(black_box(&payload))));
    for dialect in [Dialect::Binary, Dialect::Text] {
        let mut buf = Vec::with_capacity(600);
        g.bench_function(format!("{dialect}_emit_data_500"), |b| {
            b.iter(|| {
                buf.clear();
                dialect.emit(&Packet::Data { seq: black_box(42), payload: &payload }, &mut buf).ok();
                buf.len()
            })
        });
        let mut wire = Vec::new();
        dialect.emit(&Packet::Data { seq: 42, payload: &payload }, &mut wire).ok();
        g.bench_function(format!("{dialect}_parse_data_500"), |b| {
            b.iter(|| dialect.parse(black_box(&wire)).is_ok())
        });
    }
    g.finish();
}

criterion_group!(benches, codecs);
criterion_main!(benches);
