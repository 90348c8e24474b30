//! Protocols both paths decide on: what a request speaks ([`Protocol`]), what istiod makes of a
//! Service port ([`IstioProtocol`]), which inbound filter-chain family that gives the port
//! ([`PortProtocol`]), which outbound filter chain a client sidecar's connection lands on
//! ([`OutboundChain`]), and the HTTP sniffing both sidecars run on the first bytes
//! ([`sniffs_as_http`]). The analysis path predicts from these and the data path builds its
//! listeners from them, so each selection rule exists once, here.

use super::egress::{Egress, OutboundListener, OutboundTrafficMode, BLACKHOLE_CLUSTER};
use super::KubeProtocol;

/// Application protocol of a request: what the client application writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// HTTP/1.1 request/response.
    #[default]
    Http,
    /// Raw TCP; the service echoes.
    Tcp,
}

string_enum! {
    /// A Service port's protocol as istiod classifies it: the `protocol.Instance` values
    /// `kube.ConvertProtocol` can return (`pkg/config/protocol/instance.go`, Istio 1.22–1.28).
    /// Spelled as Istio prints them. `HBONE` and `DoubleHBONE` are left out: no Service port
    /// parses to them (`Parse` compares the lowercased name with `"DoubleHBONE"`, which never
    /// matches, in 1.27 and 1.28).
    pub enum IstioProtocol ("Istio protocol") {
        /// `GRPC`.
        Grpc = "GRPC",
        /// `GRPC-Web`.
        GrpcWeb = "GRPC-Web",
        /// `HTTP`: HTTP/1.1.
        Http = "HTTP",
        /// `HTTP_PROXY`: a generic outbound proxy port.
        HttpProxy = "HTTP_PROXY",
        /// `HTTP2`.
        Http2 = "HTTP2",
        /// `HTTPS`: TLS the application originates, proxied as TCP.
        Https = "HTTPS",
        /// `TCP`.
        Tcp = "TCP",
        /// `TLS`: proxied as TCP.
        Tls = "TLS",
        /// `UDP`: the proxy builds no listener for it.
        Udp = "UDP",
        /// `Mongo`: proxied as TCP.
        Mongo = "Mongo",
        /// `Redis`: proxied as TCP.
        Redis = "Redis",
        /// `MySQL`: proxied as TCP.
        MySql = "MySQL",
        /// `UnsupportedProtocol`: the name says nothing Istio knows, so the protocol is sniffed.
        Unsupported = "UnsupportedProtocol",
    }
}

/// Ports istiod never sniffs: an unsupported name on one of them means TCP (`wellKnownPorts` in
/// `pkg/config/kube/conversion.go`: SMTP, DNS, MySQL, MongoDB).
const WELL_KNOWN_TCP_PORTS: [u16; 4] = [25, 53, 3306, 27017];

impl IstioProtocol {
    /// `protocol.Parse`: a protocol name, ignoring case (`strings.ToLower`); anything else is
    /// [`IstioProtocol::Unsupported`]. The same in Istio 1.22–1.28 (1.27 added a `DoubleHBONE`
    /// case that a lowercased name can never reach).
    pub fn parse(name: &str) -> IstioProtocol {
        match name.to_lowercase().as_str() {
            "tcp" => IstioProtocol::Tcp,
            "udp" => IstioProtocol::Udp,
            "grpc" => IstioProtocol::Grpc,
            "grpc-web" => IstioProtocol::GrpcWeb,
            "http" => IstioProtocol::Http,
            "http_proxy" => IstioProtocol::HttpProxy,
            "http2" => IstioProtocol::Http2,
            "https" => IstioProtocol::Https,
            "tls" => IstioProtocol::Tls,
            "mongo" => IstioProtocol::Mongo,
            "redis" => IstioProtocol::Redis,
            "mysql" => IstioProtocol::MySql,
            _ => IstioProtocol::Unsupported,
        }
    }

    /// `kube.ConvertProtocol` (`pkg/config/kube/conversion.go`): a Kubernetes `protocol: UDP`
    /// is UDP; otherwise `appProtocol` wins over the port name, with the Kubernetes names
    /// `kubernetes.io/h2c` (HTTP2), `kubernetes.io/ws` (HTTP) and `kubernetes.io/wss` (HTTPS)
    /// read from `appProtocol` only; a name starting with `grpc-web` (any case) is gRPC-Web;
    /// else the text before the first `-` goes through [`IstioProtocol::parse`], and an
    /// unsupported result on port 25, 53, 3306 or 27017 is TCP.
    ///
    /// Istio 1.23–1.28. Istio 1.22 knows only `kubernetes.io/h2c`: there `kubernetes.io/ws` and
    /// `kubernetes.io/wss` are unsupported names (sniffed, or TCP on a well-known port).
    pub fn from_port(
        port: u16,
        name: Option<&str>,
        k8s_protocol: KubeProtocol,
        app_protocol: Option<&str>,
    ) -> IstioProtocol {
        if k8s_protocol == KubeProtocol::Udp {
            return IstioProtocol::Udp;
        }
        let name = match app_protocol {
            Some("kubernetes.io/h2c") => return IstioProtocol::Http2,
            Some("kubernetes.io/ws") => return IstioProtocol::Http,
            Some("kubernetes.io/wss") => return IstioProtocol::Https,
            Some(app) => app,
            None => name.unwrap_or_default(),
        };
        // `strings.EqualFold(name[:len("grpc-web")], "grpc-web")`, before the `-` split.
        if name
            .as_bytes()
            .get(..GRPC_WEB.len())
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(GRPC_WEB.as_bytes()))
        {
            return IstioProtocol::GrpcWeb;
        }
        let prefix = name.split('-').next().unwrap_or_default();
        match IstioProtocol::parse(prefix) {
            IstioProtocol::Unsupported if WELL_KNOWN_TCP_PORTS.contains(&port) => {
                IstioProtocol::Tcp
            }
            p => p,
        }
    }

    /// `Instance.IsHTTP`: HTTP, HTTP2, HTTP_PROXY, GRPC, GRPC-Web.
    pub fn is_http(self) -> bool {
        matches!(
            self,
            IstioProtocol::Http
                | IstioProtocol::Http2
                | IstioProtocol::HttpProxy
                | IstioProtocol::Grpc
                | IstioProtocol::GrpcWeb
        )
    }

    /// `Instance.IsTCP`: TCP, HTTPS, TLS, Mongo, Redis, MySQL.
    pub fn is_tcp(self) -> bool {
        matches!(
            self,
            IstioProtocol::Tcp
                | IstioProtocol::Https
                | IstioProtocol::Tls
                | IstioProtocol::Mongo
                | IstioProtocol::Redis
                | IstioProtocol::MySql
        )
    }

    /// What a caller sends when it does not say: a TCP payload to a port Istio treats as TCP
    /// ([`IstioProtocol::is_tcp`]), an HTTP request to any other (HTTP or sniffed) port. The
    /// default of `probe`, scenario requests and the matrix flows.
    pub fn default_request(self) -> Protocol {
        if self.is_tcp() {
            Protocol::Tcp
        } else {
            Protocol::Http
        }
    }
}

/// `protocol.GRPCWeb` as `ConvertProtocol` compares it.
const GRPC_WEB: &str = "grpc-web";

/// The inbound filter-chain family of a port: HTTP connection manager, TCP proxy, or both
/// behind HTTP sniffing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PortProtocol {
    /// `http*`, `grpc*`, `http2`, `http_proxy`: the HTTP connection manager.
    Http,
    /// `tcp*`, `tls*`, `https`, `mongo`, `mysql`, `redis`, `udp`...: the TCP proxy.
    Tcp,
    /// Anything else (`thrift`, `h2c`, no name): protocol sniffing.
    Auto,
}

impl From<IstioProtocol> for PortProtocol {
    /// `networking.ModelProtocolToListenerProtocol` (`pilot/pkg/networking/networking.go`) as
    /// the inbound listener reads it (`getFilterChainMatchOptions` in
    /// `pilot/pkg/networking/core/filterchain_options.go`): HTTP protocols get the HCM, TCP ones
    /// the TCP proxy, unsupported ones sniffing, and UDP (`ListenerProtocolUnknown`) falls to the
    /// TCP options. Istio 1.22–1.28.
    fn from(p: IstioProtocol) -> PortProtocol {
        if p.is_http() {
            PortProtocol::Http
        } else if p == IstioProtocol::Unsupported {
            PortProtocol::Auto
        } else {
            PortProtocol::Tcp
        }
    }
}

impl PortProtocol {
    /// The inbound chain family of a Service port: [`IstioProtocol::from_port`], then
    /// [`PortProtocol::from`].
    pub fn from_port(
        port: u16,
        name: Option<&str>,
        k8s_protocol: KubeProtocol,
        app_protocol: Option<&str>,
    ) -> PortProtocol {
        IstioProtocol::from_port(port, name, k8s_protocol, app_protocol).into()
    }

    /// Whether the inbound chain that serves a connection is the HTTP connection manager, given
    /// whether its first (plaintext or decrypted) bytes sniff as HTTP ([`sniffs_as_http`]): an
    /// HTTP port always, a TCP port never, a sniffed port when the bytes look like HTTP
    /// (`filterchain_options.go`: the plaintext and mTLS HTTP chains of an auto port match the
    /// `http_inspector`'s application protocols, the TCP chains catch the rest).
    pub fn serves_http(self, sniffed_http: bool) -> bool {
        match self {
            PortProtocol::Http => true,
            PortProtocol::Tcp => false,
            PortProtocol::Auto => sniffed_http,
        }
    }

    /// What the application behind the port speaks. Istio has no say in this: meshsim assumes
    /// an HTTP-declared port fronts an HTTP server (httpbin), and a TCP or sniffed port fronts
    /// whatever the caller speaks (httpbin for HTTP, the echo server for TCP).
    pub fn application(self, request: Protocol) -> Protocol {
        match self {
            PortProtocol::Http => Protocol::Http,
            PortProtocol::Tcp | PortProtocol::Auto => request,
        }
    }
}

/// The filter chain of a client sidecar's outbound listener that a connection lands on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutboundChain {
    /// The HTTP connection manager, routing to the service's cluster
    /// (`outbound|<port>||<fqdn>`): retries, `503` with flags, the codec's own `400`.
    Http,
    /// `tcp_proxy` to the service's cluster: the bytes are proxied raw over the cluster's TLS,
    /// one connect attempt, a closed connection rather than an HTTP status.
    Tcp,
    /// The listener's default `PassthroughFilterChain`: `tcp_proxy` to `PassthroughCluster`
    /// (ORIGINAL_DST, no TLS), so the bytes reach the destination in plaintext.
    Passthrough,
    /// ALLOW_ANY, a destination outside the Sidecar scope on a port where an in-scope HTTP
    /// Service binds `0.0.0.0:<port>`: that listener's HTTP connection manager, whose only
    /// matching virtual host is the catch-all `allow_any` (`buildCatchAllVirtualHost`,
    /// `pilot/pkg/networking/core/httproute.go`): a route to `PassthroughCluster` without a
    /// retry policy, plaintext.
    HttpPassthrough,
    /// REGISTRY_ONLY, the same listener: the catch-all `block_all` virtual host's direct
    /// response, `502` (details `direct_response`), and nothing leaves the pod.
    HttpBlackHole,
    /// REGISTRY_ONLY where the passthrough chain would be: `tcp_proxy` to `BlackHoleCluster`
    /// (`buildOutboundCatchAllNetworkFiltersOnly`, `listener_builder.go`), a cluster without
    /// endpoints: the connection is closed (`UH`).
    BlackHole,
}

impl OutboundChain {
    /// Which chain of the client sidecar's outbound listener for a port of protocol `port`
    /// takes a connection whose first bytes do (or do not) sniff as HTTP
    /// (`buildSidecarOutboundListener` and `buildListenerFromEntry` in
    /// `pilot/pkg/networking/core/listener.go`, Istio 1.22–1.28):
    ///
    /// - a TCP port (`ListenerProtocolTCP`) has only `tcp_proxy` chains: [`OutboundChain::Tcp`];
    /// - an HTTP port binds `0.0.0.0:<port>`, so its HCM chain matches only the `http_inspector`'s
    ///   `http/1.0`, `http/1.1`, `h2c` and the listener's default chain is the
    ///   `PassthroughFilterChain`: HTTP bytes get [`OutboundChain::Http`], others
    ///   [`OutboundChain::Passthrough`];
    /// - an `HTTP_PROXY` port gets the HCM chain without that match, as its only chain:
    ///   [`OutboundChain::Http`] whatever the bytes;
    /// - a sniffed port has a TCP chain plus the HCM chain behind the same match;
    /// - a UDP port gets no listener (`ListenerProtocolUnknown`), so TCP to it falls to the
    ///   virtual outbound listener's passthrough chain.
    pub fn select(port: IstioProtocol, sniffed_http: bool) -> OutboundChain {
        match port {
            IstioProtocol::HttpProxy => OutboundChain::Http,
            IstioProtocol::Udp => OutboundChain::Passthrough,
            p if p.is_http() && sniffed_http => OutboundChain::Http,
            p if p.is_http() => OutboundChain::Passthrough,
            IstioProtocol::Unsupported if sniffed_http => OutboundChain::Http,
            _ => OutboundChain::Tcp,
        }
    }

    /// The chain for a destination port the client's Sidecar scope gives `egress`:
    /// [`OutboundChain::select`] on the Service's own listener, the catch-all virtual host of a
    /// wildcard HTTP listener for HTTP bytes, else the passthrough chain; REGISTRY_ONLY turns
    /// every passthrough into the black hole (`buildOutboundCatchAllNetworkFiltersOnly`,
    /// `buildCatchAllVirtualHost`; Istio 1.22–1.28).
    pub fn select_with(port: IstioProtocol, sniffed_http: bool, egress: Egress) -> OutboundChain {
        let chain = match egress.listener {
            OutboundListener::Service => OutboundChain::select(port, sniffed_http),
            OutboundListener::WildcardHttp if sniffed_http => OutboundChain::HttpPassthrough,
            OutboundListener::WildcardHttp | OutboundListener::Virtual => {
                OutboundChain::Passthrough
            }
        };
        match (chain, egress.mode) {
            (OutboundChain::Passthrough, OutboundTrafficMode::RegistryOnly) => {
                OutboundChain::BlackHole
            }
            (OutboundChain::HttpPassthrough, OutboundTrafficMode::RegistryOnly) => {
                OutboundChain::HttpBlackHole
            }
            (chain, _) => chain,
        }
    }

    /// Whether the chain is an HTTP connection manager (retries aside, it answers with an HTTP
    /// status).
    pub fn is_http(self) -> bool {
        matches!(
            self,
            OutboundChain::Http | OutboundChain::HttpPassthrough | OutboundChain::HttpBlackHole
        )
    }

    /// Whether the chain sends to `PassthroughCluster` (ORIGINAL_DST, no transport socket).
    pub fn is_passthrough(self) -> bool {
        matches!(
            self,
            OutboundChain::Passthrough | OutboundChain::HttpPassthrough
        )
    }

    /// Whether the chain sends to `BlackHoleCluster` (nothing leaves the pod).
    pub fn is_black_hole(self) -> bool {
        matches!(
            self,
            OutboundChain::BlackHole | OutboundChain::HttpBlackHole
        )
    }

    /// The cluster the chain sends to: the service's, `PassthroughCluster` or
    /// `BlackHoleCluster`.
    pub fn cluster(self, service_cluster: &str) -> &str {
        match self {
            OutboundChain::Http | OutboundChain::Tcp => service_cluster,
            OutboundChain::Passthrough | OutboundChain::HttpPassthrough => PASSTHROUGH_CLUSTER,
            OutboundChain::BlackHole | OutboundChain::HttpBlackHole => BLACKHOLE_CLUSTER,
        }
    }
}

/// `util.PassthroughCluster`, the ORIGINAL_DST cluster of unmatched outbound traffic.
pub const PASSTHROUGH_CLUSTER: &str = "PassthroughCluster";

/// The outbound cluster of a Service port without a subset, `outbound|PORT||FQDN`
/// (`pilot/pkg/model/service.go` `BuildSubsetKey(TrafficDirectionOutbound, "", host, port)`,
/// the same in every release meshsim models, 1.22–1.28).
pub fn outbound_cluster(service_port: u16, fqdn: &str) -> String {
    format!("outbound|{service_port}||{fqdn}")
}

/// A sidecar's inbound cluster for a target port, `inbound|PORT||`
/// (`pilot/pkg/model/service.go` `BuildInboundSubsetKey`, 1.22–1.28).
pub fn inbound_cluster(target_port: u16) -> String {
    format!("inbound|{target_port}||")
}

/// The HTTP/2 connection preface (`Filter::HTTP2_CONNECTION_PREFACE`).
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The methods Envoy's HTTP/1 parsers accept (`isMethodValid` in
/// `source/common/http/http1/balsa_parser.cc`, the same set as http-parser's).
const HTTP1_METHODS: [&str; 34] = [
    "ACL",
    "BIND",
    "CHECKOUT",
    "CONNECT",
    "COPY",
    "DELETE",
    "GET",
    "HEAD",
    "LINK",
    "LOCK",
    "MERGE",
    "MKACTIVITY",
    "MKCALENDAR",
    "MKCOL",
    "MOVE",
    "MSEARCH",
    "NOTIFY",
    "OPTIONS",
    "PATCH",
    "POST",
    "PROPFIND",
    "PROPPATCH",
    "PURGE",
    "PUT",
    "REBIND",
    "REPORT",
    "SEARCH",
    "SOURCE",
    "SUBSCRIBE",
    "TRACE",
    "UNBIND",
    "UNLINK",
    "UNLOCK",
    "UNSUBSCRIBE",
];

/// Envoy's `http_inspector` listener filter (`Filter::parseHttpHeader` in
/// `source/extensions/filters/listener/http_inspector/http_inspector.cc`) on the first bytes of
/// a connection: the HTTP/2 preface, or a complete HTTP/1 request line whose method Envoy's
/// parser knows and whose target is a path (`/`, `*`) or an absolute URL (`isUrlValid`). An
/// empty first line, an unknown method or a bad target is not HTTP; so is a line not yet
/// complete (Envoy would wait for more bytes; meshsim's clients send theirs at once). Newer
/// Envoys can let the inspector accept any method token (`allow_custom_methods`); meshsim keeps
/// the known methods.
pub fn sniffs_as_http(first: &[u8]) -> bool {
    if first.starts_with(HTTP2_PREFACE) {
        return true;
    }
    let Some(end) = first.iter().position(|b| *b == b'\n') else {
        return false;
    };
    let line = first[..end].strip_suffix(b"\r").unwrap_or(&first[..end]);
    let Ok(line) = std::str::from_utf8(line) else {
        return false;
    };
    let mut parts = line.split(' ');
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return false;
    };
    let version_ok = match (parts.next(), parts.next()) {
        (None, _) => true,
        (Some(v), None) => v.starts_with("HTTP/"),
        _ => false,
    };
    version_ok && HTTP1_METHODS.contains(&method) && url_valid(target, method == "CONNECT")
}

/// `isUrlValid` (`balsa_parser.cc`, matching http-parser): a path or `*`, or
/// `scheme://host[path]`; `CONNECT` takes `host:port`.
fn url_valid(url: &str, connect: bool) -> bool {
    let path_char = |c: char| c == '\t' || c == '\x0c' || ('!'..='~').contains(&c);
    let Some(first) = url.chars().next() else {
        return false;
    };
    if first == '/' || first == '*' {
        return url[1..].chars().all(path_char);
    }
    let mut rest = url;
    if !connect {
        let scheme_len = url.chars().take_while(char::is_ascii_alphabetic).count();
        if scheme_len == 0 {
            return false;
        }
        let Some(after) = url[scheme_len..].strip_prefix("://") else {
            return false;
        };
        rest = after;
    }
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (host, path) = rest.split_at(split);
    let host_char = |c: char| c.is_ascii_alphanumeric() || "!$%&'()*+,-.:;=@[]_~".contains(c);
    host.chars().all(host_char) && !host.contains("@@") && path.chars().all(path_char)
}

#[cfg(test)]
mod tests {
    use super::{
        sniffs_as_http, IstioProtocol, KubeProtocol, OutboundChain, PortProtocol, Protocol,
    };

    const TCP: KubeProtocol = KubeProtocol::Tcp;
    const UDP: KubeProtocol = KubeProtocol::Udp;

    #[test]
    fn convert_protocol_follows_istio_port_naming() {
        use IstioProtocol::*;
        // (port, name, k8s protocol, appProtocol, ConvertProtocol)
        type Case<'a> = (
            u16,
            Option<&'a str>,
            KubeProtocol,
            Option<&'a str>,
            IstioProtocol,
        );
        let cases: [Case; 36] = [
            (80, Some("http"), TCP, None, Http),
            (80, Some("http-web"), TCP, None, Http),
            (80, Some("HTTP-web"), TCP, None, Http),
            (80, Some("http2"), TCP, None, Http2),
            (80, Some("grpc-api"), TCP, None, Grpc),
            (80, Some("grpc-web"), TCP, None, GrpcWeb),
            (80, Some("grpc-web-x"), TCP, None, GrpcWeb),
            (80, Some("GRPC-WEB"), TCP, None, GrpcWeb),
            (80, Some("grpc-webx"), TCP, None, GrpcWeb),
            (80, Some("grpc-wex"), TCP, None, Grpc),
            (80, Some("tcp-db"), TCP, None, Tcp),
            (80, Some("tls"), TCP, None, Tls),
            (80, Some("https"), TCP, None, Https),
            (80, Some("mongo"), TCP, None, Mongo),
            (80, Some("redis"), TCP, None, Redis),
            (80, Some("mysql"), TCP, None, MySql),
            (80, Some("udp-dns"), TCP, None, Udp),
            (80, Some("http_proxy"), TCP, None, HttpProxy),
            // Names Istio does not know are sniffed: `thrift` and `h2c` included.
            (80, Some("thrift"), TCP, None, Unsupported),
            (80, Some("h2c"), TCP, None, Unsupported),
            (80, Some("web"), TCP, None, Unsupported),
            (80, None, TCP, None, Unsupported),
            // ... except on the well-known ports, where they mean TCP.
            (3306, None, TCP, None, Tcp),
            (3306, Some("thrift"), TCP, None, Tcp),
            (25, Some("smtp"), TCP, None, Tcp),
            (53, Some("dns-tcp"), TCP, None, Tcp),
            (27017, None, TCP, None, Tcp),
            (3306, Some("http"), TCP, None, Http),
            // A UDP port is UDP whatever its name.
            (53, Some("http"), UDP, Some("http"), Udp),
            // appProtocol wins over the name, with the Kubernetes names read from it only.
            (80, Some("web"), TCP, Some("http"), Http),
            (80, Some("http"), TCP, Some("tcp"), Tcp),
            (80, Some("http"), TCP, Some("kubernetes.io/h2c"), Http2),
            (80, Some("tcp"), TCP, Some("kubernetes.io/ws"), Http),
            (80, Some("http"), TCP, Some("kubernetes.io/wss"), Https),
            (
                80,
                Some("http"),
                TCP,
                Some("Kubernetes.io/h2c"),
                Unsupported,
            ),
            (80, Some("http"), TCP, Some(""), Unsupported),
        ];
        for (port, name, k8s, app, want) in cases {
            assert_eq!(
                IstioProtocol::from_port(port, name, k8s, app),
                want,
                "{port} {name:?} {k8s} {app:?}"
            );
        }
    }

    #[test]
    fn the_egress_scope_and_policy_turn_passthrough_into_the_black_hole() {
        use super::{Egress, OutboundListener as L, OutboundTrafficMode as M};
        use IstioProtocol::{Http, Tcp};
        use OutboundChain::*;
        let e = |listener, mode| Egress { listener, mode };
        // (port, sniffs as HTTP, listener, mode, chain)
        let cases = [
            (Http, true, L::Service, M::RegistryOnly, OutboundChain::Http),
            (Http, false, L::Service, M::AllowAny, Passthrough),
            (Http, false, L::Service, M::RegistryOnly, BlackHole),
            (Tcp, true, L::Service, M::RegistryOnly, OutboundChain::Tcp),
            (Tcp, true, L::WildcardHttp, M::AllowAny, HttpPassthrough),
            (Tcp, true, L::WildcardHttp, M::RegistryOnly, HttpBlackHole),
            (Http, false, L::WildcardHttp, M::AllowAny, Passthrough),
            (Http, false, L::WildcardHttp, M::RegistryOnly, BlackHole),
            (Http, true, L::Virtual, M::AllowAny, Passthrough),
            (Http, true, L::Virtual, M::RegistryOnly, BlackHole),
        ];
        for (port, sniffed, listener, mode, want) in cases {
            assert_eq!(
                OutboundChain::select_with(port, sniffed, e(listener, mode)),
                want,
                "{port} {sniffed} {listener:?} {mode:?}"
            );
        }
    }

    #[test]
    fn parse_ignores_case_and_knows_only_istio_names() {
        let cases = [
            ("TCP", IstioProtocol::Tcp),
            ("Http", IstioProtocol::Http),
            ("GRPC-Web", IstioProtocol::GrpcWeb),
            ("HTTP_PROXY", IstioProtocol::HttpProxy),
            ("MySQL", IstioProtocol::MySql),
            ("DoubleHBONE", IstioProtocol::Unsupported),
            ("hbone", IstioProtocol::Unsupported),
            ("thrift", IstioProtocol::Unsupported),
            ("", IstioProtocol::Unsupported),
        ];
        for (name, want) in cases {
            assert_eq!(IstioProtocol::parse(name), want, "{name}");
        }
    }

    #[test]
    fn each_protocol_is_http_tcp_or_sniffed_as_istio_classifies_it() {
        use IstioProtocol::*;
        // (protocol, IsHTTP, IsTCP, inbound family, default request)
        let cases = [
            (Grpc, true, false, PortProtocol::Http, Protocol::Http),
            (GrpcWeb, true, false, PortProtocol::Http, Protocol::Http),
            (Http, true, false, PortProtocol::Http, Protocol::Http),
            (HttpProxy, true, false, PortProtocol::Http, Protocol::Http),
            (Http2, true, false, PortProtocol::Http, Protocol::Http),
            (Https, false, true, PortProtocol::Tcp, Protocol::Tcp),
            (Tcp, false, true, PortProtocol::Tcp, Protocol::Tcp),
            (Tls, false, true, PortProtocol::Tcp, Protocol::Tcp),
            (Udp, false, false, PortProtocol::Tcp, Protocol::Http),
            (Mongo, false, true, PortProtocol::Tcp, Protocol::Tcp),
            (Redis, false, true, PortProtocol::Tcp, Protocol::Tcp),
            (MySql, false, true, PortProtocol::Tcp, Protocol::Tcp),
            (
                Unsupported,
                false,
                false,
                PortProtocol::Auto,
                Protocol::Http,
            ),
        ];
        assert_eq!(cases.len(), IstioProtocol::ALL.len());
        for (p, http, tcp, family, request) in cases {
            assert_eq!(
                (
                    p.is_http(),
                    p.is_tcp(),
                    PortProtocol::from(p),
                    p.default_request()
                ),
                (http, tcp, family, request),
                "{p}"
            );
        }
    }

    #[test]
    fn the_outbound_chain_depends_on_the_port_and_the_sniffed_bytes() {
        use IstioProtocol::*;
        use OutboundChain::Passthrough;
        let (hcm, tcp) = (OutboundChain::Http, OutboundChain::Tcp);
        // (port protocol, chain for HTTP bytes, chain for other bytes)
        let cases = [
            (Http, hcm, Passthrough),
            (Grpc, hcm, Passthrough),
            (Http2, hcm, Passthrough),
            (HttpProxy, hcm, hcm),
            (Tcp, tcp, tcp),
            (Tls, tcp, tcp),
            (MySql, tcp, tcp),
            (Unsupported, hcm, tcp),
            (Udp, Passthrough, Passthrough),
        ];
        for (port, http_bytes, other_bytes) in cases {
            assert_eq!(OutboundChain::select(port, true), http_bytes, "{port} HTTP");
            assert_eq!(
                OutboundChain::select(port, false),
                other_bytes,
                "{port} TCP"
            );
        }
    }

    #[test]
    fn the_http_inspector_needs_a_known_method_and_a_valid_target() {
        let cases: [(&[u8], bool); 14] = [
            (b"GET /headers HTTP/1.1\r\nhost: a\r\n\r\n", true),
            (b"POST /x HTTP/1.0\r\n", true),
            (b"OPTIONS * HTTP/1.1\r\n", true),
            (b"GET http://a.b/c HTTP/1.1\r\n", true),
            (b"CONNECT a.b:443 HTTP/1.1\r\n", true),
            (b"GET /\n", true),
            (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", true),
            (b"hello meshsim\n", false),
            (b"get / HTTP/1.1\r\n", false),
            (b"FOO / HTTP/1.1\r\n", false),
            (b"GET meshsim HTTP/1.1\r\n", false),
            (b"GET /headers HTTP/1.1", false),
            (b"\r\nGET / HTTP/1.1\r\n", false),
            (b"\x16\x03\x01\x00\x05hello", false),
        ];
        for (bytes, want) in cases {
            assert_eq!(
                sniffs_as_http(bytes),
                want,
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn only_http_ports_front_an_http_server_whatever_the_caller_speaks() {
        for request in [Protocol::Http, Protocol::Tcp] {
            assert_eq!(PortProtocol::Http.application(request), Protocol::Http);
            assert_eq!(PortProtocol::Tcp.application(request), request);
            assert_eq!(PortProtocol::Auto.application(request), request);
        }
    }
}
