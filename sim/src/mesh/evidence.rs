//! Collects the Evidence bundle for one request from what the mesh shows publicly: resources,
//! each involved proxy's SDS secrets (DER), clock and TLS parameters, and the logs. Nothing
//! here reads faults; a real cluster could supply the same bundle.

use super::Mesh;
use crate::evidence::{involved, Evidence, ProxyEvidence, Role};
use crate::model::Workload;
use crate::outcome::Outcome;
use crate::request::RequestSpec;

impl Mesh {
    /// The Evidence of `req` and its outcome: the source pod and every endpoint of the
    /// destination (an unknown source or host just leaves them out).
    pub fn evidence(&self, req: &RequestSpec, outcome: &Outcome) -> Evidence {
        let res = &self.resources;
        let proxies = involved(res, req)
            .into_iter()
            .map(|(w, role)| self.proxy_evidence(w, role))
            .collect();
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
        let id = w.proxy_id();
        let has_sidecar = self.resources.has_sidecar(w);
        // The same TLS context the data path gives this sidecar, so the two cannot drift.
        let tls = super::data_path::sidecar_tls(self, &id);
        ProxyEvidence {
            proxy: id.clone(),
            role,
            has_sidecar,
            secrets_shown: true,
            chain: match (&tls.cert, has_sidecar) {
                (Some(c), true) => c.chain.clone(),
                _ => Vec::new(),
            },
            roots: if has_sidecar {
                tls.bundle.roots.clone()
            } else {
                Vec::new()
            },
            clock: tls.now,
            tls_params: tls.params,
            agent_log: self.control.agent_log(&id).to_vec(),
        }
    }
}
