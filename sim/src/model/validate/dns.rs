//! DNS-1123 name checks as `pkg/config/labels` and `agent.ValidateWildcardDomain` apply them.

pub(crate) use crate::vocab::is_dns1123_label;

/// `labels.IsWildcardDNS1123Label`: `*`, or a label optionally prefixed by `*` or `*-`.
fn is_wildcard_dns1123_label(s: &str) -> bool {
    if s.len() > 63 {
        return false;
    }
    s == "*"
        || is_dns1123_label(s)
        || s.strip_prefix("*-").is_some_and(is_dns1123_label)
        || s.strip_prefix('*').is_some_and(is_dns1123_label)
}

/// `agent.ValidateWildcardDomain`: the DestinationRule `host` check.
pub(crate) fn wildcard_domain(domain: &str) -> Result<(), String> {
    if domain.len() > 255 {
        return Err(format!("domain name {domain:?} too long (max 255)"));
    }
    if domain.is_empty() {
        return Err("empty domain name not allowed".into());
    }
    let (first, rest) = match domain.split_once('.') {
        Some((f, r)) => (f, Some(r)),
        None => (domain, None),
    };
    if !is_wildcard_dns1123_label(first) {
        return Err(format!(
            "domain name {domain:?} invalid (label {first:?} invalid)"
        ));
    }
    let Some(rest) = rest else { return Ok(()) };
    let parts: Vec<&str> = rest.split('.').collect();
    let tld = parts.last().copied().unwrap_or("");
    if !tld.is_empty() && tld.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "domain name {rest:?} invalid (top level domain {tld:?} cannot be all-numeric)"
        ));
    }
    for (i, label) in parts.iter().enumerate() {
        // A trailing dot (`istio.io.`) is allowed.
        if i == parts.len() - 1 && label.is_empty() {
            return Ok(());
        }
        if !is_dns1123_label(label) {
            return Err(format!(
                "domain name {rest:?} invalid (label {label:?} invalid)"
            ));
        }
    }
    Ok(())
}

/// A label value (`labels.Instance.Validate`): empty, or a qualified name.
pub(crate) fn label_value(value: &str) -> Result<(), String> {
    let ok = value.is_empty()
        || (value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            && value.as_bytes()[0].is_ascii_alphanumeric()
            && value.as_bytes()[value.len() - 1].is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!("invalid tag value: {value:?}"))
    }
}

/// A Kubernetes label key: optional DNS-subdomain prefix and a 1-63 character name.
pub(crate) fn label_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric();
    let prefix_ok = prefix
        .is_none_or(|p| !p.is_empty() && p.len() <= 253 && p.split('.').all(is_dns1123_label));
    if name_ok && prefix_ok {
        Ok(())
    } else {
        Err(format!("invalid tag key: {key:?}"))
    }
}
