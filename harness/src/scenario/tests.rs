use std::path::Path;

use sim::vocab::Status;

use super::*;
use crate::tree::Tree;

fn parse(text: &str) -> Result<Scenario, crate::InputError> {
    parse_scenario(&Tree::Fs, Path::new("s.yaml"), text)
}

fn err(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

#[test]
fn full_request_step_parses_every_field() {
    let s = parse(
        "name: n\nseed: 7\nsteps:\n  - request:\n      from: foo/sleep\n      to: httpbin.foo:8000\n      path: /headers\n      method: POST\n      headers: {x-a: b}\n      protocol: tcp\n      count: 20\n      concurrency: 10\n    expect:\n      status: [200, 503]\n      flags: [UO]\n      tls_error: null\n      details_contains: via\n      mtls: true\n      peer_principal: cluster.local/ns/foo/sa/sleep\n      match: any\n",
    )
    .unwrap();
    assert_eq!(s.seed, 7);
    let Action::Request { request, expect } = &s.steps[0].action else {
        panic!("not a request")
    };
    assert_eq!(s.steps[0].line, 4);
    assert_eq!(request.count, 20);
    assert_eq!(request.protocol, Some(sim::vocab::Protocol::Tcp));
    assert_eq!(request.headers["x-a"], "b");
    assert_eq!(
        expect.status,
        Some(vec![Status::Http(200), Status::Http(503)])
    );
    assert_eq!(expect.tls_error, Some(None));
    assert_eq!(expect.matching, Match::Any);
}

#[test]
fn status_words_and_defaults_are_read() {
    let s = parse("name: n\nsteps:\n- request: {from: a/b, to: c:80}\n  expect: {status: reset}\n")
        .unwrap();
    let Action::Request { request, expect } = &s.steps[0].action else {
        panic!("not a request")
    };
    assert_eq!(request.path, "/");
    assert_eq!(request.method, "GET");
    assert_eq!(expect.status, Some(vec![Status::Reset]));
    assert_eq!(expect.tls_error, None);
    assert_eq!(expect.matching, Match::All);
}

#[test]
fn unknown_top_level_key_is_an_error_with_a_suggestion() {
    let e = err("name: n\nstep: []\n");
    assert!(e.starts_with("s.yaml:2:1: error:"), "{e}");
    assert!(e.contains("unknown field `step`"), "{e}");
    assert!(e.contains("did you mean `steps`?"), "{e}");
}

#[test]
fn unknown_request_key_points_at_its_line() {
    let e = err("name: n\nsteps:\n  - request:\n      from: a/b\n      to: c:80\n      pth: /x\n    expect: {}\n");
    assert!(e.starts_with("s.yaml:6:"), "{e}");
    assert!(e.contains("did you mean `path`?"), "{e}");
}

#[test]
fn missing_name_is_an_error() {
    let e = err("steps: []\n");
    assert!(e.contains("missing field `name`"), "{e}");
}

#[test]
fn bad_status_names_the_accepted_values() {
    let e = err(
        "name: n\nsteps:\n  - request: {from: a/b, to: c:80}\n    expect:\n      status: maybe\n",
    );
    assert!(e.starts_with("s.yaml:5:"), "{e}");
    assert!(e.contains("reset | refused | timeout"), "{e}");
}

#[test]
fn bad_duration_is_an_error_on_its_line() {
    let e = err("name: n\nsteps:\n  - advance: soon\n");
    assert!(e.starts_with("s.yaml:3:"), "{e}");
    assert!(e.contains("invalid duration"), "{e}");
}

#[test]
fn bad_from_and_to_are_rejected() {
    assert!(
        err("name: n\nsteps:\n- request: {from: sleep, to: c:80}\n  expect: {}\n")
            .contains("NAMESPACE/WORKLOAD")
    );
    assert!(
        err("name: n\nsteps:\n- request: {from: a/b, to: httpbin}\n  expect: {}\n")
            .contains("HOST:PORT")
    );
}

#[test]
fn step_with_two_actions_is_an_error_on_the_step_line() {
    let e =
        err("name: n\nsteps:\n  - advance: 1h\n  - advance: 1h\n    fault: {type: istiod-down}\n");
    assert!(e.starts_with("s.yaml:4: error:"), "{e}");
    assert!(e.contains("exactly one of"), "{e}");
}

#[test]
fn request_without_expect_is_an_error() {
    assert!(err("name: n\nsteps:\n- request: {from: a/b, to: c:80}\n").contains("expect"));
}

#[test]
fn faults_are_parsed_by_the_fault_vocabulary() {
    let s = parse("name: n\nfaults:\n  - {type: istiod-down}\nsteps:\n  - fault: {type: rotate-root, restart: [default/httpbin]}\n  - delete: [{kind: PeerAuthentication, namespace: foo, name: default}]\n").unwrap();
    assert_eq!(s.faults, vec![Fault::IstiodDown]);
    assert!(matches!(
        s.steps[0].action,
        Action::Fault(Fault::RotateRoot { .. })
    ));
    let Action::Delete(refs) = &s.steps[1].action else {
        panic!("not a delete")
    };
    assert_eq!(refs[0].to_string(), "PeerAuthentication/foo/default");
    let e = err("name: n\nfaults:\n  - {type: istiod-sad}\n");
    assert!(e.starts_with("s.yaml:3: error: unknown fault type"), "{e}");
}

#[test]
fn mesh_section_sets_mesh_config() {
    let s = parse("name: n\nmesh:\n  trustDomain: example.org\n  enableAutoMtls: false\n  meshMTLS: {minProtocolVersion: TLSV1_3}\nsteps: []\n").unwrap();
    let cfg = &s.resources.mesh_config;
    assert_eq!(cfg.trust_domain, "example.org");
    assert!(!cfg.enable_auto_mtls);
    assert_eq!(
        cfg.min_protocol_version,
        Some(sim::model::TlsVersion::Tls13)
    );
    assert_eq!(cfg.origin.line, 2);
    assert!(err("name: n\nmesh: {trustDomian: x}\n").contains("did you mean `trustDomain`?"));
}

#[test]
fn missing_include_names_the_resolved_path() {
    let e = err("name: n\ninclude: [../fixtures/none.yaml]\nsteps: []\n");
    assert!(e.starts_with("s.yaml:2: error: include"), "{e}");
}

#[test]
fn second_document_is_rejected() {
    let e = err("name: n\nsteps: []\n---\nkind: Namespace\n");
    assert!(
        e.starts_with("s.yaml:3: error: a scenario file holds one"),
        "{e}"
    );
}

#[test]
fn scenario_rule_tells_scenarios_from_manifests() {
    use super::{classify, FileKind};
    let cases = [
        ("name: x\n", FileKind::Scenario),
        ("steps: []\n", FileKind::Scenario),
        (
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: foo}\n",
            FileKind::Manifest,
        ),
        ("- a\n", FileKind::Manifest),
        ("", FileKind::Manifest),
    ];
    for (text, want) in cases {
        assert_eq!(
            classify(Path::new("f.yaml"), text).ok(),
            Some(want),
            "{text:?}"
        );
    }
}

/// A typo in a manifest used to make it look like a scenario (and vanish from a folder) or be
/// reported as `unknown field apiVersion`: the syntax error itself must come out, with its line.
#[test]
fn yaml_syntax_errors_are_reported_with_their_line_whatever_the_file_looks_like() {
    use super::classify;
    let cases = [
        (
            "bad indent",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n   labels: {}\n",
            5,
        ),
        (
            "tab",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n\tname: a\n",
            4,
        ),
        ("unclosed flow", "name: [unclosed\n", 2),
        (
            "duplicate key",
            "apiVersion: v1\nkind: Namespace\nkind: Namespace\nmetadata: {name: a}\n",
            // serde_yaml places a duplicate key at the start of its mapping.
            1,
        ),
        (
            "error in a later document",
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nkind: [\n",
            6,
        ),
    ];
    for (what, text, line) in cases {
        let e = classify(Path::new("f.yaml"), text).expect_err(what);
        assert_eq!(e.line, line, "{what}: {e}");
        assert!(!e.message.contains("unknown field"), "{what}: {e}");
    }
}

#[test]
fn an_empty_details_contains_is_rejected_because_it_cannot_fail() {
    let e = err(
        "name: n\nsteps:\n  - request: {from: a/b, to: c:80}\n    expect: {details_contains: \"\"}\n",
    );
    assert!(
        e.starts_with("s.yaml:3: error: `details_contains: \"\"`"),
        "{e}"
    );
}

#[test]
fn empty_expect_is_rejected_because_it_cannot_fail() {
    let e = err("name: n\nsteps:\n  - request: {from: a/b, to: c:80}\n    expect: {match: all}\n");
    assert!(
        e.starts_with("s.yaml:3: error: `expect` needs at least one field"),
        "{e}"
    );
}

#[test]
fn wrong_shapes_say_what_was_expected_in_the_users_words() {
    let e = err("name: n\nsteps:\n  - advance 25h\n");
    assert!(e.starts_with("s.yaml:3:"), "{e}");
    assert!(
        e.contains("expected a step: a map with one of request, advance"),
        "{e}"
    );
    assert!(!e.contains("Raw"), "{e}");
    let e = err("- name: n\n");
    assert!(e.contains("expected a scenario"), "{e}");
}

#[test]
fn misspelt_fault_keys_and_types_get_suggestions() {
    let e = err("name: n\nfaults:\n  - {type: expired-cert, worklod: foo/httpbin}\n");
    assert!(
        e.contains("`worklod` looks like a misspelling of `workload`"),
        "{e}"
    );
    let e = err("name: n\nsteps:\n  - fault: {type: rotate-rot}\n");
    assert!(
        e.starts_with("s.yaml:3: error:") && e.contains("did you mean `rotate-root`?"),
        "{e}"
    );
}

#[test]
fn unknown_codes_and_flags_in_an_expectation_get_suggestions() {
    for (field, wrong, right) in [
        (
            "diagnosis: [PlaintextToStrikt]",
            "PlaintextToStrikt",
            "PlaintextToStrict",
        ),
        ("flags: [UF, URXX]", "URXX", "URX"),
    ] {
        let e = err(&format!(
            "name: n\nsteps:\n  - request: {{from: a/b, to: c:80}}\n    expect:\n      {field}\n"
        ));
        let unknown = format!("unknown variant `{wrong}`");
        assert!(e.starts_with("s.yaml:5:") && e.contains(&unknown), "{e}");
        assert!(e.contains(&format!("did you mean `{right}`?")), "{e}");
    }
}

#[test]
fn metric_expectations_parse_beside_any_step_with_labels_as_text() {
    let s = parse(
        "name: n\nsteps:\n  - advance: 1h\n    expect:\n      metrics:\n        - {name: citadel_server_csr_count, at_least: 4, at_most: 8}\n  - request: {from: a/b, to: c:80}\n    expect:\n      metrics:\n        - {name: istio_requests_total, labels: {response_code: 503}, value: 1}\n",
    )
    .unwrap();
    assert_eq!(
        s.steps[0].metrics,
        vec![MetricExpect {
            name: "citadel_server_csr_count",
            labels: Default::default(),
            bound: MetricBound::Range {
                at_least: Some(4.0),
                at_most: Some(8.0)
            },
        }]
    );
    assert_eq!(s.steps[1].metrics[0].labels["response_code"], "503");
    assert_eq!(s.steps[1].metrics[0].bound, MetricBound::Exactly(1.0));
}

#[test]
fn bad_metric_expectations_are_errors_on_the_step_line() {
    let cases = [
        (
            "{name: citadel_server_csr_counts, value: 1}",
            "did you mean `citadel_server_csr_count`?",
        ),
        (
            "{name: citadel_server_csr_count, value: 1, at_least: 1}",
            "needs `value`, or `at_least` and/or `at_most`",
        ),
        (
            "{name: citadel_server_csr_count}",
            "needs `value`, or `at_least` and/or `at_most`",
        ),
        (
            "{name: citadel_server_csr_count, at_least: 5, at_most: 1}",
            "cannot hold",
        ),
        (
            "{name: istio_requests_total, labels: {pod: [a]}, value: 1}",
            "label `pod` needs a text value",
        ),
    ];
    for (metric, wanted) in cases {
        let text = format!(
            "name: n\nsteps:\n  - advance: 1h\n    expect:\n      metrics:\n        - {metric}\n"
        );
        let e = err(&text);
        assert!(e.contains("s.yaml:3"), "{metric}: {e}");
        assert!(e.contains(wanted), "{metric}: {e}");
    }
    let e = err("name: n\nsteps:\n  - advance: 1h\n    expect: {status: 200}\n");
    assert!(e.contains("may hold only `metrics`"), "{e}");
}
