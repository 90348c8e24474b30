//! One mTLS request through the data path (real rustls handshake and HTTP exchange): a fresh
//! connection (the pool emptied by an idle-timeout jump before each request, outside the
//! timing) against a pooled one, with ECDSA P-256 and RSA-2048 workload keys.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use sim::mesh::IDLE_TIMEOUT;

mod common;

fn handshake(c: &mut Criterion) {
    let mut group = c.benchmark_group("handshake");
    let req = common::sleep_to_httpbin();
    for (keys, rsa) in [("ecdsa", false), ("rsa", true)] {
        let mut m = common::handshake_mesh(rsa);
        common::send_mtls(&mut m, &req);
        group.bench_function(format!("{keys}-pooled"), |b| {
            b.iter(|| common::send_mtls(&mut m, &req))
        });
        group.bench_function(format!("{keys}-fresh"), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    // Envoy closes connections idle this long: the next request handshakes.
                    m.advance(IDLE_TIMEOUT);
                    let start = Instant::now();
                    common::send_mtls(&mut m, &req);
                    spent += start.elapsed();
                }
                spent
            })
        });
    }
    group.finish();
}

criterion_group!(benches, handshake);
criterion_main!(benches);
