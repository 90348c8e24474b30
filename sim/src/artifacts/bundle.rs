//! A cluster's artifacts, resolved against its resources dump, and the [`Evidence`] of one
//! logged (or named) request built from them: the same bundle the simulator fills, so the same
//! rules run on it.

use crate::evidence::{involved, Evidence, ProxyEvidence, Role};
use crate::model::{Resources, Workload};
use crate::outcome::Outcome;
use crate::policy::resolve_destination;
use crate::request::RequestSpec;
use crate::tls_params::TlsParams;
use crate::vocab::WorkloadRef;
use crate::SimTime;

use super::flows::{direction, logged_flows, Direction, IpIndex, LoggedFlow};
use super::{IstiodLog, ParsedAccessLog, ProxyLog, SecretDump};

/// A `--secret POD.NAMESPACE=FILE` the resources cannot place, or no time to judge at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// No pod (or workload) of that name in that namespace.
    #[error("{file}: pod {pod}.{namespace} is not in the resources (expected a pod name from `kubectl get pods -n {namespace}`)")]
    UnknownPod {
        /// The secret dump.
        file: String,
        /// Pod name as given.
        pod: String,
        /// Namespace as given.
        namespace: String,
    },
    /// Neither `--at` nor any timestamp in the logs or secret dumps.
    #[error(
        "no incident time: the logs and secret dumps carry no timestamp (expected --at RFC3339)"
    )]
    NoTime,
}

/// One proxy's secret dump, placed on its workload.
#[derive(Debug, Clone)]
pub struct PodSecrets {
    /// The workload the pod belongs to.
    pub workload: WorkloadRef,
    /// The pod, as given.
    pub pod: String,
    /// The dump.
    pub dump: SecretDump,
}

/// One istio-proxy log, placed on the workload its lines show it belongs to.
#[derive(Debug, Clone)]
pub struct PlacedLog {
    /// The file.
    pub file: String,
    /// The workload, when its lines name one of the dump's pods.
    pub owner: Option<WorkloadRef>,
    /// The log.
    pub log: ProxyLog,
}

/// Everything a user exported, resolved.
#[derive(Debug, Clone)]
pub struct ClusterArtifacts {
    /// `kubectl get -A -o yaml`.
    pub resources: Resources,
    /// `istioctl proxy-config secret`, per pod.
    pub secrets: Vec<PodSecrets>,
    /// `kubectl logs POD -c istio-proxy`.
    pub proxy_logs: Vec<PlacedLog>,
    /// `kubectl logs deploy/istiod`, every file's lines in order given.
    pub istiod_log: Vec<String>,
    /// The incident time every certificate is judged at.
    pub at: SimTime,
    /// What was read but could not be used, said rather than dropped.
    pub notes: Vec<String>,
}

/// The workload a pod belongs to: the workload the dump folded it into, or one of that name.
pub fn pod_workload(res: &Resources, namespace: &str, pod: &str) -> Option<WorkloadRef> {
    res.workloads
        .iter()
        .filter(|w| w.meta.namespace == namespace)
        .find(|w| w.pods.iter().any(|p| p.name == pod) || w.meta.name == pod)
        .map(|w| WorkloadRef::new(&w.meta.namespace, &w.meta.name))
}

impl ClusterArtifacts {
    /// Places every artifact; `at` defaults to the newest timestamp in the logs (then in the
    /// secret dumps' `lastUpdated`).
    pub fn new(
        resources: Resources,
        secrets: Vec<(String, String, String, SecretDump)>,
        logs: Vec<(String, ProxyLog)>,
        istiod: Vec<(String, IstiodLog)>,
        at: Option<SimTime>,
    ) -> Result<ClusterArtifacts, BundleError> {
        let mut notes = Vec::new();
        let mut placed_secrets = Vec::new();
        for (file, pod, namespace, dump) in secrets {
            let workload = pod_workload(&resources, &namespace, &pod).ok_or_else(|| {
                BundleError::UnknownPod {
                    file: file.clone(),
                    pod: pod.clone(),
                    namespace: namespace.clone(),
                }
            })?;
            if !dump.other.is_empty() {
                notes.push(format!(
                    "{file}: secrets {} are not modelled (only SDS default and ROOTCA are read)",
                    dump.other.join(", ")
                ));
            }
            placed_secrets.push(PodSecrets {
                workload,
                pod,
                dump,
            });
        }
        let ips = IpIndex::new(&resources);
        let mut proxy_logs = Vec::new();
        for (file, log) in logs {
            // The agent's start-up line names the pod; else its IPs; else the access lines.
            let announced = log.proxy_role.as_ref().and_then(|role| {
                role.id
                    .rsplit_once('.')
                    .and_then(|(pod, ns)| pod_workload(&resources, ns, pod))
                    .or_else(|| {
                        role.ips.iter().find_map(|ip| {
                            ips.owner(ip)
                                .map(|w| WorkloadRef::new(&w.meta.namespace, &w.meta.name))
                        })
                    })
            });
            let owner = announced.or_else(|| {
                log.access.iter().find_map(|l| {
                    let addr = match direction(&l.fields) {
                        Direction::Outbound => &l.fields.downstream_remote,
                        Direction::Inbound => &l.fields.downstream_local,
                    };
                    ips.owner(addr)
                        .map(|w| WorkloadRef::new(&w.meta.namespace, &w.meta.name))
                })
            });
            if owner.is_none() && !log.agent.is_empty() {
                notes.push(format!(
                    "{file}: neither istio-agent's `Proxy role` line nor an access-log line names a pod of the resources, so its istio-agent lines are attributed to no proxy"
                ));
            }
            proxy_logs.push(PlacedLog { file, owner, log });
        }
        let newest_log = proxy_logs
            .iter()
            .filter_map(|p| p.log.newest)
            .chain(istiod.iter().filter_map(|(_, l)| l.newest))
            .max();
        let newest_secret = placed_secrets
            .iter()
            .filter_map(|s| s.dump.chain_updated)
            .max();
        let at = at
            .or(newest_log)
            .or(newest_secret)
            .ok_or(BundleError::NoTime)?;
        Ok(ClusterArtifacts {
            resources,
            secrets: placed_secrets,
            proxy_logs,
            istiod_log: istiod.into_iter().flat_map(|(_, l)| l.lines).collect(),
            at,
            notes,
        })
    }

    /// Every access-log line of every file.
    pub fn access_lines(&self) -> Vec<ParsedAccessLog> {
        self.proxy_logs
            .iter()
            .flat_map(|p| p.log.access.iter().cloned())
            .collect()
    }

    /// Every request the logs show (see [`logged_flows`]), and how many lines named no pod of
    /// the resources.
    pub fn flows(&self) -> (Vec<LoggedFlow>, usize) {
        logged_flows(&self.resources, &self.access_lines())
    }

    /// The logged flow `from` → `to`, if the logs show it.
    pub fn flow(&self, req: &RequestSpec) -> Option<LoggedFlow> {
        let (flows, _) = self.flows();
        let dest =
            self.resources.find_workload(&req.from).ok().and_then(|w| {
                resolve_destination(&self.resources, &w.meta.namespace, &req.to).ok()
            });
        flows.into_iter().find(|f| {
            f.from == req.from
                && (f.to == req.to
                    || dest.as_ref().is_some_and(|d| {
                        resolve_destination(&self.resources, &f.from.namespace, &f.to)
                            .is_ok_and(|fd| fd.fqdn == d.fqdn && fd.port.port == d.port.port)
                    }))
        })
    }

    /// What the client saw, as `flow`'s lines show it, with the caller's identity when the hop
    /// was mTLS (the inbound line has a `%REQUESTED_SERVER_NAME%`; without an inbound line, as
    /// the configuration decides): Istio's default log format
    /// does not print the peer principal, so it is read from the caller's certificate SAN (its
    /// secret dump), else from its service account, which is what istiod signs.
    pub fn observed(&self, flow: &LoggedFlow) -> Outcome {
        let mut o = flow.outcome();
        // Without the destination's line the logs do not say whether the hop was mTLS: the
        // configuration does (auto mTLS, DestinationRule), as the analysis path reads it.
        if flow.server.is_none() && flow.client.is_some() {
            o.mtls = crate::analysis::Analyzer::new(&self.resources)
                .predict(&flow.request())
                .is_ok_and(|p| p.mtls);
        }
        if o.mtls && o.peer_principal.is_none() {
            let shown = self
                .secrets_of(&flow.from)
                .and_then(|s| s.dump.chain.first())
                .and_then(|leaf| crate::pki::inspect(leaf).ok())
                .and_then(|c| c.spiffe);
            let assumed = || {
                self.resources.find_workload(&flow.from).ok().map(|w| {
                    crate::vocab::SpiffeId::new(
                        &self.resources.mesh_config.trust_domain,
                        &w.meta.namespace,
                        &w.service_account,
                    )
                })
            };
            o.peer_principal = shown.or_else(assumed).map(|id| {
                format!(
                    "{}/ns/{}/sa/{}",
                    id.trust_domain, id.namespace, id.service_account
                )
            });
        }
        o
    }

    /// The Evidence of `req` with the client's `outcome`: resources, both sides' secrets,
    /// istio-agent and istiod lines, every proxy's clock at the incident time.
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
            istiod_log: self.istiod_log.clone(),
            mesh_time: self.at,
        }
    }

    /// The secret dump shown for `w` (its first pod given), if any.
    pub fn secrets_of(&self, w: &WorkloadRef) -> Option<&PodSecrets> {
        self.secrets.iter().find(|s| &s.workload == w)
    }

    fn proxy_evidence(&self, w: &Workload, role: Role) -> ProxyEvidence {
        let r = WorkloadRef::new(&w.meta.namespace, &w.meta.name);
        let has_sidecar = self.resources.has_sidecar(w);
        let secrets = self.secrets_of(&r).filter(|_| has_sidecar);
        let agent_log = self
            .proxy_logs
            .iter()
            .filter(|p| p.owner.as_ref() == Some(&r))
            .flat_map(|p| p.log.agent.iter().cloned())
            .collect();
        ProxyEvidence {
            proxy: w.proxy_id(),
            role,
            has_sidecar,
            secrets_shown: secrets.is_some(),
            chain: secrets.map(|s| s.dump.chain.clone()).unwrap_or_default(),
            roots: secrets.map(|s| s.dump.roots.clone()).unwrap_or_default(),
            // A dump shows no node clock; every proxy is judged at the incident time.
            clock: self.at,
            tls_params: TlsParams::from_mesh(&self.resources.mesh_config),
            agent_log: if has_sidecar { agent_log } else { Vec::new() },
        }
    }
}
