//! The JUnit reporter (quick-junit): one testsuite per scenario file, one testcase per
//! scenario; a failed expectation is a `<failure>`, a scenario that could not run an `<error>`.

use std::collections::BTreeMap;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::runner::{ScenarioReport, Verdict};

/// Renders the JUnit XML report.
pub fn render_junit(reports: &[ScenarioReport]) -> String {
    let mut by_file: BTreeMap<&str, Vec<&ScenarioReport>> = BTreeMap::new();
    for r in reports {
        by_file.entry(r.file.as_str()).or_default().push(r);
    }
    let mut report = Report::new("meshsim");
    for (file, scenarios) in by_file {
        let mut suite = TestSuite::new(file);
        for r in scenarios {
            let status = match r.verdict {
                Verdict::Passed => TestCaseStatus::success(),
                Verdict::Failed => non_success(NonSuccessKind::Failure, r),
                Verdict::Error => non_success(NonSuccessKind::Error, r),
            };
            let mut case = TestCase::new(r.name.as_str(), status);
            case.set_classname(file);
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot serialise the JUnit report: {e} -->\n"))
}

fn non_success(kind: NonSuccessKind, r: &ScenarioReport) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(kind);
    let mut lines = Vec::new();
    let mut first = None;
    for step in r.steps.iter().filter(|s| s.verdict != Verdict::Passed) {
        let head = format!(
            "step {} line {} ({}): {}",
            step.index, step.line, step.kind, step.summary
        );
        lines.push(head.clone());
        if let Some(e) = &step.error {
            lines.push(format!("  error: {e}"));
            first.get_or_insert_with(|| e.clone());
        }
        for m in &step.mismatches {
            lines.push(format!(
                "  {}: expected {}, actual {}",
                m.field, m.expected, m.actual
            ));
            first.get_or_insert_with(|| {
                format!("{}: expected {}, actual {}", m.field, m.expected, m.actual)
            });
        }
        lines.extend(step.evidence.iter().map(|e| format!("  {e}")));
    }
    if let Some(m) = first {
        status.set_message(m);
    }
    status.set_description(lines.join("\n"));
    status
}
