//! The mesh runtime: built from resources and faults; `request`, `advance`, `apply`, `delete`,
//! `inject`. Requests go through the data path: the control plane's certificates, each
//! sidecar's rustls configuration, a real handshake and HTTP/TCP exchange per request.

use crate::vocab::{Kind, Protocol, SpiffeId};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use tokio::runtime::Runtime;

use crate::control::ControlPlane;
use crate::metrics::Traffic;
use crate::model::{Object, ObjectRef, Resources, Workload};
use crate::outcome::Outcomes;
use crate::pki::KeyType;
use crate::policy::{AuthzIndex, PeerAuthenticationIndex, PodIps};
use crate::proxy::{data_path_runtime, ConnectionPool};
use crate::request::RequestSpec;
use crate::{Fault, SimTime};

mod data_path;
mod evidence;
mod external;
mod matrix;
mod options;
mod routes;
#[cfg(test)]
mod tests;

pub use matrix::matrix_handshake;
pub use options::{MeshError, MeshOptions};

/// Istio's default upstream idle timeout (DestinationRule `connectionPool.http.idleTimeout`):
/// pooled connections idle this long are closed, so a clock jump past it forces new handshakes.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(3600);

/// The in-process mesh.
pub struct Mesh {
    resources: Resources,
    opts: MeshOptions,
    now: SimTime,
    control: ControlPlane,
    rt: Runtime,
    pool: ConnectionPool,
    authz: AuthzIndex,
    peer_authn: PeerAuthenticationIndex,
    external: external::ExternalPki,
    /// Round-robin position per (source, destination), so endpoints take turns like Envoy's
    /// default load balancer, deterministically.
    round_robin: BTreeMap<(String, String), usize>,
    /// Pod IP per (namespace, workload), derived from the resources on every change.
    pod_ips: PodIps,
    /// Envoy's TLS stats and Istio's standard metrics, counted per finished request.
    traffic: Traffic,
    /// What the configuration decides per (source, destination), until it changes.
    routes: routes::Routes,
}

impl fmt::Debug for Mesh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mesh")
            .field("now", &self.now)
            .field("workloads", &self.resources.workloads.len())
            .field("proxies", &self.control.proxies().count())
            .finish()
    }
}

impl Mesh {
    /// Builds a mesh at `opts.start` (`SimTime::EPOCH` by default): starts istiod and every sidecar's agent, applies the
    /// faults (they describe the starting state), then lets the first CSRs be signed.
    pub fn build(
        resources: Resources,
        faults: &[Fault],
        opts: MeshOptions,
    ) -> Result<Mesh, MeshError> {
        let key_type = if opts.rsa_keys {
            KeyType::Rsa2048
        } else {
            KeyType::EcdsaP256
        };
        let now = opts.start;
        let control = ControlPlane::new(
            opts.seed,
            &resources.mesh_config.trust_domain,
            opts.cert_ttl,
            key_type,
            now,
        )
        .map_err(|e| MeshError(format!("control plane: {e}")))?;
        let rt = data_path_runtime().map_err(|e| MeshError(format!("tokio runtime: {e}")))?;
        let mut mesh = Mesh {
            authz: AuthzIndex::build(&resources),
            peer_authn: PeerAuthenticationIndex::build(&resources),
            resources,
            opts,
            now,
            control,
            rt,
            pool: ConnectionPool::new(),
            external: external::ExternalPki::default(),
            round_robin: BTreeMap::new(),
            pod_ips: PodIps::default(),
            traffic: Traffic::default(),
            routes: routes::Routes::default(),
        };
        mesh.pod_ips = PodIps::build(&mesh.resources);
        mesh.sync_proxies()?;
        for fault in faults {
            mesh.inject(fault)?;
        }
        mesh.control.advance_to(now);
        Ok(mesh)
    }

    /// Sends the request(s) through the data path; their outcomes, grouped by result.
    pub fn request(&mut self, req: &RequestSpec) -> Result<Outcomes, MeshError> {
        data_path::send(self, req)
    }

    /// What `req` sends to its destination: its own protocol, else the destination port's
    /// default (a TCP payload to a port Istio treats as TCP, HTTP otherwise).
    pub fn request_protocol(&self, req: &RequestSpec) -> Result<Protocol, MeshError> {
        data_path::protocol_of(self, req)
    }

    /// Moves the virtual clock, rotating and expiring certificates on the way. A jump past the
    /// idle timeout closes pooled connections, as Envoy's idle timer would.
    pub fn advance(&mut self, by: Duration) {
        let to = self.now.plus(by);
        self.control.advance_to(to);
        self.now = to;
        if by >= IDLE_TIMEOUT {
            self.pool.clear();
        }
    }

    /// [`Mesh::advance`], stopping the control plane at each of `stops` on the way (sorted,
    /// within the move) and calling `sample` there: how a metrics recording scrapes during a
    /// clock jump. Certificates and CSRs follow the same schedule as one jump; the data path is
    /// not involved, so the pool is closed as `advance` closes it.
    pub fn advance_sampled(
        &mut self,
        by: Duration,
        stops: &[SimTime],
        mut sample: impl FnMut(&Mesh),
    ) {
        let (from, to) = (self.now, self.now.plus(by));
        for &t in stops.iter().filter(|t| **t > from && **t <= to) {
            self.control.advance_to(t);
            self.now = t;
            sample(self);
        }
        self.control.advance_to(to);
        self.now = to;
        if by >= IDLE_TIMEOUT {
            self.pool.clear();
        }
    }

    /// Envoy's TLS stats and Istio's standard metrics counted so far ([`crate::metrics`]).
    pub fn traffic(&self) -> &Traffic {
        &self.traffic
    }

    /// Adds or replaces objects, as `kubectl apply`. New sidecars start and request certificates.
    pub fn apply(&mut self, objects: Vec<Object>) -> Result<(), MeshError> {
        for object in objects {
            if let Object::Workload(w) = &object {
                // A changed pod template is a rollout: new pods, new agents, new certificates.
                let id = w.proxy_id();
                let changed = self
                    .resources
                    .workload(&w.meta.namespace, &w.meta.name)
                    .is_some_and(|old| !same_pod_template(old, w));
                if changed {
                    self.control.unregister(&id);
                }
            }
            self.resources.insert(object);
        }
        self.resources.normalise();
        self.config_changed()
    }

    /// Deletes objects, as `kubectl delete`; deleting something that does not exist is an error.
    pub fn delete(&mut self, refs: &[ObjectRef]) -> Result<(), MeshError> {
        for r in refs {
            if !self.resources.remove(r) {
                return Err(MeshError(format!("delete: {r} not found")));
            }
            if r.kind == Kind::ServiceAccount {
                self.control
                    .set_service_account_exists(&r.namespace, &r.name, false);
            }
        }
        self.config_changed()
    }

    /// Injects a fault now. Only state changes; nothing records that a fault happened.
    pub fn inject(&mut self, fault: &Fault) -> Result<(), MeshError> {
        if let Fault::DeleteServiceAccount { namespace, name } = fault {
            // The cluster would show the account gone, so the resources do too.
            self.resources.remove(&ObjectRef {
                kind: Kind::ServiceAccount,
                namespace: namespace.clone(),
                name: name.clone(),
            });
            self.routes.clear();
        }
        self.control
            .apply_fault(fault, self.now)
            .map_err(|e| MeshError(format!("fault {fault}: {e}")))
    }

    /// Serves `workload`'s sidecars `cert` and `bundle` instead of the mesh CA's (see
    /// [`ControlPlane::install_exported_credentials`]); pooled connections are re-established.
    pub fn install_credentials(
        &mut self,
        workload: &crate::vocab::WorkloadRef,
        cert: Option<crate::pki::WorkloadCert>,
        bundle: crate::pki::TrustBundle,
    ) -> Result<(), MeshError> {
        self.control
            .install_exported_credentials(&workload.to_string(), cert, bundle)
            .map_err(|e| MeshError(format!("installing credentials of {workload}: {e}")))?;
        self.pool.clear();
        Ok(())
    }

    /// The current virtual time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// The current configuration.
    pub fn resources(&self) -> &Resources {
        &self.resources
    }

    /// istiod, the CA and every sidecar's certificates and logs.
    pub fn control(&self) -> &ControlPlane {
        &self.control
    }

    /// The client sidecars' upstream connections: what is idle, how many were opened and how
    /// many requests reused one (`upstream_cx_total`, `upstream_cx_http1_total` in Envoy's terms).
    pub fn connections(&self) -> &ConnectionPool {
        &self.pool
    }

    /// The options the mesh was built with.
    pub fn options(&self) -> &MeshOptions {
        &self.opts
    }

    fn config_changed(&mut self) -> Result<(), MeshError> {
        self.authz = AuthzIndex::build(&self.resources);
        self.peer_authn = PeerAuthenticationIndex::build(&self.resources);
        self.pod_ips = PodIps::build(&self.resources);
        self.traffic.configuration_changed();
        self.routes.clear();
        self.sync_proxies()?;
        self.control.advance_to(self.now);
        Ok(())
    }

    /// Starts an agent for every injected workload that has none yet, and tells istiod which
    /// service accounts exist (token review fails for a missing one).
    fn sync_proxies(&mut self) -> Result<(), MeshError> {
        let td = self.resources.mesh_config.trust_domain.clone();
        let known: Vec<String> = self.control.proxies().map(str::to_string).collect();
        let mut starting = Vec::new();
        for w in &self.resources.workloads {
            if !self.resources.has_sidecar(w) {
                continue;
            }
            let id = w.proxy_id();
            if known.contains(&id) {
                continue;
            }
            let spiffe = SpiffeId::new(&td, &w.meta.namespace, &w.service_account);
            let exists =
                service_account_exists(&self.resources, &w.meta.namespace, &w.service_account);
            starting.push((id, spiffe, exists));
        }
        for (id, spiffe, exists) in starting {
            self.control
                .register(&id, spiffe, exists)
                .map_err(|e| MeshError(format!("starting sidecar {id}: {e}")))?;
        }
        for sa in &self.resources.service_accounts {
            self.control
                .set_service_account_exists(&sa.meta.namespace, &sa.meta.name, true);
        }
        Ok(())
    }
}

/// Whether a re-applied workload is unchanged (where it was read from does not matter).
fn same_pod_template(old: &Workload, new: &Workload) -> bool {
    let strip = |w: &Workload| {
        let mut w = w.clone();
        w.meta.origin = Default::default();
        w
    };
    strip(old) == strip(new)
}

/// Whether token review would find the account: declared, or `default` (every namespace has
/// one), or the input declares no ServiceAccount in that namespace at all (a partial manifest,
/// where accounts are assumed to exist rather than to fail every CSR).
fn service_account_exists(res: &Resources, namespace: &str, name: &str) -> bool {
    name == "default"
        || res.service_account(namespace, name).is_some()
        || !res
            .service_accounts
            .iter()
            .any(|s| s.meta.namespace == namespace)
}
