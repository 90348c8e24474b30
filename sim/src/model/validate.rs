//! Validation the way Istio's webhook (`pkg/config/validation/validation.go`:
//! `ValidatePeerAuthentication`, `ValidateAuthorizationPolicy`, `ValidateDestinationRule`, with
//! helpers from `pkg/config/security/security.go` and `pkg/config/validation/agent`) and the CRD
//! CEL rules (`manifests/charts/base/files/crd-all.gen.yaml`) reject invalid resources. Messages
//! are Istio's, prefixed with the field path they concern.

use std::net::IpAddr;

use super::load::LoadError;
use super::locate::FieldPath;
use super::parse::Source;
use super::{
    AuthorizationPolicy, AuthzAction, AuthzSource, PeerAuthentication, Warning, WorkloadSelector,
};

mod authz;
mod destination_rule;
mod dns;
pub(crate) mod names;
mod release;
mod security;
mod service_entry;
mod sidecar;

pub(crate) use destination_rule::destination_rule;
pub use release::release_problems;
pub(crate) use service_entry::service_entry;
pub(crate) use sidecar::sidecar;

/// One problem: the field it concerns and Istio's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    /// Field path inside the object (`spec.rules[0].from`).
    pub path: FieldPath,
    /// Istio's message.
    pub message: String,
}

/// A resource Istio would reject, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejection {
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
            kind: super::WarningKind::Validation,
            unmodelled: None,
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
pub(crate) fn peer_authentication(pa: &PeerAuthentication) -> Result<Vec<Invalid>, Rejection> {
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
pub(crate) fn authorization_policy(ap: &AuthorizationPolicy) -> Result<Vec<Invalid>, Rejection> {
    let mut r = Report::default();
    authz::validate(ap, &mut r);
    // Istio prefixes its messages with "invalid policy NAME.NAMESPACE:".
    r.finish(format!(
        "AuthorizationPolicy {}/{} (invalid policy {}.{})",
        ap.meta.namespace, ap.meta.name, ap.meta.name, ap.meta.namespace
    ))
}

/// `Kind namespace/name` for messages.
pub(crate) fn object(kind: &str, meta: &super::Meta) -> String {
    format!("{kind} {}/{}", meta.namespace, meta.name)
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
