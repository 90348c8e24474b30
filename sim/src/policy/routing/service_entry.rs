//! A ServiceEntry host as a registry service (`convertServices` in
//! `pilot/pkg/serviceregistry/serviceentry/conversion.go`, Istio 1.22–1.28): one service per
//! host, in the entry's namespace, with the entry's ports (`convertPort`), `MeshExternal` from
//! `location`, `ServiceAccounts` from `subjectAltNames` and Passthrough resolution for `NONE`.
//! Its endpoints:
//!
//! - `workloadSelector`: the ready pods of the entry's namespace carrying the labels
//!   (`convertWorkloadInstanceToServiceInstance`: the endpoint port is the pod's container port
//!   named as the entry's port, else `targetPort`, else the port number); the pod's sidecar makes
//!   it mTLS-capable (its `security.istio.io/tlsMode` label);
//! - `endpoints`: one per entry (`convertEndpoint`: the port is `ports[<port name>]`, else
//!   `targetPort`, else the number; mTLS-capable when its labels say
//!   `security.istio.io/tlsMode: istio` or it has a `serviceAccount`,
//!   `getTLSModeFromWorkloadEntry`). meshsim has no workload at such an address: it answers
//!   as a server outside the mesh;
//! - DNS or DNS_ROUND_ROBIN without either: the host itself (`convertServiceEntryToInstances`,
//!   `hostnameToServiceInstance`), `tlsMode` disabled;
//! - NONE: no endpoints in the registry; the ORIGINAL_DST cluster connects to the address the
//!   client dialled, which meshsim takes to be the host itself.
//!
//! Which entry a client sees: those exported to its namespace (`exportTo`) whose hosts match
//! the host exactly, else by a `*.suffix` wildcard; of several, one in the client's own
//! namespace, then the oldest (`sortConfigByCreationTime`).

use super::{pod_endpoint, Destination, DestinationError, Endpoint, OutsideServer, OutsideTls};
use crate::model::{
    Resources, ServiceEntry, ServiceEntryLocation, ServiceEntryResolution, TargetPort,
};
use crate::policy::decision::{object_ref, Decision};
use crate::policy::peer_authn::creation_order;
use crate::vocab::{HostPort, IstioProtocol, Kind};

/// The pod label a WorkloadEntry (and so a ServiceEntry endpoint) declares its TLS mode with.
const TLS_MODE_LABEL: &str = "security.istio.io/tlsMode";

/// The ServiceEntry a client in `caller_namespace` reaches `parsed` through, resolved like a
/// Service; `Ok(None)` when no visible entry has the host.
pub(super) fn resolve(
    res: &Resources,
    caller_namespace: &str,
    parsed: &HostPort,
) -> Result<Option<Destination>, DestinationError> {
    let Some(se) = visible_entry(res, caller_namespace, &parsed.host) else {
        return Ok(None);
    };
    let given = parsed.as_str();
    let port = se
        .service_port(parsed.port)
        .ok_or_else(|| DestinationError::NoPort {
            given: given.to_string(),
            name: parsed.host.clone(),
            namespace: se.meta.namespace.clone(),
            port: parsed.port,
            known: super::port_list(se.spec.ports.iter().map(|p| p.number)),
        })?;
    let se_port = se
        .spec
        .ports
        .iter()
        .find(|p| p.number == u32::from(parsed.port))
        .cloned()
        .unwrap_or_default();
    let se_ref = object_ref(Kind::ServiceEntry, &se.meta);
    let spec = &se.spec;
    let mut decided_by = vec![Decision::by(
        se_ref.clone(),
        "destination/service-entry",
        format!(
            "`{given}` from namespace {caller_namespace} is host {} of ServiceEntry {}/{} \
             ({}, resolution {}), port {} ({})",
            parsed.host,
            se.meta.namespace,
            se.meta.name,
            spec.location.as_str(),
            spec.resolution.as_str(),
            parsed.port,
            port.istio_protocol()
        ),
    )];
    // `convertPort` keeps `targetPort` (else the number) for endpoints that name no port.
    let default_port = match &port.target_port {
        TargetPort::Number(n) => *n,
        TargetPort::Name(_) => parsed.port,
    };
    let mut endpoints = Vec::new();
    if let Some(sel) = &spec.workload_selector {
        let selected = res.workloads.iter().filter(|w| {
            w.meta.namespace == se.meta.namespace
                && sel
                    .labels
                    .iter()
                    .all(|(k, v)| w.pod_labels.get(k) == Some(v))
        });
        for w in selected {
            if w.replicas == 0 {
                decided_by.push(Decision::by(
                    object_ref(w.kind.into(), &w.meta),
                    "destination/endpoint",
                    "selected by the workloadSelector but has 0 replicas: no endpoint",
                ));
                continue;
            }
            let named = w
                .ports
                .iter()
                .find(|c| c.name.as_deref() == Some(se_port.name.as_str()))
                .map(|c| c.port);
            let target = named.unwrap_or(default_port);
            endpoints.push(pod_endpoint(res, w, target, &mut decided_by));
        }
    } else if !spec.endpoints.is_empty() {
        for ep in &spec.endpoints {
            let target = ep
                .ports
                .get(&se_port.name)
                .and_then(|p| u16::try_from(*p).ok())
                .filter(|p| *p > 0)
                .unwrap_or(default_port);
            let mtls_capable = match ep.labels.get(TLS_MODE_LABEL) {
                Some(mode) => mode == "istio",
                None => ep.service_account.is_some(),
            };
            decided_by.push(Decision::by(
                se_ref.clone(),
                "destination/endpoint",
                format!(
                    "endpoint {}:{target} (tlsMode {}): no pod of this configuration has the \
                     address, so a server outside the mesh answers",
                    ep.address,
                    if mtls_capable { "istio" } else { "disabled" }
                ),
            ));
            endpoints.push(external(
                se,
                parsed.port,
                &ep.address,
                target,
                mtls_capable,
                ep.service_account.as_deref(),
                ep.labels.clone(),
            ));
        }
    } else if matches!(
        spec.resolution,
        ServiceEntryResolution::Dns
            | ServiceEntryResolution::DnsRoundRobin
            | ServiceEntryResolution::None
    ) {
        decided_by.push(Decision::by(
            se_ref.clone(),
            "destination/endpoint",
            if spec.resolution == ServiceEntryResolution::None {
                format!(
                    "resolution NONE: the ORIGINAL_DST cluster connects to the address dialled, \
                     {}:{default_port}, a server outside the mesh",
                    parsed.host
                )
            } else {
                format!(
                    "resolution {} without endpoints: the host itself, {}:{default_port}, a \
                     server outside the mesh (tlsMode disabled)",
                    spec.resolution.as_str(),
                    parsed.host
                )
            },
        ));
        endpoints.push(external(
            se,
            parsed.port,
            &parsed.host,
            default_port,
            false,
            None,
            Default::default(),
        ));
    }
    if endpoints.is_empty() {
        decided_by.push(Decision::by(
            se_ref.clone(),
            "destination/endpoint",
            "no ready endpoints",
        ));
    }
    Ok(Some(Destination {
        service: se_ref,
        fqdn: parsed.host.clone(),
        port,
        headless: spec.resolution == ServiceEntryResolution::None,
        mesh_external: spec.location == ServiceEntryLocation::MeshExternal,
        subject_alt_names: spec.subject_alt_names.clone(),
        endpoints,
        decided_by,
    }))
}

/// The entry whose host a client in `namespace` reaches `host` through.
fn visible_entry<'r>(res: &'r Resources, namespace: &str, host: &str) -> Option<&'r ServiceEntry> {
    res.service_entries
        .iter()
        .filter(|se| se.exported_to(namespace))
        .filter_map(|se| se.host_match(host).map(|exact| (exact, se)))
        .min_by(|(exact_a, a), (exact_b, b)| {
            exact_b
                .cmp(exact_a)
                .then_with(|| {
                    let own = |se: &ServiceEntry| se.meta.namespace != namespace;
                    own(a).cmp(&own(b))
                })
                .then_with(|| creation_order(&a.meta, &b.meta))
        })
        .map(|(_, se)| se)
}

/// An endpoint at `address` that is no pod: a server outside the mesh.
fn external(
    se: &ServiceEntry,
    port: u16,
    address: &str,
    target_port: u16,
    mtls_capable: bool,
    service_account: Option<&str>,
    labels: std::collections::BTreeMap<String, String>,
) -> Endpoint {
    Endpoint {
        namespace: se.meta.namespace.clone(),
        workload: address.to_string(),
        target_port,
        service_account: service_account.unwrap_or_default().to_string(),
        has_sidecar: mtls_capable,
        intercepted: false,
        labels,
        external: Some(OutsideServer {
            address: address.to_string(),
            tls: outside_server_tls(se, port, target_port),
        }),
    }
}

/// What the server outside the mesh behind `se` speaks on `target_port` when a client dials
/// `port` ([`OutsideTls`]). Istio has no say in this (the server is not Istio's); a
/// ServiceEntry's ports describe what travels on them, so meshsim reads the entry: a dialled
/// port declared `HTTPS` or `TLS` (`protocol.Parse`) carries the application's own TLS;
/// otherwise a port numbered `target_port` declared `HTTPS` or `TLS` means the server speaks
/// TLS there, any other declared protocol plaintext, and an undeclared target port is TLS on
/// 443 only (the HTTPS convention, as in Istio's egress TLS origination task: port 80 `HTTP`
/// with `targetPort: 443`). `probe` states this assumption for every request to such a server
/// (`UnmodelledField`).
pub fn outside_server_tls(se: &ServiceEntry, port: u16, target_port: u16) -> OutsideTls {
    let declared_tls = |number: u16| {
        se.spec
            .ports
            .iter()
            .find(|p| p.number == u32::from(number))
            .map(|p| {
                matches!(
                    IstioProtocol::parse(p.protocol.as_deref().unwrap_or_default()),
                    IstioProtocol::Https | IstioProtocol::Tls
                )
            })
    };
    if declared_tls(port) == Some(true) {
        OutsideTls::ApplicationTls
    } else if declared_tls(target_port).unwrap_or(target_port == 443) {
        OutsideTls::Terminates
    } else {
        OutsideTls::Plaintext
    }
}
