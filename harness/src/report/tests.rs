use super::*;
use crate::expect::Mismatch;
use crate::runner::{ScenarioReport, StepReport, Verdict};

fn report(file: &str, name: &str, verdict: Verdict) -> ScenarioReport {
    let steps = match verdict {
        Verdict::Passed => Vec::new(),
        _ => vec![StepReport {
            index: 1,
            line: 4,
            kind: "request".into(),
            summary: "GET foo/sleep -> httpbin.foo:8000/".into(),
            verdict,
            mismatches: if verdict == Verdict::Failed {
                vec![Mismatch {
                    field: "status".into(),
                    expected: "200".into(),
                    actual: "503".into(),
                }]
            } else {
                Vec::new()
            },
            error: (verdict == Verdict::Error).then(|| "unknown workload foo/sleep".into()),
            evidence: vec!["body: no healthy upstream".into()],
            outcomes: sim::Outcomes::new(),
        }],
    };
    ScenarioReport {
        file: file.into(),
        name: name.into(),
        verdict,
        steps,
        warnings: Vec::new(),
        metrics: None,
    }
}

fn sample() -> Vec<ScenarioReport> {
    vec![
        report("s/a.yaml", "a passes", Verdict::Passed),
        report("s/b.yaml", "b fails", Verdict::Failed),
        report("s/c.yaml", "c errors", Verdict::Error),
    ]
}

#[test]
fn exit_code_is_worst_verdict() {
    assert_eq!(exit_code(&[]), 0);
    assert_eq!(exit_code(&sample()[..1]), 0);
    assert_eq!(exit_code(&sample()[..2]), 1);
    assert_eq!(exit_code(&sample()), 2);
}

#[test]
fn human_report_ends_with_totals_and_details_failures() {
    let text = render_human(&sample(), false);
    assert!(text.contains("PASS  s/a.yaml  a passes"), "{text}");
    assert!(text.contains("  s/b.yaml:4: step 1 (request)"), "{text}");
    assert!(
        text.contains("      expected: 200\n      actual:   503"),
        "{text}"
    );
    assert!(text.contains("      body: no healthy upstream"), "{text}");
    assert!(
        text.ends_with("\n1 passed, 2 failed (1 could not run)\n"),
        "{text}"
    );
    assert!(!text.contains('\x1b'));
    assert!(render_human(&sample(), true).contains('\x1b'));
}

#[test]
fn json_report_has_stable_fields() {
    let v: serde_json::Value = serde_json::from_str(&render_json(&sample())).unwrap();
    assert_eq!(v["passed"], 1);
    assert_eq!(v["failed"], 2);
    assert_eq!(v["errors"], 1);
    let b = &v["scenarios"][1];
    assert_eq!(b["verdict"], "failed");
    assert_eq!(b["steps"][0]["mismatches"][0]["field"], "status");
}

#[test]
fn junit_has_a_suite_per_file_and_failure_kinds() {
    let xml = render_junit(&sample());
    assert_eq!(xml.matches("<testsuite ").count(), 3, "{xml}");
    assert!(xml.contains("<failure"), "{xml}");
    assert!(xml.contains("<error"), "{xml}");
    assert!(xml.contains("status: expected 200, actual 503"), "{xml}");
}

#[test]
fn human_failure_layout_is_stable() {
    insta::assert_snapshot!(render_human(&sample(), false));
}
