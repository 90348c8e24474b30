//! `UnmodelledField` (failure-modes.md group G): the probed request's answer may depend on a
//! kind, field or annotation meshsim reads but does not model. Read from the loader's notes in
//! the evidence's configuration, never from faults.

use crate::diagnose::{Finding, Severity};
use crate::model::unmodelled::Reach;
use crate::model::WorkloadRole;
use crate::policy::destination_rule::{most_specific_host_match, resolve_short_host};
use crate::policy::{resolve_destination, OutsideTls};
use crate::vocab::{FindingCode, PortProtocol, WorkloadRef, CLUSTER_DOMAIN};

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
    out.extend(outside_servers(ctx));
    out.sort_by(|a, b| a.message.cmp(&b.message));
    out
}

/// What meshsim assumes of the servers outside the mesh behind the request's ServiceEntry host:
/// Istio's configuration says nothing of them, so their behaviour is meshsim's guess.
fn outside_servers(ctx: &Ctx<'_>) -> Vec<Finding> {
    let ev = ctx.ev;
    let Ok(dest) = resolve_destination(
        &ev.resources,
        ev.request.from.namespace.as_str(),
        &ev.request.to,
    ) else {
        return Vec::new();
    };
    let mut out: Vec<Finding> = dest
        .endpoints
        .iter()
        .filter_map(|ep| ep.external.as_ref().map(|o| (ep, o)))
        .map(|(ep, outside)| Finding {
            code: FindingCode::UnmodelledField,
            severity: Severity::Info,
            message: format!(
                "the answer may depend on something meshsim does not model: {}:{} is a server \
                 outside the mesh; meshsim assumes it answers as {} and {}",
                outside.address,
                ep.target_port,
                if dest.port.port_protocol() == PortProtocol::Http {
                    "an HTTP server (httpbin)"
                } else {
                    "the caller's protocol (httpbin for HTTP, an echo server for TCP)"
                },
                match outside.tls {
                    OutsideTls::Terminates => format!(
                        "speaks TLS on port {} (the ServiceEntry declares it HTTPS or TLS, or it \
                         is 443), presenting a certificate for {} from the public PKI and \
                         requesting no client certificate; to plaintext HTTP it answers 400, \
                         other plaintext it closes",
                        ep.target_port, dest.fqdn
                    ),
                    OutsideTls::ApplicationTls => format!(
                        "expects the application's own TLS, as the ServiceEntry declares port \
                         {} HTTPS or TLS; meshsim's applications speak no TLS, so their \
                         plaintext stands in for it and is answered, and TLS a sidecar adds on \
                         top is answered as by a plaintext server",
                        dest.port.port
                    ),
                    OutsideTls::Plaintext => format!(
                        "speaks plaintext on port {} (the ServiceEntry declares neither it nor \
                         the port dialled HTTPS or TLS, and it is not 443)",
                        ep.target_port
                    ),
                }
            ),
            evidence: vec![format!(
                "{}: endpoint {}:{}",
                dest.service, outside.address, ep.target_port
            )],
            remedy: REMEDY.into(),
        })
        .collect();
    out.dedup_by(|a, b| a.message == b.message);
    out
}
