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
