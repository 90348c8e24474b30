//! The sidecar: rustls server/client configs per mode, SPIFFE verifiers, inbound and outbound
//! pipelines, and the Envoy-shaped outcome (flags, details, access log, stats).

pub mod outcome;

pub use outcome::{Outcome, Status};
