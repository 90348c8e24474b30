use super::*;
use crate::model::{
    ClientTlsMode::*, MtlsMode, PeerMtls, PortSelector, PortTrafficPolicy, TargetPort,
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
    let dest = resolve_destination(&f.res, client_ns, "httpbin.foo:8000").unwrap();
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
    ];
    for (name, setup, mode, auto) in cases {
        let mut f = fixture();
        setup(&mut f);
        let got = choose(&f, "bar");
        assert_eq!(
            (got.mode, got.auto_mtls),
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
    assert_eq!((got.mode, got.auto_mtls), (Disable, false));
    assert_eq!(got.decided_by[0].step, "client-tls/no-sidecar");
}
