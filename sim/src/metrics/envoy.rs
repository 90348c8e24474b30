//! Envoy's TLS stats of each sidecar, as Istio's Prometheus endpoint names them.
//!
//! Envoy keeps `cluster.<name>.ssl.*` for upstream (client) TLS and `listener.<address>.ssl.*`
//! for downstream (server) TLS (envoy `docs/root/_include/ssl_stats.rst`,
//! `docs/configuration/listeners/stats.rst`). Istio's bootstrap extracts the tags `cluster_name`
//! (regex `^cluster(\.(.+);)`, the `;`-delimited `alt_stat_name` pilot sets on every cluster) and
//! `listener_address` (`tools/packaging/common/envoy_bootstrap.json`), and Envoy's Prometheus
//! formatter prefixes `envoy_` to the tag-extracted name (`source/server/admin/
//! prometheus_stats.cc`): `envoy_cluster_ssl_handshake{cluster_name="outbound|8000||h.foo..."}`.
//!
//! Istio's default `stats_matcher` does NOT include these (`pkg/bootstrap/config.go` includes
//! only `cluster_manager`, `listener_manager`, `server`, `cluster.xds-grpc`, `wasm` and a few
//! suffixes): a real sidecar exposes them only with `proxyStatsMatcher` (e.g.
//! `inclusionRegexps: [".*ssl.*"]`). meshsim exposes them as if that were set, and says so.

use super::catalog::name;
use super::shape::Lines;
use super::standard::RequestMeta;
use super::{target, Additions, Labels};
use crate::outcome::TlsStats;
use crate::Outcome;

/// The inbound listener every sidecar's inbound connections land on (`virtualInbound`).
pub(super) const INBOUND_LISTENER: &str = "0.0.0.0_15006";

/// Counts the TLS stats of the request's client and server sidecars.
pub(super) fn observe(
    traffic: &mut Additions,
    meta: &RequestMeta<'_>,
    outcome: &Outcome,
    lines: &Lines<'_>,
) {
    if let Some(stats) = outcome.stats.get("client") {
        let cluster = lines
            .client
            .as_ref()
            .and_then(|l| l.first())
            .and_then(Option::as_ref)
            .map(|l| l.upstream_cluster.to_string())
            .filter(|c| c != "-")
            .unwrap_or_else(|| meta.cluster_name());
        let mut l = target(&meta.source.proxy_id());
        l.insert("cluster_name".into(), cluster);
        add_ssl(traffic, Scope::Cluster, &l, stats);
    }
    if let (Some(stats), Some(proxy)) = (outcome.stats.get("server"), meta.endpoint_proxy()) {
        let mut l = target(&proxy);
        l.insert("listener_address".into(), INBOUND_LISTENER.into());
        add_ssl(traffic, Scope::Listener, &l, stats);
        if stats.no_filter_chain_match > 0 {
            traffic.add(
                name("envoy_listener_no_filter_chain_match"),
                &l,
                stats.no_filter_chain_match,
            );
        }
    }
}

/// Adds one proxy's `ssl.*` counters under `scope`. Every counter of the scope is created
/// (Envoy creates a scope's stats together); `no_certificate` stays 0: Istio's inbound mTLS
/// chains set `require_client_certificate`, so a handshake without a client certificate fails
/// (`fail_verify_no_cert`) instead of succeeding without one.
fn add_ssl(traffic: &mut Additions, scope: Scope, labels: &Labels, stats: &TlsStats) {
    let names = match scope {
        Scope::Cluster => [
            "envoy_cluster_ssl_handshake",
            "envoy_cluster_ssl_connection_error",
            "envoy_cluster_ssl_fail_verify_error",
            "envoy_cluster_ssl_fail_verify_san",
            "envoy_cluster_ssl_fail_verify_no_cert",
            "envoy_cluster_ssl_no_certificate",
        ],
        Scope::Listener => [
            "envoy_listener_ssl_handshake",
            "envoy_listener_ssl_connection_error",
            "envoy_listener_ssl_fail_verify_error",
            "envoy_listener_ssl_fail_verify_san",
            "envoy_listener_ssl_fail_verify_no_cert",
            "envoy_listener_ssl_no_certificate",
        ],
    };
    let values = [
        stats.handshake,
        stats.connection_error,
        stats.fail_verify_error,
        stats.fail_verify_san,
        stats.fail_verify_no_cert,
        0,
    ];
    for (n, v) in names.into_iter().zip(values) {
        traffic.add(name(n), labels, v);
    }
}

/// Upstream (a cluster) or downstream (a listener) TLS.
#[derive(Debug, Clone, Copy)]
enum Scope {
    Cluster,
    Listener,
}
