//! Protocols both paths decide on: what a request speaks ([`Protocol`]) and which filter chain
//! a Service port gets ([`PortProtocol`]). The analysis path predicts from these and the data
//! path builds its listeners from them, so the selection rule exists once, here.

/// Application protocol of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// HTTP/1.1 request/response.
    #[default]
    Http,
    /// Raw TCP; the service echoes.
    Tcp,
}

/// How a Service port's protocol is declared, which picks HTTP vs TCP filter chains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PortProtocol {
    /// `http*`, `grpc*`, `http2`, `h2c`: the HTTP connection manager.
    Http,
    /// `tcp*`, `tls*`, `https`, `mongo`, `mysql`, `redis`...: the TCP proxy.
    Tcp,
    /// Anything else: protocol sniffing.
    Auto,
}

impl PortProtocol {
    /// Istio's protocol selection: `appProtocol` wins, else the port name's prefix before `-`
    /// (`kube.ConvertProtocol` in `pkg/config/kube/conversion.go`, then `protocol.Parse`).
    pub fn from_port(name: Option<&str>, app_protocol: Option<&str>) -> PortProtocol {
        let Some(text) = app_protocol.or(name) else {
            return PortProtocol::Auto;
        };
        let text = text.to_ascii_lowercase();
        let prefix = text.split('-').next().unwrap_or_default();
        match prefix {
            "http" | "http2" | "grpc" | "h2c" => PortProtocol::Http,
            "tcp" | "tls" | "https" | "mongo" | "mysql" | "redis" | "thrift" => PortProtocol::Tcp,
            _ => PortProtocol::Auto,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PortProtocol;

    #[test]
    fn port_protocol_follows_istio_port_naming() {
        let cases = [
            (Some("http"), None, PortProtocol::Http),
            (Some("http-web"), None, PortProtocol::Http),
            (Some("grpc-api"), None, PortProtocol::Http),
            (Some("http2"), None, PortProtocol::Http),
            (Some("tcp-db"), None, PortProtocol::Tcp),
            (Some("mongo"), None, PortProtocol::Tcp),
            (Some("tls"), None, PortProtocol::Tcp),
            (Some("web"), None, PortProtocol::Auto),
            (None, None, PortProtocol::Auto),
            (Some("web"), Some("http"), PortProtocol::Http),
            (Some("http"), Some("tcp"), PortProtocol::Tcp),
        ];
        for (name, app, want) in cases {
            assert_eq!(PortProtocol::from_port(name, app), want, "{name:?} {app:?}");
        }
    }
}
