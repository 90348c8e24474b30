//! Validation the way Istio's webhook (`pkg/config/validation/validation.go`:
//! `ValidatePeerAuthentication`, `ValidateAuthorizationPolicy`, `ValidateDestinationRule`, with
//! helpers from `pkg/config/security/security.go` and `pkg/config/validation/agent`) and the CRD
//! CEL rules (`manifests/charts/base/files/crd-all.gen.yaml`) reject invalid resources. Messages
//! are Istio's, prefixed with the field path they concern.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::load::LoadError;
use super::locate::FieldPath;
use super::parse::Source;
use super::{
    AuthorizationPolicy, AuthzAction, AuthzSource, ClientTls, ClientTlsMode, ConnectionPool,
    DestinationRule, PeerAuthentication, TrafficPolicy, Warning, WorkloadSelector,
};

mod authz;
mod dns;

/// One problem: the field it concerns and Istio's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Field path inside the object (`spec.rules[0].from`).
    pub path: FieldPath,
    /// Istio's message.
    pub message: String,
}

/// A resource Istio would reject, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// `Kind namespace/name`.
    pub object: String,
    /// The problems, in spec order.
    pub problems: Vec<Invalid>,
}

impl Rejection {
    /// The problems as one message, pointing at the first problem's line.
    pub(crate) fn into_load_error(self, src: &Source<'_>) -> LoadError {
        let first = self
            .problems
            .first()
            .map(|p| p.path.clone())
            .unwrap_or_default();
        let detail: Vec<String> = self
            .problems
            .iter()
            .map(|p| {
                if p.path.0.is_empty() {
                    p.message.clone()
                } else {
                    format!("{}: {}", p.path, p.message)
                }
            })
            .collect();
        LoadError {
            origin: src.at(&first),
            message: format!("invalid {}: {}", self.object, detail.join("; ")),
        }
    }
}

/// Collects problems and non-fatal notes while walking a spec.
#[derive(Default)]
pub(crate) struct Report {
    errors: Vec<Invalid>,
    warnings: Vec<Invalid>,
}

impl Report {
    fn error(&mut self, path: &FieldPath, message: impl Into<String>) {
        self.errors.push(Invalid {
            path: path.clone(),
            message: message.into(),
        });
    }

    fn warn(&mut self, path: &FieldPath, message: impl Into<String>) {
        self.warnings.push(Invalid {
            path: path.clone(),
            message: message.into(),
        });
    }

    fn finish(self, object: String) -> Result<Vec<Invalid>, Rejection> {
        if self.errors.is_empty() {
            Ok(self.warnings)
        } else {
            Err(Rejection {
                object,
                problems: self.errors,
            })
        }
    }
}

/// Turns validation notes into loader warnings.
pub(crate) fn to_warnings(notes: Vec<Invalid>, object: &str, src: &Source<'_>) -> Vec<Warning> {
    notes
        .into_iter()
        .map(|n| Warning {
            origin: src.at(&n.path),
            message: format!("{object}: {}: {}", n.path, n.message),
        })
        .collect()
}

fn spec() -> FieldPath {
    FieldPath::root().key("spec")
}

/// `validateWorkloadSelector`: no empty keys, no wildcards; an empty selector only warns.
fn workload_selector(sel: Option<&WorkloadSelector>, path: &FieldPath, r: &mut Report) {
    let Some(sel) = sel else { return };
    let labels_path = path.key("matchLabels");
    for (k, v) in &sel.match_labels {
        if k.is_empty() {
            r.error(
                &labels_path,
                format!("empty key is not supported in selector: \"{k}={v}\""),
            );
        }
        if k.contains('*') || v.contains('*') {
            r.error(
                &labels_path,
                format!("wildcard is not supported in selector: \"{k}={v}\""),
            );
        }
    }
    if sel.match_labels.is_empty() {
        r.warn(path, "workload selector specified without labels");
    }
}

/// Validates a PeerAuthentication (`ValidatePeerAuthentication`); `Ok` carries warnings.
pub fn peer_authentication(pa: &PeerAuthentication) -> Result<Vec<Invalid>, Rejection> {
    let mut r = Report::default();
    let s = &pa.spec;
    let empty_selector = s
        .selector
        .as_ref()
        .is_none_or(|sel| sel.match_labels.is_empty());
    let plm_path = spec().key("portLevelMtls");
    if let Some(plm) = &s.port_level_mtls {
        if empty_selector && !plm.is_empty() {
            // The CRD's CEL rule says "portLevelMtls requires selector"; the webhook says this.
            r.error(
                &plm_path,
                "mesh/namespace peer authentication cannot have port level mTLS",
            );
        }
        if plm.is_empty() {
            r.error(
                &plm_path,
                "port level mTLS, if defined, must have at least one element",
            );
        }
        for port in plm.keys() {
            if *port == 0 || *port > 65535 {
                r.error(
                    &plm_path.key(&port.to_string()),
                    "port must be in range 1..65535",
                );
            }
        }
    }
    workload_selector(s.selector.as_ref(), &spec().key("selector"), &mut r);
    r.finish(object("PeerAuthentication", &pa.meta))
}

/// Validates an AuthorizationPolicy (`ValidateAuthorizationPolicy`); `Ok` carries warnings.
pub fn authorization_policy(ap: &AuthorizationPolicy) -> Result<Vec<Invalid>, Rejection> {
    let mut r = Report::default();
    authz::validate(ap, &mut r);
    // Istio prefixes its messages with "invalid policy NAME.NAMESPACE:".
    r.finish(format!(
        "AuthorizationPolicy {}/{} (invalid policy {}.{})",
        ap.meta.namespace, ap.meta.name, ap.meta.name, ap.meta.namespace
    ))
}

/// Validates a DestinationRule (`ValidateDestinationRule`); `Ok` carries warnings.
pub fn destination_rule(dr: &DestinationRule) -> Result<Vec<Invalid>, Rejection> {
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
        for key in subset.labels.keys() {
            if let Err(m) = dns::label_key(key) {
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
        s.workload_selector.is_some(),
        &mut r,
    );
    workload_selector(
        s.workload_selector.as_ref(),
        &spec().key("workloadSelector"),
        &mut r,
    );
    r.finish(object("DestinationRule", &dr.meta))
}

fn object(kind: &str, meta: &super::Meta) -> String {
    format!("{kind} {}/{}", meta.namespace, meta.name)
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
    let d = humantime::parse_duration(text.trim()).ok()?;
    Some(d.as_millis())
}

/// `agent.ValidateDuration`: at least 1ms, millisecond precision.
fn duration(text: &str) -> Result<(), String> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|e| format!("invalid duration `{text}`: {e}"))?;
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

/// `validateExportTo` for a DestinationRule.
fn export_to(export: &[String], ns: &str, has_selector: bool, r: &mut Report) {
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

/// `security.ValidateIPs`.
fn ips(values: &[String], path: &FieldPath, r: &mut Report) {
    for v in values {
        if let Some((addr, bits)) = v.split_once('/') {
            let ok = addr.parse::<IpAddr>().ok().and_then(|ip| {
                let max = if ip.is_ipv4() { 32 } else { 128 };
                bits.parse::<u8>()
                    .ok()
                    .filter(|b| *b <= max && !bits.starts_with('+'))
            });
            if ok.is_none() {
                r.error(path, format!("bad CIDR range ({v})"));
            }
        } else if v.parse::<IpAddr>().is_err() {
            r.error(path, format!("bad IP address ({v})"));
        }
    }
}

/// `security.ValidatePorts`: decimal numbers up to 65535.
fn ports(values: &[String], path: &FieldPath, r: &mut Report) {
    for p in values {
        let ok = !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_digit())
            && p.parse::<u64>().is_ok_and(|n| n <= 65535);
        if !ok {
            r.error(
                path,
                format!("bad port ({p}): expected a number in 0..65535"),
            );
        }
    }
}

/// Used by the authz checks: `CUSTOM` has restrictions on what a source may name.
fn source_field_names(src: &AuthzSource) -> [(&'static str, Option<&Vec<String>>); 14] {
    [
        ("principals", src.principals.as_ref()),
        ("notPrincipals", src.not_principals.as_ref()),
        ("requestPrincipals", src.request_principals.as_ref()),
        ("notRequestPrincipals", src.not_request_principals.as_ref()),
        ("namespaces", src.namespaces.as_ref()),
        ("notNamespaces", src.not_namespaces.as_ref()),
        ("serviceAccounts", src.service_accounts.as_ref()),
        ("notServiceAccounts", src.not_service_accounts.as_ref()),
        ("ipBlocks", src.ip_blocks.as_ref()),
        ("notIpBlocks", src.not_ip_blocks.as_ref()),
        ("remoteIpBlocks", src.remote_ip_blocks.as_ref()),
        ("notRemoteIpBlocks", src.not_remote_ip_blocks.as_ref()),
        ("trustDomains", src.trust_domains.as_ref()),
        ("notTrustDomains", src.not_trust_domains.as_ref()),
    ]
}

/// `AuthzAction` spelled as Istio prints it in messages.
fn action_name(a: AuthzAction) -> &'static str {
    a.as_str()
}
