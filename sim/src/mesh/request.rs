//! What a caller asks the mesh: one request (or a burst of them) and the knobs a mesh is built
//! with.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Application protocol of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// HTTP/1.1 request/response.
    #[default]
    Http,
    /// Raw TCP; the service echoes.
    Tcp,
}

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

/// Knobs for building a mesh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshOptions {
    /// Seed for every random choice (keys, serials, jitter).
    pub seed: u64,
    /// Workload certificate TTL (`SECRET_TTL`), 24h by default.
    pub cert_ttl: Duration,
    /// Use RSA-2048 workload keys (Istio's default) instead of ECDSA P-256 (faster).
    pub rsa_keys: bool,
}

impl Default for MeshOptions {
    fn default() -> Self {
        MeshOptions {
            seed: 0,
            cert_ttl: Duration::from_secs(24 * 3600),
            rsa_keys: false,
        }
    }
}

/// A failure of the harness itself (bad input), never a failed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshError(pub String);

impl fmt::Display for MeshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MeshError {}
