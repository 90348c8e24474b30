//! The mesh runtime: built from resources and faults; `request`, `advance`, `apply`, `delete`,
//! `inject`. Requests go through the data path (CA, sidecars, real handshakes).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::model::{Object, ObjectRef, Resources};
use crate::proxy::Outcome;
use crate::{Fault, SimTime};

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

/// The in-process mesh.
#[derive(Debug)]
pub struct Mesh {
    resources: Resources,
    now: SimTime,
}

impl Mesh {
    /// Builds a mesh at `SimTime::EPOCH`: issues certificates, starts sidecars, applies faults.
    pub fn build(
        resources: Resources,
        faults: &[Fault],
        opts: MeshOptions,
    ) -> Result<Mesh, MeshError> {
        let _ = (faults, opts);
        Ok(Mesh {
            resources,
            now: SimTime::EPOCH,
        })
    }

    /// Sends the request(s) through the data path; one outcome per request.
    pub fn request(&mut self, req: &RequestSpec) -> Result<Vec<Outcome>, MeshError> {
        let _ = req;
        Err(MeshError("the data path is not built yet".into()))
    }

    /// Moves the virtual clock, rotating and expiring certificates on the way.
    pub fn advance(&mut self, by: Duration) {
        self.now = self.now.plus(by);
    }

    /// Adds or replaces objects, as `kubectl apply`.
    pub fn apply(&mut self, objects: Vec<Object>) -> Result<(), MeshError> {
        let _ = objects;
        Err(MeshError("apply is not built yet".into()))
    }

    /// Deletes objects.
    pub fn delete(&mut self, refs: &[ObjectRef]) -> Result<(), MeshError> {
        let _ = refs;
        Err(MeshError("delete is not built yet".into()))
    }

    /// Injects a fault now.
    pub fn inject(&mut self, fault: &Fault) -> Result<(), MeshError> {
        let _ = fault;
        Err(MeshError("faults are not built yet".into()))
    }

    /// The current virtual time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// The current configuration.
    pub fn resources(&self) -> &Resources {
        &self.resources
    }
}
