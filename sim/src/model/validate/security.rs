//! Value checks of istio `pkg/config/security/security.go`: condition attributes, service
//! accounts, trust domains, wildcards and path templates.

use super::{ips, ports, Report};
use crate::model::locate::FieldPath;

/// `security.ValidateAttribute`: the condition keys Istio knows, and their value formats.
pub(super) fn attribute(key: &str, values: &[String]) -> Result<(), String> {
    if values.iter().any(String::is_empty) {
        return Err(format!("empty value not allowed, found in {key}"));
    }
    let mut local = Report::default();
    let scratch = FieldPath::root();
    match key {
        k if k.starts_with("request.headers") => map_key(k),
        "source.ip" | "remote.ip" | "destination.ip" => {
            ips(values, &scratch, &mut local);
            first_error(local)
        }
        "destination.port" => {
            ports(values, &scratch, &mut local);
            first_error(local)
        }
        "source.serviceAccount" => {
            service_accounts(values, key, &scratch, &mut local);
            first_error(local)
        }
        "source.trustDomain" => wildcard_values(key, values),
        "source.namespace"
        | "source.principal"
        | "request.auth.principal"
        | "request.auth.audiences"
        | "request.auth.presenter"
        | "connection.sni" => Ok(()),
        k if k.starts_with("request.auth.claims")
            || k.starts_with("experimental.envoy.filters.") =>
        {
            map_key(k)
        }
        "destination.namespace" => Err(format!(
            "attribute {key} is replaced by the metadata.namespace"
        )),
        k if k.starts_with("destination.labels") => Err(format!(
            "attribute {key} is replaced by the workload selector"
        )),
        "destination.name" | "destination.user" => Err(format!(
            "deprecated attribute {key}: only supported in v1alpha1"
        )),
        _ => Err(format!("unknown attribute: {key}")),
    }
}

/// The first error of a scratch report, for checks that return one message.
pub(super) fn first_error(r: Report) -> Result<(), String> {
    match r.errors.into_iter().next() {
        Some(e) => Err(e.message),
        None => Ok(()),
    }
}

/// `validateMapKey`: `name[key]` with a non-empty key.
pub(super) fn map_key(key: &str) -> Result<(), String> {
    match key.find('[') {
        Some(open) if key.ends_with(']') && open > 0 && open < key.len() - 2 => Ok(()),
        _ => Err(format!("bad key ({key}): should have format a[b]")),
    }
}

/// `CheckEmptyValues`.
pub(super) fn empty_values(values: &[String], name: &str, path: &FieldPath, r: &mut Report) {
    if values.iter().any(String::is_empty) {
        r.error(path, format!("empty value not allowed, found in {name}"));
    }
}

/// `CheckWildcardValues`: at most one `*`, only at the start or the end.
pub(super) fn wildcard_values(name: &str, values: &[String]) -> Result<(), String> {
    for v in values {
        if v.is_empty() {
            return Err(format!("empty value not allowed, found in {name}"));
        }
        let count = v.matches('*').count();
        if count > 1 {
            return Err(format!(
                "at most one wildcard is allowed, found in {name}: {v:?}"
            ));
        }
        if count == 1 && v != "*" && !v.starts_with('*') && !v.ends_with('*') {
            return Err(format!(
                "wildcard is only allowed at the start or end, found in {name}: {v:?}"
            ));
        }
    }
    Ok(())
}

/// `CheckTrustDomainValues`: wildcard rules and no `/`.
pub(super) fn trust_domains(values: &[String], name: &str, path: &FieldPath, r: &mut Report) {
    if let Err(m) = wildcard_values(name, values) {
        r.error(path, m);
        return;
    }
    if let Some(v) = values.iter().find(|v| v.contains('/')) {
        r.error(
            path,
            format!("trust domain must not contain '/', found in {name}: {v:?}"),
        );
    }
}

/// `CheckServiceAccount`: `sa` or `ns/sa`, no wildcards, at most 16 values.
pub(super) fn service_accounts(values: &[String], name: &str, path: &FieldPath, r: &mut Report) {
    if values.len() > 16 {
        r.error(path, "may not have more than 16 values");
        return;
    }
    for v in values {
        let problem = if v.is_empty() {
            Some(format!("empty value not allowed, found in {name}"))
        } else if v.contains('*') {
            Some(format!("wildcard not allowed, found in {name}"))
        } else if v.matches('/').count() > 1 {
            Some(format!("expected format 'serviceAccount' or 'namespace/serviceAccount', found {v:?} in {name}"))
        } else if v.len() > 320 {
            Some(format!(
                "value cannot exceed 320 characters, found {v:?} in {name}"
            ))
        } else {
            match v.split_once('/') {
                Some(("", _)) => Some(format!(
                    "expected format 'serviceAccount' or 'namespace/serviceAccount', found empty namespace {v:?} in {name}"
                )),
                Some((_, "")) => Some(format!(
                    "expected format 'serviceAccount' or 'namespace/serviceAccount', found empty serviceAccount {v:?} in {name}"
                )),
                _ => None,
            }
        };
        if let Some(m) = problem {
            r.error(path, m);
            return;
        }
    }
}

/// `CheckValidPathTemplate`: `{*}` / `{**}` segments, `{**}` last, no stray braces.
pub(super) fn path_templates(paths: &[String], name: &str, path: &FieldPath, r: &mut Report) {
    for p in paths {
        let has_template = p.contains("{*}") || p.contains("{**}");
        let trimmed = p.trim_matches('/');
        let mut seen_any = false;
        for glob in trimmed.split('/') {
            if glob == "{*}" && !seen_any {
                continue;
            }
            if glob == "{**}" && !seen_any {
                seen_any = true;
                continue;
            }
            if glob == "{*}" || glob == "{**}" {
                r.error(path, format!("invalid or unsupported path {trimmed}, found in {name}. {{**}} is not the last operator"));
                return;
            }
            if glob.contains(['{', '}']) {
                r.error(
                    path,
                    format!("invalid or unsupported path {trimmed}, found in {name}. Contains '{{' or '}}' beyond a supported path template"),
                );
                return;
            }
            let literal = !glob.is_empty()
                && glob
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._~%!$&'()+,;:@=".contains(c));
            if has_template && !literal {
                r.error(
                    path,
                    format!("invalid or unsupported path {trimmed}, found in {name}. Contains segment {glob} with invalid string literal"),
                );
                return;
            }
        }
    }
}
