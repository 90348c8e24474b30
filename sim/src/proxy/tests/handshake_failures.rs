//! Handshakes that fail: one table row per cause, each asserting what the client sees (503
//! UF,URX with the BoringSSL reason Envoy reports), the server's own reason, and the stats
//! counter each side bumps (three attempts: the first try and Envoy's two retries).

use super::*;

/// Which Envoy TLS stats counter a row expects to move.
type Counter = fn(&TlsStats) -> u64;

/// One failing handshake.
struct Failure {
    name: &'static str,
    /// Builds the client and server of the row from the shared CA.
    build: fn(&Mesh) -> (ClientSide, ServerSide),
    /// The client's BoringSSL reason (`tls_error`).
    reason: &'static str,
    /// BoringSSL's packed error code, when the row pins it in the body.
    code: Option<&'static str>,
    /// The server's own reason (`server_tls_error`), when its listener failed the connection.
    server_reason: Option<&'static str>,
    /// (`client`|`server`, counter, value) triples.
    counts: &'static [(&'static str, Counter, u64)],
}

fn istio_mutual_from(tls: SidecarTls, m: &Mesh) -> (ClientSide, ServerSide) {
    (sidecar_client(tls, istio_mutual()), strict(m))
}

fn to_server(m: &Mesh, tls: SidecarTls) -> (ClientSide, ServerSide) {
    let server = sidecar_server(tls, MtlsMode::Strict, PortProtocol::Http, App::Httpbin);
    (mesh_client(m), server)
}

const HANDSHAKE: Counter = |s| s.handshake;
const CONNECTION_ERROR: Counter = |s| s.connection_error;
const FAIL_VERIFY_ERROR: Counter = |s| s.fail_verify_error;
const FAIL_VERIFY_SAN: Counter = |s| s.fail_verify_san;
const FAIL_VERIFY_NO_CERT: Counter = |s| s.fail_verify_no_cert;

#[rustfmt::skip]
const FAILURES: &[Failure] = &[
    Failure {
        name: "DR SIMPLE (TLS 1.3) into STRICT: the client finished before the server refused",
        build: |m| (sidecar_client(m.sleep_tls(), simple_with_ca(m)), strict(m)),
        reason: "TLSV1_ALERT_CERTIFICATE_REQUIRED", code: Some("268436572"),
        server_reason: Some("PEER_DID_NOT_RETURN_A_CERTIFICATE"),
        counts: &[("server", FAIL_VERIFY_NO_CERT, 3), ("client", HANDSHAKE, 3), ("client", CONNECTION_ERROR, 3)],
    },
    Failure {
        name: "DR SIMPLE over TLS 1.2 into STRICT: the server refuses before Finished",
        build: |m| {
            let mut tls = m.sleep_tls();
            tls.params.max_version = TlsVersion::Tls12;
            (sidecar_client(tls, simple_with_ca(m)), strict(m))
        },
        reason: "SSLV3_ALERT_HANDSHAKE_FAILURE", code: Some("268436496"), server_reason: None,
        counts: &[("server", FAIL_VERIFY_NO_CERT, 3), ("client", HANDSHAKE, 0)],
    },
    Failure {
        name: "DR SIMPLE without caCertificates skips server verification (IST0128), still no client cert",
        build: |m| {
            let expired = m.ca.issue(HTTPBIN, now().offset(-7200), now().offset(-3600));
            let server = sidecar_server(m.tls(expired), MtlsMode::Strict, PortProtocol::Http, App::Httpbin);
            let upstream = UpstreamTls::Simple { ca: None, subject_alt_names: vec![], sni: None, insecure_skip_verify: false };
            (sidecar_client(m.sleep_tls(), upstream), server)
        },
        reason: "TLSV1_ALERT_CERTIFICATE_REQUIRED", code: None, server_reason: None,
        counts: &[("client", FAIL_VERIFY_ERROR, 0)],
    },
    Failure {
        name: "DR MUTUAL with a client certificate from another CA into STRICT",
        build: |m| {
            let external = TestCa::mesh_root("external.example");
            let upstream = UpstreamTls::Mutual {
                client: ClientMaterial { cert: external.workload(SLEEP, now()) },
                ca: Some(m.ca.bundle()), subject_alt_names: vec![], sni: Some(FQDN.into()), insecure_skip_verify: false,
            };
            (sidecar_client(m.sleep_tls(), upstream), strict(m))
        },
        reason: "TLSV1_ALERT_UNKNOWN_CA", code: None, server_reason: None,
        counts: &[("server", FAIL_VERIFY_ERROR, 3)],
    },
    Failure {
        name: "expired server certificate",
        build: |m| to_server(m, m.tls(m.ca.issue(HTTPBIN, now().offset(-2 * 86_400), now().offset(-86_400)))),
        reason: "CERTIFICATE_VERIFY_FAILED", code: Some("|268435581:"),
        server_reason: Some("SSLV3_ALERT_CERTIFICATE_EXPIRED"),
        counts: &[("client", FAIL_VERIFY_ERROR, 3), ("server", CONNECTION_ERROR, 3)],
    },
    Failure {
        name: "expired client certificate",
        build: |m| istio_mutual_from(m.tls(m.ca.issue(SLEEP, now().offset(-2 * 86_400), now().offset(-60))), m),
        reason: "SSLV3_ALERT_CERTIFICATE_EXPIRED", code: None,
        server_reason: Some("CERTIFICATE_VERIFY_FAILED"),
        counts: &[("server", FAIL_VERIFY_ERROR, 3)],
    },
    Failure {
        name: "server certificate not yet valid",
        build: |m| to_server(m, m.tls(m.ca.issue(HTTPBIN, now().offset(3600), now().offset(90_000)))),
        reason: "CERTIFICATE_VERIFY_FAILED", code: None,
        server_reason: Some("SSLV3_ALERT_CERTIFICATE_EXPIRED"),
        counts: &[("client", FAIL_VERIFY_ERROR, 3)],
    },
    Failure {
        name: "client certificate not yet valid",
        build: |m| istio_mutual_from(m.tls(m.ca.issue(SLEEP, now().offset(3600), now().offset(90_000))), m),
        reason: "SSLV3_ALERT_CERTIFICATE_EXPIRED", code: None,
        server_reason: Some("CERTIFICATE_VERIFY_FAILED"),
        counts: &[("server", FAIL_VERIFY_ERROR, 3)],
    },
    Failure {
        name: "client clock a day ahead: the verifier's clock decides validity",
        build: |m| {
            let mut skewed = m.sleep_tls();
            skewed.now = now().offset(2 * 86_400);
            istio_mutual_from(skewed, m)
        },
        reason: "CERTIFICATE_VERIFY_FAILED", code: None,
        server_reason: Some("SSLV3_ALERT_CERTIFICATE_EXPIRED"),
        counts: &[],
    },
    Failure {
        name: "server certificate from an untrusted root",
        build: |m| to_server(m, m.tls(TestCa::mesh_root("evil.example").workload(HTTPBIN, now()))),
        reason: "CERTIFICATE_VERIFY_FAILED", code: None,
        server_reason: Some("TLSV1_ALERT_UNKNOWN_CA"),
        counts: &[("client", FAIL_VERIFY_ERROR, 3)],
    },
    Failure {
        name: "client certificate from an untrusted root",
        build: |m| istio_mutual_from(m.tls(TestCa::mesh_root("evil.example").workload(SLEEP, now())), m),
        reason: "TLSV1_ALERT_UNKNOWN_CA", code: Some("268436504"),
        server_reason: Some("CERTIFICATE_VERIFY_FAILED"),
        counts: &[("server", FAIL_VERIFY_ERROR, 3)],
    },
    Failure {
        name: "plug-in CA whose root is not in the bundle (CustomCaTrustBundleMissing)",
        build: |m| {
            let plugin = TestCa::mesh_root("corp root").intermediate("cluster.local plug-in");
            istio_mutual_from(m.tls(plugin.workload(SLEEP, now())), m)
        },
        reason: "TLSV1_ALERT_UNKNOWN_CA", code: None, server_reason: None,
        counts: &[("server", FAIL_VERIFY_ERROR, 3)],
    },
    Failure {
        name: "server identity is not the expected SAN",
        build: |m| {
            let upstream = UpstreamTls::IstioMutual {
                expected_sans: vec!["spiffe://cluster.local/ns/foo/sa/other".into()],
                sni: istio_sni(8000, None, FQDN),
            };
            (sidecar_client(m.sleep_tls(), upstream), strict(m))
        },
        reason: "CERTIFICATE_VERIFY_FAILED", code: None,
        server_reason: Some("SSLV3_ALERT_CERTIFICATE_UNKNOWN"),
        counts: &[("client", FAIL_VERIFY_SAN, 3), ("client", FAIL_VERIFY_ERROR, 0)],
    },
    Failure {
        name: "client from a foreign trust domain that is not an alias",
        build: |m| istio_mutual_from(m.tls(m.ca.workload("spiffe://other.domain/ns/default/sa/sleep", now())), m),
        reason: "SSLV3_ALERT_CERTIFICATE_UNKNOWN", code: None,
        server_reason: Some("CERTIFICATE_VERIFY_FAILED"),
        counts: &[("server", FAIL_VERIFY_SAN, 3)],
    },
    Failure {
        name: "TLS 1.3-only client against a TLS 1.2-only server",
        build: |m| {
            let mut client_tls = m.sleep_tls();
            client_tls.params.min_version = TlsVersion::Tls13;
            let mut server_tls = m.httpbin_tls();
            server_tls.params.max_version = TlsVersion::Tls12;
            (sidecar_client(client_tls, istio_mutual()), to_server(m, server_tls).1)
        },
        reason: "TLSV1_ALERT_PROTOCOL_VERSION", code: None,
        server_reason: Some("UNSUPPORTED_PROTOCOL"),
        counts: &[("server", CONNECTION_ERROR, 3)],
    },
    Failure {
        name: "TLS 1.2 on both sides with disjoint cipher suites",
        build: |m| {
            let mut client_tls = m.sleep_tls();
            client_tls.params.max_version = TlsVersion::Tls12;
            client_tls.params.cipher_suites = vec![CipherSuite::EcdheEcdsaAes128GcmSha256];
            let mut server_tls = m.httpbin_tls();
            server_tls.params.max_version = TlsVersion::Tls12;
            server_tls.params.cipher_suites = vec![CipherSuite::EcdheEcdsaAes256GcmSha384];
            (sidecar_client(client_tls, istio_mutual()), to_server(m, server_tls).1)
        },
        reason: "SSLV3_ALERT_HANDSHAKE_FAILURE", code: None,
        server_reason: Some("NO_SHARED_CIPHER"),
        counts: &[("client", CONNECTION_ERROR, 3), ("server", CONNECTION_ERROR, 3)],
    },
];

#[test]
fn each_failing_handshake_reports_both_sides_reasons_and_counters() {
    let m = Mesh::new();
    for case in FAILURES {
        let (client, server) = (case.build)(&m);
        let o = m.run(&client, &server, &get());
        let name = case.name;
        assert_connect_failure(&o, case.reason);
        if let Some(code) = case.code {
            assert!(o.body.contains(code), "{name}: {}", o.body);
        }
        if case.server_reason.is_some() {
            assert_eq!(o.server_tls_error.as_deref(), case.server_reason, "{name}");
        }
        for (side, counter, want) in case.counts {
            assert_eq!(
                counter(stats(&o, side)),
                *want,
                "{name}: {side} stats {:#?}",
                o.stats
            );
        }
    }
}

#[test]
fn server_without_sds_certificate_cannot_serve_mtls() {
    let m = Mesh::new();
    let mut tls = m.httpbin_tls();
    tls.cert = None;
    let server = sidecar_server(tls, MtlsMode::Strict, PortProtocol::Http, App::Httpbin);
    let o = m.run(&mesh_client(&m), &server, &get());
    assert_eq!(o.status, Status::Http(503));
    assert_eq!(o.response_flags, [UF, URX]);
    assert_eq!(
        o.server_tls_error.as_deref(),
        Some("Secret is not supplied by SDS")
    );
    assert_eq!(o.tls_error, None);
}

#[test]
fn client_without_sds_certificate_fails_to_connect() {
    let m = Mesh::new();
    let mut tls = m.sleep_tls();
    tls.cert = None;
    let o = m.run(&sidecar_client(tls, istio_mutual()), &strict(&m), &get());
    assert_eq!(o.status, Status::Http(503));
    assert_eq!(o.response_flags, [UF, URX]);
    assert!(o
        .body
        .ends_with("transport failure reason: Secret is not supplied by SDS"));
}

#[test]
fn connect_failure_access_log_uses_istios_default_format() {
    let m = Mesh::new();
    let expired =
        m.ca.issue(SLEEP, now().offset(-2 * 86_400), now().offset(-60));
    let o = m.run(
        &sidecar_client(m.tls(expired), istio_mutual()),
        &strict(&m),
        &get(),
    );
    let tls = "TLS_error:|268436501:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_EXPIRED:TLS_error_end";
    assert_eq!(
        o.details,
        format!(
            "upstream_reset_before_response_started{{remote_connection_failure|{}}}",
            tls.replace(' ', "_")
        )
    );
    assert_eq!(
        o.client_log.as_deref().unwrap(),
        format!(
            "[2026-01-01T01:00:00.000Z] \"GET /headers HTTP/1.1\" 503 UF,URX {} - \"{tls}\" 0 245 0 - \
             \"-\" \"curl/8.5.0\" \"-\" \"httpbin.foo:8000\" \"10.0.0.2:8080\" \
             outbound|8000||{FQDN} 10.0.0.1:40002 10.0.0.2:8080 10.0.0.1:60002 - default",
            o.details
        )
    );
    assert_eq!(
        o.server_log, None,
        "a failed downstream handshake is not access-logged"
    );
}
