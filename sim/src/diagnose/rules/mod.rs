//! The rule modules and what they share: the analysis path's prediction of the same request,
//! and how a resource or decision is quoted as evidence.

mod authz;
mod certs;
mod config;
mod control_plane;
mod traffic;
mod unmodelled;

use crate::analysis::{Analyzer, Prediction};
use crate::evidence::Evidence;
use crate::model::{ObjectRef, Origin, Resources};
use crate::outcome::Outcome;
use crate::policy::Decision;
use crate::vocab::details::is_rbac_denial;
use crate::vocab::ResponseFlag;

use super::{static_checks, Finding, Severity};

/// What every rule may read: the evidence and the configuration's prediction for the request.
pub(crate) struct Ctx<'a> {
    pub ev: &'a Evidence,
    /// `None` when the request names an unknown workload or host.
    pub prediction: Option<Prediction>,
}

/// Runs every rule, unsorted.
pub(super) fn run(ev: &Evidence) -> Vec<Finding> {
    let analyzer = Analyzer::new(&ev.resources);
    let ctx = Ctx {
        ev,
        prediction: analyzer.predict(&ev.request).ok(),
    };
    let mut out = config::findings(&ctx);
    out.extend(authz::findings(&ctx));
    out.extend(traffic::findings(&ctx));
    out.extend(certs::findings(&ctx));
    out.extend(control_plane::findings(&ctx));
    out.extend(related_static_findings(ev));
    out.extend(unmodelled::findings(&ctx));
    out
}

/// Whether the outcome is a connect failure: the TLS or TCP connection to the upstream failed
/// (`UF`/`UC`, a TLS error on either side), or a bare client's connection was reset.
pub(crate) fn is_connect_failure(o: &Outcome) -> bool {
    o.response_flags.iter().any(|f| {
        matches!(
            f,
            ResponseFlag::UpstreamConnectionFailure | ResponseFlag::UpstreamConnectionTermination
        )
    }) || o.tls_error.is_some()
        || o.server_tls_error.is_some()
        || (o.status == crate::vocab::Status::Reset && !is_rbac_denial(&o.details))
}

/// Where a resource was read from, when it is in the set.
pub(crate) fn origin_of(res: &Resources, r: &ObjectRef) -> Option<Origin> {
    res.meta_of(r).map(|m| m.origin.clone())
}

/// `Kind/ns/name (file:line)`.
pub(crate) fn quote(res: &Resources, r: &ObjectRef) -> String {
    match origin_of(res, r) {
        Some(o) => format!("{r} ({o})"),
        None => r.to_string(),
    }
}

/// One decision of the analysis trace as an evidence line.
pub(crate) fn decision_line(res: &Resources, d: &Decision) -> String {
    match &d.resource {
        Some(r) => format!("{}: {}", quote(res, r), d.reason),
        None => format!("default ({}): {}", d.step, d.reason),
    }
}

/// Static findings (`meshsim check`) that name a resource in the source's or a destination's
/// namespace, or in the root namespace (mesh-wide policy applies to both), as warnings.
fn related_static_findings(ev: &Evidence) -> Vec<Finding> {
    let mut namespaces: Vec<String> = ev
        .proxies
        .iter()
        .filter_map(|p| p.proxy.split('/').next().map(str::to_string))
        .collect();
    namespaces.push(ev.resources.mesh_config.root_namespace.clone());
    static_checks::static_findings(&ev.resources)
        .into_iter()
        .filter(|f| {
            f.evidence
                .iter()
                .chain(std::iter::once(&f.message))
                .any(|line| namespaces.iter().any(|ns| mentions_namespace(line, ns)))
        })
        .map(|mut f| {
            if f.severity == Severity::Error {
                f.severity = Severity::Warning;
            }
            f
        })
        .collect()
}

/// Whether a static finding's line names a resource in (or the namespace) `ns`: static checks
/// write `Kind ns/name`, `namespace ns` or a `svc.ns.svc` host.
fn mentions_namespace(line: &str, ns: &str) -> bool {
    [
        format!(" {ns}/"),
        format!("/{ns}/"),
        format!("namespace {ns}"),
        format!(".{ns}.svc"),
    ]
    .iter()
    .any(|needle| line.contains(needle.as_str()))
}
