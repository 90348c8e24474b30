//! Workload certificate issuance by the mock CA (key, CSR, signature): ECDSA P-256 against
//! RSA-2048, with a fresh key each time and with the key already generated (CSR and signing
//! only; meshsim caches RSA keys per seed and purpose, as a restarted pod would not).

use sim::vocab::SpiffeId;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use sim::pki::{CertificateAuthority, KeyType};
use sim::SimTime;

fn issuance(c: &mut Criterion) {
    let mut ca = CertificateAuthority::self_signed(1, "cluster.local", SimTime::EPOCH)
        .expect("self-signed CA");
    let spiffe = SpiffeId {
        trust_domain: "cluster.local".into(),
        namespace: "foo".into(),
        service_account: "httpbin".into(),
    };
    let ttl = Duration::from_secs(24 * 3600);
    let mut group = c.benchmark_group("issuance");
    for (name, kt) in [("ecdsa", KeyType::EcdsaP256), ("rsa", KeyType::Rsa2048)] {
        let mut n = 0u64;
        if kt == KeyType::Rsa2048 {
            // RSA-2048 generation takes about half a second; ten samples are plenty.
            group.sample_size(10);
        }
        group.bench_function(format!("{name}-new-key"), |b| {
            b.iter(|| {
                n += 1;
                ca.issue_workload(&spiffe, kt, ttl, SimTime::EPOCH, &format!("bench-{n}"))
                    .expect("issues")
            })
        });
        group.sample_size(100);
        ca.issue_workload(&spiffe, kt, ttl, SimTime::EPOCH, "bench-cached")
            .expect("issues");
        group.bench_function(format!("{name}-cached-key"), |b| {
            b.iter(|| {
                ca.issue_workload(&spiffe, kt, ttl, SimTime::EPOCH, "bench-cached")
                    .expect("issues")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, issuance);
criterion_main!(benches);
