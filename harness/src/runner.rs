//! Runs scenarios: one fresh mesh per scenario, steps in order, scenarios in parallel across
//! cores, results in input order (callers sort by file path) so reports are byte-identical.

use std::io::IsTerminal;
use std::panic::{catch_unwind, AssertUnwindSafe};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;
use std::time::Duration;

use sim::diagnose::{diagnose, fix_for, Finding, Fix};
use sim::mesh::{MeshError, MeshOptions};
use sim::metrics::{Recorder, SeriesName, Snapshot};
use sim::model::{Object, ObjectRef};
use sim::request::RequestSpec;
use sim::vocab::join;
use sim::vocab::Protocol;
use sim::{Fault, Mesh, SimTime};
use sim::{Outcome, Outcomes};

use crate::expect::{check_with, diagnosed_outcome, Diagnosis, Mismatch};
use crate::scenario::{Action, MetricExpect, Scenario};

/// The result of a scenario or a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every expectation held.
    Passed,
    /// An expectation did not hold.
    Failed,
    /// The scenario could not run (the mesh rejected a step as bad input).
    Error,
}

/// What one step did.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// 1-based position in `steps`.
    pub index: usize,
    /// Line in the scenario file (0 when unknown).
    pub line: usize,
    /// `request`, `advance`, `apply`, `delete`, `fault`, or `build` for building the mesh.
    pub kind: String,
    /// One line saying what the step did.
    pub summary: String,
    /// Passed, failed or error.
    pub verdict: Verdict,
    /// Expectations that did not hold.
    pub mismatches: Vec<Mismatch>,
    /// The mesh's error, when the step could not run.
    pub error: Option<String>,
    /// Evidence for a failure: body, details, TLS error and the proxies' log lines.
    pub evidence: Vec<String>,
    /// The outcomes of a request step, grouped by result (a group's first request whole).
    pub outcomes: Outcomes,
}

/// What one scenario did.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    /// The scenario file.
    pub file: String,
    /// `name`.
    pub name: String,
    /// Passed, failed or error.
    pub verdict: Verdict,
    /// Steps run (a scenario stops at its first error).
    pub steps: Vec<StepReport>,
    /// Loading notes: `FILE:LINE: warning: ...`.
    pub warnings: Vec<String>,
    /// The recorded metrics, when the run asked for them ([`RunOptions::metrics_interval`]).
    #[serde(skip)]
    pub metrics: Option<Recorder>,
}

/// How to run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Draw a progress bar on stderr (only drawn when stderr is a terminal).
    pub progress: bool,
    /// Record each scenario's metrics after every step and at this interval across clock
    /// moves (`run --metrics-out`).
    pub metrics_interval: Option<Duration>,
}

/// Runs every scenario in parallel; reports come back in the same order.
pub fn run_scenarios(scenarios: &[Scenario], opts: RunOptions) -> Vec<ScenarioReport> {
    let bar = if opts.progress && std::io::stderr().is_terminal() {
        let bar = ProgressBar::with_draw_target(
            Some(scenarios.len() as u64),
            ProgressDrawTarget::stderr(),
        );
        if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} {wide_msg}") {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let reports = scenarios
        .par_iter()
        .map(|s| {
            let report = run_scenario_with(s, opts);
            bar.inc(1);
            bar.set_message(s.name.clone());
            report
        })
        .collect();
    bar.finish_and_clear();
    reports
}

/// Runs one scenario on a fresh mesh. A panic inside the mesh is reported as an error of this
/// scenario rather than taking the whole run down.
pub fn run_scenario(scenario: &Scenario) -> ScenarioReport {
    run_scenario_with(scenario, RunOptions::default())
}

/// [`run_scenario`] with options (metrics recording).
pub fn run_scenario_with(scenario: &Scenario, opts: RunOptions) -> ScenarioReport {
    let mut metrics = None;
    let steps = match catch_unwind(AssertUnwindSafe(|| {
        run_steps(scenario, opts.metrics_interval, &mut metrics)
    })) {
        Ok(steps) => steps,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            vec![error_step(
                0,
                0,
                "build",
                "the mesh",
                format!("internal error (panic): {msg}"),
            )]
        }
    };
    let verdict = steps
        .iter()
        .map(|s| s.verdict)
        .max()
        .unwrap_or(Verdict::Passed);
    ScenarioReport {
        file: scenario.file.display().to_string(),
        name: scenario.name.clone(),
        verdict,
        steps,
        warnings: scenario.warnings.iter().map(ToString::to_string).collect(),
        metrics,
    }
}

fn run_steps(
    scenario: &Scenario,
    metrics_interval: Option<Duration>,
    metrics: &mut Option<Recorder>,
) -> Vec<StepReport> {
    let opts = MeshOptions {
        seed: scenario.seed,
        ..MeshOptions::default()
    };
    match Mesh::build(scenario.resources.clone(), &scenario.faults, opts) {
        Ok(mut mesh) => {
            *metrics = metrics_interval.map(|every| {
                let mut r = Recorder::new(mesh.now(), every);
                r.after_step("build".into(), sim::metrics::snapshot(&mesh));
                r
            });
            drive(&mut mesh, scenario, metrics)
        }
        Err(e) => vec![error_step(0, 0, "build", "build the mesh", e.0)],
    }
}

/// What the runner needs from a mesh; `Mesh` is the one implementation outside tests.
trait Driver {
    fn request(&mut self, req: &RequestSpec) -> Result<Outcomes, MeshError>;
    fn advance(&mut self, by: Duration);
    fn now(&self) -> SimTime;
    fn apply(&mut self, objects: Vec<Object>) -> Result<(), MeshError>;
    fn delete(&mut self, refs: &[ObjectRef]) -> Result<(), MeshError>;
    fn inject(&mut self, fault: &Fault) -> Result<(), MeshError>;
    /// Every metric now; `None` when the driver has none.
    fn metrics(&self) -> Option<Snapshot> {
        None
    }
    /// Moves the clock, calling `sample` with the metrics at each of `stops` on the way.
    fn advance_sampled(
        &mut self,
        by: Duration,
        _stops: &[SimTime],
        _sample: &mut dyn FnMut(Snapshot),
    ) {
        self.advance(by)
    }
    /// What a request sends (its protocol, else its destination port's); `None` when the
    /// driver cannot tell.
    fn protocol_of(&self, _req: &RequestSpec) -> Option<Protocol> {
        None
    }
    /// The diagnosis of one outcome, from its Evidence, and the first finding's
    /// machine-applicable fix; `None` when the driver has no engine.
    fn diagnosis(
        &self,
        _req: &RequestSpec,
        _outcome: &Outcome,
    ) -> Option<(Vec<Finding>, Option<Fix>)> {
        None
    }
}

impl Driver for Mesh {
    fn request(&mut self, req: &RequestSpec) -> Result<Outcomes, MeshError> {
        Mesh::request(self, req)
    }
    fn advance(&mut self, by: Duration) {
        Mesh::advance(self, by)
    }
    fn now(&self) -> SimTime {
        Mesh::now(self)
    }
    fn apply(&mut self, objects: Vec<Object>) -> Result<(), MeshError> {
        Mesh::apply(self, objects)
    }
    fn delete(&mut self, refs: &[ObjectRef]) -> Result<(), MeshError> {
        Mesh::delete(self, refs)
    }
    fn inject(&mut self, fault: &Fault) -> Result<(), MeshError> {
        Mesh::inject(self, fault)
    }
    fn metrics(&self) -> Option<Snapshot> {
        Some(sim::metrics::snapshot(self))
    }
    fn advance_sampled(
        &mut self,
        by: Duration,
        stops: &[SimTime],
        sample: &mut dyn FnMut(Snapshot),
    ) {
        Mesh::advance_sampled(self, by, stops, |m| sample(sim::metrics::snapshot(m)))
    }
    fn protocol_of(&self, req: &RequestSpec) -> Option<Protocol> {
        Mesh::request_protocol(self, req).ok()
    }
    fn diagnosis(
        &self,
        req: &RequestSpec,
        outcome: &Outcome,
    ) -> Option<(Vec<Finding>, Option<Fix>)> {
        let ev = self.evidence(req, outcome);
        let findings = diagnose(&ev);
        let fix = findings.first().and_then(|f| fix_for(f, &ev));
        Some((findings, fix))
    }
}

/// Does what one step's action says to a mesh: the one mapping from a step to mesh calls, used
/// by the runner and by `fix_verifies`' replay of the earlier steps (so the replayed copy is in
/// the state the step saw). A request step's outcomes come back; other steps give none.
fn perform(mesh: &mut impl Driver, action: &Action) -> Result<Outcomes, MeshError> {
    match action {
        Action::Request { request, .. } => mesh.request(request),
        Action::Advance(_, by) => {
            mesh.advance(*by);
            Ok(Outcomes::new())
        }
        Action::Apply(objects) => mesh.apply(objects.clone()).map(|()| Outcomes::new()),
        Action::Delete(refs) => mesh.delete(refs).map(|()| Outcomes::new()),
        Action::Fault(fault) => mesh.inject(fault).map(|()| Outcomes::new()),
    }
}

/// One line saying what a step does (before it runs; `advance` adds the new time after).
fn summary_of(mesh: &impl Driver, action: &Action) -> String {
    match action {
        Action::Request { request, .. } => describe_request(
            request,
            request.protocol.or_else(|| mesh.protocol_of(request)),
        ),
        Action::Advance(text, _) => format!("advance {text}"),
        Action::Apply(objects) => format!("apply {} object(s)", objects.len()),
        Action::Delete(refs) => {
            let names: Vec<String> = refs.iter().map(ToString::to_string).collect();
            format!("delete {}", names.join(", "))
        }
        Action::Fault(fault) => format!("fault {fault}"),
    }
}

/// Does a step's action, recording metrics across a clock move when a recording is on.
fn perform_recorded(
    mesh: &mut impl Driver,
    action: &Action,
    recorder: &mut Option<Recorder>,
) -> Result<Outcomes, MeshError> {
    match (action, recorder.as_mut()) {
        (Action::Advance(text, by), Some(rec)) => {
            let to = mesh.now().plus(*by);
            let points = rec.points_until(to);
            if points > sim::metrics::MAX_POINTS {
                return Err(MeshError(format!(
                    "metrics recording: advancing {text} would hold {points} samples per series \
                     at --metrics-interval {}s (at most {}); choose a longer interval",
                    rec.interval().as_secs(),
                    sim::metrics::MAX_POINTS
                )));
            }
            let stops = rec.grid_between(mesh.now(), to);
            mesh.advance_sampled(*by, &stops, &mut |snap| rec.on_grid(snap));
            Ok(Outcomes::new())
        }
        _ => perform(mesh, action),
    }
}

/// Runs the steps in order; a failed expectation does not stop the scenario, an error does.
/// With a recorder, the metrics are recorded after every step.
fn drive(
    mesh: &mut impl Driver,
    scenario: &Scenario,
    recorder: &mut Option<Recorder>,
) -> Vec<StepReport> {
    let mut reports = Vec::new();
    for (i, step) in scenario.steps.iter().enumerate() {
        let index = i + 1;
        let kind = step.action.keyword();
        let summary = summary_of(mesh, &step.action);
        let performed = perform_recorded(mesh, &step.action, recorder);
        if let (Some(rec), Some(snap)) = (recorder.as_mut(), mesh.metrics()) {
            rec.after_step(format!("step {index} ({summary})"), snap);
        }
        let report = match performed {
            Err(e) => error_step(index, step.line, kind, &summary, e.0),
            Ok(outcomes) => match &step.action {
                Action::Request { request, expect } => {
                    let wanted = expect.diagnosis.is_some() || expect.fix_verifies;
                    let diagnosis = diagnosed_outcome(&outcomes)
                        .filter(|_| wanted)
                        .and_then(|o| mesh.diagnosis(request, o))
                        .map(|(findings, fix)| Diagnosis {
                            fix: expect.fix_verifies.then(|| match (&fix, findings.first()) {
                                (Some(fix), _) => fix::verify(scenario, i, fix, request),
                                (None, Some(first)) => Err(format!(
                                    "the first finding, {}, has no machine-applicable remedy",
                                    first.code
                                )),
                                (None, None) => Err("no finding to take a remedy from".into()),
                            }),
                            findings,
                        });
                    let (mismatches, culprit) = check_with(expect, &outcomes, diagnosis.as_ref());
                    let evidence = culprit
                        .filter(|_| !mismatches.is_empty())
                        .map(evidence)
                        .unwrap_or_default();
                    StepReport {
                        index,
                        line: step.line,
                        kind: kind.into(),
                        summary,
                        verdict: if mismatches.is_empty() {
                            Verdict::Passed
                        } else {
                            Verdict::Failed
                        },
                        mismatches,
                        error: None,
                        evidence,
                        outcomes,
                    }
                }
                Action::Advance(..) => passed_step(
                    index,
                    step.line,
                    kind,
                    format!("{summary} (now {})", mesh.now()),
                ),
                Action::Apply(_) | Action::Delete(_) | Action::Fault(_) => {
                    passed_step(index, step.line, kind, summary)
                }
            },
        };
        let mut report = report;
        if report.verdict != Verdict::Error && !step.metrics.is_empty() {
            let missed = check_metrics(&step.metrics, mesh.metrics().as_ref());
            if !missed.is_empty() {
                report.verdict = Verdict::Failed;
                report.mismatches.extend(missed);
            }
        }
        let stop = report.verdict == Verdict::Error;
        reports.push(report);
        if stop {
            break;
        }
    }
    reports
}

/// The `expect.metrics` entries that do not hold in `snapshot` (all of them when the driver
/// has no metrics).
fn check_metrics(expected: &[MetricExpect], snapshot: Option<&Snapshot>) -> Vec<Mismatch> {
    expected
        .iter()
        .filter_map(|m| {
            let series = SeriesName(m.name, &m.labels).to_string();
            let expected = format!("{series} {}", m.bound);
            let Some(snap) = snapshot else {
                return Some(Mismatch {
                    field: "metrics".into(),
                    expected,
                    actual: "metrics not available".into(),
                });
            };
            let matched: Vec<f64> = snap.matching(m.name, &m.labels).map(|s| s.value).collect();
            // `+ 0.0`: an empty f64 sum is -0.0, which would print as `-0`.
            let sum: f64 = matched.iter().sum::<f64>() + 0.0;
            (!m.bound.holds(sum)).then(|| Mismatch {
                field: "metrics".into(),
                expected,
                actual: format!("{sum} (sum of {} matching series)", matched.len()),
            })
        })
        .collect()
}

/// `GET foo/sleep -> httpbin.foo:8000/headers (x20, 10 at once)`, or `TCP foo/sleep -> ...`
/// when the request sends (`protocol`: its own, else its port's) a TCP payload.
pub fn describe_request(r: &RequestSpec, protocol: Option<Protocol>) -> String {
    let mut s = match protocol.unwrap_or_default() {
        Protocol::Http => format!("{} {} -> {}{}", r.method, r.from, r.to, r.path),
        Protocol::Tcp => format!("TCP {} -> {}", r.from, r.to),
    };
    if r.count > 1 {
        s.push_str(&format!(" (x{}, {} at once)", r.count, r.concurrency));
    }
    s
}

/// The lines a reader needs to see why a request failed.
fn evidence(o: &Outcome) -> Vec<String> {
    let mut e = vec![format!("status: {}", o.status)];
    if !o.response_flags.is_empty() {
        e.push(format!("response_flags: {}", join(&o.response_flags, ",")));
    }
    if !o.details.is_empty() {
        e.push(format!("details: {}", o.details));
    }
    if let Some(t) = &o.tls_error {
        e.push(format!("tls_error: {t}"));
    }
    if let Some(p) = &o.peer_principal {
        e.push(format!("peer_principal: {p}"));
    }
    if !o.body.is_empty() {
        e.push(format!("body: {}", o.body.trim_end()));
    }
    if let Some(l) = &o.client_log {
        e.push(format!("client log: {l}"));
    }
    if let Some(l) = &o.server_log {
        e.push(format!("server log: {l}"));
    }
    e
}

fn passed_step(index: usize, line: usize, kind: &str, summary: String) -> StepReport {
    StepReport {
        index,
        line,
        kind: kind.into(),
        summary,
        verdict: Verdict::Passed,
        mismatches: Vec::new(),
        error: None,
        evidence: Vec::new(),
        outcomes: Outcomes::new(),
    }
}

fn error_step(index: usize, line: usize, kind: &str, summary: &str, error: String) -> StepReport {
    StepReport {
        verdict: Verdict::Error,
        error: Some(error),
        ..passed_step(index, line, kind, summary.to_string())
    }
}

mod fix;
#[cfg(test)]
mod tests;
