//! The client sidecar's TLS choice towards one endpoint: the DestinationRule's `tls` as written
//! (ISTIO_MUTUAL filled in), else auto mTLS. Follows `buildUpstreamTLSSettings` and
//! `buildIstioMutualTLS` (`pilot/pkg/networking/core/cluster_tls.go`),
//! `BestEffortInferServiceMTLSMode` (`pilot/pkg/model/push_context.go`) and the per-endpoint
//! `checkMtlsEnabled` (`pilot/pkg/xds/endpoints/mtls_checker.go`).

#[cfg(test)]
mod tests;

use crate::model::{ClientTls, ClientTlsMode, ConnectionPool, MtlsMode, Resources, Workload};
use crate::policy::decision::Decision;
use crate::policy::destination_rule::select_destination_rule_explained;
use crate::policy::peer_authn::{effective_peer_authentication, namespace_mtls_mode_explained};
use crate::policy::routing::{Destination, Endpoint};
use crate::vocab::TrustDomains;

/// What the client sidecar does towards one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientTlsChoice {
    /// The TLS mode used on the wire (DISABLE means plaintext).
    pub mode: ClientTlsMode,
    /// True when auto mTLS chose the mode (no DestinationRule `tls` applied).
    pub auto_mtls: bool,
    /// The TLS settings in force (ISTIO_MUTUAL with SANs and SNI filled in); `None` when auto
    /// mTLS chose plaintext.
    pub tls: Option<ClientTls>,
    /// URI SANs the server certificate must carry (exact match, any of them).
    pub expected_sans: Vec<String>,
    /// SNI sent in the ClientHello; empty when none.
    pub sni: String,
    /// Connection-pool limits of the applied traffic policy.
    pub connection_pool: Option<ConnectionPool>,
    /// Which DestinationRule, policies and endpoint facts decided.
    pub decided_by: Vec<Decision>,
}

/// `spiffe://<td>/ns/<ns>/sa/<sa>` for every trust domain of the mesh (`spiffe.ExpandWithTrustDomains`).
pub fn spiffe_ids(res: &Resources, namespace: &str, service_account: &str) -> Vec<String> {
    let mc = &res.mesh_config;
    TrustDomains::new(&mc.trust_domain, &mc.trust_domain_aliases)
        .identities(namespace, service_account)
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// The SANs a client expects from a service: its endpoints' service accounts in every trust
/// domain, sorted and de-duplicated.
fn service_sans(res: &Resources, dest: &Destination) -> Vec<String> {
    let mut sans: Vec<String> = dest
        .endpoints
        .iter()
        .flat_map(|e| spiffe_ids(res, &e.namespace, &e.service_account))
        .collect();
    sans.sort();
    sans.dedup();
    sans
}

/// Istio's default ISTIO_MUTUAL SNI, `outbound_.<service port>_.<subset>_.<fqdn>`: the cluster
/// name with `_` separators, so that SNI-based filter chains (and gateways' `AUTO_PASSTHROUGH`)
/// can route on it (`pilot/pkg/model/service.go` `BuildDNSSrvSubsetKey`, the DNS-SRV form of
/// `BuildSubsetKey`; set in `pilot/pkg/networking/core/cluster_tls.go`). The one home of the
/// rule: the policy layer chooses it and the proxy sends what it is given.
pub fn istio_sni(service_port: u16, subset: Option<&str>, fqdn: &str) -> String {
    format!("outbound_.{service_port}_.{}_.{fqdn}", subset.unwrap_or(""))
}

fn default_sni(dest: &Destination, subset: Option<&str>) -> String {
    istio_sni(dest.port.port, subset, &dest.fqdn)
}

/// The client TLS choice towards one endpoint of `dest`, without a subset.
pub fn client_tls_for_endpoint(
    res: &Resources,
    client: &Workload,
    dest: &Destination,
    endpoint: &Endpoint,
) -> ClientTlsChoice {
    client_tls_for_subset(res, client, dest, endpoint, None)
}

/// The client TLS choice towards one endpoint of `dest` when routed to `subset`.
pub fn client_tls_for_subset(
    res: &Resources,
    client: &Workload,
    dest: &Destination,
    endpoint: &Endpoint,
    subset: Option<&str>,
) -> ClientTlsChoice {
    let mut decided_by = Vec::new();
    let plaintext = |decided_by: Vec<Decision>, auto_mtls: bool, pool: Option<ConnectionPool>| {
        ClientTlsChoice {
            mode: ClientTlsMode::Disable,
            auto_mtls,
            tls: None,
            expected_sans: Vec::new(),
            sni: String::new(),
            connection_pool: pool,
            decided_by,
        }
    };
    if !res.has_sidecar(client) {
        decided_by.push(Decision::default(
            "client-tls/no-sidecar",
            format!(
                "{}/{} has no sidecar: its bytes leave as the application wrote them (plaintext)",
                client.meta.namespace, client.meta.name
            ),
        ));
        return plaintext(decided_by, false, None);
    }
    let port = dest.port.port;
    let (selected, why) = select_destination_rule_explained(res, client, dest);
    decided_by.extend(why);
    let mut policy = None;
    if let Some(sel) = &selected {
        let (tp, why) = sel.traffic_policy_for(port, subset);
        decided_by.extend(why);
        policy = tp;
    }
    let pool = policy.as_ref().and_then(|p| p.connection_pool.clone());
    let rule_ref = selected.as_ref().and_then(|s| s.rules.first().cloned());

    if let Some(tls) = policy.as_ref().and_then(|p| p.tls.clone()) {
        let mut tls = tls;
        let mode = tls.mode;
        if mode == ClientTlsMode::IstioMutual {
            // Client-provided SNI and SANs win; otherwise Istio fills them in.
            if tls.sni.as_deref().is_none_or(str::is_empty) {
                tls.sni = Some(default_sni(dest, subset));
            }
            if tls.subject_alt_names.is_empty() {
                tls.subject_alt_names = service_sans(res, dest);
            }
        }
        decided_by.push(Decision {
            resource: rule_ref,
            step: "client-tls/destination-rule",
            reason: format!(
                "DestinationRule tls.mode {} is used as written{}",
                mode.as_str(),
                if mode == ClientTlsMode::IstioMutual {
                    " (SNI and SANs filled in); auto mTLS does not apply"
                } else {
                    "; auto mTLS does not apply"
                }
            ),
        });
        return ClientTlsChoice {
            mode,
            auto_mtls: false,
            expected_sans: tls.subject_alt_names.clone(),
            sni: tls.sni.clone().unwrap_or_default(),
            tls: Some(tls),
            connection_pool: pool,
            decided_by,
        };
    }

    if !res.mesh_config.enable_auto_mtls {
        decided_by.push(Decision::default(
            "client-tls/auto-mtls",
            "enableAutoMtls is false and no DestinationRule sets tls: plaintext",
        ));
        return plaintext(decided_by, false, pool);
    }

    // BestEffortInferServiceMTLSMode: headless services are DISABLE unless every endpoint has a
    // sidecar; otherwise the namespace (or mesh) mode, falling back to PERMISSIVE.
    let service_mode = if dest.headless
        && (dest.endpoints.is_empty() || dest.endpoints.iter().any(|e| !e.has_sidecar))
    {
        decided_by.push(Decision::by(
            dest.service.clone(),
            "client-tls/service-mode",
            "headless service with no endpoints or an endpoint without sidecar: DISABLE",
        ));
        MtlsMode::Disable
    } else {
        let (mode, why) = namespace_mtls_mode_explained(res, dest.namespace());
        decided_by.extend(why);
        mode.unwrap_or(MtlsMode::Permissive)
    };
    if service_mode == MtlsMode::Disable {
        decided_by.push(Decision::default(
            "client-tls/auto-mtls",
            format!(
                "the service's namespace/mesh mode is DISABLE: plaintext for the whole cluster {}",
                dest.fqdn
            ),
        ));
        return plaintext(decided_by, true, pool);
    }

    // The cluster now has a tlsMode-istio transport-socket match; EDS decides per endpoint.
    let endpoint_name = format!("{}/{}", endpoint.namespace, endpoint.workload);
    let eds_dr_mode = selected
        .as_ref()
        .and_then(|s| s.endpoint_tls_mode(port, subset));
    let mtls = if let Some(dr_mode) = eds_dr_mode {
        decided_by.push(Decision {
            resource: rule_ref,
            step: "client-tls/endpoint",
            reason: format!(
                "EDS reads the DestinationRule's fallback tls.mode {} for endpoint {endpoint_name}",
                dr_mode.as_str()
            ),
        });
        dr_mode == ClientTlsMode::IstioMutual
    } else if !endpoint.has_sidecar {
        decided_by.push(Decision::default(
            "client-tls/endpoint",
            format!("endpoint {endpoint_name} has no sidecar: plaintext"),
        ));
        false
    } else {
        let workload = res
            .workloads
            .iter()
            .find(|w| w.meta.namespace == endpoint.namespace && w.meta.name == endpoint.workload);
        let pa_mode = workload.map(|w| {
            let pa = effective_peer_authentication(res, w);
            let m = pa.mode_for_port(u32::from(endpoint.target_port));
            decided_by.extend(pa.decided_by);
            m
        });
        if pa_mode == Some(MtlsMode::Disable) {
            decided_by.push(Decision::default(
                "client-tls/endpoint",
                format!(
                    "endpoint {endpoint_name}'s own PeerAuthentication is DISABLE on target port {}: plaintext",
                    endpoint.target_port
                ),
            ));
            false
        } else {
            decided_by.push(Decision::default(
                "client-tls/endpoint",
                format!(
                    "endpoint {endpoint_name} has a sidecar and its PeerAuthentication on target \
                     port {} is not DISABLE: ISTIO_MUTUAL",
                    endpoint.target_port
                ),
            ));
            true
        }
    };
    if !mtls {
        return plaintext(decided_by, true, pool);
    }
    let sni = default_sni(dest, subset);
    let sans = service_sans(res, dest);
    ClientTlsChoice {
        mode: ClientTlsMode::IstioMutual,
        auto_mtls: true,
        tls: Some(ClientTls {
            mode: ClientTlsMode::IstioMutual,
            subject_alt_names: sans.clone(),
            sni: Some(sni.clone()),
            ..ClientTls::default()
        }),
        expected_sans: sans,
        sni,
        connection_pool: pool,
        decided_by,
    }
}
