//! Object names as the Kubernetes API server validates them (`IsDNS1123Label`,
//! `IsDNS1123Subdomain`, `IsDNS1035Label` in `k8s.io/apimachinery/pkg/util/validation`), so a
//! name kubectl would refuse never reaches meshsim's tables, CSV or DOT output, and a name with a
//! newline cannot forge a line there.

use crate::vocab::Kind;

/// Which naming rule a kind's `metadata.name` follows (`ValidateObjectMeta` with the kind's
/// `ValidateNameFunc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameRule {
    /// RFC 1123 label: Namespaces (and every `metadata.namespace`).
    Dns1123Label,
    /// RFC 1035 label: Services (`ValidateServiceName`).
    Dns1035Label,
    /// RFC 1123 subdomain: everything else meshsim loads (Pods, controllers, ServiceAccounts,
    /// Istio resources).
    Dns1123Subdomain,
}

impl NameRule {
    /// The rule for `kind`'s names.
    pub(crate) fn of(kind: Kind) -> NameRule {
        match kind {
            Kind::Namespace => NameRule::Dns1123Label,
            Kind::Service => NameRule::Dns1035Label,
            _ => NameRule::Dns1123Subdomain,
        }
    }

    /// `None` when `name` is valid; else the API server's message.
    pub(crate) fn check(self, name: &str) -> Option<String> {
        let (max, ok, what, example, regex) = match self {
            NameRule::Dns1123Label => (
                63,
                is_label(name, false),
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters \
                 or '-', and must start and end with an alphanumeric character",
                "'my-name',  or '123-abc'",
                "[a-z0-9]([-a-z0-9]*[a-z0-9])?",
            ),
            NameRule::Dns1035Label => (
                63,
                is_label(name, true),
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', \
                 start with an alphabetic character, and end with an alphanumeric character",
                "'my-name',  or 'abc-123'",
                "[a-z]([-a-z0-9]*[a-z0-9])?",
            ),
            NameRule::Dns1123Subdomain => (
                253,
                name.split('.').all(|l| is_label(l, false)),
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric \
                 characters, '-' or '.', and must start and end with an alphanumeric character",
                "'example.com'",
                "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
            ),
        };
        let shown = format!("{name:?}");
        if name.len() > max {
            return Some(format!(
                "Invalid value: {shown}: must be no more than {max} characters"
            ));
        }
        (!ok).then(|| {
            format!(
                "Invalid value: {shown}: {what} (e.g. {example}, regex used for validation is \
                 '{regex}')"
            )
        })
    }
}

/// One DNS label as the API server checks it: lower-case alphanumerics and inner `-` (Istio's
/// own `labels.IsDNS1123Label`, used for hosts, also accepts upper case); RFC 1035 also starts
/// with a letter.
fn is_label(label: &str, letter_first: bool) -> bool {
    let bytes = label.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let first_ok = if letter_first {
        first.is_ascii_lowercase()
    } else {
        alnum(first)
    };
    first_ok && alnum(last) && bytes.len() <= 63 && bytes.iter().all(|b| alnum(b) || *b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_api_servers_rules() {
        let cases = [
            (NameRule::Dns1123Label, "foo", true),
            (NameRule::Dns1123Label, "123-abc", true),
            (NameRule::Dns1123Label, "Foo", false),
            (NameRule::Dns1123Label, "foo_bar", false),
            (NameRule::Dns1123Label, "foo.bar", false),
            (NameRule::Dns1123Label, "-foo", false),
            (NameRule::Dns1123Label, "", false),
            (NameRule::Dns1035Label, "httpbin", true),
            (NameRule::Dns1035Label, "1httpbin", false),
            (NameRule::Dns1123Subdomain, "httpbin.v1", true),
            (NameRule::Dns1123Subdomain, "web\nx", false),
            (NameRule::Dns1123Subdomain, "a..b", false),
            (NameRule::Dns1123Subdomain, "a.", false),
        ];
        for (rule, name, valid) in cases {
            assert_eq!(rule.check(name).is_none(), valid, "{rule:?} {name:?}");
        }
        let long = "a".repeat(64);
        assert!(NameRule::Dns1123Label
            .check(&long)
            .is_some_and(|m| m.contains("no more than 63")));
        assert!(NameRule::Dns1123Subdomain.check(&long).is_some());
    }
}
