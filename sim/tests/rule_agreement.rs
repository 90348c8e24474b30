//! One Istio rule, one implementation: for each rule the analysis path, the data path and the
//! diagnosis used to implement separately, a case where the copies disagreed, now judged the
//! same by every caller.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls_pki_types::ServerName;
use sim::analysis::Analyzer;
use sim::diagnose::diagnose;
use sim::mesh::MeshOptions;
use sim::model::{load_str, TlsVersion};
use sim::pki::WorkloadCert;
use sim::pki::{verify_chain, Usage};
use sim::policy::PodIps;
use sim::proxy::testing::{rsa_test_key, TestCa};
use sim::proxy::{SpiffeClientVerifier, SpiffeServerVerifier};
use sim::request::RequestSpec;
use sim::tls_params::{CipherSuite, TlsParamsOverride};
use sim::vocab::{FindingCode, ResponseFlag};
use sim::{Fault, Mesh, SimTime};

const FIXTURE: &str = include_str!("../../scenarios/fixtures/sleep-httpbin.yaml");

/// The sleep/httpbin fixture plus `policies`, with `faults` at build, and a GET to send in it.
fn mesh_and_request(
    policies: &str,
    faults: &[Fault],
) -> (Mesh, impl Fn(&str, &str) -> RequestSpec) {
    let res = load_str(&[FIXTURE, policies].join("\n---\n"), Path::new("<test>")).unwrap();
    let mesh = Mesh::build(res, faults, MeshOptions::default()).expect("mesh builds");
    let get = |from: &str, to: &str| RequestSpec {
        from: from.parse().expect("NS/WORKLOAD"),
        to: to.parse().expect("HOST:PORT"),
        ..RequestSpec::default()
    };
    (mesh, get)
}

fn tls12_only(workload: &str, suites: &[&str]) -> Fault {
    Fault::TlsParams {
        workload: workload.into(),
        params: TlsParamsOverride {
            min_version: None,
            max_version: Some(TlsVersion::Tls12),
            cipher_suites: suites.iter().map(|s| s.parse().unwrap()).collect(),
        },
    }
}

/// Cipher-suite expansion. With meshsim's ECDSA workload keys a real Envoy cannot use the
/// static-RSA `AES128-GCM-SHA256` either (BoringSSL needs an RSA certificate for it), so the
/// handshake fails in a cluster as in meshsim; the diagnosis used to see the shared name and
/// stay silent.
#[test]
fn a_tls12_pair_sharing_only_aes128_gcm_sha256_fails_and_is_diagnosed_no_shared_cipher() {
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "each side also lists a suite rustls implements",
            &["AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"],
            &["AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384"],
        ),
        (
            "only the static-RSA suite",
            &["AES128-GCM-SHA256"],
            &["AES128-GCM-SHA256"],
        ),
        (
            "only an RSA suite, ECDSA certificates",
            &["ECDHE-RSA-AES128-GCM-SHA256"],
            &["ECDHE-RSA-AES128-GCM-SHA256"],
        ),
    ];
    for (name, client, server) in cases {
        let faults = [
            tls12_only("foo/sleep", client),
            tls12_only("foo/httpbin", server),
        ];
        let (mut m, get) = mesh_and_request("", &faults);
        let req = get("foo/sleep", "httpbin.foo:8000");
        let outcome = m
            .request(&req)
            .expect("request is valid")
            .into_first()
            .expect("one outcome");
        assert!(
            !outcome.status.is_success()
                && outcome
                    .response_flags
                    .contains(&ResponseFlag::UpstreamConnectionFailure),
            "{name}: the data path connects: {outcome:?}"
        );
        let findings = diagnose(&m.evidence(&req, &outcome));
        assert!(
            findings
                .iter()
                .any(|f| f.code == FindingCode::NoSharedCipher),
            "{name}: no NoSharedCipher among {:?}",
            findings.iter().map(|f| &f.code).collect::<Vec<_>>()
        );
    }
}

#[test]
fn an_unknown_cipher_in_a_fault_is_an_input_error() {
    assert!("ECDHE-FANCY".parse::<CipherSuite>().is_err());
    let err = Fault::parse_spec("tls-params:workload=foo/sleep,cipher_suites=ECDHE-FANCY");
    assert!(err.is_err(), "{err:?}");
}

/// A policy on httpbin in `ns` with one `from.source` field naming the block `ip/32`.
fn ip_policy(ns: &str, action: &str, field: &str, ip: IpAddr) -> String {
    format!(
        "
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: by-ip, namespace: {ns}}}
spec:
  selector: {{matchLabels: {{app: httpbin}}}}
  action: {action}
  rules:
    - from: [{{source: {{{field}: [{ip}/32]}}}}]
"
    )
}

/// Authorization request facts: the analysis used to evaluate with no source IP, so an
/// `ipBlocks` ALLOW denied in `matrix`/`explain` what `probe` let through.
#[test]
fn ip_block_rules_are_predicted_as_the_data_path_decides_them() {
    let (probe, _) = mesh_and_request("", &[]);
    let sleep_ip = PodIps::build(probe.resources()).get("foo", "sleep");
    let policies = [
        ip_policy("foo", "ALLOW", "ipBlocks", sleep_ip),
        ip_policy("bar", "DENY", "notIpBlocks", sleep_ip),
    ];
    let (mut m, get) = mesh_and_request(&policies.join("\n---\n"), &[]);
    let cases = [
        ("foo/sleep", "httpbin.foo:8000", 200),
        ("bar/httpbin", "httpbin.foo:8000", 403),
        ("foo/sleep", "httpbin.bar:8000", 200),
        ("foo/httpbin", "httpbin.bar:8000", 403),
    ];
    let res = m.resources().clone();
    let analyzer = Analyzer::new(&res);
    for (from, to, want) in cases {
        let req = get(from, to);
        let predicted = analyzer.predict(&req).expect("valid request");
        let observed = m
            .request(&req)
            .expect("valid request")
            .into_first()
            .expect("one outcome");
        assert_eq!(
            (predicted.status, &predicted.details),
            (observed.status, &observed.details),
            "{from} -> {to}"
        );
        assert_eq!(
            observed.status.to_string(),
            want.to_string(),
            "{from} -> {to}"
        );
    }
}

/// Certificate chain verification: the diagnosis and the handshake's verifiers run one webpki
/// call with one algorithm set (the data path's rustls provider's).
#[test]
fn the_diagnosis_and_the_handshake_judge_every_chain_alike() {
    let now = SimTime::EPOCH.offset(3600);
    let ca = TestCa::mesh_root("mesh");
    let other = TestCa::mesh_root("other");
    let plugin = ca.intermediate("plug-in");
    let id = "spiffe://cluster.local/ns/foo/sa/httpbin";
    let leaf_with =
        |key: rcgen::KeyPair| ca.issue_with_key(id, now.offset(-120), now.offset(3600), key);
    let generated = |alg| rcgen::KeyPair::generate_for(alg).expect("ring generates it");
    let cases: Vec<(&str, WorkloadCert)> = vec![
        ("P-256 leaf", ca.workload(id, now)),
        (
            "P-384 leaf",
            leaf_with(generated(&rcgen::PKCS_ECDSA_P384_SHA384)),
        ),
        ("Ed25519 leaf", leaf_with(generated(&rcgen::PKCS_ED25519))),
        ("RSA 2048 leaf", leaf_with(rsa_test_key(0))),
        ("through an intermediate", plugin.workload(id, now)),
        ("expired", ca.issue(id, now.offset(-7200), now.offset(-60))),
        ("from another root", other.workload(id, now)),
    ];
    let bundle = ca.bundle();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_side = SpiffeServerVerifier::new(&bundle, vec![], now, provider.clone()).unwrap();
    let client_side = SpiffeClientVerifier::new(&bundle, vec![], now, provider).unwrap();
    let name = ServerName::try_from("unused.invalid").unwrap();
    for (case, cert) in cases {
        let (leaf, rest) = cert.chain.split_first().unwrap();
        let handshake = server_side
            .verify_server_cert(leaf, rest, &name, &[], now.to_unix_time())
            .is_ok();
        let diagnosis = verify_chain(&cert.chain, &bundle, now, Usage::Server).is_ok();
        assert_eq!(handshake, diagnosis, "{case}: server certificate");
        let handshake = client_side
            .verify_client_cert(leaf, rest, now.to_unix_time())
            .is_ok();
        let diagnosis = verify_chain(&cert.chain, &bundle, now, Usage::Client).is_ok();
        assert_eq!(handshake, diagnosis, "{case}: client certificate");
    }
}
