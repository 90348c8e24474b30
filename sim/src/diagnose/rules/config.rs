//! Configuration-explained failures: the analysis path predicts the request from the resources
//! alone; when it predicts exactly the failure the client saw (status, response flags, TLS error
//! and `response_code_details`), its codes name the cause and its trace is the evidence. Each
//! message is written from the observed TLS error and the modes the trace shows, so it never
//! says more than the evidence beside it. Authorization codes are refined in `authz.rs`.

use crate::analysis::Prediction;
use crate::diagnose::Finding;
use crate::model::{ClientTlsMode, MtlsMode};
use crate::policy::{resolve_destination, sidecar_for, ClientTlsSource, ServerRoots};
use crate::vocab::{join, FindingCode, ResponseFlag};

use super::{decision_line, Ctx};

/// Codes this module reports from the prediction (authorization ones are `authz.rs`'s).
const CONFIG_CODES: &[FindingCode] = &[
    FindingCode::PlaintextToStrict,
    FindingCode::AutoMtlsPlaintextToStrict,
    FindingCode::DestinationRuleTlsDisable,
    FindingCode::DestinationRuleTlsSimple,
    FindingCode::DestinationRuleTlsMutualExternal,
    FindingCode::MtlsToNonMeshWorkload,
    FindingCode::MtlsToDisabledServer,
    FindingCode::ServerIdentityMismatch,
    FindingCode::NoHealthyUpstream,
    FindingCode::OutsideSidecarEgressScope,
    FindingCode::UntrustedPeerCertificate,
];

pub(super) fn findings(ctx: &Ctx<'_>) -> Vec<Finding> {
    let Some(p) = predicted_failure(ctx) else {
        return Vec::new();
    };
    let res = &ctx.ev.resources;
    p.codes
        .iter()
        .filter(|c| CONFIG_CODES.contains(c))
        .map(|code| {
            let mut evidence = vec![observed(ctx)];
            evidence.extend(trace_lines(res, p));
            let (message, remedy) = explain(*code, ctx);
            Finding::error(*code, message, evidence, remedy)
        })
        .collect()
}

/// The prediction, when the observed outcome is a failure it predicts exactly: the same status,
/// response flags, TLS error and response-code details. A failure that differs in any of them
/// has a cause the configuration alone does not show (a certificate, the control plane), and
/// the other rules explain it.
pub(super) fn predicted_failure<'c>(ctx: &'c Ctx<'_>) -> Option<&'c Prediction> {
    let p = ctx.prediction.as_ref()?;
    let o = &ctx.ev.outcome;
    let sorted = |flags: &[ResponseFlag]| {
        let mut v = flags.to_vec();
        v.sort();
        v
    };
    (!o.status.is_success()
        && p.status == o.status
        && p.tls_error == o.tls_error
        && sorted(&p.response_flags) == sorted(&o.response_flags)
        && p.details == o.details)
        .then_some(p)
}

/// What the observed TLS error says happened at the client, for a message.
fn observed_tls(ctx: &Ctx<'_>) -> String {
    match ctx.ev.outcome.tls_error.as_deref() {
        Some("WRONG_VERSION_NUMBER") => {
            "the answer is not TLS (WRONG_VERSION_NUMBER: a plaintext listener replied)".into()
        }
        Some("UNEXPECTED_MESSAGE") => {
            "the application echoed the ClientHello back (UNEXPECTED_MESSAGE)".into()
        }
        Some(reason) => format!("the handshake failed with {reason}"),
        None => "the connection was closed during the handshake, with no TLS error".into(),
    }
}

/// Why a SIMPLE/MUTUAL client rejected the server certificate (`CERTIFICATE_VERIFY_FAILED`):
/// its roots, or `auto_san_validation`.
fn server_rejected_because(ctx: &Ctx<'_>, p: &Prediction) -> &'static str {
    if p.server_roots == Some(ServerRoots::Outside) {
        "it verifies the server against roots that did not issue the mesh certificate \
         (no caCertificates: the OS bundle; or another file or credential)"
    } else if traced(ctx, "client-tls/auto-san") {
        "without sni or subjectAltNames, auto_san_validation requires the request's host as a \
         SAN, and mesh certificates carry only a SPIFFE URI"
    } else {
        "the server certificate does not carry the subjectAltNames the rule lists"
    }
}

/// The client's wire mode as the prediction's outbound step shows it.
fn wire_mode(p: &Prediction) -> &'static str {
    p.client_tls
        .map_or(ClientTlsMode::Disable, |(m, _)| m)
        .as_str()
}

/// The client's view in one line.
pub(super) fn observed(ctx: &Ctx<'_>) -> String {
    let o = &ctx.ev.outcome;
    let mut s = format!(
        "observed: {} -> {}: {}",
        ctx.ev.request.from, ctx.ev.request.to, o.status
    );
    if !o.response_flags.is_empty() {
        s.push_str(&format!(" flags {}", join(&o.response_flags, ",")));
    }
    if let Some(e) = &o.tls_error {
        s.push_str(&format!(" tls_error {e}"));
    }
    if !o.details.is_empty() {
        s.push_str(&format!(" details {}", o.details));
    }
    s
}

/// The prediction's trace: one line per step, then one per deciding resource or default.
pub(super) fn trace_lines(res: &crate::model::Resources, p: &Prediction) -> Vec<String> {
    let mut out = Vec::new();
    for step in &p.trace {
        out.push(format!("{}: {}", step.step, step.summary));
        for d in &step.decisions {
            out.push(format!("  {}", decision_line(res, d)));
        }
    }
    out
}

/// Whether the destination's first endpoint (the one the prediction reads) has a sidecar that
/// does not capture its target port.
fn endpoint_port_bypassed(ctx: &Ctx<'_>) -> bool {
    let res = &ctx.ev.resources;
    let req = &ctx.ev.request;
    let ns = &req.from.namespace;
    resolve_destination(res, ns, &req.to)
        .ok()
        .and_then(|d| d.endpoints.first().map(|e| e.has_sidecar && !e.intercepted))
        .unwrap_or(false)
}

/// Whether the prediction's trace has a decision of this step.
fn traced(ctx: &Ctx<'_>, step: &str) -> bool {
    ctx.prediction.as_ref().is_some_and(|p| {
        p.trace
            .iter()
            .flat_map(|t| &t.decisions)
            .any(|d| d.step == step)
    })
}

/// Whether the destination Service has no selector (`kubernetes`, manually managed Endpoints):
/// meshsim has no endpoints for it, which says nothing about the cluster.
fn selector_less(ctx: &Ctx<'_>) -> bool {
    let res = &ctx.ev.resources;
    let req = &ctx.ev.request;
    let ns = req.from.namespace.as_str();
    resolve_destination(res, ns, &req.to)
        .ok()
        .and_then(|d| res.service(&d.service.namespace, &d.service.name))
        .is_some_and(|svc| svc.selector.as_ref().is_none_or(|s| s.is_empty()))
}

fn explain(code: FindingCode, ctx: &Ctx<'_>) -> (String, &'static str) {
    let req = &ctx.ev.request;
    let p = ctx.prediction.as_ref();
    match code {
        FindingCode::AutoMtlsPlaintextToStrict => {
            let cause = match p.and_then(|p| p.client_tls) {
                Some((_, ClientTlsSource::AutoMtlsOff)) => "enableAutoMtls is false",
                Some((_, ClientTlsSource::MeshExternal)) => {
                    "the host is a MESH_EXTERNAL ServiceEntry's, for which auto mTLS never applies; set location: MESH_INTERNAL or a DestinationRule tls.mode ISTIO_MUTUAL"
                }
                _ if traced(ctx, "client-tls/service-mode") => {
                    "a headless or loadBalancer PASSTHROUGH service with an endpoint without sidecar makes istiod infer plaintext for it"
                }
                _ => "the service namespace's own PeerAuthentication makes istiod infer plaintext for it",
            };
            (
                format!(
                    "no DestinationRule sets tls towards {}, and auto mTLS chose plaintext for the whole cluster ({cause}), but the endpoint only accepts mTLS (STRICT)",
                    req.to
                ),
                "inject every endpoint of the service (or drop loadBalancer.simple PASSTHROUGH so auto mTLS decides per endpoint), or set the DestinationRule's tls.mode to ISTIO_MUTUAL if every endpoint runs a sidecar",
            )
        }
        FindingCode::DestinationRuleTlsDisable if traced(ctx, "client-tls/credential-name") => (
            format!(
                "a DestinationRule sets tls SIMPLE/MUTUAL with credentialName towards {} but has no workloadSelector: a sidecar ignores such a rule's TLS and sends plaintext, which the STRICT server rejects",
                req.to
            ),
            "delete the DestinationRule's tls block so auto mTLS applies; to originate TLS with a credential from a sidecar, give the rule a workloadSelector",
        ),
        FindingCode::PlaintextToStrict if traced(ctx, "client-tls/not-intercepted") => (
            format!(
                "{}'s sidecar does not capture this connection (its traffic.sidecar.istio.io outbound annotations), so the application sends plaintext itself, but {} only accepts mTLS (STRICT) on the target port",
                req.from, req.to
            ),
            "drop the source's excludeOutboundPorts / excludeOutboundIPRanges (or widen includeOutboundIPRanges) so its sidecar captures the connection, then restart it",
        ),
        FindingCode::MtlsToNonMeshWorkload if endpoint_port_bypassed(ctx) => (
            format!(
                "the client sends ISTIO_MUTUAL to {} (its endpoints run a sidecar, so auto mTLS or a rule chose mTLS), but the endpoint's sidecar does not capture the target port (traffic.sidecar.istio.io inbound annotations): the plaintext application receives the TLS handshake",
                req.to
            ),
            "let the destination's sidecar capture the port (drop it from excludeInboundPorts, or add it to includeInboundPorts), or set the DestinationRule's tls.mode to DISABLE for that port",
        ),
        FindingCode::PlaintextToStrict => (
            format!(
                "{} has no sidecar and sends plaintext, but {} only accepts mTLS (STRICT) on the target port",
                req.from, req.to
            ),
            "inject a sidecar into the source (namespace label istio-injection=enabled, then restart it); during a migration, a port-level PERMISSIVE PeerAuthentication on the destination",
        ),
        FindingCode::DestinationRuleTlsDisable => (
            format!(
                "a DestinationRule sets tls.mode DISABLE towards {}, whose sidecar requires mTLS (STRICT): the plaintext connection finds no filter chain",
                req.to
            ),
            "set the DestinationRule's tls.mode to ISTIO_MUTUAL, or delete its tls block so auto mTLS applies",
        ),
        FindingCode::DestinationRuleTlsSimple | FindingCode::DestinationRuleTlsMutualExternal => {
            let mode = if code == FindingCode::DestinationRuleTlsSimple {
                "SIMPLE"
            } else {
                "MUTUAL"
            };
            let why = match (ctx.ev.outcome.tls_error.as_deref(), mode) {
                (Some(r @ "CERTIFICATE_VERIFY_FAILED"), _) => format!(
                    "the client rejects the server's mesh certificate ({r}): {}",
                    p.map_or("", |p| server_rejected_because(ctx, p))
                ),
                (Some(r), "SIMPLE") => format!(
                    "the client sends no certificate, and the server, which requires a mesh client certificate (STRICT), refuses the handshake ({r})"
                ),
                (Some(r), _) => format!(
                    "the client presents a certificate the mesh CA did not issue, and the server, which requires a mesh client certificate (STRICT), refuses it ({r})"
                ),
                (None, _) => observed_tls(ctx),
            };
            (
                format!(
                    "a DestinationRule sets tls.mode {mode} towards {}: {why}",
                    req.to
                ),
                if mode == "SIMPLE" {
                    "set the DestinationRule's tls.mode to ISTIO_MUTUAL (or delete the tls block)"
                } else {
                    "set the DestinationRule's tls.mode to ISTIO_MUTUAL so the sidecar's mesh certificate is used"
                },
            )
        }
        FindingCode::MtlsToNonMeshWorkload => (
            format!(
                "the client sends ISTIO_MUTUAL to {}, whose endpoints run no sidecar (a plaintext application, or a server outside the mesh without a mesh certificate): {}",
                req.to,
                observed_tls(ctx)
            ),
            "delete the DestinationRule's tls block (auto mTLS sends plaintext to non-mesh endpoints), or inject the destination",
        ),
        FindingCode::MtlsToDisabledServer => {
            let server = match p.and_then(|p| p.server_mode) {
                None => "whose endpoint has no sidecar on the target port (a plaintext application)"
                    .to_string(),
                Some(MtlsMode::Disable) => {
                    "whose sidecar's mode on the target port is DISABLE, a plaintext-only listener"
                        .to_string()
                }
                Some(mode) => format!(
                    "whose sidecar's mode on the target port is {}, a listener that terminates only Istio mTLS and takes other TLS for plaintext",
                    mode.as_str()
                ),
            };
            (
                format!(
                    "the client sends {} TLS to {}, {server}: {}",
                    p.map_or("TLS", wire_mode),
                    req.to,
                    observed_tls(ctx)
                ),
                "set the DestinationRule's tls.mode to ISTIO_MUTUAL towards a mesh workload (or delete its tls block so auto mTLS decides), or make the server accept it",
            )
        }
        FindingCode::ServerIdentityMismatch => (
            format!(
                "the server of {} presents a certificate whose SANs the client does not expect (DestinationRule subjectAltNames, the request's host under auto SAN validation, or the service's pods run under another service account): {}",
                req.to,
                observed_tls(ctx)
            ),
            "fix the pods' serviceAccountName, or the DestinationRule's subjectAltNames",
        ),
        // From the prediction only for TLS originated to a server outside the mesh; a mesh
        // peer's untrusted chain is `certs.rs`'s, read from the proxies' certificates.
        FindingCode::UntrustedPeerCertificate => (
            format!(
                "the client verifies the certificate of {}, a server outside the mesh, against \
                 the mesh root (the DestinationRule's caCertificates names the mesh root file), \
                 which did not issue it: {}",
                req.to,
                observed_tls(ctx)
            ),
            "remove caCertificates (the system roots then verify a public server), or name the \
             CA that issued the server's certificate",
        ),
        FindingCode::OutsideSidecarEgressScope => (
            egress_scope_message(ctx),
            "add the destination's host to the Sidecar's egress hosts (`NAMESPACE/FQDN`, or \
             `NAMESPACE/*`), so the client sidecar gets its cluster and auto mTLS",
        ),
        FindingCode::NoHealthyUpstream if selector_less(ctx) => (
            format!(
                "{} has no selector: its endpoints (if any) come from Endpoints objects managed \
                 outside Kubernetes' selector, which meshsim does not read, so it answers as a \
                 cluster with no endpoints would",
                req.to
            ),
            "check the Service's Endpoints/EndpointSlices on the cluster; meshsim cannot tell \
             whether they exist",
        ),
        FindingCode::NoHealthyUpstream => (
            format!("{} has no ready endpoints", req.to),
            "scale the workload up, or fix the Service's selector / the DestinationRule subset's labels to match the pods",
        ),
        _ => (format!("{code} explains the outcome"), "see failure-modes.md"),
    }
}

/// Why the destination is outside the client's egress scope, from the Sidecar that applies and
/// the cluster the client's access log names (`PassthroughCluster`, `BlackHoleCluster`, or the
/// `block_all` route).
fn egress_scope_message(ctx: &Ctx<'_>) -> String {
    let res = &ctx.ev.resources;
    let req = &ctx.ev.request;
    let sidecar = res
        .find_workload(&req.from)
        .ok()
        .and_then(|w| sidecar_for(res, w));
    let which = sidecar.map_or_else(
        || "its Sidecar".to_string(),
        |s| format!("Sidecar {}/{}", s.meta.namespace, s.meta.name),
    );
    let logged = ctx.ev.outcome.client_log.as_deref().and_then(|l| {
        ["PassthroughCluster", "BlackHoleCluster", "block_all"]
            .into_iter()
            .find(|c| l.split_whitespace().any(|w| w == *c))
    });
    let went = match logged {
        Some("PassthroughCluster") if ctx.ev.outcome.details.contains("delayed_connect_error") => {
            "its access log shows the request sent to PassthroughCluster (outboundTrafficPolicy \
             ALLOW_ANY), which dials the Service's ClusterIP itself, and the connection was \
             refused (kube-proxy rejects connections to a Service without endpoints)"
        }
        Some("PassthroughCluster") => {
            "its access log shows the request sent to PassthroughCluster (outboundTrafficPolicy \
             ALLOW_ANY): plaintext, with no DestinationRule or auto mTLS, which the STRICT \
             destination refuses"
        }
        Some("BlackHoleCluster") => {
            "its access log shows the connection sent to BlackHoleCluster (outboundTrafficPolicy \
             REGISTRY_ONLY), which has no host"
        }
        Some(_) => {
            "its access log shows the block_all route (outboundTrafficPolicy REGISTRY_ONLY), \
             which answers 502 itself"
        }
        None => "its sidecar has no listener, route or cluster for it",
    };
    format!(
        "{} is outside {}'s egress scope: {which} imports no host matching it, and {went}",
        req.to, req.from
    )
}
