//! `ValidateServiceEntry` (istio `pkg/config/validation/validation.go`, Istio 1.22–1.28) for the
//! fields meshsim reads: hosts (`agent.ValidateWildcardDomain`, no `*`), addresses
//! (`agent.ValidateIPSubnet`), ports (unique names and numbers, `ValidatePortName`,
//! `ValidateProtocol`, `agent.ValidatePort`), `workloadSelector` xor `endpoints`, the per-
//! resolution endpoint rules (`validateWorkloadEntry` for STATIC, FQDN-or-IP for DNS), several
//! hosts only with HTTP or TLS ports, and `validateExportTo` (where `~` is allowed). Messages are
//! Istio's. Where the releases differ (1.25+ `DYNAMIC_DNS`, 1.22's NONE/`targetPort` warning)
//! the rule both releases share is kept: `DYNAMIC_DNS` is rejected for a sidecar mesh below.

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::{dns, object, spec, Invalid, Rejection, Report};
use crate::model::{ServiceEntry, ServiceEntryResolution};
use crate::vocab::IstioProtocol;

/// Validates a ServiceEntry (`ValidateServiceEntry`); `Ok` carries warnings.
pub(crate) fn service_entry(se: &ServiceEntry) -> Result<Vec<Invalid>, Rejection> {
    let mut r = Report::default();
    let s = &se.spec;
    if let Some(sel) = &s.workload_selector {
        if sel.labels.is_empty() {
            r.warn(
                &spec().key("workloadSelector"),
                "service entry: workload selector specified without labels, will be applied to all services in namespace",
            );
        }
        if !s.endpoints.is_empty() {
            r.error(
                &spec(),
                "only one of WorkloadSelector or Endpoints is allowed in Service Entry",
            );
        }
    }
    let hosts = spec().key("hosts");
    if s.hosts.is_empty() {
        r.error(&hosts, "service entry must have at least one host");
    }
    for (i, host) in s.hosts.iter().enumerate() {
        if host == "*" {
            r.error(&hosts.index(i), format!("invalid host {host}"));
        } else if let Err(m) = dns::wildcard_domain(host) {
            r.error(&hosts.index(i), m);
        }
    }
    let mut cidr = false;
    for (i, address) in s.addresses.iter().enumerate() {
        cidr |= address.contains('/');
        if let Err(m) = ip_subnet(address) {
            r.error(&spec().key("addresses").index(i), m);
        }
    }
    if cidr
        && !matches!(
            s.resolution,
            ServiceEntryResolution::None | ServiceEntryResolution::Static
        )
    {
        r.error(
            &spec().key("addresses"),
            "CIDR addresses are allowed only for NONE/STATIC resolution types",
        );
    }
    let mut names = BTreeSet::new();
    let mut numbers = BTreeSet::new();
    for (i, port) in s.ports.iter().enumerate() {
        let path = spec().key("ports").index(i);
        if !names.insert(port.name.as_str()) {
            r.error(
                &path,
                format!("service entry port name {:?} already defined", port.name),
            );
        }
        if !numbers.insert(port.number) {
            r.error(
                &path,
                format!("service entry port {} already defined", port.number),
            );
        }
        if let Some(t) = port.target_port.filter(|t| *t != 0) {
            check_port(t, &path.key("targetPort"), &mut r);
        }
        if !dns::is_dns1123_label(&port.name) {
            r.error(
                &path.key("name"),
                format!("invalid port name: {}", port.name),
            );
        }
        if let Some(p) = port.protocol.as_deref().filter(|p| !p.is_empty()) {
            if IstioProtocol::parse(p) == IstioProtocol::Unsupported {
                r.error(&path.key("protocol"), format!("unsupported protocol: {p}"));
            }
        }
        check_port(port.number, &path.key("number"), &mut r);
    }
    let endpoints = spec().key("endpoints");
    match s.resolution {
        ServiceEntryResolution::None => {
            if !s.endpoints.is_empty() {
                r.error(
                    &endpoints,
                    "no endpoints should be provided for resolution type none",
                );
            }
        }
        ServiceEntryResolution::Static => {
            for (i, ep) in s.endpoints.iter().enumerate() {
                let path = endpoints.index(i);
                if ep.address.is_empty() && ep.network.as_deref().unwrap_or_default().is_empty() {
                    r.error(&path, "address is required");
                } else if !ep.address.is_empty()
                    && !ep.address.starts_with("unix://")
                    && ep.address.parse::<IpAddr>().is_err()
                {
                    r.error(
                        &path.key("address"),
                        format!(
                            "endpoint address {:?} is not a valid IP address",
                            ep.address
                        ),
                    );
                }
                endpoint_ports(ep, &names, &path, &mut r);
            }
        }
        ServiceEntryResolution::Dns | ServiceEntryResolution::DnsRoundRobin => {
            if s.endpoints.is_empty() {
                if let Some(bad) = s.hosts.iter().find(|h| fqdn(h).is_err()) {
                    let err = fqdn(bad).err().unwrap_or_default();
                    r.error(
                        &hosts,
                        format!(
                            "hosts must be FQDN or contain only prefix wildcards if no endpoints \
                             are provided for resolution mode {}, {err}",
                            s.resolution.as_str()
                        ),
                    );
                }
            }
            if s.resolution == ServiceEntryResolution::DnsRoundRobin && s.endpoints.len() > 1 {
                r.error(
                    &endpoints,
                    format!(
                        "there must only be 0 or 1 endpoint for resolution mode {}",
                        s.resolution.as_str()
                    ),
                );
            }
            for (i, ep) in s.endpoints.iter().enumerate() {
                let path = endpoints.index(i);
                if ep.address.parse::<IpAddr>().is_err() && fqdn(&ep.address).is_err() {
                    r.error(
                        &path.key("address"),
                        format!(
                            "endpoint address {:?} is not a valid FQDN or an IP address",
                            ep.address
                        ),
                    );
                }
                endpoint_ports(ep, &names, &path, &mut r);
            }
        }
        ServiceEntryResolution::DynamicDns => r.error(
            &spec().key("resolution"),
            "resolution DYNAMIC_DNS is only supported by ztunnel and waypoints (Istio 1.25+); \
             a sidecar builds no cluster for it",
        ),
    }
    if s.resolution != ServiceEntryResolution::None && s.hosts.len() > 1 {
        let opaque = s.ports.iter().any(|p| {
            let proto = IstioProtocol::parse(p.protocol.as_deref().unwrap_or_default());
            !proto.is_http() && !matches!(proto, IstioProtocol::Https | IstioProtocol::Tls)
        });
        if opaque {
            r.error(
                &spec().key("ports"),
                "multiple hosts provided with non-HTTP, non-TLS ports",
            );
        }
    }
    super::destination_rule::export_to(
        &s.export_to,
        &se.meta.namespace,
        super::destination_rule::ExportToOf::ServiceEntry,
        &mut r,
    );
    r.finish(object("ServiceEntry", &se.meta))
}

/// `agent.ValidatePort`.
fn check_port(port: u32, path: &crate::model::FieldPath, r: &mut Report) {
    if !(1..=65535).contains(&port) {
        r.error(
            path,
            format!("port number {port} must be in the range 1..65535"),
        );
    }
}

/// An endpoint's `ports` name service ports, and its labels are valid (`validateWorkloadEntry`).
fn endpoint_ports(
    ep: &crate::model::ServiceEntryEndpoint,
    names: &BTreeSet<&str>,
    path: &crate::model::FieldPath,
    r: &mut Report,
) {
    for (name, port) in &ep.ports {
        if !names.contains(name.as_str()) {
            r.error(
                &path.key("ports"),
                format!("endpoint port {port} is not defined by the service entry"),
            );
        }
        check_port(*port, &path.key("ports").key(name), r);
    }
    for (k, v) in &ep.labels {
        if let Err(m) = dns::label_key(k).and_then(|()| dns::label_value(v)) {
            r.error(&path.key("labels"), m);
        }
    }
}

/// `agent.ValidateFQDN`: length, then DNS-1123 labels with a non-numeric top-level domain.
fn fqdn(name: &str) -> Result<(), String> {
    if name.len() > 255 {
        return Err(format!("domain name {name:?} too long (max 255)"));
    }
    if name.is_empty() {
        return Err("empty domain name not allowed".into());
    }
    let parts: Vec<&str> = name.split('.').collect();
    let tld = parts.last().copied().unwrap_or_default();
    if !tld.is_empty() && tld.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "domain name {name:?} invalid (top level domain {tld:?} cannot be all-numeric)"
        ));
    }
    for (i, label) in parts.iter().enumerate() {
        if i == parts.len() - 1 && label.is_empty() {
            break;
        }
        if !dns::is_dns1123_label(label) {
            return Err(format!(
                "domain name {name:?} invalid (label {label:?} invalid)"
            ));
        }
    }
    Ok(())
}

/// `agent.ValidateIPSubnet`: a CIDR block or an IP address.
fn ip_subnet(subnet: &str) -> Result<(), String> {
    if subnet.matches('/').count() == 1 {
        let (addr, bits) = subnet.split_once('/').unwrap_or_default();
        let ok = addr.parse::<IpAddr>().ok().is_some_and(|ip| {
            let max = if ip.is_ipv4() { 32 } else { 128 };
            bits.parse::<u8>().is_ok_and(|b| b <= max) && !bits.starts_with('+')
        });
        return if ok {
            Ok(())
        } else {
            Err(format!("{subnet} is not a valid CIDR block"))
        };
    }
    subnet
        .parse::<IpAddr>()
        .map(|_| ())
        .map_err(|_| format!("{subnet} is not a valid IP"))
}
