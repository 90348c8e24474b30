//! `ValidateDestinationRule` (istio `pkg/config/validation/validation.go`) with `validateTrafficPolicy`,
//! `validateConnectionPool`, `validateExportTo` and `agent.ValidateTLS`.

use std::collections::BTreeSet;

use super::{dns, object, spec, workload_selector, Invalid, Rejection, Report};
use crate::model::locate::FieldPath;
use crate::model::{ClientTls, ClientTlsMode, ConnectionPool, DestinationRule, TrafficPolicy};

/// Validates a DestinationRule (`ValidateDestinationRule`); `Ok` carries warnings.
pub(crate) fn destination_rule(dr: &DestinationRule) -> Result<Vec<Invalid>, Rejection> {
    let mut r = Report::default();
    let s = &dr.spec;
    if let Err(m) = dns::wildcard_domain(&s.host) {
        r.error(&spec().key("host"), m);
    }
    traffic_policy(
        s.traffic_policy.as_ref(),
        &dr.meta.namespace,
        &spec().key("trafficPolicy"),
        &mut r,
    );
    let mut names = BTreeSet::new();
    for (i, subset) in s.subsets.iter().enumerate() {
        let path = spec().key("subsets").index(i);
        if !names.insert(subset.name.clone()) {
            r.error(
                &path.key("name"),
                format!("duplicate subset names: {}", subset.name),
            );
        }
        if subset.name.is_empty() {
            r.error(&path.key("name"), "subset name cannot be empty");
        } else if !dns::is_dns1123_label(&subset.name) {
            r.error(
                &path.key("name"),
                format!("subset name is invalid: {}", subset.name),
            );
        }
        for (key, value) in &subset.labels {
            if let Err(m) = dns::label_key(key).and_then(|()| dns::label_value(value)) {
                r.error(&path.key("labels"), m);
            }
        }
        traffic_policy(
            subset.traffic_policy.as_ref(),
            &dr.meta.namespace,
            &path.key("trafficPolicy"),
            &mut r,
        );
    }
    export_to(
        &s.export_to,
        &dr.meta.namespace,
        ExportToOf::DestinationRule {
            has_selector: s.workload_selector.is_some(),
        },
        &mut r,
    );
    workload_selector(
        s.workload_selector.as_ref(),
        &spec().key("workloadSelector"),
        &mut r,
    );
    r.finish(object("DestinationRule", &dr.meta))
}

/// `validateTrafficPolicy`.
fn traffic_policy(tp: Option<&TrafficPolicy>, ns: &str, path: &FieldPath, r: &mut Report) {
    let Some(tp) = tp else { return };
    // A YAML `portLevelSettings: []` is a nil slice in Go, so it does not count as a field.
    if tp.outlier_detection.is_none()
        && tp.connection_pool.is_none()
        && tp.load_balancer.is_none()
        && tp.tls.is_none()
        && tp.port_level_settings.is_empty()
        && tp.tunnel.is_none()
        && tp.proxy_protocol.is_none()
        && tp.retry_budget.is_none()
    {
        r.error(path, "traffic policy must have at least one field");
        return;
    }
    if tp.tunnel.is_some() && tp.proxy_protocol.is_some() {
        r.error(path, "tunnel and proxyProtocol must not be set together");
        return;
    }
    connection_pool(tp.connection_pool.as_ref(), &path.key("connectionPool"), r);
    client_tls(tp.tls.as_ref(), ns, &path.key("tls"), r);
    for (i, p) in tp.port_level_settings.iter().enumerate() {
        let pp = path.key("portLevelSettings").index(i);
        if p.port.is_none() {
            r.error(&pp, "portTrafficPolicy must have valid port");
        }
        if let Some(port) = &p.port {
            if port.number == 0 || port.number > 65535 {
                // Istio's schema accepts any uint32 here; such a setting can match no port.
                r.warn(
                    &pp.key("port").key("number"),
                    format!(
                        "port number {} is outside 1..65535 and matches no service port",
                        port.number
                    ),
                );
            }
        }
        if p.outlier_detection.is_none()
            && p.connection_pool.is_none()
            && p.load_balancer.is_none()
            && p.tls.is_none()
        {
            r.error(&pp, "port traffic policy must have at least one field");
        } else {
            connection_pool(p.connection_pool.as_ref(), &pp.key("connectionPool"), r);
            client_tls(p.tls.as_ref(), ns, &pp.key("tls"), r);
        }
    }
}

/// `validateConnectionPool` (the parts meshsim reads; negative numbers fail to deserialise).
fn connection_pool(cp: Option<&ConnectionPool>, path: &FieldPath, r: &mut Report) {
    let Some(cp) = cp else { return };
    if cp.http.is_none() && cp.tcp.is_none() {
        r.error(path, "connection pool must have at least one field");
        return;
    }
    if let Some(tcp) = &cp.tcp {
        for (name, value) in [
            ("connectTimeout", &tcp.connect_timeout),
            ("maxConnectionDuration", &tcp.max_connection_duration),
        ] {
            if let Some(v) = value {
                if let Err(m) = duration(v) {
                    r.error(&path.key("tcp").key(name), m);
                }
            }
        }
        if let Some(v) = &tcp.idle_timeout {
            // `0s` disables the idle timeout and is allowed.
            if duration_ms(v) != Some(0) {
                if let Err(m) = duration(v) {
                    r.error(&path.key("tcp").key("idleTimeout"), m);
                }
            }
        }
    }
    if let Some(http) = &cp.http {
        if let Some(v) = &http.idle_timeout {
            if let Err(m) = duration(v) {
                r.error(&path.key("http").key("idleTimeout"), m);
            }
        }
        if let Some(ka) = &http.http2_keep_alive {
            let kp = path.key("http").key("http2KeepAlive");
            for field in ["interval", "timeout"] {
                match ka.get(field).and_then(|v| v.as_str()) {
                    None => r.error(&kp, format!("http2 keepalive {field} is required")),
                    Some(v) => {
                        if let Err(m) = duration(v) {
                            r.error(&kp.key(field), m);
                        }
                    }
                }
            }
        }
        if http.h2_upgrade_policy.as_deref() == Some("UPGRADE")
            && http.use_client_protocol == Some(true)
        {
            r.error(
                &path.key("http"),
                "use client protocol must not be true when H2UpgradePolicy is UPGRADE",
            );
        }
    }
}

/// Milliseconds of a protobuf JSON duration (`1.5s`, `100ms` is not protobuf but accepted by
/// Istio's CRD `duration()`; both are read).
fn duration_ms(text: &str) -> Option<u128> {
    let d = crate::clock::parse_duration(text).ok()?;
    Some(d.as_millis())
}

/// `agent.ValidateDuration`: at least 1ms, millisecond precision.
fn duration(text: &str) -> Result<(), String> {
    let d = crate::clock::parse_duration(text)?;
    if d < std::time::Duration::from_millis(1) {
        return Err("duration must be greater than 1ms".into());
    }
    if d.as_nanos() % 1_000_000 != 0 {
        return Err("only durations to ms precision are supported".into());
    }
    Ok(())
}

/// `agent.ValidateTLS` for ClientTLSSettings.
fn client_tls(tls: Option<&ClientTls>, _ns: &str, path: &FieldPath, r: &mut Report) {
    let Some(tls) = tls else { return };
    let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
    if tls.insecure_skip_verify == Some(true) {
        if tls.mode == ClientTlsMode::Simple
            && (set(&tls.ca_certificates)
                || set(&tls.credential_name)
                || !tls.subject_alt_names.is_empty())
        {
            r.error(path, "cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true");
        }
        if tls.mode == ClientTlsMode::Mutual
            && (set(&tls.ca_certificates) || !tls.subject_alt_names.is_empty())
        {
            r.error(path, "cannot specify CaCertificates or SubjectAltNames when InsecureSkipVerify is set true");
        }
    }
    if matches!(tls.mode, ClientTlsMode::Simple | ClientTlsMode::Mutual)
        && set(&tls.credential_name)
    {
        if set(&tls.client_certificate)
            || set(&tls.ca_certificates)
            || set(&tls.private_key)
            || set(&tls.ca_crl)
        {
            r.error(path, "cannot specify client certificates or CA certificate or CA CRL If credentialName is set");
        }
        return;
    }
    if tls.mode == ClientTlsMode::Mutual {
        if !set(&tls.client_certificate) {
            r.error(path, "client certificate required for mutual tls");
        }
        if !set(&tls.private_key) {
            r.error(path, "private key required for mutual tls");
        }
    }
}

/// Which kind's `exportTo` `validateExportTo` checks (its `isServiceEntry` and
/// `isDestinationRuleWithSelector` arguments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ExportToOf {
    /// A DestinationRule, with or without a `workloadSelector`.
    DestinationRule {
        /// Whether it has a `workloadSelector`.
        has_selector: bool,
    },
    /// A ServiceEntry: `~` (visible to no namespace but the service's own proxies) is allowed.
    ServiceEntry,
}

/// `validateExportTo` (`pkg/config/validation/validation.go`, Istio 1.22–1.28).
pub(super) fn export_to(export: &[String], ns: &str, of: ExportToOf, r: &mut Report) {
    let has_selector = of == ExportToOf::DestinationRule { has_selector: true };
    if export.is_empty() {
        return;
    }
    let path = spec().key("exportTo");
    let mut seen = BTreeSet::new();
    for e in export {
        let key = if e == "." { ns.to_string() } else { e.clone() };
        if seen.contains(&key) {
            if key != *e {
                r.error(
                    &path,
                    format!("duplicate entries in exportTo: . and current namespace {ns}"),
                );
            } else {
                r.error(
                    &path,
                    format!("duplicate entries in exportTo for entry {e}"),
                );
            }
            continue;
        }
        if of == ExportToOf::ServiceEntry && key == "~" {
            seen.insert(key);
            continue;
        }
        if key != "*" && !dns::is_dns1123_label(&key) {
            r.error(
                &path,
                format!(
                    "only .,*, or a valid DNS 1123 label is allowed as exportTo entry, found {e}"
                ),
            );
            continue;
        }
        seen.insert(key);
    }
    if has_selector && !seen.is_empty() {
        if seen.contains(ns) {
            if seen.len() > 1 {
                r.error(&path, "destination rule with workload selector cannot have multiple entries in exportTo");
            }
        } else {
            r.error(&path, "destination rule with workload selector cannot have exportTo beyond current namespace");
        }
    }
    if seen.contains("*") && export.len() > 1 {
        r.error(
            &path,
            "cannot have both public (*) and non-public exportTo values for a resource",
        );
    }
}
