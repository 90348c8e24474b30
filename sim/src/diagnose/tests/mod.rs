//! Rule-by-rule table tests over hand-built Evidence (real certificates from the mock CA, real
//! log lines), and end-to-end tests from a mesh in `end_to_end.rs`.

mod end_to_end;

use crate::vocab::SpiffeId;
use std::path::Path;
use std::time::Duration;

use rustls_pki_types::CertificateDer;

use crate::diagnose::{diagnose, Severity};
use crate::evidence::{Evidence, ProxyEvidence, Role};
use crate::model::{load_str, TlsVersion};
use crate::outcome::Outcome;
use crate::pki::{CertificateAuthority, KeyType};
use crate::request::RequestSpec;
use crate::tls_params::TlsParams;
use crate::vocab::Status;
use crate::vocab::{FindingCode, ResponseFlag};
use crate::SimTime;

const FIXTURE: &str = include_str!("../../../../scenarios/fixtures/sleep-httpbin.yaml");
const T0: SimTime = SimTime(1_000_000);
const DAY: Duration = Duration::from_secs(24 * 3600);

fn ca(seed: u64) -> CertificateAuthority {
    CertificateAuthority::self_signed(seed, "cluster.local", SimTime(0)).expect("CA")
}

fn chain(
    ca: &mut CertificateAuthority,
    sa: &str,
    not_before: SimTime,
) -> Vec<CertificateDer<'static>> {
    let id = SpiffeId {
        trust_domain: "cluster.local".into(),
        namespace: "foo".into(),
        service_account: sa.into(),
    };
    ca.issue_workload(&id, KeyType::EcdsaP256, DAY, not_before, sa)
        .expect("issue")
        .chain
}

fn proxy(
    name: &str,
    role: Role,
    chain: Vec<CertificateDer<'static>>,
    ca: &CertificateAuthority,
) -> ProxyEvidence {
    ProxyEvidence {
        proxy: format!("foo/{name}"),
        role,
        has_sidecar: true,
        secrets_shown: true,
        chain,
        roots: ca.root_bundle().roots,
        clock: T0,
        tls_params: TlsParams::default(),
        agent_log: vec![format!(
            "1970-01-12T13:46:40.000000Z\tinfo\tcache\tgenerated new workload certificate\tresourceName=default latency=0s ttl=24h0m0s"
        )],
    }
}

fn connect_failure(tls_error: &str) -> Outcome {
    let mut o = Outcome::with_status(Status::Http(503));
    o.response_flags = vec![
        ResponseFlag::UpstreamConnectionFailure,
        ResponseFlag::UpstreamRetryLimitExceeded,
    ];
    o.tls_error = Some(tls_error.into());
    o
}

/// A healthy pair (foo/sleep -> foo/httpbin, same CA, valid certificates) with `outcome`.
fn healthy(outcome: Outcome) -> Evidence {
    let mut ca = ca(1);
    let src = proxy(
        "sleep",
        Role::Source,
        chain(&mut ca, "sleep", T0.offset(-60)),
        &ca,
    );
    let dst = proxy(
        "httpbin",
        Role::Destination,
        chain(&mut ca, "httpbin", T0.offset(-60)),
        &ca,
    );
    Evidence {
        resources: load_str(FIXTURE, Path::new("fixture.yaml")).expect("fixture"),
        request: RequestSpec {
            from: "foo/sleep".parse().expect("NS/WORKLOAD"),
            to: "httpbin.foo:8000".parse().expect("HOST:PORT"),
            ..RequestSpec::default()
        },
        outcome,
        proxies: vec![src, dst],
        istiod_log: Vec::new(),
        mesh_time: T0,
    }
}

fn unavailable_line() -> String {
    "1970-01-12T13:46:41.000000Z\terror\tcache\tresource:default failed to sign: create certificate: rpc error: code = Unavailable desc = connection error".into()
}

type Edit = fn(&mut Evidence);

#[test]
fn each_rule_names_its_code_from_hand_built_evidence() {
    let cases: Vec<(&str, Edit, FindingCode)> = vec![
        (
            "client without a certificate",
            |e| e.proxies[0].chain.clear(),
            FindingCode::WorkloadCertMissing,
        ),
        (
            "server without a certificate",
            |e| e.proxies[1].chain.clear(),
            FindingCode::WorkloadCertMissing,
        ),
        (
            "server certificate past notAfter on the client's clock",
            |e| e.proxies[0].clock = T0.plus(2 * DAY),
            FindingCode::WorkloadCertExpired,
        ),
        (
            "client clock before the server's notBefore",
            |e| e.proxies[0].clock = T0.offset(-3600),
            FindingCode::WorkloadCertNotYetValid,
        ),
        (
            "proxies trusting different roots",
            |e| {
                let mut other = ca(2);
                e.proxies[1].chain = chain(&mut other, "httpbin", T0.offset(-60));
                e.proxies[1].roots = other.root_bundle().roots;
            },
            FindingCode::RootCertMismatch,
        ),
        (
            "a chain from a CA nobody trusts",
            |e| {
                let mut other = ca(3);
                e.proxies[1].chain = chain(&mut other, "httpbin", T0.offset(-60));
            },
            FindingCode::UntrustedPeerCertificate,
        ),
        (
            "TLS 1.3-only server and TLS 1.2-only client",
            |e| {
                e.proxies[1].tls_params.min_version = TlsVersion::Tls13;
                e.proxies[0].tls_params.max_version = TlsVersion::Tls12;
            },
            FindingCode::NoSharedCipher,
        ),
        (
            "TLS 1.2 only with disjoint suites",
            |e| {
                for (p, s) in [
                    (0, "ECDHE-ECDSA-AES128-GCM-SHA256"),
                    (1, "ECDHE-ECDSA-AES256-GCM-SHA384"),
                ] {
                    e.proxies[p].tls_params.max_version = TlsVersion::Tls12;
                    e.proxies[p].tls_params.cipher_suites = vec![s.parse().unwrap()];
                }
            },
            FindingCode::NoSharedCipher,
        ),
        (
            "agent cannot reach istiod and has no certificate",
            |e| {
                e.proxies[1].chain.clear();
                e.proxies[1].agent_log.push(unavailable_line());
            },
            FindingCode::ControlPlaneUnavailable,
        ),
        (
            "agent rate-limited",
            |e| {
                e.proxies[1].chain.clear();
                e.proxies[1].agent_log.push("t\terror\tcache\tresource:default failed to sign: create certificate: rpc error: code = ResourceExhausted desc = rate limit exceeded".into());
            },
            FindingCode::CsrRateLimited,
        ),
        (
            "istiod may not create TokenReviews",
            |e| {
                e.proxies[1].chain.clear();
                e.proxies[1].agent_log.push("t\terror\tcache\tresource:default failed to sign: create certificate: rpc error: code = Unauthenticated desc = request authenticate failure".into());
                e.istiod_log.push("t\terror\tFailed to authenticate client from 10.244.0.3:40000: ...: tokenreviews.authentication.k8s.io is forbidden".into());
            },
            FindingCode::CsrRbacDenied,
        ),
        (
            "the pod's service account is gone",
            |e| {
                e.proxies[1].chain.clear();
                e.proxies[1].agent_log.push("t\terror\tcache\tresource:default failed to sign: create certificate: rpc error: code = Unauthenticated desc = request authenticate failure".into());
                e.istiod_log.push("t\terror\tFailed to authenticate client from 10.244.0.3:40000: ...: the token is not authenticated".into());
                e.resources
                    .service_accounts
                    .retain(|s| !(s.meta.namespace == "foo" && s.meta.name == "httpbin"));
            },
            FindingCode::CsrServiceAccountMissing,
        ),
        (
            "the CA signing certificate expired",
            |e| {
                e.proxies[1].chain.clear();
                e.proxies[1].agent_log.push("t\terror\tcache\tresource:default failed to sign: create certificate: rpc error: code = Internal desc = CSR signing error (failed to sign the CSR: the CA signing certificate expired at x (now y))".into());
            },
            FindingCode::CaCertExpired,
        ),
    ];
    for (name, edit, code) in cases {
        let mut ev = healthy(connect_failure("CERTIFICATE_VERIFY_FAILED"));
        edit(&mut ev);
        let found = diagnose(&ev);
        let hit = found.iter().find(|f| f.code == code);
        assert!(
            hit.is_some_and(|f| f.severity == Severity::Error && !f.evidence.is_empty()),
            "{name}: expected {code}, got {:?}",
            found.iter().map(|f| &f.code).collect::<Vec<_>>()
        );
    }
}

#[test]
fn healthy_evidence_of_a_failed_request_names_no_certificate_code() {
    let found = diagnose(&healthy(connect_failure("CERTIFICATE_VERIFY_FAILED")));
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn certificate_rules_stay_quiet_when_the_connection_succeeded() {
    let mut ev = healthy(Outcome::with_status(Status::Http(200)));
    ev.proxies[0].chain.clear();
    ev.proxies[1].clock = T0.plus(2 * DAY);
    assert!(diagnose(&ev).is_empty());
}

#[test]
fn a_failed_csr_followed_by_a_success_explains_nothing() {
    let mut ev = healthy(connect_failure("CERTIFICATE_VERIFY_FAILED"));
    let ok = ev.proxies[1].agent_log[0].clone();
    ev.proxies[1].agent_log = vec![unavailable_line(), ok];
    assert!(diagnose(&ev)
        .iter()
        .all(|f| f.code != FindingCode::ControlPlaneUnavailable));
}

#[test]
fn an_outage_with_a_valid_certificate_is_a_warning() {
    let mut ev = healthy(Outcome::with_status(Status::Http(200)));
    ev.proxies[1].agent_log.push(unavailable_line());
    let found = diagnose(&ev);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].code, found[0].severity),
        (FindingCode::ControlPlaneUnavailable, Severity::Warning)
    );
}

#[test]
fn findings_are_ordered_errors_first_then_by_code() {
    let mut ev = healthy(connect_failure("CERTIFICATE_VERIFY_FAILED"));
    ev.proxies[0].chain.clear();
    ev.proxies[1].tls_params.min_version = TlsVersion::Tls13;
    ev.proxies[0].tls_params.max_version = TlsVersion::Tls12;
    let found = diagnose(&ev);
    let keys: Vec<(Severity, FindingCode)> = found.iter().map(|f| (f.severity, f.code)).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert!(keys.len() >= 2, "{keys:?}");
}

#[test]
fn unparsable_certificates_and_unknown_workloads_are_not_a_panic() {
    let mut ev = healthy(connect_failure("CERTIFICATE_VERIFY_FAILED"));
    ev.proxies[1].chain = vec![CertificateDer::from(vec![0x30, 0x03, 0x01, 0x01, 0xff])];
    ev.proxies[0].roots = vec![CertificateDer::from(b"not der".to_vec())];
    let _ = diagnose(&ev);
    ev.request.from = "nowhere/ghost".parse().expect("NS/WORKLOAD");
    ev.request.to = "no-such-host:1".parse().expect("HOST:PORT");
    let _ = diagnose(&ev);
}
