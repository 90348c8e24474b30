//! `NAMESPACE/WORKLOAD`, as scenarios, the CLI and findings name a workload: validated once
//! here, then carried typed.

use std::fmt;
use std::str::FromStr;

/// A DNS-1123 label as Istio's `labels.IsDNS1123Label` checks it (`pkg/config/labels`): 1-63
/// of `[A-Za-z0-9-]`, alphanumeric at both ends (Istio's pattern admits upper case).
pub fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A DNS-1123 subdomain (dot-separated labels, at most 253 bytes): what Kubernetes allows as
/// the name of a Pod or a Deployment.
fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns1123_label)
}

/// One workload: a namespace (a DNS-1123 label) and a Deployment's or Pod's name. The default
/// (both empty) names no workload; it only fills `RequestSpec::default()`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct WorkloadRef {
    /// Namespace.
    pub namespace: String,
    /// Workload (Deployment, StatefulSet, ..., or Pod) name.
    pub name: String,
}

/// Why a text is not `NAMESPACE/WORKLOAD`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkloadRefError {
    /// No `/` between namespace and name.
    #[error("{0:?} is not NAMESPACE/WORKLOAD")]
    MissingSlash(String),
    /// The namespace is not a DNS-1123 label.
    #[error("{given:?}: namespace {namespace:?} is not a DNS-1123 label")]
    Namespace {
        /// The whole text.
        given: String,
        /// The namespace part.
        namespace: String,
    },
    /// The name is not a DNS-1123 subdomain.
    #[error("{given:?}: workload name {name:?} is not a DNS-1123 name")]
    Name {
        /// The whole text.
        given: String,
        /// The name part.
        name: String,
    },
}

impl WorkloadRef {
    /// `namespace/name`, unchecked (both come from loaded resources).
    pub fn new(namespace: &str, name: &str) -> WorkloadRef {
        WorkloadRef {
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

impl fmt::Display for WorkloadRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

impl FromStr for WorkloadRef {
    type Err = WorkloadRefError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (namespace, name) = s
            .split_once('/')
            .ok_or_else(|| WorkloadRefError::MissingSlash(s.to_string()))?;
        if !is_dns1123_label(namespace) {
            return Err(WorkloadRefError::Namespace {
                given: s.to_string(),
                namespace: namespace.to_string(),
            });
        }
        if !is_dns1123_subdomain(name) {
            return Err(WorkloadRefError::Name {
                given: s.to_string(),
                name: name.to_string(),
            });
        }
        Ok(WorkloadRef::new(namespace, name))
    }
}

serde_as_string!(WorkloadRef);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workload_ref_round_trips_through_display_fromstr_and_serde() {
        for text in ["foo/sleep", "default/httpbin-v1", "foo/sleep-1.default"] {
            let r: WorkloadRef = text.parse().unwrap();
            assert_eq!(r.to_string(), text);
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<WorkloadRef>(&json).unwrap(), r);
        }
    }

    #[test]
    fn malformed_workload_refs_are_rejected_with_the_part_at_fault() {
        use WorkloadRefError::*;
        let ns = |given: &str, namespace: &str| Namespace {
            given: given.into(),
            namespace: namespace.into(),
        };
        let name = |given: &str, n: &str| Name {
            given: given.into(),
            name: n.into(),
        };
        let cases = [
            ("sleep", MissingSlash("sleep".into())),
            ("", MissingSlash(String::new())),
            ("/sleep", ns("/sleep", "")),
            ("-foo/sleep", ns("-foo/sleep", "-foo")),
            ("f.o/sleep", ns("f.o/sleep", "f.o")),
            ("foo/", name("foo/", "")),
            ("foo/a/b", name("foo/a/b", "a/b")),
            ("foo/sleep_1", name("foo/sleep_1", "sleep_1")),
            ("foo/a..b", name("foo/a..b", "a..b")),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<WorkloadRef>(), Err(want), "{text}");
        }
        assert!(serde_json::from_str::<WorkloadRef>("\"sleep\"").is_err());
    }
}
