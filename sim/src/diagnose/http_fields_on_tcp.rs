//! AuthorizationPolicy rules with HTTP-only fields that reach a TCP port (`meshsim check`).
//!
//! istiod builds a workload's TCP filter chains with `Builder::BuildTCP`
//! (`pilot/pkg/security/authz/builder/builder.go`). For each rule, `Model::Generate(forTCP=true)`
//! (`pilot/pkg/security/authz/model/model.go`) fails on an HTTP-only field (`methods`, `paths`,
//! `hosts`, `requestPrincipals`, `request.*` conditions, and their negations); `rule.checkError`
//! turns that failure into "skip the rule" for ALLOW and into "drop the field" for DENY and AUDIT.
//! istiod only says so at debug level (`skipped rule ... on TCP filter chain`), so on a cluster
//! the first sign is traffic denied (ALLOW) or denied too widely (DENY). Identical in Istio
//! 1.22–1.28. The request-time rule is `policy::authz` (`rule_matches`); this check names the
//! configuration before a request is sent.

use crate::model::{AuthorizationPolicy, AuthzAction, AuthzRule, Resources, Service, Workload};
use crate::policy::authz::{http_only_fields, is_dry_run, port_value_matches, scope_of};
use crate::policy::routing::{service_selects, target_port_of};
use crate::vocab::FindingCode;

use super::static_checks::in_name_order;
use super::{Finding, Severity};

/// One TCP port a rule reaches: the Service port a client dials and the pod port the sidecar's
/// inbound TCP chain enforces on.
struct TcpPort<'a> {
    service: &'a Service,
    service_port: u16,
    target_port: u16,
}

/// Every (policy, rule) with HTTP-only fields whose ALLOW, DENY or AUDIT action reaches a port
/// that Istio serves with a TCP filter chain (`IstioProtocol::is_tcp`: TCP, TLS, HTTPS, Mongo,
/// Redis, MySQL, by name, `appProtocol` or well-known port) on a workload with a sidecar that
/// captures the port. Sniffed ports are left out: their HTTP traffic takes the HTTP chain, where
/// the rule applies as written. A rule whose `to.operation.ports` exclude the port could not have
/// matched there anyway, so it is left out too; so are dry-run policies (shadow rules only) and
/// CUSTOM ones (the provider, not a rule, decides).
pub(super) fn http_fields_on_tcp_ports(res: &Resources) -> Vec<Finding> {
    let root = &res.mesh_config.root_namespace;
    let mut out = Vec::new();
    for ap in in_name_order(&res.authorization_policies, |o| &o.meta) {
        if ap.spec.action == AuthzAction::Custom || is_dry_run(ap) {
            continue;
        }
        for (index, rule) in ap.spec.rules.iter().flatten().enumerate() {
            let fields = http_only_fields(rule);
            if fields.is_empty() {
                continue;
            }
            for w in &res.workloads {
                if scope_of(ap, w, root).is_none() || !res.has_sidecar(w) {
                    continue;
                }
                for port in tcp_ports(res, w).filter(|p| rule_reaches_port(rule, p.target_port)) {
                    out.push(finding(ap, index, &fields, w, &port));
                }
            }
        }
    }
    out
}

/// The ports of the Services selecting `w` that Istio treats as TCP and `w`'s sidecar captures.
fn tcp_ports<'a>(res: &'a Resources, w: &'a Workload) -> impl Iterator<Item = TcpPort<'a>> + 'a {
    let mut services: Vec<&Service> = res
        .services
        .iter()
        .filter(|s| service_selects(s, w))
        .collect();
    services.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
    services.into_iter().flat_map(move |s| {
        s.ports
            .iter()
            .filter(|p| p.is_tcp() && p.istio_protocol().is_tcp())
            .filter_map(move |p| {
                let target_port = target_port_of(p, w)?;
                w.interception
                    .captures_inbound(target_port)
                    .then_some(TcpPort {
                        service: s,
                        service_port: p.port,
                        target_port,
                    })
            })
    })
}

/// Whether the rule's `to` could match a connection to `port`: no `to`, or one operation whose
/// `ports` (when given) name it and whose `notPorts` do not.
fn rule_reaches_port(rule: &AuthzRule, port: u16) -> bool {
    let Some(to) = rule.to.as_ref().filter(|t| !t.is_empty()) else {
        return true;
    };
    let names =
        |list: &Option<Vec<String>>| list.iter().flatten().any(|p| port_value_matches(p, port));
    to.iter().any(|t| match &t.operation {
        None => true,
        Some(op) => {
            let listed = op.ports.as_ref().is_none_or(|p| p.is_empty()) || names(&op.ports);
            listed && !names(&op.not_ports)
        }
    })
}

/// The finding for one rule on one port.
fn finding(
    ap: &AuthorizationPolicy,
    index: usize,
    fields: &[String],
    w: &Workload,
    port: &TcpPort<'_>,
) -> Finding {
    let action = ap.spec.action.as_str();
    let fields = fields.join(", ");
    let (effect, remedy) = match ap.spec.action {
        AuthzAction::Allow => (
            "istiod skips the rule on that port's TCP filter chain, so it allows nothing there",
            "move the HTTP-only fields to a separate rule limited to HTTP ports (to.operation.ports), \
             or add a rule without them for the TCP port",
        ),
        _ => (
            "istiod drops those fields on that port's TCP filter chain, so the rule matches every \
             connection its other fields match",
            "limit the rule to HTTP ports with to.operation.ports (or notPorts for the TCP port), \
             or express it without HTTP-only fields",
        ),
    };
    let svc = port.service;
    Finding {
        code: FindingCode::HttpOnlyRuleOnTcpPort,
        severity: Severity::Warning,
        message: format!(
            "AuthorizationPolicy {}/{} rule {index} ({action}) uses HTTP-only fields ({fields}) \
             and applies to {}/{}, whose port {} is TCP: {effect}",
            ap.meta.namespace, ap.meta.name, w.meta.namespace, w.meta.name, port.target_port
        ),
        evidence: vec![
            format!(
                "AuthorizationPolicy {}/{}: action {action}, rule {index}: {fields}",
                ap.meta.namespace, ap.meta.name
            ),
            format!(
                "Service {}/{}: port {} -> target port {} is TCP for Istio (kube.ConvertProtocol)",
                svc.meta.namespace, svc.meta.name, port.service_port, port.target_port
            ),
            format!(
                "{} {}/{}: runs a sidecar that enforces the policy on port {}",
                w.kind.as_str(),
                w.meta.namespace,
                w.meta.name,
                port.target_port
            ),
        ],
        remedy: remedy.into(),
    }
}
