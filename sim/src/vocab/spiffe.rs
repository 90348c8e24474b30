//! Workload identity: one parser and one formatter for `spiffe://TD/ns/NS/sa/SA` and for the
//! principal Istio's RBAC writes (the same without `spiffe://`), and the one place that knows
//! a mesh's trust domain and its aliases name the same identities.

use std::fmt;
use std::str::FromStr;

const SCHEME: &str = "spiffe://";

/// A SPIFFE identity `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`
/// (`pkg/spiffe/spiffe.go` `Identity`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SpiffeId {
    /// Trust domain, e.g. `cluster.local`.
    pub trust_domain: String,
    /// Namespace.
    pub namespace: String,
    /// Service account.
    pub service_account: String,
}

/// Why a text is not a SPIFFE identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpiffeIdError {
    /// The URI form was required and the text has no `spiffe://`.
    #[error("{0:?} is not a spiffe:// URI")]
    MissingScheme(String),
    /// The path is not `<td>/ns/<namespace>/sa/<sa>` with non-empty parts.
    #[error("{0:?} is not of the form spiffe://<trust-domain>/ns/<namespace>/sa/<sa>")]
    Malformed(String),
}

impl SpiffeId {
    /// The identity of service account `sa` in `namespace` under `trust_domain`.
    pub fn new(trust_domain: &str, namespace: &str, service_account: &str) -> SpiffeId {
        SpiffeId {
            trust_domain: trust_domain.to_string(),
            namespace: namespace.to_string(),
            service_account: service_account.to_string(),
        }
    }

    /// The Istio principal form, without the scheme: `<td>/ns/<ns>/sa/<sa>`.
    pub fn principal(&self) -> String {
        format!(
            "{}/ns/{}/sa/{}",
            self.trust_domain, self.namespace, self.service_account
        )
    }

    /// Parses a principal as policies and RBAC write it (`<td>/ns/<ns>/sa/<sa>`); a leading
    /// `spiffe://` is accepted too, since access logs and certificates carry the URI form.
    pub fn from_principal(text: &str) -> Result<SpiffeId, SpiffeIdError> {
        parse_path(without_scheme(text), text)
    }
}

/// The principal form of an identity or URI: `text` without a leading `spiffe://`.
pub fn without_scheme(text: &str) -> &str {
    text.strip_prefix(SCHEME).unwrap_or(text)
}

fn parse_path(path: &str, original: &str) -> Result<SpiffeId, SpiffeIdError> {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        [td, "ns", ns, "sa", sa] if !td.is_empty() && !ns.is_empty() && !sa.is_empty() => {
            Ok(SpiffeId::new(td, ns, sa))
        }
        _ => Err(SpiffeIdError::Malformed(original.to_string())),
    }
}

impl fmt::Display for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}", self.principal())
    }
}

impl FromStr for SpiffeId {
    type Err = SpiffeIdError;

    /// Parses the URI form; the scheme is required.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let path = s
            .strip_prefix(SCHEME)
            .ok_or_else(|| SpiffeIdError::MissingScheme(s.to_string()))?;
        parse_path(path, s)
    }
}

serde_as_string!(SpiffeId);

/// A mesh's trust domain and its `trustDomainAliases`: identities that differ only in which
/// of these they name are the same workload (`spiffe.ExpandWithTrustDomains`,
/// `pkg/spiffe/spiffe.go`).
#[derive(Debug, Clone, Copy)]
pub struct TrustDomains<'a> {
    /// The mesh's own trust domain.
    pub primary: &'a str,
    /// `meshConfig.trustDomainAliases`.
    pub aliases: &'a [String],
}

impl<'a> TrustDomains<'a> {
    /// A mesh's `trustDomain` and `trustDomainAliases`.
    pub fn new(primary: &'a str, aliases: &'a [String]) -> TrustDomains<'a> {
        TrustDomains { primary, aliases }
    }

    /// The primary domain, then the aliases.
    pub fn iter(self) -> impl Iterator<Item = &'a str> {
        std::iter::once(self.primary).chain(self.aliases.iter().map(String::as_str))
    }

    /// Whether `td` is the mesh's trust domain or one of its aliases.
    pub fn contains(self, td: &str) -> bool {
        self.iter().any(|t| t == td)
    }

    /// The identity of `namespace`/`service_account` in every trust domain, primary first.
    pub fn identities(self, namespace: &str, service_account: &str) -> Vec<SpiffeId> {
        self.iter()
            .map(|td| SpiffeId::new(td, namespace, service_account))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_round_trips_through_display_fromstr_serde_and_principal() {
        let id = SpiffeId::new("cluster.local", "foo", "httpbin");
        let uri = "spiffe://cluster.local/ns/foo/sa/httpbin";
        assert_eq!(id.to_string(), uri);
        assert_eq!(uri.parse::<SpiffeId>(), Ok(id.clone()));
        assert_eq!(id.principal(), "cluster.local/ns/foo/sa/httpbin");
        assert_eq!(SpiffeId::from_principal(&id.principal()), Ok(id.clone()));
        assert_eq!(SpiffeId::from_principal(uri), Ok(id.clone()));
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{uri}\""));
        assert_eq!(serde_json::from_str::<SpiffeId>(&json).unwrap(), id);
    }

    #[test]
    fn malformed_identities_are_rejected_with_the_reason() {
        use SpiffeIdError::*;
        let cases: &[(&str, SpiffeIdError)] = &[
            (
                "cluster.local/ns/foo/sa/x",
                MissingScheme("cluster.local/ns/foo/sa/x".into()),
            ),
            ("", MissingScheme(String::new())),
            ("spiffe://", Malformed("spiffe://".into())),
            ("spiffe://td/ns/foo", Malformed("spiffe://td/ns/foo".into())),
            (
                "spiffe://td/ns//sa/x",
                Malformed("spiffe://td/ns//sa/x".into()),
            ),
            (
                "spiffe:///ns/a/sa/x",
                Malformed("spiffe:///ns/a/sa/x".into()),
            ),
            (
                "spiffe://td/sa/x/ns/a",
                Malformed("spiffe://td/sa/x/ns/a".into()),
            ),
            (
                "spiffe://td/ns/a/sa/x/extra",
                Malformed("spiffe://td/ns/a/sa/x/extra".into()),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<SpiffeId>().as_ref(), Err(want), "{text}");
        }
        assert_eq!(
            SpiffeId::from_principal("td/ns/a"),
            Err(Malformed("td/ns/a".into()))
        );
        assert!(serde_json::from_str::<SpiffeId>("\"td/ns/a/sa/b\"").is_err());
    }

    #[test]
    fn trust_domain_aliases_name_the_same_workload() {
        let aliases = vec!["old.local".to_string()];
        let tds = TrustDomains::new("new.local", &aliases);
        assert!(tds.contains("new.local") && tds.contains("old.local"));
        assert!(!tds.contains("other.local"));
        let ids: Vec<String> = tds
            .identities("foo", "sa")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            ids,
            [
                "spiffe://new.local/ns/foo/sa/sa",
                "spiffe://old.local/ns/foo/sa/sa"
            ]
        );
    }
}
