use super::*;
use crate::model::{
    ClientTls, ClientTlsMode::*, ConnectionPool, DestinationRule, PortSelector, PortTrafficPolicy,
    Subset, TargetPort, TcpPoolSettings, Workload, WorkloadSelector,
};
use crate::policy::routing::{resolve_destination, Destination};
use crate::policy::testing::{dr_spec, labels, Fixture};
use crate::vocab::Kind;

const FQDN: &str = "reviews.foo.svc.cluster.local";

fn fixture() -> Fixture {
    let mut f = Fixture::new();
    f.namespace("istio-system")
        .namespace("foo")
        .namespace("bar");
    f.workload("foo", "reviews", &[("app", "reviews")]);
    f.workload("bar", "client", &[("app", "client")]);
    f.workload("bar", "other", &[("app", "other")]);
    f.workload("foo", "local-client", &[("app", "local")]);
    f.service(
        "foo",
        "reviews",
        &[("app", "reviews")],
        &[("http", 9080, TargetPort::Number(9080))],
    );
    f
}

fn pick(f: &Fixture, client: &str) -> Option<SelectedDestinationRule> {
    let w = f
        .res
        .workloads
        .iter()
        .find(|w| w.meta.name == client)
        .unwrap();
    let dest = resolve_destination(
        &f.res,
        &w.meta.namespace,
        &"reviews.foo:9080".parse().expect("HOST:PORT"),
    )
    .unwrap();
    select_destination_rule(&f.res, w, &dest)
}

fn picked_name(f: &Fixture, client: &str) -> Option<String> {
    pick(f, client).map(|s| format!("{}/{}", s.rules[0].namespace, s.rules[0].name))
}

fn export(mut spec: DestinationRuleSpec, to: &[&str]) -> DestinationRuleSpec {
    spec.export_to = to.iter().map(|s| s.to_string()).collect();
    spec
}

#[test]
fn lookup_order_is_client_then_service_then_root_namespace() {
    // (rules as (namespace, name, host, exportTo), client, expected)
    type Rule<'a> = (&'a str, &'a str, &'a str, &'a [&'a str]);
    let cases: Vec<(&str, Vec<Rule>, &str, Option<&str>)> = vec![
        ("no rules", vec![], "client", None),
        (
            "client namespace first",
            vec![
                ("bar", "in-client", FQDN, &[]),
                ("foo", "in-service", FQDN, &[]),
                ("istio-system", "in-root", FQDN, &[]),
            ],
            "client",
            Some("bar/in-client"),
        ),
        (
            "service namespace next",
            vec![
                ("foo", "in-service", FQDN, &[]),
                ("istio-system", "in-root", FQDN, &[]),
            ],
            "client",
            Some("foo/in-service"),
        ),
        (
            "root namespace last",
            vec![("istio-system", "in-root", "*.svc.cluster.local", &[])],
            "client",
            Some("istio-system/in-root"),
        ),
        (
            "exportTo . hides the service namespace rule",
            vec![
                ("foo", "private", FQDN, &["."]),
                ("istio-system", "in-root", FQDN, &[]),
            ],
            "client",
            Some("istio-system/in-root"),
        ),
        (
            "exportTo . still applies in its own namespace",
            vec![("foo", "private", FQDN, &["."])],
            "local-client",
            Some("foo/private"),
        ),
        (
            "exportTo naming the client namespace",
            vec![("foo", "to-bar", FQDN, &["bar"])],
            "client",
            Some("foo/to-bar"),
        ),
        (
            "exportTo naming another namespace",
            vec![("foo", "to-baz", FQDN, &["baz"])],
            "client",
            None,
        ),
        (
            "exportTo * exports everywhere",
            vec![("foo", "all", FQDN, &["*"])],
            "client",
            Some("foo/all"),
        ),
        (
            "exportTo ~ exports nowhere",
            vec![("foo", "none", FQDN, &["~"])],
            "client",
            None,
        ),
        (
            "root rule not exported to the client",
            vec![("istio-system", "private-root", FQDN, &["."])],
            "client",
            None,
        ),
        (
            "exact beats wildcard in the same scope",
            vec![
                ("foo", "wild", "*.foo.svc.cluster.local", &[]),
                ("foo", "exact", FQDN, &[]),
            ],
            "client",
            Some("foo/exact"),
        ),
        (
            "a first scope with only a wildcard still wins",
            vec![
                ("bar", "wild", "*.cluster.local", &[]),
                ("foo", "exact", FQDN, &[]),
            ],
            "client",
            Some("bar/wild"),
        ),
        (
            "short host resolves in the rule's namespace",
            vec![("foo", "short", "reviews", &[])],
            "client",
            Some("foo/short"),
        ),
        (
            "short host in another namespace names another service",
            vec![("bar", "short", "reviews", &[])],
            "client",
            None,
        ),
        (
            "a dotted short host is taken literally",
            vec![("bar", "dotted", "reviews.foo", &[])],
            "client",
            None,
        ),
    ];
    for (name, rules, client, want) in cases {
        let mut f = fixture();
        for (ns, n, host, to) in rules {
            f.dr(ns, n, None, export(dr_spec(host, Some(IstioMutual)), to));
        }
        assert_eq!(picked_name(&f, client).as_deref(), want, "{name}");
        if want.is_none() {
            let w = f
                .res
                .workloads
                .iter()
                .find(|w| w.meta.name == client)
                .unwrap();
            let dest = resolve_destination(
                &f.res,
                &w.meta.namespace,
                &"reviews.foo:9080".parse().expect("HOST:PORT"),
            )
            .unwrap();
            let (_, why) = select_destination_rule_explained(&f.res, w, &dest);
            assert!(
                why.iter()
                    .any(|d| d.reason.contains("no DestinationRule visible")),
                "{name}"
            );
        }
    }
}

#[test]
fn workload_selector_applies_only_to_matching_clients_in_its_namespace() {
    let mut f = fixture();
    let mut selected = dr_spec(FQDN, Some(Disable));
    selected.workload_selector = Some(WorkloadSelector {
        match_labels: labels(&[("app", "client")]),
    });
    f.dr("bar", "for-client", Some(10), selected.clone());
    f.dr(
        "bar",
        "catch-all",
        Some(20),
        dr_spec(FQDN, Some(IstioMutual)),
    );
    f.dr("foo", "svc-ns-selector", Some(1), selected);
    assert_eq!(picked_name(&f, "client").as_deref(), Some("bar/for-client"));
    assert_eq!(picked_name(&f, "other").as_deref(), Some("bar/catch-all"));
    // The foo selector rule is private to foo, and local-client does not match it.
    assert_eq!(picked_name(&f, "local-client"), None);
    let w = f
        .res
        .workloads
        .iter()
        .find(|w| w.meta.name == "local-client")
        .unwrap();
    let dest =
        resolve_destination(&f.res, "foo", &"reviews:9080".parse().expect("HOST:PORT")).unwrap();
    let (none, why) = select_destination_rule_explained(&f.res, w, &dest);
    assert!(none.is_none());
    assert!(
        why.iter().any(|d| d.step == "destination-rule/none"),
        "{why:#?}"
    );
}

/// `TestSetDestinationRuleWithWorkloadSelector`: a catch-all rule exported with `.` is merged
/// into the selector rule (subsets, and its policy where the selector rule has none); one
/// without `.` is not.
#[test]
fn selector_rules_absorb_catch_all_rules_exported_with_dot() {
    let mut f = fixture();
    let mut selected = dr_spec(FQDN, None);
    selected.workload_selector = Some(WorkloadSelector {
        match_labels: labels(&[("app", "client")]),
    });
    selected.subsets = vec![Subset {
        name: "v1".into(),
        ..Subset::default()
    }];
    f.dr("bar", "for-client", Some(10), selected);
    let mut dotted = export(dr_spec(FQDN, Some(IstioMutual)), &[".", "foo"]);
    dotted.subsets = vec![Subset {
        name: "v2".into(),
        ..Subset::default()
    }];
    f.dr("bar", "catch-all", Some(5), dotted);
    let got = pick(&f, "client").unwrap();
    let names: Vec<&str> = got.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["for-client", "catch-all"]);
    assert_eq!(got.spec.subsets.len(), 2);
    assert_eq!(
        got.spec.traffic_policy.and_then(|t| t.tls).map(|t| t.mode),
        Some(IstioMutual)
    );

    // Without `.` in exportTo the catch-all stays apart.
    f.res.destination_rules[1].spec.export_to.clear();
    let got = pick(&f, "client").unwrap();
    assert_eq!(got.rules.len(), 1);
    assert_eq!(got.spec.traffic_policy, None);
    // Other clients get the catch-all either way.
    assert_eq!(picked_name(&f, "other").as_deref(), Some("bar/catch-all"));
}

#[test]
fn rules_for_the_same_host_merge_oldest_policy_first() {
    let mut f = fixture();
    let mut old = dr_spec(FQDN, Some(IstioMutual));
    old.subsets = vec![Subset {
        name: "v1".into(),
        labels: labels(&[("version", "v1")]),
        traffic_policy: None,
    }];
    let mut new = dr_spec(FQDN, Some(Disable));
    new.subsets = vec![
        Subset {
            name: "v1".into(),
            labels: labels(&[("version", "other")]),
            traffic_policy: None,
        },
        Subset {
            name: "v2".into(),
            labels: labels(&[("version", "v2")]),
            traffic_policy: None,
        },
    ];
    f.dr("foo", "newer", Some(200), new);
    f.dr("foo", "older", Some(100), old);
    let got = pick(&f, "client").unwrap();
    let names: Vec<&str> = got.rules.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["older", "newer"]);
    let tls = got
        .spec
        .traffic_policy
        .as_ref()
        .and_then(|t| t.tls.as_ref())
        .map(|t| t.mode);
    assert_eq!(tls, Some(IstioMutual));
    let subsets: Vec<(&str, &str)> = got
        .spec
        .subsets
        .iter()
        .map(|s| (s.name.as_str(), s.labels["version"].as_str()))
        .collect();
    assert_eq!(subsets, [("v1", "v1"), ("v2", "v2")]);
    assert!(got
        .decided_by
        .iter()
        .any(|d| d.reason.contains("duplicate subset v1 dropped")));

    // A newer rule fills in a missing top-level policy.
    let mut f = fixture();
    f.dr("foo", "older", Some(100), dr_spec(FQDN, None));
    f.dr("foo", "newer", Some(200), dr_spec(FQDN, Some(Simple)));
    let got = pick(&f, "client").unwrap();
    assert_eq!(
        got.spec.traffic_policy.and_then(|t| t.tls).map(|t| t.mode),
        Some(Simple)
    );
}

fn tls(mode: ClientTlsMode) -> Option<ClientTls> {
    Some(ClientTls {
        mode,
        ..ClientTls::default()
    })
}

fn pool(max: u32) -> Option<ConnectionPool> {
    Some(ConnectionPool {
        tcp: Some(TcpPoolSettings {
            max_connections: Some(max),
            ..Default::default()
        }),
        http: None,
    })
}

fn port_entry(port: u32, tls_mode: Option<ClientTlsMode>, max: Option<u32>) -> PortTrafficPolicy {
    PortTrafficPolicy {
        port: Some(PortSelector { number: port }),
        tls: tls_mode.and_then(tls),
        connection_pool: max.and_then(pool),
        ..PortTrafficPolicy::default()
    }
}

#[test]
fn port_level_settings_replace_the_top_level_policy_for_their_service_port() {
    let mut f = fixture();
    let mut spec = dr_spec(FQDN, Some(IstioMutual));
    let tp = spec.traffic_policy.as_mut().unwrap();
    tp.connection_pool = pool(100);
    tp.port_level_settings = vec![
        port_entry(9080, None, Some(1)),
        port_entry(9443, Some(Simple), None),
    ];
    spec.subsets = vec![Subset {
        name: "v2".into(),
        labels: labels(&[("version", "v2")]),
        traffic_policy: Some(TrafficPolicy {
            tls: tls(Disable),
            ..TrafficPolicy::default()
        }),
    }];
    f.dr("foo", "reviews", None, spec);
    let got = pick(&f, "client").unwrap();

    // 9080: the port entry has no tls, so there is none (not inherited); its pool applies.
    let (tp, why) = got.traffic_policy_for(9080, None);
    let tp = tp.unwrap();
    assert_eq!(tp.tls, None);
    assert_eq!(tp.connection_pool, pool(1));
    assert!(why.iter().any(|d| d.step == "destination-rule/port"));
    // EDS still falls back to the top-level tls for the endpoint decision.
    assert_eq!(got.endpoint_tls_mode(9080, None), Some(IstioMutual));

    // An unlisted port keeps the top level.
    let (tp, _) = got.traffic_policy_for(9999, None);
    assert_eq!(tp.unwrap().tls.map(|t| t.mode), Some(IstioMutual));
    assert_eq!(
        got.traffic_policy_for(9443, None)
            .0
            .unwrap()
            .tls
            .map(|t| t.mode),
        Some(Simple)
    );
    assert_eq!(got.endpoint_tls_mode(9443, None), Some(Simple));

    // Subset policy overrides the fields it sets; the port-level pool stays.
    let (tp, _) = got.traffic_policy_for(9080, Some("v2"));
    let tp = tp.unwrap();
    assert_eq!(tp.tls.map(|t| t.mode), Some(Disable));
    assert_eq!(tp.connection_pool, pool(1));
    assert_eq!(got.endpoint_tls_mode(9080, Some("v2")), Some(Disable));
    // An unknown subset falls back to the rule's policy and says so.
    let (tp, why) = got.traffic_policy_for(9999, Some("nope"));
    assert_eq!(tp.unwrap().tls.map(|t| t.mode), Some(IstioMutual));
    assert!(why
        .iter()
        .any(|d| d.reason.contains("subset nope is not defined")));
    assert_eq!(got.endpoint_tls_mode(9999, Some("nope")), None);
}

/// Istio's `TestSetDestinationRuleWithExportTo` (`pilot/pkg/model/push_context_test.go`): the
/// same ten rules and sixteen (proxy namespace, service namespace, host) lookups.
#[test]
fn export_to_lookups_match_istio_table() {
    fn rule(
        ns: &str,
        name: &str,
        host: &str,
        export: &[&str],
        subsets: &[&str],
    ) -> DestinationRule {
        DestinationRule {
            meta: crate::policy::testing::meta(ns, name, None),
            spec: DestinationRuleSpec {
                host: host.into(),
                export_to: export.iter().map(|s| s.to_string()).collect(),
                subsets: subsets
                    .iter()
                    .map(|n| Subset {
                        name: n.to_string(),
                        ..Subset::default()
                    })
                    .collect(),
                ..DestinationRuleSpec::default()
            },
        }
    }
    let test_host = "httpbin.org";
    let mut f = Fixture::new();
    f.res.destination_rules = vec![
        rule(
            "test1",
            "rule1",
            test_host,
            &[".", "ns1"],
            &["subset1", "subset2"],
        ),
        rule(
            "test2",
            "rule2",
            test_host,
            &["test2", "ns1", "test1", "newNS"],
            &["subset3", "subset4"],
        ),
        rule(
            "test3",
            "rule3",
            test_host,
            &["test1", "test2", "*"],
            &["subset5", "subset6"],
        ),
        rule(
            "test4",
            "rule4-local",
            test_host,
            &["test4"],
            &["subset15", "subset16"],
        ),
        rule(
            "istio-system",
            "rule4",
            test_host,
            &[],
            &["subset7", "subset8"],
        ),
        rule(
            "istio-system",
            "rule1",
            test_host,
            &["."],
            &["subset9", "subset10"],
        ),
        rule(
            "istio-system",
            "rule2",
            "*.org",
            &["."],
            &["subset11", "subset12"],
        ),
        rule(
            "istio-system",
            "rule3",
            "*.app.org",
            &["."],
            &["subset13", "subset14"],
        ),
        rule(
            "test5",
            "rule5",
            "api.test.com",
            &["istio-system"],
            &["subset5-0", "subset5-1"],
        ),
        rule(
            "test6",
            "rule6",
            "api.test.com",
            &["istio-system"],
            &["subset6-0", "subset6-1"],
        ),
    ];
    let cases: &[(&str, &str, &str, Option<&[&str]>)] = &[
        ("test1", "test1", test_host, Some(&["subset1", "subset2"])),
        ("test1", "test2", test_host, Some(&["subset1", "subset2"])),
        ("test2", "test1", test_host, Some(&["subset3", "subset4"])),
        ("newNS", "test2", test_host, Some(&["subset3", "subset4"])),
        ("test3", "test1", test_host, Some(&["subset5", "subset6"])),
        ("test5", "test4", test_host, Some(&["subset7", "subset8"])),
        ("ns1", "test1", test_host, Some(&["subset1", "subset2"])),
        ("ns1", "random", test_host, Some(&["subset7", "subset8"])),
        ("random", "random", test_host, Some(&["subset7", "subset8"])),
        ("test3", "random", test_host, Some(&["subset5", "subset6"])),
        (
            "istio-system",
            "random",
            test_host,
            Some(&["subset9", "subset10"]),
        ),
        (
            "istio-system",
            "istio-system",
            test_host,
            Some(&["subset9", "subset10"]),
        ),
        (
            "istio-system",
            "istio-system",
            "foo.app.org",
            Some(&["subset13", "subset14"]),
        ),
        (
            "istio-system",
            "test5",
            "api.test.com",
            Some(&["subset5-0", "subset5-1"]),
        ),
        (
            "istio-system",
            "test6",
            "api.test.com",
            Some(&["subset6-0", "subset6-1"]),
        ),
        ("istio-system", "test7", "api.test.com", None),
    ];
    for (proxy_ns, service_ns, host, want) in cases {
        let client = Workload {
            meta: crate::policy::testing::meta(proxy_ns, "proxy", None),
            ..Default::default()
        };
        let dest = Destination {
            service: ObjectRef {
                kind: Kind::Service,
                namespace: service_ns.to_string(),
                name: "svc".into(),
            },
            fqdn: host.to_string(),
            port: crate::model::ServicePort {
                name: None,
                port: 80,
                target_port: TargetPort::Number(80),
                protocol: crate::vocab::KubeProtocol::Tcp,
                app_protocol: None,
                declared: None,
            },
            headless: false,
            mesh_external: false,
            subject_alt_names: Vec::new(),
            endpoints: Vec::new(),
            decided_by: Vec::new(),
        };
        let got = select_destination_rule(&f.res, &client, &dest);
        let subsets: Option<Vec<String>> =
            got.map(|s| s.spec.subsets.iter().map(|x| x.name.clone()).collect());
        let want: Option<Vec<String>> = want.map(|w| w.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            subsets, want,
            "proxy {proxy_ns}, service {service_ns}, host {host}"
        );
    }
}

/// One rule for the consolidation and release tables: (namespace, name, host, exportTo,
/// selector app label, creation time).
type Row<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a [&'a str],
    Option<&'a str>,
    i64,
);

/// An older and a newer rule for one host in one namespace: (name, exportTo, selector app) and
/// (name, exportTo) of a catch-all.
fn pair<'a>(
    (ns, host): (&'a str, &'a str),
    (older, older_to, app): (&'a str, &'a [&'a str], Option<&'a str>),
    (newer, newer_to): (&'a str, &'a [&'a str]),
) -> [Row<'a>; 2] {
    [
        (ns, older, host, older_to, app, 1),
        (ns, newer, host, newer_to, None, 2),
    ]
}

fn rules_of(rows: &[Row]) -> Vec<DestinationRule> {
    rows.iter()
        .map(|(ns, name, host, to, app, created)| {
            let mut spec = export(dr_spec(host, None), to);
            spec.workload_selector = app.map(|a| WorkloadSelector {
                match_labels: labels(&[("app", a)]),
            });
            DestinationRule {
                meta: crate::policy::testing::meta(ns, name, Some(*created)),
                spec,
            }
        })
        .collect()
}

/// `TestSetDestinationRuleMerging` and `TestSetDestinationRuleWithWorkloadSelector`
/// (`pilot/pkg/model/push_context_test.go`), plus the superset and release cases of
/// `mergeDestinationRule`: the `from` list of each consolidated rule for the host.
#[test]
fn rules_for_one_host_consolidate_by_export_to_and_selector() {
    use super::index::{
        build, DestinationRuleRelease, DestinationRuleRelease::*, IndexKind, IndexKind::*,
    };
    const H: &str = "httpbin.org";
    let merging: &[Row] = &[
        ("test", "rule1", H, &[], None, 1),
        ("test", "rule2", H, &[], None, 2),
        ("test", "rule3", H, &["istio-system"], None, 3),
    ];
    let selectors: &[Row] = &[
        ("test", "nsRule1", H, &["test2", "."], Some("app1"), 10),
        ("test", "nsRule2", H, &["test2", "."], Some("app2"), 11),
        ("test", "nsRule3", H, &["test2", "."], Some("app2"), 11),
        ("test", "nsRule4", H, &[".", "test2"], None, 9),
    ];
    // `*` is a set member like any other, not a superset of every namespace.
    type Case<'a> = (
        &'a str,
        &'a [Row<'a>],
        IndexKind,
        DestinationRuleRelease,
        &'a [&'a [&'a str]],
    );
    let cases: &[Case] = &[
        (
            "equal (empty) exportTo merge locally",
            merging,
            NamespaceLocal,
            Istio1_24On,
            &[&["rule1", "rule2"]],
        ),
        (
            "a different exportTo stays apart in the exported index",
            merging,
            Exported,
            Istio1_24On,
            &[&["rule1", "rule2"], &["rule3"]],
        ),
        (
            "before 1.24 every catch-all rule merges",
            merging,
            Exported,
            Istio1_22To1_23,
            &[&["rule1", "rule2", "rule3"]],
        ),
        (
            "selector rules absorb a catch-all that lists `.` and it stays on its own too",
            selectors,
            NamespaceLocal,
            Istio1_24On,
            &[
                &["nsRule1", "nsRule4"],
                &["nsRule2", "nsRule3", "nsRule4"],
                &["nsRule4"],
            ],
        ),
        (
            "selector rules are never exported",
            selectors,
            Exported,
            Istio1_24On,
            &[&["nsRule4"]],
        ),
        (
            "a catch-all with exactly `.` is absorbed into the selector rule only",
            &pair(
                ("test", H),
                ("selector", &[], Some("app1")),
                ("catch-all", &["."]),
            ),
            NamespaceLocal,
            Istio1_24On,
            &[&["selector", "catch-all"]],
        ),
        (
            "before 1.24 that catch-all is also kept on its own",
            &pair(
                ("test", H),
                ("selector", &[], Some("app1")),
                ("catch-all", &["."]),
            ),
            NamespaceLocal,
            Istio1_22To1_23,
            &[&["selector", "catch-all"], &["catch-all"]],
        ),
        (
            "a newer rule with a wider exportTo merges into the narrower one",
            &pair(
                ("test", H),
                ("older", &["bar"], None),
                ("newer", &["bar", "baz"]),
            ),
            Exported,
            Istio1_24On,
            &[&["older", "newer"]],
        ),
        (
            "`*` is not a superset of a namespace list",
            &pair(("test", H), ("older", &["bar"], None), ("newer", &["*"])),
            Exported,
            Istio1_24On,
            &[&["older"], &["newer"]],
        ),
        (
            "a newer rule with a narrower exportTo stays apart",
            &pair(("test", H), ("older", &["*"], None), ("newer", &["bar"])),
            Exported,
            Istio1_24On,
            &[&["older"], &["newer"]],
        ),
    ];
    for (name, rows, kind, release, want) in cases {
        let rules = rules_of(rows);
        let index = build(&rules, "test", *kind, *release);
        let got: Vec<Vec<&str>> = index
            .get(H)
            .map(|h| {
                h.rules
                    .iter()
                    .map(|c| c.from.iter().map(|r| r.name.as_str()).collect())
                    .collect()
            })
            .unwrap_or_default();
        let want: Vec<Vec<&str>> = want.iter().map(|w| w.to_vec()).collect();
        assert_eq!(got, want, "{name}");
    }
}

fn workload<'f>(f: &'f Fixture, name: &str) -> &'f Workload {
    f.res
        .workloads
        .iter()
        .find(|w| w.meta.name == name)
        .unwrap()
}

/// `getExportedDestinationRuleFromNamespace`: the most specific host is chosen among all the
/// namespace's exported rules before `exportTo` is checked, in every release; from 1.24 each
/// consolidated rule is checked on its own and the client gets the last catch-all left
/// (`SidecarScope.DestinationRule`).
#[test]
fn most_specific_exported_host_is_chosen_before_export_to() {
    use super::index::DestinationRuleRelease::{self, *};
    const WILD: &str = "*.foo.svc.cluster.local";
    const BOTH: &[DestinationRuleRelease] = &[Istio1_22To1_23, Istio1_24On];
    const NEW: &[DestinationRuleRelease] = &[Istio1_24On];
    const OLD: &[DestinationRuleRelease] = &[Istio1_22To1_23];
    let hidden: &[Row] = &[
        ("foo", "wild", WILD, &["*"], None, 1),
        ("foo", "exact", FQDN, &["baz"], None, 2),
    ];
    let hidden_with_root: &[Row] = &[
        ("foo", "wild", WILD, &["*"], None, 1),
        ("foo", "exact", FQDN, &["baz"], None, 2),
        ("istio-system", "root", "*.svc.cluster.local", &[], None, 3),
    ];
    type Case<'a> = (
        &'a str,
        &'a [Row<'a>],
        &'a str,
        &'a [DestinationRuleRelease],
        Option<&'a [&'a str]>,
    );
    let cases: &[Case] = &[
        (
            "an exact host exported elsewhere hides the namespace wildcard",
            hidden,
            "client",
            BOTH,
            None,
        ),
        (
            "and the root namespace rule applies instead",
            hidden_with_root,
            "client",
            BOTH,
            Some(&["root"]),
        ),
        (
            "the service namespace's own client still sees the wildcard",
            hidden,
            "local-client",
            BOTH,
            Some(&["wild"]),
        ),
        (
            "rules with different exportTo: the last one exported to the client applies",
            &pair(("foo", FQDN), ("older", &["*"], None), ("newer", &["bar"])),
            "client",
            NEW,
            Some(&["newer"]),
        ),
        (
            "before 1.24 the same rules merge, the oldest first",
            &pair(("foo", FQDN), ("older", &["*"], None), ("newer", &["bar"])),
            "client",
            OLD,
            Some(&["older", "newer"]),
        ),
        (
            "a client outside the newer rule's exportTo gets only the older one",
            &pair(("foo", FQDN), ("older", &["*"], None), ("newer", &["bar"])),
            "baz-client",
            NEW,
            Some(&["older"]),
        ),
        (
            "before 1.24 the host's first exportTo decides for all its rules",
            &pair(
                ("foo", FQDN),
                ("older", &["baz"], None),
                ("newer", &["bar"]),
            ),
            "client",
            OLD,
            None,
        ),
        (
            "from 1.24 the rule exported to the client applies alone",
            &pair(
                ("foo", FQDN),
                ("older", &["baz"], None),
                ("newer", &["bar"]),
            ),
            "client",
            NEW,
            Some(&["newer"]),
        ),
        (
            "a wider rule merged into a narrower one is exported only as far as the narrower",
            &pair(
                ("foo", FQDN),
                ("older", &["bar"], None),
                ("newer", &["bar", "baz"]),
            ),
            "baz-client",
            BOTH,
            None,
        ),
        (
            "a newer public rule is not merged into a narrower one",
            &pair(("foo", FQDN), ("older", &["bar"], None), ("newer", &["*"])),
            "baz-client",
            NEW,
            Some(&["newer"]),
        ),
        (
            "in the client's namespace rules kept apart: the last catch-all applies",
            &pair(("bar", FQDN), ("older", &["*"], None), ("newer", &["."])),
            "client",
            NEW,
            Some(&["newer"]),
        ),
        (
            "a catch-all with exactly `.` absorbed by a selector rule is lost to other clients",
            &pair(
                ("bar", FQDN),
                ("for-client", &[], Some("client")),
                ("catch-all", &["."]),
            ),
            "other",
            NEW,
            None,
        ),
        (
            "before 1.24 that catch-all still reaches other clients",
            &pair(
                ("bar", FQDN),
                ("for-client", &[], Some("client")),
                ("catch-all", &["."]),
            ),
            "other",
            OLD,
            Some(&["catch-all"]),
        ),
    ];
    for (name, rows, client, releases, want) in cases {
        let mut f = fixture();
        f.namespace("baz");
        f.workload("baz", "baz-client", &[("app", "baz")]);
        f.res.destination_rules = rules_of(rows);
        let w = workload(&f, client);
        let dest = resolve_destination(
            &f.res,
            &w.meta.namespace,
            &"reviews.foo:9080".parse().expect("HOST:PORT"),
        )
        .unwrap();
        for release in *releases {
            let (got, why) = select_destination_rule_for_release(&f.res, w, &dest, *release);
            let got: Option<Vec<&str>> = got
                .as_ref()
                .map(|s| s.rules.iter().map(|r| r.name.as_str()).collect());
            assert_eq!(got.as_deref(), *want, "{name} ({release:?}): {why:#?}");
        }
    }
}

#[test]
fn passed_over_rules_are_named_in_the_decisions() {
    let mut f = fixture();
    f.res.destination_rules = rules_of(&[
        ("foo", "wild", "*.foo.svc.cluster.local", &["*"], None, 1),
        ("foo", "exact", FQDN, &["baz"], None, 2),
    ]);
    let dest = resolve_destination(
        &f.res,
        "bar",
        &"reviews.foo:9080".parse().expect("HOST:PORT"),
    )
    .unwrap();
    let (none, why) = select_destination_rule_explained(&f.res, workload(&f, "client"), &dest);
    assert!(none.is_none());
    let steps: Vec<(Option<&str>, &str)> = why
        .iter()
        .map(|d| (d.resource.as_ref().map(|r| r.name.as_str()), d.step))
        .collect();
    assert_eq!(
        steps,
        [
            (Some("exact"), "destination-rule/export-to"),
            (None, "destination-rule/export-to"),
            (None, "destination-rule/none"),
        ]
    );
    assert!(why[1]
        .reason
        .contains("less specific hosts there are not considered"));
}
