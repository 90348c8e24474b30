//! The transport a Kubernetes port declares (`core/v1.Protocol` on a Service port or a
//! container port), as the API server accepts it.

string_enum! {
    /// `protocol:` of a Service or container port. The API server accepts exactly these
    /// spellings (`validateServicePort` / `validateContainerPorts` check
    /// `supportedPortProtocols`, `pkg/apis/core/validation/validation.go`, Kubernetes 1.2x); an
    /// omitted protocol is TCP (`SetDefaults_ServicePort`, `SetDefaults_ContainerPort`).
    pub enum KubeProtocol ("port protocol") {
        /// Stream transport; the only one meshsim sends.
        Tcp = "TCP",
        /// Datagram transport; Istio gives it no sidecar listener (`ConvertProtocol` → UDP).
        Udp = "UDP",
        /// SCTP (no Istio protocol: treated like an unsupported name).
        Sctp = "SCTP",
    }
}

impl KubeProtocol {
    /// The API server's default for an omitted `protocol`.
    pub const DEFAULT: KubeProtocol = KubeProtocol::Tcp;

    /// Reads an optional `protocol:` as the API server does: omitted or empty is TCP, any
    /// other spelling than the three supported ones is its "Unsupported value" error.
    pub fn from_field(given: Option<&str>) -> Result<KubeProtocol, String> {
        match given {
            None | Some("") => Ok(KubeProtocol::DEFAULT),
            Some(p) => p.parse().map_err(|_| {
                format!("Unsupported value: {p:?}: supported values: \"SCTP\", \"TCP\", \"UDP\"")
            }),
        }
    }
}

impl Default for KubeProtocol {
    fn default() -> KubeProtocol {
        KubeProtocol::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_api_servers_spellings_are_accepted_and_omitted_is_tcp() {
        let cases = [
            (None, Ok(KubeProtocol::Tcp)),
            (Some(""), Ok(KubeProtocol::Tcp)),
            (Some("TCP"), Ok(KubeProtocol::Tcp)),
            (Some("UDP"), Ok(KubeProtocol::Udp)),
            (Some("SCTP"), Ok(KubeProtocol::Sctp)),
        ];
        for (given, want) in cases {
            assert_eq!(KubeProtocol::from_field(given), want, "{given:?}");
        }
        for bad in ["tcp", "Udp", "HTTP"] {
            let err = KubeProtocol::from_field(Some(bad)).unwrap_err();
            assert!(
                err.starts_with(&format!("Unsupported value: {bad:?}")),
                "{err}"
            );
        }
    }
}
