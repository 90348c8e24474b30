//! Behaviour tests of the data path: every test runs real rustls handshakes over in-process
//! streams and asserts both the client's and the server's view.

use rustls::client::danger::ServerCertVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls_pki_types::ServerName;

use super::testing::TestCa;
use super::verifier::{SpiffeClientVerifier, SpiffeServerVerifier};
use super::*;
use crate::model::{MtlsMode, TlsVersion};
use crate::pki::WorkloadCert;
use crate::tls_params::CipherSuite;
use crate::vocab::ResponseFlag::{
    DownstreamProtocolError, UpstreamConnectionFailure as UF, UpstreamConnectionTermination as UC,
    UpstreamRetryLimitExceeded as URX,
};
use crate::vocab::{IstioProtocol, PortProtocol, Status};
use crate::SimTime;

const SLEEP: &str = "spiffe://cluster.local/ns/default/sa/sleep";
const HTTPBIN: &str = "spiffe://cluster.local/ns/foo/sa/httpbin";
const FQDN: &str = "httpbin.foo.svc.cluster.local";

fn now() -> SimTime {
    SimTime::EPOCH.offset(3600)
}

struct Mesh {
    ca: TestCa,
    rt: tokio::runtime::Runtime,
}

impl Mesh {
    fn new() -> Mesh {
        Mesh {
            ca: TestCa::mesh_root("cluster.local"),
            rt: data_path_runtime().unwrap(),
        }
    }

    fn tls(&self, cert: WorkloadCert) -> SidecarTls {
        SidecarTls::new(Some(cert), self.ca.bundle(), "cluster.local", now())
    }

    fn sleep_tls(&self) -> SidecarTls {
        self.tls(self.ca.workload(SLEEP, now()))
    }

    fn httpbin_tls(&self) -> SidecarTls {
        self.tls(self.ca.workload(HTTPBIN, now()))
    }

    fn run(&self, client: &ClientSide, server: &ServerSide, req: &AppRequest) -> Outcome {
        let mut pool = ConnectionPool::new();
        self.run_in(client, server, req, &mut pool, &allow)
    }

    fn run_in(
        &self,
        client: &ClientSide,
        server: &ServerSide,
        req: &AppRequest,
        pool: &mut ConnectionPool,
        authz: &dyn Fn(&AuthzInput) -> AuthzVerdict,
    ) -> Outcome {
        exchange(&self.rt, client, server, req, authz, pool, now())
    }
}

fn allow(_: &AuthzInput) -> AuthzVerdict {
    AuthzVerdict::Allow
}

fn istio_mutual() -> UpstreamTls {
    UpstreamTls::IstioMutual {
        expected_sans: vec![HTTPBIN.to_string()],
        sni: istio_sni(8000, None, FQDN),
    }
}

fn sidecar_client(tls: SidecarTls, upstream: UpstreamTls) -> ClientSide {
    ClientSide::Sidecar(Box::new(ClientSidecar {
        name: "sleep-1.default".into(),
        ip: "10.0.0.1".into(),
        tls,
        upstream,
        cluster: format!("outbound|8000||{FQDN}"),
        // A sniffed port: the chain follows the request's bytes, as the tests below expect.
        port_protocol: IstioProtocol::Unsupported,
    }))
}

fn bare_client() -> ClientSide {
    ClientSide::NoSidecar {
        ip: "10.0.1.1".into(),
    }
}

fn sidecar_server(tls: SidecarTls, mode: MtlsMode, proto: PortProtocol, app: App) -> ServerSide {
    ServerSide::Sidecar(Box::new(ServerSidecar {
        name: "httpbin-1.foo".into(),
        ip: "10.0.0.2".into(),
        port: 8080,
        tls,
        mode,
        port_protocol: proto,
        app,
    }))
}

fn get() -> AppRequest {
    AppRequest::http_get("httpbin.foo:8000", "/headers")
}

fn stats<'a>(o: &'a Outcome, side: &str) -> &'a TlsStats {
    o.stats.get(side).expect("stats for side")
}

fn strict(m: &Mesh) -> ServerSide {
    sidecar_server(
        m.httpbin_tls(),
        MtlsMode::Strict,
        PortProtocol::Http,
        App::Httpbin,
    )
}

fn assert_connect_failure(o: &Outcome, reason: &str) {
    assert_eq!(o.status, Status::Http(503), "{o:#?}");
    assert_eq!(o.response_flags, [UF, URX]);
    assert_eq!(o.tls_error.as_deref(), Some(reason));
    assert!(
        o.body.starts_with(
            "upstream connect error or disconnect/reset before headers. retried and the latest \
             reset reason: remote connection failure, transport failure reason: TLS_error:|"
        ),
        "{}",
        o.body
    );
    assert!(
        o.body.ends_with(&format!(
            ":SSL routines:OPENSSL_internal:{reason}:TLS_error_end"
        )),
        "{}",
        o.body
    );
    assert!(!o.mtls);
}

#[test]
fn strict_server_accepts_istio_mutual_client() {
    let m = Mesh::new();
    let o = m.run(
        &sidecar_client(m.sleep_tls(), istio_mutual()),
        &strict(&m),
        &get(),
    );
    assert_eq!(o.status, Status::Http(200), "{o:#?}");
    assert!(o.mtls);
    assert_eq!(o.details, "via_upstream");
    assert_eq!(
        o.peer_principal.as_deref(),
        Some("cluster.local/ns/default/sa/sleep")
    );
    assert!(o.body.contains(&format!("URI={SLEEP}")), "{}", o.body);
    assert!(o.body.contains(&format!("By={HTTPBIN}")), "{}", o.body);
    assert_eq!(stats(&o, "client").handshake, 1);
    assert_eq!(stats(&o, "server").handshake, 1);
    let server_log = o.server_log.clone().unwrap();
    assert!(
        server_log.contains("\"GET /headers HTTP/1.1\" 200 - via_upstream"),
        "{server_log}"
    );
    assert!(
        server_log.contains(&istio_sni(8000, None, FQDN)),
        "{server_log}"
    );
    let client_log = o.client_log.clone().unwrap();
    assert!(
        client_log.contains(&format!("outbound|8000||{FQDN}")),
        "{client_log}"
    );
}

#[test]
fn strict_server_rejects_plaintext_client_without_sidecar() {
    let m = Mesh::new();
    let o = m.run(&bare_client(), &strict(&m), &get());
    assert_eq!(o.status, Status::Reset);
    assert!(o.client_log.is_none());
    assert!(!o.mtls);
    let log = o.server_log.clone().unwrap();
    assert!(
        log.contains("\"- - -\" 0 NR filter_chain_not_found"),
        "{log}"
    );
    assert_eq!(stats(&o, "server").no_filter_chain_match, 1);
    assert_eq!(stats(&o, "server").handshake, 0);
}

#[test]
fn strict_server_resets_sidecar_sending_plaintext_as_503_uc() {
    let m = Mesh::new();
    let o = m.run(
        &sidecar_client(m.sleep_tls(), UpstreamTls::Plaintext),
        &strict(&m),
        &get(),
    );
    assert_eq!(o.status, Status::Http(503));
    assert_eq!(o.response_flags, [UC]);
    assert_eq!(
        o.body,
        "upstream connect error or disconnect/reset before headers. reset reason: connection termination"
    );
    assert_eq!(o.tls_error, None);
    assert!(o
        .server_log
        .clone()
        .unwrap()
        .contains("NR filter_chain_not_found"));
    assert_eq!(stats(&o, "server").no_filter_chain_match, 1);
    assert!(o.client_log.clone().unwrap().contains(" 503 UC "));
}

#[test]
fn permissive_server_accepts_mtls_and_plaintext() {
    let m = Mesh::new();
    let server = sidecar_server(
        m.httpbin_tls(),
        MtlsMode::Permissive,
        PortProtocol::Http,
        App::Httpbin,
    );
    let mtls = m.run(
        &sidecar_client(m.sleep_tls(), istio_mutual()),
        &server,
        &get(),
    );
    assert_eq!(mtls.status, Status::Http(200));
    assert!(mtls.mtls);
    assert_eq!(stats(&mtls, "server").handshake, 1);
    let plain = m.run(&bare_client(), &server, &get());
    assert_eq!(plain.status, Status::Http(200));
    assert!(!plain.mtls);
    assert_eq!(plain.peer_principal, None);
    assert!(
        !plain.body.contains("X-Forwarded-Client-Cert"),
        "{}",
        plain.body
    );
    assert_eq!(stats(&plain, "server"), &TlsStats::default());
    assert!(plain
        .server_log
        .clone()
        .unwrap()
        .contains(" 200 - via_upstream"));
}

#[test]
fn unset_mode_behaves_as_permissive() {
    let m = Mesh::new();
    let server = sidecar_server(
        m.httpbin_tls(),
        MtlsMode::Unset,
        PortProtocol::Auto,
        App::Httpbin,
    );
    assert_eq!(
        m.run(&bare_client(), &server, &get()).status,
        Status::Http(200)
    );
    let o = m.run(
        &sidecar_client(m.sleep_tls(), istio_mutual()),
        &server,
        &get(),
    );
    assert_eq!(o.status, Status::Http(200));
    assert!(o.mtls);
}

#[test]
fn disabled_server_answers_istio_mutual_client_with_wrong_version_number() {
    let m = Mesh::new();
    let server = sidecar_server(
        m.httpbin_tls(),
        MtlsMode::Disable,
        PortProtocol::Http,
        App::Httpbin,
    );
    let o = m.run(
        &sidecar_client(m.sleep_tls(), istio_mutual()),
        &server,
        &get(),
    );
    assert_connect_failure(&o, "WRONG_VERSION_NUMBER");
    assert!(o.body.contains("268435703"));
    assert_eq!(
        stats(&o, "client").connection_error,
        3,
        "three real attempts"
    );
    let log = o.server_log.clone().unwrap();
    assert_eq!(log.lines().count(), 3);
    assert!(log.contains("400 DPE http1.codec_error"), "{log}");
    assert_eq!(stats(&o, "server").handshake, 0);
}

#[test]
fn istio_mutual_to_workload_without_sidecar_fails_with_wrong_version_number() {
    let m = Mesh::new();
    let server = ServerSide::NoSidecar {
        ip: "10.0.0.9".into(),
        port: 8080,
        app: App::Httpbin,
    };
    let o = m.run(
        &sidecar_client(m.sleep_tls(), istio_mutual()),
        &server,
        &get(),
    );
    assert_connect_failure(&o, "WRONG_VERSION_NUMBER");
    assert!(o.server_log.is_none());
    assert!(!o.stats.contains_key("server"));
}

fn simple_with_ca(m: &Mesh) -> UpstreamTls {
    UpstreamTls::Simple {
        ca: Some(m.ca.bundle()),
        subject_alt_names: vec![],
        sni: Some(FQDN.into()),
        insecure_skip_verify: false,
    }
}

#[test]
fn simple_tls_into_strict_gets_certificate_required() {
    let m = Mesh::new();
    let o = m.run(
        &sidecar_client(m.sleep_tls(), simple_with_ca(&m)),
        &strict(&m),
        &get(),
    );
    assert_connect_failure(&o, "TLSV1_ALERT_CERTIFICATE_REQUIRED");
    assert!(o.body.contains("268436572"));
    assert_eq!(stats(&o, "server").fail_verify_no_cert, 3);
    assert_eq!(
        o.server_tls_error.as_deref(),
        Some("PEER_DID_NOT_RETURN_A_CERTIFICATE")
    );
    // TLS 1.3: the client finished its side of the handshake before the server refused.
    assert_eq!(stats(&o, "client").handshake, 3);
    assert_eq!(stats(&o, "client").connection_error, 3);
}

#[test]
fn simple_tls12_into_strict_gets_handshake_failure_as_from_boringssl() {
    let m = Mesh::new();
    let mut tls = m.sleep_tls();
    tls.params.max_version = TlsVersion::Tls12;
    let o = m.run(
        &sidecar_client(tls, simple_with_ca(&m)),
        &strict(&m),
        &get(),
    );
    assert_connect_failure(&o, "SSLV3_ALERT_HANDSHAKE_FAILURE");
    assert!(o.body.contains("268436496"));
    assert_eq!(stats(&o, "server").fail_verify_no_cert, 3);
    assert_eq!(
        stats(&o, "client").handshake,
        0,
        "TLS 1.2: the server refuses before Finished"
    );
}

#[test]
fn expired_server_certificate_fails_client_verification() {
    let m = Mesh::new();
    let expired =
        m.ca.issue(HTTPBIN, now().offset(-2 * 86_400), now().offset(-86_400));
    let server = sidecar_server(
        m.tls(expired),
        MtlsMode::Strict,
        PortProtocol::Http,
        App::Httpbin,
    );
    let o = m.run(
        &sidecar_client(m.sleep_tls(), istio_mutual()),
        &server,
        &get(),
    );
    assert_connect_failure(&o, "CERTIFICATE_VERIFY_FAILED");
    assert!(o.body.contains("|268435581:"));
    assert_eq!(stats(&o, "client").fail_verify_error, 3);
    assert_eq!(
        o.server_tls_error.as_deref(),
        Some("SSLV3_ALERT_CERTIFICATE_EXPIRED")
    );
    assert_eq!(stats(&o, "server").connection_error, 3);
}

#[test]
fn expired_client_certificate_is_rejected_by_server() {
    let m = Mesh::new();
    let expired =
        m.ca.issue(SLEEP, now().offset(-2 * 86_400), now().offset(-60));
    let o = m.run(
        &sidecar_client(m.tls(expired), istio_mutual()),
        &strict(&m),
        &get(),
    );
    assert_connect_failure(&o, "SSLV3_ALERT_CERTIFICATE_EXPIRED");
    assert_eq!(stats(&o, "server").fail_verify_error, 3);
    assert_eq!(
        o.server_tls_error.as_deref(),
        Some("CERTIFICATE_VERIFY_FAILED")
    );
}

#[test]
fn not_yet_valid_certificates_fail_in_both_directions() {
    let m = Mesh::new();
    let future_server =
        m.ca.issue(HTTPBIN, now().offset(3600), now().offset(90_000));
    let server = sidecar_server(
        m.tls(future_server),
        MtlsMode::Strict,
        PortProtocol::Http,
        App::Httpbin,
    );
    let o = m.run(
        &sidecar_client(m.sleep_tls(), istio_mutual()),
        &server,
        &get(),
    );
    assert_connect_failure(&o, "CERTIFICATE_VERIFY_FAILED");
    assert_eq!(stats(&o, "client").fail_verify_error, 3);
    assert_eq!(
        o.server_tls_error.as_deref(),
        Some("SSLV3_ALERT_CERTIFICATE_EXPIRED")
    );

    let future_client = m.ca.issue(SLEEP, now().offset(3600), now().offset(90_000));
    let o = m.run(
        &sidecar_client(m.tls(future_client), istio_mutual()),
        &strict(&m),
        &get(),
    );
    assert_connect_failure(&o, "SSLV3_ALERT_CERTIFICATE_EXPIRED");
    assert_eq!(stats(&o, "server").fail_verify_error, 3);
    assert_eq!(
        o.server_tls_error.as_deref(),
        Some("CERTIFICATE_VERIFY_FAILED")
    );
}

#[test]
fn clock_skew_on_the_verifier_decides_validity() {
    // The server cert is valid at mesh time, but the client's clock is a day ahead.
    let m = Mesh::new();
    let mut skewed = m.sleep_tls();
    skewed.now = now().offset(2 * 86_400);
    let o = m.run(&sidecar_client(skewed, istio_mutual()), &strict(&m), &get());
    assert_connect_failure(&o, "CERTIFICATE_VERIFY_FAILED");
    assert_eq!(
        o.server_tls_error.as_deref(),
        Some("SSLV3_ALERT_CERTIFICATE_EXPIRED")
    );
}

#[test]
fn untrusted_root_fails_in_both_directions() {
    let m = Mesh::new();
    let foreign = TestCa::mesh_root("evil.example");
    let server = sidecar_server(
        m.tls(foreign.workload(HTTPBIN, now())),
        MtlsMode::Strict,
        PortProtocol::Http,
        App::Httpbin,
    );
    let o = m.run(
        &sidecar_client(m.sleep_tls(), istio_mutual()),
        &server,
        &get(),
    );
    assert_connect_failure(&o, "CERTIFICATE_VERIFY_FAILED");
    assert_eq!(stats(&o, "client").fail_verify_error, 3);
    assert_eq!(
        o.server_tls_error.as_deref(),
        Some("TLSV1_ALERT_UNKNOWN_CA")
    );

    let o = m.run(
        &sidecar_client(m.tls(foreign.workload(SLEEP, now())), istio_mutual()),
        &strict(&m),
        &get(),
    );
    assert_connect_failure(&o, "TLSV1_ALERT_UNKNOWN_CA");
    assert!(o.body.contains("268436504"));
    assert_eq!(stats(&o, "server").fail_verify_error, 3);
    assert_eq!(
        o.server_tls_error.as_deref(),
        Some("CERTIFICATE_VERIFY_FAILED")
    );
}

#[test]
fn server_identity_mismatch_fails_client_san_check() {
    let m = Mesh::new();
    let upstream = UpstreamTls::IstioMutual {
        expected_sans: vec!["spiffe://cluster.local/ns/foo/sa/other".into()],
        sni: istio_sni(8000, None, FQDN),
    };
    let o = m.run(
        &sidecar_client(m.sleep_tls(), upstream),
        &strict(&m),
        &get(),
    );
    assert_connect_failure(&o, "CERTIFICATE_VERIFY_FAILED");
    assert_eq!(stats(&o, "client").fail_verify_san, 3);
    assert_eq!(stats(&o, "client").fail_verify_error, 0);
    assert_eq!(
        o.server_tls_error.as_deref(),
        Some("SSLV3_ALERT_CERTIFICATE_UNKNOWN")
    );
}

#[test]
fn foreign_trust_domain_client_is_rejected_unless_aliased() {
    let m = Mesh::new();
    let foreign_td =
        m.ca.workload("spiffe://other.domain/ns/default/sa/sleep", now());
    let client = sidecar_client(m.tls(foreign_td), istio_mutual());
    let o = m.run(&client, &strict(&m), &get());
    assert_connect_failure(&o, "SSLV3_ALERT_CERTIFICATE_UNKNOWN");
    assert_eq!(stats(&o, "server").fail_verify_san, 3);
    assert_eq!(
        o.server_tls_error.as_deref(),
        Some("CERTIFICATE_VERIFY_FAILED")
    );

    let mut aliased = m.httpbin_tls();
    aliased.trust_domains.push("other.domain".into());
    let server = sidecar_server(aliased, MtlsMode::Strict, PortProtocol::Http, App::Httpbin);
    let o = m.run(&client, &server, &get());
    assert_eq!(o.status, Status::Http(200));
    assert_eq!(
        o.peer_principal.as_deref(),
        Some("other.domain/ns/default/sa/sleep")
    );
}

#[test]
fn tls13_only_client_against_tls12_only_server_is_a_protocol_version_alert() {
    let m = Mesh::new();
    let mut client_tls = m.sleep_tls();
    client_tls.params.min_version = TlsVersion::Tls13;
    let mut server_tls = m.httpbin_tls();
    server_tls.params.max_version = TlsVersion::Tls12;
    let server = sidecar_server(
        server_tls,
        MtlsMode::Strict,
        PortProtocol::Http,
        App::Httpbin,
    );
    let o = m.run(&sidecar_client(client_tls, istio_mutual()), &server, &get());
    assert_connect_failure(&o, "TLSV1_ALERT_PROTOCOL_VERSION");
    assert_eq!(o.server_tls_error.as_deref(), Some("UNSUPPORTED_PROTOCOL"));
    assert_eq!(stats(&o, "server").connection_error, 3);
}

#[test]
fn disjoint_tls12_cipher_suites_are_a_handshake_failure() {
    let m = Mesh::new();
    let mut client_tls = m.sleep_tls();
    client_tls.params.max_version = TlsVersion::Tls12;
    client_tls.params.cipher_suites = vec![CipherSuite::EcdheEcdsaAes128GcmSha256];
    let mut server_tls = m.httpbin_tls();
    server_tls.params.max_version = TlsVersion::Tls12;
    server_tls.params.cipher_suites = vec![CipherSuite::EcdheEcdsaAes256GcmSha384];
    let server = sidecar_server(
        server_tls,
        MtlsMode::Strict,
        PortProtocol::Http,
        App::Httpbin,
    );
    let o = m.run(&sidecar_client(client_tls, istio_mutual()), &server, &get());
    assert_connect_failure(&o, "SSLV3_ALERT_HANDSHAKE_FAILURE");
    assert_eq!(stats(&o, "client").connection_error, 3);
    assert_eq!(o.server_tls_error.as_deref(), Some("NO_SHARED_CIPHER"));
    assert_eq!(stats(&o, "server").connection_error, 3);
}

#[test]
fn tls12_mtls_works_when_both_sides_allow_it() {
    let m = Mesh::new();
    let mut client_tls = m.sleep_tls();
    client_tls.params.max_version = TlsVersion::Tls12;
    let o = m.run(
        &sidecar_client(client_tls, istio_mutual()),
        &strict(&m),
        &get(),
    );
    assert_eq!(o.status, Status::Http(200), "{o:#?}");
    assert!(o.mtls);
}

#[test]
fn unknown_cipher_name_is_a_clear_error() {
    let m = Mesh::new();
    let mut tls = m.sleep_tls();
    tls.params.cipher_suites = vec![CipherSuite::Unknown("ECDHE-FANCY".into())];
    let err = tls_config::crypto_provider(&tls).unwrap_err();
    assert!(
        err.to_string()
            .contains("unknown cipher suite \"ECDHE-FANCY\""),
        "{err}"
    );
}

fn deny(details: &'static str) -> impl Fn(&AuthzInput) -> AuthzVerdict {
    move |_| AuthzVerdict::Deny {
        details: details.into(),
    }
}

#[test]
fn authz_deny_over_http_is_403_with_policy_details() {
    let m = Mesh::new();
    let details = "rbac_access_denied_matched_policy[ns[foo]-policy[deny-sleep]-rule[0]]";
    let seen = std::cell::RefCell::new(None);
    let authz = |input: &AuthzInput| {
        *seen.borrow_mut() = Some(input.clone());
        deny(details)(input)
    };
    let mut pool = ConnectionPool::new();
    let client = sidecar_client(m.sleep_tls(), istio_mutual());
    let o = m.run_in(&client, &strict(&m), &get(), &mut pool, &authz);
    assert_eq!(o.status, Status::Http(403));
    assert_eq!(o.body, "RBAC: access denied");
    assert_eq!(o.details, details);
    assert!(o.response_flags.is_empty());
    assert!(o.mtls);
    assert!(o
        .server_log
        .clone()
        .unwrap()
        .contains(&format!(" 403 - {details} ")));
    let input = seen.into_inner().unwrap();
    assert_eq!(
        input.principal.as_deref(),
        Some("cluster.local/ns/default/sa/sleep")
    );
    assert_eq!(input.port, 8080);
    let http = input.http.unwrap();
    assert_eq!(
        (http.method.as_str(), http.path.as_str()),
        ("GET", "/headers")
    );
    assert_eq!(http.host, "httpbin.foo:8000");
}

#[test]
fn authz_deny_over_tcp_resets_the_connection() {
    let m = Mesh::new();
    let details = "rbac_access_denied_matched_policy[none]";
    let server = sidecar_server(
        m.httpbin_tls(),
        MtlsMode::Strict,
        PortProtocol::Tcp,
        App::TcpEcho,
    );
    let client = sidecar_client(m.sleep_tls(), istio_mutual());
    let req = AppRequest::tcp("httpbin.foo:9000", b"ping");
    let mut pool = ConnectionPool::new();
    let o = m.run_in(&client, &server, &req, &mut pool, &deny(details));
    assert_eq!(o.status, Status::Reset);
    assert_eq!(o.details, details);
    assert!(o.mtls, "denied after a successful handshake");
    assert!(o.server_log.clone().unwrap().contains(details));
    let allowed = m.run(&client, &server, &req);
    assert_eq!(allowed.status, Status::Http(200));
    assert_eq!(allowed.body, "ping");
    assert!(allowed.mtls);
}

/// A sidecar client whose outbound listener is the one istiod builds for a `port` port.
fn sidecar_client_for(tls: SidecarTls, port: IstioProtocol) -> ClientSide {
    let ClientSide::Sidecar(mut c) = sidecar_client(tls, istio_mutual()) else {
        unreachable!("sidecar_client builds a sidecar")
    };
    c.port_protocol = port;
    ClientSide::Sidecar(c)
}

#[test]
fn an_http_request_to_a_tcp_port_is_proxied_raw_and_a_denial_resets_it() {
    let m = Mesh::new();
    let details = "rbac_access_denied_matched_policy[ns[foo]-policy[deny]-rule[0]]";
    let server = sidecar_server(
        m.httpbin_tls(),
        MtlsMode::Strict,
        PortProtocol::Tcp,
        App::Httpbin,
    );
    let client = sidecar_client_for(m.sleep_tls(), IstioProtocol::Tcp);
    let seen = std::sync::Mutex::new(None);
    let deny = |input: &AuthzInput| {
        *seen.lock().unwrap() = Some(input.clone());
        AuthzVerdict::Deny {
            details: details.into(),
        }
    };
    let mut pool = ConnectionPool::new();
    let o = m.run_in(&client, &server, &get(), &mut pool, &deny);
    assert_eq!(o.status, Status::Reset, "{o:#?}");
    assert!(
        o.response_flags.is_empty(),
        "no UC: tcp_proxy, not the router"
    );
    assert_eq!(o.details, details);
    assert!(o.mtls, "denied after a successful handshake");
    assert!(o.client_log.unwrap().contains(r#""- - -""#), "a TCP line");
    let input = seen.into_inner().unwrap().expect("network RBAC ran");
    assert!(input.http.is_none(), "network RBAC sees no HTTP attributes");
    // Allowed, the HTTP answer comes back through the TCP proxy, one attempt, one handshake.
    let ok = m.run(&client, &server, &get());
    assert_eq!(ok.status, Status::Http(200));
    assert_eq!(stats(&ok, "client").handshake, 1);
}

#[test]
fn a_tcp_payload_to_an_http_port_leaves_through_the_passthrough_chain_in_plaintext() {
    let m = Mesh::new();
    let client = sidecar_client_for(m.sleep_tls(), IstioProtocol::Http);
    let req = AppRequest::tcp("httpbin.foo:8000", b"hello meshsim\n");
    let permissive = sidecar_server(
        m.httpbin_tls(),
        MtlsMode::Permissive,
        PortProtocol::Http,
        App::Httpbin,
    );
    let o = m.run(&client, &permissive, &req);
    assert_eq!(o.status, Status::Http(400), "{o:#?}");
    assert!(!o.mtls, "PassthroughCluster has no TLS");
    assert!(
        o.response_flags.is_empty(),
        "the client's tcp_proxy sets no flag"
    );
    assert_eq!(
        o.details, "http1.codec_error",
        "the server sidecar's codec answered"
    );
    assert_eq!(stats(&o, "client").handshake, 0);
    assert!(o.client_log.unwrap().contains(" PassthroughCluster "));
    assert!(o
        .server_log
        .unwrap()
        .contains(" 400 DPE http1.codec_error "));
    let o = m.run(&client, &strict(&m), &req);
    assert_eq!(o.status, Status::Reset);
    assert!(o.server_log.unwrap().contains("filter_chain_not_found"));
    // HTTP bytes on the same port take the HCM over mTLS.
    let o = m.run(&client, &strict(&m), &get());
    assert_eq!(o.status, Status::Http(200));
    assert!(o.mtls);
}

#[test]
fn an_http_proxy_port_answers_a_tcp_payload_with_the_clients_own_codec_error() {
    let m = Mesh::new();
    let client = sidecar_client_for(m.sleep_tls(), IstioProtocol::HttpProxy);
    let req = AppRequest::tcp("httpbin.foo:8000", b"hello meshsim\n");
    let o = m.run(&client, &strict(&m), &req);
    assert_eq!(o.status, Status::Http(400), "{o:#?}");
    assert_eq!(o.response_flags, [DownstreamProtocolError]);
    assert_eq!(o.details, "http1.codec_error");
    assert_eq!(o.body, "Bad Request");
    assert!(o.server_log.is_none(), "nothing left the pod");
    assert!(o
        .client_log
        .unwrap()
        .contains(" 400 DPE http1.codec_error "));
}

#[test]
fn pooled_connection_is_reused_without_a_new_handshake() {
    let m = Mesh::new();
    let mut pool = ConnectionPool::new();
    let client = sidecar_client(m.sleep_tls(), istio_mutual());
    let server = strict(&m);
    let first = m.run_in(&client, &server, &get(), &mut pool, &allow);
    assert_eq!(stats(&first, "client").handshake, 1);
    let second = m.run_in(&client, &server, &get(), &mut pool, &allow);
    assert_eq!(second.status, Status::Http(200));
    assert!(second.mtls);
    assert_eq!(
        second.peer_principal.as_deref(),
        Some("cluster.local/ns/default/sa/sleep")
    );
    assert_eq!(stats(&second, "client").handshake, 0);
    assert_eq!(stats(&second, "server").handshake, 0);
    assert_eq!(pool.reused_requests(), 1);
    assert_eq!(pool.opened_connections(), 1);
}

#[test]
fn certificate_change_forces_a_new_handshake() {
    let m = Mesh::new();
    let mut pool = ConnectionPool::new();
    let client = sidecar_client(m.sleep_tls(), istio_mutual());
    m.run_in(&client, &strict(&m), &get(), &mut pool, &allow);
    // httpbin's sidecar got a new certificate (rotation): generation changes.
    let rotated = strict(&m);
    let o = m.run_in(&client, &rotated, &get(), &mut pool, &allow);
    assert_eq!(o.status, Status::Http(200));
    assert_eq!(stats(&o, "client").handshake, 1);
    assert_eq!(stats(&o, "server").handshake, 1);
    assert_eq!(pool.reused_requests(), 0);
    assert_eq!(pool.opened_connections(), 2);
}

#[test]
fn established_connection_survives_certificate_expiry() {
    // Envoy does not re-verify an established connection: time passing keeps the generation.
    let m = Mesh::new();
    let mut pool = ConnectionPool::new();
    let cert = m.ca.issue(HTTPBIN, now().offset(-60), now().offset(60));
    let server_at = |t: SimTime| {
        let mut tls = m.tls(cert.clone());
        tls.now = t;
        sidecar_server(tls, MtlsMode::Strict, PortProtocol::Http, App::Httpbin)
    };
    let sleep_tls = m.sleep_tls();
    let client_at = |t: SimTime| {
        let mut tls = sleep_tls.clone();
        tls.now = t;
        sidecar_client(tls, istio_mutual())
    };
    let o = m.run_in(
        &client_at(now()),
        &server_at(now()),
        &get(),
        &mut pool,
        &allow,
    );
    assert_eq!(o.status, Status::Http(200));
    let later = now().offset(3600);
    let o = m.run_in(
        &client_at(later),
        &server_at(later),
        &get(),
        &mut pool,
        &allow,
    );
    assert_eq!(o.status, Status::Http(200));
    assert_eq!(pool.reused_requests(), 1);
    pool.clear();
    let o = m.run_in(
        &client_at(later),
        &server_at(later),
        &get(),
        &mut pool,
        &allow,
    );
    assert_connect_failure(&o, "CERTIFICATE_VERIFY_FAILED");
}

#[test]
fn server_without_sds_certificate_cannot_serve_mtls() {
    let m = Mesh::new();
    let mut tls = m.httpbin_tls();
    tls.cert = None;
    let server = sidecar_server(tls, MtlsMode::Strict, PortProtocol::Http, App::Httpbin);
    let o = m.run(
        &sidecar_client(m.sleep_tls(), istio_mutual()),
        &server,
        &get(),
    );
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
fn permissive_http_port_has_no_chain_for_non_istio_tls() {
    let m = Mesh::new();
    let server = sidecar_server(
        m.httpbin_tls(),
        MtlsMode::Permissive,
        PortProtocol::Http,
        App::Httpbin,
    );
    let o = m.run(
        &sidecar_client(m.sleep_tls(), simple_with_ca(&m)),
        &server,
        &get(),
    );
    assert_eq!(o.status, Status::Http(503));
    assert_eq!(o.response_flags, [UF, URX]);
    assert_eq!(o.tls_error, None);
    assert_eq!(stats(&o, "server").no_filter_chain_match, 3);
}

#[test]
fn tcp_echo_works_over_mtls_and_through_auto_ports() {
    let m = Mesh::new();
    let req = AppRequest::tcp("echo.foo:9000", b"hello mesh");
    for proto in [PortProtocol::Tcp, PortProtocol::Auto] {
        let server = sidecar_server(m.httpbin_tls(), MtlsMode::Strict, proto, App::TcpEcho);
        let o = m.run(
            &sidecar_client(m.sleep_tls(), istio_mutual()),
            &server,
            &req,
        );
        assert_eq!(o.status, Status::Http(200), "{proto:?} {o:#?}");
        assert_eq!(o.body, "hello mesh");
        assert!(o.mtls);
        assert!(
            o.server_log.clone().unwrap().contains(" 10 10 0 "),
            "bytes counted"
        );
    }
}

#[test]
fn same_inputs_give_identical_outcomes() {
    let m = Mesh::new();
    let client = sidecar_client(m.sleep_tls(), istio_mutual());
    let server = strict(&m);
    let a = m.run(&client, &server, &get());
    let b = m.run(&client, &server, &get());
    assert_eq!(a, b);
}

/// No verifier accepts what webpki rejects: expired and foreign-root chains fail every
/// verifying verifier, while the same verifiers accept a good chain.
#[test]
fn every_verifier_rejects_expired_and_untrusted_chains() {
    let m = Mesh::new();
    let provider = tls_config::crypto_provider(&m.sleep_tls()).unwrap();
    let foreign = TestCa::mesh_root("evil.example");
    let good_server = m.ca.workload(HTTPBIN, now());
    let good_client = m.ca.workload(SLEEP, now());
    let bad = [
        (
            "expired",
            m.ca.issue(HTTPBIN, now().offset(-7200), now().offset(-3600)),
        ),
        (
            "not yet valid",
            m.ca.issue(HTTPBIN, now().offset(3600), now().offset(7200)),
        ),
        ("foreign root", foreign.workload(HTTPBIN, now())),
    ];
    let name = ServerName::try_from("unused.invalid").unwrap();
    let rt = rustls_pki_types::UnixTime::now();
    let sv = SpiffeServerVerifier::new(
        &m.ca.bundle(),
        vec![HTTPBIN.into()],
        now(),
        provider.clone(),
    )
    .unwrap();
    let sv_any =
        SpiffeServerVerifier::new(&m.ca.bundle(), vec![], now(), provider.clone()).unwrap();
    let cv = SpiffeClientVerifier::new(
        &m.ca.bundle(),
        vec!["cluster.local".into()],
        now(),
        provider.clone(),
    )
    .unwrap();
    let cv_any = SpiffeClientVerifier::new(&m.ca.bundle(), vec![], now(), provider).unwrap();
    for v in [&sv, &sv_any] {
        assert!(v
            .verify_server_cert(&good_server.chain[0], &[], &name, &[], rt)
            .is_ok());
        for (what, cert) in &bad {
            assert!(
                v.verify_server_cert(&cert.chain[0], &[], &name, &[], rt)
                    .is_err(),
                "server verifier accepted {what}"
            );
        }
    }
    for v in [&cv, &cv_any] {
        assert!(v.verify_client_cert(&good_client.chain[0], &[], rt).is_ok());
        for (what, cert) in &bad {
            assert!(
                v.verify_client_cert(&cert.chain[0], &[], rt).is_err(),
                "client verifier accepted {what}"
            );
        }
    }
}

#[test]
fn mutual_with_external_client_cert_into_strict_is_unknown_ca() {
    let m = Mesh::new();
    let external = TestCa::mesh_root("external.example");
    let upstream = UpstreamTls::Mutual {
        client: ClientMaterial {
            cert: external.workload("spiffe://cluster.local/ns/default/sa/sleep", now()),
        },
        ca: Some(m.ca.bundle()),
        subject_alt_names: vec![],
        sni: Some(FQDN.into()),
        insecure_skip_verify: false,
    };
    let o = m.run(
        &sidecar_client(m.sleep_tls(), upstream),
        &strict(&m),
        &get(),
    );
    assert_connect_failure(&o, "TLSV1_ALERT_UNKNOWN_CA");
    assert_eq!(stats(&o, "server").fail_verify_error, 3);
}

#[test]
fn mutual_with_mesh_issued_client_cert_is_accepted_by_strict() {
    let m = Mesh::new();
    let upstream = UpstreamTls::Mutual {
        client: ClientMaterial {
            cert: m.ca.workload(SLEEP, now()),
        },
        ca: Some(m.ca.bundle()),
        subject_alt_names: vec![HTTPBIN.into()],
        sni: None,
        insecure_skip_verify: false,
    };
    let o = m.run(
        &sidecar_client(m.sleep_tls(), upstream),
        &strict(&m),
        &get(),
    );
    assert_eq!(o.status, Status::Http(200), "{o:#?}");
    assert!(o.mtls);
    assert_eq!(
        o.peer_principal.as_deref(),
        Some("cluster.local/ns/default/sa/sleep")
    );
}

#[test]
fn simple_without_ca_skips_server_verification_but_still_needs_a_client_cert() {
    // DR SIMPLE without caCertificates does not verify the (expired) server cert (IST0128), so
    // the failure that remains is the STRICT server's missing client certificate.
    let m = Mesh::new();
    let expired =
        m.ca.issue(HTTPBIN, now().offset(-7200), now().offset(-3600));
    let server = sidecar_server(
        m.tls(expired),
        MtlsMode::Strict,
        PortProtocol::Http,
        App::Httpbin,
    );
    let upstream = UpstreamTls::Simple {
        ca: None,
        subject_alt_names: vec![],
        sni: None,
        insecure_skip_verify: false,
    };
    let o = m.run(&sidecar_client(m.sleep_tls(), upstream), &server, &get());
    assert_connect_failure(&o, "TLSV1_ALERT_CERTIFICATE_REQUIRED");
    assert_eq!(stats(&o, "client").fail_verify_error, 0);
}

#[test]
fn sidecar_plaintext_into_permissive_is_accepted_without_mtls() {
    let m = Mesh::new();
    let server = sidecar_server(
        m.httpbin_tls(),
        MtlsMode::Permissive,
        PortProtocol::Auto,
        App::Httpbin,
    );
    let o = m.run(
        &sidecar_client(m.sleep_tls(), UpstreamTls::Plaintext),
        &server,
        &get(),
    );
    assert_eq!(o.status, Status::Http(200));
    assert!(!o.mtls);
    assert_eq!(o.peer_principal, None);
    assert_eq!(stats(&o, "client").handshake, 0);
}

#[test]
fn bare_pods_talk_plaintext_without_any_proxy_view() {
    let m = Mesh::new();
    let server = ServerSide::NoSidecar {
        ip: "10.0.0.9".into(),
        port: 8080,
        app: App::Httpbin,
    };
    let o = m.run(&bare_client(), &server, &get());
    assert_eq!(o.status, Status::Http(200));
    assert!(o.client_log.is_none() && o.server_log.is_none());
    assert!(o.stats.is_empty());
    let o = m.run(
        &bare_client(),
        &server,
        &AppRequest::http_get("x", "/status/418"),
    );
    assert_eq!(o.status, Status::Http(418));
}

#[test]
fn disabled_tcp_port_passes_mtls_bytes_to_the_app() {
    // TestInbound "mtls → tcp 70 under DISABLE": the bytes reach the app raw; an echo app
    // reflects the ClientHello, which the client's TLS stack rejects.
    let m = Mesh::new();
    let server = sidecar_server(
        m.httpbin_tls(),
        MtlsMode::Disable,
        PortProtocol::Tcp,
        App::TcpEcho,
    );
    let req = AppRequest::tcp("echo.foo:9000", b"ping");
    let o = m.run(
        &sidecar_client(m.sleep_tls(), istio_mutual()),
        &server,
        &req,
    );
    assert_eq!(o.status, Status::Reset);
    assert_eq!(o.response_flags, [UF]);
    assert_eq!(o.tls_error.as_deref(), Some("UNEXPECTED_MESSAGE"));
    assert_eq!(stats(&o, "server").handshake, 0);
}

/// Listener-level result, in the vocabulary of Istio's `sidecar_simulation_test.go`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inbound {
    Ok,
    NoFilterChain,
    MtlsError,
    ProtocolError,
}

fn listener_result(o: &Outcome) -> Inbound {
    let server = stats(o, "server");
    if server.no_filter_chain_match > 0 {
        Inbound::NoFilterChain
    } else if o.server_tls_error.is_some() || server.fail_verify_no_cert > 0 {
        Inbound::MtlsError
    } else if o.server_log.as_deref().is_some_and(|l| l.contains(" DPE ")) {
        Inbound::ProtocolError
    } else {
        Inbound::Ok
    }
}

/// istio-semantics §2.3, the `TestInbound` matrix: plaintext / TLS / mTLS × TCP / HTTP / auto
/// ports × DISABLE / PERMISSIVE / STRICT, decided by real bytes at the listener.
#[test]
fn inbound_filter_chains_follow_istios_test_inbound_matrix() {
    use Inbound::*;
    let m = Mesh::new();
    let plain_http = (bare_client(), get());
    let plain_tcp = (bare_client(), AppRequest::tcp("svc:70", b"ping"));
    let tls = UpstreamTls::Simple {
        ca: None,
        subject_alt_names: vec![],
        sni: Some(FQDN.into()),
        insecure_skip_verify: false,
    };
    let tls_http = (sidecar_client(m.sleep_tls(), tls.clone()), get());
    let tls_tcp = (
        sidecar_client(m.sleep_tls(), tls),
        AppRequest::tcp("svc:70", b"ping"),
    );
    let mtls_http = (sidecar_client(m.sleep_tls(), istio_mutual()), get());
    let mtls_tcp = (
        sidecar_client(m.sleep_tls(), istio_mutual()),
        AppRequest::tcp("svc:70", b"ping"),
    );
    let (tcp, http, auto) = (PortProtocol::Tcp, PortProtocol::Http, PortProtocol::Auto);
    #[rustfmt::skip]
    let table = [
        ("tcp 70 plain",       &plain_tcp,  tcp,  App::TcpEcho, [Ok, Ok, NoFilterChain]),
        ("http→tcp 70 plain",  &plain_http, tcp,  App::TcpEcho, [Ok, Ok, NoFilterChain]),
        ("tls→tcp 70",         &tls_tcp,    tcp,  App::TcpEcho, [Ok, Ok, MtlsError]),
        ("https→tcp 70",       &tls_http,   tcp,  App::TcpEcho, [Ok, Ok, MtlsError]),
        ("mtls tcp→70",        &mtls_tcp,   tcp,  App::TcpEcho, [Ok, Ok, Ok]),
        ("mtls http→70",       &mtls_http,  tcp,  App::TcpEcho, [Ok, Ok, Ok]),
        ("http 80 plain",      &plain_http, http, App::Httpbin, [Ok, Ok, NoFilterChain]),
        ("tls→http 80",        &tls_tcp,    http, App::Httpbin, [ProtocolError, NoFilterChain, MtlsError]),
        ("https→http 80",      &tls_http,   http, App::Httpbin, [ProtocolError, NoFilterChain, MtlsError]),
        ("mtls→http 80",       &mtls_http,  http, App::Httpbin, [ProtocolError, Ok, Ok]),
        ("tcp→http 80 plain",  &plain_tcp,  http, App::Httpbin, [ProtocolError, ProtocolError, NoFilterChain]),
        ("auto 81 http plain", &plain_http, auto, App::Httpbin, [Ok, Ok, NoFilterChain]),
        ("auto 81 tcp plain",  &plain_tcp,  auto, App::Httpbin, [Ok, Ok, NoFilterChain]),
        ("tls→auto 81",        &tls_tcp,    auto, App::Httpbin, [Ok, Ok, MtlsError]),
        ("https→auto 81",      &tls_http,   auto, App::Httpbin, [Ok, Ok, MtlsError]),
        ("mtls tcp→auto 81",   &mtls_tcp,   auto, App::Httpbin, [Ok, Ok, Ok]),
        ("mtls http→auto 81",  &mtls_http,  auto, App::Httpbin, [Ok, Ok, Ok]),
    ];
    let modes = [MtlsMode::Disable, MtlsMode::Permissive, MtlsMode::Strict];
    for (name, (client, req), proto, app, want) in table {
        for (mode, want) in modes.iter().zip(want) {
            let server = sidecar_server(m.httpbin_tls(), *mode, proto, app);
            let o = m.run(client, &server, req);
            assert_eq!(listener_result(&o), want, "{name} under {mode:?}: {o:#?}");
        }
    }
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

#[test]
fn plug_in_ca_intermediate_chains_verify_to_the_root() {
    let m = Mesh::new();
    let plugin = m.ca.intermediate("cluster.local plug-in");
    let client = sidecar_client(m.tls(plugin.workload(SLEEP, now())), istio_mutual());
    let server = sidecar_server(
        m.tls(plugin.workload(HTTPBIN, now())),
        MtlsMode::Strict,
        PortProtocol::Http,
        App::Httpbin,
    );
    let o = m.run(&client, &server, &get());
    assert_eq!(o.status, Status::Http(200), "{o:#?}");
    assert!(o.mtls);
}

#[test]
fn plug_in_ca_whose_root_is_not_in_the_bundle_is_unknown_ca() {
    // CustomCaTrustBundleMissing: the client is issued by a plug-in CA under another root.
    let m = Mesh::new();
    let other_root = TestCa::mesh_root("corp root");
    let plugin = other_root.intermediate("cluster.local plug-in");
    let client = sidecar_client(m.tls(plugin.workload(SLEEP, now())), istio_mutual());
    let o = m.run(&client, &strict(&m), &get());
    assert_connect_failure(&o, "TLSV1_ALERT_UNKNOWN_CA");
    assert_eq!(stats(&o, "server").fail_verify_error, 3);
}

#[test]
fn permissive_tcp_passthrough_of_non_istio_tls_is_still_authorized() {
    let m = Mesh::new();
    let server = sidecar_server(
        m.httpbin_tls(),
        MtlsMode::Permissive,
        PortProtocol::Tcp,
        App::TcpEcho,
    );
    let tls = UpstreamTls::Simple {
        ca: None,
        subject_alt_names: vec![],
        sni: Some(FQDN.into()),
        insecure_skip_verify: true,
    };
    let seen = std::cell::RefCell::new(None);
    let authz = |input: &AuthzInput| {
        *seen.borrow_mut() = Some(input.clone());
        AuthzVerdict::Deny {
            details: "rbac_access_denied_matched_policy[none]".into(),
        }
    };
    let mut pool = ConnectionPool::new();
    let req = AppRequest::tcp("echo.foo:9000", b"ping");
    let o = m.run_in(
        &sidecar_client(m.sleep_tls(), tls),
        &server,
        &req,
        &mut pool,
        &authz,
    );
    assert_eq!(o.status, Status::Reset);
    assert!(o
        .server_log
        .unwrap()
        .contains("rbac_access_denied_matched_policy[none]"));
    let input = seen
        .into_inner()
        .expect("authz ran on the passthrough chain");
    assert_eq!(
        input.principal, None,
        "TLS was not terminated, so there is no peer identity"
    );
    assert!(!input.mtls);
    assert!(input.http.is_none());
}

#[test]
fn mesh_config_sets_trust_domains_versions_and_ciphers() {
    let m = Mesh::new();
    let mesh = crate::model::MeshConfig {
        trust_domain_aliases: vec!["old.domain".into()],
        min_protocol_version: Some(TlsVersion::Tls13),
        cipher_suites: vec!["ECDHE-RSA-AES128-GCM-SHA256".into()],
        ..Default::default()
    };
    let tls = SidecarTls::from_mesh(None, m.ca.bundle(), &mesh, now());
    assert_eq!(tls.trust_domains, ["cluster.local", "old.domain"]);
    assert_eq!(
        (tls.params.min_version, tls.params.max_version),
        (TlsVersion::Tls13, TlsVersion::Tls13)
    );
    assert_eq!(
        tls.params.cipher_suites,
        [CipherSuite::EcdheRsaAes128GcmSha256]
    );
}

#[test]
fn rsa_workload_certificates_handshake_over_tls13_and_tls12() {
    // Istio's agent defaults to RSA 2048 keys; TLS 1.2 then needs the ECDHE-RSA suites.
    let m = Mesh::new();
    let rsa = |id: &str, which: usize| {
        m.ca.issue_with_key(
            id,
            now().offset(-120),
            now().offset(86_400),
            testing::rsa_test_key(which),
        )
    };
    for max in [TlsVersion::Tls13, TlsVersion::Tls12] {
        let mut client_tls = m.tls(rsa(SLEEP, 0));
        client_tls.params.max_version = max;
        let server = sidecar_server(
            m.tls(rsa(HTTPBIN, 1)),
            MtlsMode::Strict,
            PortProtocol::Http,
            App::Httpbin,
        );
        let o = m.run(&sidecar_client(client_tls, istio_mutual()), &server, &get());
        assert_eq!(o.status, Status::Http(200), "{max:?}: {o:#?}");
        assert_eq!(
            o.peer_principal.as_deref(),
            Some("cluster.local/ns/default/sa/sleep")
        );
    }
}
