use super::*;
use crate::model::TargetPort;
use crate::policy::testing::Fixture;

fn fixture() -> Fixture {
    let mut f = Fixture::new();
    f.namespace("foo").namespace_labeled("legacy", &[]);
    f.workload_sa(
        "foo",
        "httpbin",
        "httpbin",
        &[("app", "httpbin")],
        &[(Some("http"), 8080)],
    );
    f.workload_sa(
        "foo",
        "httpbin-v2",
        "httpbin",
        &[("app", "httpbin"), ("version", "v2")],
        &[],
    );
    f.workload("legacy", "httpbin", &[("app", "httpbin")]);
    f.service(
        "foo",
        "httpbin",
        &[("app", "httpbin")],
        &[("http", 8000, TargetPort::Number(80))],
    );
    f.service(
        "foo",
        "named",
        &[("app", "httpbin")],
        &[("http", 8000, TargetPort::Name("http".into()))],
    );
    f.service(
        "legacy",
        "httpbin",
        &[("app", "httpbin")],
        &[("http", 8000, TargetPort::Number(80))],
    );
    f
}

#[test]
fn host_forms_resolve_relative_to_the_caller() {
    let f = fixture();
    let cases = [
        ("foo", "httpbin:8000", "httpbin.foo.svc.cluster.local"),
        ("legacy", "httpbin:8000", "httpbin.legacy.svc.cluster.local"),
        (
            "legacy",
            "httpbin.foo:8000",
            "httpbin.foo.svc.cluster.local",
        ),
        (
            "legacy",
            "httpbin.foo.svc:8000",
            "httpbin.foo.svc.cluster.local",
        ),
        (
            "legacy",
            "httpbin.foo.svc.cluster.local:8000",
            "httpbin.foo.svc.cluster.local",
        ),
        (
            "legacy",
            "HTTPBIN.foo.svc.cluster.local.:8000",
            "httpbin.foo.svc.cluster.local",
        ),
    ];
    for (caller, host, fqdn) in cases {
        let d = resolve_destination(&f.res, caller, &host.parse().expect("HOST:PORT"))
            .unwrap_or_else(|e| panic!("{host}: {e}"));
        assert_eq!(d.fqdn, fqdn, "{caller} -> {host}");
    }
}

#[test]
fn bad_destinations_get_clear_errors() {
    let f = fixture();
    let cases = [
        ("httpbin", "expected HOST:PORT"),
        ("httpbin:http", "not a number"),
        ("httpbin:0", "not a number"),
        ("nope.foo:8000", "no Service nope in namespace foo"),
        ("httpbin.foo:9999", "has no port 9999 (ports: 8000)"),
        (
            "httpbin.foo.svc.other.domain:8000",
            "no Service or ServiceEntry host httpbin.foo.svc.other.domain",
        ),
        ("httpbin..foo:8000", "empty label"),
    ];
    for (host, msg) in cases {
        let err = host
            .parse::<HostPort>()
            .map_err(|e| e.to_string())
            .and_then(|hp| resolve_destination(&f.res, "foo", &hp).map_err(|e| e.to_string()))
            .expect_err(host);
        assert!(err.contains(msg), "{host}: {err}");
    }
}

#[test]
fn endpoints_are_ready_selected_workloads_with_resolved_target_ports() {
    let mut f = fixture();
    f.workload("foo", "scaled-down", &[("app", "httpbin")]);
    let last = f.res.workloads.len() - 1;
    f.res.workloads[last].replicas = 0;
    let d =
        resolve_destination(&f.res, "foo", &"httpbin:8000".parse().expect("HOST:PORT")).unwrap();
    let got: Vec<(&str, u16, &str, bool)> = d
        .endpoints
        .iter()
        .map(|e| {
            (
                e.workload.as_str(),
                e.target_port,
                e.service_account.as_str(),
                e.has_sidecar,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("httpbin", 80, "httpbin", true),
            ("httpbin-v2", 80, "httpbin", true)
        ]
    );

    // A named target port only resolves where the container declares it.
    let d = resolve_destination(&f.res, "foo", &"named:8000".parse().expect("HOST:PORT")).unwrap();
    let got: Vec<(&str, u16)> = d
        .endpoints
        .iter()
        .map(|e| (e.workload.as_str(), e.target_port))
        .collect();
    assert_eq!(got, vec![("httpbin", 8080)]);

    let d = resolve_destination(
        &f.res,
        "legacy",
        &"httpbin:8000".parse().expect("HOST:PORT"),
    )
    .unwrap();
    assert_eq!(d.endpoints.len(), 1);
    assert!(!d.endpoints[0].has_sidecar);
}

#[test]
fn a_port_number_resolves_to_its_tcp_port_and_a_udp_only_port_is_refused() {
    let mut f = fixture();
    f.service(
        "foo",
        "dns",
        &[("app", "httpbin")],
        &[
            ("dns", 53, TargetPort::Number(53)),
            ("dns-tcp", 53, TargetPort::Number(53)),
            ("syslog", 514, TargetPort::Number(514)),
        ],
    );
    let last = f.res.services.len() - 1;
    f.res.services[last].ports[0].protocol = KubeProtocol::Udp;
    f.res.services[last].ports[2].protocol = KubeProtocol::Udp;
    let d = resolve_destination(&f.res, "foo", &"dns:53".parse().expect("HOST:PORT"))
        .expect("the TCP port resolves");
    assert_eq!(d.port.name.as_deref(), Some("dns-tcp"));
    let err = resolve_destination(&f.res, "foo", &"dns:514".parse().expect("HOST:PORT"))
        .expect_err("UDP only");
    assert!(
        matches!(
            err,
            DestinationError::NotTcp {
                port: 514,
                protocol: KubeProtocol::Udp,
                ..
            }
        ),
        "{err}"
    );
}
