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
//!   (`hostClassification.Matches`, `host.Name.SubsetOf`). No `egress` means `*/*`.
//! - policy: `initSidecarScopeInternalIndexes`: the Sidecar's `outboundTrafficPolicy` when set
//!   (its `mode` defaulting to the proto's REGISTRY_ONLY), else MeshConfig's.
//! - listeners: `buildSidecarOutboundListener` (`pilot/pkg/networking/core/listener.go`): an
//!   imported HTTP Service port binds `0.0.0.0:<port>`, a TCP or sniffed one the Service's own
//!   address; a connection no listener takes meets the virtual outbound listener.

use std::cmp::Ordering;

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

/// Whether one egress listener's `hosts` import `svc`, for a client in `client_ns`
/// (`selectServices`: the Service namespace's entries, else the `*` ones).
fn hosts_import(hosts: &[String], svc: &Service, client_ns: &str) -> bool {
    let fqdn = svc.fqdn();
    let matches_in = |wanted: &str| {
        hosts.iter().any(|h| {
            h.split_once('/').is_some_and(|(ns, name)| {
                let ns = if ns == "." { client_ns } else { ns };
                ns == wanted && host_matches(&fqdn, name)
            })
        })
    };
    matches_in(&svc.meta.namespace) || matches_in("*")
}

/// Whether `sidecar` imports port `port` of `svc` for a client in `client_ns`: the egress
/// listener for that port number when there is one, else the port-less (catch-all) listener.
pub fn imports(sidecar: Option<&Sidecar>, svc: &Service, port: u16, client_ns: &str) -> bool {
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
    listener.is_some_and(|e| hosts_import(&e.hosts, svc, client_ns))
}

/// The client sidecar's egress view of `dest`, with the decisions behind it.
pub fn client_egress(
    res: &Resources,
    client: &Workload,
    dest: &Destination,
) -> (Egress, Vec<Decision>) {
    let sidecar = sidecar_for(res, client);
    let mode = outbound_mode(res, sidecar);
    let client_ns = client.meta.namespace.as_str();
    let port = dest.port.port;
    let in_scope = res
        .service(dest.namespace(), &dest.service.name)
        .is_none_or(|svc| imports(sidecar, svc, port, client_ns));
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
    let wildcard = res.services.iter().any(|svc| {
        svc.ports.iter().any(|p| {
            p.port == port
                && p.istio_protocol().is_http()
                && imports(Some(sc), svc, port, client_ns)
        })
    });
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
