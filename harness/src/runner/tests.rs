//! The runner's step handling, driven by a scripted mesh: these tests check ordering, verdicts
//! and evidence, not mesh behaviour (that is the scenario library's job).

use std::collections::VecDeque;
use std::path::Path;

use sim::vocab::Status;

use super::*;
use crate::scenario::parse_scenario;
use crate::tree::Tree;

/// Answers requests from a script and records what it was asked to do.
#[derive(Default)]
pub(super) struct Scripted {
    pub(super) answers: VecDeque<Result<Outcomes, MeshError>>,
    pub(super) now: SimTime,
    pub(super) log: Vec<String>,
}

impl Driver for Scripted {
    fn request(&mut self, req: &RequestSpec) -> Result<Outcomes, MeshError> {
        self.log.push(format!("request {}", req.to));
        self.answers
            .pop_front()
            .unwrap_or_else(|| Err(MeshError("script exhausted".into())))
    }
    fn advance(&mut self, by: Duration) {
        self.log.push(format!("advance {}", by.as_secs()));
        self.now = self.now.plus(by);
    }
    fn now(&self) -> SimTime {
        self.now
    }
    fn apply(&mut self, objects: Vec<Object>) -> Result<(), MeshError> {
        self.log.push(format!("apply {}", objects.len()));
        Ok(())
    }
    fn delete(&mut self, refs: &[ObjectRef]) -> Result<(), MeshError> {
        self.log.push(format!("delete {}", refs.len()));
        Ok(())
    }
    fn inject(&mut self, fault: &Fault) -> Result<(), MeshError> {
        self.log.push(format!("fault {fault}"));
        Ok(())
    }
}

pub(super) fn scenario(text: &str) -> Scenario {
    parse_scenario(&Tree::Fs, Path::new("s.yaml"), text).expect("valid scenario")
}

fn ok(status: Status) -> Outcome {
    let mut o = Outcome::with_status(status);
    o.body = "upstream connect error".into();
    o.server_log = Some("[2026-01-01T00:00:00Z] \"- - -\" 0 NR filter_chain_not_found".into());
    o
}

const THREE_STEPS: &str = "\
name: three steps
steps:
  - request: {from: legacy/sleep, to: httpbin.foo:8000}
    expect: {status: reset}
  - advance: 2h
  - fault: {type: istiod-down}
  - delete: [{kind: PeerAuthentication, namespace: foo, name: default}]
  - request: {from: legacy/sleep, to: httpbin.foo:8000}
    expect: {status: 200}
";

#[test]
fn steps_run_in_order_and_a_failed_expectation_does_not_stop_the_scenario() {
    let mut mesh = Scripted {
        answers: VecDeque::from([
            Ok(Outcomes::repeated(ok(Status::Http(200)), 1)),
            Ok(Outcomes::repeated(ok(Status::Http(200)), 1)),
        ]),
        ..Scripted::default()
    };
    let reports = drive(&mut mesh, &scenario(THREE_STEPS), &mut None);
    assert_eq!(
        mesh.log,
        [
            "request httpbin.foo:8000",
            "advance 7200",
            "fault istiod-down",
            "delete 1",
            "request httpbin.foo:8000"
        ]
    );
    let verdicts: Vec<Verdict> = reports.iter().map(|r| r.verdict).collect();
    use Verdict::*;
    assert_eq!(verdicts, [Failed, Passed, Passed, Passed, Passed]);
    assert_eq!(reports[0].line, 3);
    assert_eq!(reports[0].mismatches[0].actual, "200");
    assert!(reports[0]
        .evidence
        .iter()
        .any(|e| e.starts_with("server log: ") && e.contains("NR filter_chain_not_found")));
    assert!(reports[0]
        .evidence
        .contains(&"body: upstream connect error".to_string()));
    assert!(
        reports[4].evidence.is_empty(),
        "no evidence for a passing step"
    );
}

#[test]
fn a_mesh_error_stops_the_scenario_as_an_error() {
    let mut mesh = Scripted {
        answers: VecDeque::from([Err(MeshError("unknown workload legacy/sleep".into()))]),
        ..Scripted::default()
    };
    let reports = drive(&mut mesh, &scenario(THREE_STEPS), &mut None);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].verdict, Verdict::Error);
    assert_eq!(
        reports[0].error.as_deref(),
        Some("unknown workload legacy/sleep")
    );
    assert_eq!(mesh.log.len(), 1, "nothing runs after an error");
}

#[test]
fn advance_summary_shows_the_new_virtual_time() {
    let mut mesh = Scripted {
        now: SimTime::EPOCH,
        ..Scripted::default()
    };
    let reports = drive(
        &mut mesh,
        &scenario("name: n\nsteps:\n  - advance: 25h\n"),
        &mut None,
    );
    assert_eq!(reports[0].summary, "advance 25h (now 2026-01-02T01:00:00Z)");
}

#[test]
fn scenario_verdict_is_the_worst_step() {
    let s = scenario("name: n\nsteps:\n  - advance: 1h\n");
    let report = run_scenario(&s);
    assert_eq!(report.verdict, Verdict::Passed);
    assert_eq!(report.file, "s.yaml");
}

#[test]
fn a_metric_expectation_that_does_not_hold_fails_its_step() {
    let s = parse_scenario(
        &Tree::Fs,
        Path::new("s.yaml"),
        "name: n\nsteps:\n  - advance: 1h\n    expect:\n      metrics:\n        - {name: citadel_server_csr_count, value: 99}\n",
    )
    .unwrap();
    let report = run_scenario(&s);
    assert_eq!(report.verdict, Verdict::Failed);
    let m = &report.steps[0].mismatches[0];
    assert_eq!(m.field, "metrics");
    assert_eq!(m.expected, "citadel_server_csr_count 99");
    assert_eq!(m.actual, "0 (sum of 0 matching series)");
}

#[test]
fn a_recording_that_would_exceed_its_sample_limit_is_an_error_not_unbounded_memory() {
    let s = parse_scenario(
        &Tree::Fs,
        Path::new("s.yaml"),
        "name: n\nsteps:\n  - advance: 1000d\n",
    )
    .unwrap();
    let opts = RunOptions {
        metrics_interval: Some(Duration::from_secs(1)),
        ..RunOptions::default()
    };
    let report = run_scenario_with(&s, opts);
    assert_eq!(report.verdict, Verdict::Error);
    let error = report.steps[0].error.as_deref().unwrap_or_default();
    assert!(error.contains("choose a longer interval"), "{error}");
}
