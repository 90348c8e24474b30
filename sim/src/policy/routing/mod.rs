//! Destination resolution: a host as a client writes it (`svc`, `svc.ns`, `svc.ns.svc`,
//! `svc.ns.svc.cluster.local`) with a Service port, resolved to the Service and its ready
//! endpoints the way Kubernetes DNS and the endpoints controller would; any other host (or a
//! Service-shaped one no Service answers) to a ServiceEntry host (`service_entry`).

use std::collections::BTreeMap;

use crate::model::{ObjectRef, Resources, Service, ServicePort, TargetPort, Workload};
use crate::policy::decision::{object_ref, Decision};
use crate::vocab::{HostPort, Kind, KubeProtocol, CLUSTER_DOMAIN};

mod service_entry;
pub use service_entry::outside_server_tls;
#[cfg(test)]
mod tests;

/// One ready endpoint of a Service port: a workload and the container port traffic lands on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The workload's namespace.
    pub namespace: String,
    /// The workload's name.
    pub workload: String,
    /// The target (container) port: what PeerAuthentication `portLevelMtls` and
    /// AuthorizationPolicy `ports` are matched against.
    pub target_port: u16,
    /// The pods' service account (their SPIFFE identity).
    pub service_account: String,
    /// Whether the pods run a sidecar (Istio's `security.istio.io/tlsMode=istio`): what auto
    /// mTLS reads.
    pub has_sidecar: bool,
    /// Whether a connection to `target_port` goes through that sidecar: `has_sidecar` and the
    /// pods' inbound capture (`traffic.sidecar.istio.io/{include,exclude}InboundPorts`) take the
    /// port. Otherwise the application answers directly, without PeerAuthentication or
    /// AuthorizationPolicy.
    pub intercepted: bool,
    /// Pod labels (DestinationRule subsets select on these).
    pub labels: BTreeMap<String, String>,
    /// An endpoint that is no pod of this configuration (a ServiceEntry's `endpoints[]`, or its
    /// host for DNS resolution without endpoints): a server outside the mesh, without sidecar,
    /// answering as the port's application. `workload` then repeats its address. `None` for a
    /// pod.
    pub external: Option<OutsideServer>,
}

/// A server outside the mesh behind a ServiceEntry endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideServer {
    /// Where it is dialled: `endpoints[].address`, or the host itself.
    pub address: String,
    /// What it speaks on the endpoint's target port ([`outside_server_tls`]).
    pub tls: OutsideTls,
}

/// What a server outside the mesh speaks on a port, as meshsim assumes it
/// ([`outside_server_tls`]): Istio's configuration describes the traffic, not the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutsideTls {
    /// Plaintext only: TLS that reaches it meets a plaintext server.
    Plaintext,
    /// TLS that the caller's application originates itself (the port dialled is declared
    /// `HTTPS` or `TLS`). meshsim's client applications speak no TLS: their plaintext stands in
    /// for the application's TLS and is answered; TLS a sidecar adds on top would wrap the
    /// application's TLS and is answered as a plaintext server answers TLS.
    ApplicationTls,
    /// TLS that a sidecar must originate (the port dialled is declared plaintext, the target
    /// port speaks TLS): the server terminates TLS with a certificate for the host from the
    /// public PKI (meshsim's outside CA) and requests no client certificate; to plaintext HTTP
    /// it answers `400` as nginx, Apache httpd and Go's `net/http` do, other plaintext it
    /// closes.
    Terminates,
}

/// A resolved destination: the Service, the port dialled and its ready endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The Service.
    pub service: ObjectRef,
    /// `<svc>.<ns>.svc.cluster.local`.
    pub fqdn: String,
    /// The Service port dialled.
    pub port: ServicePort,
    /// Whether the service's resolution is Passthrough (`model.Passthrough`): a headless
    /// Service (`clusterIP: None`) or a ServiceEntry with `resolution: NONE`; its cluster is
    /// ORIGINAL_DST.
    pub headless: bool,
    /// A ServiceEntry with `location: MESH_EXTERNAL` (`model.Service.MeshExternal`): auto mTLS
    /// never applies (`buildUpstreamTLSSettings`).
    pub mesh_external: bool,
    /// A ServiceEntry's `subjectAltNames` (`model.Service.ServiceAccounts`): the SANs an
    /// ISTIO_MUTUAL client expects before the endpoints' service accounts. Empty for a Service.
    pub subject_alt_names: Vec<String>,
    /// Ready endpoints, in workload load order.
    pub endpoints: Vec<Endpoint>,
    /// How the host, port and endpoints were resolved.
    pub decided_by: Vec<Decision>,
}

impl Destination {
    /// The Service's namespace.
    pub fn namespace(&self) -> &str {
        &self.service.namespace
    }
}

/// The container port a Service port's `targetPort` lands on in this workload, if any.
pub(crate) fn target_port_of(port: &ServicePort, workload: &Workload) -> Option<u16> {
    match &port.target_port {
        TargetPort::Number(n) => Some(*n),
        TargetPort::Name(name) => workload
            .ports
            .iter()
            .find(|c| c.name.as_deref() == Some(name.as_str()))
            .map(|c| c.port),
    }
}

/// Whether a Service's selector selects the workload (a missing or empty selector selects
/// nothing: such Services have manually managed endpoints).
pub fn service_selects(service: &Service, workload: &Workload) -> bool {
    workload.meta.namespace == service.meta.namespace
        && service
            .selector
            .as_ref()
            .is_some_and(|sel| !sel.is_empty() && workload.has_labels(sel))
}

/// Why a destination does not resolve to a Service port meshsim can connect to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    /// No Service of that name in that namespace (Kubernetes DNS: NXDOMAIN).
    #[error("destination `{given}`: no Service {name} in namespace {namespace}")]
    NoService {
        /// The destination as written.
        given: String,
        /// The Service name.
        name: String,
        /// The namespace searched.
        namespace: String,
    },
    /// The port exists for UDP or SCTP only.
    #[error(
        "destination `{given}`: Service {namespace}/{name} port {port} is {protocol}, and meshsim \
         sends TCP only"
    )]
    NotTcp {
        /// The destination as written.
        given: String,
        /// The Service name.
        name: String,
        /// Its namespace.
        namespace: String,
        /// The port number.
        port: u16,
        /// The port's protocol.
        protocol: KubeProtocol,
    },
    /// No Service and no ServiceEntry host visible from the caller's namespace.
    #[error(
        "destination `{given}`: no Service or ServiceEntry host {host} is visible from namespace \
         {namespace}"
    )]
    NoHost {
        /// The destination as written.
        given: String,
        /// The host, lower-cased.
        host: String,
        /// The caller's namespace.
        namespace: String,
    },
    /// The Service has no port with that number.
    #[error(
        "destination `{given}`: Service {namespace}/{name} has no port {port} (ports: {known})"
    )]
    NoPort {
        /// The destination as written.
        given: String,
        /// The Service name.
        name: String,
        /// Its namespace.
        namespace: String,
        /// The port number asked for.
        port: u16,
        /// The ports it has, comma-separated.
        known: String,
    },
}

/// Resolves a host as a caller in `caller_namespace` writes it, with a port: a Service form
/// names the Service when it exists (the pod's DNS search path finds it first, and istiod lets
/// a Kubernetes Service take precedence over a ServiceEntry with its hostname in its namespace:
/// `PushContext.initServiceRegistry`, `pilot/pkg/model/push_context.go`, Istio 1.22–1.28);
/// otherwise a ServiceEntry host visible from the caller names the entry's service.
pub fn resolve_destination(
    res: &Resources,
    caller_namespace: &str,
    parsed: &HostPort,
) -> Result<Destination, DestinationError> {
    let wanted = parsed
        .service()
        .map(|(name, ns)| (name, ns.unwrap_or(caller_namespace)));
    if let Some((name, namespace)) = wanted {
        let found = res
            .services
            .iter()
            .find(|s| s.meta.name == name && s.meta.namespace == namespace);
        if let Some(service) = found {
            return resolve_service(res, caller_namespace, parsed, service);
        }
    }
    // A bare name is a Service name only: the search path never leaves the cluster with it.
    let multi_label = parsed.host.contains('.');
    if multi_label {
        if let Some(dest) = service_entry::resolve(res, caller_namespace, parsed)? {
            return Ok(dest);
        }
    }
    Err(match wanted {
        Some((name, namespace)) => DestinationError::NoService {
            given: parsed.as_str().to_string(),
            name: name.to_string(),
            namespace: namespace.to_string(),
        },
        None => DestinationError::NoHost {
            given: parsed.as_str().to_string(),
            host: parsed.host.clone(),
            namespace: caller_namespace.to_string(),
        },
    })
}

/// The ports of a service as a `NoPort` error lists them.
fn port_list(numbers: impl Iterator<Item = u32>) -> String {
    numbers
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// [`resolve_destination`] once the host named a Kubernetes Service.
fn resolve_service(
    res: &Resources,
    caller_namespace: &str,
    parsed: &HostPort,
    service: &Service,
) -> Result<Destination, DestinationError> {
    let host_port = parsed.as_str();
    let (name, namespace, port_number) = (
        service.meta.name.as_str(),
        service.meta.namespace.as_str(),
        parsed.port,
    );
    // meshsim's clients connect over TCP, and kube-proxy forwards a UDP or SCTP port for that
    // protocol only: of two ports with one number (DNS's 53/UDP and 53/TCP) the TCP one is meant.
    let numbered = || service.ports.iter().filter(|p| p.port == port_number);
    let port = numbered()
        .find(|p| p.is_tcp())
        .cloned()
        .ok_or_else(|| match numbered().next() {
            Some(p) => DestinationError::NotTcp {
                given: host_port.to_string(),
                name: name.to_string(),
                namespace: namespace.to_string(),
                port: port_number,
                protocol: p.protocol,
            },
            None => DestinationError::NoPort {
                given: host_port.to_string(),
                name: name.to_string(),
                namespace: namespace.to_string(),
                port: port_number,
                known: port_list(service.ports.iter().map(|p| u32::from(p.port))),
            },
        })?;
    let service_ref = object_ref(Kind::Service, &service.meta);
    let fqdn = format!("{name}.{namespace}.svc.{CLUSTER_DOMAIN}");
    let mut decided_by = vec![Decision::by(
        service_ref.clone(),
        "destination/service",
        format!("`{host_port}` from namespace {caller_namespace} resolves to {fqdn}:{port_number}"),
    )];
    let mut endpoints = Vec::new();
    for w in res.workloads.iter().filter(|w| service_selects(service, w)) {
        let wref = object_ref(w.kind.into(), &w.meta);
        if w.replicas == 0 {
            decided_by.push(Decision::by(
                wref,
                "destination/endpoint",
                "selected but has 0 replicas: no endpoint",
            ));
            continue;
        }
        let Some(target_port) = target_port_of(&port, w) else {
            decided_by.push(Decision::by(
                wref,
                "destination/endpoint",
                format!(
                    "selected but has no container port named {:?}: no endpoint",
                    port.target_port
                ),
            ));
            continue;
        };
        endpoints.push(pod_endpoint(res, w, target_port, &mut decided_by));
    }
    if endpoints.is_empty() {
        decided_by.push(Decision::by(
            service_ref.clone(),
            "destination/endpoint",
            "no ready endpoints",
        ));
    }
    Ok(Destination {
        service: service_ref,
        fqdn,
        port,
        headless: service.headless,
        mesh_external: false,
        subject_alt_names: Vec::new(),
        endpoints,
        decided_by,
    })
}

/// The endpoint a ready pod of `w` gives on `target_port` (its sidecar, whether the sidecar
/// captures the port, its labels), with the decision that says so.
pub(super) fn pod_endpoint(
    res: &Resources,
    w: &Workload,
    target_port: u16,
    decided_by: &mut Vec<Decision>,
) -> Endpoint {
    let wref = object_ref(w.kind.into(), &w.meta);
    let sidecar = res.has_sidecar(w);
    let bypass = w
        .interception
        .inbound_bypass(target_port)
        .filter(|_| sidecar);
    decided_by.push(Decision::by(
        wref,
        "destination/endpoint",
        format!(
            "endpoint on target port {target_port}, service account {}, {}",
            w.service_account,
            match (&bypass, sidecar) {
                (Some(why), _) => format!(
                    "with sidecar, which does not capture the port ({why}): the application \
                     answers directly"
                ),
                (None, true) => "with sidecar".to_string(),
                (None, false) => "without sidecar".to_string(),
            }
        ),
    ));
    Endpoint {
        namespace: w.meta.namespace.clone(),
        workload: w.meta.name.clone(),
        target_port,
        service_account: w.service_account.clone(),
        has_sidecar: sidecar,
        intercepted: sidecar && bypass.is_none(),
        labels: w.pod_labels.clone(),
        external: None,
    }
}
