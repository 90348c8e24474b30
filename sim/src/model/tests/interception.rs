//! `traffic.sidecar.istio.io/*` annotations: what the injector accepts, what istio-iptables
//! captures from it, and the load error for what the injector refuses.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::{load, load_ok};
use crate::model::interception::*;
use crate::model::Interception;

fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Annotation pairs of one case.
type Pairs = &'static [(&'static str, &'static str)];

fn parse(pairs: &[(&str, &str)]) -> Interception {
    Interception::from_annotations(&annotations(pairs)).expect("valid annotations")
}

#[test]
fn inbound_capture_follows_include_then_exclude() {
    // (annotations, port, captured)
    let cases: Vec<(Pairs, u16, bool)> = vec![
        (&[], 80, true),
        (&[], 15020, false),
        (&[], 15021, false),
        (&[], 15090, false),
        (&[(EXCLUDE_INBOUND_PORTS, "80")], 80, false),
        (&[(EXCLUDE_INBOUND_PORTS, " 8080, 80 ")], 80, false),
        (&[(EXCLUDE_INBOUND_PORTS, "80")], 9000, true),
        (&[(INCLUDE_INBOUND_PORTS, "9000")], 80, false),
        (&[(INCLUDE_INBOUND_PORTS, "9000,80")], 80, true),
        // An explicit list is not filtered by the exclusions (istio-iptables reads -d only
        // with `-b *`).
        (
            &[(INCLUDE_INBOUND_PORTS, "80"), (EXCLUDE_INBOUND_PORTS, "80")],
            80,
            true,
        ),
        (&[(INCLUDE_INBOUND_PORTS, "")], 80, false),
        (&[(STATUS_PORT, "15999")], 15020, true),
        (&[(STATUS_PORT, "15999")], 15999, false),
    ];
    for (pairs, port, captured) in cases {
        assert_eq!(
            parse(pairs).captures_inbound(port),
            captured,
            "{pairs:?} port {port}"
        );
    }
}

#[test]
fn outbound_capture_follows_istio_output_order() {
    let vip: IpAddr = "10.96.0.5".parse().unwrap();
    let pod: IpAddr = "10.244.0.3".parse().unwrap();
    // (annotations, destination address, port, captured)
    let cases: Vec<(Pairs, Option<IpAddr>, u16, bool)> = vec![
        (&[], Some(vip), 8000, true),
        (&[(EXCLUDE_OUTBOUND_PORTS, "8000")], Some(vip), 8000, false),
        (&[(EXCLUDE_OUTBOUND_PORTS, "8000")], Some(vip), 80, true),
        (
            &[(EXCLUDE_OUTBOUND_IP_RANGES, "10.96.0.0/12")],
            Some(vip),
            80,
            false,
        ),
        (
            &[(EXCLUDE_OUTBOUND_IP_RANGES, "10.96.0.0/12")],
            Some(pod),
            80,
            true,
        ),
        (
            &[(INCLUDE_OUTBOUND_IP_RANGES, "10.244.0.0/16")],
            Some(vip),
            80,
            false,
        ),
        (
            &[(INCLUDE_OUTBOUND_IP_RANGES, "10.244.0.0/16")],
            Some(pod),
            80,
            true,
        ),
        (&[(INCLUDE_OUTBOUND_IP_RANGES, "")], Some(pod), 80, false),
        // includeOutboundPorts redirects before the ranges are read ...
        (
            &[
                (INCLUDE_OUTBOUND_IP_RANGES, ""),
                (INCLUDE_OUTBOUND_PORTS, "80"),
            ],
            Some(vip),
            80,
            true,
        ),
        // ... but after the exclusions.
        (
            &[
                (EXCLUDE_OUTBOUND_IP_RANGES, "10.96.0.0/12"),
                (INCLUDE_OUTBOUND_PORTS, "80"),
            ],
            Some(vip),
            80,
            false,
        ),
        (
            &[
                (EXCLUDE_OUTBOUND_PORTS, "80"),
                (INCLUDE_OUTBOUND_PORTS, "80"),
            ],
            Some(vip),
            80,
            false,
        ),
    ];
    for (pairs, ip, port, captured) in cases {
        let got = parse(pairs).outbound_bypass(ip, port);
        assert_eq!(got.is_none(), captured, "{pairs:?} {ip:?}:{port}: {got:?}");
    }
}

#[test]
fn malformed_values_are_refused_as_the_injector_refuses_them() {
    // (annotation, value, the entry named)
    let cases = [
        (EXCLUDE_INBOUND_PORTS, "http", "http"),
        (EXCLUDE_INBOUND_PORTS, "80,", ""),
        (EXCLUDE_INBOUND_PORTS, "70000", "70000"),
        (INCLUDE_INBOUND_PORTS, " *", "*"),
        (EXCLUDE_OUTBOUND_PORTS, "-1", "-1"),
        (STATUS_PORT, "x", "x"),
        (
            INCLUDE_OUTBOUND_IP_RANGES,
            "10.0.0.0/8, 10.1.0.0/16",
            " 10.1.0.0/16",
        ),
        (INCLUDE_OUTBOUND_IP_RANGES, "10.0.0.1", "10.0.0.1"),
        (EXCLUDE_OUTBOUND_IP_RANGES, "*", "*"),
        (EXCLUDE_OUTBOUND_IP_RANGES, "10.0.0.0/33", "10.0.0.0/33"),
        (EXCLUDE_OUTBOUND_IP_RANGES, "10.0.0.0/08", "10.0.0.0/08"),
        (EXCLUDE_OUTBOUND_IP_RANGES, "10.0.0.0/8,", ""),
        (INCLUDE_OUTBOUND_PORTS, "80,abc", "abc"),
    ];
    for (annotation, value, entry) in cases {
        let err =
            Interception::from_annotations(&annotations(&[(annotation, value)])).expect_err(value);
        assert_eq!(err.annotation(), annotation, "{value}");
        let text = err.to_string();
        assert!(text.contains(&format!("'{entry}'")), "{value}: {text}");
    }
    // The injector's own accepted forms.
    for (annotation, value) in [
        (INCLUDE_OUTBOUND_IP_RANGES, "*"),
        (INCLUDE_OUTBOUND_IP_RANGES, "10.0.0.1/8,fd00::/8"),
        (EXCLUDE_OUTBOUND_IP_RANGES, ""),
        (EXCLUDE_INBOUND_PORTS, ""),
        (INCLUDE_OUTBOUND_PORTS, "80,,443"),
    ] {
        assert!(
            Interception::from_annotations(&annotations(&[(annotation, value)])).is_ok(),
            "{annotation}: {value}"
        );
    }
}

#[test]
fn a_malformed_annotation_is_a_load_error_at_its_line() {
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: foo}\nspec:\n  template:\n    metadata:\n      annotations:\n        traffic.sidecar.istio.io/excludeInboundPorts: \"http\"\n    spec:\n      containers: [{name: web, image: web}]\n";
    let err = load(text).expect_err("refused");
    assert_eq!(err.origin.line, 8, "{err}");
    assert!(
        err.message.starts_with("invalid Deployment foo/web: ")
            && err.message.contains("invalid value 'http' for annotation 'traffic.sidecar.istio.io/excludeInboundPorts': excludeInboundPorts invalid: failed parsing port 'http'"),
        "{err}"
    );
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: foo\n  annotations:\n    traffic.sidecar.istio.io/includeOutboundIPRanges: \"10.0.0.0\"\nspec:\n  containers: [{name: p, image: p}]\n";
    let err = load(pod).expect_err("refused");
    assert_eq!(err.origin.line, 7, "{err}");
}

#[test]
fn loaded_workloads_carry_their_capture_and_services_their_cluster_ip() {
    let res = load_ok("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: foo\n  annotations:\n    traffic.sidecar.istio.io/excludeOutboundPorts: \"3306\"\nspec:\n  containers: [{name: p, image: p}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: foo}\nspec:\n  clusterIP: 10.100.0.7\n  ports: [{port: 80}]\n");
    let w = &res.workloads[0];
    assert!(w.interception.outbound_bypass(None, 3306).is_some());
    assert!(w.interception.outbound_bypass(None, 80).is_none());
    assert_eq!(
        res.services[0].cluster_ip,
        Some("10.100.0.7".parse().unwrap())
    );
}
