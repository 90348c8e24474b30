//! Who trusts whom: trust domains and aliases, plug-in CAs, RSA keys, TLS versions and cipher
//! suites from MeshConfig, and the SPIFFE verifiers themselves.

use rustls::client::danger::ServerCertVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls_pki_types::ServerName;

use super::super::verifier::{SpiffeClientVerifier, SpiffeServerVerifier};
use super::*;

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
fn unknown_cipher_name_is_a_clear_error() {
    let m = Mesh::new();
    let mut tls = m.sleep_tls();
    tls.params.cipher_suites = vec![CipherSuite::Unknown("ECDHE-FANCY".into())];
    let err = crypto_provider(&tls).unwrap_err();
    assert!(
        err.to_string()
            .contains("unknown cipher suite \"ECDHE-FANCY\""),
        "{err}"
    );
}

/// No verifier accepts what webpki rejects: expired and foreign-root chains fail every
/// verifying verifier, while the same verifiers accept a good chain.
#[test]
fn every_verifier_rejects_expired_and_untrusted_chains() {
    let m = Mesh::new();
    let provider = crypto_provider(&m.sleep_tls()).unwrap();
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
