//! Static findings read from configuration alone (`meshsim check`): PeerAuthentication conflicts,
//! selectors that select nothing, STRICT overridden below the mesh, DestinationRules whose host
//! matches no Service. Codes and remedies follow `failure-modes.md`; order is deterministic.

use crate::vocab::Kind;
use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use crate::model::{
    AuthorizationPolicy, AuthzAction, AuthzRule, Meta, MtlsMode, ObjectRef, PeerAuthentication,
    Resources, TargetPort, WarningKind, Workload,
};
use crate::policy::authz::AuthzIndex;
use crate::policy::decision::object_ref;
use crate::policy::destination_rule::{most_specific_host_match, resolve_short_host};
use crate::policy::peer_authn::creation_order;
use crate::policy::routing::{service_selects, target_port_of};
use crate::vocab::FindingCode;

use super::{Finding, Severity};

/// Every static finding for a resource set, grouped by code, each group in namespace/name order.
pub fn static_findings(res: &Resources) -> Vec<Finding> {
    let mut out = conflicting_peer_authentications(res);
    out.extend(peer_authentication_selects_nothing(res));
    out.extend(strict_overridden(res));
    out.extend(destination_rule_not_applied(res));
    out.extend(allow_shadowed_by_deny(res));
    out.extend(authorization_policy_selects_nothing(res));
    out.extend(port_level_mtls_port_unused(res));
    out.extend(super::http_fields_on_tcp::http_fields_on_tcp_ports(res));
    out
}

/// One Info `UnmodelledField` per field, kind or annotation the loader read but meshsim does not
/// model (failure-modes.md group G), in file and line order: `check` lists what it ignored.
/// The message is the loader warning's, so `check` can point at the warning's line.
pub fn unmodelled_fields(res: &Resources) -> Vec<Finding> {
    let mut notes: Vec<_> = res
        .warnings
        .iter()
        .filter_map(|w| w.unmodelled.as_ref().map(|u| (&w.origin, u)))
        .collect();
    notes.sort();
    notes.dedup();
    notes
        .into_iter()
        .map(|(origin, u)| Finding {
            code: FindingCode::UnmodelledField,
            severity: Severity::Info,
            message: u.message(),
            evidence: vec![format!("{origin}: {} {} {}", u.subject, u.object, u.field)
                .trim_end()
                .to_string()],
            remedy: "check this behaviour on a cluster, or remove the field if it is not needed"
                .into(),
        })
        .collect()
}

/// The code, severity and remedy of a loader warning that is not an unmodelled field.
fn loader_code(kind: WarningKind) -> Option<(FindingCode, Severity, &'static str)> {
    Some(match kind {
        WarningKind::UnknownField => (
            FindingCode::UnknownField,
            Severity::Warning,
            "fix the field's spelling or indentation: the API server drops unknown fields, so \
             the setting it was meant to carry does not apply",
        ),
        WarningKind::Replaced => (
            FindingCode::ObjectReplaced,
            Severity::Warning,
            "keep one definition per kind, namespace and name: only the last one applies",
        ),
        WarningKind::Skipped => (
            FindingCode::ObjectSkipped,
            Severity::Info,
            "nothing to do if the object does not affect mTLS or authorization; meshsim's \
             answers ignore it",
        ),
        WarningKind::Validation => (
            FindingCode::ValidationWarning,
            Severity::Warning,
            "change the value Istio's validation warns about",
        ),
        WarningKind::Unmodelled => return None,
    })
}

/// One finding per loader warning other than unmodelled fields (those are
/// [`unmodelled_fields`]), in file and line order: unknown fields (`UnknownField`), skipped
/// documents and kinds (`ObjectSkipped`), replaced objects (`ObjectReplaced`) and Istio
/// validation warnings (`ValidationWarning`). The message is the warning's and the first
/// evidence line its `file:line`, so `check` can point at it.
pub fn loader_findings(res: &Resources) -> Vec<Finding> {
    let mut notes: Vec<_> = res
        .warnings
        .iter()
        .filter(|w| w.unmodelled.is_none())
        .filter_map(|w| loader_code(w.kind).map(|c| (&w.origin, &w.message, c)))
        .collect();
    notes.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    notes.dedup_by(|a, b| (a.0, a.1) == (b.0, b.1));
    notes
        .into_iter()
        .map(|(origin, message, (code, severity, remedy))| Finding {
            code,
            severity,
            message: message.clone(),
            evidence: vec![origin.to_string()],
            remedy: remedy.into(),
        })
        .collect()
}

/// `NothingLoaded` (an error) when the inputs hold no namespace, workload, Service, service
/// account or Istio policy: a wrong path or a folder of other kinds would otherwise pass a check
/// with "no findings".
pub fn nothing_loaded(res: &Resources, inputs: &[String]) -> Option<Finding> {
    let empty = res.namespaces.is_empty()
        && res.service_accounts.is_empty()
        && res.workloads.is_empty()
        && res.services.is_empty()
        && res.peer_authentications.is_empty()
        && res.destination_rules.is_empty()
        && res.authorization_policies.is_empty();
    empty.then(|| Finding {
        code: FindingCode::NothingLoaded,
        severity: Severity::Error,
        message: format!(
            "nothing was loaded from {}: no namespace, workload, Service, service account or Istio \
             policy",
            inputs.join(", ")
        ),
        evidence: vec![format!(
            "{} loader note(s); skipped documents are listed as ObjectSkipped",
            res.warnings.len()
        )],
        remedy: "name the files or folders that hold the manifests (.yaml, .yml or .json)".into(),
    })
}

/// What a PeerAuthentication targets: its namespace and non-empty selector (`None` = wide).
type Target = (String, Option<BTreeMap<String, String>>);

fn created(meta: &Meta) -> String {
    match meta.creation_timestamp {
        Some(t) if t >= 0 => {
            humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(t as u64))
                .to_string()
        }
        Some(t) => format!("{t} (Unix seconds)"),
        None => "no creationTimestamp".into(),
    }
}

fn mode_of(pa: &PeerAuthentication) -> MtlsMode {
    pa.spec.mtls.as_ref().map(|m| m.mode).unwrap_or_default()
}

fn selector_of(pa: &PeerAuthentication) -> Option<&BTreeMap<String, String>> {
    pa.spec
        .selector
        .as_ref()
        .map(|s| &s.match_labels)
        .filter(|l| !l.is_empty())
}

fn pa_line(pa: &PeerAuthentication) -> String {
    let scope = match selector_of(pa) {
        Some(sel) => format!("selector {}", labels_str(sel)),
        None => "no selector".into(),
    };
    format!(
        "PeerAuthentication {}/{}: {scope}, mtls.mode {}, created {}",
        pa.meta.namespace,
        pa.meta.name,
        mode_of(pa).as_str(),
        created(&pa.meta)
    )
}

fn labels_str(l: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", parts.join(","))
}

/// Two or more policies at one level for the same target: only the oldest applies.
fn conflicting_peer_authentications(res: &Resources) -> Vec<Finding> {
    let root = &res.mesh_config.root_namespace;
    // (namespace, selector) -> policies; `None` selector = namespace- or mesh-wide.
    let mut groups: BTreeMap<Target, Vec<&PeerAuthentication>> = BTreeMap::new();
    for pa in &res.peer_authentications {
        let sel = selector_of(pa).cloned();
        if sel.is_some() && &pa.meta.namespace == root {
            continue; // ignored anyway; reported as selecting nothing
        }
        groups
            .entry((pa.meta.namespace.clone(), sel))
            .or_default()
            .push(pa);
    }
    let mut out = Vec::new();
    for ((ns, sel), mut pas) in groups {
        if pas.len() < 2 {
            continue;
        }
        pas.sort_by(|a, b| creation_order(&a.meta, &b.meta));
        let level = match (&sel, &ns == root) {
            (None, true) => "mesh-wide".to_string(),
            (None, false) => format!("namespace-wide in {ns}"),
            (Some(s), _) => format!("workload-level in {ns} with selector {}", labels_str(s)),
        };
        let ignored: Vec<String> = pas[1..].iter().map(|p| p.meta.name.clone()).collect();
        out.push(Finding {
            code: FindingCode::ConflictingPeerAuthentications,
            severity: Severity::Warning,
            message: format!(
                "{} {level} PeerAuthentications: only the oldest, {}, applies; {} ignored",
                pas.len(),
                pas[0].meta.name,
                ignored.join(", ")
            ),
            evidence: pas.iter().map(|p| pa_line(p)).collect(),
            remedy: format!(
                "delete the ignored PeerAuthentication(s) {} in {ns}, or merge them into {}",
                ignored.join(", "),
                pas[0].meta.name
            ),
        });
    }
    out
}

/// Selector policies that reach no pod: a selector in the root namespace (Istio ignores it) or a
/// selector no workload in the namespace matches.
/// `items` in (namespace, name) order: findings come out the same whatever order the files were
/// loaded in.
pub(super) fn in_name_order<T>(items: &[T], meta: impl Fn(&T) -> &Meta) -> Vec<&T> {
    let mut sorted: Vec<&T> = items.iter().collect();
    sorted.sort_by(|a, b| {
        let (a, b) = (meta(a), meta(b));
        (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name))
    });
    sorted
}

fn peer_authentication_selects_nothing(res: &Resources) -> Vec<Finding> {
    let root = &res.mesh_config.root_namespace;
    let pas = in_name_order(&res.peer_authentications, |o| &o.meta);
    let mut out = Vec::new();
    for pa in pas {
        let Some(sel) = selector_of(pa) else { continue };
        let sel_text = labels_str(sel);
        if &pa.meta.namespace == root {
            out.push(Finding {
                code: FindingCode::PeerAuthenticationSelectsNothing,
                severity: Severity::Warning,
                message: format!(
                    "PeerAuthentication {}/{} has a selector in the root namespace; Istio ignores it \
                     (it does not become mesh-wide)",
                    pa.meta.namespace, pa.meta.name
                ),
                evidence: vec![pa_line(pa), format!("root namespace is {root}")],
                remedy: format!(
                    "move it to the namespace of the workloads labelled {sel_text}, or drop the \
                     selector to make it mesh-wide"
                ),
            });
            continue;
        }
        let in_ns: Vec<_> = res
            .workloads
            .iter()
            .filter(|w| w.meta.namespace == pa.meta.namespace)
            .collect();
        if in_ns.iter().any(|w| w.has_labels(sel)) {
            continue;
        }
        let mut evidence = vec![pa_line(pa)];
        evidence.extend(in_ns.iter().map(|w| {
            format!(
                "{} {}/{}: pod labels {}",
                w.kind.as_str(),
                w.meta.namespace,
                w.meta.name,
                labels_str(&w.pod_labels)
            )
        }));
        if in_ns.is_empty() {
            evidence.push(format!("no workloads in namespace {}", pa.meta.namespace));
        }
        out.push(Finding {
            code: FindingCode::PeerAuthenticationSelectsNothing,
            severity: Severity::Warning,
            message: format!(
                "PeerAuthentication {}/{} selects {sel_text}, which no pod in {} carries; its mode \
                 does not apply anywhere",
                pa.meta.namespace, pa.meta.name, pa.meta.namespace
            ),
            evidence,
            remedy: "fix the selector or the pod labels so they match".into(),
        });
    }
    out
}

/// Mesh-wide STRICT overridden by a namespace, workload or port-level policy that allows
/// plaintext (a security finding: plaintext is accepted where the mesh says STRICT).
fn strict_overridden(res: &Resources) -> Vec<Finding> {
    let root = &res.mesh_config.root_namespace;
    let Some(mesh) = res
        .peer_authentications
        .iter()
        .filter(|pa| &pa.meta.namespace == root && selector_of(pa).is_none())
        .min_by(|a, b| creation_order(&a.meta, &b.meta))
    else {
        return Vec::new();
    };
    if mode_of(mesh) != MtlsMode::Strict {
        return Vec::new();
    }
    // The winning policy per (namespace, selector) group; ignored ones cannot override.
    let mut winners: BTreeMap<Target, &PeerAuthentication> = BTreeMap::new();
    for pa in res
        .peer_authentications
        .iter()
        .filter(|pa| &pa.meta.namespace != root)
    {
        let key = (pa.meta.namespace.clone(), selector_of(pa).cloned());
        let slot = winners.entry(key).or_insert(pa);
        if creation_order(&pa.meta, &slot.meta).is_lt() {
            *slot = pa;
        }
    }
    let weak = |m: MtlsMode| matches!(m, MtlsMode::Permissive | MtlsMode::Disable);
    let mut out = Vec::new();
    for pa in winners.values() {
        let mut what = Vec::new();
        if weak(mode_of(pa)) {
            what.push(format!("mode {}", mode_of(pa).as_str()));
        }
        if selector_of(pa).is_some() {
            for (port, m) in pa.spec.port_level_mtls.iter().flatten() {
                if weak(m.mode) {
                    what.push(format!("target port {port} {}", m.mode.as_str()));
                }
            }
        }
        if what.is_empty() {
            continue;
        }
        let scope = match selector_of(pa) {
            Some(s) => format!("workloads {} in {}", labels_str(s), pa.meta.namespace),
            None => format!("namespace {}", pa.meta.namespace),
        };
        out.push(Finding {
            code: FindingCode::StrictOverridden,
            severity: Severity::Warning,
            message: format!(
                "mesh-wide STRICT is overridden for {scope} by PeerAuthentication {}/{} ({}): \
                 plaintext is accepted there",
                pa.meta.namespace,
                pa.meta.name,
                what.join(", ")
            ),
            evidence: vec![pa_line(mesh), pa_line(pa)],
            remedy: format!(
                "remove PeerAuthentication {}/{} or set it to STRICT once every client has a sidecar",
                pa.meta.namespace, pa.meta.name
            ),
        });
    }
    out
}

/// DestinationRules whose host (short names resolved in the rule's namespace) matches no Service.
fn destination_rule_not_applied(res: &Resources) -> Vec<Finding> {
    let fqdns: Vec<String> = res.services.iter().map(|s| s.fqdn()).collect();
    let drs = in_name_order(&res.destination_rules, |o| &o.meta);
    let mut out = Vec::new();
    for dr in drs {
        let host = resolve_short_host(&dr.spec.host, &dr.meta.namespace);
        if fqdns
            .iter()
            .any(|f| most_specific_host_match(f, std::iter::once(host.as_str())).is_some())
        {
            continue;
        }
        let mut evidence = vec![format!(
            "DestinationRule {}/{}: host {:?} resolves to {host}",
            dr.meta.namespace, dr.meta.name, dr.spec.host
        )];
        // Point at the Service the author probably meant.
        let first = dr.spec.host.split('.').next().unwrap_or("");
        let near: Vec<&String> = fqdns
            .iter()
            .filter(|f| f.split('.').next() == Some(first))
            .collect();
        if near.is_empty() {
            evidence.push("no Service has that name in any namespace".into());
        } else {
            evidence.extend(near.iter().map(|f| format!("Service with that name: {f}")));
        }
        out.push(Finding {
            code: FindingCode::DestinationRuleNotApplied,
            severity: Severity::Warning,
            message: format!(
                "DestinationRule {}/{} host {host} matches no Service; its settings apply to nothing",
                dr.meta.namespace, dr.meta.name
            ),
            evidence,
            remedy: match near.first() {
                Some(f) => format!("set host to the Service's FQDN, e.g. {f}"),
                None => "set host to an existing Service's FQDN (<svc>.<ns>.svc.cluster.local)".into(),
            },
        });
    }
    out
}

/// A rule with no `from`, `to` or `when` constraint matches every request.
fn matches_everything(rule: &AuthzRule) -> bool {
    rule.from.as_ref().is_none_or(Vec::is_empty)
        && rule.to.as_ref().is_none_or(Vec::is_empty)
        && rule.when.as_ref().is_none_or(Vec::is_empty)
}

/// ALLOW policies that can never take effect because a DENY rule that matches every request
/// applies to the same workloads (a DENY is final; an ALLOW cannot override it).
fn allow_shadowed_by_deny(res: &Resources) -> Vec<Finding> {
    let index = AuthzIndex::build(res);
    // (deny policy, deny rule, allow policy) -> workloads
    let mut pairs: BTreeMap<(ObjectRef, usize, ObjectRef), Vec<String>> = BTreeMap::new();
    for w in &res.workloads {
        let applicable = index.applicable(res, w);
        let deny_all = applicable.iter().find_map(|(p, _)| {
            (p.spec.action == AuthzAction::Deny)
                .then(|| p.spec.rules.iter().flatten().position(matches_everything))
                .flatten()
                .map(|i| (p, i))
        });
        let Some((deny, rule)) = deny_all else {
            continue;
        };
        for (allow, _) in applicable
            .iter()
            .filter(|(p, _)| p.spec.action == AuthzAction::Allow)
        {
            pairs
                .entry((
                    object_ref(Kind::AuthorizationPolicy, &deny.meta),
                    rule,
                    object_ref(Kind::AuthorizationPolicy, &allow.meta),
                ))
                .or_default()
                .push(format!("{}/{}", w.meta.namespace, w.meta.name));
        }
    }
    pairs
        .into_iter()
        .map(|((deny, rule, allow), workloads)| Finding {
            code: FindingCode::AllowShadowedByDeny,
            severity: Severity::Warning,
            message: format!(
                "ALLOW policy {}/{} can never take effect: DENY policy {}/{} rule[{rule}] matches \
                 every request to the same workloads, and a DENY is final",
                allow.namespace, allow.name, deny.namespace, deny.name
            ),
            evidence: vec![
                format!(
                    "AuthorizationPolicy {}/{}: action DENY, rule[{rule}] has no from, to or when",
                    deny.namespace, deny.name
                ),
                format!("AuthorizationPolicy {}/{}: action ALLOW", allow.namespace, allow.name),
                format!("workloads both select: {}", workloads.join(", ")),
            ],
            remedy: format!(
                "narrow DENY policy {}/{} (add from/to/when, e.g. notPrincipals or notNamespaces for \
                 the callers the ALLOW admits) or delete it; an ALLOW policy cannot override a DENY",
                deny.namespace, deny.name
            ),
        })
        .collect()
}

fn selector_of_ap(ap: &AuthorizationPolicy) -> Option<&BTreeMap<String, String>> {
    ap.spec
        .selector
        .as_ref()
        .map(|s| &s.match_labels)
        .filter(|l| !l.is_empty())
}

fn workload_line(w: &Workload) -> String {
    format!(
        "{} {}/{}: pod labels {}",
        w.kind.as_str(),
        w.meta.namespace,
        w.meta.name,
        labels_str(&w.pod_labels)
    )
}

/// AuthorizationPolicies that reach no pod, following Istio's `ListAuthorizationPolicies`
/// (`pilot/pkg/model/authorization.go`): a policy applies to workloads of its own namespace, and
/// one in the root namespace (`meshConfig.rootNamespace`) to workloads of every namespace, so a
/// root-namespace selector selects nothing only when no pod in any namespace matches. A
/// namespace-wide policy (no selector) selects nothing when its namespace holds no workload;
/// that is judged only when the configuration holds workloads at all (a folder of policies alone
/// says nothing about the cluster's pods). Policies with `targetRef`/`targetRefs` attach to a
/// Gateway, waypoint or Service, which meshsim does not model: they are never reported here.
fn authorization_policy_selects_nothing(res: &Resources) -> Vec<Finding> {
    let root = &res.mesh_config.root_namespace;
    let aps = in_name_order(&res.authorization_policies, |o| &o.meta);
    let mut out = Vec::new();
    for ap in aps {
        let targeted = ap.spec.target_ref.is_some()
            || ap.spec.target_refs.as_ref().is_some_and(|t| !t.is_empty());
        if targeted {
            continue;
        }
        let in_root = &ap.meta.namespace == root;
        let reachable: Vec<&Workload> = res
            .workloads
            .iter()
            .filter(|w| in_root || w.meta.namespace == ap.meta.namespace)
            .collect();
        let action = ap.spec.action.as_str();
        let ap_line = |scope: String| {
            format!(
                "AuthorizationPolicy {}/{}: {scope}, action {action}",
                ap.meta.namespace, ap.meta.name
            )
        };
        let Some(sel) = selector_of_ap(ap) else {
            if in_root || res.workloads.is_empty() || !reachable.is_empty() {
                continue;
            }
            out.push(Finding {
                code: FindingCode::AuthorizationPolicySelectsNothing,
                severity: Severity::Warning,
                message: format!(
                    "AuthorizationPolicy {}/{} applies to namespace {}, which has no workloads; \
                     its {action} rules apply to nothing",
                    ap.meta.namespace, ap.meta.name, ap.meta.namespace
                ),
                evidence: vec![
                    ap_line("no selector".into()),
                    format!("no workloads in namespace {}", ap.meta.namespace),
                ],
                remedy: "move the policy to the namespace of the workloads it is meant for".into(),
            });
            continue;
        };
        if reachable.iter().any(|w| w.has_labels(sel)) {
            continue;
        }
        let sel_text = labels_str(sel);
        let mut evidence = vec![ap_line(format!("selector {sel_text}"))];
        let where_ = if in_root {
            evidence.push(format!(
                "root namespace is {root}: its selector policies apply in every namespace"
            ));
            "any namespace".to_string()
        } else {
            ap.meta.namespace.clone()
        };
        evidence.extend(reachable.iter().map(|w| workload_line(w)));
        if reachable.is_empty() {
            evidence.push(if in_root {
                "no workloads in any namespace".into()
            } else {
                format!("no workloads in namespace {}", ap.meta.namespace)
            });
        }
        out.push(Finding {
            code: FindingCode::AuthorizationPolicySelectsNothing,
            severity: Severity::Warning,
            message: format!(
                "AuthorizationPolicy {}/{} selects {sel_text}, which no pod in {where_} carries; \
                 its {action} rules apply to nothing",
                ap.meta.namespace, ap.meta.name
            ),
            evidence,
            remedy: "fix the selector or the pod labels so they match, or move the policy to the \
                     workloads' namespace"
                .into(),
        });
    }
    out
}

/// `portLevelMtls` ports that no selected pod serves. Istio keys the per-port mode by the
/// endpoint (target) port: `GetMutualTLSModeForPort(endpointPort)` in
/// `pilot/pkg/security/authn/policy_applier.go`, called with the inbound listener's endpoint
/// port. A port counts as served when a selected pod declares it as a `containerPort`, or a
/// Service that selects the pod forwards to it (`targetPort`, a number or a named container
/// port); pods need not declare their ports, so a Service's target port is enough. Policies in
/// the root namespace or without a selector are left out (Istio ignores or rejects them, and
/// other findings say so), as are policies that select no pod.
fn port_level_mtls_port_unused(res: &Resources) -> Vec<Finding> {
    let root = &res.mesh_config.root_namespace;
    let pas = in_name_order(&res.peer_authentications, |o| &o.meta);
    let mut out = Vec::new();
    for pa in pas {
        let (Some(sel), Some(ports)) = (selector_of(pa), pa.spec.port_level_mtls.as_ref()) else {
            continue;
        };
        if &pa.meta.namespace == root {
            continue;
        }
        let selected: Vec<&Workload> = res
            .workloads
            .iter()
            .filter(|w| w.meta.namespace == pa.meta.namespace && w.has_labels(sel))
            .collect();
        if selected.is_empty() {
            continue;
        }
        let mut services: Vec<_> = res
            .services
            .iter()
            .filter(|s| selected.iter().any(|w| service_selects(s, w)))
            .collect();
        services.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
        for (port, mtls) in ports {
            let declared = selected
                .iter()
                .any(|w| w.ports.iter().any(|c| u32::from(c.port) == *port));
            let targeted = services.iter().any(|s| {
                s.ports.iter().any(|p| {
                    selected.iter().any(|w| {
                        service_selects(s, w) && target_port_of(p, w).map(u32::from) == Some(*port)
                    })
                })
            });
            if declared || targeted {
                continue;
            }
            let mut evidence = vec![pa_line(pa)];
            for w in &selected {
                let cps: Vec<String> = w.ports.iter().map(|c| c.port.to_string()).collect();
                evidence.push(format!(
                    "{} {}/{}: container ports {}",
                    w.kind.as_str(),
                    w.meta.namespace,
                    w.meta.name,
                    if cps.is_empty() {
                        "none declared".into()
                    } else {
                        cps.join(", ")
                    }
                ));
            }
            let mut service_port = None;
            for s in &services {
                for p in &s.ports {
                    let target = match &p.target_port {
                        TargetPort::Number(n) => n.to_string(),
                        TargetPort::Name(n) => n.clone(),
                    };
                    evidence.push(format!(
                        "Service {}/{}: port {} -> targetPort {target}",
                        s.meta.namespace, s.meta.name, p.port
                    ));
                    if u32::from(p.port) == *port && service_port.is_none() {
                        service_port = selected
                            .iter()
                            .find_map(|w| target_port_of(p, w))
                            .map(|t| (s.meta.name.clone(), t));
                    }
                }
            }
            let hint = match &service_port {
                Some((svc, t)) => format!(
                    "; {port} is Service {svc}'s port, whose target port is {t}, and portLevelMtls \
                     is keyed by the target port"
                ),
                None => String::new(),
            };
            out.push(Finding {
                code: FindingCode::PortLevelMtlsPortUnused,
                severity: Severity::Warning,
                message: format!(
                    "PeerAuthentication {}/{} sets portLevelMtls {port} to {}, but no pod it \
                     selects serves port {port}{hint}: the port-level mode applies nowhere",
                    pa.meta.namespace,
                    pa.meta.name,
                    mtls.mode.as_str()
                ),
                evidence,
                remedy: match &service_port {
                    Some((_, t)) => format!("key portLevelMtls by the target port {t}, not {port}"),
                    None => {
                        "key portLevelMtls by a container (target) port of the selected pods".into()
                    }
                },
            });
        }
    }
    out
}

/// What `check` adds to [`static_findings`]: configuration that breaks traffic, which `probe`
/// already names from the request it sends, so these stay out of its findings. Every flow of the
/// connectivity matrix (analysis path) whose failure a DestinationRule's TLS setting explains
/// (DISABLE or SIMPLE towards STRICT endpoints, ISTIO_MUTUAL towards endpoints without a sidecar
/// or with DISABLE), DestinationRule subsets that select no pod, a mesh-wide allow-nothing
/// AuthorizationPolicy, and principals that name a service account no loaded pod runs as.
pub fn traffic_findings(res: &Resources) -> Vec<Finding> {
    let mut out = destination_rule_tls_breaks_flows(res);
    out.extend(subsets_that_select_nothing(res));
    out.extend(mesh_wide_allow_nothing(res));
    out.extend(principals_of_unknown_service_accounts(res));
    out
}

/// The codes of a flow's prediction that a DestinationRule's `tls` explains, with what the rule
/// does in words.
fn dr_tls_cause(code: FindingCode) -> Option<&'static str> {
    Some(match code {
        FindingCode::DestinationRuleTlsDisable => {
            "sends plaintext (tls.mode DISABLE) to STRICT endpoints"
        }
        FindingCode::DestinationRuleTlsSimple => {
            "sends TLS without a client certificate (tls.mode SIMPLE) to STRICT endpoints"
        }
        FindingCode::MtlsToNonMeshWorkload => {
            "forces mTLS (ISTIO_MUTUAL) towards endpoints without a sidecar"
        }
        FindingCode::MtlsToDisabledServer => {
            "forces mTLS towards endpoints whose PeerAuthentication is DISABLE"
        }
        _ => return None,
    })
}

/// Flows of the matrix that a DestinationRule's TLS mode breaks, one finding per (code, rule):
/// the analysis path's client-TLS choice (`docs/semantics.md`, "Client TLS") against the
/// endpoint's inbound mode, as `meshsim matrix` shows them.
fn destination_rule_tls_breaks_flows(res: &Resources) -> Vec<Finding> {
    // A finding names the DestinationRule in the flow's trace: without any rule there is none,
    // and the matrix (every workload to every Service port, quadratic in the mesh's size)
    // is not computed.
    if res.destination_rules.is_empty() {
        return Vec::new();
    }
    // The matrix without its trace finds the flows a DestinationRule's TLS may break (on every
    // core); only those are predicted again with the trace that names the rule.
    let matrix = crate::analysis::Matrix::new(res);
    let analyzer = crate::analysis::Analyzer::new(res);
    let mut groups: BTreeMap<(FindingCode, ObjectRef), Vec<String>> = BTreeMap::new();
    let destinations: Vec<&str> = matrix.destinations().collect();
    // Only the flows whose outcome carries such a code are looked at again.
    let suspect = matrix.rows(|_| {}).flatten().flat_map(|row| {
        let broken: Vec<bool> = row
            .outcomes
            .iter()
            .map(|o| !o.status.is_success() && o.codes.iter().any(|c| dr_tls_cause(*c).is_some()))
            .collect();
        let from = row.from;
        row.cells
            .iter()
            .zip(&destinations)
            .filter(|(cell, _)| broken[**cell])
            .map(|(_, to)| (from, *to))
            .collect::<Vec<_>>()
    });
    for (from, to) in suspect {
        let (Ok(from), Ok(to)) = (from.parse(), to.parse()) else {
            continue;
        };
        let req = crate::request::RequestSpec {
            from,
            to,
            ..crate::request::RequestSpec::default()
        };
        let Ok(p) = analyzer.predict(&req) else {
            continue;
        };
        let dr = p
            .trace
            .iter()
            .filter(|t| t.step == "outbound-tls")
            .flat_map(|t| &t.decisions)
            .find_map(|d| {
                d.resource
                    .clone()
                    .filter(|r| r.kind == Kind::DestinationRule)
            });
        let Some(dr) = dr else { continue };
        for code in p.codes.iter().filter(|c| dr_tls_cause(**c).is_some()) {
            groups
                .entry((*code, dr.clone()))
                .or_default()
                .push(format!("{} -> {}: {}", req.from, req.to, p.status));
        }
    }
    const SHOWN: usize = 10;
    groups
        .into_iter()
        .map(|((code, dr), flows)| {
            let mut evidence: Vec<String> = flows
                .iter()
                .take(SHOWN)
                .map(|f| format!("flow {f}"))
                .collect();
            if flows.len() > SHOWN {
                evidence.push(format!("and {} more flow(s)", flows.len() - SHOWN));
            }
            Finding {
                code,
                severity: Severity::Error,
                message: format!(
                    "DestinationRule {}/{} {}: {} flow(s) fail",
                    dr.namespace,
                    dr.name,
                    dr_tls_cause(code).unwrap_or_default(),
                    flows.len()
                ),
                evidence,
                remedy: format!(
                    "delete the tls block of DestinationRule {}/{} (auto mTLS then picks what each \
                     endpoint accepts), or set tls.mode ISTIO_MUTUAL where every endpoint has a sidecar",
                    dr.namespace, dr.name
                ),
            }
        })
        .collect()
}

/// DestinationRule subsets whose labels select no ready pod of the Service the rule's host names:
/// Istio builds the subset's cluster (`buildSubsetCluster`, `pilot/pkg/networking/core/
/// cluster_builder.go`) with only the endpoints carrying the subset labels (`getSubSetLabels`,
/// `pilot/pkg/xds/endpoints/endpoint_builder.go`), so any route to it answers `503 UH`. Rules
/// whose host matches no Service are `DestinationRuleNotApplied` instead.
fn subsets_that_select_nothing(res: &Resources) -> Vec<Finding> {
    let drs = in_name_order(&res.destination_rules, |o| &o.meta);
    let mut out = Vec::new();
    for dr in drs {
        let host = resolve_short_host(&dr.spec.host, &dr.meta.namespace);
        let mut services: Vec<_> = res
            .services
            .iter()
            .filter(|s| {
                most_specific_host_match(&s.fqdn(), std::iter::once(host.as_str())).is_some()
            })
            .collect();
        services.sort_by_key(|s| s.fqdn());
        if services.is_empty() {
            continue;
        }
        for subset in dr.spec.subsets.iter().filter(|s| !s.labels.is_empty()) {
            let backing: Vec<&Workload> = res
                .workloads
                .iter()
                .filter(|w| w.replicas > 0 && services.iter().any(|s| service_selects(s, w)))
                .collect();
            if backing.iter().any(|w| w.has_labels(&subset.labels)) {
                continue;
            }
            let names: Vec<String> = services.iter().map(|s| s.fqdn()).collect();
            let mut evidence = vec![format!(
                "DestinationRule {}/{}: subset {} labels {}",
                dr.meta.namespace,
                dr.meta.name,
                subset.name,
                labels_str(&subset.labels)
            )];
            evidence.extend(backing.iter().map(|w| workload_line(w)));
            if backing.is_empty() {
                evidence.push(format!("no ready pod backs {}", names.join(", ")));
            }
            out.push(Finding {
                code: FindingCode::NoHealthyUpstream,
                severity: Severity::Warning,
                message: format!(
                    "DestinationRule {}/{} subset {} selects {}, which no ready pod of {} carries: \
                     any route to it gets 503 UH (no healthy upstream)",
                    dr.meta.namespace,
                    dr.meta.name,
                    subset.name,
                    labels_str(&subset.labels),
                    names.join(", ")
                ),
                evidence,
                remedy: "fix the subset labels or the pod labels, or scale up the pods it means"
                    .into(),
            });
        }
    }
    out
}

/// A root-namespace ALLOW policy without selector, target or rules: Istio's `allow-nothing`
/// made mesh-wide. An ALLOW policy with no rules builds an RBAC filter that matches nothing
/// (`Builder.build`, `pilot/pkg/security/authz/builder/builder.go`), so every request to every
/// workload with a sidecar is denied unless another ALLOW policy matches it. A dry-run policy
/// (`istio.io/dry-run`) only logs, so it is left out.
fn mesh_wide_allow_nothing(res: &Resources) -> Vec<Finding> {
    let root = &res.mesh_config.root_namespace;
    let mut aps: Vec<&AuthorizationPolicy> = res
        .authorization_policies
        .iter()
        .filter(|ap| {
            &ap.meta.namespace == root
                && ap.spec.action == AuthzAction::Allow
                && selector_of_ap(ap).is_none()
                && ap.spec.target_ref.is_none()
                && ap.spec.target_refs.as_ref().is_none_or(Vec::is_empty)
                && ap.spec.rules.as_ref().is_none_or(Vec::is_empty)
                && !crate::policy::authz::is_dry_run(ap)
        })
        .collect();
    aps.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
    aps.into_iter()
        .map(|ap| Finding {
            code: FindingCode::NoAllowPolicyMatched,
            severity: Severity::Warning,
            message: format!(
                "AuthorizationPolicy {}/{} is a mesh-wide allow-nothing: every request to every \
                 workload with a sidecar is denied unless another ALLOW policy matches it",
                ap.meta.namespace, ap.meta.name
            ),
            evidence: vec![
                format!(
                    "AuthorizationPolicy {}/{}: no selector, action ALLOW, no rules",
                    ap.meta.namespace, ap.meta.name
                ),
                format!(
                    "root namespace is {root}: a policy there without selector applies mesh-wide"
                ),
            ],
            remedy: "add ALLOW policies for the traffic the mesh needs, or delete the policy if a \
                     default deny was not intended"
                .into(),
        })
        .collect()
}

/// ALLOW/DENY principals `<trust domain>/ns/<ns>/sa/<sa>` of the mesh's trust domain (or an
/// alias) naming a service account that no loaded pod runs as and no ServiceAccount declares,
/// in a namespace the configuration does hold objects of (a principal of a namespace outside
/// the loaded files, such as the ingress gateway's, is not judged). Wildcards are not judged.
/// Istio compares the peer's certificate identity with the principal as a string
/// (`srcPrincipalGenerator.principal`, `pilot/pkg/security/authz/model/generator.go`).
fn principals_of_unknown_service_accounts(res: &Resources) -> Vec<Finding> {
    use crate::vocab::SpiffeId;
    let mc = &res.mesh_config;
    let known_ns = |ns: &str| {
        res.workloads.iter().any(|w| w.meta.namespace == ns)
            || res.service_accounts.iter().any(|s| s.meta.namespace == ns)
    };
    let known_sa = |ns: &str, sa: &str| {
        res.workloads
            .iter()
            .any(|w| w.meta.namespace == ns && w.service_account == sa)
            || res.service_account(ns, sa).is_some()
    };
    let aps = in_name_order(&res.authorization_policies, |o| &o.meta);
    let mut out = Vec::new();
    for ap in aps {
        let principals = ap
            .spec
            .rules
            .iter()
            .flatten()
            .flat_map(|r| r.from.iter().flatten())
            .filter_map(|f| f.source.as_ref())
            .flat_map(|s| s.principals.iter().flatten());
        let mut seen = Vec::new();
        for principal in principals {
            if principal.contains('*') || seen.contains(principal) {
                continue;
            }
            seen.push(principal.clone());
            let Ok(id) = SpiffeId::from_principal(principal) else {
                continue;
            };
            let ours = id.trust_domain == mc.trust_domain
                || mc.trust_domain_aliases.contains(&id.trust_domain);
            if !ours || !known_ns(&id.namespace) || known_sa(&id.namespace, &id.service_account) {
                continue;
            }
            let mut running: Vec<String> = res
                .workloads
                .iter()
                .filter(|w| w.meta.namespace == id.namespace)
                .map(|w| format!("{} runs as {}", w.proxy_id(), w.service_account))
                .collect();
            running.sort();
            let mut evidence = vec![format!(
                "AuthorizationPolicy {}/{}: action {}, principal {principal}",
                ap.meta.namespace,
                ap.meta.name,
                ap.spec.action.as_str()
            )];
            evidence.extend(running);
            out.push(Finding {
                code: FindingCode::PrincipalServiceAccountMismatch,
                severity: Severity::Warning,
                message: format!(
                    "AuthorizationPolicy {}/{} names principal {principal}, but no pod in {} runs \
                     as service account {} and no such ServiceAccount is declared: the rule \
                     matches no caller",
                    ap.meta.namespace, ap.meta.name, id.namespace, id.service_account
                ),
                evidence,
                remedy: format!(
                    "name the service account the callers run as (serviceAccountName), or create \
                     ServiceAccount {}/{} and run the callers as it",
                    id.namespace, id.service_account
                ),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClientTlsMode, MtlsMode::*, PeerMtls, TargetPort};
    use crate::policy::testing::{dr_spec, Fixture};

    fn fixture() -> Fixture {
        let mut f = Fixture::new();
        f.namespace("istio-system")
            .namespace("foo")
            .namespace("bar");
        f.workload("foo", "httpbin", &[("app", "httpbin")]);
        f.service(
            "foo",
            "httpbin",
            &[("app", "httpbin")],
            &[("http", 8000, TargetPort::Number(80))],
        );
        f
    }

    fn codes(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.code.as_str()).collect()
    }

    #[test]
    fn a_clean_mesh_has_no_findings() {
        let mut f = fixture();
        f.pa("istio-system", "default", None, Some(Strict), Some(1));
        f.pa(
            "foo",
            "httpbin",
            Some(&[("app", "httpbin")]),
            Some(Strict),
            Some(1),
        );
        f.dr("foo", "httpbin", None, dr_spec("httpbin", None));
        f.dr(
            "bar",
            "wild",
            None,
            dr_spec("*.foo.svc.cluster.local", None),
        );
        assert_eq!(static_findings(&f.res), vec![]);
    }

    #[test]
    fn conflicting_policies_name_the_oldest_as_winner() {
        let mut f = fixture();
        f.pa("foo", "newer", None, Some(Strict), Some(200));
        f.pa("foo", "older", None, Some(Disable), Some(100));
        f.pa(
            "foo",
            "w1",
            Some(&[("app", "httpbin")]),
            Some(Strict),
            Some(5),
        );
        f.pa(
            "foo",
            "w2",
            Some(&[("app", "httpbin")]),
            Some(Strict),
            Some(5),
        );
        let got = static_findings(&f.res);
        assert_eq!(
            codes(&got),
            [
                "ConflictingPeerAuthentications",
                "ConflictingPeerAuthentications"
            ]
        );
        assert!(
            got[0]
                .message
                .contains("only the oldest, older, applies; newer ignored"),
            "{}",
            got[0].message
        );
        assert!(
            got[0].evidence[0].contains("1970-01-01T00:01:40Z"),
            "{:?}",
            got[0].evidence
        );
        assert!(
            got[1]
                .message
                .contains("only the oldest, w1, applies; w2 ignored"),
            "{}",
            got[1].message
        );
    }

    #[test]
    fn selectors_that_reach_no_pod_are_reported() {
        let mut f = fixture();
        f.pa(
            "istio-system",
            "meshwide-httpbin",
            Some(&[("app", "httpbin")]),
            Some(Strict),
            None,
        );
        f.pa(
            "foo",
            "typo",
            Some(&[("app", "httbin")]),
            Some(Strict),
            None,
        );
        f.pa("bar", "empty-ns", Some(&[("app", "x")]), Some(Strict), None);
        let got = static_findings(&f.res);
        assert_eq!(codes(&got), ["PeerAuthenticationSelectsNothing"; 3]);
        assert!(got[0].message.contains("bar/empty-ns"));
        assert!(got[1].message.contains("foo/typo"));
        assert!(got[1]
            .evidence
            .iter()
            .any(|e| e.contains("pod labels {app=httpbin}")));
        assert!(got[2].message.contains("Istio ignores it"));
    }

    #[test]
    fn strict_overridden_by_namespace_workload_or_port_policy() {
        let mut f = fixture();
        f.pa("istio-system", "default", None, Some(Strict), Some(1));
        f.pa("bar", "default", None, Some(Permissive), Some(1));
        f.pa(
            "foo",
            "httpbin",
            Some(&[("app", "httpbin")]),
            Some(Strict),
            Some(1),
        );
        let pa = f.res.peer_authentications.last_mut().unwrap();
        pa.spec.port_level_mtls = Some([(80, PeerMtls { mode: Disable })].into());
        let got = static_findings(&f.res);
        assert_eq!(codes(&got), ["StrictOverridden", "StrictOverridden"]);
        assert!(got[0].message.contains("namespace bar"));
        assert!(got[1].message.contains("target port 80 DISABLE"));

        // Without mesh-wide STRICT there is nothing to override.
        f.res.peer_authentications.remove(0);
        assert_eq!(codes(&static_findings(&f.res)), Vec::<&str>::new());
    }

    #[test]
    fn destination_rule_host_that_matches_no_service() {
        let mut f = fixture();
        f.dr("bar", "short-in-wrong-ns", None, dr_spec("httpbin", None));
        f.dr("foo", "dotted", None, dr_spec("httpbin.foo", None));
        f.dr(
            "foo",
            "ok",
            None,
            dr_spec("httpbin.foo.svc.cluster.local", None),
        );
        let got = static_findings(&f.res);
        assert_eq!(codes(&got), ["DestinationRuleNotApplied"; 2]);
        assert!(got[0]
            .message
            .contains("bar/short-in-wrong-ns host httpbin.bar.svc.cluster.local"));
        assert!(got[0].remedy.contains("httpbin.foo.svc.cluster.local"));
        assert!(got[1]
            .message
            .contains("foo/dotted host httpbin.foo matches no Service"));
    }

    #[test]
    fn allow_policies_under_an_unconditional_deny_are_shadowed() {
        let mut f = fixture();
        f.workload("bar", "sleep", &[("app", "sleep")]);
        let ap = |yaml: &str| {
            serde_yaml::from_str::<crate::model::AuthorizationPolicySpec>(yaml).unwrap()
        };
        f.ap("foo", "deny-all", ap("{action: DENY, rules: [{}]}"));
        f.ap(
            "foo",
            "allow-sleep",
            ap("rules: [{from: [{source: {namespaces: [bar]}}]}]"),
        );
        f.ap("bar", "allow-bar", ap("rules: [{}]"));
        f.ap(
            "bar",
            "deny-post",
            ap("{action: DENY, rules: [{to: [{operation: {methods: [POST]}}]}]}"),
        );
        let got = static_findings(&f.res);
        assert_eq!(codes(&got), ["AllowShadowedByDeny"]);
        assert!(
            got[0].message.contains("ALLOW policy foo/allow-sleep"),
            "{}",
            got[0].message
        );
        assert!(got[0].evidence[2].contains("foo/httpbin"));
        assert!(got[0].remedy.contains("cannot override a DENY"));
    }

    #[test]
    fn authorization_policies_that_reach_no_pod_are_reported() {
        let ap = |yaml: &str| {
            serde_yaml::from_str::<crate::model::AuthorizationPolicySpec>(yaml).unwrap()
        };
        // (namespace, name, spec, reported)
        let cases: &[(&str, &str, &str, bool)] = &[
            (
                "foo",
                "typo",
                "selector: {matchLabels: {app: httbin}}",
                true,
            ),
            (
                "foo",
                "right",
                "selector: {matchLabels: {app: httpbin}}",
                false,
            ),
            ("foo", "namespace-wide", "{}", false),
            ("bar", "empty-namespace", "{}", true),
            (
                "bar",
                "selector-in-empty-namespace",
                "selector: {matchLabels: {app: httpbin}}",
                true,
            ),
            // Root-namespace selectors apply in every namespace: httpbin in foo matches.
            (
                "istio-system",
                "root-match",
                "selector: {matchLabels: {app: httpbin}}",
                false,
            ),
            (
                "istio-system",
                "root-miss",
                "selector: {matchLabels: {app: nope}}",
                true,
            ),
            ("istio-system", "mesh-wide", "{}", false),
            // Attached to a Gateway/Service: not modelled, never claimed to select nothing.
            (
                "bar",
                "targeted",
                "targetRefs: [{kind: Service, group: '', name: httpbin}]",
                false,
            ),
        ];
        for (ns, name, spec, reported) in cases {
            let mut f = fixture();
            f.ap(ns, name, ap(spec));
            let got = static_findings(&f.res);
            let hit = got
                .iter()
                .any(|g| g.code == FindingCode::AuthorizationPolicySelectsNothing);
            assert_eq!(hit, *reported, "{ns}/{name}: {got:#?}");
        }
        let mut f = fixture();
        f.ap(
            "istio-system",
            "root-miss",
            ap("selector: {matchLabels: {app: nope}}"),
        );
        let got = static_findings(&f.res);
        assert!(
            got[0].message.contains("no pod in any namespace"),
            "{}",
            got[0].message
        );
        assert!(got[0]
            .evidence
            .iter()
            .any(|e| e.contains("pod labels {app=httpbin}")));
    }

    #[test]
    fn namespace_wide_authorization_policies_are_not_judged_without_workloads() {
        let mut f = Fixture::new();
        f.namespace("foo");
        f.ap("foo", "allow-nothing", Default::default());
        assert_eq!(static_findings(&f.res), vec![]);
    }

    #[test]
    fn port_level_mtls_on_a_port_no_pod_serves_is_reported() {
        // (port-level key, reported): the Service port 8000 forwards to target port 80.
        for (port, reported) in [(8000, true), (80, false), (9999, true)] {
            let mut f = fixture();
            f.pa(
                "foo",
                "httpbin",
                Some(&[("app", "httpbin")]),
                Some(Strict),
                None,
            );
            let pa = f.res.peer_authentications.last_mut().unwrap();
            pa.spec.port_level_mtls = Some([(port, PeerMtls { mode: Permissive })].into());
            let got: Vec<Finding> = static_findings(&f.res)
                .into_iter()
                .filter(|g| g.code == FindingCode::PortLevelMtlsPortUnused)
                .collect();
            assert_eq!(got.len(), usize::from(reported), "{port}: {got:#?}");
            if port == 8000 {
                assert!(
                    got[0]
                        .message
                        .contains("8000 is Service httpbin's port, whose target port is 80"),
                    "{}",
                    got[0].message
                );
                assert_eq!(
                    got[0].remedy,
                    "key portLevelMtls by the target port 80, not 8000"
                );
            }
        }
    }

    #[test]
    fn check_names_the_destination_rule_whose_tls_breaks_flows() {
        // (namespace PeerAuthentication mode of foo, DR tls mode, expected code)
        let cases = [
            (
                Some(Strict),
                ClientTlsMode::Disable,
                Some(FindingCode::DestinationRuleTlsDisable),
            ),
            (
                Some(Strict),
                ClientTlsMode::Simple,
                Some(FindingCode::DestinationRuleTlsSimple),
            ),
            (
                Some(Disable),
                ClientTlsMode::IstioMutual,
                Some(FindingCode::MtlsToDisabledServer),
            ),
            (Some(Permissive), ClientTlsMode::Disable, None),
            (Some(Strict), ClientTlsMode::IstioMutual, None),
        ];
        for (mode, tls, want) in cases {
            let mut f = fixture();
            f.workload("bar", "sleep", &[("app", "sleep")]);
            f.pa("foo", "default", None, mode, None);
            f.dr(
                "bar",
                "to-httpbin",
                None,
                dr_spec("httpbin.foo.svc.cluster.local", Some(tls)),
            );
            let got: Vec<Finding> = traffic_findings(&f.res);
            let codes: Vec<FindingCode> = got.iter().map(|g| g.code).collect();
            assert_eq!(
                codes,
                want.into_iter().collect::<Vec<_>>(),
                "{mode:?} {tls:?}: {got:#?}"
            );
            if let Some(g) = got.first() {
                assert_eq!(g.severity, Severity::Error);
                assert!(
                    g.message.starts_with("DestinationRule bar/to-httpbin "),
                    "{}",
                    g.message
                );
                assert!(g
                    .evidence
                    .iter()
                    .any(|e| e.contains("bar/sleep -> httpbin.foo:8000")));
            }
        }
    }

    #[test]
    fn istio_mutual_towards_a_workload_without_sidecar_is_reported() {
        let mut f = fixture();
        f.namespace_labeled("legacy", &[]);
        f.workload("legacy", "httpbin", &[("app", "httpbin")]);
        f.service(
            "legacy",
            "httpbin",
            &[("app", "httpbin")],
            &[("http", 8000, TargetPort::Number(80))],
        );
        f.dr(
            "foo",
            "legacy-mtls",
            None,
            dr_spec(
                "httpbin.legacy.svc.cluster.local",
                Some(ClientTlsMode::IstioMutual),
            ),
        );
        let codes: Vec<FindingCode> = traffic_findings(&f.res).iter().map(|g| g.code).collect();
        assert_eq!(codes, [FindingCode::MtlsToNonMeshWorkload]);
    }

    #[test]
    fn subsets_that_select_no_pod_get_no_healthy_upstream() {
        let mut f = fixture();
        let mut spec = dr_spec("httpbin.foo.svc.cluster.local", None);
        spec.subsets = serde_yaml::from_str(
            "[{name: v1, labels: {app: httpbin}}, {name: v2, labels: {version: v2}}]",
        )
        .unwrap();
        f.dr("foo", "httpbin", None, spec);
        let got = traffic_findings(&f.res);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(got[0].code, FindingCode::NoHealthyUpstream);
        assert!(
            got[0].message.contains("subset v2 selects {version=v2}"),
            "{}",
            got[0].message
        );
        assert!(got[0].message.contains("503 UH"));
    }

    #[test]
    fn a_mesh_wide_allow_nothing_is_reported_and_a_namespace_one_is_not() {
        let mut f = fixture();
        f.ap("istio-system", "allow-nothing", Default::default());
        f.ap("foo", "allow-nothing", Default::default());
        let got = traffic_findings(&f.res);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(got[0].code, FindingCode::NoAllowPolicyMatched);
        assert!(got[0]
            .message
            .contains("istio-system/allow-nothing is a mesh-wide allow-nothing"));
    }

    #[test]
    fn principals_of_service_accounts_no_pod_runs_as_are_reported() {
        let ap = |principal: &str| {
            serde_yaml::from_str::<crate::model::AuthorizationPolicySpec>(&format!(
                "rules: [{{from: [{{source: {{principals: [\"{principal}\"]}}}}]}}]"
            ))
            .unwrap()
        };
        // (principal, reported): httpbin in foo runs as `default` (the fixture's workloads).
        let cases = [
            ("cluster.local/ns/foo/sa/default", false),
            ("cluster.local/ns/foo/sa/sleep", true),
            ("cluster.local/ns/foo/sa/*", false),
            // A namespace the configuration holds nothing of: not judged.
            (
                "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account",
                false,
            ),
            // Another trust domain is TrustDomainMismatch's business.
            ("other.domain/ns/foo/sa/sleep", false),
        ];
        for (principal, reported) in cases {
            let mut f = fixture();
            f.ap("foo", "allow", ap(principal));
            let got = traffic_findings(&f.res);
            assert_eq!(got.len(), usize::from(reported), "{principal}: {got:#?}");
            if reported {
                assert_eq!(got[0].code, FindingCode::PrincipalServiceAccountMismatch);
                assert!(got[0]
                    .evidence
                    .iter()
                    .any(|e| e.contains("foo/httpbin runs as")));
            }
        }
    }

    #[test]
    fn findings_do_not_depend_on_load_order() {
        let mut f = fixture();
        f.pa("foo", "b", None, Some(Strict), None);
        f.pa("foo", "a", None, Some(Strict), None);
        f.pa("foo", "typo", Some(&[("app", "nope")]), Some(Strict), None);
        f.dr("foo", "x", None, dr_spec("nope", None));
        let before = static_findings(&f.res);
        f.res.peer_authentications.reverse();
        f.res.destination_rules.reverse();
        assert_eq!(static_findings(&f.res), before);
    }
}
