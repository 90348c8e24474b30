//! The analysis path's policy engine: effective PeerAuthentication, DestinationRule selection and
//! client TLS choice (auto mTLS), AuthorizationPolicy evaluation, compiled indices.
//!
//! Every function is pure over `Resources` and returns, beside its answer, the `Decision`s that
//! explain it. Semantics follow Istio's sources; see `docs/semantics.md`.

pub(crate) mod authz;
pub(crate) mod client_tls;
pub(crate) mod decision;
pub(crate) mod destination_rule;
pub(crate) mod interception;
pub(crate) mod peer_authn;
pub(crate) mod pod_ips;
pub(crate) mod routing;
pub(crate) mod sidecar_scope;

#[cfg(test)]
pub(crate) mod testing;

pub use authz::{
    rbac_denied_details, workload_principal, AuthzDecision, AuthzIndex, HttpFacts, PolicyMatch,
    RequestFacts, RuleMiss, Verdict, VerdictMatch, DRY_RUN_ANNOTATION, EXT_AUTHZ_DENIED,
};
pub use client_tls::{
    client_tls_for_endpoint, client_tls_for_release, client_tls_for_subset, parse_istio_sni,
    ClientTlsChoice, ClientTlsRelease, ClientTlsSource, RequestTlsNames, RouterHost, ServerRoots,
};
pub use decision::Decision;
pub use destination_rule::SelectedDestinationRule;
pub use interception::{outbound_bypass, service_address};
pub use peer_authn::{
    compose_peer_authentication, effective_peer_authentication, inbound_mode, namespace_mtls_mode,
    MergedPeerAuthentication, PeerAuthenticationIndex,
};
pub use pod_ips::PodIps;
pub use routing::{
    outside_server_tls, resolve_destination, service_selects, Destination, DestinationError,
    Endpoint, OutsideServer, OutsideTls,
};
pub use sidecar_scope::{
    client_egress, client_egress_cached, imports, outbound_mode, sidecar_for, EgressCache,
};
