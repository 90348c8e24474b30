//! The metrics of real meshes: requests through the data path and CSRs at the CA move the
//! counters; the gauges follow the virtual clock.

use std::path::Path;
use std::time::Duration;

use super::{input_series, labels, render, snapshot, Labels, Recorder, Snapshot};
use crate::mesh::MeshOptions;
use crate::model::{load_str, Object};
use crate::request::RequestSpec;
use crate::{Fault, Mesh};

const FIXTURE: &str = include_str!("../../../scenarios/fixtures/sleep-httpbin.yaml");
const STRICT_FOO: &str = "
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: foo}
spec:
  mtls: {mode: STRICT}
";

fn mesh(extra: &str, faults: &[Fault]) -> Mesh {
    let text = format!("{FIXTURE}\n---\n{extra}");
    let res = load_str(&text, Path::new("<test>")).expect("test YAML loads");
    Mesh::build(res, faults, MeshOptions::default()).expect("mesh builds")
}

fn get(from: &str, to: &str) -> RequestSpec {
    RequestSpec {
        from: from.parse().expect("NS/WORKLOAD"),
        to: to.parse().expect("HOST:PORT"),
        path: "/headers".into(),
        ..RequestSpec::default()
    }
}

/// The sum of `name` over the series matching `selector`.
fn sum(s: &Snapshot, name: &str, selector: &[(&str, &str)]) -> f64 {
    let sel: Labels = labels(selector);
    s.matching(name, &sel).map(|x| x.value).sum()
}

#[test]
fn an_mtls_request_is_counted_by_both_reporters_with_their_views() {
    let mut m = mesh(STRICT_FOO, &[]);
    m.request(&RequestSpec {
        count: 3,
        ..get("foo/sleep", "httpbin.foo:8000")
    })
    .unwrap();
    let s = snapshot(&m);
    let dest = [
        ("reporter", "destination"),
        ("response_code", "200"),
        ("connection_security_policy", "mutual_tls"),
        ("source_principal", "spiffe://cluster.local/ns/foo/sa/sleep"),
        (
            "destination_principal",
            "spiffe://cluster.local/ns/foo/sa/httpbin",
        ),
        ("source_workload", "sleep"),
        ("destination_workload", "httpbin"),
        ("destination_service", "httpbin.foo.svc.cluster.local"),
        ("response_flags", "-"),
        ("pod", "httpbin"),
    ];
    assert_eq!(sum(&s, "istio_requests_total", &dest), 3.0);
    let src = [
        ("reporter", "source"),
        ("connection_security_policy", "unknown"),
        ("pod", "sleep"),
        ("namespace", "foo"),
    ];
    assert_eq!(sum(&s, "istio_requests_total", &src), 3.0);
    assert!(
        sum(
            &s,
            "envoy_cluster_ssl_handshake",
            &[
                (
                    "cluster_name",
                    "outbound|8000||httpbin.foo.svc.cluster.local"
                ),
                ("pod", "sleep")
            ]
        ) >= 1.0
    );
    assert!(
        sum(
            &s,
            "envoy_listener_ssl_handshake",
            &[("listener_address", "0.0.0.0_15006"), ("pod", "httpbin")]
        ) >= 1.0
    );
}

/// One request, then `workload` gains `version: v2` and two more requests: both reporters
/// count the first under `label` `v1` and the next two under `v2`.
fn relabelled_between_requests_counts_under_new_labels(workload: &str, label: &str) {
    let mut m = mesh("", &[]);
    let req = get("foo/sleep", "httpbin.foo:8000");
    m.request(&req).unwrap();
    let mut relabelled = m.resources().workload("foo", workload).unwrap().clone();
    relabelled.pod_labels.insert("version".into(), "v2".into());
    m.apply(vec![Object::Workload(relabelled)]).unwrap();
    m.request(&RequestSpec { count: 2, ..req }).unwrap();
    let s = snapshot(&m);
    for (reporter, version, n) in [
        ("destination", "v1", 1.0),
        ("destination", "v2", 2.0),
        ("source", "v1", 1.0),
        ("source", "v2", 2.0),
    ] {
        let selector = [("reporter", reporter), (label, version)];
        assert_eq!(
            sum(&s, "istio_requests_total", &selector),
            n,
            "{workload} relabelled: {reporter} {label} {version}"
        );
    }
}

#[test]
fn a_workload_relabelled_between_requests_is_counted_under_its_new_labels() {
    // Requests of one shape share their series (metrics/shape.rs); a configuration change must
    // shape them anew.
    relabelled_between_requests_counts_under_new_labels("httpbin", "destination_version");
}

#[test]
fn a_relabelled_caller_is_counted_under_its_new_labels() {
    // The caller enters a request's shape by name only (metrics/shape.rs), so only
    // `Traffic::configuration_changed` makes its new labels visible: the endpoint is unchanged.
    relabelled_between_requests_counts_under_new_labels("sleep", "source_version");
}

#[test]
fn a_plaintext_client_into_strict_counts_no_filter_chain_match_and_no_request() {
    let mut m = mesh(STRICT_FOO, &[]);
    m.request(&get("legacy/sleep", "httpbin.foo:8000")).unwrap();
    let s = snapshot(&m);
    assert_eq!(
        sum(
            &s,
            "envoy_listener_no_filter_chain_match",
            &[("pod", "httpbin")]
        ),
        1.0
    );
    assert_eq!(sum(&s, "istio_requests_total", &[]), 0.0);
}

#[test]
fn expired_certificates_fail_verification_and_the_client_reports_uf_urx() {
    let mut m = mesh(STRICT_FOO, &[Fault::IstiodDown]);
    m.advance(Duration::from_secs(25 * 3600));
    m.request(&get("foo/sleep", "httpbin.foo:8000")).unwrap();
    let s = snapshot(&m);
    assert!(
        sum(
            &s,
            "envoy_cluster_ssl_fail_verify_error",
            &[("pod", "sleep")]
        ) >= 1.0
    );
    assert_eq!(
        sum(
            &s,
            "istio_requests_total",
            &[
                ("reporter", "source"),
                ("response_code", "503"),
                ("response_flags", "UF,URX"),
                ("destination_principal", "unknown"),
            ]
        ),
        1.0
    );
    // The agent's gauge went negative an hour ago; istiod never saw the retries.
    let expiry = sum(
        &s,
        "istio_agent_cert_expiry_seconds",
        &[
            ("namespace", "foo"),
            ("pod", "sleep"),
            ("resource_name", "default"),
        ],
    );
    assert_eq!(expiry, -3600.0);
    assert!(
        sum(
            &s,
            "istio_agent_num_failed_outgoing_requests",
            &[("pod", "sleep")]
        ) > 0.0
    );
    assert_eq!(
        sum(&s, "citadel_server_authentication_failure_count", &[]),
        0.0
    );
}

#[test]
fn the_ca_counts_every_csr_it_is_handed_and_each_issuance() {
    let m = mesh(STRICT_FOO, &[]);
    let s = snapshot(&m);
    let proxies = m.control().proxies().count() as f64;
    assert_eq!(sum(&s, "citadel_server_csr_count", &[]), proxies);
    assert_eq!(
        sum(&s, "citadel_server_success_cert_issuance_count", &[]),
        proxies
    );
    assert_eq!(
        sum(
            &s,
            "istio_agent_cert_expiry_seconds",
            &[("namespace", "foo"), ("pod", "httpbin")]
        ),
        24.0 * 3600.0
    );
    let root = sum(&s, "citadel_server_root_cert_expiry_timestamp", &[]);
    let left = sum(&s, "citadel_server_root_cert_expiry_seconds", &[]);
    assert_eq!(root - left, m.now().unix_secs() as f64);
}

#[test]
fn rbac_denied_csrs_are_authentication_failures_at_the_ca() {
    let mut m = mesh(STRICT_FOO, &[Fault::IstiodRbacDenied]);
    m.advance(Duration::from_secs(60));
    let s = snapshot(&m);
    let csrs = sum(&s, "citadel_server_csr_count", &[]);
    assert!(csrs > 0.0);
    assert_eq!(
        sum(&s, "citadel_server_authentication_failure_count", &[]),
        csrs
    );
    assert_eq!(
        sum(&s, "citadel_server_success_cert_issuance_count", &[]),
        0.0
    );
}

#[test]
fn the_exposition_prints_help_and_type_once_per_family_and_is_stable() {
    let mut m = mesh(STRICT_FOO, &[]);
    m.request(&get("foo/sleep", "httpbin.foo:8000")).unwrap();
    let text = render(&snapshot(&m));
    assert_eq!(
        text.matches("# TYPE istio_requests_total counter\n")
            .count(),
        1
    );
    assert!(text.contains("# TYPE istio_agent_cert_expiry_seconds gauge\n"));
    let mut again = mesh(STRICT_FOO, &[]);
    again
        .request(&get("foo/sleep", "httpbin.foo:8000"))
        .unwrap();
    assert_eq!(text, render(&snapshot(&again)));
}

#[test]
fn a_recording_samples_every_interval_across_a_clock_jump() {
    let mut m = mesh(STRICT_FOO, &[Fault::IstiodDown]);
    let mut rec = Recorder::new(m.now(), Duration::from_secs(3600));
    rec.after_step("build".into(), snapshot(&m));
    let stops = rec.grid_between(m.now(), m.now().plus(Duration::from_secs(3 * 3600)));
    m.advance_sampled(Duration::from_secs(3 * 3600), &stops, |mesh| {
        rec.on_grid(snapshot(mesh))
    });
    let series = input_series(&rec);
    let (_, values) = series
        .series
        .iter()
        .find(|(name, _)| {
            name.starts_with("istio_agent_cert_expiry_seconds{") && name.contains("pod=\"httpbin\"")
        })
        .expect("the agent's gauge is recorded");
    assert_eq!(values, "86400-3600x3");
}

#[test]
fn the_derived_expiry_seconds_gauges_exist_from_istio_1_23_on() {
    for (release, present) in [
        (crate::vocab::IstioRelease::V1_22, false),
        (crate::vocab::IstioRelease::V1_23, true),
    ] {
        let text = format!("{FIXTURE}\n---\n{STRICT_FOO}");
        let mut res = load_str(&text, Path::new("<test>")).expect("test YAML loads");
        res.mesh_config.istio_release = Some(release);
        let m = Mesh::build(res, &[], MeshOptions::default()).expect("mesh builds");
        let s = snapshot(&m);
        let seconds = s
            .matching("citadel_server_root_cert_expiry_seconds", &Labels::new())
            .count();
        assert_eq!(seconds > 0, present, "{release:?}");
        assert_eq!(
            s.matching("citadel_server_root_cert_expiry_timestamp", &Labels::new())
                .count(),
            1
        );
    }
}

#[test]
fn an_export_rebases_timestamps_to_promtools_zero_and_back_fills_envoy_counters() {
    let mut m = mesh(STRICT_FOO, &[]);
    let start = m.now();
    let mut rec = Recorder::new(start, Duration::from_secs(600));
    rec.after_step("build".into(), snapshot(&m));
    let stops = rec.grid_between(m.now(), m.now().plus(Duration::from_secs(600)));
    m.advance_sampled(Duration::from_secs(600), &stops, |mesh| {
        rec.on_grid(snapshot(mesh))
    });
    m.request(&get("foo/sleep", "httpbin.foo:8000")).unwrap();
    rec.after_step("request".into(), snapshot(&m));
    let series = input_series(&rec);
    let values = |prefix: &str| {
        series
            .series
            .iter()
            .find(|(name, _)| name.starts_with(prefix))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {prefix}"))
    };
    let root = sum(
        &snapshot(&m),
        "citadel_server_root_cert_expiry_timestamp",
        &[],
    );
    let rebased = root as u64 - start.unix_secs();
    let rebased = format!("{rebased} {rebased}");
    assert_eq!(
        values("citadel_server_root_cert_expiry_timestamp{"),
        rebased
    );
    // The cluster's counters appear with the request at 10m and read 0 before it.
    assert_eq!(
        values("envoy_cluster_ssl_handshake{cluster_name=\"outbound|8000||httpbin.foo"),
        "0 1"
    );
    // Standard metrics are created by the request: missing before it.
    assert_eq!(values("istio_requests_total{"), "_ 1");
}
