//! `ValidateSidecar` (istio `pkg/config/validation/validation.go`, Istio 1.22–1.28) for the
//! fields meshsim reads: a non-empty configuration, at most one port-less egress listener and it
//! last, unique egress ports, and every egress host `namespace/dnsName`
//! (`agent.ValidateNamespaceSlashWildcardHostname`, `validateSidecarOrGatewayHostnamePart`,
//! `ValidatePartialWildCard`).

use std::collections::BTreeSet;

use super::{dns, object, spec, Invalid, Rejection, Report};
use crate::model::Sidecar;

/// Validates a Sidecar (`ValidateSidecar`); `Ok` carries warnings.
pub(crate) fn sidecar(sc: &Sidecar) -> Result<Vec<Invalid>, Rejection> {
    let mut r = Report::default();
    let s = &sc.spec;
    if let Some(sel) = &s.workload_selector {
        if sel.labels.is_empty() {
            r.warn(
                &spec().key("workloadSelector"),
                "sidecar: workload selector specified without labels, will be applied to all services in namespace",
            );
        }
    }
    if s.egress.is_empty()
        && s.ingress.is_none()
        && s.outbound_traffic_policy.is_none()
        && s.inbound_connection_pool.is_none()
    {
        r.error(&spec(), "sidecar: empty configuration provided");
    }
    let mut ports = BTreeSet::new();
    let mut catch_all = false;
    for (i, egress) in s.egress.iter().enumerate() {
        let path = spec().key("egress").index(i);
        match &egress.port {
            None if catch_all => r.error(
                &path,
                "sidecar: egress can have only one listener with empty port",
            ),
            None if i + 1 == s.egress.len() => catch_all = true,
            None => r.error(
                &path,
                "sidecar: the egress listener with empty port should be the last listener in the list",
            ),
            Some(p) => {
                if !ports.insert(p.number) {
                    r.error(
                        &path.key("port"),
                        "sidecar: ports on IP bound listeners must be unique",
                    );
                }
            }
        }
        if egress.hosts.is_empty() {
            r.error(
                &path.key("hosts"),
                "sidecar: egress listener must contain at least one host",
            );
        }
        for (j, host) in egress.hosts.iter().enumerate() {
            if let Err(m) = namespace_slash_host(host) {
                r.error(&path.key("hosts").index(j), m);
            }
        }
    }
    r.finish(object("Sidecar", &sc.meta))
}

/// `agent.ValidateNamespaceSlashWildcardHostname` for a sidecar: `ns/dnsName`, the namespace
/// `*`, `.`, `~` or a DNS-1123 label, the name `*` or a (wildcard) domain.
fn namespace_slash_host(host: &str) -> Result<(), String> {
    let Some((ns, name)) = host.split_once('/') else {
        return Err(format!("{host:?}: host must be of form namespace/dnsName"));
    };
    if ns.is_empty() || name.is_empty() {
        return Err(format!(
            "{host:?}: config namespace and dnsName in host entry cannot be empty"
        ));
    }
    if !matches!(ns, "*" | "." | "~") && !dns::is_dns1123_label(ns) {
        return Err(format!("invalid namespace value {ns:?} in sidecar"));
    }
    if name == "*" {
        return Ok(());
    }
    if !name.contains('.') {
        return Err(format!("{host:?}: short names (non FQDN) are not allowed"));
    }
    dns::wildcard_domain(name)?;
    // `ValidatePartialWildCard`: a `*` only as the whole first label.
    let whole_first_label = name
        .strip_prefix("*.")
        .is_some_and(|rest| !rest.contains('*'));
    if name.contains('*') && !whole_first_label {
        return Err(format!("{host:?}: partial wildcard {name:?} not allowed"));
    }
    Ok(())
}
