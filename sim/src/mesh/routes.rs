//! What the data path derives from the configuration alone for one (source, destination) pair,
//! kept until the configuration changes: the calling workload, the resolved Service port and
//! its endpoints, whether the caller runs a sidecar, what its Sidecar scope gives the port, and
//! per endpoint the client TLS choice and the destination's effective PeerAuthentication mode.
//!
//! istiod computes these once per push (`PushContext`) and every request of the proxy reads the
//! result; meshsim re-derived them for every request, which was a fresh request's largest cost
//! outside the handshake after the metrics (`docs/performance.md`, session 10). Nothing here
//! depends on time or certificates: those are read per request. `Mesh` forgets every route when
//! the resources change.

use std::collections::HashMap;
use std::sync::Arc;

use super::MeshError;
use crate::model::{MtlsMode, Resources, Workload};
use crate::policy::{
    client_egress, client_tls_for_endpoint, resolve_destination, ClientTlsChoice, Destination,
    PeerAuthenticationIndex, PodIps,
};
use crate::vocab::{outbound_cluster, Egress, HostPort, WorkloadRef};

/// The configuration's answers for one (source, destination) pair.
#[derive(Debug)]
pub(super) struct Route {
    /// The calling workload.
    pub(super) from: Workload,
    /// The Service port dialled, with its endpoints.
    pub(super) dest: Destination,
    /// Whether the caller runs a sidecar.
    pub(super) src_sidecar: bool,
    /// What the caller's Sidecar scope gives the destination port.
    pub(super) egress: Egress,
    /// Per endpoint of `dest`, in order.
    pub(super) endpoints: Vec<EndpointRoute>,
    /// The caller's proxy id (`NS/NAME`, its agent's key).
    pub(super) proxy_id: String,
    /// The caller's proxy as Envoy names it in stats (`NAME.NS`).
    pub(super) proxy_name: String,
    /// The caller's pod IP.
    pub(super) ip: String,
    /// The outbound cluster (`outbound|PORT||FQDN`).
    pub(super) cluster: String,
    /// The round-robin key: caller and `FQDN:PORT`.
    pub(super) rr_key: (String, String),
}

/// The configuration's answers for one endpoint of a route.
#[derive(Debug)]
pub(super) struct EndpointRoute {
    /// The caller's client TLS towards the endpoint ([`client_tls_for_endpoint`]).
    pub(super) client_tls: ClientTlsChoice,
    /// The endpoint's workload, by its index in `Resources::workloads` (`None`: a server
    /// outside the mesh, or a pod this configuration no longer has).
    pub(super) workload: Option<usize>,
    /// The endpoint workload's effective PeerAuthentication mode on the target port.
    pub(super) mode: Option<MtlsMode>,
    /// The endpoint workload's proxy id (`NS/NAME`), when it is in the mesh.
    pub(super) proxy_id: Option<String>,
    /// The endpoint's proxy as Envoy names it (`NAME.NS`).
    pub(super) proxy_name: String,
    /// The address the endpoint is dialled at: its pod IP, or a server outside the mesh's own
    /// address.
    pub(super) ip: String,
}

/// Routes by source, then destination, until the resources change.
#[derive(Debug, Default)]
pub(super) struct Routes(HashMap<WorkloadRef, HashMap<HostPort, Arc<Route>>>);

impl Routes {
    /// The route from `from` to `to` under `res`, derived on first use.
    pub(super) fn get(
        &mut self,
        res: &Resources,
        peer_authn: &PeerAuthenticationIndex,
        pod_ips: &PodIps,
        from: &WorkloadRef,
        to: &HostPort,
    ) -> Result<Arc<Route>, MeshError> {
        if let Some(r) = self.0.get(from).and_then(|by_to| by_to.get(to)) {
            return Ok(r.clone());
        }
        let route = Arc::new(derive(res, peer_authn, pod_ips, from, to)?);
        self.0
            .entry(from.clone())
            .or_default()
            .insert(to.clone(), route.clone());
        Ok(route)
    }

    /// Forgets every route (the resources changed).
    pub(super) fn clear(&mut self) {
        self.0.clear();
    }
}

fn derive(
    res: &Resources,
    peer_authn: &PeerAuthenticationIndex,
    pod_ips: &PodIps,
    from_ref: &WorkloadRef,
    to: &HostPort,
) -> Result<Route, MeshError> {
    let from = res
        .find_workload(from_ref)
        .map_err(|e| MeshError(e.to_string()))?
        .clone();
    let dest =
        resolve_destination(res, &from.meta.namespace, to).map_err(|e| MeshError(e.to_string()))?;
    let endpoints = dest
        .endpoints
        .iter()
        .map(|ep| {
            let workload = ep
                .external
                .is_none()
                .then(|| res.workload_index(&ep.namespace, &ep.workload))
                .flatten();
            EndpointRoute {
                client_tls: client_tls_for_endpoint(res, &from, &dest, ep),
                workload,
                mode: workload.map(|i| {
                    peer_authn
                        .effective(res, &res.workloads[i])
                        .mode_for_port(u32::from(ep.target_port))
                }),
                proxy_id: workload.map(|i| res.workloads[i].proxy_id()),
                proxy_name: proxy_name(&ep.workload, &ep.namespace),
                ip: match &ep.external {
                    Some(outside) => outside.address.clone(),
                    None => pod_ips.get(&ep.namespace, &ep.workload).to_string(),
                },
            }
        })
        .collect();
    Ok(Route {
        src_sidecar: res.has_sidecar(&from),
        egress: client_egress(res, &from, &dest).0,
        proxy_id: from.proxy_id(),
        proxy_name: proxy_name(&from.meta.name, &from.meta.namespace),
        ip: pod_ips
            .get(&from.meta.namespace, &from.meta.name)
            .to_string(),
        cluster: outbound_cluster(dest.port.port, &dest.fqdn),
        rr_key: (
            from_ref.to_string(),
            format!("{}:{}", dest.fqdn, dest.port.port),
        ),
        from,
        dest,
        endpoints,
    })
}

/// A proxy's name in its stats and access logs (`ClientSidecar::name`, `ServerSidecar::name`):
/// `NAME.NAMESPACE`, one rule for both ends of a route.
fn proxy_name(name: &str, namespace: &str) -> String {
    format!("{name}.{namespace}")
}
