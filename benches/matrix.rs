//! The connectivity matrix of the sleep/httpbin fixture: the analysis path (configuration
//! only) against `--handshake` (a real exchange per flow on a freshly built mesh).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use sim::analysis::matrix;
use sim::mesh::matrix_handshake;
use sim::mesh::{Mesh, MeshOptions};

mod common;

fn matrices(c: &mut Criterion) {
    let res = common::sleep_httpbin();
    let mut group = c.benchmark_group("matrix");
    group.bench_function("analysis", |b| b.iter(|| matrix(&res).expect("matrix")));
    group.bench_function("handshake", |b| {
        b.iter_batched(
            || Mesh::build(res.clone(), &[], MeshOptions::default()).expect("mesh builds"),
            |mut mesh| matrix_handshake(&mut mesh).expect("matrix"),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, matrices);
criterion_main!(benches);
