//! Collects the Evidence bundle for one request from what the mesh shows publicly: resources,
//! each involved proxy's SDS secrets (DER), clock and TLS parameters, and the logs. Nothing
//! here reads faults; a real cluster could supply the same bundle.

use super::{Mesh, RequestSpec};
use crate::evidence::{Evidence, ProxyEvidence, Role, TlsParameters};
use crate::model::Workload;
use crate::policy::resolve_destination;
use crate::proxy::Outcome;

impl Mesh {
    /// The Evidence of `req` and its outcome: the source pod and every endpoint of the
    /// destination (an unknown source or host just leaves them out).
    pub fn evidence(&self, req: &RequestSpec, outcome: &Outcome) -> Evidence {
        let res = &self.resources;
        let mut proxies = Vec::new();
        let source = req
            .from
            .split_once('/')
            .and_then(|(ns, name)| res.workload(ns, name));
        if let Some(w) = source {
            proxies.push(self.proxy_evidence(w, Role::Source));
            if let Ok(dest) = resolve_destination(res, &w.meta.namespace, &req.to) {
                let mut seen = Vec::new();
                for ep in &dest.endpoints {
                    let key = (ep.namespace.clone(), ep.workload.clone());
                    if seen.contains(&key) {
                        continue;
                    }
                    seen.push(key);
                    if let Some(ew) = res.workload(&ep.namespace, &ep.workload) {
                        proxies.push(self.proxy_evidence(ew, Role::Destination));
                    }
                }
            }
        }
        Evidence {
            resources: res.clone(),
            request: req.clone(),
            outcome: outcome.clone(),
            proxies,
            istiod_log: self.control.istiod_log().to_vec(),
            mesh_time: self.now,
        }
    }

    /// What `istioctl proxy-config secret/all` and `kubectl logs -c istio-proxy` show for `w`.
    fn proxy_evidence(&self, w: &Workload, role: Role) -> ProxyEvidence {
        let id = Mesh::proxy_id(w);
        let has_sidecar = self.resources.has_sidecar(w);
        let (cert, bundle) = self.control.credentials(&id);
        let mut tls_params = TlsParameters::default();
        let mesh = &self.resources.mesh_config;
        if let Some(min) = mesh.min_protocol_version {
            tls_params.min_version = min;
        }
        tls_params.cipher_suites = mesh.cipher_suites.clone();
        if let Some(p) = self.control.tls_params(&id) {
            if let Some(v) = p.min_version {
                tls_params.min_version = v;
            }
            if let Some(v) = p.max_version {
                tls_params.max_version = v;
            }
            if !p.cipher_suites.is_empty() {
                tls_params.cipher_suites = p.cipher_suites.clone();
            }
        }
        ProxyEvidence {
            proxy: id.clone(),
            role,
            has_sidecar,
            chain: if has_sidecar {
                cert.map(|c| c.chain.clone()).unwrap_or_default()
            } else {
                Vec::new()
            },
            roots: if has_sidecar {
                bundle.roots.clone()
            } else {
                Vec::new()
            },
            clock: self.now.offset(self.control.clock_offset(&id)),
            tls_params,
            agent_log: self.control.agent_log(&id).to_vec(),
        }
    }
}
