//! `UnmodelledField` (failure-modes.md group G): the probed request's answer may depend on a
//! kind, field or annotation meshsim reads but does not model. Read from the loader's notes in
//! the evidence's configuration, never from faults.

use crate::diagnose::{Finding, Severity};
use crate::model::unmodelled::Reach;
use crate::model::WorkloadRole;
use crate::policy::destination_rule::{most_specific_host_match, resolve_short_host};
use crate::vocab::{FindingCode, WorkloadRef, CLUSTER_DOMAIN};

use super::Ctx;

/// What the finding proposes: meshsim cannot tell, a cluster can.
const REMEDY: &str = "check this behaviour on a cluster: meshsim's answer assumes what the \
                      finding says";

/// One Info finding per unmodelled field that can change this request's answer.
pub(super) fn findings(ctx: &Ctx<'_>) -> Vec<Finding> {
    let ev = ctx.ev;
    let res = &ev.resources;
    let src_ns = ev.request.from.namespace.as_str();
    // A request names a Service (`RequestSpec.to` is a `HostPort`); its FQDN is what a
    // DestinationRule's, VirtualService's or ServiceEntry's hosts are matched against.
    let dest = &ev.request.to;
    let dst_ns = dest.namespace_or(src_ns).map(str::to_string);
    let host = match dest.service() {
        Some((service, namespace)) => format!(
            "{service}.{}.svc.{CLUSTER_DOMAIN}",
            namespace.unwrap_or(src_ns)
        ),
        None => dest.host.clone(),
    };
    let root = res.mesh_config.root_namespace.as_str();
    let proxies: Vec<&str> = ev.proxies.iter().map(|p| p.proxy.as_str()).collect();
    let mut out: Vec<Finding> = res
        .warnings
        .iter()
        .filter_map(|w| w.unmodelled.as_ref().map(|u| (w, u)))
        .filter(|(_, u)| match &u.reach {
            Reach::Hosts { namespace, hosts } => {
                let resolved: Vec<String> = hosts
                    .iter()
                    .map(|h| resolve_short_host(h, namespace))
                    .collect();
                most_specific_host_match(&host, resolved.iter().map(String::as_str)).is_some()
            }
            Reach::Namespace(ns) => ns == src_ns || Some(ns) == dst_ns.as_ref() || ns == root,
            Reach::Workload(ns, name) => {
                let id = format!("{ns}/{name}");
                ev.request.from == WorkloadRef::new(ns, name) || proxies.contains(&id.as_str())
            }
            Reach::Mesh => true,
            Reach::Never => false,
        })
        .map(|(w, u)| Finding {
            code: FindingCode::UnmodelledField,
            severity: Severity::Info,
            message: format!(
                "the answer may depend on something meshsim does not model: {}",
                u.message()
            ),
            evidence: vec![format!("{}: {} {}", w.origin, u.subject, u.object)],
            remedy: REMEDY.into(),
        })
        .collect();
    // istiod is no mesh client (the matrix leaves it out as a source): a probe from it gets
    // the answer of a pod without a sidecar, and says so.
    if let Ok(w) = res.find_workload(&ev.request.from) {
        if w.role == WorkloadRole::ControlPlane {
            out.push(Finding {
                code: FindingCode::UnmodelledField,
                severity: Severity::Info,
                message: format!(
                    "the answer may depend on something meshsim does not model: {} is istiod, \
                     which sends no application traffic; meshsim answers as for a pod without a \
                     sidecar (plaintext)",
                    ev.request.from
                ),
                evidence: vec![format!(
                    "{}: {} labelled app=istiod",
                    w.meta.origin,
                    w.proxy_id()
                )],
                remedy: REMEDY.into(),
            });
        }
    }
    out.sort_by(|a, b| a.message.cmp(&b.message));
    out
}
