//! `ValidateAuthorizationPolicy` (istio `pkg/config/validation/validation.go`).

use super::security::{attribute, empty_values, path_templates, service_accounts, trust_domains};
use super::{action_name, ips, ports, source_field_names, spec, workload_selector, Report};
use crate::model::locate::FieldPath;
use crate::model::{AuthorizationPolicy, AuthzAction, AuthzCondition, AuthzOperation, AuthzSource};

/// Collects every AuthorizationPolicy problem and warning into `r`.
pub(super) fn validate(ap: &AuthorizationPolicy, r: &mut Report) {
    let s = &ap.spec;
    let has_target_refs = s.target_refs.as_ref().is_some_and(|t| !t.is_empty());
    let selector_kinds = usize::from(s.selector.is_some())
        + usize::from(s.target_ref.is_some())
        + usize::from(has_target_refs);
    if selector_kinds > 1 {
        r.error(
            &spec(),
            "only one of targetRefs or workloadSelector can be set",
        );
    }
    workload_selector(s.selector.as_ref(), &spec().key("selector"), r);
    if let Some(t) = &s.target_ref {
        target_ref(t, &spec().key("targetRef"), r);
    }
    for (i, t) in s.target_refs.iter().flatten().enumerate() {
        target_ref(t, &spec().key("targetRefs").index(i), r);
    }

    if s.action == AuthzAction::Custom {
        if s.rules.is_none() {
            r.error(
                &spec(),
                "CUSTOM action without `rules` is meaningless as it will never be triggered, add an \
                 empty rule `{}` if you want it be triggered for every request",
            );
        } else if s.provider.as_ref().is_none_or(|p| p.name.is_empty()) {
            r.error(&spec().key("provider"), "`provider.name` must not be empty");
        }
        for (i, rule) in s.rules.iter().flatten().enumerate() {
            let rp = spec().key("rules").index(i);
            for (j, from) in rule.from.iter().flatten().enumerate() {
                let Some(src) = &from.source else { continue };
                for (name, values) in source_field_names(src) {
                    let unsupported = !matches!(
                        name,
                        "ipBlocks" | "notIpBlocks" | "remoteIpBlocks" | "notRemoteIpBlocks"
                    );
                    if unsupported && values.is_some_and(|v| !v.is_empty()) {
                        let field = format!("From.{}{}", name[..1].to_uppercase(), &name[1..]);
                        r.error(
                            &rp.key("from").index(j).key("source").key(name),
                            format!("{field} is currently not supported with CUSTOM action"),
                        );
                    }
                }
            }
            for (j, when) in rule.when.iter().flatten().enumerate() {
                let k = when.key.as_str();
                if matches!(
                    k,
                    "source.namespace"
                        | "source.serviceAccount"
                        | "source.trustDomain"
                        | "source.principal"
                ) || k.starts_with("request.auth.")
                {
                    r.error(
                        &rp.key("when").index(j).key("key"),
                        format!("{k} is currently not supported with CUSTOM action"),
                    );
                }
            }
        }
    }
    if s.provider.is_some() && s.action != AuthzAction::Custom {
        r.error(
            &spec().key("provider"),
            format!(
                "`provider` must not be with non CUSTOM action, found {}",
                action_name(s.action)
            ),
        );
    }
    if s.action == AuthzAction::Deny && s.rules.is_none() {
        r.error(
            &spec(),
            "DENY action without `rules` is meaningless as it will never be triggered, add an empty \
             rule `{}` if you want it be triggered for every request",
        );
    }

    if s.action == AuthzAction::Deny && s.rules.as_ref().is_some_and(Vec::is_empty) {
        // Go decodes `rules: []` to an empty, non-nil list, which the webhook lets through.
        r.warn(
            &spec().key("rules"),
            "DENY with an empty `rules` list never matches; add an empty rule `{}` to deny every request",
        );
    }
    for (i, rule) in s.rules.iter().flatten().enumerate() {
        let rp = spec().key("rules").index(i);
        if rule.from.as_ref().is_some_and(|f| f.is_empty()) {
            r.error(
                &rp.key("from"),
                format!("`from` must not be empty, found at rule {i}"),
            );
        }
        let (mut from_exists, mut to_exists) = (false, false);
        let (mut tcp_in_from, mut tcp_in_to) = (false, false);
        for (j, from) in rule.from.iter().flatten().enumerate() {
            let fp = rp.key("from").index(j);
            match &from.source {
                None => r.error(
                    &fp,
                    format!("`from.source` must not be nil, found at rule {i}"),
                ),
                Some(src) => {
                    from_exists = true;
                    tcp_in_from |= source(src, i, &fp.key("source"), r);
                }
            }
        }
        if rule.to.as_ref().is_some_and(|t| t.is_empty()) {
            r.error(
                &rp.key("to"),
                format!("`to` must not be empty, found at rule {i}"),
            );
        }
        for (j, to) in rule.to.iter().flatten().enumerate() {
            let tp = rp.key("to").index(j);
            match &to.operation {
                None => r.error(
                    &tp,
                    format!("`to.operation` must not be nil, found at rule {i}"),
                ),
                Some(op) => {
                    to_exists = true;
                    tcp_in_to |= operation(op, i, &tp.key("operation"), r);
                }
            }
        }
        for (j, cond) in rule.when.iter().flatten().enumerate() {
            condition(cond, &rp.key("when").index(j), r);
        }
        // Istio warns: HTTP-only fields in a DENY rule are dropped on TCP ports, so the rule
        // denies all TCP traffic in scope.
        if ((from_exists && !to_exists && !tcp_in_from) || (to_exists && !tcp_in_to))
            && s.action == AuthzAction::Deny
        {
            r.warn(
                &rp,
                "configured AuthorizationPolicy will deny all traffic to TCP ports under its scope due \
                 to the use of only HTTP attributes in a DENY rule; it is recommended to explicitly \
                 specify the port",
            );
        }
    }
}

fn target_ref(value: &serde_yaml::Value, path: &FieldPath, r: &mut Report) {
    let get = |k: &str| value.get(k).and_then(|v| v.as_str()).unwrap_or("");
    if get("name").is_empty() {
        r.error(path, "targetRef name must be set");
    }
    if !get("namespace").is_empty() {
        r.error(
            path,
            "targetRef namespace must not be set; cross namespace referencing is not supported",
        );
    }
    let group = if get("group").is_empty() {
        "core"
    } else {
        get("group")
    };
    let allowed = matches!(
        (group, get("kind")),
        ("core", "Service")
            | ("networking.istio.io", "ServiceEntry")
            | ("gateway.networking.k8s.io", "Gateway")
            | ("gateway.networking.k8s.io", "GatewayClass")
    );
    if !allowed {
        r.error(
            path,
            format!(
                "targetRef must be to one of core/Service, networking.istio.io/ServiceEntry, \
                 gateway.networking.k8s.io/Gateway, gateway.networking.k8s.io/GatewayClass but was {}/{}",
                get("group"),
                get("kind")
            ),
        );
    }
}

/// Checks one `from.source`; returns whether it names TCP-capable fields.
fn source(src: &AuthzSource, rule: usize, path: &FieldPath, r: &mut Report) -> bool {
    let len = |v: &Option<Vec<String>>| v.as_ref().map_or(0, Vec::len);
    if len(&src.principals)
        + len(&src.not_principals)
        + len(&src.namespaces)
        + len(&src.not_namespaces)
        > 0
        && len(&src.service_accounts) + len(&src.not_service_accounts) > 0
    {
        r.error(
            path,
            format!(
                "cannot set serviceAccounts with namespaces or principals, found at rule {rule}"
            ),
        );
    }
    if source_field_names(src)
        .iter()
        .all(|(_, v)| v.is_none_or(|v| v.is_empty()))
    {
        r.error(
            path,
            format!("`from.source` must not be empty, found at rule {rule}"),
        );
    }
    for (name, values) in [
        ("ipBlocks", &src.ip_blocks),
        ("notIpBlocks", &src.not_ip_blocks),
        ("remoteIpBlocks", &src.remote_ip_blocks),
        ("notRemoteIpBlocks", &src.not_remote_ip_blocks),
    ] {
        ips(values.as_deref().unwrap_or_default(), &path.key(name), r);
    }
    for (name, values) in source_field_names(src) {
        let Some(values) = values else { continue };
        let fp = path.key(name);
        let go_name = format!("{}{}", name[..1].to_uppercase(), &name[1..]);
        match name {
            "serviceAccounts" | "notServiceAccounts" => service_accounts(values, &go_name, &fp, r),
            "trustDomains" | "notTrustDomains" => trust_domains(values, &go_name, &fp, r),
            _ => empty_values(values, &go_name, &fp, r),
        }
    }
    [
        &src.principals,
        &src.not_principals,
        &src.ip_blocks,
        &src.not_ip_blocks,
        &src.namespaces,
        &src.not_namespaces,
        &src.remote_ip_blocks,
        &src.not_remote_ip_blocks,
        &src.service_accounts,
        &src.not_service_accounts,
    ]
    .iter()
    .any(|v| v.is_some())
}

/// Checks one `to.operation`; returns whether it names ports (the only TCP field).
fn operation(op: &AuthzOperation, rule: usize, path: &FieldPath, r: &mut Report) -> bool {
    let fields = [
        ("ports", &op.ports),
        ("methods", &op.methods),
        ("paths", &op.paths),
        ("hosts", &op.hosts),
        ("notPorts", &op.not_ports),
        ("notMethods", &op.not_methods),
        ("notPaths", &op.not_paths),
        ("notHosts", &op.not_hosts),
    ];
    if fields
        .iter()
        .all(|(_, v)| v.as_ref().is_none_or(|v| v.is_empty()))
    {
        r.error(
            path,
            format!("`to.operation` must not be empty, found at rule {rule}"),
        );
    }
    ports(
        op.ports.as_deref().unwrap_or_default(),
        &path.key("ports"),
        r,
    );
    ports(
        op.not_ports.as_deref().unwrap_or_default(),
        &path.key("notPorts"),
        r,
    );
    for (name, values) in fields {
        let go_name = format!("{}{}", name[..1].to_uppercase(), &name[1..]);
        empty_values(
            values.as_deref().unwrap_or_default(),
            &go_name,
            &path.key(name),
            r,
        );
    }
    for (name, values) in [("paths", &op.paths), ("notPaths", &op.not_paths)] {
        let go_name = format!("{}{}", name[..1].to_uppercase(), &name[1..]);
        path_templates(
            values.as_deref().unwrap_or_default(),
            &go_name,
            &path.key(name),
            r,
        );
    }
    op.ports.is_some() || op.not_ports.is_some()
}

fn condition(cond: &AuthzCondition, path: &FieldPath, r: &mut Report) {
    let key = cond.key.as_str();
    if key.is_empty() {
        r.error(&path.key("key"), "`key` must not be empty");
        return;
    }
    let values = cond.values.as_deref().unwrap_or_default();
    let not_values = cond.not_values.as_deref().unwrap_or_default();
    if values.is_empty() && not_values.is_empty() {
        r.error(
            path,
            format!("at least one of `values` or `notValues` must be set for key {key}"),
        );
        return;
    }
    if let Err(m) = attribute(key, values) {
        r.error(
            &path.key("values"),
            format!("invalid `value` for `key` {key}: {m}"),
        );
    }
    if let Err(m) = attribute(key, not_values) {
        r.error(
            &path.key("notValues"),
            format!("invalid `notValue` for `key` {key}: {m}"),
        );
    }
}
