//! One mTLS request through the data path (real rustls handshake and HTTP exchange): a fresh
//! connection (the pool emptied by an idle-timeout jump before each request, outside the
//! timing) against a pooled one, with ECDSA P-256 and RSA-2048 workload keys.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use sim::mesh::{Mesh, MeshOptions, IDLE_TIMEOUT};
use sim::request::RequestSpec;

mod common;

fn mesh(rsa_keys: bool) -> Mesh {
    let opts = MeshOptions {
        rsa_keys,
        // The longest TTL the CA allows, so the idle-timeout jumps rarely trigger rotation.
        cert_ttl: Duration::from_secs(90 * 24 * 3600),
        ..MeshOptions::default()
    };
    Mesh::build(common::sleep_httpbin(), &[], opts).expect("mesh builds")
}

fn request() -> RequestSpec {
    RequestSpec {
        from: "foo/sleep".parse().expect("NS/WORKLOAD"),
        to: "httpbin.foo:8000".parse().expect("HOST:PORT"),
        path: "/headers".into(),
        ..RequestSpec::default()
    }
}

/// Sends one request and checks it really was a successful mTLS exchange.
fn send(mesh: &mut Mesh, req: &RequestSpec) {
    let outcome = mesh.request(req).expect("request runs");
    assert!(
        outcome[0].status.is_success() && outcome[0].mtls,
        "{:?}",
        outcome[0]
    );
}

fn handshake(c: &mut Criterion) {
    let mut group = c.benchmark_group("handshake");
    let req = request();
    for (keys, rsa) in [("ecdsa", false), ("rsa", true)] {
        let mut m = mesh(rsa);
        send(&mut m, &req);
        group.bench_function(format!("{keys}-pooled"), |b| b.iter(|| send(&mut m, &req)));
        group.bench_function(format!("{keys}-fresh"), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    // Envoy closes connections idle this long: the next request handshakes.
                    m.advance(IDLE_TIMEOUT);
                    let start = Instant::now();
                    send(&mut m, &req);
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
