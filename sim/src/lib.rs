//! meshsim's in-process mesh: typed Kubernetes/Istio resources, the policy engine (analysis
//! path), the mock CA and sidecars that run real rustls handshakes (data path), and diagnosis.
#![forbid(unsafe_code)]

pub mod analysis;
pub mod artifacts;
pub mod clock;
pub mod control;
pub mod diagnose;
pub mod evidence;
pub mod fault;
pub mod mesh;
pub mod metrics;
pub mod model;
pub mod outcome;
pub mod pki;
pub mod policy;
pub mod proxy;
pub mod request;
pub mod tls_params;
pub mod vocab;

pub use clock::SimTime;
pub use fault::Fault;
pub use mesh::Mesh;
pub use model::Resources;
pub use outcome::{Outcome, OutcomeGroup, Outcomes};
pub use request::RequestSpec;
