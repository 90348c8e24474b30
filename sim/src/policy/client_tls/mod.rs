//! The client sidecar's TLS choice towards one endpoint: the DestinationRule's `tls` as written
//! (ISTIO_MUTUAL filled in), else auto mTLS. Follows `buildUpstreamTLSSettings`,
//! `buildUpstreamClusterTLSContext`, `applyUpstreamTLSSettings`, `setAutoSniAndAutoSanValidation`
//! and `buildIstioMutualTLS` (`pilot/pkg/networking/core/cluster_tls.go`), `applyTrafficPolicy` /
//! `applyLoadBalancer` (`cluster_traffic_policy.go`), `BestEffortInferServiceMTLSMode`
//! (`pilot/pkg/model/push_context.go`) and the per-endpoint `checkMtlsEnabled`
//! (`pilot/pkg/xds/endpoints/mtls_checker.go`), Istio 1.22–1.28 (differences in
//! [`ClientTlsRelease`]).

#[cfg(test)]
mod tests;

use std::net::IpAddr;

use crate::model::{
    ClientTls, ClientTlsMode, ConnectionPool, LoadBalancerSettings, MtlsMode, Resources,
    TrafficPolicy, Workload,
};
use crate::policy::decision::Decision;
use crate::policy::destination_rule::select_destination_rule_explained;
use crate::policy::interception::outbound_bypass;
use crate::policy::peer_authn::{effective_peer_authentication, namespace_mtls_mode_explained};
use crate::policy::routing::{Destination, Endpoint};
use crate::request::RequestSpec;
use crate::vocab::{OutboundChain, TrustDomains};

/// Files under these paths are the mesh's own root (the `istio-ca-root-cert` ConfigMap mounted
/// at `/var/run/secrets/istio`, or the legacy `/etc/certs` mount), so `caCertificates` naming one
/// of them verifies against the mesh bundle.
pub(crate) const MESH_ROOT_PATHS: &[&str] = &[
    "/var/run/secrets/istio/root-cert.pem",
    "/etc/certs/root-cert.pem",
];

/// The `credentialName` prefix a sidecar may read without privilege (`KubernetesConfigMapTypeURI`
/// in `pilot/pkg/model/credentials/resource.go`).
pub(crate) const CONFIG_MAP_CREDENTIAL_PREFIX: &str = "configmap://";

/// Which Istio release's client TLS rules to follow. The releases differ only in which
/// `credentialName` a sidecar ignores (`buildUpstreamClusterTLSContext` in `cluster_tls.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientTlsRelease {
    /// Istio 1.22 to 1.25: any non-empty `credentialName` on a SIMPLE/MUTUAL rule without a
    /// `workloadSelector` leaves a sidecar's cluster without TLS.
    Istio1_22To1_25,
    /// Istio 1.26 and later: the same, except a `configmap://` credential (a CA bundle any proxy
    /// may read, `filterAuthorizedResources`) is honoured.
    #[default]
    Istio1_26On,
}

impl From<crate::vocab::IstioRelease> for ClientTlsRelease {
    /// `configmap://` credentials are honoured from 1.26 (`filterAuthorizedResources`).
    fn from(release: crate::vocab::IstioRelease) -> Self {
        if release >= crate::vocab::IstioRelease::V1_26 {
            ClientTlsRelease::Istio1_26On
        } else {
            ClientTlsRelease::Istio1_22To1_25
        }
    }
}

/// What decided the client's TLS towards one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientTlsSource {
    /// The client has no sidecar: the application's bytes leave as written.
    NoSidecar,
    /// The client's sidecar does not capture this connection (`traffic.sidecar.istio.io/*`
    /// outbound annotations): the application's bytes leave as written.
    NotIntercepted,
    /// The DestinationRule's `tls`, as written (ISTIO_MUTUAL filled in).
    DestinationRule,
    /// A SIMPLE/MUTUAL rule with a `credentialName` the sidecar does not load: the cluster gets
    /// no transport socket at all, so the client sends plaintext.
    CredentialNameIgnored,
    /// `enableAutoMtls: false` and no rule sets `tls`: plaintext.
    AutoMtlsOff,
    /// The destination is a `MESH_EXTERNAL` ServiceEntry host and no rule sets `tls`: auto mTLS
    /// never fills in settings for it (`buildUpstreamTLSSettings`), so plaintext.
    MeshExternal,
    /// Auto mTLS, for the whole cluster: the service's inferred mode is DISABLE, or the cluster
    /// is `ORIGINAL_DST` and keeps one ISTIO_MUTUAL transport socket for every endpoint.
    AutoMtlsCluster,
    /// Auto mTLS, per endpoint: the cluster's `tlsMode` transport-socket match and the
    /// endpoint's metadata from EDS.
    AutoMtlsEndpoint,
}

/// Which roots a SIMPLE/MUTUAL upstream verifies the server certificate against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerRoots {
    /// `insecureSkipVerify: true`: an empty validation context, nothing is verified.
    Unverified,
    /// `caCertificates` names the mesh root file (`MESH_ROOT_PATHS`).
    MeshBundle,
    /// Any other roots: the OS bundle (`system`, what an empty `caCertificates` means in every
    /// release from 1.22: `VERIFY_CERTIFICATE_AT_CLIENT` in 1.22/1.23, unconditional after), a
    /// file or a credential. None of them issued the mesh's certificates.
    Outside,
}

impl ServerRoots {
    /// The roots a rule's `tls` verifies the server with (`constructUpstreamTLS`).
    pub fn of(tls: &ClientTls) -> ServerRoots {
        if tls.insecure_skip_verify == Some(true) {
            return ServerRoots::Unverified;
        }
        match tls.ca_certificates.as_deref() {
            Some(p) if MESH_ROOT_PATHS.contains(&p) => ServerRoots::MeshBundle,
            _ => ServerRoots::Outside,
        }
    }
}

/// The names one request's upstream TLS uses: the SNI it sends and the SANs the server
/// certificate must carry (any one; empty: no SAN check).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestTlsNames {
    /// SNI sent in the ClientHello.
    pub sni: Option<String>,
    /// SANs the server certificate must carry.
    pub sans: Vec<String>,
}

/// The host Envoy's router reads for `auto_sni` and `auto_san_validation`: the request's
/// `:authority` without its port (`Http::Utility::parseAuthority` in the router's
/// `decodeHeaders`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterHost {
    /// The host part of the authority.
    pub host: String,
    /// Whether it is an IP address (no SNI is set for one; the SAN override still is).
    pub is_ip: bool,
}

impl RouterHost {
    /// Parses an authority: `host`, `host:port`, `[v6]` or `[v6]:port`.
    pub fn parse(authority: &str) -> RouterHost {
        let host = if let Some(rest) = authority.strip_prefix('[') {
            rest.split_once(']').map_or(rest, |(h, _)| h)
        } else {
            match authority.rsplit_once(':') {
                Some((h, port)) if !h.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
                    h
                }
                _ => authority,
            }
        };
        RouterHost {
            host: host.to_string(),
            is_ip: host.parse::<IpAddr>().is_ok(),
        }
    }

    /// The router host of `req` towards `dest`, or `None` when the client sidecar does not
    /// route it through its HTTP connection manager: bytes on a TCP port (the outbound listener
    /// runs `tcp_proxy`, which never reads `upstream_http_protocol_options`) or bytes that do not
    /// sniff as HTTP (the passthrough chain) — `OutboundChain::select` decides.
    pub fn of_request(dest: &Destination, req: &RequestSpec) -> Option<RouterHost> {
        let port = dest.port.istio_protocol();
        let sniffed_http = req.sniffs_as_http(req.protocol_to(port));
        (OutboundChain::select(port, sniffed_http) == OutboundChain::Http)
            .then(|| RouterHost::parse(&req.authority()))
    }
}

/// What the client sidecar does towards one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientTlsChoice {
    /// The TLS mode used on the wire (DISABLE means plaintext).
    pub mode: ClientTlsMode,
    /// What decided it.
    pub source: ClientTlsSource,
    /// The TLS settings in force (ISTIO_MUTUAL with SANs and SNI filled in); `None` for
    /// plaintext.
    pub tls: Option<ClientTls>,
    /// URI SANs the server certificate must carry (exact match, any of them): the ISTIO_MUTUAL
    /// SANs, or a SIMPLE/MUTUAL rule's `subjectAltNames`.
    pub expected_sans: Vec<String>,
    /// SNI sent in the ClientHello; empty when none is configured.
    pub sni: String,
    /// SIMPLE/MUTUAL without `sni`: the router sets the SNI from the request's host
    /// (`auto_sni`).
    pub auto_sni: bool,
    /// SIMPLE/MUTUAL without `sni`, `subjectAltNames` or `insecureSkipVerify`: the router makes
    /// the server certificate carry the request's host as a SAN (`auto_san_validation`).
    pub auto_san_validation: bool,
    /// Connection-pool limits of the applied traffic policy.
    pub connection_pool: Option<ConnectionPool>,
    /// Which DestinationRule, policies and endpoint facts decided.
    pub decided_by: Vec<Decision>,
}

impl ClientTlsChoice {
    /// Whether the client's sidecar handles the connection (it has one and captures it).
    pub fn through_sidecar(&self) -> bool {
        !matches!(
            self.source,
            ClientTlsSource::NoSidecar | ClientTlsSource::NotIntercepted
        )
    }

    /// True when auto mTLS chose the mode (no DestinationRule `tls` applied).
    pub fn auto_mtls(&self) -> bool {
        matches!(
            self.source,
            ClientTlsSource::AutoMtlsCluster | ClientTlsSource::AutoMtlsEndpoint
        )
    }

    /// The roots a SIMPLE/MUTUAL upstream verifies the server with; `None` for plaintext and
    /// ISTIO_MUTUAL (the mesh bundle from SDS).
    pub fn server_roots(&self) -> Option<ServerRoots> {
        match self.mode {
            ClientTlsMode::Simple | ClientTlsMode::Mutual => self.tls.as_ref().map(ServerRoots::of),
            ClientTlsMode::Disable | ClientTlsMode::IstioMutual => None,
        }
    }

    /// The SNI and SANs of one request, `host` being what the router reads
    /// ([`RouterHost::of_request`]; `None` through `tcp_proxy`). Configured values win; without
    /// them `auto_sni` sends the host as SNI (not for an IP) and `auto_san_validation` requires
    /// it as a SAN (Envoy's router, `decodeHeaders`).
    pub fn request_names(&self, host: Option<&RouterHost>) -> RequestTlsNames {
        match self.mode {
            ClientTlsMode::Disable => RequestTlsNames::default(),
            ClientTlsMode::IstioMutual => RequestTlsNames {
                sni: Some(self.sni.clone()),
                sans: self.expected_sans.clone(),
            },
            ClientTlsMode::Simple | ClientTlsMode::Mutual => {
                let sni = if !self.sni.is_empty() {
                    Some(self.sni.clone())
                } else {
                    host.filter(|h| self.auto_sni && !h.is_ip)
                        .map(|h| h.host.clone())
                };
                let sans = match host {
                    Some(h) if self.auto_san_validation => vec![h.host.clone()],
                    _ => self.expected_sans.clone(),
                };
                RequestTlsNames { sni, sans }
            }
        }
    }
}

/// Whether a sidecar drops a SIMPLE/MUTUAL rule's TLS because of its `credentialName`: the
/// "hack to avoid egress sds cluster config generation for sidecar" in
/// `buildUpstreamClusterTLSContext` (`cluster_tls.go`). Only a rule with a `workloadSelector`
/// (`isDrWithSelector`) may hand a sidecar a credential; otherwise the cluster gets no TLS
/// context at all. 1.26+ exempts `configmap://` credentials.
pub(crate) fn sidecar_ignores_credential_name(
    tls: &ClientTls,
    rule_has_selector: bool,
    release: ClientTlsRelease,
) -> bool {
    let Some(name) = tls.credential_name.as_deref().filter(|n| !n.is_empty()) else {
        return false;
    };
    let privileged = match release {
        ClientTlsRelease::Istio1_22To1_25 => true,
        ClientTlsRelease::Istio1_26On => !name.starts_with(CONFIG_MAP_CREDENTIAL_PREFIX),
    };
    privileged
        && !rule_has_selector
        && matches!(tls.mode, ClientTlsMode::Simple | ClientTlsMode::Mutual)
}

/// `spiffe://<td>/ns/<ns>/sa/<sa>` for every trust domain of the mesh (`spiffe.ExpandWithTrustDomains`).
pub(crate) fn spiffe_ids(res: &Resources, namespace: &str, service_account: &str) -> Vec<String> {
    let mc = &res.mesh_config;
    TrustDomains::new(&mc.trust_domain, &mc.trust_domain_aliases)
        .identities(namespace, service_account)
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// The SANs a client expects from a service: its endpoints' service accounts in every trust
/// domain, with a ServiceEntry's `subjectAltNames`, sorted and de-duplicated
/// (`PushContext.initServiceAccounts` in `pilot/pkg/model/push_context.go`, Istio 1.22–1.28).
fn service_sans(res: &Resources, dest: &Destination) -> Vec<String> {
    let mut sans: Vec<String> = dest
        .endpoints
        .iter()
        .filter(|e| !e.service_account.is_empty())
        .flat_map(|e| spiffe_ids(res, &e.namespace, &e.service_account))
        .chain(dest.subject_alt_names.iter().cloned())
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

/// The service port and FQDN an [`istio_sni`] names, as the destination's access log shows it
/// in `%REQUESTED_SERVER_NAME%`; `None` for any other server name.
pub fn parse_istio_sni(sni: &str) -> Option<(u16, &str)> {
    let rest = sni.strip_prefix("outbound_.")?;
    let (port, rest) = rest.split_once("_.")?;
    let (_subset, fqdn) = rest.split_once("_.")?;
    Some((port.parse().ok()?, fqdn))
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
    client_tls_for_release(
        res,
        client,
        dest,
        endpoint,
        subset,
        ClientTlsRelease::from(res.mesh_config.release()),
    )
}

fn is_passthrough(policy: Option<&TrafficPolicy>) -> bool {
    policy
        .and_then(|p| p.load_balancer.as_ref())
        .is_some_and(LoadBalancerSettings::is_passthrough)
}

/// [`client_tls_for_subset`] under one release's rules ([`ClientTlsRelease`]).
pub fn client_tls_for_release(
    res: &Resources,
    client: &Workload,
    dest: &Destination,
    endpoint: &Endpoint,
    subset: Option<&str>,
    release: ClientTlsRelease,
) -> ClientTlsChoice {
    let mut decided_by = Vec::new();
    let plaintext =
        |decided_by: Vec<Decision>, source: ClientTlsSource, pool: Option<ConnectionPool>| {
            ClientTlsChoice {
                mode: ClientTlsMode::Disable,
                source,
                tls: None,
                expected_sans: Vec::new(),
                sni: String::new(),
                auto_sni: false,
                auto_san_validation: false,
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
        return plaintext(decided_by, ClientTlsSource::NoSidecar, None);
    }
    if let Some(why) = outbound_bypass(res, client, dest, Some(endpoint)) {
        decided_by.push(why);
        return plaintext(decided_by, ClientTlsSource::NotIntercepted, None);
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

    // applyLoadBalancer runs before the TLS settings: a headless Service (Passthrough
    // resolution, `convertResolution`) or `loadBalancer.simple: PASSTHROUGH` in the policy in
    // force makes the cluster ORIGINAL_DST, which gets no per-endpoint transport-socket match.
    let lb_passthrough = is_passthrough(policy.as_ref());
    let original_dst = dest.headless || lb_passthrough;
    if original_dst {
        decided_by.push(Decision {
            resource: if lb_passthrough {
                rule_ref.clone()
            } else {
                Some(dest.service.clone())
            },
            step: "client-tls/original-dst",
            reason: format!(
                "{}: the cluster is ORIGINAL_DST (connections go to the address dialled, no EDS)",
                if lb_passthrough {
                    "loadBalancer.simple PASSTHROUGH"
                } else {
                    "headless service (clusterIP: None)"
                }
            ),
        });
    }

    if let Some(tls) = policy.as_ref().and_then(|p| p.tls.clone()) {
        let rule_has_selector = selected
            .as_ref()
            .is_some_and(|s| s.spec.workload_selector.is_some());
        if sidecar_ignores_credential_name(&tls, rule_has_selector, release) {
            decided_by.push(Decision {
                resource: rule_ref,
                step: "client-tls/credential-name",
                reason: format!(
                    "tls.mode {} with credentialName {:?} and no workloadSelector: a sidecar does \
                     not load the credential and builds no TLS context, so the cluster sends \
                     plaintext (auto mTLS does not apply either)",
                    tls.mode.as_str(),
                    tls.credential_name.as_deref().unwrap_or_default()
                ),
            });
            return plaintext(decided_by, ClientTlsSource::CredentialNameIgnored, pool);
        }
        let mut tls = tls;
        let mode = tls.mode;
        let mut auto_sni = false;
        let mut auto_san_validation = false;
        if mode == ClientTlsMode::IstioMutual {
            // Client-provided SNI and SANs win; otherwise Istio fills them in.
            if tls.sni.as_deref().is_none_or(str::is_empty) {
                tls.sni = Some(default_sni(dest, subset));
            }
            if tls.subject_alt_names.is_empty() {
                tls.subject_alt_names = service_sans(res, dest);
            }
        } else if matches!(mode, ClientTlsMode::Simple | ClientTlsMode::Mutual) {
            // setAutoSniAndAutoSanValidation (ENABLE_AUTO_SNI and VERIFY_CERTIFICATE_AT_CLIENT
            // default true in 1.22/1.23; the gate is gone later).
            auto_sni = tls.sni.as_deref().is_none_or(str::is_empty);
            auto_san_validation = auto_sni
                && tls.subject_alt_names.is_empty()
                && tls.insecure_skip_verify != Some(true);
        }
        decided_by.push(Decision {
            resource: rule_ref.clone(),
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
        if auto_sni {
            decided_by.push(Decision {
                resource: rule_ref,
                step: if auto_san_validation {
                    "client-tls/auto-san"
                } else {
                    "client-tls/auto-sni"
                },
                reason: if auto_san_validation {
                    "no sni and no subjectAltNames: HTTP requests send their host as SNI \
                     (auto_sni) and the server certificate must carry it as a SAN \
                     (auto_san_validation)"
                } else {
                    "no sni: HTTP requests send their host as SNI (auto_sni)"
                }
                .to_string(),
            });
        }
        return ClientTlsChoice {
            mode,
            source: ClientTlsSource::DestinationRule,
            expected_sans: tls.subject_alt_names.clone(),
            sni: tls.sni.clone().unwrap_or_default(),
            auto_sni,
            auto_san_validation,
            tls: Some(tls),
            connection_pool: pool,
            decided_by,
        };
    }

    // buildUpstreamTLSSettings (`cluster_tls.go`, 1.22–1.28): `if meshExternal ||
    // !autoMTLSEnabled || ...` returns nil settings: no auto mTLS towards a MESH_EXTERNAL host.
    if dest.mesh_external {
        decided_by.push(Decision::by(
            dest.service.clone(),
            "client-tls/mesh-external",
            format!(
                "{} is a MESH_EXTERNAL ServiceEntry host and no DestinationRule sets tls: auto \
                 mTLS does not apply, plaintext",
                dest.fqdn
            ),
        ));
        return plaintext(decided_by, ClientTlsSource::MeshExternal, pool);
    }
    if !res.mesh_config.enable_auto_mtls {
        decided_by.push(Decision::default(
            "client-tls/auto-mtls",
            "enableAutoMtls is false and no DestinationRule sets tls: plaintext",
        ));
        return plaintext(decided_by, ClientTlsSource::AutoMtlsOff, pool);
    }

    // BestEffortInferServiceMTLSMode reads the rule's top-level policy (a subset cluster: the
    // subset's own policy): for passthrough traffic (a headless service, or PASSTHROUGH there)
    // the mode is DISABLE unless every endpoint has a sidecar; otherwise the namespace (or mesh)
    // mode, falling back to PERMISSIVE.
    let infer_policy = selected.as_ref().and_then(|s| match subset {
        None => s.spec.traffic_policy.as_ref(),
        Some(name) => s
            .spec
            .subsets
            .iter()
            .find(|x| x.name == name)
            .and_then(|x| x.traffic_policy.as_ref()),
    });
    let passthrough_traffic = dest.headless || is_passthrough(infer_policy);
    let service_mode = if passthrough_traffic
        && (dest.endpoints.is_empty() || dest.endpoints.iter().any(|e| !e.has_sidecar))
    {
        decided_by.push(Decision {
            resource: if dest.headless {
                Some(dest.service.clone())
            } else {
                rule_ref.clone()
            },
            step: "client-tls/service-mode",
            reason: format!(
                "{} with no endpoints or an endpoint without sidecar: DISABLE",
                if dest.headless {
                    "headless service"
                } else {
                    "loadBalancer.simple PASSTHROUGH"
                }
            ),
        });
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
                "the service's inferred mode is DISABLE: plaintext for the whole cluster {}",
                dest.fqdn
            ),
        ));
        return plaintext(decided_by, ClientTlsSource::AutoMtlsCluster, pool);
    }
    let istio_mutual = |decided_by: Vec<Decision>, source: ClientTlsSource| {
        let sni = default_sni(dest, subset);
        let sans = service_sans(res, dest);
        ClientTlsChoice {
            mode: ClientTlsMode::IstioMutual,
            source,
            tls: Some(ClientTls {
                mode: ClientTlsMode::IstioMutual,
                subject_alt_names: sans.clone(),
                sni: Some(sni.clone()),
                ..ClientTls::default()
            }),
            expected_sans: sans,
            sni,
            auto_sni: false,
            auto_san_validation: false,
            connection_pool: pool.clone(),
            decided_by,
        }
    };
    if original_dst {
        // applyUpstreamTLSSettings converts auto-detected ISTIO_MUTUAL into a tlsMode
        // transport-socket match only for clusters that are not ORIGINAL_DST.
        decided_by.push(Decision::default(
            "client-tls/auto-mtls",
            format!(
                "ORIGINAL_DST cluster: auto mTLS keeps one ISTIO_MUTUAL transport socket, without \
                 a per-endpoint tlsMode match, so endpoint {}/{} gets mTLS whatever its own \
                 PeerAuthentication",
                endpoint.namespace, endpoint.workload
            ),
        ));
        return istio_mutual(decided_by, ClientTlsSource::AutoMtlsCluster);
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
        return plaintext(decided_by, ClientTlsSource::AutoMtlsEndpoint, pool.clone());
    }
    istio_mutual(decided_by, ClientTlsSource::AutoMtlsEndpoint)
}
