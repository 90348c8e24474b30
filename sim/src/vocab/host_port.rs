//! A request's destination as a client writes it (`svc`, `svc.ns`, `svc.ns.svc`,
//! `svc.ns.svc.cluster.local`, or any other DNS name, then `:PORT`), parsed once into the
//! Service it names or the external host. The Service forms are the Kubernetes DNS search path a
//! pod's `resolv.conf` gives it (`<ns>.svc.cluster.local`, `svc.cluster.local`, `cluster.local`);
//! any other name can only be a ServiceEntry host (`policy::resolve_destination` looks the
//! Service forms up first, as the search path does, then the ServiceEntry hosts).

use std::fmt;
use std::str::FromStr;

/// The cluster's DNS domain (kubelet `--cluster-domain`; Istio's default `cluster.local`).
pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// `HOST:PORT` naming a Service port or a ServiceEntry host's port. The default (empty, port 0)
/// names nothing; it only fills `RequestSpec::default()`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HostPort {
    /// The text as written, for messages that quote it.
    text: String,
    /// The host, lower-cased and without a trailing dot: what a ServiceEntry host is matched
    /// against.
    pub host: String,
    /// What the host's shape can name.
    pub target: HostTarget,
    /// The port.
    pub port: u16,
}

/// What a destination host's shape can name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HostTarget {
    /// One of the Kubernetes Service forms (`svc`, `svc.ns`, `svc.ns.svc`,
    /// `svc.ns.svc.cluster.local`); a two-label name may still be a ServiceEntry host when no
    /// such Service exists.
    Service {
        /// The Service name (lower-cased).
        service: String,
        /// The Service's namespace, when the host names one (else the caller's).
        namespace: Option<String>,
    },
    /// Any other DNS name: only a ServiceEntry host can name it.
    External,
}

impl Default for HostTarget {
    fn default() -> HostTarget {
        HostTarget::Service {
            service: String::new(),
            namespace: None,
        }
    }
}

impl HostPort {
    /// `SERVICE.NAMESPACE:PORT`, the form the matrix names a Service port by.
    pub fn service_port(service: &str, namespace: &str, port: u16) -> HostPort {
        let (service, namespace) = (service.to_ascii_lowercase(), namespace.to_ascii_lowercase());
        HostPort {
            text: format!("{service}.{namespace}:{port}"),
            host: format!("{service}.{namespace}"),
            target: HostTarget::Service {
                service,
                namespace: Some(namespace),
            },
            port,
        }
    }

    /// `HOST:PORT` for a ServiceEntry host, the form the matrix names it by.
    pub fn external(host: &str, port: u16) -> HostPort {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        HostPort {
            text: format!("{host}:{port}"),
            target: HostTarget::External,
            host,
            port,
        }
    }

    /// The Service name and namespace (if written) a Service-shaped host names.
    pub fn service(&self) -> Option<(&str, Option<&str>)> {
        match &self.target {
            HostTarget::Service { service, namespace } => {
                Some((service.as_str(), namespace.as_deref()))
            }
            HostTarget::External => None,
        }
    }

    /// The destination as the client wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The namespace of the Service, resolving a bare name in `caller_namespace`; `None` for an
    /// external host.
    pub fn namespace_or<'a>(&'a self, caller_namespace: &'a str) -> Option<&'a str> {
        self.service()
            .map(|(_, namespace)| namespace.unwrap_or(caller_namespace))
    }
}

/// Why a text is not `HOST:PORT` naming a Service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostPortError {
    /// No `:PORT`.
    #[error("destination `{0}`: expected HOST:PORT, e.g. httpbin.foo:8000")]
    MissingPort(String),
    /// The port is not in 1..65535.
    #[error("destination `{given}`: port `{port}` is not a number in 1..65535")]
    Port {
        /// The whole text.
        given: String,
        /// The text after the last `:`.
        port: String,
    },
    /// `a..b` or a host that starts with a dot.
    #[error("destination `{given}`: empty label in host `{host}`")]
    EmptyLabel {
        /// The whole text.
        given: String,
        /// The host, lower-cased, without a trailing dot.
        host: String,
    },
    /// A label that is not a DNS-1123 label (a ServiceEntry host is one).
    #[error("destination `{given}`: label `{label}` of host `{host}` is not a DNS name label")]
    Label {
        /// The whole text.
        given: String,
        /// The host, lower-cased.
        host: String,
        /// The offending label.
        label: String,
    },
}

impl FromStr for HostPort {
    type Err = HostPortError;

    fn from_str(text: &str) -> Result<HostPort, HostPortError> {
        let (host, port) = text
            .rsplit_once(':')
            .ok_or_else(|| HostPortError::MissingPort(text.to_string()))?;
        let port_number =
            port.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| HostPortError::Port {
                    given: text.to_string(),
                    port: port.to_string(),
                })?;
        // A trailing dot is the absolute form of the same name.
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let parts: Vec<&str> = host.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(HostPortError::EmptyLabel {
                given: text.to_string(),
                host,
            });
        }
        if let Some(label) = parts.iter().find(|p| !is_host_label(p)) {
            return Err(HostPortError::Label {
                given: text.to_string(),
                label: (*label).to_string(),
                host: host.clone(),
            });
        }
        let service = |svc: &str, ns: Option<&str>| HostTarget::Service {
            service: svc.to_string(),
            namespace: ns.map(str::to_string),
        };
        let target = match parts.as_slice() {
            [svc] => service(svc, None),
            [svc, ns] | [svc, ns, "svc"] => service(svc, Some(ns)),
            [svc, ns, "svc", rest @ ..] if rest.join(".") == CLUSTER_DOMAIN => {
                service(svc, Some(ns))
            }
            _ => HostTarget::External,
        };
        Ok(HostPort {
            text: text.to_string(),
            host: host.clone(),
            target,
            port: port_number,
        })
    }
}

/// A DNS label as a host name may have it: letters, digits, `-` and (for names such as
/// `_tcp`) `_`, at most 63 characters.
fn is_host_label(label: &str) -> bool {
    label.len() <= 63
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::{HostPort, HostPortError, HostTarget};

    #[test]
    fn each_service_host_form_names_the_same_service_port() {
        let cases = [
            ("httpbin:8000", None),
            ("httpbin.foo:8000", Some("foo")),
            ("httpbin.foo.svc:8000", Some("foo")),
            ("httpbin.foo.svc.cluster.local:8000", Some("foo")),
            ("HTTPBIN.Foo.svc.cluster.local.:8000", Some("foo")),
        ];
        for (text, namespace) in cases {
            let hp: HostPort = text.parse().expect(text);
            assert_eq!(hp.service(), Some(("httpbin", namespace)), "{text}");
            assert_eq!(hp.port, 8000, "{text}");
            assert_eq!(hp.to_string(), text);
        }
    }

    #[test]
    fn malformed_destinations_are_rejected_by_reason() {
        let port = |given: &str, port: &str| HostPortError::Port {
            given: given.into(),
            port: port.into(),
        };
        let cases = [
            ("httpbin", HostPortError::MissingPort("httpbin".into())),
            ("httpbin:http", port("httpbin:http", "http")),
            ("httpbin:0", port("httpbin:0", "0")),
            ("httpbin:70000", port("httpbin:70000", "70000")),
            (
                "httpbin..Foo:80",
                HostPortError::EmptyLabel {
                    given: "httpbin..Foo:80".into(),
                    host: "httpbin..foo".into(),
                },
            ),
            (
                "api/x.example.com:443",
                HostPortError::Label {
                    given: "api/x.example.com:443".into(),
                    host: "api/x.example.com".into(),
                    label: "api/x".into(),
                },
            ),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<HostPort>(), Err(want), "{text}");
        }
    }

    #[test]
    fn any_other_dns_name_is_an_external_host() {
        for text in [
            "api.example.com:443",
            "httpbin.foo.svc.example.com:80",
            "API.Example.com.:443",
        ] {
            let hp: HostPort = text.parse().expect(text);
            assert_eq!(hp.target, HostTarget::External, "{text}");
            assert_eq!(hp.service(), None, "{text}");
            assert_eq!(hp.to_string(), text);
        }
        let hp: HostPort = "API.Example.com.:443".parse().expect("host");
        assert_eq!(hp.host, "api.example.com");
        assert_eq!(
            HostPort::external("api.example.com", 443),
            "api.example.com:443".parse().expect("host")
        );
    }
}
