use super::*;
use crate::model::{
    ClientTlsMode::*, LoadBalancerSettings, MtlsMode, PeerMtls, PortSelector, PortTrafficPolicy,
    SimpleLb, Subset, TargetPort, TrafficPolicy, WorkloadSelector,
};
use crate::policy::routing::resolve_destination;
use crate::policy::testing::{dr_spec, Fixture};

const FQDN: &str = "httpbin.foo.svc.cluster.local";

/// foo/httpbin (sidecar, SA httpbin, target port 80) behind httpbin.foo:8000; bar/sleep client.
fn fixture() -> Fixture {
    let mut f = Fixture::new();
    f.namespace("istio-system")
        .namespace("foo")
        .namespace("bar")
        .namespace_labeled("legacy", &[]);
    f.workload_sa("foo", "httpbin", "httpbin", &[("app", "httpbin")], &[]);
    f.workload("bar", "sleep", &[("app", "sleep")]);
    f.workload("legacy", "sleep", &[("app", "sleep")]);
    f.service(
        "foo",
        "httpbin",
        &[("app", "httpbin")],
        &[("http", 8000, TargetPort::Number(80))],
    );
    f
}

fn choose(f: &Fixture, client_ns: &str) -> ClientTlsChoice {
    let client = f
        .res
        .workloads
        .iter()
        .find(|w| w.meta.namespace == client_ns && w.meta.name == "sleep")
        .unwrap();
    let dest = resolve_destination(
        &f.res,
        client_ns,
        &"httpbin.foo:8000".parse().expect("HOST:PORT"),
    )
    .unwrap();
    client_tls_for_endpoint(&f.res, client, &dest, &dest.endpoints[0])
}

type Setup = fn(&mut Fixture);

/// Cases in the spirit of Istio's `TestBuildAutoMtlsSettings` and `TestApplyUpstreamTLSSettings`.
#[test]
fn client_tls_choice_follows_destination_rule_then_auto_mtls() {
    let cases: Vec<(&str, Setup, ClientTlsMode, bool)> = vec![
        (
            "no policy at all: auto ISTIO_MUTUAL (PERMISSIVE fallback)",
            |_| {},
            IstioMutual,
            true,
        ),
        (
            "namespace STRICT: auto ISTIO_MUTUAL",
            |f| {
                f.pa("foo", "default", None, Some(MtlsMode::Strict), None);
            },
            IstioMutual,
            true,
        ),
        (
            "namespace PERMISSIVE: auto ISTIO_MUTUAL",
            |f| {
                f.pa("foo", "default", None, Some(MtlsMode::Permissive), None);
            },
            IstioMutual,
            true,
        ),
        (
            "namespace DISABLE: plaintext for the cluster",
            |f| {
                f.pa("foo", "default", None, Some(MtlsMode::Disable), None);
            },
            Disable,
            true,
        ),
        (
            "mesh DISABLE, no namespace policy: plaintext",
            |f| {
                f.pa(
                    "istio-system",
                    "default",
                    None,
                    Some(MtlsMode::Disable),
                    None,
                );
            },
            Disable,
            true,
        ),
        (
            "mesh DISABLE but namespace STRICT: ISTIO_MUTUAL",
            |f| {
                f.pa(
                    "istio-system",
                    "default",
                    None,
                    Some(MtlsMode::Disable),
                    None,
                );
                f.pa("foo", "default", None, Some(MtlsMode::Strict), None);
            },
            IstioMutual,
            true,
        ),
        (
            "workload DISABLE under namespace STRICT is respected per endpoint",
            |f| {
                f.pa("foo", "default", None, Some(MtlsMode::Strict), None);
                f.pa(
                    "foo",
                    "httpbin",
                    Some(&[("app", "httpbin")]),
                    Some(MtlsMode::Disable),
                    None,
                );
            },
            Disable,
            true,
        ),
        (
            "port-level DISABLE on the target port",
            |f| {
                f.pa(
                    "foo",
                    "httpbin",
                    Some(&[("app", "httpbin")]),
                    Some(MtlsMode::Strict),
                    None,
                );
                let pa = f.res.peer_authentications.last_mut().unwrap();
                pa.spec.port_level_mtls = Some(
                    [(
                        80,
                        PeerMtls {
                            mode: MtlsMode::Disable,
                        },
                    )]
                    .into(),
                );
            },
            Disable,
            true,
        ),
        (
            "port-level DISABLE on the service port does nothing",
            |f| {
                f.pa(
                    "foo",
                    "httpbin",
                    Some(&[("app", "httpbin")]),
                    Some(MtlsMode::Strict),
                    None,
                );
                let pa = f.res.peer_authentications.last_mut().unwrap();
                pa.spec.port_level_mtls = Some(
                    [(
                        8000,
                        PeerMtls {
                            mode: MtlsMode::Disable,
                        },
                    )]
                    .into(),
                );
            },
            IstioMutual,
            true,
        ),
        (
            "endpoint without sidecar: plaintext",
            |f| {
                f.res.namespaces.retain(|n| n.meta.name != "foo");
                f.namespace_labeled("foo", &[]);
            },
            Disable,
            true,
        ),
        (
            "auto mTLS off: plaintext",
            |f| f.res.mesh_config.enable_auto_mtls = false,
            Disable,
            false,
        ),
        (
            "DR DISABLE as written",
            |f| {
                f.dr("foo", "httpbin", None, dr_spec(FQDN, Some(Disable)));
            },
            Disable,
            false,
        ),
        (
            "DR SIMPLE as written",
            |f| {
                f.dr("foo", "httpbin", None, dr_spec(FQDN, Some(Simple)));
            },
            Simple,
            false,
        ),
        (
            "DR ISTIO_MUTUAL towards an endpoint without sidecar",
            |f| {
                f.res.namespaces.retain(|n| n.meta.name != "foo");
                f.namespace_labeled("foo", &[]);
                f.dr("foo", "httpbin", None, dr_spec(FQDN, Some(IstioMutual)));
            },
            IstioMutual,
            false,
        ),
        (
            "DR ISTIO_MUTUAL wins over namespace DISABLE",
            |f| {
                f.pa("foo", "default", None, Some(MtlsMode::Disable), None);
                f.dr("foo", "httpbin", None, dr_spec(FQDN, Some(IstioMutual)));
            },
            IstioMutual,
            false,
        ),
        (
            "DR without tls leaves auto mTLS on",
            |f| {
                f.dr("foo", "httpbin", None, dr_spec(FQDN, None));
            },
            IstioMutual,
            true,
        ),
        (
            "port entry without tls: EDS falls back to top-level DISABLE",
            |f| {
                let mut spec = dr_spec(FQDN, Some(Disable));
                spec.traffic_policy.as_mut().unwrap().port_level_settings =
                    vec![PortTrafficPolicy {
                        port: Some(PortSelector { number: 8000 }),
                        ..PortTrafficPolicy::default()
                    }];
                f.dr("foo", "httpbin", None, spec);
            },
            Disable,
            true,
        ),
        (
            "headless service with an endpoint without sidecar: plaintext",
            |f| {
                f.res.services[0].headless = true;
                f.workload(
                    "foo",
                    "httpbin-legacy",
                    &[("app", "httpbin"), ("sidecar.istio.io/inject", "false")],
                );
            },
            Disable,
            true,
        ),
        (
            "PASSTHROUGH with an endpoint without sidecar: plaintext for the whole cluster",
            |f| {
                f.pa("foo", "default", None, Some(MtlsMode::Strict), None);
                f.workload(
                    "foo",
                    "httpbin-legacy",
                    &[("app", "httpbin"), ("sidecar.istio.io/inject", "false")],
                );
                f.dr("foo", "httpbin", None, passthrough_spec());
            },
            Disable,
            true,
        ),
        (
            "PASSTHROUGH, every endpoint injected: one ISTIO_MUTUAL socket despite the endpoint's DISABLE",
            |f| {
                f.pa(
                    "foo",
                    "httpbin",
                    Some(&[("app", "httpbin")]),
                    Some(MtlsMode::Disable),
                    None,
                );
                f.dr("foo", "httpbin", None, passthrough_spec());
            },
            IstioMutual,
            true,
        ),
        (
            "headless, every endpoint injected: one ISTIO_MUTUAL socket despite the endpoint's DISABLE",
            |f| {
                f.res.services[0].headless = true;
                f.pa(
                    "foo",
                    "httpbin",
                    Some(&[("app", "httpbin")]),
                    Some(MtlsMode::Disable),
                    None,
                );
            },
            IstioMutual,
            true,
        ),
        (
            "headless under namespace DISABLE: plaintext",
            |f| {
                f.res.services[0].headless = true;
                f.pa("foo", "default", None, Some(MtlsMode::Disable), None);
            },
            Disable,
            true,
        ),
        (
            "headless with an explicit ISTIO_MUTUAL rule: as written",
            |f| {
                f.res.services[0].headless = true;
                f.dr("foo", "httpbin", None, dr_spec(FQDN, Some(IstioMutual)));
            },
            IstioMutual,
            false,
        ),
        (
            "SIMPLE with a credentialName and no workloadSelector: no TLS at all",
            |f| {
                let mut spec = dr_spec(FQDN, Some(Simple));
                tls_of(&mut spec).credential_name = Some("cred".into());
                f.dr("foo", "httpbin", None, spec);
            },
            Disable,
            false,
        ),
        (
            "ISTIO_MUTUAL ignores a credentialName",
            |f| {
                let mut spec = dr_spec(FQDN, Some(IstioMutual));
                tls_of(&mut spec).credential_name = Some("cred".into());
                f.dr("foo", "httpbin", None, spec);
            },
            IstioMutual,
            false,
        ),
    ];
    for (name, setup, mode, auto) in cases {
        let mut f = fixture();
        setup(&mut f);
        let got = choose(&f, "bar");
        assert_eq!(
            (got.mode, got.auto_mtls()),
            (mode, auto),
            "{name}: {:#?}",
            got.decided_by
        );
        assert!(!got.decided_by.is_empty(), "{name}");
        if mode == IstioMutual {
            assert_eq!(got.sni, format!("outbound_.8000_._.{FQDN}"), "{name}");
            assert_eq!(
                got.expected_sans,
                ["spiffe://cluster.local/ns/foo/sa/httpbin"],
                "{name}"
            );
        } else if mode == Disable {
            assert!(got.expected_sans.is_empty() && got.sni.is_empty(), "{name}");
        }
    }
}

#[test]
fn istio_mutual_keeps_user_sni_and_sans() {
    let mut f = fixture();
    let mut spec = dr_spec(FQDN, Some(IstioMutual));
    let tls = spec.traffic_policy.as_mut().unwrap().tls.as_mut().unwrap();
    tls.sni = Some("custom.sni".into());
    tls.subject_alt_names = vec!["spiffe://cluster.local/ns/foo/sa/other".into()];
    f.dr("foo", "httpbin", None, spec);
    let got = choose(&f, "bar");
    assert_eq!(got.sni, "custom.sni");
    assert_eq!(
        got.expected_sans,
        ["spiffe://cluster.local/ns/foo/sa/other"]
    );
}

#[test]
fn expected_sans_cover_every_service_account_and_trust_domain_alias() {
    let mut f = fixture();
    f.res.mesh_config.trust_domain = "td-new".into();
    f.res.mesh_config.trust_domain_aliases = vec!["cluster.local".into()];
    f.workload_sa(
        "foo",
        "httpbin-v2",
        "httpbin-v2",
        &[("app", "httpbin")],
        &[],
    );
    let got = choose(&f, "bar");
    assert_eq!(
        got.expected_sans,
        [
            "spiffe://cluster.local/ns/foo/sa/httpbin",
            "spiffe://cluster.local/ns/foo/sa/httpbin-v2",
            "spiffe://td-new/ns/foo/sa/httpbin",
            "spiffe://td-new/ns/foo/sa/httpbin-v2",
        ]
    );
}

#[test]
fn client_without_sidecar_sends_plaintext_whatever_the_rules_say() {
    let mut f = fixture();
    f.dr("foo", "httpbin", None, dr_spec(FQDN, Some(IstioMutual)));
    let got = choose(&f, "legacy");
    assert_eq!((got.mode, got.auto_mtls()), (Disable, false));
    assert_eq!(got.decided_by[0].step, "client-tls/no-sidecar");
}

fn passthrough_policy() -> TrafficPolicy {
    TrafficPolicy {
        load_balancer: Some(LoadBalancerSettings {
            simple: Some(SimpleLb::Passthrough),
            ..LoadBalancerSettings::default()
        }),
        ..TrafficPolicy::default()
    }
}

fn passthrough_spec() -> crate::model::DestinationRuleSpec {
    let mut spec = dr_spec(FQDN, None);
    spec.traffic_policy = Some(passthrough_policy());
    spec
}

fn tls_of(spec: &mut crate::model::DestinationRuleSpec) -> &mut ClientTls {
    spec.traffic_policy
        .as_mut()
        .and_then(|p| p.tls.as_mut())
        .expect("a top-level tls")
}

/// The choice from bar/sleep towards the endpoint of `workload`.
fn choose_endpoint(f: &Fixture, workload: &str, subset: Option<&str>) -> ClientTlsChoice {
    let client = f
        .res
        .workloads
        .iter()
        .find(|w| w.meta.namespace == "bar" && w.meta.name == "sleep")
        .unwrap();
    let dest = resolve_destination(
        &f.res,
        "bar",
        &"httpbin.foo:8000".parse().expect("HOST:PORT"),
    )
    .unwrap();
    let ep = dest
        .endpoints
        .iter()
        .find(|e| e.workload == workload)
        .unwrap();
    client_tls_for_subset(&f.res, client, &dest, ep, subset)
}

/// `BestEffortInferServiceMTLSMode` reads the rule's top-level policy (a subset cluster: the
/// subset's own), while the cluster type follows the policy in force; where the two differ an
/// ORIGINAL_DST cluster sends mTLS even to an endpoint without sidecar.
#[test]
fn passthrough_only_where_the_mode_is_not_inferred_sends_mtls_to_an_uninjected_endpoint() {
    type Rule = fn() -> crate::model::DestinationRuleSpec;
    let cases: Vec<(&str, Rule, Option<&str>, ClientTlsMode)> = vec![
        (
            "top-level PASSTHROUGH: the mode is inferred, plaintext",
            passthrough_spec,
            None,
            Disable,
        ),
        (
            "port-level PASSTHROUGH: ORIGINAL_DST, namespace mode, one ISTIO_MUTUAL socket",
            || {
                let mut spec = dr_spec(FQDN, None);
                spec.traffic_policy = Some(TrafficPolicy {
                    port_level_settings: vec![PortTrafficPolicy {
                        port: Some(PortSelector { number: 8000 }),
                        load_balancer: passthrough_policy().load_balancer,
                        ..PortTrafficPolicy::default()
                    }],
                    ..TrafficPolicy::default()
                });
                spec
            },
            None,
            IstioMutual,
        ),
        (
            "subset inheriting a top-level PASSTHROUGH: ORIGINAL_DST, subset policy has none",
            || {
                let mut spec = passthrough_spec();
                spec.subsets = vec![Subset {
                    name: "legacy".into(),
                    labels: [("version".to_string(), "legacy".to_string())].into(),
                    traffic_policy: None,
                }];
                spec
            },
            Some("legacy"),
            IstioMutual,
        ),
        (
            "subset with its own PASSTHROUGH: the mode is inferred, plaintext",
            || {
                let mut spec = dr_spec(FQDN, None);
                spec.subsets = vec![Subset {
                    name: "legacy".into(),
                    labels: [("version".to_string(), "legacy".to_string())].into(),
                    traffic_policy: Some(passthrough_policy()),
                }];
                spec
            },
            Some("legacy"),
            Disable,
        ),
    ];
    for (name, rule, subset, mode) in cases {
        let mut f = fixture();
        f.workload(
            "foo",
            "httpbin-legacy",
            &[
                ("app", "httpbin"),
                ("version", "legacy"),
                ("sidecar.istio.io/inject", "false"),
            ],
        );
        f.dr("foo", "httpbin", None, rule());
        let got = choose_endpoint(&f, "httpbin-legacy", subset);
        assert_eq!(got.mode, mode, "{name}: {:#?}", got.decided_by);
        assert_eq!(got.source, ClientTlsSource::AutoMtlsCluster, "{name}");
    }
}

#[test]
fn a_sidecar_honours_credential_name_only_with_a_selector_or_a_config_map_from_1_26() {
    use ClientTlsRelease::{Istio1_22To1_25 as Old, Istio1_26On as New};
    let cases = [
        (Simple, Some("cred"), false, New, true),
        (Mutual, Some("cred"), false, New, true),
        (Simple, Some("kubernetes://cred"), false, New, true),
        (Simple, Some("cred"), true, New, false),
        (Simple, Some("configmap://ca"), false, New, false),
        (Simple, Some("configmap://ca"), false, Old, true),
        (Simple, Some("cred"), false, Old, true),
        (Simple, Some("cred"), true, Old, false),
        (Simple, Some(""), false, New, false),
        (Simple, None, false, New, false),
        (IstioMutual, Some("cred"), false, New, false),
        (Disable, Some("cred"), false, New, false),
    ];
    for (mode, credential, selector, release, ignored) in cases {
        let tls = ClientTls {
            mode,
            credential_name: credential.map(str::to_string),
            ..ClientTls::default()
        };
        assert_eq!(
            sidecar_ignores_credential_name(&tls, selector, release),
            ignored,
            "{mode:?} {credential:?} selector {selector} {release:?}"
        );
    }
}

#[test]
fn a_credential_name_rule_with_a_selector_keeps_its_tls() {
    let mut f = fixture();
    let mut spec = dr_spec(FQDN, Some(Simple));
    tls_of(&mut spec).credential_name = Some("cred".into());
    spec.workload_selector = Some(WorkloadSelector {
        match_labels: [("app".to_string(), "sleep".to_string())].into(),
    });
    f.dr("bar", "httpbin", None, spec);
    let got = choose(&f, "bar");
    assert_eq!(
        (got.mode, got.source),
        (Simple, ClientTlsSource::DestinationRule)
    );
    let mut spec = dr_spec(FQDN, Some(Simple));
    tls_of(&mut spec).credential_name = Some("configmap://ca".into());
    let mut f = fixture();
    f.dr("foo", "httpbin", None, spec);
    let client = &f.res.workloads[1];
    let dest = resolve_destination(
        &f.res,
        "bar",
        &"httpbin.foo:8000".parse().expect("HOST:PORT"),
    )
    .unwrap();
    let ep = &dest.endpoints[0];
    let old = client_tls_for_release(
        &f.res,
        client,
        &dest,
        ep,
        None,
        ClientTlsRelease::Istio1_22To1_25,
    );
    let new = client_tls_for_release(
        &f.res,
        client,
        &dest,
        ep,
        None,
        ClientTlsRelease::Istio1_26On,
    );
    assert_eq!(
        (old.source, new.source),
        (
            ClientTlsSource::CredentialNameIgnored,
            ClientTlsSource::DestinationRule
        )
    );
}

/// `setAutoSniAndAutoSanValidation`, then the router filling them from the request's host.
#[test]
fn simple_without_sni_sends_the_host_and_without_sans_checks_it() {
    let http = RouterHost::parse("httpbin.foo:8000");
    let ip = RouterHost::parse("10.0.0.7:8000");
    let mesh_root = Some("/var/run/secrets/istio/root-cert.pem");
    #[allow(clippy::type_complexity)]
    let cases: Vec<(
        &str,
        Option<&str>,
        &[&str],
        Option<bool>,
        Option<&RouterHost>,
        (Option<&str>, &[&str]),
    )> = vec![
        (
            "nothing set, HTTP",
            None,
            &[],
            None,
            Some(&http),
            (Some("httpbin.foo"), &["httpbin.foo"]),
        ),
        ("nothing set, TCP", None, &[], None, None, (None, &[])),
        (
            "nothing set, an IP host: no SNI, SAN still",
            None,
            &[],
            None,
            Some(&ip),
            (None, &["10.0.0.7"]),
        ),
        (
            "sni set: neither",
            Some("x.example"),
            &[],
            None,
            Some(&http),
            (Some("x.example"), &[]),
        ),
        (
            "sans set: auto SNI only",
            None,
            &["spiffe://cluster.local/ns/foo/sa/httpbin"],
            None,
            Some(&http),
            (
                Some("httpbin.foo"),
                &["spiffe://cluster.local/ns/foo/sa/httpbin"],
            ),
        ),
        (
            "insecureSkipVerify: auto SNI only",
            None,
            &[],
            Some(true),
            Some(&http),
            (Some("httpbin.foo"), &[]),
        ),
    ];
    for (name, sni, sans, skip, host, (want_sni, want_sans)) in cases {
        let mut f = fixture();
        let mut spec = dr_spec(FQDN, Some(Simple));
        let tls = tls_of(&mut spec);
        tls.sni = sni.map(str::to_string);
        tls.subject_alt_names = sans.iter().map(|s| s.to_string()).collect();
        tls.insecure_skip_verify = skip;
        tls.ca_certificates = mesh_root.map(str::to_string);
        f.dr("foo", "httpbin", None, spec);
        let got = choose(&f, "bar");
        let names = got.request_names(host);
        assert_eq!(names.sni.as_deref(), want_sni, "{name}");
        assert_eq!(names.sans, want_sans, "{name}");
        let roots = if skip == Some(true) {
            ServerRoots::Unverified
        } else {
            ServerRoots::MeshBundle
        };
        assert_eq!(got.server_roots(), Some(roots), "{name}");
    }
}

#[test]
fn router_host_drops_the_port_and_knows_ip_addresses() {
    let cases = [
        ("httpbin.foo:8000", "httpbin.foo", false),
        ("httpbin.foo", "httpbin.foo", false),
        ("10.0.0.7:80", "10.0.0.7", true),
        ("[fd00::1]:8000", "fd00::1", true),
        ("[fd00::1]", "fd00::1", true),
        ("fd00::1", "fd00::1", true),
    ];
    for (authority, host, is_ip) in cases {
        assert_eq!(
            RouterHost::parse(authority),
            RouterHost {
                host: host.into(),
                is_ip
            },
            "{authority}"
        );
    }
}

#[test]
fn an_istio_sni_reads_back_as_its_port_and_host() {
    let sni = istio_sni(7000, None, "db.foo.svc.cluster.local");
    assert_eq!(
        parse_istio_sni(&sni),
        Some((7000, "db.foo.svc.cluster.local"))
    );
    let subset = istio_sni(80, Some("v1"), "web.bar.svc.cluster.local");
    assert_eq!(
        parse_istio_sni(&subset),
        Some((80, "web.bar.svc.cluster.local"))
    );
    for other in [
        "-",
        "web.bar.svc.cluster.local",
        "outbound_.x_._.h",
        "outbound_.80_.",
    ] {
        assert_eq!(parse_istio_sni(other), None, "{other}");
    }
}
