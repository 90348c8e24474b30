//! Istio's PeerAuthentication, DestinationRule and AuthorizationPolicy specs, field for field as
//! `istio/api` defines them (camelCase YAML). Served versions: security `v1`/`v1beta1`,
//! networking `v1`/`v1beta1`/`v1alpha3`; the spec shape is the same in each.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Meta;

/// `selector:` / `workloadSelector:` — a label subset match.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadSelector {
    /// Labels that must all be present with these values.
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
}

impl WorkloadSelector {
    /// True when every selector label is on the workload (an empty selector selects everything).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
    }
}

// ---------------------------------------------------------------- PeerAuthentication

/// PeerAuthentication mutual TLS mode (`UNSET` inherits from the parent level).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MtlsMode {
    /// Inherit from the parent; PERMISSIVE when there is none.
    #[default]
    Unset,
    /// Plaintext only.
    Disable,
    /// mTLS and plaintext.
    Permissive,
    /// mTLS only.
    Strict,
}

impl MtlsMode {
    /// Istio's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MtlsMode::Unset => "UNSET",
            MtlsMode::Disable => "DISABLE",
            MtlsMode::Permissive => "PERMISSIVE",
            MtlsMode::Strict => "STRICT",
        }
    }
}

/// `mtls:` of a PeerAuthentication (and each `portLevelMtls` entry).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerMtls {
    /// The mode; absent means UNSET.
    #[serde(default)]
    pub mode: MtlsMode,
}

/// PeerAuthentication spec.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerAuthenticationSpec {
    /// Workload selector; absent (or empty `matchLabels`) means namespace- or mesh-wide.
    #[serde(default)]
    pub selector: Option<WorkloadSelector>,
    /// Mode for the workload; absent counts as UNSET.
    #[serde(default)]
    pub mtls: Option<PeerMtls>,
    /// Per *workload (target)* port overrides; only valid with a selector.
    #[serde(default)]
    pub port_level_mtls: Option<BTreeMap<u32, PeerMtls>>,
}

/// A PeerAuthentication object.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerAuthentication {
    /// Metadata.
    pub meta: Meta,
    /// Spec.
    pub spec: PeerAuthenticationSpec,
}

// ---------------------------------------------------------------- DestinationRule

/// `ClientTLSSettings.mode`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClientTlsMode {
    /// Plaintext to the upstream.
    #[default]
    Disable,
    /// One-way TLS.
    Simple,
    /// mTLS with user-supplied certificates.
    Mutual,
    /// mTLS with the mesh's SDS certificates.
    IstioMutual,
}

impl ClientTlsMode {
    /// Istio's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientTlsMode::Disable => "DISABLE",
            ClientTlsMode::Simple => "SIMPLE",
            ClientTlsMode::Mutual => "MUTUAL",
            ClientTlsMode::IstioMutual => "ISTIO_MUTUAL",
        }
    }
}

/// `trafficPolicy.tls`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientTls {
    /// Mode.
    #[serde(default)]
    pub mode: ClientTlsMode,
    /// MUTUAL: path of the client certificate.
    #[serde(default)]
    pub client_certificate: Option<String>,
    /// MUTUAL: path of the private key.
    #[serde(default)]
    pub private_key: Option<String>,
    /// SIMPLE/MUTUAL: CA bundle path.
    #[serde(default)]
    pub ca_certificates: Option<String>,
    /// SIMPLE/MUTUAL: certificate revocation list path.
    #[serde(default)]
    pub ca_crl: Option<String>,
    /// SIMPLE/MUTUAL: a Secret holding the certificates.
    #[serde(default)]
    pub credential_name: Option<String>,
    /// SANs the server certificate must carry (overrides the service accounts for ISTIO_MUTUAL).
    #[serde(default)]
    pub subject_alt_names: Vec<String>,
    /// SNI to send.
    #[serde(default)]
    pub sni: Option<String>,
    /// Skip server verification.
    #[serde(default)]
    pub insecure_skip_verify: Option<bool>,
}

/// `connectionPool.tcp`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TcpPoolSettings {
    /// Maximum connections to the upstream.
    #[serde(default)]
    pub max_connections: Option<u32>,
    /// Connect timeout (e.g. `10s`).
    #[serde(default)]
    pub connect_timeout: Option<String>,
    /// TCP keepalive (not modelled).
    #[serde(default)]
    pub tcp_keepalive: Option<serde_yaml::Value>,
    /// Max connection duration (not modelled).
    #[serde(default)]
    pub max_connection_duration: Option<String>,
    /// Idle timeout (not modelled).
    #[serde(default)]
    pub idle_timeout: Option<String>,
}

/// `connectionPool.http`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpPoolSettings {
    /// Maximum queued requests (HTTP/1.1).
    #[serde(default)]
    pub http1_max_pending_requests: Option<u32>,
    /// Maximum concurrent requests (HTTP/2).
    #[serde(default)]
    pub http2_max_requests: Option<u32>,
    /// Maximum requests per connection.
    #[serde(default)]
    pub max_requests_per_connection: Option<u32>,
    /// Maximum outstanding retries.
    #[serde(default)]
    pub max_retries: Option<u32>,
    /// Idle timeout.
    #[serde(default)]
    pub idle_timeout: Option<String>,
    /// Upgrade policy (not modelled).
    #[serde(default)]
    pub h2_upgrade_policy: Option<String>,
    /// Concurrent streams (not modelled).
    #[serde(default)]
    pub max_concurrent_streams: Option<u32>,
    /// Use client protocol (not modelled).
    #[serde(default)]
    pub use_client_protocol: Option<bool>,
    /// HTTP/2 keepalive pings (`interval`, `timeout`; not modelled).
    #[serde(default)]
    pub http2_keep_alive: Option<serde_yaml::Value>,
}

/// `trafficPolicy.connectionPool`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionPool {
    /// TCP limits.
    #[serde(default)]
    pub tcp: Option<TcpPoolSettings>,
    /// HTTP limits.
    #[serde(default)]
    pub http: Option<HttpPoolSettings>,
}

/// `loadBalancer.simple` (`LoadBalancerSettings.SimpleLB`): the CRD's enum, so any other
/// value is a load error as `kubectl apply` would reject it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SimpleLb {
    /// Envoy's default (round robin).
    #[default]
    Unspecified,
    /// Deprecated alias of `LEAST_REQUEST`.
    LeastConn,
    /// Random.
    Random,
    /// No load balancing: the connection goes to the address the caller dialled
    /// (`ORIGINAL_DST` cluster, `applyLoadBalancer` in `cluster_traffic_policy.go`).
    Passthrough,
    /// Round robin.
    RoundRobin,
    /// Least request.
    LeastRequest,
}

/// `trafficPolicy.loadBalancer`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancerSettings {
    /// The simple algorithm; `PASSTHROUGH` changes the cluster type and auto mTLS.
    #[serde(default)]
    pub simple: Option<SimpleLb>,
    /// Consistent hashing (not modelled).
    #[serde(default)]
    pub consistent_hash: Option<serde_yaml::Value>,
    /// Locality weighting and failover (not modelled).
    #[serde(default)]
    pub locality_lb_setting: Option<serde_yaml::Value>,
    /// Slow start window (not modelled).
    #[serde(default)]
    pub warmup_duration_secs: Option<serde_yaml::Value>,
    /// Slow start settings (not modelled).
    #[serde(default)]
    pub warmup: Option<serde_yaml::Value>,
}

impl LoadBalancerSettings {
    /// Whether `simple` is `PASSTHROUGH`.
    pub fn is_passthrough(&self) -> bool {
        self.simple == Some(SimpleLb::Passthrough)
    }
}

/// `portLevelSettings[].port`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortSelector {
    /// The *Service* port number.
    #[serde(default)]
    pub number: u32,
}

/// One `portLevelSettings` entry: replaces the top-level policy wholesale for its port.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortTrafficPolicy {
    /// The service port.
    #[serde(default)]
    pub port: Option<PortSelector>,
    /// TLS for this port.
    #[serde(default)]
    pub tls: Option<ClientTls>,
    /// Pool limits for this port.
    #[serde(default)]
    pub connection_pool: Option<ConnectionPool>,
    /// Load balancer (`simple: PASSTHROUGH` is modelled).
    #[serde(default)]
    pub load_balancer: Option<LoadBalancerSettings>,
    /// Outlier detection (not modelled).
    #[serde(default)]
    pub outlier_detection: Option<serde_yaml::Value>,
}

/// `trafficPolicy`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficPolicy {
    /// TLS settings.
    #[serde(default)]
    pub tls: Option<ClientTls>,
    /// Pool limits.
    #[serde(default)]
    pub connection_pool: Option<ConnectionPool>,
    /// Port overrides.
    #[serde(default)]
    pub port_level_settings: Vec<PortTrafficPolicy>,
    /// Load balancer (`simple: PASSTHROUGH` is modelled).
    #[serde(default)]
    pub load_balancer: Option<LoadBalancerSettings>,
    /// Outlier detection (not modelled).
    #[serde(default)]
    pub outlier_detection: Option<serde_yaml::Value>,
    /// Tunnel (not modelled).
    #[serde(default)]
    pub tunnel: Option<serde_yaml::Value>,
    /// Proxy protocol (not modelled).
    #[serde(default)]
    pub proxy_protocol: Option<serde_yaml::Value>,
    /// Retry budget (not modelled).
    #[serde(default)]
    pub retry_budget: Option<serde_yaml::Value>,
}

/// `subsets[]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Subset {
    /// Subset name.
    #[serde(default)]
    pub name: String,
    /// Endpoint labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Overrides for this subset.
    #[serde(default)]
    pub traffic_policy: Option<TrafficPolicy>,
}

/// DestinationRule spec.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationRuleSpec {
    /// Host; a short name resolves in the DR's own namespace.
    #[serde(default)]
    pub host: String,
    /// Policy for the host.
    #[serde(default)]
    pub traffic_policy: Option<TrafficPolicy>,
    /// Subsets.
    #[serde(default)]
    pub subsets: Vec<Subset>,
    /// Namespaces this rule is visible in (`.`, `*`, names); empty means everywhere.
    #[serde(default)]
    pub export_to: Vec<String>,
    /// Applies only to these client workloads.
    #[serde(default)]
    pub workload_selector: Option<WorkloadSelector>,
}

/// A DestinationRule object.
#[derive(Debug, Clone, PartialEq)]
pub struct DestinationRule {
    /// Metadata.
    pub meta: Meta,
    /// Spec.
    pub spec: DestinationRuleSpec,
}

// ---------------------------------------------------------------- AuthorizationPolicy

/// AuthorizationPolicy action.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, PartialOrd, Ord, Hash,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuthzAction {
    /// Allow when matched (the default).
    #[default]
    Allow,
    /// Deny when matched.
    Deny,
    /// Log when matched; never changes the decision.
    Audit,
    /// Delegate to an extension provider.
    Custom,
}

impl AuthzAction {
    /// Istio's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthzAction::Allow => "ALLOW",
            AuthzAction::Deny => "DENY",
            AuthzAction::Audit => "AUDIT",
            AuthzAction::Custom => "CUSTOM",
        }
    }
}

/// `rules[].from[].source`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthzSource {
    /// Peer identities `<td>/ns/<ns>/sa/<sa>` (needs mTLS).
    #[serde(default)]
    pub principals: Option<Vec<String>>,
    /// Negated principals.
    #[serde(default)]
    pub not_principals: Option<Vec<String>>,
    /// JWT `iss/sub`.
    #[serde(default)]
    pub request_principals: Option<Vec<String>>,
    /// Negated request principals.
    #[serde(default)]
    pub not_request_principals: Option<Vec<String>>,
    /// Peer namespaces (needs mTLS).
    #[serde(default)]
    pub namespaces: Option<Vec<String>>,
    /// Negated namespaces.
    #[serde(default)]
    pub not_namespaces: Option<Vec<String>>,
    /// Peer service accounts `ns/sa` or `sa`.
    #[serde(default)]
    pub service_accounts: Option<Vec<String>>,
    /// Negated service accounts.
    #[serde(default)]
    pub not_service_accounts: Option<Vec<String>>,
    /// Direct peer IPs / CIDRs.
    #[serde(default)]
    pub ip_blocks: Option<Vec<String>>,
    /// Negated IP blocks.
    #[serde(default)]
    pub not_ip_blocks: Option<Vec<String>>,
    /// Original client IPs (XFF).
    #[serde(default)]
    pub remote_ip_blocks: Option<Vec<String>>,
    /// Negated remote IP blocks.
    #[serde(default)]
    pub not_remote_ip_blocks: Option<Vec<String>>,
    /// Peer trust domains (needs mTLS); exact, prefix, suffix or `*`.
    #[serde(default)]
    pub trust_domains: Option<Vec<String>>,
    /// Negated trust domains.
    #[serde(default)]
    pub not_trust_domains: Option<Vec<String>>,
}

/// `rules[].from[]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthzFrom {
    /// The source.
    #[serde(default)]
    pub source: Option<AuthzSource>,
}

/// `rules[].to[].operation`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthzOperation {
    /// `:authority` values (HTTP only, case-insensitive).
    #[serde(default)]
    pub hosts: Option<Vec<String>>,
    /// Negated hosts.
    #[serde(default)]
    pub not_hosts: Option<Vec<String>>,
    /// Destination (workload) ports.
    #[serde(default)]
    pub ports: Option<Vec<String>>,
    /// Negated ports.
    #[serde(default)]
    pub not_ports: Option<Vec<String>>,
    /// HTTP methods (HTTP only).
    #[serde(default)]
    pub methods: Option<Vec<String>>,
    /// Negated methods.
    #[serde(default)]
    pub not_methods: Option<Vec<String>>,
    /// Paths (HTTP only).
    #[serde(default)]
    pub paths: Option<Vec<String>>,
    /// Negated paths.
    #[serde(default)]
    pub not_paths: Option<Vec<String>>,
}

/// `rules[].to[]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthzTo {
    /// The operation.
    #[serde(default)]
    pub operation: Option<AuthzOperation>,
}

/// `rules[].when[]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthzCondition {
    /// Attribute name, e.g. `request.headers[x-token]`, `source.namespace`.
    #[serde(default)]
    pub key: String,
    /// Allowed values.
    #[serde(default)]
    pub values: Option<Vec<String>>,
    /// Negated values.
    #[serde(default)]
    pub not_values: Option<Vec<String>>,
}

/// `rules[]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthzRule {
    /// Sources (any may match); absent is a wildcard.
    #[serde(default)]
    pub from: Option<Vec<AuthzFrom>>,
    /// Operations (any may match); absent is a wildcard.
    #[serde(default)]
    pub to: Option<Vec<AuthzTo>>,
    /// Conditions (all must match).
    #[serde(default)]
    pub when: Option<Vec<AuthzCondition>>,
}

/// `provider:` of a CUSTOM policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionProvider {
    /// Provider name from MeshConfig `extensionProviders`.
    #[serde(default)]
    pub name: String,
}

/// AuthorizationPolicy spec.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationPolicySpec {
    /// Workload selector.
    #[serde(default)]
    pub selector: Option<WorkloadSelector>,
    /// Gateway/waypoint target (not modelled beyond loading).
    #[serde(default)]
    pub target_ref: Option<serde_yaml::Value>,
    /// Gateway/waypoint targets (not modelled beyond loading).
    #[serde(default)]
    pub target_refs: Option<Vec<serde_yaml::Value>>,
    /// Rules; absent or empty never matches, `[{}]` always matches.
    #[serde(default)]
    pub rules: Option<Vec<AuthzRule>>,
    /// Action.
    #[serde(default)]
    pub action: AuthzAction,
    /// CUSTOM provider.
    #[serde(default)]
    pub provider: Option<ExtensionProvider>,
}

/// An AuthorizationPolicy object.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizationPolicy {
    /// Metadata.
    pub meta: Meta,
    /// Spec.
    pub spec: AuthorizationPolicySpec,
}

// ---------------------------------------------------------------- Sidecar

pub use crate::vocab::OutboundTrafficMode;

/// A Sidecar's `outboundTrafficPolicy` (`egressProxy` is warned as unmodelled).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SidecarOutboundTrafficPolicy {
    /// The mode; absent is the proto default, `REGISTRY_ONLY`.
    #[serde(default)]
    pub mode: OutboundTrafficMode,
    /// `egressProxy` (warned: not modelled).
    #[serde(default)]
    pub egress_proxy: Option<serde_yaml::Value>,
}

/// A Sidecar's `workloadSelector` (`labels`, unlike the `matchLabels` of other kinds).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SidecarWorkloadSelector {
    /// Labels that must all be present with these values.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A Sidecar egress listener's `port` (only the number is read).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SidecarPort {
    /// `number`.
    #[serde(default)]
    pub number: u32,
    /// `protocol` as written.
    #[serde(default)]
    pub protocol: Option<String>,
    /// `name`.
    #[serde(default)]
    pub name: Option<String>,
    /// `targetPort` (ingress listeners only).
    #[serde(default)]
    pub target_port: Option<u32>,
}

/// One `egress` listener of a Sidecar.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SidecarEgress {
    /// `port`: a listener for this port only (its services are imported on that port alone).
    #[serde(default)]
    pub port: Option<SidecarPort>,
    /// `hosts`: `namespace/dnsName` imports.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// `bind` (warned: not modelled).
    #[serde(default)]
    pub bind: Option<serde_yaml::Value>,
    /// `captureMode` (warned: not modelled).
    #[serde(default)]
    pub capture_mode: Option<serde_yaml::Value>,
}

/// Sidecar spec (the fields meshsim models; the others are warned).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SidecarSpec {
    /// Applies only to workloads with these labels in the Sidecar's namespace.
    #[serde(default)]
    pub workload_selector: Option<SidecarWorkloadSelector>,
    /// Egress listeners; none means one listener importing `*/*`.
    #[serde(default)]
    pub egress: Vec<SidecarEgress>,
    /// Overrides MeshConfig's `outboundTrafficPolicy` when present.
    #[serde(default)]
    pub outbound_traffic_policy: Option<SidecarOutboundTrafficPolicy>,
    /// `ingress` (warned: not modelled).
    #[serde(default)]
    pub ingress: Option<serde_yaml::Value>,
    /// `inboundConnectionPool` (warned: not modelled).
    #[serde(default)]
    pub inbound_connection_pool: Option<serde_yaml::Value>,
}

/// A Sidecar object.
#[derive(Debug, Clone, PartialEq)]
pub struct Sidecar {
    /// Metadata.
    pub meta: Meta,
    /// Spec.
    pub spec: SidecarSpec,
}
