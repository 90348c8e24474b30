//! DestinationRule host handling: short names and most-specific host matching.

use std::net::IpAddr;

use crate::vocab::CLUSTER_DOMAIN;

/// `ResolveShortnameToFQDN` (`pilot/pkg/model/config.go`): a host without a dot is a short
/// Service name in the rule's own namespace; anything with a dot (`reviews.foo` included), `*`
/// and IP addresses are taken as written.
pub(crate) fn resolve_short_host(host: &str, rule_namespace: &str) -> String {
    if host.is_empty() || host == "*" || host.contains('.') || host.parse::<IpAddr>().is_ok() {
        return host.to_string();
    }
    format!("{host}.{rule_namespace}.svc.{CLUSTER_DOMAIN}")
}

/// Whether a (possibly wildcard) rule host matches a concrete service host.
fn matches(rule_host: &str, service_host: &str) -> bool {
    match rule_host.strip_prefix('*') {
        Some(suffix) => service_host.len() > suffix.len() && service_host.ends_with(suffix),
        None => rule_host.eq_ignore_ascii_case(service_host),
    }
}

/// `MostSpecificHostMatch` (`pilot/pkg/model/push_context.go`): an exact host beats wildcards;
/// among matching wildcards the longest wins (`*.app.org` beats `*.org`).
pub(crate) fn most_specific_host_match<'a>(
    service_host: &str,
    rule_hosts: impl Iterator<Item = &'a str>,
) -> Option<String> {
    let mut best: Option<&str> = None;
    for h in rule_hosts.filter(|h| matches(h, service_host)) {
        let better = match best {
            None => true,
            Some(b) => {
                let (h_exact, b_exact) = (!h.starts_with('*'), !b.starts_with('*'));
                (h_exact && !b_exact)
                    || (h_exact == b_exact && (h.len() > b.len() || (h.len() == b.len() && h < b)))
            }
        };
        if better {
            best = Some(h);
        }
    }
    best.map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_hosts_resolve_in_the_rule_namespace_only_without_dots() {
        let cases = [
            ("reviews", "foo", "reviews.foo.svc.cluster.local"),
            ("reviews.foo", "bar", "reviews.foo"),
            (
                "reviews.foo.svc.cluster.local",
                "bar",
                "reviews.foo.svc.cluster.local",
            ),
            ("*", "bar", "*"),
            ("*.foo.svc.cluster.local", "bar", "*.foo.svc.cluster.local"),
            ("10.0.0.1", "bar", "10.0.0.1"),
        ];
        for (host, ns, want) in cases {
            assert_eq!(resolve_short_host(host, ns), want, "{host} in {ns}");
        }
    }

    #[test]
    fn exact_beats_wildcard_and_longest_wildcard_wins() {
        let svc = "reviews.foo.svc.cluster.local";
        let cases: &[(&[&str], Option<&str>)] = &[
            (&[], None),
            (
                &["*", "*.cluster.local", "*.foo.svc.cluster.local"],
                Some("*.foo.svc.cluster.local"),
            ),
            (&["*.local", svc, "*.foo.svc.cluster.local"], Some(svc)),
            (&["*"], Some("*")),
            (
                &["ratings.foo.svc.cluster.local", "*.bar.svc.cluster.local"],
                None,
            ),
            (&["reviews.foo"], None),
            (&["*.reviews.foo.svc.cluster.local"], None),
        ];
        for (hosts, want) in cases {
            assert_eq!(
                most_specific_host_match(svc, hosts.iter().copied()).as_deref(),
                *want,
                "{hosts:?}"
            );
        }
    }
}
