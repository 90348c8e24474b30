//! A client sidecar's egress scope (the `Sidecar` resource): which Sidecar applies to a
//! workload, which Services its egress listeners import, its outbound traffic policy, and so
//! which outbound listener a connection to a destination meets. One rule for both paths and the
//! diagnosis; Istio 1.22–1.28 (unchanged across them):
//!
//! - selection: `PushContext.getSidecarScope` / `initSidecarScopes`
//!   (`pilot/pkg/model/push_context.go`): in the client's namespace, Sidecars with a
//!   `workloadSelector` first, then those without, each group oldest first
//!   (`sortConfigByCreationTime`); the first whose selector labels are a subset of the pod's
//!   labels, or has none, applies; else the root namespace's oldest selector-less Sidecar; else
//!   the default scope (every Service). Gateways always get the default scope.
//! - imports: `convertIstioListenerToWrapper` and `selectServices` (`pilot/pkg/model/sidecar.go`):
//!   `egress[].hosts` entries `ns/dnsName`, `.` meaning the client's namespace (the root
//!   Sidecar is converted in it), `*` any namespace, `~` none; a Service is imported when its
//!   namespace's entries, else the `*/` entries, match its FQDN exactly or by wildcard
//!   (`hostClassification.Matches`, `host.Name.SubsetOf`). No `egress` means `*/*`. A
//!   ServiceEntry host is a registry service of the entry's namespace and is imported the same
//!   way (`selectServices` does not tell the registries apart).
//! - policy: `initSidecarScopeInternalIndexes`: the Sidecar's `outboundTrafficPolicy` when set
//!   (its `mode` defaulting to the proto's REGISTRY_ONLY), else MeshConfig's.
//! - listeners: `buildSidecarOutboundListener` (`pilot/pkg/networking/core/listener.go`): an
//!   imported HTTP Service port binds `0.0.0.0:<port>`, a TCP or sniffed one the Service's own
//!   address; a connection no listener takes meets the virtual outbound listener.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use super::decision::object_ref;
use super::peer_authn::creation_order;
use super::{Decision, Destination};
use crate::model::{Resources, Service, Sidecar, Workload, WorkloadRole};
use crate::vocab::{Egress, Kind, OutboundListener, OutboundTrafficMode};

/// The Sidecar that applies to `client`, if any (`getSidecarScope`).
pub fn sidecar_for<'r>(res: &'r Resources, client: &Workload) -> Option<&'r Sidecar> {
    if client.role == WorkloadRole::Gateway {
        return None;
    }
    let ns = &client.meta.namespace;
    let in_ns = |ns: &str| {
        let mut v: Vec<&Sidecar> = res
            .sidecars
            .iter()
            .filter(|s| s.meta.namespace == ns)
            .collect();
        // Selectors first, then oldest first (`initSidecarScopes`).
        v.sort_by(|a, b| {
            match (
                a.spec.workload_selector.is_some(),
                b.spec.workload_selector.is_some(),
            ) {
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                _ => creation_order(&a.meta, &b.meta),
            }
        });
        v
    };
    let own = in_ns(ns).into_iter().find(|s| {
        s.spec.workload_selector.as_ref().is_none_or(|sel| {
            sel.labels
                .iter()
                .all(|(k, v)| client.pod_labels.get(k) == Some(v))
        })
    });
    own.or_else(|| {
        in_ns(&res.mesh_config.root_namespace)
            .into_iter()
            .find(|s| s.spec.workload_selector.is_none())
    })
}

/// The outbound traffic policy of a client whose scope comes from `sidecar`.
pub fn outbound_mode(res: &Resources, sidecar: Option<&Sidecar>) -> OutboundTrafficMode {
    sidecar
        .and_then(|s| s.spec.outbound_traffic_policy.as_ref())
        .map_or(res.mesh_config.outbound_traffic_policy, |p| p.mode)
}

/// `host.Name.SubsetOf`: `host` (an FQDN, never a wildcard here) matches `pattern` exactly, or
/// `pattern` is `*` or `*<suffix>` and `host` ends with the suffix.
fn host_matches(host: &str, pattern: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_prefix('*') {
        Some(suffix) => host.ends_with(suffix),
        None => host.eq_ignore_ascii_case(pattern),
    }
}

/// Whether one egress listener's `hosts` import the registry service `fqdn` of `namespace`, for
/// a client in `client_ns` (`selectServices`: the service namespace's entries, else the `*`
/// ones). A ServiceEntry host is imported by `ns/host` exactly as a Service is.
fn hosts_import(hosts: &[String], fqdn: &str, namespace: &str, client_ns: &str) -> bool {
    let matches_in = |wanted: &str| {
        hosts.iter().any(|h| {
            h.split_once('/').is_some_and(|(ns, name)| {
                let ns = if ns == "." { client_ns } else { ns };
                ns == wanted && host_matches(fqdn, name)
            })
        })
    };
    matches_in(namespace) || matches_in("*")
}

/// Whether `sidecar` imports port `port` of `svc` for a client in `client_ns`: the egress
/// listener for that port number when there is one, else the port-less (catch-all) listener.
pub fn imports(sidecar: Option<&Sidecar>, svc: &Service, port: u16, client_ns: &str) -> bool {
    imports_host(sidecar, &svc.fqdn(), &svc.meta.namespace, port, client_ns)
}

/// [`imports`] for any registry service: a Service's FQDN or a ServiceEntry host, with the
/// namespace it belongs to.
pub(crate) fn imports_host(
    sidecar: Option<&Sidecar>,
    fqdn: &str,
    namespace: &str,
    port: u16,
    client_ns: &str,
) -> bool {
    let Some(sc) = sidecar else { return true };
    if sc.spec.egress.is_empty() {
        return true;
    }
    let listener = sc
        .spec
        .egress
        .iter()
        .find(|e| e.port.as_ref().is_some_and(|p| p.number == u32::from(port)))
        .or_else(|| sc.spec.egress.iter().find(|e| e.port.is_none()));
    listener.is_some_and(|e| hosts_import(&e.hosts, fqdn, namespace, client_ns))
}

/// The ports on which a Sidecar, for clients of one namespace, imports an HTTP Service port
/// (each binds `0.0.0.0:<port>`), remembered per (Sidecar, client namespace): finding them
/// scans every Service, and a matrix asks once per flow.
#[derive(Debug, Default)]
pub struct EgressCache {
    wildcard_http: Mutex<BTreeMap<CacheKey, Arc<BTreeSet<u16>>>>,
}

/// (Sidecar namespace, Sidecar name, client namespace).
type CacheKey = (String, String, String);

impl EgressCache {
    /// The HTTP ports `sc` imports for a client in `client_ns`.
    fn wildcard_http(&self, res: &Resources, sc: &Sidecar, client_ns: &str) -> Arc<BTreeSet<u16>> {
        let key = (
            sc.meta.namespace.clone(),
            sc.meta.name.clone(),
            client_ns.to_string(),
        );
        let cache = || {
            self.wildcard_http
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(ports) = cache().get(&key) {
            return Arc::clone(ports);
        }
        let ports: BTreeSet<u16> = res
            .services
            .iter()
            .flat_map(|svc| {
                svc.ports
                    .iter()
                    .filter(|p| p.istio_protocol().is_http())
                    .filter(move |p| imports(Some(sc), svc, p.port, client_ns))
                    .map(|p| p.port)
            })
            .chain(res.service_entries.iter().flat_map(|se| {
                // Each host of an entry is a registry service with the entry's ports.
                se.spec.hosts.iter().flat_map(move |host| {
                    se.spec
                        .ports
                        .iter()
                        .filter_map(|p| u16::try_from(p.number).ok())
                        .filter(move |n| {
                            se.service_port(*n)
                                .is_some_and(|p| p.istio_protocol().is_http())
                                && imports_host(Some(sc), host, &se.meta.namespace, *n, client_ns)
                        })
                })
            }))
            .collect();
        let ports = Arc::new(ports);
        cache().insert(key, Arc::clone(&ports));
        ports
    }
}

/// The client sidecar's egress view of `dest`, with the decisions behind it.
pub fn client_egress(
    res: &Resources,
    client: &Workload,
    dest: &Destination,
) -> (Egress, Vec<Decision>) {
    client_egress_cached(
        res,
        client,
        sidecar_for(res, client),
        dest,
        &EgressCache::default(),
    )
}

/// [`client_egress`] for a client whose Sidecar scope ([`sidecar_for`]) is `sidecar`, with the
/// wildcard listeners remembered in `cache` (one per configuration): a matrix finds each
/// client's scope once, not once per flow.
pub fn client_egress_cached(
    res: &Resources,
    client: &Workload,
    sidecar: Option<&Sidecar>,
    dest: &Destination,
    cache: &EgressCache,
) -> (Egress, Vec<Decision>) {
    let mode = outbound_mode(res, sidecar);
    let client_ns = client.meta.namespace.as_str();
    let port = dest.port.port;
    let mut decided_by = Vec::new();
    let Some(sc) = sidecar else {
        return (
            Egress {
                listener: OutboundListener::Service,
                mode,
            },
            decided_by,
        );
    };
    let in_scope = if dest.service.kind == Kind::ServiceEntry {
        imports_host(sidecar, &dest.fqdn, dest.namespace(), port, client_ns)
    } else {
        res.service(dest.namespace(), &dest.service.name)
            .is_none_or(|svc| imports(sidecar, svc, port, client_ns))
    };
    let sc_ref = object_ref(Kind::Sidecar, &sc.meta);
    if in_scope {
        decided_by.push(Decision::by(
            sc_ref,
            "sidecar/egress-hosts",
            format!(
                "{}'s egress hosts import {} port {port}",
                client.meta.name, dest.fqdn
            ),
        ));
        return (
            Egress {
                listener: OutboundListener::Service,
                mode,
            },
            decided_by,
        );
    }
    // Another imported Service binding `0.0.0.0:<port>` with an HTTP connection manager.
    let wildcard = cache.wildcard_http(res, sc, client_ns).contains(&port);
    let listener = if wildcard {
        OutboundListener::WildcardHttp
    } else {
        OutboundListener::Virtual
    };
    decided_by.push(Decision::by(
        sc_ref.clone(),
        "sidecar/egress-hosts",
        format!(
            "no egress host of the Sidecar imports {} port {port}: {}'s sidecar has no listener, \
             route or cluster for it; {}",
            dest.fqdn,
            client.meta.name,
            if wildcard {
                format!(
                    "an imported HTTP Service binds 0.0.0.0:{port}, whose only matching virtual \
                     host is the catch-all"
                )
            } else {
                format!("no listener binds port {port}, so the virtual outbound listener takes it")
            }
        ),
    ));
    let policy = match sc.spec.outbound_traffic_policy {
        Some(_) => Decision::by(
            sc_ref,
            "sidecar/outbound-traffic-policy",
            format!("the Sidecar's outboundTrafficPolicy is {}", mode.as_str()),
        ),
        None => Decision::default(
            "sidecar/outbound-traffic-policy",
            format!(
                "the Sidecar sets no outboundTrafficPolicy: MeshConfig's {}",
                mode.as_str()
            ),
        ),
    };
    decided_by.push(policy);
    (Egress { listener, mode }, decided_by)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        SidecarEgress, SidecarOutboundTrafficPolicy, SidecarPort, SidecarSpec,
        SidecarWorkloadSelector, TargetPort,
    };
    use crate::policy::resolve_destination;
    use crate::policy::testing::{labels, meta, Fixture};
    use crate::vocab::HostPort;

    fn sidecar(
        ns: &str,
        name: &str,
        created: Option<i64>,
        selector: Option<&[(&str, &str)]>,
        egress: &[(Option<u32>, &[&str])],
        mode: Option<OutboundTrafficMode>,
    ) -> Sidecar {
        Sidecar {
            meta: meta(ns, name, created),
            spec: SidecarSpec {
                workload_selector: selector.map(|s| SidecarWorkloadSelector { labels: labels(s) }),
                egress: egress
                    .iter()
                    .map(|(port, hosts)| SidecarEgress {
                        port: port.map(|number| SidecarPort {
                            number,
                            ..SidecarPort::default()
                        }),
                        hosts: hosts.iter().map(|h| h.to_string()).collect(),
                        ..SidecarEgress::default()
                    })
                    .collect(),
                outbound_traffic_policy: mode.map(|mode| SidecarOutboundTrafficPolicy {
                    mode,
                    egress_proxy: None,
                }),
                ..SidecarSpec::default()
            },
        }
    }

    /// sleep in foo and bar; httpbin (HTTP 8000) in foo and bar; tcp-echo (TCP 9000) in foo.
    fn mesh(sidecars: Vec<Sidecar>) -> Fixture {
        let mut f = Fixture::new();
        f.namespace("foo").namespace("bar");
        for ns in ["foo", "bar"] {
            f.workload(ns, "sleep", &[("app", "sleep")]);
            f.workload(ns, "httpbin", &[("app", "httpbin")]);
            f.service(
                ns,
                "httpbin",
                &[("app", "httpbin")],
                &[("http", 8000, TargetPort::Number(80))],
            );
        }
        f.workload("foo", "tcp-echo", &[("app", "tcp-echo")]);
        f.service(
            "foo",
            "tcp-echo",
            &[("app", "tcp-echo")],
            &[("tcp", 9000, TargetPort::Number(9000))],
        );
        f.res.sidecars = sidecars;
        f
    }

    fn egress_of(f: &Fixture, from: (&str, &str), to: &str) -> Egress {
        let client = f.res.workload(from.0, from.1).expect("client");
        let to: HostPort = to.parse().expect("host:port");
        let dest = resolve_destination(&f.res, from.0, &to).expect("destination");
        client_egress(&f.res, client, &dest).0
    }

    #[test]
    fn the_applying_sidecar_is_the_selecting_one_then_the_namespace_one_then_the_root_one() {
        let root = || {
            sidecar(
                "istio-system",
                "root",
                Some(1),
                None,
                &[(None, &["./*"])],
                None,
            )
        };
        let ns = || sidecar("bar", "ns", Some(1), None, &[(None, &["*/*"])], None);
        let sel = |labels: &'static [(&'static str, &'static str)], created| {
            sidecar(
                "bar",
                "sel",
                created,
                Some(labels),
                &[(None, &["~/*"])],
                None,
            )
        };
        let cases: Vec<(&str, Vec<Sidecar>, Option<&str>)> = vec![
            ("none", vec![], None),
            ("root only", vec![root()], Some("root")),
            ("namespace over root", vec![root(), ns()], Some("ns")),
            (
                "selector over namespace",
                vec![root(), ns(), sel(&[("app", "sleep")], Some(9))],
                Some("sel"),
            ),
            (
                "a selector the pod lacks",
                vec![root(), ns(), sel(&[("app", "other")], Some(0))],
                Some("ns"),
            ),
            (
                "another namespace's Sidecar",
                vec![sidecar("foo", "x", None, None, &[(None, &["./*"])], None)],
                None,
            ),
        ];
        for (name, sidecars, want) in cases {
            let f = mesh(sidecars);
            let client = f.res.workload("bar", "sleep").expect("client");
            let got = sidecar_for(&f.res, client).map(|s| s.meta.name.as_str());
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn the_oldest_selector_less_sidecar_of_a_namespace_applies() {
        let f = mesh(vec![
            sidecar("bar", "b-new", Some(20), None, &[(None, &["./*"])], None),
            sidecar("bar", "a-old", Some(10), None, &[(None, &["./*"])], None),
        ]);
        let client = f.res.workload("bar", "sleep").expect("client");
        assert_eq!(
            sidecar_for(&f.res, client).map(|s| s.meta.name.as_str()),
            Some("a-old")
        );
    }

    #[test]
    fn egress_hosts_import_by_namespace_and_fqdn() {
        use OutboundListener::{Service, Virtual, WildcardHttp};
        // (hosts, destination from bar/sleep, expected listener)
        let cases: &[(&[&str], &str, OutboundListener)] = &[
            (&["*/*"], "httpbin.foo:8000", Service),
            (&["./*"], "httpbin.bar:8000", Service),
            (&["./*"], "httpbin.foo:8000", WildcardHttp),
            (&["./*"], "tcp-echo.foo:9000", Virtual),
            (&["foo/*"], "tcp-echo.foo:9000", Service),
            (
                &["foo/httpbin.foo.svc.cluster.local"],
                "httpbin.foo:8000",
                Service,
            ),
            (
                &["foo/httpbin.foo.svc.cluster.local"],
                "tcp-echo.foo:9000",
                Virtual,
            ),
            (&["*/*.foo.svc.cluster.local"], "tcp-echo.foo:9000", Service),
            (
                &["bar/*.foo.svc.cluster.local"],
                "tcp-echo.foo:9000",
                Virtual,
            ),
            (&["~/*"], "httpbin.bar:8000", Virtual),
            // A namespace's own entries that do not match fall back to the `*/` ones.
            (
                &[
                    "foo/httpbin.foo.svc.cluster.local",
                    "*/tcp-echo.foo.svc.cluster.local",
                ],
                "tcp-echo.foo:9000",
                Service,
            ),
        ];
        for (hosts, to, want) in cases {
            let f = mesh(vec![sidecar(
                "bar",
                "s",
                None,
                None,
                &[(None, hosts)],
                None,
            )]);
            let got = egress_of(&f, ("bar", "sleep"), to);
            assert_eq!(got.listener, *want, "{hosts:?} -> {to}");
        }
    }

    #[test]
    fn a_port_egress_listener_decides_its_port_and_the_catch_all_the_others() {
        let f = mesh(vec![sidecar(
            "bar",
            "s",
            None,
            None,
            &[(Some(9000), &["foo/*"]), (None, &["./*"])],
            None,
        )]);
        assert_eq!(
            egress_of(&f, ("bar", "sleep"), "tcp-echo.foo:9000").listener,
            OutboundListener::Service
        );
        assert_eq!(
            egress_of(&f, ("bar", "sleep"), "httpbin.foo:8000").listener,
            OutboundListener::WildcardHttp
        );
    }

    #[test]
    fn the_sidecars_policy_overrides_meshconfig_and_defaults_to_registry_only() {
        let cases: &[(
            Option<OutboundTrafficMode>,
            OutboundTrafficMode,
            OutboundTrafficMode,
        )] = &[
            (
                None,
                OutboundTrafficMode::AllowAny,
                OutboundTrafficMode::AllowAny,
            ),
            (
                None,
                OutboundTrafficMode::RegistryOnly,
                OutboundTrafficMode::RegistryOnly,
            ),
            (
                Some(OutboundTrafficMode::AllowAny),
                OutboundTrafficMode::RegistryOnly,
                OutboundTrafficMode::AllowAny,
            ),
            (
                Some(OutboundTrafficMode::RegistryOnly),
                OutboundTrafficMode::AllowAny,
                OutboundTrafficMode::RegistryOnly,
            ),
        ];
        for (sidecar_mode, mesh_mode, want) in cases {
            let mut f = mesh(vec![sidecar(
                "bar",
                "s",
                None,
                None,
                &[(None, &["./*"])],
                *sidecar_mode,
            )]);
            f.res.mesh_config.outbound_traffic_policy = *mesh_mode;
            assert_eq!(
                egress_of(&f, ("bar", "sleep"), "httpbin.foo:8000").mode,
                *want
            );
        }
        // A written policy without `mode` is the proto's zero value.
        let spec: SidecarOutboundTrafficPolicy = serde_yaml::from_str("{}").expect("yaml");
        assert_eq!(spec.mode, OutboundTrafficMode::RegistryOnly);
    }

    #[test]
    fn gateways_ignore_sidecars() {
        let mut f = mesh(vec![sidecar(
            "bar",
            "s",
            None,
            None,
            &[(None, &["~/*"])],
            None,
        )]);
        let i = f.workload("bar", "gw", &[("istio", "ingressgateway")]);
        f.res.workloads[i].role = WorkloadRole::Gateway;
        assert!(sidecar_for(&f.res, &f.res.workloads[i]).is_none());
    }
}
