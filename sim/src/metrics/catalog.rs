//! Every metric family meshsim exposes: its Prometheus name and type, the help text its source
//! registers, and where that source is. docs/metrics.md is this table, with the label sets.

/// A Prometheus metric type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Only grows (resets when the process restarts).
    Counter,
    /// Goes up and down.
    Gauge,
}

impl MetricKind {
    /// The `# TYPE` word.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
        }
    }
}

/// One metric family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    /// The name as Prometheus shows it.
    pub name: &'static str,
    /// Counter or gauge.
    pub kind: MetricKind,
    /// The help text (the source's, for istiod and the agent).
    pub help: &'static str,
    /// Where the source defines it.
    pub source: &'static str,
}

const CA: &str = "istio/istio security/pkg/server/ca/monitoring.go";
const AGENT: &str = "istio/istio security/pkg/nodeagent/cache/monitoring.go (prefix istio_agent_: \
                     pilot/cmd/pilot-agent/status/server.go)";
const STATS: &str = "istio/proxy source/extensions/filters/http/istio_stats/istio_stats.cc";
const SSL: &str =
    "envoy docs/root/_include/ssl_stats.rst (name: source/server/admin/prometheus_stats.cc)";

macro_rules! families {
    ($($name:literal $kind:ident $source:ident $help:literal;)*) => {
        /// Every family, sorted by name.
        pub const FAMILIES: &[Family] = &[$(Family {
            name: $name,
            kind: MetricKind::$kind,
            help: $help,
            source: $source,
        }),*];
    };
}

families! {
    "citadel_server_authentication_failure_count" Counter CA "The number of authentication failures.";
    "citadel_server_cert_chain_expiry_seconds" Gauge CA "The time remaining, in seconds, before the Istio Generated cert chain will expire. A negative value indicates the cert is expired.";
    "citadel_server_cert_chain_expiry_timestamp" Gauge CA "The unix timestamp, in seconds, when Istio generated cert chain will expire.";
    "citadel_server_csr_count" Counter CA "The number of CSRs received by Citadel server.";
    "citadel_server_csr_sign_err_count" Counter CA "The number of errors occurred when signing the CSR.";
    "citadel_server_root_cert_expiry_seconds" Gauge CA "The time remaining, in seconds, before the root cert will expire. A negative value indicates the cert is expired.";
    "citadel_server_root_cert_expiry_timestamp" Gauge CA "The unix timestamp, in seconds, when the root cert will expire.";
    "citadel_server_success_cert_issuance_count" Counter CA "The number of certificates issuances that have succeeded.";
    "envoy_cluster_ssl_connection_error" Counter SSL "Total TLS connection errors not including failed certificate verifications";
    "envoy_cluster_ssl_fail_verify_error" Counter SSL "Total TLS connections that failed CA verification";
    "envoy_cluster_ssl_fail_verify_no_cert" Counter SSL "Total TLS connections that failed because of missing client certificate";
    "envoy_cluster_ssl_fail_verify_san" Counter SSL "Total TLS connections that failed SAN verification";
    "envoy_cluster_ssl_handshake" Counter SSL "Total successful TLS connection handshakes";
    "envoy_cluster_ssl_no_certificate" Counter SSL "Total successful TLS connections with no client certificate";
    "envoy_listener_no_filter_chain_match" Counter SSL "Total connections that didn't match any filter chain";
    "envoy_listener_ssl_connection_error" Counter SSL "Total TLS connection errors not including failed certificate verifications";
    "envoy_listener_ssl_fail_verify_error" Counter SSL "Total TLS connections that failed CA verification";
    "envoy_listener_ssl_fail_verify_no_cert" Counter SSL "Total TLS connections that failed because of missing client certificate";
    "envoy_listener_ssl_fail_verify_san" Counter SSL "Total TLS connections that failed SAN verification";
    "envoy_listener_ssl_handshake" Counter SSL "Total successful TLS connection handshakes";
    "envoy_listener_ssl_no_certificate" Counter SSL "Total successful TLS connections with no client certificate";
    "istio_agent_cert_expiry_seconds" Gauge AGENT "The time remaining, in seconds, before the certificate chain will expire. A negative value indicates the cert is expired.";
    "istio_agent_num_failed_outgoing_requests" Counter AGENT "Number of failed outgoing requests (e.g. to a token exchange server, CA, etc.)";
    "istio_agent_num_outgoing_requests" Counter AGENT "Number of total outgoing requests (e.g. to a token exchange server, CA, etc.)";
    "istio_requests_total" Counter STATS "Istio standard metric: requests, by reporter (source/destination proxy).";
    "istio_tcp_connections_closed_total" Counter STATS "Istio standard metric: TCP connections closed, by reporter.";
    "istio_tcp_connections_opened_total" Counter STATS "Istio standard metric: TCP connections opened, by reporter.";
}

/// The family named `name`.
pub fn family(name: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.name == name)
}

/// The family named `name`, which must be in [`FAMILIES`] (every name the modules emit is).
pub(crate) fn name(name: &'static str) -> &'static str {
    debug_assert!(family(name).is_some(), "{name} is not in FAMILIES");
    name
}
