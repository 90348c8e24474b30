//! A request's destination as a client writes it (`svc`, `svc.ns`, `svc.ns.svc`,
//! `svc.ns.svc.cluster.local`, then `:PORT`), parsed once into the Service it names. This is
//! the Kubernetes DNS search path a pod's `resolv.conf` gives it (`<ns>.svc.cluster.local`,
//! `svc.cluster.local`, `cluster.local`), restricted to Service names.

use std::fmt;
use std::str::FromStr;

/// The cluster's DNS domain (kubelet `--cluster-domain`; Istio's default `cluster.local`).
pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// `HOST:PORT` naming a Service port; the namespace is absent when the host is a bare
/// Service name (it is then the caller's). The default (empty, port 0) names nothing; it only
/// fills `RequestSpec::default()`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HostPort {
    /// The text as written, for messages that quote it.
    text: String,
    /// The Service name (lower-cased).
    pub service: String,
    /// The Service's namespace, when the host names one.
    pub namespace: Option<String>,
    /// The Service port.
    pub port: u16,
}

impl HostPort {
    /// `SERVICE.NAMESPACE:PORT`, the form the matrix names a Service port by.
    pub fn service_port(service: &str, namespace: &str, port: u16) -> HostPort {
        HostPort {
            text: format!("{service}.{namespace}:{port}"),
            service: service.to_ascii_lowercase(),
            namespace: Some(namespace.to_ascii_lowercase()),
            port,
        }
    }

    /// The destination as the client wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The namespace of the Service, resolving a bare name in `caller_namespace`.
    pub fn namespace_or<'a>(&'a self, caller_namespace: &'a str) -> &'a str {
        self.namespace.as_deref().unwrap_or(caller_namespace)
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
    /// More labels than a Service name can have, or a domain other than the cluster's.
    #[error("destination `{0}`: expected svc, svc.ns, svc.ns.svc or svc.ns.svc.{CLUSTER_DOMAIN}")]
    Shape(String),
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
        let (service, namespace) = match parts.as_slice() {
            [svc] => (*svc, None),
            [svc, ns] | [svc, ns, "svc"] => (*svc, Some(*ns)),
            [svc, ns, "svc", rest @ ..] if rest.join(".") == CLUSTER_DOMAIN => (*svc, Some(*ns)),
            _ => return Err(HostPortError::Shape(text.to_string())),
        };
        Ok(HostPort {
            text: text.to_string(),
            service: service.to_string(),
            namespace: namespace.map(str::to_string),
            port: port_number,
        })
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::{HostPort, HostPortError};

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
            assert_eq!(hp.service, "httpbin", "{text}");
            assert_eq!(hp.namespace.as_deref(), namespace, "{text}");
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
                "httpbin.foo.svc.example.com:80",
                HostPortError::Shape("httpbin.foo.svc.example.com:80".into()),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<HostPort>(), Err(want), "{text}");
        }
    }
}
