//! What a caller asks: one request (or a burst of them) as a scenario, `probe` or the matrix
//! describes it. Both paths take it (the analysis path predicts it, the mesh sends it) and the
//! Evidence bundle records it, so it is a leaf type that depends only on the vocabulary.

use std::collections::BTreeMap;

use crate::vocab::Protocol;

/// One request as a scenario or `probe` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec {
    /// `NAMESPACE/WORKLOAD` (a Deployment's or a Pod's name).
    pub from: String,
    /// `HOST:PORT` as a client writes it (`svc`, `svc.ns`, `svc.ns.svc.cluster.local`).
    pub to: String,
    /// HTTP path.
    pub path: String,
    /// HTTP method.
    pub method: String,
    /// Extra request headers.
    pub headers: BTreeMap<String, String>,
    /// HTTP or TCP.
    pub protocol: Protocol,
    /// How many requests to send.
    pub count: u32,
    /// How many are in flight at once (drives connection-pool limits).
    pub concurrency: u32,
}

impl RequestSpec {
    /// The `Host` header (`:authority`) the client sends: `to` as written, except that curl
    /// leaves out the scheme's default port (`http.c`: no `:80` for plain HTTP), so
    /// `httpbin.foo:80` is sent as `httpbin.foo`. AuthorizationPolicy `hosts` match this value
    /// exactly (`matcher.HostMatcher`), so both paths take it from here.
    pub fn authority(&self) -> String {
        match self.to.strip_suffix(":80") {
            Some(host) if !host.is_empty() => host.to_string(),
            _ => self.to.clone(),
        }
    }
}

impl Default for RequestSpec {
    fn default() -> Self {
        RequestSpec {
            from: String::new(),
            to: String::new(),
            path: "/".into(),
            method: "GET".into(),
            headers: BTreeMap::new(),
            protocol: Protocol::Http,
            count: 1,
            concurrency: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RequestSpec;

    #[test]
    fn the_authority_drops_only_the_default_http_port() {
        let cases = [
            ("httpbin.foo:8000", "httpbin.foo:8000"),
            ("httpbin.foo:80", "httpbin.foo"),
            ("httpbin:8080", "httpbin:8080"),
            (
                "httpbin.foo.svc.cluster.local:80",
                "httpbin.foo.svc.cluster.local",
            ),
        ];
        for (to, want) in cases {
            let req = RequestSpec {
                to: to.into(),
                ..RequestSpec::default()
            };
            assert_eq!(req.authority(), want, "{to}");
        }
    }
}
