//! AuthorizationPolicy evaluation at one workload's sidecar: the compiled `AuthzIndex` (reads
//! the workload's namespace and the root namespace) against a scan of every policy in the mesh,
//! on 10 / 1 000 / 10 000 workloads (ten per namespace) with 2 / 200 / 2 000 policies spread
//! round-robin over the namespaces. Building the mesh and the index is outside the timing.

use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use sim::model::{load_str, Resources};
use sim::policy::{AuthzIndex, HttpFacts, RequestFacts};

const TEMPLATE: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: w0
  namespace: ns0
spec:
  selector:
    matchLabels:
      app: w0
  template:
    metadata:
      labels:
        app: w0
    spec:
      serviceAccountName: sleep
      containers:
      - name: app
        image: app
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: p0
  namespace: ns0
spec:
  action: ALLOW
  selector:
    matchLabels:
      app: w0
  rules:
  - from:
    - source:
        principals: [\"cluster.local/ns/ns0/sa/other\"]
    to:
    - operation:
        methods: [\"POST\"]
        paths: [\"/admin*\"]
";

/// `workloads` workloads, ten per namespace, and `policies` policies round-robin over the
/// namespaces, each selecting one workload of its namespace; every fifth is a DENY.
fn mesh(workloads: usize, policies: usize) -> Resources {
    let template = load_str(TEMPLATE, Path::new("evaluation.yaml")).expect("template loads");
    let mut res = template.clone();
    res.workloads.clear();
    res.authorization_policies.clear();
    let namespaces = workloads.div_ceil(10);
    for i in 0..workloads {
        let mut w = template.workloads[0].clone();
        w.meta.name = format!("w{}", i % 10);
        w.meta.namespace = format!("ns{}", i / 10);
        w.pod_labels.insert("app".into(), w.meta.name.clone());
        res.workloads.push(w);
    }
    for j in 0..policies {
        let mut p = template.authorization_policies[0].clone();
        p.meta.name = format!("p{j}");
        p.meta.namespace = format!("ns{}", j % namespaces);
        if let Some(sel) = p.spec.selector.as_mut() {
            sel.match_labels
                .insert("app".into(), format!("w{}", (j / namespaces) % 10));
        }
        if j % 5 == 4 {
            p.spec.action = sim::model::AuthzAction::Deny;
        }
        res.authorization_policies.push(p);
    }
    res
}

fn evaluation(c: &mut Criterion) {
    let facts = RequestFacts {
        principal: Some("cluster.local/ns/ns0/sa/sleep".into()),
        destination_port: 80,
        http: Some(HttpFacts {
            method: "GET".into(),
            path: "/api/items".into(),
            host: "w0.ns0:80".into(),
            ..HttpFacts::default()
        }),
        ..RequestFacts::default()
    };
    for workloads in [10usize, 1_000, 10_000] {
        let mut group = c.benchmark_group(format!("evaluation-{workloads}"));
        for policies in [2usize, 200, 2_000] {
            let res = mesh(workloads, policies);
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
