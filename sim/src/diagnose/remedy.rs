//! Machine-applicable remedies: for the findings whose fix is a change of resources, the
//! objects to `kubectl apply`. A restart is what `kubectl rollout restart` does — a new
//! `kubectl.kubernetes.io/restartedAt` pod-template annotation, so new pods (new agents, new
//! certificates, the current trust bundle) replace the old ones. Built from the Evidence only.

use crate::evidence::Evidence;
use crate::model::interception::OUTBOUND_ANNOTATIONS;
use crate::model::{
    ClientTls, ClientTlsMode, DestinationRule, Object, ObjectRef, TrafficPolicy, Workload,
};
use crate::policy::{client_tls_for_endpoint, resolve_destination, OutsideTls};
use crate::vocab::Kind;
use crate::vocab::{FindingCode, WorkloadRef};

use super::Finding;

/// `kubectl rollout restart`'s pod-template annotation.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// A change that should make the request succeed, as objects to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    /// What the change does, in one line.
    pub summary: String,
    /// The objects to apply (added or replaced, as `kubectl apply`).
    pub apply: Vec<Object>,
}

/// The machine-applicable remedy of `finding`, when its fix is a resource change.
pub fn fix_for(finding: &Finding, ev: &Evidence) -> Option<Fix> {
    match finding.code {
        FindingCode::PlaintextToStrict => {
            restore_outbound_capture(ev).or_else(|| inject_source(ev))
        }
        FindingCode::DestinationRuleTlsDisable
        | FindingCode::DestinationRuleTlsSimple
        | FindingCode::DestinationRuleTlsMutualExternal => {
            edit_destination_rules(ev, "drop the tls block", |_| None)
        }
        // A server outside the mesh that speaks TLS wants TLS the public PKI verifies: SIMPLE
        // against the system roots, not the mesh's.
        FindingCode::MtlsToNonMeshWorkload if to_outside_tls_server(ev) => {
            edit_destination_rules(ev, "originate TLS with SIMPLE (system roots)", |_| {
                Some(ClientTls {
                    mode: ClientTlsMode::Simple,
                    ..ClientTls::default()
                })
            })
        }
        FindingCode::UntrustedPeerCertificate if to_outside_tls_server(ev) => {
            edit_destination_rules(ev, "drop caCertificates (system roots)", |tls| {
                Some(ClientTls {
                    ca_certificates: None,
                    ..tls.clone()
                })
            })
        }
        FindingCode::MtlsToNonMeshWorkload | FindingCode::MtlsToDisabledServer => {
            // A server whose PeerAuthentication says DISABLE takes plaintext even where its
            // sidecar captures the port.
            let everywhere = finding.code == FindingCode::MtlsToDisabledServer;
            edit_destination_rules(ev, "drop the tls block", |_| None)
                .filter(|fix| plaintext_after(ev, &fix.apply, everywhere))
                .or_else(|| plaintext_rule(ev, everywhere))
        }
        FindingCode::ServerIdentityMismatch => {
            edit_destination_rules(ev, "drop subjectAltNames", |tls| {
                let mut tls = tls.clone();
                tls.subject_alt_names.clear();
                Some(tls)
            })
        }
        FindingCode::WorkloadCertMissing
        | FindingCode::WorkloadCertExpired
        | FindingCode::RootCertMismatch
        | FindingCode::UntrustedPeerCertificate => restart_involved(ev),
        _ => None,
    }
}

/// Whether the request's destination is a server outside the mesh that terminates TLS
/// ([`OutsideTls::Terminates`]), read from the configuration in the evidence.
fn to_outside_tls_server(ev: &Evidence) -> bool {
    resolve_destination(
        &ev.resources,
        ev.request.from.namespace.as_str(),
        &ev.request.to,
    )
    .is_ok_and(|d| {
        d.endpoints
            .iter()
            .any(|e| e.external.as_ref().map(|o| o.tls) == Some(OutsideTls::Terminates))
    })
}

fn workload_of<'e>(ev: &'e Evidence, proxy: &WorkloadRef) -> Option<&'e Workload> {
    ev.resources.workload(&proxy.namespace, &proxy.name)
}

fn restarted(w: &Workload, ev: &Evidence) -> Workload {
    let mut w = w.clone();
    w.pod_annotations
        .insert(RESTARTED_AT.into(), ev.mesh_time.to_string());
    // New pods replace the dumped ones, and admission (injection) runs on them again.
    w.pods.clear();
    w
}

/// Label the source's namespace for injection (and drop a pod-level opt-out), then restart it.
fn inject_source(ev: &Evidence) -> Option<Fix> {
    let w = workload_of(ev, &ev.request.from)?;
    let mut res = ev.resources.clone();
    let mut apply = Vec::new();
    let mut ns = res.namespace(&w.meta.namespace)?.clone();
    if ns.meta.labels.get("istio-injection").map(String::as_str) != Some("enabled") {
        ns.meta
            .labels
            .insert("istio-injection".into(), "enabled".into());
        apply.push(Object::Namespace(ns.clone()));
        res.insert(Object::Namespace(ns));
    }
    let mut nw = restarted(w, ev);
    for map in [&mut nw.pod_labels, &mut nw.pod_annotations] {
        if map.get("sidecar.istio.io/inject").map(String::as_str) == Some("false") {
            map.remove("sidecar.istio.io/inject");
        }
    }
    // Outbound capture annotations would keep the new sidecar out of this very connection.
    let excluded = OUTBOUND_ANNOTATIONS
        .iter()
        .any(|a| nw.pod_annotations.contains_key(*a));
    if excluded {
        nw.edit_pod_annotations(|annotations| {
            for a in OUTBOUND_ANNOTATIONS {
                annotations.remove(a);
            }
        })
        .ok()?;
    }
    res.insert(Object::Workload(nw.clone()));
    if !res.has_sidecar(&nw) {
        return None;
    }
    apply.push(Object::Workload(nw));
    Some(Fix {
        summary: format!(
            "enable sidecar injection for {} (namespace label istio-injection=enabled{}) and restart it",
            ev.request.from,
            if excluded {
                ", without its traffic.sidecar.istio.io outbound capture annotations"
            } else {
                ""
            }
        ),
        apply,
    })
}

/// The source has a sidecar that its `traffic.sidecar.istio.io/*` outbound annotations keep out
/// of the connection: drop those annotations (the install's defaults capture everything) and
/// restart it.
fn restore_outbound_capture(ev: &Evidence) -> Option<Fix> {
    let w = workload_of(ev, &ev.request.from)?;
    if !ev.resources.has_sidecar(w)
        || !OUTBOUND_ANNOTATIONS
            .iter()
            .any(|a| w.pod_annotations.contains_key(*a))
    {
        return None;
    }
    let mut nw = restarted(w, ev);
    nw.edit_pod_annotations(|annotations| {
        for a in OUTBOUND_ANNOTATIONS {
            annotations.remove(a);
        }
    })
    .ok()?;
    Some(Fix {
        summary: format!(
            "drop the traffic.sidecar.istio.io outbound capture annotations of {} and restart it",
            ev.request.from
        ),
        apply: vec![Object::Workload(nw)],
    })
}

/// The DestinationRules that decided the client TLS for any endpoint of the destination.
fn rules_on_path(ev: &Evidence) -> Vec<ObjectRef> {
    let res = &ev.resources;
    let Some(from) = workload_of(ev, &ev.request.from) else {
        return Vec::new();
    };
    let Ok(dest) = resolve_destination(res, &from.meta.namespace, &ev.request.to) else {
        return Vec::new();
    };
    let mut out: Vec<ObjectRef> = dest
        .endpoints
        .iter()
        .flat_map(|ep| client_tls_for_endpoint(res, from, &dest, ep).decided_by)
        .filter_map(|d| d.resource)
        .filter(|r| r.kind == Kind::DestinationRule)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Rewrites every `tls` block of the DestinationRules on the path with `edit`.
fn edit_destination_rules(
    ev: &Evidence,
    what: &str,
    edit: impl Fn(&ClientTls) -> Option<ClientTls>,
) -> Option<Fix> {
    let refs = rules_on_path(ev);
    let rules: Vec<&DestinationRule> = ev
        .resources
        .destination_rules
        .iter()
        .filter(|d| {
            refs.iter()
                .any(|r| r.namespace == d.meta.namespace && r.name == d.meta.name)
        })
        .collect();
    if rules.is_empty() {
        return None;
    }
    let fix_policy = |p: &mut TrafficPolicy| {
        p.tls = p.tls.as_ref().and_then(&edit);
        for port in &mut p.port_level_settings {
            port.tls = port.tls.as_ref().and_then(&edit);
        }
    };
    let mut names = Vec::new();
    let apply = rules
        .into_iter()
        .map(|d| {
            let mut d = d.clone();
            if let Some(p) = d.spec.traffic_policy.as_mut() {
                fix_policy(p);
            }
            for s in &mut d.spec.subsets {
                if let Some(p) = s.traffic_policy.as_mut() {
                    fix_policy(p);
                }
            }
            names.push(format!(
                "DestinationRule/{}/{}",
                d.meta.namespace, d.meta.name
            ));
            Object::DestinationRule(d)
        })
        .collect();
    Some(Fix {
        summary: format!("{what} of {}", names.join(", ")),
        apply,
    })
}

/// `kubectl rollout restart` of every involved workload that runs a sidecar.
fn restart_involved(ev: &Evidence) -> Option<Fix> {
    let mut names = Vec::new();
    let mut apply = Vec::new();
    for p in ev.proxies.iter().filter(|p| p.has_sidecar) {
        if names.contains(&p.proxy) {
            continue;
        }
        let proxy: Option<WorkloadRef> = p.proxy.parse().ok();
        if let Some(w) = proxy.and_then(|r| workload_of(ev, &r)) {
            names.push(p.proxy.clone());
            apply.push(Object::Workload(restarted(w, ev)));
        }
    }
    (!apply.is_empty()).then(|| Fix {
        summary: format!("kubectl rollout restart {}", names.join(" ")),
        apply,
    })
}

/// Whether, with `apply` applied, the source reaches every endpoint of the destination in
/// plaintext or (unless `everywhere`) through a sidecar that captures the port (dropping a rule's tls block hands the
/// choice back to auto mTLS, which still sends mTLS to a pod that has a sidecar, even one that
/// does not capture the target port: `cluster_builder.go` `buildAutoMtlsSettings`).
fn plaintext_after(ev: &Evidence, apply: &[Object], everywhere: bool) -> bool {
    let mut res = ev.resources.clone();
    for o in apply {
        res.insert(o.clone());
    }
    let Some(from) = res.workload(&ev.request.from.namespace, &ev.request.from.name) else {
        return false;
    };
    let Ok(dest) = resolve_destination(&res, &from.meta.namespace, &ev.request.to) else {
        return false;
    };
    dest.endpoints.iter().all(|ep| {
        (ep.intercepted && !everywhere)
            || client_tls_for_endpoint(&res, from, &dest, ep).mode == ClientTlsMode::Disable
    })
}

/// A DestinationRule in the caller's namespace (which takes precedence over the service's and
/// the root namespace's, `pilot/pkg/model/destination_rule.go`) for exactly this host and port,
/// with `tls.mode: DISABLE`: the caller sends plaintext to a server that takes no mTLS there.
fn plaintext_rule(ev: &Evidence, everywhere: bool) -> Option<Fix> {
    let from = workload_of(ev, &ev.request.from)?;
    let dest = resolve_destination(&ev.resources, &from.meta.namespace, &ev.request.to).ok()?;
    let name = format!("{}-{}-plaintext", dest.service.name, dest.port.port);
    let rule = DestinationRule {
        meta: crate::model::Meta {
            name: name.clone(),
            namespace: from.meta.namespace.clone(),
            ..Default::default()
        },
        spec: crate::model::DestinationRuleSpec {
            host: dest.fqdn.clone(),
            traffic_policy: Some(TrafficPolicy {
                port_level_settings: vec![crate::model::PortTrafficPolicy {
                    port: Some(crate::model::PortSelector {
                        number: u32::from(dest.port.port),
                    }),
                    tls: Some(ClientTls {
                        mode: ClientTlsMode::Disable,
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        },
    };
    let apply = vec![Object::DestinationRule(rule)];
    plaintext_after(ev, &apply, everywhere).then(|| Fix {
        summary: format!(
            "add DestinationRule/{}/{name}: tls.mode DISABLE for {} port {} from namespace {}",
            from.meta.namespace, dest.fqdn, dest.port.port, from.meta.namespace
        ),
        apply,
    })
}
