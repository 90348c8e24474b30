use std::process::Command;
use std::time::Duration;

use rustls_pki_types::CertificateDer;

use super::*;
use crate::pki::verify::Usage;
use crate::SimTime;

const HOUR: u64 = 3600;

fn spiffe(ns: &str, sa: &str) -> SpiffeId {
    SpiffeId {
        trust_domain: "cluster.local".into(),
        namespace: ns.into(),
        service_account: sa.into(),
    }
}

fn ca(seed: u64) -> CertificateAuthority {
    CertificateAuthority::self_signed(seed, "cluster.local", SimTime::EPOCH).unwrap()
}

fn issue(ca: &mut CertificateAuthority, ttl: Duration, now: SimTime) -> WorkloadCert {
    ca.issue_workload(
        &spiffe("foo", "httpbin"),
        KeyType::EcdsaP256,
        ttl,
        now,
        "foo/httpbin#0",
    )
    .unwrap()
}

fn webpki_verify(
    chain: &[CertificateDer<'static>],
    roots: &[CertificateDer<'static>],
    now: SimTime,
) -> Result<(), webpki::Error> {
    verify_chain(
        chain,
        &TrustBundle::from_roots(roots.to_vec()),
        now,
        Usage::Client,
    )
}

#[test]
fn self_signed_root_is_a_ten_year_ca_named_after_the_trust_domain() {
    let ca = ca(1);
    let root = inspect(ca.root()).unwrap();
    assert_eq!(root.subject, "O=cluster.local");
    assert_eq!(root.issuer, root.subject);
    assert!(root.is_ca);
    assert_eq!(root.key_usage, vec!["keyCertSign", "cRLSign"]);
    assert_eq!(root.not_before, SimTime::EPOCH);
    assert_eq!(root.not_after.0 - root.not_before.0, 3650 * 86400);
    assert_eq!(ca.signing_cert(), ca.root());
    assert!(ca.chain_tail().is_empty());
}

#[test]
fn workload_cert_is_shaped_like_istios() {
    let mut ca = ca(1);
    let now = SimTime::EPOCH.plus(Duration::from_secs(HOUR));
    let cert = issue(&mut ca, DEFAULT_WORKLOAD_TTL, now);
    assert_eq!(cert.chain.len(), 1);
    let info = inspect(&cert.chain[0]).unwrap();
    assert_eq!(
        info.subject, "",
        "Istio workload certs have an empty subject"
    );
    assert_eq!(info.issuer, "O=cluster.local");
    assert_eq!(
        info.uri_sans,
        vec!["spiffe://cluster.local/ns/foo/sa/httpbin"]
    );
    assert!(info.san_critical, "an empty subject makes the SAN critical");
    assert_eq!(info.spiffe, Some(spiffe("foo", "httpbin")));
    assert!(!info.is_ca);
    assert_eq!(info.key_usage, vec!["digitalSignature", "keyEncipherment"]);
    assert_eq!(info.extended_key_usage, vec!["serverAuth", "clientAuth"]);
    assert_eq!(info.not_before, now.offset(-120), "backdated by 2 minutes");
    assert_eq!(info.not_after, now.plus(DEFAULT_WORKLOAD_TTL));
    assert_eq!(
        (cert.not_before, cert.not_after),
        (info.not_before, info.not_after)
    );
    assert_eq!(cert.spiffe, Some(spiffe("foo", "httpbin")));
}

#[test]
fn workload_not_after_is_clamped_to_the_signing_cert() {
    let mut ca = ca(1);
    let late = SimTime(ca.signing_not_after().0 - HOUR);
    let cert = issue(&mut ca, DEFAULT_WORKLOAD_TTL, late);
    assert_eq!(cert.not_after, ca.signing_not_after());
    assert_eq!(
        inspect(&cert.chain[0]).unwrap().not_after,
        ca.signing_not_after()
    );
}

#[test]
fn ttl_above_ninety_days_is_rejected_with_istios_message() {
    let mut ca = ca(1);
    let err = ca
        .issue_workload(
            &spiffe("foo", "a"),
            KeyType::EcdsaP256,
            Duration::from_secs(100 * 86400),
            SimTime::EPOCH,
            "k",
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "requested TTL 2400h0m0s is greater than the max allowed TTL 2160h0m0s"
    );
    // Exactly 90 days is allowed.
    issue(&mut ca, MAX_WORKLOAD_TTL, SimTime::EPOCH);
}

#[test]
fn csr_to_a_ca_with_an_expired_signing_cert_is_rejected() {
    let mut ca = ca(1);
    let now = SimTime::EPOCH.plus(Duration::from_secs(HOUR));
    ca.expire_signing_cert(now).unwrap();
    assert!(inspect(ca.signing_cert()).unwrap().not_after < now);
    let err = ca
        .issue_workload(
            &spiffe("foo", "a"),
            KeyType::EcdsaP256,
            DEFAULT_WORKLOAD_TTL,
            now,
            "k",
        )
        .unwrap_err();
    assert!(matches!(err, PkiError::SigningCertExpired { .. }), "{err}");
    ca.renew_signing_cert(now).unwrap();
    issue(&mut ca, DEFAULT_WORKLOAD_TTL, now);
}

#[test]
fn csr_with_a_bad_signature_is_rejected() {
    let mut ca = ca(1);
    let mut csr = create_csr(&spiffe("foo", "a"), KeyType::EcdsaP256, 1, "k").unwrap();
    let last = csr.der.len() - 1;
    csr.der[last] ^= 0x55;
    let err = ca
        .sign_csr(
            &csr.der,
            &spiffe("foo", "a"),
            DEFAULT_WORKLOAD_TTL,
            SimTime::EPOCH,
        )
        .unwrap_err();
    assert!(matches!(err, PkiError::Csr(_)), "{err}");
}

#[test]
fn self_signed_chain_verifies_with_webpki_only_inside_its_validity() {
    let mut ca = ca(1);
    let cert = issue(&mut ca, DEFAULT_WORKLOAD_TTL, SimTime::EPOCH);
    let roots = [ca.root().clone()];
    webpki_verify(
        &cert.chain,
        &roots,
        SimTime::EPOCH.plus(Duration::from_secs(HOUR)),
    )
    .unwrap();
    let after = cert.not_after.offset(1);
    assert!(matches!(
        webpki_verify(&cert.chain, &roots, after),
        Err(webpki::Error::CertExpired { .. })
    ));
    let before = cert.not_before.offset(-1);
    assert!(matches!(
        webpki_verify(&cert.chain, &roots, before),
        Err(webpki::Error::CertNotValidYet { .. })
    ));
}

#[test]
fn plugin_ca_chain_is_leaf_then_intermediate_and_verifies_to_the_plugin_root() {
    let mut ca = ca(1);
    let old_root = ca.root().clone();
    ca.use_plugin_ca(SimTime::EPOCH).unwrap();
    assert_eq!(ca.mode(), CaMode::Plugin);
    let cert = issue(&mut ca, DEFAULT_WORKLOAD_TTL, SimTime::EPOCH);
    assert_eq!(cert.chain.len(), 2);
    assert_eq!(&cert.chain[1], ca.signing_cert());
    let int = inspect(&cert.chain[1]).unwrap();
    assert!(int.is_ca);
    assert_eq!(int.issuer, inspect(ca.root()).unwrap().subject);
    assert_eq!(inspect(&cert.chain[0]).unwrap().issuer, int.subject);
    let t = SimTime::EPOCH.plus(Duration::from_secs(HOUR));
    webpki_verify(&cert.chain, &[ca.root().clone()], t).unwrap();
    // Without the plug-in root (the old self-signed root only) it does not verify.
    assert!(matches!(
        webpki_verify(&cert.chain, &[old_root], t),
        Err(webpki::Error::UnknownIssuer)
    ));
}

#[test]
fn rotated_root_does_not_verify_certs_from_the_old_root() {
    let mut ca = ca(1);
    let old = issue(&mut ca, DEFAULT_WORKLOAD_TTL, SimTime::EPOCH);
    let old_root = ca.root().clone();
    ca.rotate_root(SimTime::EPOCH).unwrap();
    assert_ne!(fingerprint(ca.root()), fingerprint(&old_root));
    assert_eq!(ca.retired_roots(), std::slice::from_ref(&old_root));
    let new = issue(&mut ca, DEFAULT_WORKLOAD_TTL, SimTime::EPOCH);
    let t = SimTime::EPOCH.plus(Duration::from_secs(60));
    webpki_verify(&new.chain, &[ca.root().clone()], t).unwrap();
    assert!(webpki_verify(&old.chain, &[ca.root().clone()], t).is_err());
    assert!(webpki_verify(&new.chain, std::slice::from_ref(&old_root), t).is_err());
    // A multi-root bundle trusts both.
    let both = [old_root, ca.root().clone()];
    webpki_verify(&old.chain, &both, t).unwrap();
    webpki_verify(&new.chain, &both, t).unwrap();
}

#[test]
fn same_seed_gives_byte_identical_certificates_and_different_seeds_differ() {
    let run = |seed: u64| {
        let mut ca = ca(seed);
        let a = issue(&mut ca, DEFAULT_WORKLOAD_TTL, SimTime::EPOCH);
        ca.use_plugin_ca(SimTime::EPOCH).unwrap();
        let b = issue(&mut ca, DEFAULT_WORKLOAD_TTL, SimTime::EPOCH);
        (ca.root().clone(), a, b)
    };
    let (r1, a1, b1) = run(1);
    let (r2, a2, b2) = run(1);
    let (r3, a3, _) = run(2);
    assert_eq!(r1, r2);
    assert_eq!(a1, a2, "same seed: identical leaf DER and key");
    assert_eq!(b1, b2, "same seed: identical plug-in chain");
    assert_ne!(r1, r3);
    assert_ne!(a1.chain, a3.chain);
    assert_ne!(a1.key_pkcs8, a3.key_pkcs8);
}

#[test]
fn rsa_workload_keys_are_supported() {
    let mut ca = ca(1);
    let cert = ca
        .issue_workload(
            &spiffe("foo", "a"),
            KeyType::Rsa2048,
            DEFAULT_WORKLOAD_TTL,
            SimTime::EPOCH,
            "rsa-workload",
        )
        .unwrap();
    keys::load_key_pair(KeyType::Rsa2048, &cert.key_pkcs8).unwrap();
    webpki_verify(&cert.chain, &[ca.root().clone()], SimTime::EPOCH).unwrap();
}

#[test]
fn bundle_fingerprints_are_sha256_of_the_der() {
    let ca = ca(1);
    let mut bundle = ca.root_bundle();
    bundle.add(ca.root().clone());
    assert_eq!(bundle.roots.len(), 1, "add keeps one copy of each root");
    let fp = bundle.fingerprints();
    assert_eq!(fp[0].len(), 64);
    assert_eq!(fp[0], inspect(ca.root()).unwrap().fingerprint);
}

fn openssl(args: &[&str], dir: &std::path::Path) -> Option<(bool, String)> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some((out.status.success(), text))
}

fn openssl_available() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    // .ci/run installs openssl: in CI a missing binary is a failure, never a silent skip.
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "openssl is not on PATH in CI"
    );
    if !ok {
        eprintln!("note: openssl is not on PATH; skipping the openssl interop check");
    }
    ok
}

#[test]
fn exported_pem_files_verify_with_openssl() {
    if !openssl_available() {
        return;
    }
    // openssl verifies at the virtual time (`-attime`), never the wall clock.
    let now = SimTime::EPOCH;
    let at = now.plus(Duration::from_secs(HOUR)).0.to_string();
    for plugin in [false, true] {
        let mut ca = CertificateAuthority::self_signed(1, "cluster.local", now).unwrap();
        if plugin {
            ca.use_plugin_ca(now).unwrap();
        }
        let cert = issue(&mut ca, DEFAULT_WORKLOAD_TTL, now);
        let dir = tempfile::tempdir().unwrap();
        write_workload_files(dir.path(), &cert, &ca.root_bundle()).unwrap();

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let mut args = vec!["verify", "-attime", &at, "-CAfile", "root-cert.pem"];
        if plugin {
            std::fs::write(
                dir.path().join("intermediate.pem"),
                pem::certs_pem([cert.chain[1].as_ref()]),
            )
            .unwrap();
            args.extend(["-untrusted", "intermediate.pem"]);
        }
        args.push("cert-chain.pem");
        let (ok, text) = openssl(&args, dir.path()).unwrap();
        assert!(
            ok && text.contains("cert-chain.pem: OK"),
            "plugin={plugin}: {text}"
        );

        let (ok, text) = openssl(
            &[
                "x509",
                "-in",
                "cert-chain.pem",
                "-noout",
                "-ext",
                "subjectAltName",
            ],
            dir.path(),
        )
        .unwrap();
        assert!(ok, "{text}");
        assert!(text.contains("critical"), "{text}");
        assert!(
            text.contains("URI:spiffe://cluster.local/ns/foo/sa/httpbin"),
            "{text}"
        );

        let (ok, text) = openssl(&["pkey", "-in", "key.pem", "-noout"], dir.path()).unwrap();
        assert!(ok, "key.pem is a valid PKCS#8 key: {text}");
    }
}

/// Accepts a server whose chain verifies to `bundle` at `now` and whose SPIFFE id is `expect`;
/// the signature checks are rustls's own.
#[derive(Debug)]
struct SpiffeServerVerifier {
    bundle: TrustBundle,
    now: SimTime,
    expect: SpiffeId,
}

impl rustls::client::danger::ServerCertVerifier for SpiffeServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        assert_eq!(
            now,
            self.now.to_unix_time(),
            "rustls passes the virtual time"
        );
        let chain: Vec<CertificateDer<'static>> = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.clone().into_owned())
            .collect();
        verify_chain(&chain, &self.bundle, self.now, Usage::Server)
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        match inspect(end_entity).map(|i| i.spiffe) {
            Ok(Some(id)) if id == self.expect => {
                Ok(rustls::client::danger::ServerCertVerified::assertion())
            }
            other => Err(rustls::Error::General(format!(
                "unexpected identity {other:?}"
            ))),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &algs())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &algs())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        algs().supported_schemes()
    }
}

fn algs() -> rustls::crypto::WebPkiSupportedAlgorithms {
    rustls::crypto::ring::default_provider().signature_verification_algorithms
}

/// rustls reads time through this, so both sides verify at the mesh's virtual time.
#[derive(Debug)]
struct VirtualClock(SimTime);

impl rustls::time_provider::TimeProvider for VirtualClock {
    fn current_time(&self) -> Option<rustls::pki_types::UnixTime> {
        Some(self.0.to_unix_time())
    }
}

/// One in-memory handshake (plus a byte of application data) between a client and a server
/// presenting `client` and `server`; returns the server's view of the client's identity.
fn mtls_handshake(
    client: &WorkloadCert,
    server: &WorkloadCert,
    bundle: &TrustBundle,
    now: SimTime,
) -> Result<Option<SpiffeId>, rustls::Error> {
    use std::sync::Arc;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key =
        |c: &WorkloadCert| rustls::pki_types::PrivateKeyDer::Pkcs8(c.key_pkcs8.clone().into());
    let mut roots = rustls::RootCertStore::empty();
    for r in &bundle.roots {
        roots.add(r.clone())?;
    }
    let clock: Arc<dyn rustls::time_provider::TimeProvider> = Arc::new(VirtualClock(now));
    let client_verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| rustls::Error::General(e.to_string()))?;
    let server_cfg = rustls::ServerConfig::builder_with_details(provider.clone(), clock.clone())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(client_verifier)
        .with_single_cert(server.chain.clone(), key(server))?;
    let client_cfg = rustls::ClientConfig::builder_with_details(provider, clock)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(SpiffeServerVerifier {
            bundle: bundle.clone(),
            now,
            expect: server.spiffe.clone().unwrap(),
        }))
        .with_client_auth_cert(client.chain.clone(), key(client))?;
    let name =
        rustls::pki_types::ServerName::try_from("outbound_.8000_._.httpbin.foo.svc.cluster.local")
            .map_err(|e| rustls::Error::General(e.to_string()))?;
    let mut c = rustls::ClientConnection::new(Arc::new(client_cfg), name)?;
    let mut s = rustls::ServerConnection::new(Arc::new(server_cfg))?;
    use std::io::Write as _;
    c.writer().write_all(b"x").unwrap();
    for _ in 0..10 {
        let mut buf = Vec::new();
        c.write_tls(&mut buf).unwrap();
        s.read_tls(&mut buf.as_slice()).unwrap();
        s.process_new_packets()?;
        let mut buf = Vec::new();
        s.write_tls(&mut buf).unwrap();
        c.read_tls(&mut buf.as_slice()).unwrap();
        c.process_new_packets()?;
        if !c.is_handshaking() && !s.is_handshaking() && !c.wants_write() && !s.wants_write() {
            break;
        }
    }
    let peer: Vec<CertificateDer<'static>> = s
        .peer_certificates()
        .unwrap_or_default()
        .iter()
        .map(|c| c.clone().into_owned())
        .collect();
    Ok(peer
        .first()
        .and_then(|c| inspect(c).ok())
        .and_then(|i| i.spiffe))
}

#[test]
fn issued_credentials_complete_a_real_rustls_mutual_tls_handshake() {
    for (kt, plugin) in [
        (KeyType::EcdsaP256, false),
        (KeyType::Rsa2048, false),
        (KeyType::EcdsaP256, true),
    ] {
        let mut ca = ca(1);
        if plugin {
            ca.use_plugin_ca(SimTime::EPOCH).unwrap();
        }
        let now = SimTime::EPOCH.plus(Duration::from_secs(HOUR));
        let sleep = ca
            .issue_workload(&spiffe("foo", "sleep"), kt, DEFAULT_WORKLOAD_TTL, now, "s")
            .unwrap();
        let httpbin = ca
            .issue_workload(
                &spiffe("foo", "httpbin"),
                kt,
                DEFAULT_WORKLOAD_TTL,
                now,
                "h",
            )
            .unwrap();
        let bundle = ca.root_bundle();
        let seen = mtls_handshake(&sleep, &httpbin, &bundle, now).unwrap();
        assert_eq!(seen, Some(spiffe("foo", "sleep")), "{kt} plugin={plugin}");
        // Past notAfter each side refuses the other's certificate, at virtual time.
        let late = httpbin.not_after.offset(1);
        assert!(mtls_handshake(&sleep, &httpbin, &bundle, late).is_err());
        let other_root = CertificateAuthority::self_signed(2, "cluster.local", SimTime::EPOCH)
            .unwrap()
            .root_bundle();
        assert!(mtls_handshake(&sleep, &httpbin, &other_root, now).is_err());
    }
}
