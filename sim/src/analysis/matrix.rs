//! The connectivity matrix: every workload to every Service port, from the analysis path (fast,
//! configuration only), and the difference between two matrices (what a change breaks or
//! fixes). The same flows through the data path (`--handshake`) are `mesh::matrix_handshake`.

use serde::Serialize;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use rayon::prelude::*;

use super::{
    request_facts, Analyzer, ClientTlsClass, ClientTlsSlot, EndpointHints, FlowHints, Prediction,
    Resolved, Spare, WireShape,
};
use crate::model::{Resources, Service, Workload, WorkloadRole};
use crate::policy::RequestFacts;
use crate::request::RequestSpec;
use crate::vocab::{FindingCode, HostPort, Protocol, ResponseFlag, SpiffeId, Status, WorkloadRef};

/// One (source workload, destination service port) flow and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flow {
    /// `NS/WORKLOAD`.
    pub from: String,
    /// `SVC.NS:PORT`.
    pub to: String,
    /// Status as the client sees it.
    pub status: Status,
    /// Whether the hop used mutual TLS.
    pub mtls: bool,
    /// Envoy response flags.
    pub response_flags: Vec<ResponseFlag>,
    /// The BoringSSL reason of a failed handshake.
    pub tls_error: Option<String>,
    /// Failure-mode codes explaining the outcome (from the configuration analysis).
    pub codes: Vec<FindingCode>,
}

/// What one flow saw, without its source's and destination's names: the fields of [`Flow`]
/// the prediction gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowOutcome {
    /// Status as the client sees it.
    pub status: Status,
    /// Whether the hop used mutual TLS.
    pub mtls: bool,
    /// Envoy response flags.
    pub response_flags: Vec<ResponseFlag>,
    /// The BoringSSL reason of a failed handshake.
    pub tls_error: Option<String>,
    /// Failure-mode codes explaining the outcome (from the configuration analysis).
    pub codes: Vec<FindingCode>,
}

impl FlowOutcome {
    /// The outcome `p` predicts.
    fn of(p: &Prediction) -> FlowOutcome {
        FlowOutcome {
            status: p.status,
            mtls: p.mtls,
            response_flags: p.response_flags.clone(),
            tls_error: p.tls_error.clone(),
            codes: p.codes.clone(),
        }
    }

    /// Whether `p` predicts this outcome.
    fn is(&self, p: &Prediction) -> bool {
        self.status == p.status
            && self.mtls == p.mtls
            && self.response_flags == p.response_flags
            && self.tls_error == p.tls_error
            && self.codes == p.codes
    }

    /// The flow from `from` (`NS/WORKLOAD`) to `to` (`SVC.NS:PORT`) with this outcome.
    pub fn flow(&self, from: &str, to: &str) -> Flow {
        Flow {
            from: from.to_string(),
            to: to.to_string(),
            status: self.status,
            mtls: self.mtls,
            response_flags: self.response_flags.clone(),
            tls_error: self.tls_error.clone(),
            codes: self.codes.clone(),
        }
    }
}

/// The flows of one source, in destination order ([`Matrix::destinations`]). A row's flows
/// share a few distinct outcomes, kept once each, so a writer formats each outcome once per
/// row rather than once per flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixRow<'m> {
    /// The source, `NS/WORKLOAD`.
    pub from: &'m str,
    /// The distinct outcomes of the row's flows.
    pub outcomes: Vec<FlowOutcome>,
    /// Per destination, in order: the index of its flow's outcome in `outcomes`.
    pub cells: Vec<usize>,
}

/// How many of a row's latest outcomes a new flow's outcome is compared with before it is
/// kept as a new one: rows have a few distinct outcomes, and a bound keeps a row with many
/// linear (an outcome kept twice is still correct).
const OUTCOMES_COMPARED: usize = 16;

/// Why the matrix leaves a workload or a Service out, so a real cluster dump shows no flow
/// meshsim cannot answer faithfully, and never silently.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct MatrixNote {
    /// `NS/WORKLOAD` or `Service/NS/NAME`.
    pub subject: String,
    /// What is left out and why.
    pub note: String,
}

/// The reason a source workload is not a matrix source, if it is not.
fn source_left_out(w: &Workload) -> Option<&'static str> {
    (w.role == WorkloadRole::ControlPlane).then_some(
        "istiod is the control plane, not a mesh client: it has no proxy and sends no \
         application traffic, so the matrix has no flows from it",
    )
}

/// The reason a Service is not a matrix destination, if it is not.
///
/// - No selector (`kubernetes` in `default`, Services backed by manual Endpoints): the
///   EndpointSlice controller makes no endpoints for them
///   (`pkg/controller/endpointslice` in Kubernetes: `if service.Spec.Selector == nil`) and
///   meshsim reads no Endpoints objects, so every flow would be a made-up `503 UH`.
/// - Every selected workload is an Istio gateway: its listeners come from Gateway resources,
///   which meshsim does not model.
fn destination_left_out(res: &Resources, svc: &Service) -> Option<&'static str> {
    let selector = match &svc.selector {
        Some(s) if !s.is_empty() => s,
        _ => {
            return Some(
                "has no selector: its endpoints are managed outside Kubernetes' selector \
                 (manual Endpoints, e.g. the API server's) and meshsim reads none, so the \
                 matrix has no flows to it",
            )
        }
    };
    let mut selected = res
        .workloads
        .iter()
        .filter(|w| w.meta.namespace == svc.meta.namespace && w.has_labels(selector));
    let first = selected.next()?;
    (first.role == WorkloadRole::Gateway && selected.all(|w| w.role == WorkloadRole::Gateway))
        .then_some(
            "selects an Istio gateway, whose listeners come from Gateway resources that meshsim \
             does not model, so the matrix has no flows to it",
        )
}

/// Why the matrix has no flows to ServiceEntry hosts: its destinations are resolved once, not
/// per caller namespace, and an entry's `exportTo` makes its hosts differ by namespace.
const SERVICE_ENTRY_LEFT_OUT: &str = "its hosts are not matrix destinations (the matrix resolves \
     each destination once, while an entry's exportTo depends on the caller's namespace): use \
     probe or explain with --to HOST:PORT for them";

/// What the matrix leaves out, and why: one note per workload, Service or ServiceEntry, sorted.
pub fn matrix_notes(res: &Resources) -> Vec<MatrixNote> {
    let mut out: Vec<MatrixNote> = res
        .workloads
        .iter()
        .filter(|w| w.replicas > 0)
        .filter_map(|w| {
            source_left_out(w).map(|why| MatrixNote {
                subject: w.proxy_id(),
                note: why.to_string(),
            })
        })
        .chain(res.services.iter().filter_map(|svc| {
            destination_left_out(res, svc).map(|why| MatrixNote {
                subject: format!("Service/{}/{}", svc.meta.namespace, svc.meta.name),
                note: why.to_string(),
            })
        }))
        .chain(res.service_entries.iter().map(|se| MatrixNote {
            subject: format!("ServiceEntry/{}/{}", se.meta.namespace, se.meta.name),
            note: SERVICE_ENTRY_LEFT_OUT.to_string(),
        }))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The sources of a matrix: each workload with at least one replica that [`matrix_notes`] does
/// not leave out, as (`NS/NAME`, index in `res.workloads`), sorted by the printed text (not by
/// namespace then name).
fn matrix_sources(res: &Resources) -> Vec<(String, usize)> {
    let mut sources: Vec<(String, usize)> = res
        .workloads
        .iter()
        .enumerate()
        .filter(|(_, w)| w.replicas > 0 && source_left_out(w).is_none())
        .map(|(i, w)| (w.proxy_id(), i))
        .collect();
    // The first of two same-named workloads, as `Resources::workload` finds it.
    sources.sort();
    sources.dedup_by(|a, b| a.0 == b.0);
    sources
}

/// The destinations of a matrix: each TCP port of each Service that [`matrix_notes`] does not
/// leave out, with the port's default protocol ([`crate::vocab::IstioProtocol::default_request`]:
/// a TCP payload to TCP ports, HTTP otherwise), sorted by the printed `SVC.NS:PORT` text.
fn matrix_targets(res: &Resources) -> Vec<(HostPort, Protocol)> {
    let mut targets: Vec<(HostPort, Protocol)> = Vec::new();
    for svc in res
        .services
        .iter()
        .filter(|svc| destination_left_out(res, svc).is_none())
    {
        for port in svc.ports.iter().filter(|p| p.is_tcp()) {
            let protocol = port.istio_protocol().default_request();
            targets.push((
                HostPort::service_port(&svc.meta.name, &svc.meta.namespace, port.port),
                protocol,
            ));
        }
    }
    targets.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    targets.dedup_by(|a, b| a.0.as_str() == b.0.as_str());
    targets
}

/// The request of every flow: each `matrix_sources` workload to each `matrix_targets` port,
/// sorted by source then destination, as the matrix prints them.
pub fn flow_requests(res: &Resources) -> Vec<RequestSpec> {
    flow_requests_to(res, |_| true)
}

/// [`flow_requests`] to the destinations `keep` accepts only (each source to each of them), so a
/// caller interested in a few destinations does not enumerate every flow.
pub fn flow_requests_to(res: &Resources, keep: impl Fn(&HostPort) -> bool) -> Vec<RequestSpec> {
    let sources = matrix_sources(res);
    let mut targets = matrix_targets(res);
    targets.retain(|(to, _)| keep(to));
    let mut out = Vec::with_capacity(sources.len() * targets.len());
    for &(_, i) in &sources {
        let w = &res.workloads[i];
        let from = WorkloadRef::new(&w.meta.namespace, &w.meta.name);
        for (to, protocol) in &targets {
            out.push(flow_request(from.clone(), to, *protocol));
        }
    }
    out
}

/// The request a matrix sends from `from` to `to`.
fn flow_request(from: WorkloadRef, to: &HostPort, protocol: Protocol) -> RequestSpec {
    RequestSpec {
        from,
        to: to.clone(),
        protocol: Some(protocol),
        ..RequestSpec::default()
    }
}

/// The matrix from the analysis path, in memory. [`Matrix`] streams it.
pub fn matrix(res: &Resources) -> Result<Vec<Flow>, String> {
    Matrix::new(res).flows(|_| {}).collect()
}

/// One destination of a [`Matrix`]: its printed name, its request and its resolution.
struct Target {
    label: String,
    request: RequestSpec,
    /// Shared with the analyzer's cache of resolved destinations.
    resolved: Resolved,
    /// How the request meets the destination port (`None` when it did not resolve).
    shape: Option<WireShape>,
    /// The request as the first endpoint's RBAC filter reads it, before the caller is known
    /// (`None` when it did not resolve or has no endpoint).
    facts: Option<RequestFacts>,
    /// The first endpoint's workload index and SPIFFE identity (`None` when it did not resolve,
    /// has no endpoint, or the endpoint's workload is not in the configuration).
    endpoint: Option<(usize, String)>,
}

/// One source of a [`Matrix`].
struct Source {
    /// `NS/NAME`.
    label: String,
    /// Index in `res.workloads`.
    workload: usize,
    /// Its [`ClientTlsClass`], numbered.
    class: usize,
}

/// The client TLS of one [`ClientTlsClass`] towards each target, filled as flows need it.
type ClientTlsRow = Arc<Vec<ClientTlsSlot>>;

/// The analysis-path matrix of one configuration, computed a batch of rows at a time on every
/// core and handed out in order, so a matrix of any size runs in bounded memory.
///
/// Every destination is resolved once (its host is fully qualified, so the caller's namespace
/// does not change it), the client TLS choice once per client class (`ClientTlsClass`) and destination, and
/// the predictions run without their decision trace.
pub struct Matrix<'a> {
    analyzer: Analyzer<'a>,
    /// Sorted by label.
    sources: Vec<Source>,
    targets: Vec<Target>,
}

/// About how many flows a [`Matrix`] computes before handing them out: enough to keep every
/// core busy, few enough that memory stays small (a flow is a few hundred bytes).
const FLOWS_PER_BATCH: usize = 32_768;

impl<'a> Matrix<'a> {
    /// Every source to every destination of `res`.
    pub fn new(res: &'a Resources) -> Matrix<'a> {
        let analyzer = Analyzer::new(res).with_trace(false);
        let targets = matrix_targets(res)
            .into_iter()
            .map(|(to, protocol)| {
                // Matrix targets are Service ports, named with their namespace.
                let namespace = to.namespace_or("").unwrap_or_default().to_string();
                let resolved = analyzer.destination(&namespace, &to);
                let request = flow_request(WorkloadRef::new("", ""), &to, protocol);
                let dest = resolved.as_ref().as_ref().ok();
                let shape = dest.map(|d| WireShape::of(&request, &d.port));
                let facts =
                    dest.and_then(|d| Some((d.endpoints.first()?, shape?)))
                        .map(|(ep, shape)| {
                            request_facts(
                                &request,
                                shape.protocol,
                                shape.server_http,
                                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                                None,
                                ep.target_port,
                                res.mesh_config.path_normalization,
                            )
                            // No caller yet: each flow gives its own (`with_peer`).
                            .from_peer(None, None)
                        });
                let endpoint = dest
                    .and_then(|d| d.endpoints.first())
                    .filter(|ep| ep.external.is_none())
                    .and_then(|ep| {
                        let index = analyzer.index_of(&ep.namespace, &ep.workload)?;
                        let td = &res.mesh_config.trust_domain;
                        let id = SpiffeId::new(td, &ep.namespace, &ep.service_account);
                        Some((index, id.to_string()))
                    });
                Target {
                    label: to.to_string(),
                    shape,
                    facts,
                    endpoint,
                    resolved: Arc::clone(&resolved),
                    request,
                }
            })
            .collect();
        let mut classes: HashMap<ClientTlsClass, usize> = HashMap::new();
        let sources = matrix_sources(res)
            .into_iter()
            .map(|(label, workload)| {
                let class = analyzer.client_tls_class(&res.workloads[workload]);
                let next = classes.len();
                Source {
                    label,
                    workload,
                    class: *classes.entry(class).or_insert(next),
                }
            })
            .collect();
        Matrix {
            sources,
            targets,
            analyzer,
        }
    }

    /// Keeps the sources whose `NS/NAME` passes `keep`.
    pub fn retain_sources(&mut self, keep: impl Fn(&str) -> bool) {
        self.sources.retain(|s| keep(&s.label));
    }

    /// Keeps the destinations whose `SVC.NS:PORT` passes `keep`.
    pub fn retain_targets(&mut self, keep: impl Fn(&str) -> bool) {
        self.targets.retain(|t| keep(&t.label));
    }

    /// How many flows the matrix has.
    pub fn len(&self) -> u64 {
        self.sources.len() as u64 * self.targets.len() as u64
    }

    /// Whether the matrix has no flow.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The destinations (`SVC.NS:PORT`), in the order of each row's cells.
    pub fn destinations(&self) -> impl ExactSizeIterator<Item = &str> {
        self.targets.iter().map(|t| t.label.as_str())
    }

    /// The flows of one source, in destination order; `client_tls` holds its class's choices.
    fn row<'m>(
        &'m self,
        source: &'m Source,
        client_tls: &[ClientTlsSlot],
    ) -> Result<MatrixRow<'m>, String> {
        let from = &self.analyzer.res.workloads[source.workload];
        let mut row = MatrixRow {
            from: &source.label,
            outcomes: Vec::new(),
            cells: Vec::with_capacity(self.targets.len()),
        };
        // One prediction for the whole row: a flow allocates nothing.
        let (mut p, mut spare) = (Prediction::fresh(), Spare::default());
        for (t, tls) in self.targets.iter().zip(client_tls) {
            let dest = t.resolved.as_ref().as_ref().map_err(Clone::clone)?;
            let hints = FlowHints {
                client_tls: Some(tls),
                facts: t.facts.as_ref(),
                shape: t.shape,
                from_index: Some(source.workload),
                endpoint: t.endpoint.as_ref().map(|(index, server_id)| EndpointHints {
                    index: *index,
                    server_id,
                }),
            };
            self.analyzer
                .predict_into(&mut p, &mut spare, from, dest, &t.request, hints)?;
            let seen = row.outcomes.len();
            let same = row.outcomes[seen.saturating_sub(OUTCOMES_COMPARED)..]
                .iter()
                .rposition(|o| o.is(&p));
            let cell = match same {
                Some(i) => seen.saturating_sub(OUTCOMES_COMPARED) + i,
                None => {
                    row.outcomes.push(FlowOutcome::of(&p));
                    seen
                }
            };
            row.cells.push(cell);
        }
        Ok(row)
    }

    /// The rows of each batch of sources, in matrix order, computed on every core.
    /// `progress` hears how many flows are done after each batch.
    ///
    /// Client TLS choices are kept for the classes of the current batch only: sources sort by
    /// `NS/NAME`, so a namespace's sources (who usually share one class) are consecutive.
    fn batches<'m>(
        &'m self,
        mut progress: impl FnMut(u64) + 'm,
    ) -> impl Iterator<Item = Vec<Result<MatrixRow<'m>, String>>> + 'm {
        let rows_per_batch = (FLOWS_PER_BATCH / self.targets.len().max(1)).max(1);
        let mut done = 0u64;
        let mut client_tls: HashMap<usize, ClientTlsRow> = HashMap::new();
        self.sources.chunks(rows_per_batch).map(move |batch| {
            client_tls.retain(|class, _| batch.iter().any(|s| s.class == *class));
            for s in batch {
                client_tls.entry(s.class).or_insert_with(|| {
                    Arc::new(
                        self.targets
                            .iter()
                            .map(|_| ClientTlsSlot::default())
                            .collect(),
                    )
                });
            }
            let rows = batch
                .par_iter()
                .map(|s| self.row(s, &client_tls[&s.class]))
                .collect();
            done += batch.len() as u64 * self.targets.len() as u64;
            progress(done);
            rows
        })
    }

    /// Every row in matrix order (by source). `progress` hears how many flows are done after
    /// each batch. The first error ends the iteration.
    pub fn rows<'m>(
        &'m self,
        progress: impl FnMut(u64) + 'm,
    ) -> impl Iterator<Item = Result<MatrixRow<'m>, String>> + 'm {
        in_order(self.batches(progress))
    }

    /// Every flow in matrix order (by source, then destination). `progress` hears how many
    /// flows are done after each batch. The first error ends the iteration.
    pub fn flows<'m>(
        &'m self,
        progress: impl FnMut(u64) + 'm,
    ) -> impl Iterator<Item = Result<Flow, String>> + 'm {
        self.flows_of(self.rows(progress))
    }

    /// The flows of `rows`, one [`Flow`] per cell.
    fn flows_of<'m, I>(&'m self, rows: I) -> impl Iterator<Item = Result<Flow, String>> + use<'m, I>
    where
        I: Iterator<Item = Result<MatrixRow<'m>, String>>,
    {
        rows.flat_map(move |row| {
            let flows: Vec<Result<Flow, String>> = match row {
                Ok(row) => row
                    .cells
                    .iter()
                    .zip(self.destinations())
                    .map(|(&o, to)| Ok(row.outcomes[o].flow(row.from, to)))
                    .collect(),
                Err(e) => vec![Err(e)],
            };
            flows
        })
    }

    /// Hands `consume` every row in matrix order, as [`Matrix::rows`] does, while the next
    /// batch is computed: a producer thread computes batches (on every core) one ahead of
    /// `consume`, so writing the output overlaps computing it. If `consume` stops early, the
    /// producer stops after its current batch.
    pub fn with_rows<'m, R>(
        &'m self,
        progress: impl FnMut(u64) + Send + 'm,
        consume: impl FnOnce(&mut dyn Iterator<Item = Result<MatrixRow<'m>, String>>) -> R,
    ) -> R {
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            scope.spawn(move || {
                for batch in self.batches(progress) {
                    if tx.send(batch).is_err() {
                        break;
                    }
                }
            });
            let mut rows = in_order(rx.into_iter());
            consume(&mut rows)
        })
    }

    /// Hands `consume` every flow in matrix order, as [`Matrix::flows`] does, computed ahead
    /// as [`Matrix::with_rows`] does.
    pub fn with_flows<'m, R>(
        &'m self,
        progress: impl FnMut(u64) + Send + 'm,
        consume: impl FnOnce(&mut dyn Iterator<Item = Result<Flow, String>>) -> R,
    ) -> R {
        self.with_rows(progress, |rows| consume(&mut self.flows_of(rows)))
    }
}

/// The rows of batches, in order, ending after the first error.
fn in_order<'m>(
    batches: impl Iterator<Item = Vec<Result<MatrixRow<'m>, String>>>,
) -> impl Iterator<Item = Result<MatrixRow<'m>, String>> {
    batches.flatten().scan(false, |failed, row| {
        // Stop after the first error.
        (!*failed).then(|| {
            *failed = row.is_err();
            row
        })
    })
}
