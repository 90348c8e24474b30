//! What one request shows, in Envoy's vocabulary: the client's view (status, flags, details,
//! body, TLS error) and each proxy's access log and TLS stats. A failed handshake or a denial is
//! an `Outcome`, never an `Err`.
//!
//! A leaf of the vocabulary: the data path fills it, the Evidence bundle and the diagnosis read
//! it, so it lives outside `proxy` and neither reader imports the sidecar runtime.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::vocab::{ResponseFlag, Status};

/// Envoy TLS stats of one proxy (listener side for a server, cluster side for a client).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TlsStats {
    /// Successful handshakes.
    pub handshake: u64,
    /// TLS errors other than counted verify failures.
    pub connection_error: u64,
    /// Chain/CA/expiry verification failures.
    pub fail_verify_error: u64,
    /// SAN mismatches.
    pub fail_verify_san: u64,
    /// A required peer certificate was not sent.
    pub fail_verify_no_cert: u64,
    /// Listener: no filter chain matched (plaintext into STRICT).
    pub no_filter_chain_match: u64,
}

/// Everything one request shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Status or connection error as the client sees it.
    pub status: Status,
    /// Envoy response flags of the client-side proxy (e.g. `UF`, `URX`), in Envoy's order.
    pub response_flags: Vec<ResponseFlag>,
    /// Response-code details (`via_upstream`, `rbac_access_denied_matched_policy[...]`, ...).
    pub details: String,
    /// The response body the client received (Envoy's 503 body, `RBAC: access denied`, ...).
    pub body: String,
    /// Did the hop use mutual TLS.
    pub mtls: bool,
    /// BoringSSL reason as Envoy reports it, e.g. `CERTIFICATE_VERIFY_FAILED`.
    pub tls_error: Option<String>,
    /// The client's principal as the server saw it (`<td>/ns/<ns>/sa/<sa>`), when mTLS.
    pub peer_principal: Option<String>,
    /// The source proxy's access-log line, if the source has a sidecar.
    pub client_log: Option<String>,
    /// The destination proxy's access-log line, if the destination has a sidecar.
    pub server_log: Option<String>,
    /// Stats counted by this request, keyed `client` / `server`.
    pub stats: BTreeMap<String, TlsStats>,
    /// The destination proxy's own TLS failure reason (BoringSSL name, e.g.
    /// `PEER_DID_NOT_RETURN_A_CERTIFICATE`, `NO_SHARED_CIPHER`, or `Secret is not supplied by
    /// SDS`), when its listener failed the connection. Envoy logs this in its own log, not in
    /// the access log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_tls_error: Option<String>,
}

impl Outcome {
    /// A bare outcome with only a status, for building up.
    pub fn with_status(status: Status) -> Outcome {
        Outcome {
            status,
            response_flags: Vec::new(),
            details: String::new(),
            body: String::new(),
            mtls: false,
            tls_error: None,
            peer_principal: None,
            client_log: None,
            server_log: None,
            stats: BTreeMap::new(),
            server_tls_error: None,
        }
    }
}
