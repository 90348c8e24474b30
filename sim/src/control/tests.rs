use super::*;
use crate::pki::verify::Usage;
use crate::pki::{fingerprint, inspect, verify_chain, DEFAULT_WORKLOAD_TTL};
use crate::Fault;

const MIN: u64 = 60;
const HOUR: u64 = 3600;
const DAY: u64 = 86400;

const UNAUTHENTICATED: &str = "resource:default failed to sign: create certificate: rpc error: \
                               code = Unauthenticated desc = request authenticate failure";

fn at(secs: u64) -> SimTime {
    SimTime(SimTime::EPOCH.0 + secs)
}

fn id(ns: &str, sa: &str) -> SpiffeId {
    SpiffeId {
        trust_domain: "cluster.local".into(),
        namespace: ns.into(),
        service_account: sa.into(),
    }
}

/// Three sidecars registered at the epoch; nothing processed yet.
fn plane(seed: u64) -> ControlPlane {
    let mut cp = ControlPlane::new(
        seed,
        "cluster.local",
        DEFAULT_WORKLOAD_TTL,
        KeyType::EcdsaP256,
        SimTime::EPOCH,
    )
    .unwrap();
    for (proxy, ns, sa) in [
        ("bar/client", "bar", "default"),
        ("foo/httpbin", "foo", "httpbin"),
        ("foo/sleep", "foo", "sleep"),
    ] {
        cp.register(proxy, id(ns, sa), true).unwrap();
    }
    cp
}

/// A running mesh: every sidecar has its first certificate.
fn started(seed: u64) -> ControlPlane {
    let mut cp = plane(seed);
    cp.advance_to(SimTime::EPOCH);
    cp
}

fn cert_of<'a>(cp: &'a ControlPlane, proxy: &str) -> &'a WorkloadCert {
    cp.credentials(proxy).0.expect("proxy has a certificate")
}

/// Whether `proxy`'s own chain verifies against `peer`'s bundle at `now`.
fn peer_accepts(cp: &ControlPlane, proxy: &str, peer: &str, now: SimTime) -> bool {
    let chain = &cert_of(cp, proxy).chain;
    verify_chain(chain, cp.credentials(peer).1, now, Usage::Client).is_ok()
}

fn log_has(lines: &[String], needle: &str) -> bool {
    lines.iter().any(|l| l.contains(needle))
}

fn issuance_times(cp: &ControlPlane, proxy: &str) -> Vec<u64> {
    cp.agent_log(proxy)
        .iter()
        .filter(|l| l.contains("generated new workload certificate"))
        .filter_map(|l| l.split('\t').next())
        .filter_map(|t| humantime::parse_rfc3339(t).ok())
        .filter_map(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .collect()
}

#[test]
fn sidecars_get_certificates_for_their_identity_at_start() {
    let mut cp = plane(1);
    assert!(
        cp.credentials("foo/httpbin").0.is_none(),
        "CSR not processed yet"
    );
    let g0 = cp.generation("foo/httpbin");
    cp.advance_to(SimTime::EPOCH);
    let cert = cert_of(&cp, "foo/httpbin");
    assert_eq!(cert.spiffe, Some(id("foo", "httpbin")));
    assert_eq!(cp.credentials("foo/httpbin").1, &cp.ca().root_bundle());
    assert_ne!(cp.generation("foo/httpbin"), g0);
    assert!(peer_accepts(&cp, "foo/httpbin", "foo/sleep", at(MIN)));
    let log = cp.agent_log("foo/httpbin");
    assert_eq!(log.len(), 1);
    assert_eq!(
        log[0],
        "2026-01-01T00:00:00.000000Z\tinfo\tcache\tgenerated new workload certificate\t\
         resourceName=default latency=0s ttl=24h0m0s"
    );
    assert!(cp.istiod_log().is_empty());
}

#[test]
fn unknown_proxies_have_no_credentials_and_duplicates_are_rejected() {
    let mut cp = started(1);
    let (cert, bundle) = cp.credentials("nope/nope");
    assert!(cert.is_none() && bundle.is_empty());
    assert_eq!(cp.generation("nope/nope"), 0);
    assert!(cp.agent_log("nope/nope").is_empty());
    assert_eq!(
        cp.register("foo/httpbin", id("foo", "httpbin"), true),
        Err(ControlError::DuplicateProxy("foo/httpbin".into()))
    );
    let err = cp
        .apply_fault(
            &Fault::MissingCert {
                workload: "foo/nothere".into(),
            },
            SimTime::EPOCH,
        )
        .unwrap_err();
    assert!(err.to_string().contains("foo/nothere"), "{err}");
}

#[test]
fn thirty_days_with_istiod_up_keep_every_cert_valid_and_rotate_about_every_12h() {
    let mut cp = started(1);
    let proxies: Vec<String> = cp.proxies().map(str::to_string).collect();
    let mut t = 0;
    while t <= 30 * DAY {
        cp.advance_to(at(t));
        for p in &proxies {
            let cert = cert_of(&cp, p);
            assert!(
                cert.not_before <= at(t) && at(t) <= cert.not_after,
                "{p} cert invalid at +{t}s"
            );
            assert!(peer_accepts(&cp, p, "foo/httpbin", at(t)), "{p} at +{t}s");
        }
        t += 10 * MIN;
    }
    for p in &proxies {
        let times = issuance_times(&cp, p);
        // Initial certificate plus one rotation per ~12h.
        assert!((60..=62).contains(&times.len()), "{p}: {}", times.len());
        for gap in times.windows(2).map(|w| w[1] - w[0]) {
            // 50% of 24h, ±1% of 24h of jitter (about ±15 min).
            assert!(
                (12 * HOUR - 900..=12 * HOUR + 900).contains(&gap),
                "{p}: gap {gap}s"
            );
        }
    }
    assert!(cp.istiod_log().is_empty());
}

#[test]
fn istiod_down_lets_the_cert_expire_unrenewed_then_it_renews_when_istiod_is_back() {
    let mut cp = started(1);
    let first = cert_of(&cp, "foo/httpbin").clone();
    cp.apply_fault(&Fault::IstiodDown, at(HOUR)).unwrap();
    assert_eq!(
        cert_of(&cp, "foo/httpbin"),
        &first,
        "nothing changes at first"
    );

    cp.advance_to(first.not_after);
    assert_eq!(cert_of(&cp, "foo/httpbin"), &first, "rotation failed");
    assert!(peer_accepts(
        &cp,
        "foo/httpbin",
        "foo/sleep",
        first.not_after
    ));

    let after = first.not_after.offset(1);
    cp.advance_to(after);
    assert_eq!(cert_of(&cp, "foo/httpbin"), &first, "not renewed");
    assert!(
        !peer_accepts(&cp, "foo/httpbin", "foo/sleep", after),
        "expired"
    );
    assert!(log_has(
        cp.agent_log("foo/httpbin"),
        "resource:default failed to sign: create certificate: rpc error: code = Unavailable"
    ));
    // Retries back off to RETRY_MAX: the next one is at most five minutes out.
    let next = cp.next_csr("foo/httpbin").unwrap();
    assert!(next > after && next.0 <= after.0 + RETRY_MAX.as_secs());

    let back = at(30 * HOUR);
    cp.set_istiod_up(true, back);
    cp.advance_to(back.plus(RETRY_MAX));
    let renewed = cert_of(&cp, "foo/httpbin");
    assert_ne!(renewed, &first);
    assert!(renewed.not_before <= back.plus(RETRY_MAX) && back < renewed.not_after);
    assert!(peer_accepts(
        &cp,
        "foo/httpbin",
        "foo/sleep",
        back.plus(RETRY_MAX)
    ));
    let log = cp.agent_log("foo/httpbin");
    assert!(log
        .last()
        .unwrap()
        .contains("generated new workload certificate"));
}

#[test]
fn rbac_denied_leaves_sidecars_without_certs_and_istiod_names_the_permission() {
    let mut cp = plane(1);
    cp.apply_fault(&Fault::IstiodRbacDenied, SimTime::EPOCH)
        .unwrap();
    for p in ["bar/client", "foo/httpbin", "foo/sleep"] {
        assert!(cp.credentials(p).0.is_none(), "{p}");
        assert!(log_has(cp.agent_log(p), UNAUTHENTICATED), "{p}");
    }
    let istiod = cp.istiod_log();
    assert_eq!(istiod.len(), 3);
    assert!(istiod[0].starts_with(
        "2026-01-01T00:00:00.000000Z\terror\tFailed to authenticate client from 10.244.0.2:40000: \
         Authenticator ClientCertAuthenticator: no verified chain is found; Authenticator \
         KubeJWTAuthenticator: failed to validate the JWT from cluster \"Kubernetes\": "
    ));
    assert!(istiod[0].contains(
        "tokenreviews.authentication.k8s.io is forbidden: User \
         \"system:serviceaccount:istio-system:istiod\" cannot create resource \"tokenreviews\""
    ));
    cp.advance_to(at(HOUR));
    assert!(
        cp.credentials("foo/httpbin").0.is_none(),
        "retries keep failing"
    );
    cp.set_rbac_denied(false);
    cp.advance_to(at(HOUR).plus(RETRY_MAX));
    assert!(
        cp.credentials("foo/httpbin").0.is_some(),
        "recovers once RBAC is fixed"
    );
}

#[test]
fn deleted_service_account_fails_only_its_pods_csrs_with_token_not_authenticated() {
    let mut cp = plane(1);
    cp.apply_fault(
        &Fault::DeleteServiceAccount {
            namespace: "foo".into(),
            name: "httpbin".into(),
        },
        SimTime::EPOCH,
    )
    .unwrap();
    assert!(cp.credentials("foo/httpbin").0.is_none());
    assert!(cp.credentials("foo/sleep").0.is_some());
    assert!(log_has(cp.agent_log("foo/httpbin"), UNAUTHENTICATED));
    let istiod = cp.istiod_log();
    assert_eq!(istiod.len(), 1);
    assert!(istiod[0].ends_with(
        "failed to validate the JWT from cluster \"Kubernetes\": the token is not authenticated"
    ));
    cp.set_service_account_exists("foo", "httpbin", true);
    cp.restart("foo/httpbin", at(MIN)).unwrap();
    assert!(cp.credentials("foo/httpbin").0.is_some());
}

#[test]
fn csr_rate_limit_lets_some_sidecars_through_and_the_rest_retry() {
    let mut cp = plane(1);
    for n in 0..3 {
        cp.register(&format!("load/w{n}"), id("load", "default"), true)
            .unwrap();
    }
    cp.apply_fault(&Fault::CsrRateLimit { per_second: 2 }, SimTime::EPOCH)
        .unwrap();
    let with_cert = |cp: &ControlPlane| {
        cp.proxies()
            .filter(|p| cp.credentials(p).0.is_some())
            .count()
    };
    assert_eq!(with_cert(&cp), 2, "two CSRs per second");
    let limited: Vec<&str> = cp
        .proxies()
        .filter(|p| cp.credentials(p).0.is_none())
        .collect();
    for p in &limited {
        assert!(log_has(
            cp.agent_log(p),
            "rpc error: code = ResourceExhausted desc = rate limit exceeded"
        ));
    }
    assert!(log_has(
        cp.istiod_log(),
        "CSR rate limit exceeded (2 per second)"
    ));
    cp.advance_to(at(1));
    assert_eq!(with_cert(&cp), 4);
    cp.advance_to(at(10));
    assert_eq!(with_cert(&cp), 6, "every sidecar gets one after retries");
}

#[test]
fn rotate_root_with_partial_restart_leaves_the_others_with_the_old_root_only() {
    let mut cp = started(1);
    let old_root = cp.ca().root().clone();
    let sleep_gen = cp.generation("foo/sleep");
    let httpbin_gen = cp.generation("foo/httpbin");
    cp.apply_fault(
        &Fault::RotateRoot {
            restart: vec!["foo/httpbin".into()],
        },
        at(HOUR),
    )
    .unwrap();
    let new_root = cp.ca().root().clone();
    assert_ne!(old_root, new_root);
    assert_eq!(
        cp.credentials("foo/httpbin").1.roots,
        vec![new_root.clone()]
    );
    assert_eq!(cp.credentials("foo/sleep").1.roots, vec![old_root.clone()]);
    assert_ne!(
        cp.credentials("foo/httpbin").1.fingerprints(),
        cp.credentials("foo/sleep").1.fingerprints()
    );
    assert_eq!(cp.generation("foo/sleep"), sleep_gen);
    assert_ne!(cp.generation("foo/httpbin"), httpbin_gen);

    let t = at(HOUR + MIN);
    // The restarted proxy has a new-root cert; the stale one cannot verify it and vice versa.
    let leaf = inspect(&cert_of(&cp, "foo/httpbin").chain[0]).unwrap();
    assert_eq!(leaf.issuer, inspect(&new_root).unwrap().subject);
    assert!(!peer_accepts(&cp, "foo/httpbin", "foo/sleep", t));
    assert!(!peer_accepts(&cp, "foo/sleep", "foo/httpbin", t));
    // Two stale proxies still talk to each other.
    assert!(peer_accepts(&cp, "foo/sleep", "bar/client", t));
    assert_eq!(
        fingerprint(&old_root),
        cp.credentials("bar/client").1.fingerprints()[0]
    );
}

#[test]
fn expired_cert_fault_installs_a_cert_past_not_after_and_stops_rotation_until_restart() {
    let mut cp = started(1);
    let w = "foo/httpbin".to_string();
    cp.apply_fault(
        &Fault::ExpiredCert {
            workload: w.clone(),
        },
        at(HOUR),
    )
    .unwrap();
    let cert = cert_of(&cp, &w).clone();
    assert!(cert.not_after < at(HOUR));
    assert_eq!(inspect(&cert.chain[0]).unwrap().not_after, cert.not_after);
    assert!(!peer_accepts(&cp, &w, "foo/sleep", at(HOUR)));
    cp.advance_to(at(2 * DAY));
    assert_eq!(cert_of(&cp, &w), &cert, "the agent is stuck");
    cp.restart(&w, at(2 * DAY)).unwrap();
    assert!(peer_accepts(&cp, &w, "foo/sleep", at(2 * DAY)));
}

#[test]
fn missing_cert_fault_empties_sds_until_restart() {
    let mut cp = started(1);
    let g = cp.generation("foo/sleep");
    cp.apply_fault(
        &Fault::MissingCert {
            workload: "foo/sleep".into(),
        },
        at(MIN),
    )
    .unwrap();
    assert!(cp.credentials("foo/sleep").0.is_none());
    assert!(
        !cp.credentials("foo/sleep").1.is_empty(),
        "ROOTCA is still served"
    );
    assert_ne!(cp.generation("foo/sleep"), g);
    cp.advance_to(at(DAY));
    assert!(cp.credentials("foo/sleep").0.is_none());
    cp.restart("foo/sleep", at(DAY)).unwrap();
    assert!(cp.credentials("foo/sleep").0.is_some());
}

#[test]
fn expired_ca_cert_rejects_new_csrs_while_existing_certs_keep_verifying() {
    let mut cp = started(1);
    let first = cert_of(&cp, "foo/httpbin").clone();
    cp.apply_fault(&Fault::ExpireCaCert, at(HOUR)).unwrap();
    assert!(inspect(cp.ca().signing_cert()).unwrap().not_after < at(HOUR));
    assert!(peer_accepts(&cp, "foo/httpbin", "foo/sleep", at(2 * HOUR)));
    cp.advance_to(at(13 * HOUR));
    assert_eq!(cert_of(&cp, "foo/httpbin"), &first, "rotation refused");
    assert!(log_has(
        cp.istiod_log(),
        "\terror\tCSR signing error: failed to sign the CSR"
    ));
    assert!(log_has(
        cp.agent_log("foo/httpbin"),
        "rpc error: code = Internal desc = CSR signing error (failed to sign the CSR: the CA \
         signing certificate expired"
    ));
    cp.advance_to(first.not_after.offset(1));
    assert!(!peer_accepts(
        &cp,
        "foo/httpbin",
        "foo/sleep",
        first.not_after.offset(1)
    ));
    cp.renew_ca_cert(at(DAY + HOUR)).unwrap();
    cp.advance_to(at(DAY + HOUR).plus(RETRY_MAX));
    assert!(peer_accepts(&cp, "foo/httpbin", "foo/sleep", cp.now()));
}

#[test]
fn expired_root_expires_every_bundle_root_and_leaf() {
    let mut cp = started(1);
    cp.apply_fault(&Fault::ExpireRoot, at(HOUR)).unwrap();
    for p in ["bar/client", "foo/httpbin", "foo/sleep"] {
        let (cert, bundle) = cp.credentials(p);
        let root = inspect(&bundle.roots[0]).unwrap();
        assert!(root.not_after < at(HOUR), "{p}");
        let cert = cert.unwrap();
        assert!(cert.not_after < at(HOUR), "{p}: leaf clamped to the root");
        assert!(matches!(
            verify_chain(&cert.chain, bundle, at(HOUR), Usage::Client),
            Err(webpki::Error::CertExpired { .. })
        ));
        assert!(log_has(cp.agent_log(p), "CSR signing error"), "{p}");
    }
}

#[test]
fn plugin_ca_serves_leaf_plus_intermediate_and_without_its_root_nothing_verifies() {
    for trust_bundle in [true, false] {
        let mut cp = started(1);
        let self_signed_root = cp.ca().root().clone();
        cp.apply_fault(&Fault::PluginCa { trust_bundle }, at(MIN))
            .unwrap();
        let cert = cert_of(&cp, "foo/httpbin");
        assert_eq!(cert.chain.len(), 2);
        assert_eq!(&cert.chain[1], cp.ca().signing_cert());
        let bundle = cp.credentials("foo/sleep").1;
        if trust_bundle {
            assert_eq!(bundle.roots, vec![cp.ca().root().clone()]);
            assert!(peer_accepts(&cp, "foo/httpbin", "foo/sleep", at(HOUR)));
        } else {
            assert_eq!(bundle.roots, vec![self_signed_root]);
            assert!(matches!(
                verify_chain(&cert.chain, bundle, at(HOUR), Usage::Client),
                Err(webpki::Error::UnknownIssuer)
            ));
        }
    }
}

#[test]
fn clock_skew_and_tls_params_are_stored_per_proxy() {
    let mut cp = started(1);
    cp.apply_fault(
        &Fault::parse_spec("clock-skew:workload=foo/sleep,offset=-2h").unwrap(),
        at(0),
    )
    .unwrap();
    cp.apply_fault(
        &Fault::parse_spec("tls-params:workload=foo/httpbin,max_version=TLSV1_2").unwrap(),
        at(0),
    )
    .unwrap();
    assert_eq!(cp.clock_offset("foo/sleep"), -7200);
    assert_eq!(cp.clock_offset("foo/httpbin"), 0);
    let tls = cp.tls_params("foo/httpbin").unwrap();
    assert_eq!(tls.max_version, crate::model::TlsVersion::parse("TLSV1_2"));
    assert!(cp.tls_params("foo/sleep").is_none());
}

#[test]
fn same_seed_gives_identical_certificates_and_logs_and_different_seeds_differ() {
    let run = |seed: u64| {
        let mut cp = plane(seed);
        cp.apply_fault(&Fault::CsrRateLimit { per_second: 1 }, SimTime::EPOCH)
            .unwrap();
        cp.advance_to(at(DAY));
        cp.apply_fault(&Fault::IstiodDown, at(DAY)).unwrap();
        cp.advance_to(at(2 * DAY));
        let creds: Vec<_> = cp
            .proxies()
            .map(|p| {
                let (c, b) = cp.credentials(p);
                (c.cloned(), b.clone(), cp.agent_log(p).to_vec())
            })
            .collect();
        (creds, cp.istiod_log().to_vec())
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1).0, run(2).0);
}

#[test]
fn retries_back_off_exponentially_to_five_minutes() {
    let delays: Vec<u64> = (1..=11).map(|n| retry_delay(n).as_secs()).collect();
    assert_eq!(delays, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    assert_eq!(retry_delay(u32::MAX), RETRY_MAX);
}

#[test]
fn rotation_is_due_at_half_life_within_the_jitter() {
    let received = SimTime::EPOCH;
    let not_after = at(DAY);
    assert_eq!(rotate_at(received, not_after, 0.0), at(12 * HOUR));
    assert_eq!(rotate_at(received, not_after, 1.0), at(12 * HOUR - 864));
    assert_eq!(rotate_at(received, not_after, -1.0), at(12 * HOUR + 864));
    assert_eq!(rotate_at(received, received, 0.0), received.offset(1));
}

#[test]
fn export_writes_files_for_proxies_with_certificates_only() {
    let mut cp = started(1);
    cp.apply_fault(
        &Fault::MissingCert {
            workload: "foo/sleep".into(),
        },
        at(0),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let done = cp.export_proxy_files(dir.path()).unwrap();
    assert_eq!(done.len(), 3);
    assert_eq!(done[2], ("foo/sleep".to_string(), Exported::NoCertificate));
    let httpbin = dir.path().join("foo").join("httpbin");
    assert_eq!(done[1].1, Exported::Written(httpbin.clone()));
    for f in ["cert-chain.pem", "key.pem", "root-cert.pem"] {
        let text = std::fs::read_to_string(httpbin.join(f)).unwrap();
        assert!(text.starts_with("-----BEGIN "), "{f}");
    }
    assert!(!dir.path().join("foo").join("sleep").exists());
}

#[test]
fn rsa_workload_keys_rotate_certificates_and_keep_one_key_per_proxy() {
    let mut cp = ControlPlane::new(
        1,
        "cluster.local",
        DEFAULT_WORKLOAD_TTL,
        KeyType::Rsa2048,
        SimTime::EPOCH,
    )
    .unwrap();
    cp.register("foo/httpbin", id("foo", "httpbin"), true)
        .unwrap();
    cp.advance_to(SimTime::EPOCH);
    let first = cert_of(&cp, "foo/httpbin").clone();
    cp.advance_to(at(13 * HOUR));
    let second = cert_of(&cp, "foo/httpbin").clone();
    assert_ne!(first.chain, second.chain, "rotated");
    assert_eq!(
        first.key_pkcs8, second.key_pkcs8,
        "RSA key reused (documented)"
    );
    assert!(crate::pki::keys::load_key_pair(KeyType::Rsa2048, &second.key_pkcs8).is_ok());
}

/// A clock jump signs only what each proxy holds at its end and skips blocks of identical
/// failed retries, yet leaves exactly the certificates, logs and schedule of moving one day at a
/// time (where nothing is skipped): healthy rotation, istiod down, an expired CA signing cert.
#[test]
fn one_long_jump_leaves_the_state_of_many_short_ones() {
    let faults: [Option<Fault>; 3] = [None, Some(Fault::IstiodDown), Some(Fault::ExpireCaCert)];
    for fault in faults {
        let run = |daily: bool| {
            let mut cp = started(7);
            if let Some(f) = &fault {
                cp.apply_fault(f, at(HOUR)).unwrap();
            }
            if daily {
                for day in 1..=200 {
                    cp.advance_to(at(day * DAY));
                }
            } else {
                cp.advance_to(at(200 * DAY));
            }
            let proxies: Vec<_> = cp
                .proxies()
                .map(|p| {
                    let (cert, bundle) = cp.credentials(p);
                    (
                        cert.cloned(),
                        bundle.clone(),
                        cp.agent_log(p).to_vec(),
                        cp.next_csr(p),
                        cp.generation(p),
                    )
                })
                .collect();
            (proxies, cp.istiod_log().to_vec())
        };
        let (jump, daily) = (run(false), run(true));
        assert_eq!(jump, daily, "{fault:?}");
        for (_, _, log, _, _) in &jump.0 {
            assert!(
                log.len() < 2 * LOG_LINES_KEPT,
                "{fault:?}: logs stay bounded"
            );
        }
    }
}
