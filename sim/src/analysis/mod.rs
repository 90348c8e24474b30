//! The analysis path's prediction of one flow: what the configuration alone says a request will
//! see, assuming every proxy holds a healthy certificate. No handshake happens here; the data path
//! (`Mesh::request`) must agree with it, and `tests/agreement.rs` checks that it does.

mod authz_cause;
mod diff;
mod matrix;
mod reuse;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};

pub(crate) use authz_cause::missed_allow_principals;
pub use authz_cause::{denial_code, principal_mistake, DenialIndex, PrincipalMistake};
use authz_cause::{
    denial_code_of, identity_miss, principals_of, CallerIdentity, Denial, NamedPrincipal,
};
pub use diff::{
    diff_rows, diff_streams, group_changes, ChangeGroup, ChangeKind, FlowChange, StreamDiff,
};
pub use matrix::{
    flow_requests, flow_requests_to, matrix, matrix_notes, Flow, FlowOutcome, Matrix, MatrixNote,
    MatrixRow,
};
pub(crate) use reuse::Spare;

use crate::model::{ClientTlsMode, MtlsMode, Resources, Workload};
use crate::policy::{
    authz::InScope, client_egress_cached, client_tls_for_endpoint, outbound_bypass,
    resolve_destination, sidecar_for, AuthzIndex, ClientTlsChoice, ClientTlsSource, Decision,
    Destination, EgressCache, HttpFacts, MergedPeerAuthentication, OutsideTls,
    PeerAuthenticationIndex, PodIps, RequestFacts, RouterHost, ServerRoots,
};
use crate::request::RequestSpec;
use crate::vocab::boringssl;
use crate::vocab::details::{
    remote_connection_failure, upstream_reset_before_response_started, CONNECT_REFUSED,
    DIRECT_RESPONSE, HTTP1_CODEC_ERROR, NO_HEALTHY_UPSTREAM,
};
use crate::vocab::{
    Egress, FindingCode, HostPort, IstioProtocol, OutboundChain, OutboundListener,
    PathNormalization, PortProtocol, Protocol, ResponseFlag, SpiffeId, Status, BLACKHOLE_CLUSTER,
    PASSTHROUGH_CLUSTER,
};

/// One step of design.md's request flow and the decisions behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceStep {
    /// The flow step, e.g. `destination`, `outbound-tls`, `inbound-mtls`, `authorization`.
    pub step: &'static str,
    /// What this step concluded, in one line.
    pub summary: String,
    /// The resources and defaults that decided it.
    pub decisions: Vec<Decision>,
}

/// What [`client_tls_for_endpoint`] reads of the client: callers that share it get the same
/// choice towards the same endpoint, so a matrix decides it once per class and destination.
/// Its namespace (DestinationRule lookup and `exportTo`), whether it runs a sidecar, its pod
/// labels when any DestinationRule has a `workloadSelector`, and its traffic capture
/// (`outbound_bypass`); the client's name appears only in the decision trace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ClientTlsClass {
    namespace: String,
    sidecar: bool,
    labels: Option<BTreeMap<String, String>>,
    /// The `Interception` as text: it is compared, never parsed.
    capture: String,
}

/// What the analysis path predicts for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prediction {
    /// Status as the client would see it.
    pub status: Status,
    /// Envoy response flags of the client-side proxy.
    pub response_flags: Vec<ResponseFlag>,
    /// Response-code details.
    pub details: String,
    /// Whether the hop uses mutual TLS.
    pub mtls: bool,
    /// The BoringSSL reason the client would report, if the handshake fails.
    pub tls_error: Option<String>,
    /// The caller's principal as the server would see it.
    pub peer_principal: Option<String>,
    /// Failure-mode codes the configuration explains the outcome with.
    pub codes: Vec<FindingCode>,
    /// The client sidecar's wire TLS towards the endpoint and what chose it; `None` when no
    /// client sidecar handles the connection (or it takes the plaintext passthrough chain).
    pub client_tls: Option<(ClientTlsMode, ClientTlsSource)>,
    /// SIMPLE/MUTUAL: the roots the client verifies the server certificate against.
    pub server_roots: Option<ServerRoots>,
    /// The destination sidecar's effective mode on the target port; `None` when no sidecar
    /// captures it.
    pub server_mode: Option<MtlsMode>,
    /// The SNI of the client's ClientHello as the destination's listener reads it
    /// (`connection.sni`); `None` for plaintext.
    pub sni: Option<String>,
    /// The decision trace, in request-flow order.
    pub trace: Vec<TraceStep>,
}

/// A destination as [`resolve_destination`] gave it (the error as text), shared by every flow
/// to it.
pub(crate) type Resolved = Arc<Result<Destination, String>>;

/// Compiled indices over one configuration, reused across many predictions (a matrix). It is
/// `Sync`: the matrix predicts flows on every core.
#[derive(Debug)]
pub struct Analyzer<'a> {
    res: &'a Resources,
    authz: AuthzIndex,
    peer_authn: PeerAuthenticationIndex,
    pod_ips: PodIps,
    /// Whether predictions carry their decision trace ([`Prediction::trace`]). Building it
    /// (formatted summaries, cloned decisions) costs more than the decision itself, so a matrix
    /// that prints only outcomes runs without it.
    trace: bool,
    /// Index of each workload in `res.workloads`, by (namespace, name): every flow looks up its
    /// source and its endpoint's workload, and a scan made that linear in the mesh's size.
    workload_index: HashMap<(&'a str, &'a str), usize>,
    /// Per workload (same index): whether it runs a sidecar ([`Resources::has_sidecar`]).
    sidecars: Vec<bool>,
    /// Per workload (same index): its pod IP ([`PodIps`]).
    ips: Vec<IpAddr>,
    /// Per workload (same index): its effective PeerAuthentication, merged on first use.
    inbound: Vec<OnceLock<MergedPeerAuthentication>>,
    /// Per workload (same index): the AuthorizationPolicies in scope at its sidecar, found on
    /// first use.
    authz_in_scope: Vec<OnceLock<InScope>>,
    /// What naming a denial's cause looks up.
    denials: DenialIndex<'a>,
    /// Per workload (same index): its mTLS principal and that principal's parts, written once.
    principals: Vec<OnceLock<(String, CallerIdentity)>>,
    /// Per workload (same index): the principals its enforced ALLOW policies name, which every
    /// denial without a matched rule missed.
    allow_principals: Vec<OnceLock<Vec<NamedPrincipal>>>,
    /// Destinations already resolved, by (caller namespace, `HOST:PORT`): a matrix asks for
    /// each Service port once per source, and resolving scans every Service and workload, which
    /// made the matrix cubic in the mesh's size.
    destinations: Mutex<BTreeMap<(String, String), Resolved>>,
    /// Each Sidecar's wildcard HTTP listeners, found once.
    egress: EgressCache,
    /// Per workload (same index): the Sidecar whose scope it has (its index in
    /// `res.sidecars`), found on first use.
    sidecar_scopes: Vec<OnceLock<Option<usize>>>,
}

impl<'a> Analyzer<'a> {
    /// Compiles the indices for `res`; predictions carry their decision trace.
    pub fn new(res: &'a Resources) -> Analyzer<'a> {
        let pod_ips = PodIps::build(res);
        let workload_index = res
            .workloads
            .iter()
            .enumerate()
            .rev()
            .map(|(i, w)| ((w.meta.namespace.as_str(), w.meta.name.as_str()), i))
            .collect();
        Analyzer {
            res,
            authz: AuthzIndex::build(res),
            peer_authn: PeerAuthenticationIndex::build(res),
            trace: true,
            workload_index,
            sidecars: res.workloads.iter().map(|w| res.has_sidecar(w)).collect(),
            ips: res
                .workloads
                .iter()
                .map(|w| pod_ips.get(&w.meta.namespace, &w.meta.name))
                .collect(),
            inbound: res.workloads.iter().map(|_| OnceLock::new()).collect(),
            authz_in_scope: res.workloads.iter().map(|_| OnceLock::new()).collect(),
            pod_ips,
            denials: DenialIndex::new(res),
            allow_principals: res.workloads.iter().map(|_| OnceLock::new()).collect(),
            principals: res.workloads.iter().map(|_| OnceLock::new()).collect(),
            destinations: Mutex::default(),
            egress: EgressCache::default(),
            sidecar_scopes: res.workloads.iter().map(|_| OnceLock::new()).collect(),
        }
    }

    /// The same analyzer, with or without the decision trace in its predictions. Without it,
    /// [`Prediction::trace`] is empty and everything else is the same.
    pub fn with_trace(mut self, trace: bool) -> Analyzer<'a> {
        self.trace = trace;
        self
    }

    /// The [`ClientTlsClass`] of `from`, a workload of this configuration.
    pub(crate) fn client_tls_class(&self, from: &Workload) -> ClientTlsClass {
        let sidecar = self
            .index_of(&from.meta.namespace, &from.meta.name)
            .map_or_else(|| self.res.has_sidecar(from), |i| self.sidecars[i]);
        let selectors = self
            .res
            .destination_rules
            .iter()
            .any(|dr| dr.spec.workload_selector.is_some());
        ClientTlsClass {
            namespace: from.meta.namespace.clone(),
            sidecar,
            labels: selectors.then(|| from.pod_labels.clone()),
            capture: format!("{:?}", from.interception),
        }
    }

    /// The index of `namespace/name` in `res.workloads` (the first, as [`Resources::workload`]
    /// finds it).
    fn index_of(&self, namespace: &str, name: &str) -> Option<usize> {
        self.workload_index.get(&(namespace, name)).copied()
    }

    /// The pod IP of `namespace/name` ([`PodIps::get`], without its lookup).
    fn ip_of(&self, namespace: &str, name: &str) -> IpAddr {
        self.index_of(namespace, name)
            .map_or_else(|| self.pod_ips.get(namespace, name), |i| self.ips[i])
    }

    /// The calling workload.
    fn source(&self, req: &RequestSpec) -> Result<&'a Workload, String> {
        match self.index_of(&req.from.namespace, &req.from.name) {
            Some(i) => Ok(&self.res.workloads[i]),
            None => self.res.find_workload(&req.from).map_err(|e| e.to_string()),
        }
    }

    /// [`resolve_destination`] for `to` from `namespace`, resolved once per pair.
    pub(crate) fn destination(&self, namespace: &str, to: &HostPort) -> Resolved {
        let key = (namespace.to_string(), to.as_str().to_string());
        let mut cache = self
            .destinations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(cache.entry(key).or_insert_with(|| {
            Arc::new(resolve_destination(self.res, namespace, to).map_err(|e| e.to_string()))
        }))
    }

    /// Predicts the outcome of `req`. `Err` only for bad input (unknown workload or host).
    pub fn predict(&self, req: &RequestSpec) -> Result<Prediction, String> {
        let from = self.source(req)?;
        let resolved = self.destination(&from.meta.namespace, &req.to);
        let dest = resolved.as_ref().as_ref().map_err(Clone::clone)?;
        self.predict_to(from, dest, req, FlowHints::default())
    }

    /// [`client_egress_cached`] for `from` (at `from_index` in `res.workloads`, when known),
    /// with its Sidecar scope found once.
    fn egress_of(
        &self,
        from: &Workload,
        from_index: Option<usize>,
        dest: &Destination,
    ) -> (Egress, Vec<Decision>) {
        let sidecars = &self.res.sidecars;
        let sidecar = match from_index {
            Some(i) => self.sidecar_scopes[i]
                .get_or_init(|| {
                    let found = sidecar_for(self.res, from)?;
                    sidecars.iter().position(|s| std::ptr::eq(s, found))
                })
                .map(|s| &sidecars[s]),
            None => sidecar_for(self.res, from),
        };
        client_egress_cached(self.res, from, sidecar, dest, &self.egress)
    }

    /// Adds the trace step `step()` builds, when this analyzer keeps a trace.
    fn step(&self, p: &mut Prediction, step: impl FnOnce() -> TraceStep) {
        if self.trace {
            p.trace.push(step());
        }
    }

    /// [`Analyzer::predict`] from `from` (a workload of this configuration) to `dest`, already
    /// resolved from `from`'s namespace. `req.from` is not read: `from` is the caller.
    ///
    /// `hints` carries what a matrix computed once for many flows.
    pub(crate) fn predict_to(
        &self,
        from: &Workload,
        dest: &Destination,
        req: &RequestSpec,
        hints: FlowHints<'_>,
    ) -> Result<Prediction, String> {
        let mut p = Prediction::fresh();
        self.predict_into(&mut p, &mut Spare::default(), from, dest, req, hints)?;
        Ok(p)
    }

    /// [`Analyzer::predict_to`] into `p`, whose buffers (and the strings in `spare`) are
    /// reused: a matrix predicts each row's flows into one [`Prediction`], so a flow allocates
    /// nothing. Whatever `p` held before is replaced.
    pub(crate) fn predict_into(
        &self,
        p: &mut Prediction,
        spare: &mut Spare,
        from: &Workload,
        dest: &Destination,
        req: &RequestSpec,
        hints: FlowHints<'_>,
    ) -> Result<(), String> {
        let res = self.res;
        let from_index = hints
            .from_index
            .or_else(|| self.index_of(&from.meta.namespace, &from.meta.name));
        // The caller's principal's parts, when a cache holds them (for the denial's cause).
        let mut caller_id: Option<&CallerIdentity> = None;
        p.reset(spare);
        self.step(p, || TraceStep {
            step: "destination",
            summary: format!(
                "{} port {} has {} ready endpoint(s)",
                dest.fqdn,
                dest.port.port,
                dest.endpoints.len()
            ),
            decisions: dest.decided_by.clone(),
        });
        let src_sidecar = from_index.map_or_else(|| res.has_sidecar(from), |i| self.sidecars[i]);
        // What the client sends, and what both sidecars' HTTP sniffing makes of it.
        // `server_http`: the destination's inbound chain once it accepts the bytes.
        let WireShape {
            port: istio_protocol,
            protocol,
            sniffed_http,
            server_http,
        } = hints
            .shape
            .unwrap_or_else(|| WireShape::of(req, &dest.port));
        let port_protocol = PortProtocol::from(istio_protocol);
        self.step(p, || TraceStep {
            step: "source-sidecar",
            summary: if from.role == crate::model::WorkloadRole::Gateway {
                format!(
                    "{} is an Istio gateway: its own proxy originates mTLS as a sidecar does",
                    from.proxy_id()
                )
            } else if src_sidecar {
                format!("{} runs a sidecar", from.proxy_id())
            } else {
                format!(
                    "{} has no sidecar: its bytes go straight to the destination",
                    from.proxy_id()
                )
            },
            decisions: Vec::new(),
        });
        let Some(ep) = dest.endpoints.first() else {
            let captured = src_sidecar && outbound_bypass(res, from, dest, None).is_none();
            let egress = captured.then(|| self.egress_of(from, from_index, dest).0);
            let chain = egress.map(|e| OutboundChain::select_with(istio_protocol, sniffed_http, e));
            if let (Some(egress), Some(chain)) = (egress, chain) {
                if chain.is_black_hole() {
                    // REGISTRY_ONLY never reaches the cluster: the same answer with or without
                    // endpoints.
                    black_hole(p, chain, egress);
                    return Ok(());
                }
                if chain.is_passthrough() {
                    // PassthroughCluster dials the ClusterIP itself, and kube-proxy refuses a
                    // Service without endpoints: one connect attempt (the `allow_any` route has
                    // no retry policy), `UF`.
                    fail(
                        p,
                        chain.is_http(),
                        &[UF],
                        None,
                        FindingCode::NoHealthyUpstream,
                    );
                    p.details = remote_connection_failure(Some(CONNECT_REFUSED));
                    if egress.listener != OutboundListener::Service {
                        p.codes.push(FindingCode::OutsideSidecarEgressScope);
                    }
                    return Ok(());
                }
            }
            if captured {
                p.status = Status::Http(503);
                p.response_flags = vec![ResponseFlag::NoHealthyUpstream];
                p.set_details(NO_HEALTHY_UPSTREAM);
            } else {
                p.status = Status::Refused;
                p.details.clear();
            }
            p.codes.push(FindingCode::NoHealthyUpstream);
            return Ok(());
        };
        // A server outside the mesh (a ServiceEntry endpoint) is no workload: it has no sidecar,
        // no PeerAuthentication and no authorization.
        let ep_index = match (&ep.external, hints.endpoint) {
            (Some(_), _) => None,
            (None, Some(e)) => Some(e.index),
            (None, None) => Some(
                self.index_of(&ep.namespace, &ep.workload)
                    .ok_or_else(|| format!("endpoint {}/{} vanished", ep.namespace, ep.workload))?,
            ),
        };
        let ep_workload = ep_index.map(|i| &res.workloads[i]);

        // Outbound: when the client's sidecar captures the connection at all, the listener chain
        // the bytes land on, then (for the service's cluster) the client TLS choice (explicit
        // DestinationRule, else auto mTLS).
        let captured = src_sidecar && outbound_bypass(res, from, dest, Some(ep)).is_none();
        // The client's Sidecar scope: the listener the connection meets, and the policy.
        let (egress, scope_decisions) = if captured {
            self.egress_of(from, from_index, dest)
        } else {
            (Egress::default(), Vec::new())
        };
        let out_of_scope = egress.listener != OutboundListener::Service;
        let chain =
            captured.then(|| OutboundChain::select_with(istio_protocol, sniffed_http, egress));
        if let Some(chain) = chain {
            self.step(p, || {
                let mut step =
                    outbound_listener_step(dest, istio_protocol, protocol, sniffed_http, chain);
                step.decisions.extend(scope_decisions);
                step
            });
        }
        // The client HCM: retries, 503 with flags; otherwise a TCP proxy closes the connection.
        let http = chain.is_some_and(OutboundChain::is_http);
        if http && protocol == Protocol::Tcp {
            // Only an HTTP_PROXY port puts the HCM in front of bytes that are not HTTP: its
            // codec answers 400 itself and nothing leaves the pod.
            p.status = Status::Http(400);
            p.response_flags = vec![ResponseFlag::DownstreamProtocolError];
            p.set_details(HTTP1_CODEC_ERROR);
            return Ok(());
        }
        if let Some(hole) = chain.filter(|c| c.is_black_hole()) {
            black_hole(p, hole, egress);
            return Ok(());
        }
        let client_mode = if chain.is_some_and(OutboundChain::is_passthrough) {
            self.step(p, || TraceStep {
                step: "outbound-tls",
                summary: format!("client sends DISABLE ({PASSTHROUGH_CLUSTER} has no TLS)"),
                decisions: vec![Decision::default(
                    "client-tls/passthrough",
                    format!(
                        "{PASSTHROUGH_CLUSTER} is an ORIGINAL_DST cluster without a transport \
                         socket; DestinationRules and auto mTLS apply to the service's cluster only"
                    ),
                )],
            });
            None
        } else if src_sidecar {
            let choice = match hints.client_tls {
                Some(slot) => Cow::Borrowed(
                    slot.choice
                        .get_or_init(|| client_tls_for_endpoint(res, from, dest, ep)),
                ),
                None => Cow::Owned(client_tls_for_endpoint(res, from, dest, ep)),
            };
            self.step(p, || TraceStep {
                step: "outbound-tls",
                summary: if choice.through_sidecar() {
                    format!(
                        "client sends {}{}",
                        choice.mode.as_str(),
                        if choice.auto_mtls() {
                            " (auto mTLS)"
                        } else {
                            ""
                        }
                    )
                } else {
                    "the sidecar does not capture the connection: the application sends \
                     plaintext itself"
                        .to_string()
                },
                decisions: choice.decided_by.clone(),
            });
            choice.through_sidecar().then_some(choice)
        } else {
            None
        };

        // Inbound: the destination's effective mode on the target port.
        let intercepted_at = ep_index.zip(ep_workload).filter(|_| ep.intercepted);
        let server_mode = if let Some((ep_index, ep_workload)) = intercepted_at {
            let merged =
                self.inbound[ep_index].get_or_init(|| self.peer_authn.effective(res, ep_workload));
            let mode = merged.mode_for_port(u32::from(ep.target_port));
            self.step(p, || TraceStep {
                step: "inbound-mtls",
                summary: format!(
                    "{}/{} accepts {} on target port {}",
                    ep.namespace,
                    ep.workload,
                    mode.as_str(),
                    ep.target_port
                ),
                decisions: merged.decided_by.clone(),
            });
            Some(mode)
        } else {
            self.step(p, || TraceStep {
                step: "inbound-mtls",
                summary: if let Some(outside) = &ep.external {
                    format!(
                        "{}:{} is a server outside the mesh: {}, without PeerAuthentication or \
                         authorization",
                        outside.address,
                        ep.target_port,
                        match outside.tls {
                            OutsideTls::Terminates => {
                                "it terminates TLS with a certificate for the host from the \
                                 public PKI"
                            }
                            OutsideTls::ApplicationTls => {
                                "the application's own TLS (meshsim's plaintext stands in for \
                                 it)"
                            }
                            OutsideTls::Plaintext => "plaintext only",
                        }
                    )
                } else if ep.has_sidecar {
                    format!(
                        "{}/{}'s sidecar does not capture target port {}: the application \
                         answers, plaintext only, without PeerAuthentication or authorization",
                        ep.namespace, ep.workload, ep.target_port
                    )
                } else {
                    format!(
                        "{}/{} has no sidecar: plaintext only",
                        ep.namespace, ep.workload
                    )
                },
                decisions: Vec::new(),
            });
            None
        };

        let wire = client_mode
            .as_ref()
            .map_or(ClientTlsMode::Disable, |c| c.mode);
        p.client_tls = client_mode.as_ref().map(|c| (c.mode, c.source));
        if wire != ClientTlsMode::Disable {
            let sni = || {
                client_mode.as_ref().and_then(|c| {
                    c.request_names(RouterHost::of_request(dest, req).as_ref())
                        .sni
                        .filter(|s| !s.is_empty())
                })
            };
            p.sni = match hints.client_tls {
                // The cached choice is this flow's: so is its SNI towards this destination.
                Some(slot) if client_mode.is_some() => {
                    slot.sni.get_or_init(sni).as_deref().map(|s| spare.text(s))
                }
                _ => sni(),
            };
        }
        p.server_roots = client_mode.as_ref().and_then(|c| c.server_roots());
        p.server_mode = server_mode;
        match (wire, server_mode) {
            (ClientTlsMode::Disable, Some(MtlsMode::Strict)) if out_of_scope => {
                // PassthroughCluster's plaintext into STRICT: the HCM's upstream is reset, a
                // tcp_proxy client's connection closed.
                if http {
                    fail(p, http, &[UC], None, FindingCode::OutsideSidecarEgressScope);
                    p.details = upstream_reset_before_response_started("connection termination");
                } else {
                    p.status = Status::Reset;
                    p.details.clear();
                    p.codes.push(FindingCode::OutsideSidecarEgressScope);
                }
                return Ok(());
            }
            (ClientTlsMode::Disable, Some(MtlsMode::Strict))
                if chain == Some(OutboundChain::Passthrough) =>
            {
                // Plaintext into STRICT through tcp_proxy: the listener closes the connection.
                p.status = Status::Reset;
                p.details.clear();
                p.codes.push(FindingCode::PlaintextToStrict);
                return Ok(());
            }
            (ClientTlsMode::Disable, Some(MtlsMode::Strict)) => {
                if let Some(choice) = &client_mode {
                    // Auto mTLS chose plaintext for the whole cluster; anything else here is a
                    // rule's doing (DISABLE, an ignored credentialName, the EDS fallback).
                    let code = match choice.source {
                        ClientTlsSource::AutoMtlsOff
                        | ClientTlsSource::AutoMtlsCluster
                        | ClientTlsSource::MeshExternal => FindingCode::AutoMtlsPlaintextToStrict,
                        _ => FindingCode::DestinationRuleTlsDisable,
                    };
                    fail(p, http, &[UC], None, code);
                    // The router's reset; tcp_proxy just closes the client's connection.
                    p.details = if http {
                        upstream_reset_before_response_started("connection termination")
                    } else {
                        String::new()
                    };
                } else {
                    p.status = Status::Reset;
                    p.details.clear();
                    p.codes.push(FindingCode::PlaintextToStrict);
                }
                return Ok(());
            }
            (ClientTlsMode::Disable, _) => {}
            (ClientTlsMode::Simple | ClientTlsMode::Mutual, Some(MtlsMode::Strict)) => {
                let choice = client_mode.as_ref().expect("sidecar client");
                let (reason, code) = user_tls_against_strict(res, choice, dest, ep, req);
                fail(p, http, &[UF, URX], Some(reason), code);
                return Ok(());
            }
            (_, None) if ep.external.as_ref().map(|o| o.tls) == Some(OutsideTls::Terminates) => {
                // TLS originated to a server outside the mesh that speaks TLS: the client
                // verifies its certificate; once that passes the server asks for none.
                let choice = client_mode.as_ref().expect("sidecar client");
                if let Some((reason, code)) = tls_to_outside_server(choice, dest, req) {
                    fail(p, http, &[UF, URX], Some(reason), code);
                    return Ok(());
                }
            }
            (ClientTlsMode::IstioMutual, None | Some(MtlsMode::Disable))
            | (ClientTlsMode::Simple | ClientTlsMode::Mutual, _) => {
                // TLS to a plaintext listener (no sidecar, or DISABLE), or one-way / user TLS to
                // a PERMISSIVE listener that does not terminate non-Istio TLS.
                let reason = self.raw_tls_reason(
                    from,
                    port_protocol.application(protocol),
                    port_protocol,
                    ep_workload,
                    u32::from(ep.target_port),
                    server_mode,
                    p.sni.clone(),
                );
                let code = if wire == ClientTlsMode::IstioMutual && server_mode.is_none() {
                    FindingCode::MtlsToNonMeshWorkload
                } else {
                    FindingCode::MtlsToDisabledServer
                };
                fail(p, http, &[UF, URX], reason, code);
                return Ok(());
            }
            (ClientTlsMode::IstioMutual, Some(_)) => {
                let choice = client_mode.as_ref().expect("sidecar client");
                let td = &res.mesh_config.trust_domain;
                let expected =
                    |server_id: &str| choice.expected_sans.iter().any(|s| s == server_id);
                let server_expected = match (hints.client_tls, hints.endpoint) {
                    // The slot's choice is this flow's, towards this endpoint.
                    (Some(slot), Some(e)) => {
                        *slot.server_expected.get_or_init(|| expected(e.server_id))
                    }
                    (None, Some(e)) => expected(e.server_id),
                    (_, None) => {
                        expected(&SpiffeId::new(td, &ep.namespace, &ep.service_account).to_string())
                    }
                };
                if !server_expected {
                    fail(
                        p,
                        http,
                        &[UF, URX],
                        Some("CERTIFICATE_VERIFY_FAILED"),
                        FindingCode::ServerIdentityMismatch,
                    );
                    return Ok(());
                }
                p.mtls = true;
                let id = || SpiffeId::new(td, &from.meta.namespace, &from.service_account);
                (p.peer_principal, caller_id) = match from_index {
                    Some(i) => {
                        let (principal, id) = self.principals[i].get_or_init(|| {
                            let id = id();
                            (id.principal(), CallerIdentity::new(&self.denials, id))
                        });
                        (Some(spare.text(principal)), Some(id))
                    }
                    None => (Some(id().principal()), None),
                };
            }
        }

        // Plaintext reaching a server outside the mesh that expects TLS no rule originated:
        // plaintext HTTP gets its 400, other bytes a closed connection (`OutsideTls`).
        if wire == ClientTlsMode::Disable
            && ep.external.as_ref().map(|o| o.tls) == Some(OutsideTls::Terminates)
        {
            if protocol == Protocol::Tcp {
                p.status = Status::Reset;
                p.details = String::new();
                return Ok(());
            }
            p.status = Status::Http(400);
        }

        // Bytes that are not HTTP meet an HTTP codec: the destination sidecar's HCM (when it
        // captures the port), else an HTTP application. Either answers 400 before any
        // authorization.
        if protocol == Protocol::Tcp {
            if ep.intercepted && server_http {
                p.status = Status::Http(400);
                p.set_details(HTTP1_CODEC_ERROR);
                return Ok(());
            }
            if !ep.intercepted && port_protocol.application(protocol) == Protocol::Http {
                p.status = Status::Http(400);
                p.details.clear();
                return Ok(());
            }
        }

        // Authorization at the destination (its sidecar, when it captures the port).
        if let Some((ep_index, ep_workload)) = intercepted_at {
            let source_ip = from_index.map_or_else(
                || self.ip_of(&from.meta.namespace, &from.meta.name),
                |i| self.ips[i],
            );
            let mut facts = match hints.facts {
                Some(shared) => shared
                    .clone()
                    .with_peer(Some(source_ip), p.peer_principal.take()),
                None => request_facts(
                    req,
                    protocol,
                    server_http,
                    source_ip,
                    p.peer_principal.take(),
                    ep.target_port,
                    res.mesh_config.path_normalization,
                ),
            };
            // The principal and SNI move into the facts and back: no copy per flow.
            facts.sni = p.sni.take();
            facts.destination_ip = Some(self.ips[ep_index]);
            let denied = if self.trace {
                let decision = self.authz.evaluate(res, ep_workload, &facts);
                self.step(p, || TraceStep {
                    step: "authorization",
                    summary: if decision.allowed {
                        "allowed".into()
                    } else {
                        "denied".into()
                    },
                    decisions: decision.decided_by.clone(),
                });
                (!decision.allowed).then(|| {
                    (
                        Cow::Owned(decision.details.clone().unwrap_or_default()),
                        denial_code(&self.denials, from, facts.principal.as_deref(), &decision),
                    )
                })
            } else {
                // The same verdict without the trace; the misses only when the code needs them.
                let in_scope = self.authz_in_scope[ep_index]
                    .get_or_init(|| self.authz.in_scope(res, ep_workload));
                let verdict = self
                    .authz
                    .decide_in_scope(res, ep_workload, in_scope, &facts);
                (!verdict.allowed).then(|| {
                    let denial = Denial {
                        matched: verdict.matched.as_ref().map(|m| m.action),
                        custom_provider_error: verdict.custom_provider_error,
                        identity_miss: || {
                            identity_miss(&self.authz.evaluate(res, ep_workload, &facts))
                        },
                        missed_allow_principals: || {
                            Cow::Borrowed(
                                self.allow_principals[ep_index]
                                    .get_or_init(|| {
                                        let policies = &res.authorization_policies;
                                        NamedPrincipal::parse_all(
                                            &self.denials,
                                            principals_of(
                                                self.authz
                                                    .enforced_allow_policies(res, ep_workload)
                                                    .into_iter()
                                                    .map(|i| &policies[i]),
                                            ),
                                        )
                                    })
                                    .as_slice(),
                            )
                        },
                    };
                    (
                        verdict.details.clone().unwrap_or_default(),
                        denial_code_of(
                            &self.denials,
                            from,
                            facts.principal.as_deref(),
                            caller_id,
                            denial,
                        ),
                    )
                })
            };
            p.peer_principal = facts.principal.take();
            p.sni = facts.sni.take();
            if let Some((details, code)) = denied {
                // The HCM answers 403; the network RBAC filter closes the connection.
                p.status = if server_http {
                    Status::Http(403)
                } else {
                    Status::Reset
                };
                p.set_details(&details);
                p.codes.push(code);
            }
        }
        if !captured && !ep.intercepted {
            // No proxy on either side: nobody writes response-code details.
            p.details.clear();
        }
        Ok(())
    }
}

/// How a SIMPLE/MUTUAL handshake with a STRICT sidecar fails, and why: the client verifies the
/// server's certificate first (against [`ServerRoots`], then the SANs of this request, which
/// `auto_san_validation` makes the request's host), then the server asks for a client
/// certificate (SIMPLE has none, MUTUAL's was not issued by the mesh CA).
fn user_tls_against_strict(
    res: &Resources,
    choice: &ClientTlsChoice,
    dest: &Destination,
    ep: &crate::policy::Endpoint,
    req: &RequestSpec,
) -> (&'static str, FindingCode) {
    let rule_code = if choice.mode == ClientTlsMode::Simple {
        FindingCode::DestinationRuleTlsSimple
    } else {
        FindingCode::DestinationRuleTlsMutualExternal
    };
    let names = choice.request_names(RouterHost::of_request(dest, req).as_ref());
    let server_id = SpiffeId::new(
        &res.mesh_config.trust_domain,
        &ep.namespace,
        &ep.service_account,
    )
    .to_string();
    let verify = match choice.server_roots() {
        Some(ServerRoots::Unverified) | None => None,
        Some(ServerRoots::Outside) => Some(rule_code),
        Some(ServerRoots::MeshBundle) => {
            if names.sans.is_empty() || names.sans.contains(&server_id) {
                None
            } else if choice.auto_san_validation {
                Some(rule_code)
            } else {
                Some(FindingCode::ServerIdentityMismatch)
            }
        }
    };
    match verify {
        Some(code) => ("CERTIFICATE_VERIFY_FAILED", code),
        None if choice.mode == ClientTlsMode::Simple => {
            ("TLSV1_ALERT_CERTIFICATE_REQUIRED", rule_code)
        }
        None => ("TLSV1_ALERT_UNKNOWN_CA", rule_code),
    }
}

/// How TLS originated to a server outside the mesh that speaks TLS fails, or `None` when the
/// handshake completes. The server presents a certificate for the host from the public PKI
/// (meshsim's outside CA) and requests no client certificate, so only the client's checks can
/// fail (Envoy `default_validator.cc`: the chain, then the SAN matchers): `ISTIO_MUTUAL` and a
/// rule whose `caCertificates` is the mesh root trust only the mesh root; a rule verifying
/// against the system roots fails only when none of its SANs (`subjectAltNames`, else the
/// request's host by `auto_san_validation`) is the host.
fn tls_to_outside_server(
    choice: &ClientTlsChoice,
    dest: &Destination,
    req: &RequestSpec,
) -> Option<(&'static str, FindingCode)> {
    const VERIFY_FAILED: &str = "CERTIFICATE_VERIFY_FAILED";
    if choice.mode == ClientTlsMode::IstioMutual {
        return Some((VERIFY_FAILED, FindingCode::MtlsToNonMeshWorkload));
    }
    match choice.server_roots() {
        Some(ServerRoots::Unverified) | None => None,
        Some(ServerRoots::MeshBundle) => {
            Some((VERIFY_FAILED, FindingCode::UntrustedPeerCertificate))
        }
        Some(ServerRoots::Outside) => {
            let names = choice.request_names(RouterHost::of_request(dest, req).as_ref());
            (!names.sans.is_empty() && !names.sans.contains(&dest.fqdn))
                .then_some((VERIFY_FAILED, FindingCode::ServerIdentityMismatch))
        }
    }
}

impl Analyzer<'_> {
    /// The BoringSSL reason a TLS client reports when the destination does not terminate its
    /// ClientHello, or `None` when the connection is just closed (no TLS error queued).
    ///
    /// Where the bytes land follows the inbound filter chains (istio-semantics §2.1, TestInbound
    /// in `sidecar_simulation_test.go`): no sidecar, or a DISABLE / PERMISSIVE (non-Istio TLS)
    /// listener on a TCP or sniffed port, passes them to the application through the TCP chain
    /// (network RBAC first, with no peer identity); a DISABLE HTTP port feeds them to the HTTP
    /// codec, which answers 400; a PERMISSIVE HTTP port has no chain for non-Istio TLS and
    /// closes. An HTTP server answers 400 (`WRONG_VERSION_NUMBER` on the client); a TCP echo
    /// app reflects the ClientHello, a handshake message a client never expects
    /// (`UNEXPECTED_MESSAGE`).
    #[allow(clippy::too_many_arguments)]
    fn raw_tls_reason(
        &self,
        from: &Workload,
        application: Protocol,
        port_protocol: PortProtocol,
        ep_workload: Option<&Workload>,
        target_port: u32,
        server_mode: Option<MtlsMode>,
        sni: Option<String>,
    ) -> Option<&'static str> {
        let app_reason = if application == Protocol::Tcp {
            "UNEXPECTED_MESSAGE"
        } else {
            "WRONG_VERSION_NUMBER"
        };
        let (Some(mode), Some(ep_workload)) = (server_mode, ep_workload) else {
            return Some(app_reason);
        };
        match (mode, port_protocol) {
            (MtlsMode::Disable, PortProtocol::Http) => return Some("WRONG_VERSION_NUMBER"),
            (MtlsMode::Disable, _) => {}
            (_, PortProtocol::Http) => return None,
            _ => {}
        }
        // The ClientHello lands on the TCP chain: no identity, no HTTP, the caller's address.
        let source_ip = self.ip_of(&from.meta.namespace, &from.meta.name);
        let mut facts = RequestFacts::new(
            Some(source_ip),
            None,
            u16::try_from(target_port).unwrap_or(0),
            None,
            self.res.mesh_config.path_normalization,
        );
        facts.sni = sni;
        facts.destination_ip =
            Some(self.ip_of(&ep_workload.meta.namespace, &ep_workload.meta.name));
        self.authz
            .evaluate(self.res, ep_workload, &facts)
            .allowed
            .then_some(app_reason)
    }
}

/// REGISTRY_ONLY's answer on `hole`: `block_all` answers 502 itself; `BlackHoleCluster` has no
/// host, so `tcp_proxy` closes the connection (`UH`). Outside the Sidecar scope, that is why.
fn black_hole(p: &mut Prediction, hole: OutboundChain, egress: Egress) {
    if hole == OutboundChain::HttpBlackHole {
        p.status = Status::Http(502);
        p.response_flags.clear();
        p.set_details(DIRECT_RESPONSE);
    } else {
        p.status = Status::Reset;
        p.response_flags = vec![ResponseFlag::NoHealthyUpstream];
        p.details.clear();
    }
    if egress.listener != OutboundListener::Service {
        p.codes.push(FindingCode::OutsideSidecarEgressScope);
    }
}

const UF: ResponseFlag = ResponseFlag::UpstreamConnectionFailure;
const URX: ResponseFlag = ResponseFlag::UpstreamRetryLimitExceeded;
const UC: ResponseFlag = ResponseFlag::UpstreamConnectionTermination;

/// Records a connect failure the way a sidecar client reports it.
fn fail(
    p: &mut Prediction,
    http: bool,
    flags: &[ResponseFlag],
    tls_error: Option<&str>,
    code: FindingCode,
) {
    // A TCP client sees its connection closed rather than an HTTP answer.
    p.status = if http {
        Status::Http(503)
    } else {
        Status::Reset
    };
    // Istio's default retry policy (`pilot/pkg/networking/core/route/retry/retry.go`) lives on
    // HTTP routes; tcp_proxy makes one connect attempt (no URX), and an upstream closing an
    // established connection is a plain close there, not UC.
    p.response_flags = flags
        .iter()
        .copied()
        .filter(|f| http || !matches!(*f, URX | UC))
        .collect();
    p.tls_error = tls_error.map(str::to_string);
    // Envoy's SslSocket closes a failed handshake as a remote close
    // (`SslSocket::onFailure`), so the reset reason is `remote connection failure`, with
    // BoringSSL's error queue as the transport failure reason when it holds one.
    p.details =
        remote_connection_failure(tls_error.map(boringssl::transport_failure_of).as_deref());
    p.mtls = false;
    p.peer_principal = None;
    p.codes.push(code);
}

/// What the destination's RBAC filter knows of `req`, sent as `protocol`, from the pod at
/// `source_ip` arriving on `target_port` with `principal` (`None` for plaintext):
/// [`RequestFacts::new`] over the request's HTTP attributes when the destination's chain is the
/// HCM (`server_http`), none for the network RBAC filter of a TCP chain — as the data path
/// builds it from what reaches the sidecar, with the mesh's `pathNormalization`.
pub fn request_facts(
    req: &RequestSpec,
    protocol: Protocol,
    server_http: bool,
    source_ip: IpAddr,
    principal: Option<String>,
    target_port: u16,
    normalization: PathNormalization,
) -> RequestFacts {
    let http = (server_http && protocol == Protocol::Http).then(|| HttpFacts {
        method: req.method.clone(),
        path: req.path.clone(),
        host: req.authority(),
        headers: req.headers_as_received(),
    });
    RequestFacts::new(Some(source_ip), principal, target_port, http, normalization)
}

/// Which inbound chain `req` meets at a destination port: whether it is the HCM, and what the
/// client sends (its own protocol, else the port's default). One rule for the analysis and the
/// diagnosis (`WireShape::of`).
pub fn inbound_protocol(req: &RequestSpec, port: &crate::model::ServicePort) -> (Protocol, bool) {
    let shape = WireShape::of(req, port);
    (shape.protocol, shape.server_http)
}

/// How a request meets a destination port, whoever sends it: what the client writes, whether
/// both sidecars' HTTP sniffing reads it as HTTP, and whether the destination's inbound chain
/// is the HTTP connection manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WireShape {
    /// The destination port's protocol as istiod reads it ([`crate::model::ServicePort::istio_protocol`]).
    pub port: IstioProtocol,
    /// The request's own protocol, else the port's default.
    pub protocol: Protocol,
    /// Whether its first bytes sniff as HTTP.
    pub sniffed_http: bool,
    /// Whether the destination's inbound chain for it is the HCM.
    pub server_http: bool,
}

impl WireShape {
    /// The shape of `req` at `port`.
    pub(crate) fn of(req: &RequestSpec, port: &crate::model::ServicePort) -> WireShape {
        let istio_protocol = port.istio_protocol();
        let protocol = req.protocol_to(istio_protocol);
        let sniffed_http = req.sniffs_as_http(protocol);
        WireShape {
            port: istio_protocol,
            protocol,
            sniffed_http,
            server_http: port.port_protocol().serves_http(sniffed_http),
        }
    }
}

/// What the callers of one [`ClientTlsClass`] share towards one destination's first endpoint,
/// filled by the first of them.
#[derive(Debug, Default)]
pub(crate) struct ClientTlsSlot {
    /// The client TLS choice.
    pub choice: OnceLock<ClientTlsChoice>,
    /// The SNI it sends for the destination's request (when it sends TLS).
    pub sni: OnceLock<Option<String>>,
    /// Whether the endpoint's identity ([`EndpointHints::server_id`]) is among the choice's
    /// expected SANs (ISTIO_MUTUAL).
    pub server_expected: OnceLock<bool>,
}

/// What a matrix computes once for many flows and hands to [`Analyzer::predict_to`]; each
/// `None` is computed there.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FlowHints<'c> {
    /// The caller's class's client TLS towards the destination.
    pub client_tls: Option<&'c ClientTlsSlot>,
    /// The destination's request as its first endpoint's RBAC filter reads it, before the
    /// caller is known ([`request_facts`], then [`RequestFacts::from_peer`] without a peer;
    /// each flow adds its caller with [`RequestFacts::with_peer`]).
    pub facts: Option<&'c RequestFacts>,
    /// [`WireShape::of`] the request at the destination port.
    pub shape: Option<WireShape>,
    /// The caller's index in `res.workloads`.
    pub from_index: Option<usize>,
    /// The destination's first endpoint.
    pub endpoint: Option<EndpointHints<'c>>,
}

/// What a matrix knows of a destination's first endpoint before any caller.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EndpointHints<'c> {
    /// Its workload's index in `res.workloads`.
    pub index: usize,
    /// The SPIFFE identity its certificate carries in the mesh's trust domain, which an
    /// ISTIO_MUTUAL client checks against its expected SANs.
    pub server_id: &'c str,
}

/// The `outbound-listener` trace step: the port's protocol and the chain the bytes land on.
fn outbound_listener_step(
    dest: &Destination,
    istio_protocol: IstioProtocol,
    protocol: Protocol,
    sniffed_http: bool,
    chain: OutboundChain,
) -> TraceStep {
    let port = &dest.port;
    let declared = match (&port.app_protocol, &port.name) {
        (Some(app), _) => format!("appProtocol `{app}`"),
        (None, Some(name)) => format!("name `{name}`"),
        (None, None) => "no name".to_string(),
    };
    let bytes = match (protocol, sniffed_http) {
        (Protocol::Http, true) => "the HTTP request sniffs as HTTP",
        (Protocol::Http, false) => "the HTTP request does not sniff as HTTP",
        (Protocol::Tcp, _) => "the TCP payload does not sniff as HTTP",
    };
    let cluster = crate::vocab::outbound_cluster(port.port, &dest.fqdn);
    let lands = match chain {
        OutboundChain::Http => format!("HTTP connection manager to {cluster}"),
        OutboundChain::Tcp => format!("tcp_proxy to {cluster}"),
        OutboundChain::Passthrough => {
            format!("PassthroughFilterChain: tcp_proxy to {PASSTHROUGH_CLUSTER}, plaintext")
        }
        OutboundChain::HttpPassthrough => format!(
            "HTTP connection manager on 0.0.0.0:{}, catch-all virtual host allow_any to \
             {PASSTHROUGH_CLUSTER} (no retry policy), plaintext",
            port.port
        ),
        OutboundChain::HttpBlackHole => format!(
            "HTTP connection manager on 0.0.0.0:{}, catch-all virtual host block_all \
             (outboundTrafficPolicy REGISTRY_ONLY): 502 direct response",
            port.port
        ),
        OutboundChain::BlackHole => format!(
            "tcp_proxy to {BLACKHOLE_CLUSTER} (outboundTrafficPolicy REGISTRY_ONLY): no host, \
             the connection is closed"
        ),
    };
    TraceStep {
        step: "outbound-listener",
        summary: format!("port {} is {istio_protocol}; {bytes}: {lands}", port.port),
        decisions: vec![Decision::by(
            dest.service.clone(),
            "protocol/port",
            format!(
                "port {} ({declared}, protocol {}) is {istio_protocol} (kube.ConvertProtocol)",
                port.port, port.protocol
            ),
        )],
    }
}
