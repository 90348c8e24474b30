//! The whole scenario library (`scenarios/`), parsed once and run through
//! `harness::run_scenarios` (in parallel on the machine's cores).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use harness::{load_scenarios, run_scenarios, scenario_files, RunOptions, Tree, Verdict};

mod common;

fn suite(c: &mut Criterion) {
    let files = scenario_files(&Tree::Fs, &[common::root().join("scenarios")]).expect("library");
    let scenarios = load_scenarios(&Tree::Fs, &files).expect("library parses");
    let reports = run_scenarios(&scenarios, RunOptions::default());
    assert!(
        reports.iter().all(|r| r.verdict == Verdict::Passed),
        "library passes"
    );
    let mut group = c.benchmark_group(format!("suite-{}", scenarios.len()));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("run", |b| {
        b.iter(|| run_scenarios(&scenarios, RunOptions::default()))
    });
    group.finish();
}

criterion_group!(benches, suite);
criterion_main!(benches);
