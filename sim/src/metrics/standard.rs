//! Istio's standard metrics (`istio_requests_total`, `istio_tcp_connections_opened_total`,
//! `istio_tcp_connections_closed_total`), reported by each sidecar's `istio.stats` filter
//! (istio/proxy `source/extensions/filters/http/istio_stats/istio_stats.cc`, 1.22 to 1.28).
//!
//! Each proxy on the path reports what it logged: the source sidecar with
//! `reporter="source"` (its outbound access-log line), the destination sidecar with
//! `reporter="destination"` (one per inbound line that reached its HTTP connection manager or
//! TCP proxy; listener-level failures such as a failed handshake create no stream and no
//! metric). The label values follow `populatePeerInfo`:
//!
//! - the reporter's own side comes from its node metadata (workload, namespace, `app`,
//!   `version`, canonical service/revision as `pkg/kube/labels/labels.go` `CanonicalService`
//!   derives them, cluster `Kubernetes`);
//! - the peer's side comes from metadata exchange, which only a peer sidecar that took part in
//!   the exchange supplies, else `unknown`; a source sidecar falls back to the endpoint's
//!   metadata (workload, namespace, canonical service; no app or version);
//! - principals are the URI SANs of the TLS connection (`spiffe://...`), else `unknown`;
//! - `connection_security_policy` is `mutual_tls` or `none` for a destination reporter (peer
//!   and local SAN both present) and always `unknown` for a source reporter (the filter only
//!   sets it on the server side);
//! - `response_flags` is Envoy's short string (`-` when none); `grpc_response_status` is empty
//!   for plain HTTP.
//!
//! Not modelled: the histograms (`istio_request_duration_milliseconds`, `istio_request_bytes`,
//! `istio_response_bytes`) and the TCP byte counters; gRPC.

use super::access_log::LogLine;
use super::catalog::name;
use super::shape::Lines;
use super::{labels, target, Additions, Labels};
use crate::model::Workload;
use crate::policy::{Destination, Endpoint};
use crate::Outcome;

/// The cluster id every workload is in (Istio's default `CLUSTER_ID`).
const CLUSTER_ID: &str = "Kubernetes";
const UNKNOWN: &str = "unknown";

/// Who sent a request and where it went: what the reporting proxies know of each side.
#[derive(Debug, Clone, Copy)]
pub struct RequestMeta<'a> {
    /// The calling workload.
    pub source: &'a Workload,
    /// The Service dialled.
    pub service: &'a Destination,
    /// The endpoint the request went to (`None`: the Service had none).
    pub endpoint: Option<&'a Endpoint>,
    /// The mesh's trust domain (principals are `spiffe://<td>/ns/<ns>/sa/<sa>`).
    pub trust_domain: &'a str,
}

impl RequestMeta<'_> {
    /// The destination sidecar's proxy id, when there is an endpoint in the mesh (a server
    /// outside it has no proxy).
    pub(super) fn endpoint_proxy(&self) -> Option<String> {
        self.endpoint
            .filter(|e| e.external.is_none())
            .map(|e| format!("{}/{}", e.namespace, e.workload))
    }

    /// The outbound cluster Istio names for the Service port (`outbound|PORT||FQDN`).
    pub(super) fn cluster_name(&self) -> String {
        crate::vocab::outbound_cluster(self.service.port.port, &self.service.fqdn)
    }

    fn principal(&self, namespace: &str, service_account: &str) -> String {
        format!(
            "spiffe://{}/ns/{namespace}/sa/{service_account}",
            self.trust_domain
        )
    }
}

/// Counts the request's standard metrics at each reporting sidecar.
pub(super) fn observe(
    traffic: &mut Additions,
    meta: &RequestMeta<'_>,
    outcome: &Outcome,
    lines: &Lines<'_>,
) {
    if let Some(client) = &lines.client {
        for parsed in client.iter().flatten() {
            let mut l = target(&meta.source.proxy_id());
            l.insert("reporter".into(), "source".into());
            l.extend(own_side(Side::Source, meta.source));
            l.extend(client_view_of_destination(meta, outcome, parsed));
            l.insert("connection_security_policy".into(), UNKNOWN.into());
            count(traffic, l, parsed);
        }
    }
    let (Some(server), Some(endpoint), Some(proxy)) =
        (&lines.server, meta.endpoint, meta.endpoint_proxy())
    else {
        return;
    };
    for parsed in server.iter().flatten() {
        let stream = parsed.http || parsed.upstream_cluster.starts_with("inbound|");
        if !stream {
            continue;
        }
        let mut l = target(&proxy);
        l.insert("reporter".into(), "destination".into());
        l.extend(server_view_of_source(meta, outcome));
        l.extend(own_endpoint_side(meta, endpoint, outcome.mtls));
        let policy = if outcome.mtls { "mutual_tls" } else { "none" };
        l.insert("connection_security_policy".into(), policy.into());
        count(traffic, l, parsed);
    }
}

/// One `istio_requests_total` (HTTP) or one opened and closed TCP connection.
fn count(traffic: &mut Additions, mut l: Labels, line: &LogLine<'_>) {
    l.insert("response_flags".into(), line.flags.to_string());
    if line.http {
        l.insert("request_protocol".into(), "http".into());
        l.insert("response_code".into(), line.code.to_string());
        l.insert("grpc_response_status".into(), String::new());
        traffic.add(name("istio_requests_total"), &l, 1);
    } else {
        l.insert("request_protocol".into(), "tcp".into());
        traffic.add(name("istio_tcp_connections_opened_total"), &l, 1);
        traffic.add(name("istio_tcp_connections_closed_total"), &l, 1);
    }
}

/// The reporter's own workload labels under `side` (`source` or `destination`).
fn own_side(side: Side, w: &Workload) -> Labels {
    let (canonical, revision) = canonical_service(&w.pod_labels, &w.meta.name);
    side_labels(
        side,
        &[
            w.meta.name.as_str(),
            w.meta.namespace.as_str(),
            label_or_unknown(&w.pod_labels, "app"),
            label_or_unknown(&w.pod_labels, "version"),
            canonical.as_str(),
            revision.as_str(),
            CLUSTER_ID,
        ],
    )
}

/// The destination sidecar's own labels, its principal being its certificate's SAN when the
/// connection was mutual TLS.
fn own_endpoint_side(meta: &RequestMeta<'_>, e: &Endpoint, mtls: bool) -> Labels {
    let (canonical, revision) = canonical_service(&e.labels, &e.workload);
    let principal = if mtls {
        meta.principal(&e.namespace, &e.service_account)
    } else {
        UNKNOWN.into()
    };
    let mut l = side_labels(
        Side::Destination,
        &[
            e.workload.as_str(),
            e.namespace.as_str(),
            label_or_unknown(&e.labels, "app"),
            label_or_unknown(&e.labels, "version"),
            canonical.as_str(),
            revision.as_str(),
            CLUSTER_ID,
            principal.as_str(),
        ],
    );
    l.extend(service_labels(meta));
    l
}

/// What a source sidecar knows of the destination: the endpoint's metadata, the peer's
/// metadata exchange when the destination sidecar answered, the server certificate's SAN when
/// the handshake completed.
fn client_view_of_destination(
    meta: &RequestMeta<'_>,
    outcome: &Outcome,
    line: &LogLine<'_>,
) -> Labels {
    let exchanged = outcome.server_log.is_some() && line.http;
    let mut l = match meta.endpoint {
        Some(e) => {
            let (canonical, revision) = canonical_service(&e.labels, &e.workload);
            let principal = if outcome.mtls {
                meta.principal(&e.namespace, &e.service_account)
            } else {
                UNKNOWN.into()
            };
            let (app, version) = if exchanged {
                (
                    label_or_unknown(&e.labels, "app"),
                    label_or_unknown(&e.labels, "version"),
                )
            } else {
                (UNKNOWN, UNKNOWN)
            };
            side_labels(
                Side::Destination,
                &[
                    e.workload.as_str(),
                    e.namespace.as_str(),
                    app,
                    version,
                    canonical.as_str(),
                    revision.as_str(),
                    CLUSTER_ID,
                    principal.as_str(),
                ],
            )
        }
        None => unknown_side(Side::Destination),
    };
    l.extend(service_labels(meta));
    if matches!(
        line.upstream_cluster.as_ref(),
        "PassthroughCluster" | "BlackHoleCluster"
    ) {
        l.insert(
            "destination_service_name".into(),
            line.upstream_cluster.to_string(),
        );
    }
    // The source sidecar presents its certificate on an mTLS hop: its own SAN is known then.
    let principal = if outcome.mtls {
        meta.principal(&meta.source.meta.namespace, &meta.source.service_account)
    } else {
        UNKNOWN.into()
    };
    l.insert("source_principal".into(), principal);
    l
}

/// What a destination sidecar knows of the source: its metadata when the source had a sidecar
/// (metadata exchange), its SAN when the connection was mutual TLS.
fn server_view_of_source(meta: &RequestMeta<'_>, outcome: &Outcome) -> Labels {
    let mut l = if outcome.client_log.is_some() {
        own_side(Side::Source, meta.source)
    } else {
        unknown_side(Side::Source)
    };
    if outcome.mtls {
        let src = meta.source;
        l.insert(
            "source_principal".into(),
            meta.principal(&src.meta.namespace, &src.service_account),
        );
        // The namespace comes from the SAN first (`getNamespace(peer_san)`).
        l.insert(
            "source_workload_namespace".into(),
            src.meta.namespace.clone(),
        );
    } else {
        l.insert("source_principal".into(), UNKNOWN.into());
    }
    l
}

/// `destination_service`, `destination_service_name` and `destination_service_namespace`: the
/// Service of the cluster's `istio` metadata.
fn service_labels(meta: &RequestMeta<'_>) -> Labels {
    labels(&[
        ("destination_service", meta.service.fqdn.as_str()),
        (
            "destination_service_name",
            meta.service.service.name.as_str(),
        ),
        (
            "destination_service_namespace",
            meta.service.service.namespace.as_str(),
        ),
    ])
}

/// Every peer label of `side` as `unknown` (`latest` for the canonical revision).
fn unknown_side(side: Side) -> Labels {
    side_labels(
        side,
        &[
            UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, "latest", UNKNOWN, UNKNOWN,
        ],
    )
}

/// Which side of the request peer labels describe: the prefix of their names.
#[derive(Debug, Clone, Copy)]
enum Side {
    Source,
    Destination,
}

impl Side {
    /// The side's label names, in the order [`side_labels`] takes their values.
    const fn keys(self) -> [&'static str; 8] {
        match self {
            Side::Source => [
                "source_workload",
                "source_workload_namespace",
                "source_app",
                "source_version",
                "source_canonical_service",
                "source_canonical_revision",
                "source_cluster",
                "source_principal",
            ],
            Side::Destination => [
                "destination_workload",
                "destination_workload_namespace",
                "destination_app",
                "destination_version",
                "destination_canonical_service",
                "destination_canonical_revision",
                "destination_cluster",
                "destination_principal",
            ],
        }
    }
}

/// `side`'s labels from their values in [`Side::keys`] order (workload, its namespace, app,
/// version, canonical service and revision, cluster, and the principal where it is known).
fn side_labels(side: Side, values: &[&str]) -> Labels {
    side.keys()
        .iter()
        .zip(values)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn label_or_unknown<'a>(
    labels: &'a std::collections::BTreeMap<String, String>,
    key: &str,
) -> &'a str {
    labels.get(key).map_or(UNKNOWN, String::as_str)
}

/// `pkg/kube/labels/labels.go` `CanonicalService`: the name from
/// `service.istio.io/canonical-name`, `app.kubernetes.io/name`, `app`, else the workload's name;
/// the revision from `service.istio.io/canonical-revision`, `app.kubernetes.io/version`,
/// `version`, else `latest`.
fn canonical_service(
    labels: &std::collections::BTreeMap<String, String>,
    workload: &str,
) -> (String, String) {
    let first = |keys: &[&str]| keys.iter().find_map(|k| labels.get(*k).cloned());
    (
        first(&[
            "service.istio.io/canonical-name",
            "app.kubernetes.io/name",
            "app",
        ])
        .unwrap_or_else(|| workload.to_string()),
        first(&[
            "service.istio.io/canonical-revision",
            "app.kubernetes.io/version",
            "version",
        ])
        .unwrap_or_else(|| "latest".to_string()),
    )
}
