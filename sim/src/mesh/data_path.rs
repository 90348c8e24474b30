//! One request through the data path, following design.md's request flow: resolve the
//! destination, build the source sidecar's outbound TLS (DestinationRule or auto mTLS) and the
//! destination sidecar's inbound listener (effective PeerAuthentication on the target port) from
//! the current configuration and certificates, apply connection-pool limits, then run the real
//! exchange with authorization evaluated by the destination.

use std::net::IpAddr;

use super::routes::Route;
use super::{Mesh, MeshError};
use crate::metrics::RequestMeta;
use crate::model::{ClientTlsMode, Resources, Workload};
use crate::outcome::Outcomes;
use crate::policy::{
    outbound_bypass, resolve_destination, service_address, ClientTlsChoice, Destination, Endpoint,
    HttpFacts, OutsideTls, RequestFacts, RouterHost, ServerRoots,
};
use crate::proxy::exchange::{exchange_wave, Hop};
use crate::proxy::report::{
    black_hole_outcome, block_all_outcome, no_healthy_upstream_outcome, passthrough_refused_outcome,
};
use crate::proxy::{
    App, AppRequest, AuthzInput, AuthzVerdict, ClientSide, ClientSidecar, ClusterLimits, Outcome,
    ServerSide, ServerSidecar, SidecarTls, UpstreamTls,
};
use crate::request::{RequestSpec, TCP_PAYLOAD};
use crate::vocab::{sniffs_as_http, OutboundChain, Protocol, SpiffeId, Status};

/// Sends `req.count` requests in waves of `req.concurrency` that run concurrently (see
/// `proxy::exchange_wave`) and returns their outcomes grouped, so memory does not grow with
/// `count`.
pub(super) fn send(mesh: &mut Mesh, req: &RequestSpec) -> Result<Outcomes, MeshError> {
    let route = mesh.routes.get(
        &mesh.resources,
        &mesh.peer_authn,
        &mesh.pod_ips,
        &req.from,
        &req.to,
    )?;
    let (from, dest) = (&route.from, &route.dest);
    let count = u64::from(req.count.max(1));
    if dest.endpoints.is_empty() {
        // kube-proxy rejects a connection to a ClusterIP without endpoints; a sidecar answers
        // `no healthy upstream` itself for the service's cluster, while PassthroughCluster dials
        // the ClusterIP and is refused too.
        let captured =
            route.src_sidecar && outbound_bypass(&mesh.resources, from, dest, None).is_none();
        // REGISTRY_ONLY's black hole answers before any cluster is looked at.
        let wire = app_request(req, req.protocol_to(dest.port.istio_protocol())).wire_bytes();
        let chain = captured.then(|| {
            OutboundChain::select_with(
                dest.port.istio_protocol(),
                sniffs_as_http(&wire),
                route.egress,
            )
        });
        let outcome = match chain {
            Some(OutboundChain::HttpBlackHole) => block_all_outcome(),
            Some(OutboundChain::BlackHole) => black_hole_outcome(),
            Some(c) if c.is_passthrough() => {
                let ip = service_address(&mesh.resources, &dest.service)
                    .map_or_else(|| "-".to_string(), |ip| ip.to_string());
                let app = app_request(req, req.protocol_to(dest.port.istio_protocol()));
                passthrough_refused_outcome(c, &app, &ip, dest.port.port, mesh.now)
            }
            Some(_) => no_healthy_upstream_outcome(),
            None => Outcome::with_status(Status::Refused),
        };
        for _ in 0..count {
            observe(mesh, from, dest, None, &outcome);
        }
        return Ok(Outcomes::repeated(outcome, count));
    }
    let concurrency = u64::from(req.concurrency.max(1));
    let protocol = req.protocol_to(dest.port.istio_protocol());
    let app_req = app_request(req, protocol);
    let mut outcomes = Outcomes::new();
    let rr_key = &route.rr_key;
    let mut sent = 0;
    while sent < count {
        let wave = concurrency.min(count - sent);
        let mut sides = Vec::new();
        for _ in 0..wave {
            // The key is cloned only the first time this pair is routed.
            let i = match mesh.round_robin.get_mut(rr_key) {
                Some(turn) => {
                    *turn += 1;
                    (*turn - 1) % dest.endpoints.len()
                }
                None => {
                    mesh.round_robin.insert(rr_key.clone(), 1);
                    0
                }
            };
            let client = client_side(mesh, &route, i, req)?;
            let server = server_side(mesh, &route, i, protocol)?;
            sides.push((client, server, i));
        }
        let Mesh {
            resources,
            authz,
            rt,
            pool,
            now,
            pod_ips,
            ..
        } = &mut *mesh;
        let mut hops = Vec::with_capacity(sides.len());
        let mut endpoints = Vec::with_capacity(sides.len());
        for (client, server, i) in sides {
            let ep = &dest.endpoints[i];
            endpoints.push(i);
            // A server outside the mesh has no sidecar, so nothing authorizes there.
            let Some(ep_workload) = endpoint_workload(resources, &route, i)? else {
                hops.push(Hop {
                    client,
                    server,
                    authz: Box::new(|_: AuthzInput| AuthzVerdict::Allow),
                });
                continue;
            };
            let destination_ip = pod_ips.get(&ep.namespace, &ep.workload);
            let (resources, authz) = (&*resources, &*authz);
            let authorize = move |input: AuthzInput| -> AuthzVerdict {
                let mut facts = RequestFacts::new(
                    input.source_ip.parse::<IpAddr>().ok(),
                    input.principal,
                    input.port,
                    input.http.map(|h| HttpFacts {
                        method: h.method,
                        path: h.path,
                        host: h.host,
                        headers: h.headers,
                    }),
                    resources.mesh_config.path_normalization,
                );
                facts.sni = input.sni;
                facts.destination_ip = Some(destination_ip);
                // The data path needs only the verdict, not the decision's trace.
                let verdict = authz.decide(resources, ep_workload, &facts);
                if verdict.allowed {
                    AuthzVerdict::Allow
                } else {
                    AuthzVerdict::Deny {
                        details: verdict.details.unwrap_or_default().into_owned(),
                    }
                }
            };
            hops.push(Hop {
                client,
                server,
                authz: Box::new(authorize),
            });
        }
        let finished = exchange_wave(rt, &hops, &app_req, pool, *now);
        drop(hops);
        for (outcome, i) in finished.into_iter().zip(endpoints) {
            observe(mesh, from, dest, Some(&dest.endpoints[i]), &outcome);
            outcomes.push(outcome);
        }
        sent += wave;
    }
    Ok(outcomes)
}

/// Counts a finished request in the mesh's metrics (Envoy TLS stats, Istio standard metrics).
fn observe(
    mesh: &mut Mesh,
    from: &Workload,
    dest: &Destination,
    endpoint: Option<&Endpoint>,
    outcome: &Outcome,
) {
    let meta = RequestMeta {
        source: from,
        service: dest,
        endpoint,
        trust_domain: &mesh.resources.mesh_config.trust_domain,
    };
    mesh.traffic.observe_request(&meta, outcome);
}

/// What `req` sends: its protocol, else its destination port's default.
pub(super) fn protocol_of(mesh: &Mesh, req: &RequestSpec) -> Result<Protocol, MeshError> {
    let from = mesh
        .resources
        .find_workload(&req.from)
        .map_err(|e| MeshError(e.to_string()))?;
    let dest = resolve_destination(&mesh.resources, &from.meta.namespace, &req.to)
        .map_err(|e| MeshError(e.to_string()))?;
    Ok(req.protocol_to(dest.port.istio_protocol()))
}

/// The workload behind endpoint `i` of `route` (resolved from the same resources); `None` for
/// a server outside the mesh.
fn endpoint_workload<'r>(
    res: &'r Resources,
    route: &Route,
    i: usize,
) -> Result<Option<&'r Workload>, MeshError> {
    let ep = &route.dest.endpoints[i];
    if ep.external.is_some() {
        return Ok(None);
    }
    route.endpoints[i]
        .workload
        .and_then(|w| res.workloads.get(w))
        .map(Some)
        .ok_or_else(|| {
            MeshError(format!(
                "endpoint {}/{} vanished",
                ep.namespace, ep.workload
            ))
        })
}

/// A sidecar's TLS context right now: its SDS certificate and bundle, the mesh's TLS settings,
/// its own clock (skew) and any per-proxy TLS parameters.
pub(super) fn sidecar_tls(mesh: &Mesh, proxy: &str) -> SidecarTls {
    let (cert, bundle) = mesh.control.shared_credentials(proxy);
    let clock = mesh.now.offset(mesh.control.clock_offset(proxy));
    let mut tls = SidecarTls::from_shared(
        cert,
        bundle.unwrap_or_default(),
        &mesh.resources.mesh_config,
        clock,
    );
    if let Some(o) = mesh.control.tls_params(proxy) {
        tls.params.apply(o);
    }
    tls
}

/// The source: a bare pod (no sidecar, or one that does not capture this connection), or its
/// sidecar with the outbound TLS for endpoint `i` of `route`.
fn client_side(
    mesh: &mut Mesh,
    route: &Route,
    i: usize,
    req: &RequestSpec,
) -> Result<ClientSide, MeshError> {
    let (from, dest) = (&route.from, &route.dest);
    let ip = route.ip.clone();
    let choice = &route.endpoints[i].client_tls;
    if !choice.through_sidecar() {
        return Ok(ClientSide::NoSidecar { ip });
    }
    let tls = sidecar_tls(mesh, &route.proxy_id);
    let host = RouterHost::of_request(dest, req);
    let upstream = upstream_tls(mesh, from, choice, &tls, host.as_ref())?;
    let side = ClientSide::Sidecar(Box::new(ClientSidecar {
        name: route.proxy_name.clone(),
        ip,
        tls,
        upstream,
        cluster: route.cluster.clone(),
        port_protocol: dest.port.istio_protocol(),
        limits: ClusterLimits::from_settings(choice.connection_pool.as_ref()),
        egress: route.egress,
    }));
    Ok(side)
}

/// The wire TLS the policy engine chose, with its material: ISTIO_MUTUAL uses SDS, SIMPLE and
/// MUTUAL use material from outside the mesh (the files a real rule names are not the mesh's),
/// and the SNI and SANs of this request (`auto_sni` / `auto_san_validation` read its host).
fn upstream_tls(
    mesh: &mut Mesh,
    from: &Workload,
    choice: &ClientTlsChoice,
    tls: &SidecarTls,
    host: Option<&RouterHost>,
) -> Result<UpstreamTls, MeshError> {
    let seed = mesh.opts.seed;
    let settings = choice.tls.clone().unwrap_or_default();
    let names = choice.request_names(host);
    let roots = choice.server_roots().unwrap_or(ServerRoots::Outside);
    Ok(match choice.mode {
        ClientTlsMode::Disable => UpstreamTls::Plaintext,
        ClientTlsMode::IstioMutual => UpstreamTls::IstioMutual {
            expected_sans: names.sans,
            sni: names.sni.unwrap_or_default(),
        },
        ClientTlsMode::Simple => UpstreamTls::Simple {
            ca: mesh
                .external
                .server_ca(seed, roots, &tls.bundle)
                .map_err(MeshError)?,
            subject_alt_names: names.sans,
            sni: names.sni,
            insecure_skip_verify: settings.insecure_skip_verify == Some(true),
        },
        ClientTlsMode::Mutual => {
            let identity = SpiffeId {
                trust_domain: mesh.resources.mesh_config.trust_domain.clone(),
                namespace: from.meta.namespace.clone(),
                service_account: from.service_account.clone(),
            };
            UpstreamTls::Mutual {
                client: mesh
                    .external
                    .client_material(seed, &identity, mesh.now)
                    .map_err(MeshError)?,
                ca: mesh
                    .external
                    .server_ca(seed, roots, &tls.bundle)
                    .map_err(MeshError)?,
                subject_alt_names: names.sans,
                sni: names.sni,
                insecure_skip_verify: settings.insecure_skip_verify == Some(true),
            }
        }
    })
}

/// The destination: a bare app (no sidecar, or one that does not capture the target port), or
/// its sidecar with the effective mode on the target port, for endpoint `i` of `route`.
fn server_side(
    mesh: &mut Mesh,
    route: &Route,
    i: usize,
    protocol: Protocol,
) -> Result<ServerSide, MeshError> {
    let (dest, ep) = (&route.dest, &route.dest.endpoints[i]);
    // A server outside the mesh is reached at its own address (an IP, or the host's name).
    let ip = route.endpoints[i].ip.clone();
    let port_protocol = dest.port.port_protocol();
    let app = match port_protocol.application(protocol) {
        Protocol::Http => App::Httpbin,
        Protocol::Tcp => App::TcpEcho,
    };
    if !ep.intercepted {
        let certificate = match &ep.external {
            Some(outside) if outside.tls == OutsideTls::Terminates => Some(Box::new(
                mesh.external
                    .server_certificate(mesh.opts.seed, &dest.fqdn, mesh.now)
                    .map_err(MeshError)?,
            )),
            _ => None,
        };
        return Ok(ServerSide::NoSidecar {
            ip,
            port: ep.target_port,
            app,
            certificate,
        });
    }
    let (Some(proxy_id), Some(mode)) = (&route.endpoints[i].proxy_id, route.endpoints[i].mode)
    else {
        return Err(MeshError(format!(
            "endpoint {} has no sidecar",
            ep.workload
        )));
    };
    Ok(ServerSide::Sidecar(Box::new(ServerSidecar {
        name: route.endpoints[i].proxy_name.clone(),
        ip,
        port: ep.target_port,
        tls: sidecar_tls(mesh, proxy_id),
        mode,
        port_protocol,
        app,
    })))
}

/// The bytes the client application sends when it speaks `protocol`.
fn app_request(req: &RequestSpec, protocol: Protocol) -> AppRequest {
    match protocol {
        Protocol::Tcp => AppRequest::tcp(req.to.as_str(), TCP_PAYLOAD),
        Protocol::Http => {
            let mut r = AppRequest::http_get(&req.authority(), &req.path);
            r.method = req.method.clone();
            r.headers = req.sent_headers();
            r
        }
    }
}
