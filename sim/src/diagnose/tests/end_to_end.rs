//! One mesh per failure mode: the state is produced by YAML and faults, the request goes
//! through the data path, and the engine must name the code from `Mesh::evidence` alone (the
//! fault list is never passed to it).

use std::path::Path;
use std::time::Duration;

use crate::diagnose::{diagnose, Finding, Severity};
use crate::mesh::MeshOptions;
use crate::model::{load_str, TlsVersion};
use crate::request::RequestSpec;
use crate::vocab::FindingCode;
use crate::vocab::Protocol;
use crate::{Fault, Mesh};

const FIXTURE: &str = include_str!("../../../../scenarios/fixtures/sleep-httpbin.yaml");
const TCP_ECHO: &str = include_str!("../../../../scenarios/fixtures/tcp-echo.yaml");

const STRICT_FOO: &str = "
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: foo}
spec:
  mtls: {mode: STRICT}
";

fn dr(ns: &str, tls: &str) -> String {
    format!(
        "
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: httpbin, namespace: {ns}}}
spec:
  host: httpbin.foo.svc.cluster.local
  trafficPolicy:
    tls: {tls}
"
    )
}

fn allow(principals: &str) -> String {
    format!(
        "
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: allow-sleep, namespace: foo}}
spec:
  selector:
    matchLabels: {{app: httpbin}}
  action: ALLOW
  rules:
    - from:
        - source:
            principals: [{principals}]
"
    )
}

/// A mesh from the fixture plus `extra` YAML, with `faults` at build.
fn mesh(extra: &[&str], faults: &[Fault]) -> Mesh {
    let mut text = FIXTURE.to_string();
    for doc in extra {
        text.push_str("\n---\n");
        text.push_str(doc);
    }
    let res = load_str(&text, Path::new("<test>")).expect("test YAML loads");
    Mesh::build(res, faults, MeshOptions::default()).expect("mesh builds")
}

fn get(from: &str, to: &str) -> RequestSpec {
    RequestSpec {
        from: from.parse().expect("NS/WORKLOAD"),
        to: to.parse().expect("HOST:PORT"),
        path: "/headers".into(),
        ..RequestSpec::default()
    }
}

/// Sends `req` and diagnoses its first failed outcome (else the first).
fn findings(mesh: &mut Mesh, req: &RequestSpec) -> Vec<Finding> {
    let outcomes = mesh.request(req).expect("request is valid");
    let o = outcomes
        .first_failure_or_first()
        .expect("at least one outcome");
    diagnose(&mesh.evidence(req, o))
}

fn codes(f: &[Finding]) -> Vec<FindingCode> {
    f.iter().map(|f| f.code).collect()
}

#[track_caller]
fn assert_names(f: &[Finding], code: FindingCode) {
    let hit = f.iter().find(|f| f.code == code);
    assert!(hit.is_some(), "{code} not among {:?}", codes(f));
    let hit = hit.unwrap();
    assert!(!hit.evidence.is_empty(), "{code} quotes no evidence");
    assert!(!hit.remedy.is_empty(), "{code} has no remedy");
}

fn missing_cert(w: &str) -> Fault {
    Fault::MissingCert { workload: w.into() }
}

#[test]
fn plaintext_client_against_strict_is_plaintext_to_strict() {
    let mut m = mesh(&[STRICT_FOO], &[]);
    let f = findings(&mut m, &get("legacy/sleep", "httpbin.foo:8000"));
    assert_names(&f, FindingCode::PlaintextToStrict);
    let pa = f
        .iter()
        .find(|f| f.code == FindingCode::PlaintextToStrict)
        .unwrap();
    assert!(
        pa.evidence
            .iter()
            .any(|l| l.contains("PeerAuthentication/foo/default")),
        "{:?}",
        pa.evidence
    );
}

#[test]
fn destination_rule_tls_modes_against_strict_are_named() {
    for (tls, code) in [
        ("{mode: DISABLE}", FindingCode::DestinationRuleTlsDisable),
        ("{mode: SIMPLE, insecureSkipVerify: true}", FindingCode::DestinationRuleTlsSimple),
        (
            "{mode: MUTUAL, clientCertificate: /etc/c.pem, privateKey: /etc/k.pem, insecureSkipVerify: true}",
            FindingCode::DestinationRuleTlsMutualExternal,
        ),
    ] {
        let rule = dr("foo", tls);
        let mut m = mesh(&[STRICT_FOO, &rule], &[]);
        assert_names(&findings(&mut m, &get("foo/sleep", "httpbin.foo:8000")), code);
    }
}

#[test]
fn istio_mutual_to_non_mesh_and_disabled_servers_are_named() {
    let rule = "
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: httpbin-legacy, namespace: foo}
spec:
  host: httpbin.legacy.svc.cluster.local
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
";
    let mut m = mesh(&[rule], &[]);
    assert_names(
        &findings(&mut m, &get("foo/sleep", "httpbin.legacy:8000")),
        FindingCode::MtlsToNonMeshWorkload,
    );
    let disable = STRICT_FOO.replace("STRICT", "DISABLE");
    let rule = dr("bar", "{mode: ISTIO_MUTUAL}");
    let mut m = mesh(&[&disable, &rule], &[]);
    assert_names(
        &findings(&mut m, &get("bar/sleep", "httpbin.foo:8000")),
        FindingCode::MtlsToDisabledServer,
    );
}

#[test]
fn pinned_subject_alt_names_of_another_account_is_server_identity_mismatch() {
    let rule = dr(
        "foo",
        "{mode: ISTIO_MUTUAL, subjectAltNames: [spiffe://cluster.local/ns/foo/sa/httpbin-prod]}",
    );
    let mut m = mesh(&[&rule], &[]);
    assert_names(
        &findings(&mut m, &get("foo/sleep", "httpbin.foo:8000")),
        FindingCode::ServerIdentityMismatch,
    );
}

#[test]
fn service_without_endpoints_is_no_healthy_upstream() {
    let svc = "
apiVersion: v1
kind: Service
metadata: {name: ghost, namespace: foo}
spec:
  selector: {app: ghost}
  ports: [{name: http, port: 8000, targetPort: 80}]
";
    let mut m = mesh(&[svc], &[]);
    assert_names(
        &findings(&mut m, &get("foo/sleep", "ghost.foo:8000")),
        FindingCode::NoHealthyUpstream,
    );
}

#[test]
fn deny_policy_match_says_an_allow_cannot_override_it() {
    let deny = "
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-bar, namespace: foo}
spec:
  selector:
    matchLabels: {app: httpbin}
  action: DENY
  rules:
    - from:
        - source:
            namespaces: [bar]
";
    let allow_bar = allow("\"cluster.local/ns/bar/sa/sleep\"");
    let mut m = mesh(&[deny, &allow_bar], &[]);
    let f = findings(&mut m, &get("bar/sleep", "httpbin.foo:8000"));
    assert_names(&f, FindingCode::DenyPolicyMatched);
    let d = f
        .iter()
        .find(|f| f.code == FindingCode::DenyPolicyMatched)
        .unwrap();
    assert!(d.message.contains("cannot override"), "{}", d.message);
    assert!(d.message.contains("AuthorizationPolicy/foo/allow-sleep"));
}

#[test]
fn allow_principals_are_refined_by_account_and_trust_domain() {
    let wrong_sa = allow("\"cluster.local/ns/foo/sa/other\"");
    let mut m = mesh(&[&wrong_sa], &[]);
    let f = findings(&mut m, &get("foo/sleep", "httpbin.foo:8000"));
    assert_names(&f, FindingCode::PrincipalServiceAccountMismatch);
    assert!(!codes(&f).contains(&FindingCode::NoAllowPolicyMatched));

    let old_td = allow("\"old-td/ns/foo/sa/sleep\"");
    let mut m = mesh(&[&old_td], &[]);
    assert_names(
        &findings(&mut m, &get("foo/sleep", "httpbin.foo:8000")),
        FindingCode::TrustDomainMismatch,
    );

    // A caller from another namespace is simply not listed.
    let mut m = mesh(&[&wrong_sa], &[]);
    assert_names(
        &findings(&mut m, &get("bar/sleep", "httpbin.foo:8000")),
        FindingCode::NoAllowPolicyMatched,
    );
}

#[test]
fn principal_rule_against_plaintext_caller_requires_mtls() {
    let p = allow("\"cluster.local/ns/foo/sa/sleep\"");
    let mut m = mesh(&[&p], &[]);
    assert_names(
        &findings(&mut m, &get("legacy/sleep", "httpbin.foo:8000")),
        FindingCode::PrincipalRequiresMtls,
    );
}

#[test]
fn pool_overflow_under_concurrency_is_circuit_breaker_open() {
    let rule = "
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: httpbin, namespace: foo}
spec:
  host: httpbin.foo.svc.cluster.local
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 1}
      http: {http1MaxPendingRequests: 1}
";
    let mut m = mesh(&[rule], &[]);
    let req = RequestSpec {
        count: 10,
        concurrency: 10,
        ..get("foo/sleep", "httpbin.foo:8000")
    };
    let f = findings(&mut m, &req);
    assert_names(&f, FindingCode::CircuitBreakerOpen);
    assert!(f[0]
        .evidence
        .iter()
        .any(|l| l.contains("DestinationRule/foo/httpbin")));
}

#[test]
fn proxies_without_certificates_are_workload_cert_missing() {
    for w in ["foo/sleep", "foo/httpbin"] {
        let mut m = mesh(&[], &[missing_cert(w)]);
        let f = findings(&mut m, &get("foo/sleep", "httpbin.foo:8000"));
        assert_names(&f, FindingCode::WorkloadCertMissing);
        let hit = f
            .iter()
            .find(|f| f.code == FindingCode::WorkloadCertMissing)
            .unwrap();
        assert!(hit.message.contains(w), "{}", hit.message);
    }
}

#[test]
fn expired_and_not_yet_valid_certificates_are_named() {
    for w in ["foo/sleep", "foo/httpbin"] {
        let mut m = mesh(&[], &[Fault::ExpiredCert { workload: w.into() }]);
        assert_names(
            &findings(&mut m, &get("foo/sleep", "httpbin.foo:8000")),
            FindingCode::WorkloadCertExpired,
        );
    }
    let skew = Fault::ClockSkew {
        workload: "foo/sleep".into(),
        offset_secs: -3600,
    };
    let mut m = mesh(&[], &[skew]);
    assert_names(
        &findings(&mut m, &get("foo/sleep", "httpbin.foo:8000")),
        FindingCode::WorkloadCertNotYetValid,
    );
}

#[test]
fn root_faults_are_named_from_bundles_and_chains() {
    let mut m = mesh(&[], &[]);
    m.inject(&Fault::ExpireRoot).unwrap();
    assert_names(
        &findings(&mut m, &get("foo/sleep", "httpbin.foo:8000")),
        FindingCode::RootCertExpired,
    );

    let mut m = mesh(&[], &[]);
    m.inject(&Fault::RotateRoot {
        restart: vec!["foo/sleep".into()],
    })
    .unwrap();
    assert_names(
        &findings(&mut m, &get("foo/sleep", "httpbin.foo:8000")),
        FindingCode::RootCertMismatch,
    );

    let mut m = mesh(
        &[],
        &[Fault::PluginCa {
            trust_bundle: false,
        }],
    );
    assert_names(
        &findings(&mut m, &get("foo/sleep", "httpbin.foo:8000")),
        FindingCode::CustomCaTrustBundleMissing,
    );
}

#[test]
fn disjoint_tls_parameters_are_no_shared_cipher() {
    let params = |w: &str, min: Option<TlsVersion>, max: Option<TlsVersion>| Fault::TlsParams {
        workload: w.into(),
        params: crate::tls_params::TlsParamsOverride {
            min_version: min,
            max_version: max,
            cipher_suites: Vec::new(),
        },
    };
    let mut m = mesh(
        &[],
        &[
            params("foo/httpbin", Some(TlsVersion::Tls13), None),
            params("foo/sleep", None, Some(TlsVersion::Tls12)),
        ],
    );
    assert_names(
        &findings(&mut m, &get("foo/sleep", "httpbin.foo:8000")),
        FindingCode::NoSharedCipher,
    );
}

#[test]
fn control_plane_causes_are_read_from_the_logs() {
    let day = Duration::from_secs(25 * 3600);
    let cases: Vec<(Fault, FindingCode)> = vec![
        (Fault::IstiodDown, FindingCode::ControlPlaneUnavailable),
        (Fault::IstiodRbacDenied, FindingCode::CsrRbacDenied),
        (Fault::ExpireCaCert, FindingCode::CaCertExpired),
        (
            Fault::DeleteServiceAccount {
                namespace: "foo".into(),
                name: "httpbin".into(),
            },
            FindingCode::CsrServiceAccountMissing,
        ),
    ];
    for (fault, code) in cases {
        let mut m = mesh(&[], &[]);
        m.inject(&fault).unwrap();
        m.advance(day);
        let f = findings(&mut m, &get("foo/sleep", "httpbin.foo:8000"));
        assert_names(&f, code);
        assert_names(&f, FindingCode::WorkloadCertExpired);
        let hit = f.iter().find(|f| f.code == code).unwrap();
        assert_eq!(hit.severity, Severity::Error, "{code}");
    }
}

#[test]
fn csr_rate_limit_leaves_some_proxies_without_certificates() {
    let mut m = mesh(&[], &[Fault::CsrRateLimit { per_second: 1 }]);
    let f = findings(&mut m, &get("foo/sleep", "httpbin.foo:8000"));
    assert_names(&f, FindingCode::CsrRateLimited);
    assert_names(&f, FindingCode::WorkloadCertMissing);
}

#[test]
fn istiod_outage_is_a_warning_while_certificates_still_work() {
    let mut m = mesh(&[], &[]);
    m.inject(&Fault::IstiodDown).unwrap();
    m.advance(Duration::from_secs(13 * 3600));
    let f = findings(&mut m, &get("foo/sleep", "httpbin.foo:8000"));
    let hit = f
        .iter()
        .find(|f| f.code == FindingCode::ControlPlaneUnavailable);
    assert_eq!(
        hit.map(|f| f.severity),
        Some(Severity::Warning),
        "{:?}",
        codes(&f)
    );
}

#[test]
fn healthy_requests_have_no_error_findings() {
    let mut m = mesh(&[STRICT_FOO, TCP_ECHO], &[]);
    for req in [
        get("foo/sleep", "httpbin.foo:8000"),
        get("bar/sleep", "httpbin.foo:8000"),
        get("legacy/sleep", "httpbin.bar:8000"),
        RequestSpec {
            protocol: Some(Protocol::Tcp),
            ..get("foo/sleep", "tcp-echo.foo:9000")
        },
    ] {
        let f = findings(&mut m, &req);
        assert!(
            f.iter().all(|f| f.severity != Severity::Error),
            "{} -> {}: {:?}",
            req.from,
            req.to,
            codes(&f)
        );
    }
}

#[test]
fn diagnosis_is_deterministic() {
    let run = || {
        let mut m = mesh(&[STRICT_FOO], &[missing_cert("foo/httpbin")]);
        findings(&mut m, &get("foo/sleep", "httpbin.foo:8000"))
    };
    assert_eq!(run(), run());
}

/// Applies the remedy of the finding `code` and sends `req` again.
fn after_fix(m: &mut Mesh, req: &RequestSpec, code: FindingCode) -> bool {
    let o = m
        .request(req)
        .expect("request")
        .into_first()
        .expect("one outcome");
    let ev = m.evidence(req, &o);
    let f = diagnose(&ev);
    let finding = f.iter().find(|f| f.code == code).expect("finding");
    let fix = crate::diagnose::fix_for(finding, &ev).expect("machine-applicable remedy");
    m.apply(fix.apply).expect("fix applies");
    m.request(req)
        .expect("request")
        .first()
        .expect("one outcome")
        .status
        .is_success()
}

#[test]
fn remedies_make_the_failed_request_succeed() {
    let req = get("foo/sleep", "httpbin.foo:8000");
    let rule = dr("foo", "{mode: DISABLE}");
    let mut m = mesh(&[STRICT_FOO, &rule], &[]);
    assert!(after_fix(
        &mut m,
        &req,
        FindingCode::DestinationRuleTlsDisable
    ));
    let mut m = mesh(&[], &[missing_cert("foo/httpbin")]);
    assert!(after_fix(&mut m, &req, FindingCode::WorkloadCertMissing));
    let mut m = mesh(&[STRICT_FOO], &[]);
    assert!(after_fix(
        &mut m,
        &get("legacy/sleep", "httpbin.foo:8000"),
        FindingCode::PlaintextToStrict
    ));
}

#[test]
fn a_restart_does_not_fix_expiry_while_istiod_is_down() {
    let mut m = mesh(&[], &[]);
    m.inject(&Fault::IstiodDown).unwrap();
    m.advance(Duration::from_secs(25 * 3600));
    assert!(!after_fix(
        &mut m,
        &get("foo/sleep", "httpbin.foo:8000"),
        FindingCode::WorkloadCertExpired
    ));
}

#[test]
fn a_ttl_under_an_hour_is_short_cert_lifetime() {
    let res = load_str(FIXTURE, Path::new("<test>")).expect("fixture");
    let opts = MeshOptions {
        cert_ttl: Duration::from_secs(1800),
        ..MeshOptions::default()
    };
    let mut m = Mesh::build(res, &[], opts).expect("mesh");
    let f = findings(&mut m, &get("foo/sleep", "httpbin.foo:8000"));
    let hit = f.iter().find(|f| f.code == FindingCode::ShortCertLifetime);
    assert_eq!(
        hit.map(|f| f.severity),
        Some(Severity::Warning),
        "{:?}",
        codes(&f)
    );
    let mut m = mesh(&[], &[]);
    let f = findings(&mut m, &get("foo/sleep", "httpbin.foo:8000"));
    assert!(!codes(&f).contains(&FindingCode::ShortCertLifetime));
}
