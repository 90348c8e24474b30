use super::*;
use crate::model::{MtlsMode::*, PeerMtls};
use crate::policy::testing::{pa, Fixture};

const ROOT: &str = "root-namespace";
const T: i64 = 1_700_000_000;

fn with_ports(mut p: PeerAuthentication, ports: &[(u32, Option<MtlsMode>)]) -> PeerAuthentication {
    p.spec.port_level_mtls = Some(
        ports
            .iter()
            .map(|(port, m)| {
                (
                    *port,
                    PeerMtls {
                        mode: m.unwrap_or(Unset),
                    },
                )
            })
            .collect(),
    );
    p
}

/// Istio's `TestComposePeerAuthentication` (`pilot/pkg/security/authn/policy_applier_test.go`),
/// all fourteen cases; see istio-semantics.md §1.5.
#[test]
fn compose_peer_authentication_matches_istio_table() {
    let foo: &[(&str, &str)] = &[("app", "foo")];
    type Case = (
        &'static str,
        Vec<PeerAuthentication>,
        MtlsMode,
        Vec<(u32, MtlsMode)>,
    );
    let cases: Vec<Case> = vec![
        ("no config", vec![], Permissive, vec![]),
        (
            "mesh only",
            vec![pa(ROOT, "default", None, Some(Strict), None)],
            Strict,
            vec![],
        ),
        (
            "mesh vs namespace (empty selector in the root namespace is mesh level)",
            vec![
                pa(ROOT, "default", Some(&[]), Some(Strict), None),
                pa("my-ns", "default", None, Some(Permissive), None),
            ],
            Permissive,
            vec![],
        ),
        (
            "ignore non-emptypb selector in root namespace",
            vec![pa(ROOT, "default", Some(foo), Some(Strict), None)],
            Permissive,
            vec![],
        ),
        (
            "workload vs namespace config",
            vec![
                pa("my-ns", "default", None, None, None),
                pa("my-ns", "foo", Some(foo), None, None),
            ],
            Permissive,
            vec![],
        ),
        (
            "workload vs mesh config (namespace beats mesh)",
            vec![
                pa("my-ns", "default", None, Some(Permissive), None),
                pa(ROOT, "default", None, Some(Disable), None),
            ],
            Permissive,
            vec![],
        ),
        (
            "multiple mesh policy",
            vec![
                pa(ROOT, "now", None, Some(Disable), Some(T)),
                pa(ROOT, "second ago", None, Some(Permissive), Some(T - 1)),
                pa(ROOT, "second later", None, Some(Strict), Some(T - 1)),
            ],
            Permissive,
            vec![],
        ),
        (
            "multiple namespace policy",
            vec![
                pa("my-ns", "now", None, Some(Disable), Some(T)),
                pa("my-ns", "second ago", None, Some(Permissive), Some(T - 1)),
                pa("my-ns", "second later", None, Some(Strict), Some(T - 1)),
            ],
            Permissive,
            vec![],
        ),
        (
            "multiple workload policy",
            vec![
                pa("my-ns", "now", Some(foo), Some(Disable), Some(T)),
                pa(
                    "my-ns",
                    "second ago",
                    Some(foo),
                    Some(Permissive),
                    Some(T - 1),
                ),
                pa(
                    "my-ns",
                    "second later",
                    Some(&[("stage", "prod")]),
                    Some(Strict),
                    Some(T - 1),
                ),
            ],
            Permissive,
            vec![],
        ),
        (
            "inheritance: default mesh",
            vec![pa(ROOT, "default", None, Some(Unset), None)],
            Permissive,
            vec![],
        ),
        (
            "inheritance: mesh to workload",
            vec![
                pa(ROOT, "default", None, Some(Strict), None),
                pa("my-ns", "foo", Some(foo), None, None),
            ],
            Strict,
            vec![],
        ),
        (
            "inheritance: namespace to workload",
            vec![
                pa("my-ns", "default", None, Some(Strict), None),
                pa("my-ns", "foo", Some(foo), None, None),
            ],
            Strict,
            vec![],
        ),
        (
            "inheritance: mesh to namespace to workload",
            vec![
                pa(ROOT, "default", None, Some(Strict), None),
                pa("my-ns", "default", None, Some(Unset), None),
                pa("my-ns", "foo", Some(foo), None, None),
            ],
            Strict,
            vec![],
        ),
        (
            "port level",
            vec![
                pa(ROOT, "default", None, Some(Strict), None),
                with_ports(
                    pa("my-ns", "foo", Some(foo), None, None),
                    &[(80, Some(Disable)), (90, Some(Unset)), (100, None)],
                ),
            ],
            Strict,
            vec![(80, Disable), (90, Strict), (100, Strict)],
        ),
    ];
    assert_eq!(cases.len(), 14);
    for (name, configs, mode, ports) in cases {
        let refs: Vec<&PeerAuthentication> = configs.iter().collect();
        let got = compose_peer_authentication(ROOT, &refs);
        assert_eq!(got.mode, mode, "{name}");
        assert_eq!(
            got.per_port,
            ports.into_iter().collect::<BTreeMap<_, _>>(),
            "{name}"
        );
        assert!(!got.decided_by.is_empty(), "{name}: no explanation");
    }
}

#[test]
fn compose_ignores_order_of_input_and_explains_ignored_policies() {
    let a = pa("ns", "b-newer", None, Some(Strict), Some(T + 5));
    let b = pa("ns", "a-older", None, Some(Disable), Some(T));
    let got = compose_peer_authentication(ROOT, &[&a, &b]);
    assert_eq!(got.mode, Disable);
    let ignored: Vec<_> = got
        .decided_by
        .iter()
        .filter(|d| d.step == "peer-authentication/ignored")
        .collect();
    assert_eq!(ignored.len(), 1);
    assert_eq!(
        ignored[0].resource.as_ref().map(|r| r.name.as_str()),
        Some("b-newer")
    );
}

#[test]
fn missing_creation_timestamp_sorts_after_known_ones() {
    let typed = pa("ns", "aaa", None, Some(Disable), None);
    let dumped = pa("ns", "zzz", None, Some(Strict), Some(T));
    assert_eq!(
        compose_peer_authentication(ROOT, &[&typed, &dumped]).mode,
        Strict
    );
    // Two without timestamps: the smaller name wins.
    let other = pa("ns", "bbb", None, Some(Strict), None);
    assert_eq!(
        compose_peer_authentication(ROOT, &[&other, &typed]).mode,
        Disable
    );
}

#[test]
fn mode_for_port_falls_back_to_workload_mode() {
    let p = with_ports(
        pa("ns", "w", Some(&[("app", "w")]), Some(Strict), None),
        &[(9000, Some(Disable))],
    );
    let got = compose_peer_authentication(ROOT, &[&p]);
    assert_eq!(got.mode_for_port(9000), Disable);
    assert_eq!(got.mode_for_port(8000), Strict);
}

fn mesh_fixture() -> Fixture {
    let mut f = Fixture::new();
    f.res.mesh_config.root_namespace = ROOT.into();
    f.namespace(ROOT).namespace("foo").namespace("bar");
    f
}

#[test]
fn effective_policy_selects_by_namespace_and_labels() {
    let mut f = mesh_fixture();
    let w = f.workload("foo", "httpbin", &[("app", "httpbin")]);
    let other = f.workload("bar", "sleep", &[("app", "httpbin")]);
    f.pa(ROOT, "default", None, Some(Strict), Some(T))
        .pa(
            "foo",
            "httpbin",
            Some(&[("app", "httpbin")]),
            Some(Disable),
            Some(T),
        )
        .pa(
            "foo",
            "other",
            Some(&[("app", "other")]),
            Some(Permissive),
            Some(T),
        )
        .pa(
            ROOT,
            "meshwide-selector",
            Some(&[("app", "httpbin")]),
            Some(Permissive),
            Some(T),
        );
    let got = effective_peer_authentication(&f.res, &f.res.workloads[w]);
    assert_eq!(got.mode, Disable);
    // The foo workload policy does not reach bar; the root selector policy is ignored.
    let got = effective_peer_authentication(&f.res, &f.res.workloads[other]);
    assert_eq!(got.mode, Strict);
    assert!(got
        .decided_by
        .iter()
        .any(|d| d.step == "peer-authentication/ignored"
            && d.resource
                .as_ref()
                .is_some_and(|r| r.name == "meshwide-selector")));
    // The index gives the same answers.
    let idx = PeerAuthenticationIndex::build(&f.res);
    for wl in &f.res.workloads {
        assert_eq!(
            idx.effective(&f.res, wl),
            effective_peer_authentication(&f.res, wl)
        );
    }
}

#[test]
fn namespace_mtls_mode_follows_get_namespace_mutual_tls_mode() {
    // (policies, namespace asked, expected)
    let cases: Vec<(&str, Vec<PeerAuthentication>, &str, Option<MtlsMode>)> = vec![
        ("nothing configured is unknown", vec![], "foo", None),
        (
            "mesh STRICT reaches a namespace without policy",
            vec![pa(ROOT, "default", None, Some(Strict), Some(T))],
            "foo",
            Some(Strict),
        ),
        (
            "mesh UNSET counts as PERMISSIVE",
            vec![pa(ROOT, "default", None, None, Some(T))],
            "foo",
            Some(Permissive),
        ),
        (
            "namespace policy wins over mesh",
            vec![
                pa(ROOT, "default", None, Some(Strict), Some(T)),
                pa("foo", "default", None, Some(Disable), Some(T)),
            ],
            "foo",
            Some(Disable),
        ),
        (
            "namespace UNSET inherits mesh",
            vec![
                pa(ROOT, "default", None, Some(Strict), Some(T)),
                pa("foo", "default", None, Some(Unset), Some(T)),
            ],
            "foo",
            Some(Strict),
        ),
        (
            "namespace UNSET without mesh is PERMISSIVE",
            vec![pa("foo", "default", None, None, Some(T))],
            "foo",
            Some(Permissive),
        ),
        (
            "workload policies do not count",
            vec![pa("foo", "w", Some(&[("app", "w")]), Some(Strict), Some(T))],
            "foo",
            None,
        ),
        (
            "oldest namespace policy wins",
            vec![
                pa("foo", "new", None, Some(Strict), Some(T + 1)),
                pa("foo", "old", None, Some(Disable), Some(T)),
            ],
            "foo",
            Some(Disable),
        ),
        (
            "root namespace asks the mesh policy",
            vec![pa(ROOT, "default", None, Some(Disable), Some(T))],
            ROOT,
            Some(Disable),
        ),
        (
            "other namespace's policy does not leak",
            vec![pa("bar", "default", None, Some(Strict), Some(T))],
            "foo",
            None,
        ),
    ];
    for (name, pas, ns, want) in cases {
        let mut f = mesh_fixture();
        f.res.peer_authentications = pas;
        assert_eq!(namespace_mtls_mode(&f.res, ns), want, "{name}");
    }
}

/// Seeded random configurations: composition ignores input order, never yields UNSET, and the
/// index agrees with the direct lookup.
#[test]
fn composition_is_order_independent_and_the_index_agrees() {
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x5eed);
    let namespaces = [ROOT, "foo", "bar"];
    let selectors: [Option<&[(&str, &str)]>; 4] = [
        None,
        Some(&[]),
        Some(&[("app", "a")]),
        Some(&[("app", "b")]),
    ];
    let modes = [
        None,
        Some(Unset),
        Some(Disable),
        Some(Permissive),
        Some(Strict),
    ];
    for round in 0..300 {
        let mut f = mesh_fixture();
        f.workload("foo", "a", &[("app", "a")]);
        f.workload("bar", "b", &[("app", "b")]);
        f.workload(ROOT, "r", &[("app", "a")]);
        for i in 0..rng.gen_range(0..8) {
            let ns = namespaces[rng.gen_range(0..namespaces.len())];
            let sel = selectors[rng.gen_range(0..selectors.len())];
            let mode = modes[rng.gen_range(0..modes.len())];
            let ts = if rng.gen_bool(0.3) {
                None
            } else {
                Some(T + rng.gen_range(0..3))
            };
            let mut p = pa(ns, &format!("p{i}"), sel, mode, ts);
            if rng.gen_bool(0.2) {
                p = with_ports(p, &[(8080, modes[rng.gen_range(0..modes.len())])]);
            }
            f.res.peer_authentications.push(p);
        }
        let idx = PeerAuthenticationIndex::build(&f.res);
        for w in &f.res.workloads {
            let want = effective_peer_authentication(&f.res, w);
            assert_ne!(want.mode, Unset, "round {round}");
            assert!(want.per_port.values().all(|m| *m != Unset), "round {round}");
            assert_eq!(idx.effective(&f.res, w), want, "round {round}");
            let mut shuffled = f.res.clone();
            shuffled.peer_authentications.shuffle(&mut rng);
            assert_eq!(
                effective_peer_authentication(&shuffled, w),
                want,
                "round {round}"
            );
        }
    }
}

#[test]
fn inbound_mode_reads_the_target_port() {
    let mut f = mesh_fixture();
    let w = f.workload("foo", "httpbin", &[("app", "httpbin")]);
    f.pa(ROOT, "default", None, Some(Strict), None);
    f.res.peer_authentications.push(with_ports(
        pa("foo", "httpbin", Some(&[("app", "httpbin")]), None, None),
        &[(9000, Some(Disable))],
    ));
    let (m, why) = inbound_mode(&f.res, &f.res.workloads[w], 9000);
    assert_eq!(m, Disable);
    assert!(why.last().unwrap().reason.contains("portLevelMtls"));
    let (m, why) = inbound_mode(&f.res, &f.res.workloads[w], 8000);
    assert_eq!(m, Strict);
    assert!(why.last().unwrap().reason.contains("the workload mode"));
}
