//! The Evidence bundle: what a run (or a real cluster) shows, and nothing else.
//!
//! Every field has a real-cluster source: `kubectl get -A -o yaml` (resources), the client's
//! curl output and both proxies' access logs (outcome), `istioctl proxy-config secret`
//! (certificate chain and `ROOTCA` bundle, as DER), `istioctl proxy-config` / the node (clock,
//! TLS parameters), and `kubectl logs` of istiod and each istio-agent. The diagnosis reads only
//! this; it never sees the injected faults or the simulator's private state.

use rustls_pki_types::CertificateDer;

use crate::model::{Resources, Workload};
use crate::outcome::Outcome;
use crate::policy::resolve_destination;
use crate::request::RequestSpec;
use crate::tls_params::TlsParams;
use crate::SimTime;

/// Which side of the request a proxy (or bare pod) is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// The caller.
    Source,
    /// One endpoint of the destination service.
    Destination,
}

/// One pod involved in the request, as `istioctl proxy-config` and `kubectl logs` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyEvidence {
    /// `NAMESPACE/WORKLOAD`.
    pub proxy: String,
    /// Source or destination endpoint.
    pub role: Role,
    /// Whether the pod runs an Istio sidecar; without one the other fields are empty.
    pub has_sidecar: bool,
    /// Whether its SDS secrets were shown (`istioctl proxy-config secret`); when not, `chain`
    /// and `roots` are unknown rather than empty, and no rule reads them.
    pub secrets_shown: bool,
    /// SDS `default`: the certificate chain, leaf first, as DER; empty when none was delivered.
    pub chain: Vec<CertificateDer<'static>>,
    /// SDS `ROOTCA`: the trusted roots, as DER.
    pub roots: Vec<CertificateDer<'static>>,
    /// The pod's node clock (it may be skewed from the mesh's time).
    pub clock: SimTime,
    /// The TLS parameters the proxy runs with.
    pub tls_params: TlsParams,
    /// The istio-agent's log lines, oldest first.
    pub agent_log: Vec<String>,
}

/// Everything the diagnosis may read about one request.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// The configuration, as `kubectl get -A -o yaml` shows it.
    pub resources: Resources,
    /// The request that was sent.
    pub request: RequestSpec,
    /// What the client saw, with both proxies' access-log lines and TLS stats.
    pub outcome: Outcome,
    /// The source pod and every endpoint of the destination, source first.
    pub proxies: Vec<ProxyEvidence>,
    /// istiod's log lines, oldest first.
    pub istiod_log: Vec<String>,
    /// The mesh's (control plane's) current time.
    pub mesh_time: SimTime,
}

impl Evidence {
    /// The source pod, if recorded.
    pub fn source(&self) -> Option<&ProxyEvidence> {
        self.proxies.iter().find(|p| p.role == Role::Source)
    }

    /// The destination endpoints.
    pub fn destinations(&self) -> impl Iterator<Item = &ProxyEvidence> {
        self.proxies.iter().filter(|p| p.role == Role::Destination)
    }
}

/// The pods an Evidence bundle describes for `req`: the source, then each distinct endpoint
/// workload of its destination, in the order the destination lists them. One rule for the
/// simulator's bundle and the one built from a cluster's artifacts.
pub fn involved<'r>(res: &'r Resources, req: &RequestSpec) -> Vec<(&'r Workload, Role)> {
    let mut out = Vec::new();
    let Ok(source) = res.find_workload(&req.from) else {
        return out;
    };
    out.push((source, Role::Source));
    if let Ok(dest) = resolve_destination(res, &source.meta.namespace, &req.to) {
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for ep in &dest.endpoints {
            let Some(w) = res.workload(&ep.namespace, &ep.workload) else {
                continue;
            };
            let key = (w.meta.namespace.as_str(), w.meta.name.as_str());
            if !seen.contains(&key) {
                seen.push(key);
                out.push((w, Role::Destination));
            }
        }
    }
    out
}
