//! Istio's `ServiceEntry` (networking.istio.io `v1`, `v1beta1`, `v1alpha3`; the spec shape is the
//! same in each), field for field as `istio/api` `networking/v1alpha3/service_entry.proto`
//! defines it, and the registry services it becomes (`convertServices` in
//! `pilot/pkg/serviceregistry/serviceentry/conversion.go`, Istio 1.22–1.28).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Meta, ServicePort, TargetPort};
use crate::vocab::{IstioProtocol, KubeProtocol};

/// `location`: whether the service is part of the mesh (`MeshExternal` in `convertServices`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServiceEntryLocation {
    /// Outside the mesh (the proto's zero value): no auto mTLS (`buildUpstreamTLSSettings`).
    #[default]
    MeshExternal,
    /// Part of the mesh: auto mTLS as for a Kubernetes Service.
    MeshInternal,
}

impl ServiceEntryLocation {
    /// Istio's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceEntryLocation::MeshExternal => "MESH_EXTERNAL",
            ServiceEntryLocation::MeshInternal => "MESH_INTERNAL",
        }
    }
}

/// `resolution`: how the proxy finds the endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, Hash)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServiceEntryResolution {
    /// The address dialled (`model.Passthrough`: an ORIGINAL_DST cluster); the proto's zero value.
    #[default]
    None,
    /// The `endpoints` (or selected pods) as given (`model.ClientSideLB`: EDS).
    Static,
    /// The endpoints' (or the host's) DNS name, every address (`model.DNSLB`: STRICT_DNS).
    Dns,
    /// The first address only (`model.DNSRoundRobinLB`: LOGICAL_DNS).
    DnsRoundRobin,
    /// Ztunnel and waypoints only (Istio 1.25+); a sidecar builds nothing for it.
    DynamicDns,
}

impl ServiceEntryResolution {
    /// Istio's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceEntryResolution::None => "NONE",
            ServiceEntryResolution::Static => "STATIC",
            ServiceEntryResolution::Dns => "DNS",
            ServiceEntryResolution::DnsRoundRobin => "DNS_ROUND_ROBIN",
            ServiceEntryResolution::DynamicDns => "DYNAMIC_DNS",
        }
    }
}

/// One `ports` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEntryPort {
    /// `number`: the port clients dial.
    #[serde(default)]
    pub number: u32,
    /// `protocol` as written (`protocol.Parse`; empty means sniffed).
    #[serde(default)]
    pub protocol: Option<String>,
    /// `name` (required; `endpoints[].ports` keys refer to it).
    #[serde(default)]
    pub name: String,
    /// `targetPort`: the endpoint port when an endpoint does not name one.
    #[serde(default)]
    pub target_port: Option<u32>,
}

/// One `endpoints` entry (a `WorkloadEntry` spec).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEntryEndpoint {
    /// `address`: an IP, a DNS name or `unix://`.
    #[serde(default)]
    pub address: String,
    /// `ports`: service port name → endpoint port.
    #[serde(default)]
    pub ports: BTreeMap<String, u32>,
    /// `labels`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `serviceAccount`: makes the endpoint mTLS-capable (`getTLSModeFromWorkloadEntry`).
    #[serde(default)]
    pub service_account: Option<String>,
    /// `network` (warned: not modelled).
    #[serde(default)]
    pub network: Option<String>,
    /// `locality` (warned: not modelled).
    #[serde(default)]
    pub locality: Option<String>,
    /// `weight` (warned: not modelled).
    #[serde(default)]
    pub weight: Option<u32>,
}

/// `workloadSelector` (`labels`, as a Sidecar's).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEntrySelector {
    /// Labels the selected pods must all carry.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// ServiceEntry spec.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEntrySpec {
    /// `hosts`: each becomes one registry service.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// `addresses`: virtual IPs or CIDRs (warned: meshsim dials hosts, not addresses).
    #[serde(default)]
    pub addresses: Vec<String>,
    /// `ports`.
    #[serde(default)]
    pub ports: Vec<ServiceEntryPort>,
    /// `location`.
    #[serde(default)]
    pub location: ServiceEntryLocation,
    /// `resolution`.
    #[serde(default)]
    pub resolution: ServiceEntryResolution,
    /// `endpoints`.
    #[serde(default)]
    pub endpoints: Vec<ServiceEntryEndpoint>,
    /// `workloadSelector`: the namespace's pods with these labels are the endpoints.
    #[serde(default)]
    pub workload_selector: Option<ServiceEntrySelector>,
    /// `exportTo`.
    #[serde(default)]
    pub export_to: Vec<String>,
    /// `subjectAltNames`: the SANs an ISTIO_MUTUAL client expects (`ServiceAccounts`).
    #[serde(default)]
    pub subject_alt_names: Vec<String>,
}

/// A ServiceEntry object.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceEntry {
    /// Metadata.
    pub meta: Meta,
    /// Spec.
    pub spec: ServiceEntrySpec,
}

impl ServiceEntry {
    /// Whether `host` (lower-case, no trailing dot) is one of the entry's hosts: exactly, or
    /// under a `*.suffix` wildcard host (`host.Name.SubsetOf`). `Some(true)` for an exact match,
    /// `Some(false)` for a wildcard one.
    pub fn host_match(&self, host: &str) -> Option<bool> {
        let mut wildcard = false;
        for h in &self.spec.hosts {
            if h.eq_ignore_ascii_case(host) {
                return Some(true);
            }
            if let Some(suffix) = h.strip_prefix('*') {
                let lower = suffix.to_ascii_lowercase();
                wildcard |= host.len() > lower.len() && host.ends_with(&lower);
            }
        }
        wildcard.then_some(false)
    }

    /// Whether the entry is visible to a client in `namespace` (`exportTo`: empty or `*`
    /// everywhere, `.` its own namespace, `~` nowhere, else the namespaces named; meshsim
    /// models MeshConfig's default `defaultServiceExportTo`, `*`).
    pub fn exported_to(&self, namespace: &str) -> bool {
        let export = &self.spec.export_to;
        export.is_empty()
            || export.iter().any(|e| {
                e == "*" || e == namespace || (e == "." && self.meta.namespace == namespace)
            })
    }

    /// The registry port for `number` (`convertPort`): the protocol is `protocol.Parse` of the
    /// entry's `protocol`, never the Kubernetes port-name conversion.
    pub fn service_port(&self, number: u16) -> Option<ServicePort> {
        let p = self
            .spec
            .ports
            .iter()
            .find(|p| p.number == u32::from(number))?;
        Some(ServicePort {
            name: Some(p.name.clone()),
            port: number,
            target_port: TargetPort::Number(
                p.target_port
                    .and_then(|t| u16::try_from(t).ok())
                    .filter(|t| *t > 0)
                    .unwrap_or(number),
            ),
            protocol: KubeProtocol::Tcp,
            app_protocol: None,
            declared: Some(IstioProtocol::parse(
                p.protocol.as_deref().unwrap_or_default(),
            )),
        })
    }
}
