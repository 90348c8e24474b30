//! Whether a connection goes through a sidecar at all: the pod's capture rules
//! ([`crate::model::Interception`], from the `traffic.sidecar.istio.io/*` annotations as
//! `istio-iptables` programs them) applied to the address and port the application dials
//! (outbound) or the container port a connection arrives on (inbound, see
//! `routing::Endpoint::intercepted`). One rule for both paths.

use std::net::{IpAddr, Ipv4Addr};

use crate::model::{ObjectRef, Resources, Workload};
use crate::policy::decision::{object_ref, Decision};
use crate::policy::pod_ips::PodIps;
use crate::policy::routing::{Destination, Endpoint};

/// The address an application dials for a Service: `spec.clusterIP` when the manifest has one;
/// otherwise meshsim's own, inside kubeadm's default Service range `10.96.0.0/12`, by
/// namespace/name order among the Services without one (`10.96.0.2`, `10.96.0.3`, ...); `None`
/// for a headless Service (its DNS name answers with the pod IPs).
pub fn service_address(res: &Resources, service: &ObjectRef) -> Option<IpAddr> {
    let svc = res.service(&service.namespace, &service.name)?;
    if svc.headless {
        return None;
    }
    if let Some(ip) = svc.cluster_ip {
        return Some(ip);
    }
    let mut ids: Vec<(&str, &str)> = res
        .services
        .iter()
        .filter(|s| !s.headless && s.cluster_ip.is_none())
        .map(|s| (s.meta.namespace.as_str(), s.meta.name.as_str()))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let n = ids
        .iter()
        .position(|id| *id == (service.namespace.as_str(), service.name.as_str()))?;
    let third = u8::try_from(n / 250).unwrap_or(u8::MAX);
    // n % 250 + 2 is at most 251.
    let fourth = u8::try_from(n % 250 + 2).unwrap_or(u8::MAX);
    Some(IpAddr::V4(Ipv4Addr::new(10, 96, third, fourth)))
}

/// Why `client`'s sidecar does not see its application's connection to `dest` (the Service
/// address, or for a headless Service `endpoint`'s pod IP, at the Service port); `None` when it
/// does, or when the client has no sidecar to bypass.
pub fn outbound_bypass(
    res: &Resources,
    client: &Workload,
    dest: &Destination,
    endpoint: Option<&Endpoint>,
) -> Option<Decision> {
    let capture = &client.interception;
    let port = dest.port.port;
    let ip = if !capture.reads_outbound_address() {
        None
    } else if dest.headless {
        // An endpoint outside the mesh is dialled at its own address (a name: unknown here).
        endpoint.and_then(|e| match &e.external {
            Some(outside) => outside.address.parse().ok(),
            None => Some(PodIps::build(res).get(&e.namespace, &e.workload)),
        })
    } else {
        service_address(res, &dest.service)
    };
    let why = capture.outbound_bypass(ip, port)?;
    Some(Decision::by(
        object_ref(client.kind.into(), &client.meta),
        "client-tls/not-intercepted",
        format!(
            "the sidecar does not capture the connection to {}:{port} ({why}): the application's \
             bytes leave as written (plaintext), without the sidecar",
            ip.map_or_else(|| dest.fqdn.clone(), |ip| ip.to_string())
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::interception::{EXCLUDE_INBOUND_PORTS, INCLUDE_OUTBOUND_IP_RANGES};
    use crate::model::TargetPort;
    use crate::policy::resolve_destination;
    use crate::policy::testing::Fixture;

    fn fixture() -> Fixture {
        let mut f = Fixture::new();
        f.namespace("foo").namespace("bar");
        f.workload("foo", "httpbin", &[("app", "httpbin")]);
        f.workload("bar", "sleep", &[("app", "sleep")]);
        for (name, headless) in [("httpbin", false), ("httpbin-headless", true), ("a", false)] {
            f.service(
                "foo",
                name,
                &[("app", "httpbin")],
                &[("http", 8000, TargetPort::Number(80))],
            );
            f.res.services.last_mut().unwrap().headless = headless;
        }
        f
    }

    fn annotate(f: &mut Fixture, workload: usize, key: &str, value: &str) {
        f.res.workloads[workload]
            .edit_pod_annotations(|a| {
                a.insert(key.into(), value.into());
            })
            .expect("valid annotation");
    }

    #[test]
    fn services_get_their_written_address_or_one_in_namespace_name_order() {
        let mut f = fixture();
        let addr = |f: &Fixture, name: &str| {
            let svc = f.res.service("foo", name).unwrap();
            service_address(&f.res, &object_ref(crate::vocab::Kind::Service, &svc.meta))
        };
        assert_eq!(addr(&f, "a"), Some("10.96.0.2".parse().unwrap()));
        assert_eq!(addr(&f, "httpbin"), Some("10.96.0.3".parse().unwrap()));
        assert_eq!(addr(&f, "httpbin-headless"), None);
        f.res.services[0].cluster_ip = Some("10.100.1.1".parse().unwrap());
        assert_eq!(addr(&f, "httpbin"), Some("10.100.1.1".parse().unwrap()));
        assert_eq!(addr(&f, "a"), Some("10.96.0.2".parse().unwrap()));
    }

    #[test]
    fn a_client_capturing_only_pod_addresses_bypasses_cluster_ips_but_not_headless_pods() {
        let mut f = fixture();
        annotate(&mut f, 1, INCLUDE_OUTBOUND_IP_RANGES, "10.244.0.0/16");
        let client = f.res.workloads[1].clone();
        for (host, bypassed) in [
            ("httpbin.foo:8000", true),
            ("httpbin-headless.foo:8000", false),
        ] {
            let dest =
                resolve_destination(&f.res, "bar", &host.parse().expect("HOST:PORT")).unwrap();
            let got = outbound_bypass(&f.res, &client, &dest, dest.endpoints.first());
            assert_eq!(got.is_some(), bypassed, "{host}: {got:?}");
        }
    }

    #[test]
    fn an_excluded_inbound_port_leaves_the_endpoint_uncaptured() {
        let mut f = fixture();
        let dest = resolve_destination(
            &f.res,
            "bar",
            &"httpbin.foo:8000".parse().expect("HOST:PORT"),
        )
        .unwrap();
        assert!(dest.endpoints[0].has_sidecar && dest.endpoints[0].intercepted);
        annotate(&mut f, 0, EXCLUDE_INBOUND_PORTS, "80");
        let dest = resolve_destination(
            &f.res,
            "bar",
            &"httpbin.foo:8000".parse().expect("HOST:PORT"),
        )
        .unwrap();
        assert!(dest.endpoints[0].has_sidecar && !dest.endpoints[0].intercepted);
    }
}
