//! The Kubernetes side of the mesh, normalised from whatever kinds a dump holds: namespaces,
//! service accounts, workloads (a Pod or a controller's pod template), services and MeshConfig.

use crate::vocab::{IstioProtocol, Kind, KubeProtocol, PortProtocol};
use std::collections::BTreeMap;

use super::Meta;

/// A namespace.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Namespace {
    /// Metadata (labels carry `istio-injection`, `istio.io/rev`).
    pub meta: Meta,
}

/// A service account.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceAccount {
    /// Metadata.
    pub meta: Meta,
}

/// Which Kubernetes kind a workload was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum WorkloadKind {
    /// A bare Pod.
    #[default]
    Pod,
    /// apps/v1 Deployment.
    Deployment,
    /// apps/v1 StatefulSet.
    StatefulSet,
    /// apps/v1 DaemonSet.
    DaemonSet,
    /// apps/v1 ReplicaSet.
    ReplicaSet,
    /// batch/v1 Job.
    Job,
}

impl WorkloadKind {
    /// The Kubernetes kind name.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Pod => "Pod",
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::DaemonSet => "DaemonSet",
            WorkloadKind::ReplicaSet => "ReplicaSet",
            WorkloadKind::Job => "Job",
        }
    }
}

impl From<WorkloadKind> for Kind {
    fn from(kind: WorkloadKind) -> Kind {
        match kind {
            WorkloadKind::Pod => Kind::Pod,
            WorkloadKind::Deployment => Kind::Deployment,
            WorkloadKind::StatefulSet => Kind::StatefulSet,
            WorkloadKind::DaemonSet => Kind::DaemonSet,
            WorkloadKind::ReplicaSet => Kind::ReplicaSet,
            WorkloadKind::Job => Kind::Job,
        }
    }
}

/// A container port of the pod template.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerPort {
    /// Port name (Service `targetPort` may refer to it).
    pub name: Option<String>,
    /// Port number.
    pub port: u16,
    /// `TCP` / `UDP` / `SCTP`.
    pub protocol: KubeProtocol,
}

/// What a workload is to the mesh: an application (with or without a sidecar), an Istio
/// gateway, or istiod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum WorkloadRole {
    /// An application pod: it gets a sidecar when the injector decides so.
    #[default]
    App,
    /// An Istio ingress or egress gateway: a standalone Envoy (`proxy router`) with its own
    /// workload certificate, whatever its injection labels say.
    Gateway,
    /// istiod, the control plane: no proxy, and it sends no mesh traffic.
    ControlPlane,
}

impl WorkloadRole {
    /// Classifies a pod the way Istio's charts mark it. A gateway: the `istio` label of the
    /// legacy charts (`manifests/charts/gateways/istio-{ingress,egress}`: `istio:
    /// ingressgateway`/`egressgateway`), the injection template of the gateway chart
    /// (`manifests/charts/gateway`: annotation `inject.istio.io/templates: gateway`), or an
    /// `istio-proxy` container started as `proxy router` (both charts, and the injected
    /// `gateway-injection-template.yaml`; `pkg/model/proxy.go` node type `router`). istiod:
    /// the `app: istiod` label of `manifests/charts/istio-control/istio-discovery`.
    pub fn classify(
        labels: &BTreeMap<String, String>,
        annotations: &BTreeMap<String, String>,
        proxy_router: bool,
    ) -> WorkloadRole {
        let label = |k: &str| labels.get(k).map(String::as_str);
        if label("app") == Some("istiod") {
            return WorkloadRole::ControlPlane;
        }
        let gateway_label = matches!(label("istio"), Some("ingressgateway" | "egressgateway"));
        let gateway_template = annotations
            .get("inject.istio.io/templates")
            .is_some_and(|t| t.split(',').any(|t| t.trim() == "gateway"));
        if gateway_label || gateway_template || proxy_router {
            WorkloadRole::Gateway
        } else {
            WorkloadRole::App
        }
    }

    /// How `ls` and notes name it.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadRole::App => "application",
            WorkloadRole::Gateway => "Istio gateway",
            WorkloadRole::ControlPlane => "istiod (control plane)",
        }
    }
}

/// A pod, or a controller's pod template with its replica count.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Workload {
    /// The object's own metadata (name is the Deployment's or the Pod's name).
    pub meta: Meta,
    /// The kind it was read from.
    pub kind: WorkloadKind,
    /// Pod (template) labels: what selectors match.
    pub pod_labels: BTreeMap<String, String>,
    /// Pod (template) annotations.
    pub pod_annotations: BTreeMap<String, String>,
    /// `serviceAccountName`, `default` when absent.
    pub service_account: String,
    /// Ready replicas (a bare Pod counts as 1; `replicas: 0` means no endpoints).
    pub replicas: u32,
    /// Container ports, all containers.
    pub ports: Vec<ContainerPort>,
    /// `spec.hostNetwork`: Istio never injects such pods.
    pub host_network: bool,
    /// `metadata.ownerReferences` (kind, the object's namespace, name): a Pod owned by a
    /// controller that is also loaded is folded into it.
    pub owner_references: Vec<super::ObjectRef>,
    /// What its sidecar captures (`traffic.sidecar.istio.io/*` pod annotations), read when the
    /// object is loaded; the defaults capture everything.
    pub interception: super::Interception,
    /// Application, gateway or istiod ([`WorkloadRole::classify`]).
    pub role: WorkloadRole,
    /// The running pods a cluster dump shows for it (its own Pod, or the Pods folded into this
    /// controller); empty for a manifest. Admission already ran on them, so they, not the
    /// injection labels, say whether it has a sidecar.
    pub pods: Vec<PodFacts>,
}

/// What a dumped (admitted) Pod shows: its name, IP and whether it runs a sidecar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodFacts {
    /// `metadata.name`, e.g. `httpbin-7d9c8f7b5-x2x9k`.
    pub name: String,
    /// `status.podIP`.
    pub ip: Option<std::net::IpAddr>,
    /// An `istio-proxy` container (or native-sidecar init container) or the
    /// `sidecar.istio.io/status` annotation the injector writes.
    pub sidecar: bool,
}

impl Workload {
    /// Whether every label of `selector` is on the pods (Kubernetes' equality-based
    /// `matchLabels`, `labels.SelectorFromSet(...).Matches`; an empty selector matches all).
    pub fn has_labels(&self, selector: &BTreeMap<String, String>) -> bool {
        selector
            .iter()
            .all(|(k, v)| self.pod_labels.get(k) == Some(v))
    }

    /// The proxy id of the workload, `NAMESPACE/NAME`: how the mesh keys its sidecars and how
    /// a request names its source.
    pub fn proxy_id(&self) -> String {
        format!("{}/{}", self.meta.namespace, self.meta.name)
    }

    /// Edits the pod annotations and re-reads what the sidecar captures from them, so the two
    /// cannot disagree (the loader reads `interception` once; code that changes annotations
    /// afterwards goes through here).
    pub fn edit_pod_annotations(
        &mut self,
        edit: impl FnOnce(&mut BTreeMap<String, String>),
    ) -> Result<(), super::InterceptionError> {
        edit(&mut self.pod_annotations);
        self.interception = super::Interception::from_annotations(&self.pod_annotations)?;
        Ok(())
    }
}

/// Service `targetPort`: a number or a container port name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TargetPort {
    /// A port number.
    Number(u16),
    /// A named container port.
    Name(String),
}

/// One Service port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    /// Port name (drives Istio protocol selection: `http-*`, `grpc-*`, `tcp-*`, ...).
    pub name: Option<String>,
    /// The Service port clients dial.
    pub port: u16,
    /// Where it goes on the pod; defaults to `port`.
    pub target_port: TargetPort,
    /// `TCP` / `UDP` / `SCTP`.
    pub protocol: KubeProtocol,
    /// `appProtocol`.
    pub app_protocol: Option<String>,
    /// A ServiceEntry port's `protocol`, parsed (`convertPort` in
    /// `pilot/pkg/serviceregistry/serviceentry/conversion.go`: `protocol.Parse`): it replaces
    /// the Kubernetes conversion. `None` for a Kubernetes Service port.
    pub declared: Option<IstioProtocol>,
}

impl ServicePort {
    /// What istiod makes of this port: `kube.ConvertProtocol` over the port number, name,
    /// Kubernetes protocol and `appProtocol` ([`IstioProtocol::from_port`]).
    pub fn istio_protocol(&self) -> IstioProtocol {
        if let Some(declared) = self.declared {
            return declared;
        }
        IstioProtocol::from_port(
            self.port,
            self.name.as_deref(),
            self.protocol,
            self.app_protocol.as_deref(),
        )
    }

    /// The port's inbound filter-chain family (HTTP, TCP or sniffed).
    pub fn port_protocol(&self) -> PortProtocol {
        self.istio_protocol().into()
    }

    /// Whether clients reach the port over TCP (`protocol: TCP`, the Kubernetes default): the
    /// only connections meshsim makes. kube-proxy forwards a UDP or SCTP port for that protocol
    /// only.
    pub fn is_tcp(&self) -> bool {
        self.protocol == KubeProtocol::Tcp
    }
}

/// A Service.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Service {
    /// Metadata.
    pub meta: Meta,
    /// Pod selector; `None` means endpoints are managed elsewhere (no endpoints here).
    pub selector: Option<BTreeMap<String, String>>,
    /// Ports.
    pub ports: Vec<ServicePort>,
    /// `clusterIP: None`.
    pub headless: bool,
    /// `spec.clusterIP` when it is an address; `None` for headless Services and when the
    /// manifest leaves it to the API server (meshsim then assigns one, see
    /// `policy::interception::service_address`).
    pub cluster_ip: Option<std::net::IpAddr>,
}

impl Service {
    /// `NAME.NAMESPACE.svc.cluster.local`, the hostname istiod's registry knows it by.
    pub fn fqdn(&self) -> String {
        format!(
            "{}.{}.svc.{}",
            self.meta.name,
            self.meta.namespace,
            crate::vocab::CLUSTER_DOMAIN
        )
    }
}

/// TLS protocol versions as MeshConfig names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

impl TlsVersion {
    /// MeshConfig spelling (`TLSV1_2`, `TLSV1_3`).
    pub fn as_str(self) -> &'static str {
        match self {
            TlsVersion::Tls12 => "TLSV1_2",
            TlsVersion::Tls13 => "TLSV1_3",
        }
    }

    /// Parses `TLSV1_2` / `TLSV1_3` (also `1.2` / `1.3`).
    pub fn parse(text: &str) -> Option<TlsVersion> {
        match text.trim().to_ascii_uppercase().as_str() {
            "TLSV1_2" | "TLS_V1_2" | "1.2" | "TLSV1.2" => Some(TlsVersion::Tls12),
            "TLSV1_3" | "TLS_V1_3" | "1.3" | "TLSV1.3" => Some(TlsVersion::Tls13),
            _ => None,
        }
    }
}

/// The subset of MeshConfig meshsim models, with Istio's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct MeshConfig {
    /// `trustDomain`, default `cluster.local`.
    pub trust_domain: String,
    /// `trustDomainAliases`.
    pub trust_domain_aliases: Vec<String>,
    /// `rootNamespace`, default `istio-system`.
    pub root_namespace: String,
    /// `enableAutoMtls`, default true.
    pub enable_auto_mtls: bool,
    /// `meshMTLS.minProtocolVersion`; TLS 1.2 when unset.
    pub min_protocol_version: Option<TlsVersion>,
    /// `meshMTLS.cipherSuites` (Envoy/BoringSSL names); Istio's defaults when empty.
    pub cipher_suites: Vec<String>,
    /// `extensionProviders` of the ext_authz kinds (`envoyExtAuthzHttp`, `envoyExtAuthzGrpc`):
    /// the providers a CUSTOM AuthorizationPolicy can name. Other provider kinds (tracing,
    /// access logging) are not listed, as istiod's `processExtensionProvider` skips them.
    pub ext_authz_providers: Vec<ExtAuthzProvider>,
    /// The Istio release whose rules apply (meshsim's own setting, not a MeshConfig field: a
    /// scenario's `mesh: {istioVersion: ...}` or `--istio-version`); `None` is the newest
    /// modelled release. Read it with [`MeshConfig::release`].
    pub istio_release: Option<crate::vocab::IstioRelease>,
    /// `pathNormalization.normalization`: how the inbound HCM rewrites `:path` before RBAC
    /// matches it; BASE by default.
    pub path_normalization: crate::vocab::PathNormalization,
    /// `outboundTrafficPolicy.mode`: ALLOW_ANY by default (`mesh.DefaultMeshConfig`); a
    /// Sidecar's own policy overrides it.
    pub outbound_traffic_policy: super::OutboundTrafficMode,
    /// Where it was read from (default origin when defaulted).
    pub origin: super::Origin,
}

/// Which ext_authz API a provider speaks; an HTTP provider has no TCP filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtAuthzApi {
    /// `envoyExtAuthzHttp`.
    Http,
    /// `envoyExtAuthzGrpc`.
    Grpc,
}

/// One ext_authz extension provider as istiod resolves it (`processExtensionProvider` in
/// `pilot/pkg/security/authz/builder/extauthz.go`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtAuthzProvider {
    /// `name`.
    pub name: String,
    /// The provider kind.
    pub api: ExtAuthzApi,
    /// `service` as written (`host` or `namespace/host`).
    pub service: String,
    /// `port`.
    pub port: u32,
}

impl MeshConfig {
    /// The Istio release whose rules apply: the one set, else the newest modelled.
    pub fn release(&self) -> crate::vocab::IstioRelease {
        self.istio_release.unwrap_or_default()
    }
}

impl Default for MeshConfig {
    fn default() -> Self {
        MeshConfig {
            trust_domain: "cluster.local".into(),
            trust_domain_aliases: Vec::new(),
            root_namespace: "istio-system".into(),
            enable_auto_mtls: true,
            min_protocol_version: None,
            cipher_suites: Vec::new(),
            ext_authz_providers: Vec::new(),
            istio_release: None,
            path_normalization: crate::vocab::PathNormalization::default(),
            outbound_traffic_policy: super::OutboundTrafficMode::AllowAny,
            origin: super::Origin::default(),
        }
    }
}
