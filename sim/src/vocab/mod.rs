//! The leaf vocabulary every other module speaks: identities, references and resource kinds,
//! the failure-mode codes, Envoy's words, and what both paths decide (a request's status, a
//! port's protocol). Each type parses once (`FromStr`), prints once (`Display`) and
//! serializes as the same string it displays, so values travel typed instead of being parsed
//! again from strings. Nothing here depends on another `sim` module.

#[macro_use]
mod names;
pub mod boringssl;
pub(crate) mod details;
mod egress;
mod finding_code;
mod host_port;
mod kind;
mod kube_protocol;
mod path_normalization;
mod protocol;
mod release;
mod response_flag;
pub(crate) mod spiffe;
mod status;
mod unmodelled_subject;
mod workload_ref;

pub use egress::{Egress, OutboundListener, OutboundTrafficMode, BLACKHOLE_CLUSTER};
pub use finding_code::FindingCode;
pub use host_port::{HostPort, HostPortError, HostTarget, CLUSTER_DOMAIN};
pub use kind::Kind;
pub use kube_protocol::KubeProtocol;
pub use names::{join, UnknownName};
pub use path_normalization::PathNormalization;
pub use protocol::{
    inbound_cluster, outbound_cluster, sniffs_as_http, IstioProtocol, OutboundChain, PortProtocol,
    Protocol, PASSTHROUGH_CLUSTER,
};
pub use release::{IstioRelease, UnknownIstioRelease};
pub use response_flag::ResponseFlag;
pub use spiffe::{without_scheme, SpiffeId, SpiffeIdError, TrustDomains};
pub use status::Status;
pub use unmodelled_subject::UnmodelledSubject;
pub use workload_ref::{is_dns1123_label, WorkloadRef, WorkloadRefError};
