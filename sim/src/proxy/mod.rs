//! The sidecar: rustls server/client configs per mode, SPIFFE verifiers, inbound and outbound
//! pipelines, and the Envoy-shaped outcome (flags, details, access log, stats).
//!
//! Entry point: [`exchange()`] — one request hop over a real in-process connection.
//!
//! ```
//! use sim::model::MtlsMode;
//! use sim::proxy::testing::TestCa;
//! use sim::proxy::*;
//! use sim::vocab::{Egress, IstioProtocol, KubeProtocol, PortProtocol, Status};
//! use sim::SimTime;
//!
//! let now = SimTime::EPOCH;
//! let ca = TestCa::mesh_root("cluster.local");
//! let tls = |id: &str| SidecarTls::new(Some(ca.workload(id, now)), ca.bundle(), "cluster.local", now);
//! let client = ClientSide::Sidecar(Box::new(ClientSidecar {
//!     name: "sleep-1.default".into(),
//!     ip: "10.0.0.1".into(),
//!     tls: tls("spiffe://cluster.local/ns/default/sa/sleep"),
//!     upstream: UpstreamTls::IstioMutual {
//!         expected_sans: vec!["spiffe://cluster.local/ns/foo/sa/httpbin".into()],
//!         sni: istio_sni(8000, None, "httpbin.foo.svc.cluster.local"),
//!     },
//!     cluster: "outbound|8000||httpbin.foo.svc.cluster.local".into(),
//!     port_protocol: IstioProtocol::Http,
//!     limits: ClusterLimits::default(),
//!     egress: Egress::default(),
//! }));
//! let server = ServerSide::Sidecar(Box::new(ServerSidecar {
//!     name: "httpbin-1.foo".into(),
//!     ip: "10.0.0.2".into(),
//!     port: 8080,
//!     tls: tls("spiffe://cluster.local/ns/foo/sa/httpbin"),
//!     mode: MtlsMode::Strict,
//!     port_protocol: PortProtocol::from_port(8000, Some("http"), KubeProtocol::Tcp, None),
//!     app: App::Httpbin,
//! }));
//! let rt = data_path_runtime().unwrap();
//! let mut pool = ConnectionPool::new();
//! let allow = |_: AuthzInput| AuthzVerdict::Allow;
//! let req = AppRequest::http_get("httpbin.foo:8000", "/headers");
//! let outcome = exchange(&rt, &client, &server, &req, &allow, &mut pool, now);
//! assert_eq!(outcome.status, Status::Http(200));
//! assert_eq!(outcome.peer_principal.as_deref(), Some("cluster.local/ns/default/sa/sleep"));
//! ```

pub(crate) mod access_log;
pub(crate) mod app;
pub(crate) mod circuit_breaker;
pub(crate) mod exchange;
pub(crate) mod http;
mod inbound;
pub(crate) mod inspector;
mod key_cache;
mod memo;
mod outbound;
pub(crate) mod pool;
mod recent;
pub(crate) mod report;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub(crate) mod tls_config;
mod tls_context;
pub(crate) mod tls_error;
pub(crate) mod verifier;

#[cfg(test)]
mod tests;

pub use crate::outcome::{Outcome, TlsStats};
pub use crate::policy::client_tls::istio_sni;
pub use app::App;
pub use circuit_breaker::ClusterLimits;
pub use exchange::{
    data_path_runtime, exchange, AppRequest, AuthzInput, AuthzVerdict, ClientSide, ClientSidecar,
    HttpAttributes, RequestProtocol, ServerSide, ServerSidecar,
};
pub use inbound::serve_stream;
pub use pool::ConnectionPool;
pub use tls_config::{crypto_provider, ClientMaterial, SidecarTls, TlsConfigError, UpstreamTls};
pub use verifier::{SpiffeClientVerifier, SpiffeServerVerifier};
