//! What a caller asks: one request (or a burst of them) as a scenario, `probe` or the matrix
//! describes it. Both paths take it (the analysis path predicts it, the mesh sends it) and the
//! Evidence bundle records it, so it is a leaf type that depends only on the vocabulary.

use std::collections::BTreeMap;

use crate::vocab::{sniffs_as_http, HostPort, IstioProtocol, Protocol, WorkloadRef};

/// The bytes a TCP client sends (and the echo server returns): not an HTTP request, so neither
/// sidecar's `http_inspector` nor an HTTP codec takes it for one.
pub const TCP_PAYLOAD: &[u8] = b"hello meshsim\n";

/// One request as a scenario or `probe` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec {
    /// `NAMESPACE/WORKLOAD` (a Deployment's or a Pod's name).
    pub from: WorkloadRef,
    /// `HOST:PORT` as a client writes it (`svc`, `svc.ns`, `svc.ns.svc.cluster.local`).
    pub to: HostPort,
    /// HTTP path.
    pub path: String,
    /// HTTP method.
    pub method: String,
    /// Extra request headers.
    pub headers: BTreeMap<String, String>,
    /// HTTP or TCP; `None`: what the destination port calls for
    /// ([`IstioProtocol::default_request`]).
    pub protocol: Option<Protocol>,
    /// How many requests to send.
    pub count: u32,
    /// How many are in flight at once (drives connection-pool limits).
    pub concurrency: u32,
}

/// The `User-Agent` the client (curl) sends unless told otherwise.
pub const CURL_USER_AGENT: &str = "curl/8.5.0";

impl RequestSpec {
    /// The `Host` header (`:authority`) the client sends: a `Host` the request sets itself
    /// (curl's `-H 'Host: ...'` replaces its own), else `to` as written, except that curl
    /// leaves out the scheme's default port (`http.c`: no `:80` for plain HTTP), so
    /// `httpbin.foo:80` is sent as `httpbin.foo`. AuthorizationPolicy `hosts` match this value
    /// exactly (`matcher.HostMatcher`), so both paths take it from here.
    pub fn authority(&self) -> String {
        if let Some((_, host)) = self
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("host"))
        {
            return host.clone();
        }
        let to = self.to.as_str();
        match to.strip_suffix(":80") {
            Some(host) if !host.is_empty() => host.to_string(),
            _ => to.to_string(),
        }
    }

    /// Every header the client writes after `Host`, names lowercased, in order: curl's own
    /// `User-Agent: curl/8.5.0` and `Accept: */*` (`lib/http.c`), each replaced by a header of
    /// the same name the request sets (`-H`), then the request's other headers. The data path
    /// puts exactly these on the wire and the analysis path hands them to authorization, so a
    /// `request.headers[...]` condition sees the same request on both.
    pub fn sent_headers(&self) -> Vec<(String, String)> {
        let mine: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .filter(|(k, _)| k != "host")
            .collect();
        let mut out: Vec<(String, String)> = [("user-agent", CURL_USER_AGENT), ("accept", "*/*")]
            .into_iter()
            .map(|(k, v)| {
                let value = mine
                    .iter()
                    .find(|(m, _)| m == k)
                    .map_or_else(|| v.to_string(), |(_, v)| v.clone());
                (k.to_string(), value)
            })
            .collect();
        out.extend(
            mine.into_iter()
                .filter(|(k, _)| k != "user-agent" && k != "accept"),
        );
        out
    }

    /// [`sent_headers`](Self::sent_headers) with `host` (the [`authority`](Self::authority))
    /// first: what the destination's HTTP filters see (Envoy maps a `host` lookup to
    /// `:authority`, `HeaderMapImpl`'s static lookup table).
    pub fn headers_as_received(&self) -> BTreeMap<String, String> {
        std::iter::once(("host".to_string(), self.authority()))
            .chain(self.sent_headers())
            .collect()
    }
}

/// Why a request cannot be sent as written: what curl would refuse or turn into another
/// request (a header value with a line break would smuggle a second header).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The path must start with `/` (or be `*`), as an HTTP/1.1 origin-form target.
    #[error("path {0:?} must start with `/`")]
    PathNotAbsolute(String),
    /// A path with whitespace or control characters is not one request target.
    #[error("path {0:?} contains a space or control character; percent-encode it")]
    PathNotOneToken(String),
    /// A method must be an HTTP token (RFC 9110 `tchar`s).
    #[error("method {0:?} is not an HTTP token")]
    BadMethod(String),
    /// A header name must be an HTTP token.
    #[error("header name {0:?} is not an HTTP token")]
    BadHeaderName(String),
    /// A header value may not hold CR, LF or NUL (RFC 9110 section 5.5).
    #[error("header {0:?}: the value contains CR, LF or NUL")]
    BadHeaderValue(String),
}

/// RFC 9110 `token`: one or more `tchar`s.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl RequestSpec {
    /// Checks what the client application would put on the wire: the method, the path and the
    /// headers. Both the scenario parser and `probe` call it before anything is sent.
    pub fn check(&self) -> Result<(), RequestError> {
        if !is_token(&self.method) {
            return Err(RequestError::BadMethod(self.method.clone()));
        }
        if !self.path.starts_with('/') && self.path != "*" {
            return Err(RequestError::PathNotAbsolute(self.path.clone()));
        }
        if self
            .path
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(RequestError::PathNotOneToken(self.path.clone()));
        }
        for (name, value) in &self.headers {
            if !is_token(name) {
                return Err(RequestError::BadHeaderName(name.clone()));
            }
            if value.contains(['\r', '\n', '\0']) {
                return Err(RequestError::BadHeaderValue(name.clone()));
            }
        }
        Ok(())
    }

    /// What the client sends to a port istiod classifies as `port`: the request's own protocol,
    /// else the port's default (a TCP payload to a TCP port, HTTP otherwise).
    pub fn protocol_to(&self, port: IstioProtocol) -> Protocol {
        self.protocol.unwrap_or_else(|| port.default_request())
    }

    /// The first bytes the client application writes when it speaks `protocol`: the HTTP
    /// request line, or the TCP payload. Both sidecars' HTTP sniffing reads these.
    pub fn first_bytes(&self, protocol: Protocol) -> Vec<u8> {
        match protocol {
            Protocol::Http => format!("{} {} HTTP/1.1\r\n", self.method, self.path).into_bytes(),
            Protocol::Tcp => TCP_PAYLOAD.to_vec(),
        }
    }

    /// Whether those first bytes sniff as HTTP ([`sniffs_as_http`]).
    pub fn sniffs_as_http(&self, protocol: Protocol) -> bool {
        sniffs_as_http(&self.first_bytes(protocol))
    }
}

impl Default for RequestSpec {
    fn default() -> Self {
        RequestSpec {
            from: WorkloadRef::default(),
            to: HostPort::default(),
            path: "/".into(),
            method: "GET".into(),
            headers: BTreeMap::new(),
            protocol: None,
            count: 1,
            concurrency: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RequestSpec;
    use crate::vocab::{IstioProtocol, Protocol};

    #[test]
    fn an_unset_protocol_is_the_ports_and_a_set_one_wins() {
        let unset = RequestSpec::default();
        let tcp = RequestSpec {
            protocol: Some(Protocol::Tcp),
            ..RequestSpec::default()
        };
        let cases = [
            (&unset, IstioProtocol::Tcp, Protocol::Tcp),
            (&unset, IstioProtocol::MySql, Protocol::Tcp),
            (&unset, IstioProtocol::Http, Protocol::Http),
            (&unset, IstioProtocol::Unsupported, Protocol::Http),
            (&tcp, IstioProtocol::Http, Protocol::Tcp),
        ];
        for (req, port, want) in cases {
            assert_eq!(req.protocol_to(port), want, "{port}");
        }
    }

    #[test]
    fn an_http_request_sniffs_as_http_and_the_tcp_payload_does_not() {
        let req = RequestSpec::default();
        assert!(req.sniffs_as_http(Protocol::Http));
        assert!(!req.sniffs_as_http(Protocol::Tcp));
        let odd = RequestSpec {
            method: "get".into(),
            ..RequestSpec::default()
        };
        assert!(!odd.sniffs_as_http(Protocol::Http));
    }

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
                to: to.parse().expect("HOST:PORT"),
                ..RequestSpec::default()
            };
            assert_eq!(req.authority(), want, "{to}");
        }
    }
}
