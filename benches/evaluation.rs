//! AuthorizationPolicy evaluation at one workload's sidecar: the compiled `AuthzIndex` (reads
//! the workload's namespace and the root namespace) against a scan of every policy in the mesh,
//! on 10 / 1 000 / 10 000 workloads (ten per namespace) with 2 / 200 / 2 000 policies spread
//! round-robin over the namespaces. Building the mesh and the index is outside the timing.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use sim::policy::AuthzIndex;

mod common;

fn evaluation(c: &mut Criterion) {
    let facts = common::authz_facts();
    for workloads in [10usize, 1_000, 10_000] {
        let mut group = c.benchmark_group(format!("evaluation-{workloads}"));
        for policies in [2usize, 200, 2_000] {
            let res = common::authz_mesh(workloads, policies);
            let index = AuthzIndex::build(&res);
            let target = &res.workloads[0];
            assert_eq!(
                index.evaluate(&res, target, &facts),
                AuthzIndex::evaluate_unindexed(&res, target, &facts),
                "index and scan agree"
            );
            group.bench_with_input(BenchmarkId::new("indexed", policies), &policies, |b, _| {
                b.iter(|| index.evaluate(&res, target, &facts))
            });
            group.bench_with_input(BenchmarkId::new("scan", policies), &policies, |b, _| {
                b.iter(|| AuthzIndex::evaluate_unindexed(&res, target, &facts))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, evaluation);
criterion_main!(benches);
