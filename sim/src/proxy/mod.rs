//! The sidecar: rustls server/client configs per mode, SPIFFE verifiers, inbound and outbound
//! pipelines, and the Envoy-shaped outcome (flags, details, access log, stats).
//!
//! Entry point: [`exchange`] — one request hop over a real in-process connection.

pub mod access_log;
pub mod app;
pub mod exchange;
pub mod http;
mod inbound;
pub mod inspector;
mod outbound;
pub mod outcome;
pub mod pool;
mod report;
pub mod testing;
pub mod tls_config;
pub mod tls_error;
pub mod verifier;

#[cfg(test)]
mod tests;

pub use app::App;
pub use exchange::{
    data_path_runtime, exchange, AppRequest, AuthzInput, AuthzVerdict, ClientSide, ClientSidecar,
    HttpAttributes, PortProtocol, RequestProtocol, ServerSide, ServerSidecar,
};
pub use inbound::serve_stream;
pub use outcome::{Outcome, Status, TlsStats};
pub use pool::ConnectionPool;
pub use tls_config::{istio_sni, ClientMaterial, SidecarTls, TlsConfigError, UpstreamTls};
