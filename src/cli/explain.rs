//! `meshsim explain`: the analysis path's decision trace of one request, beside the data path's
//! observed outcome of the same request.

use serde::Serialize;
use sim::analysis::{Analyzer, Prediction, TraceStep};
use sim::diagnose::Finding;
use sim::policy::Decision;
use sim::vocab::{join, FindingCode, ResponseFlag};
use sim::vocab::{Protocol, Status};
use sim::Outcome;

use super::config::build_mesh;
use super::output::emit_then;
use super::probe::{request_line, request_spec, OutcomeJson};
use super::{ExplainArgs, Format, EXIT_BAD_INPUT, EXIT_OK};

/// One decision as JSON: the flow step, the deciding resource (`Kind/ns/name`, or null for a
/// default) and why.
#[derive(Debug, Serialize)]
struct DecisionJson<'a> {
    step: &'a str,
    resource: Option<String>,
    reason: &'a str,
}

/// One request-flow step as JSON.
#[derive(Debug, Serialize)]
struct StepJson<'a> {
    step: &'a str,
    summary: &'a str,
    decisions: Vec<DecisionJson<'a>>,
}

/// The prediction without its trace (the trace is printed as `steps`).
#[derive(Debug, Serialize)]
struct PredictionJson<'a> {
    status: Status,
    response_flags: &'a [ResponseFlag],
    details: &'a str,
    mtls: bool,
    tls_error: Option<&'a str>,
    peer_principal: Option<&'a str>,
    codes: &'a [FindingCode],
}

/// `explain --format json`.
#[derive(Debug, Serialize)]
struct ExplainJson<'a> {
    steps: Vec<StepJson<'a>>,
    prediction: PredictionJson<'a>,
    observed: OutcomeJson<'a>,
    /// `UnmodelledField` findings for this request: skipped kinds and fields whose hosts or
    /// namespace it touches (a VirtualService or Sidecar the trace cannot show).
    notes: &'a [Finding],
}

/// What `trace_and_observe` hands the printers.
struct Explained {
    protocol: Protocol,
    prediction: Prediction,
    observed: Outcome,
    /// Faults or `--at` changed the mesh the prediction assumes.
    altered: bool,
    /// The diagnosis's `UnmodelledField` findings for this request.
    notes: Vec<Finding>,
}

/// Runs `meshsim explain` and returns the exit code.
pub(super) fn explain(args: ExplainArgs) -> i32 {
    match trace_and_observe(&args) {
        Ok(e) => {
            let text = match args.format {
                Format::Human => human(&args, &e),
                Format::Json => json(&e.prediction, &e.observed, &e.notes),
            };
            emit_then("explain", &text, None, EXIT_OK)
        }
        Err(e) => {
            eprintln!("{e}");
            EXIT_BAD_INPUT
        }
    }
}

/// Predicts on the configuration as loaded, then sends the same request through a mesh built
/// with the faults and clock of the arguments; the flag says whether faults (the scenario's or
/// `--fault`) or `--at` altered the mesh the prediction assumes. The protocol is what the
/// request sent (`--protocol`, else the destination port's default).
fn trace_and_observe(args: &ExplainArgs) -> Result<Explained, String> {
    let r = &args.request;
    let request = request_spec("explain", r)?;
    let (resources, mut faults) = r.config.load()?;
    let prediction = Analyzer::new(&resources)
        .predict(&request)
        .map_err(|e| format!("meshsim explain: {e}"))?;
    faults.extend(r.faults.iter().cloned());
    let altered = !faults.is_empty() || r.at.is_some();
    let mut mesh = build_mesh("explain", resources, &faults, r.seed, r.at)?;
    let protocol = mesh
        .request_protocol(&request)
        .map_err(|e| format!("meshsim explain: {e}"))?;
    let observed = mesh
        .request(&request)
        .map_err(|e| format!("meshsim explain: {e}"))?
        .into_first()
        .ok_or_else(|| "meshsim explain: the mesh returned no outcome".to_string())?;
    // The same rule `probe` prints, so a skipped VirtualService or Sidecar that targets the
    // probed host is named here too, not only on stderr as a loader warning.
    let notes = sim::diagnose::diagnose(&mesh.evidence(&request, &observed))
        .into_iter()
        .filter(|f| f.code == FindingCode::UnmodelledField)
        .collect();
    Ok(Explained {
        protocol,
        prediction,
        observed,
        altered,
        notes,
    })
}

fn decision_line(d: &Decision) -> String {
    match &d.resource {
        Some(r) => format!("{r} ({}): {}", d.step, d.reason),
        None => format!("(built-in default) ({}): {}", d.step, d.reason),
    }
}

fn list_or_dash<T: std::fmt::Display>(items: &[T], sep: &str) -> String {
    if items.is_empty() {
        "-".into()
    } else {
        join(items, sep)
    }
}

fn human(args: &ExplainArgs, e: &Explained) -> String {
    let (p, o, altered) = (&e.prediction, &e.observed, e.altered);
    let r = &args.request;
    let mut s = request_line(r, e.protocol);
    s.push_str("decision trace (analysis path, configuration only):\n");
    for (i, step) in p.trace.iter().enumerate() {
        s.push_str(&format!("  {}. {}: {}\n", i + 1, step.step, step.summary));
        for d in &step.decisions {
            s.push_str(&format!("       - {}\n", decision_line(d)));
        }
    }
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    s.push_str(&format!(
        "predicted: status {}, mtls {}, flags {}, tls_error {}, codes {}\n",
        p.status,
        p.mtls,
        list_or_dash(&p.response_flags, ","),
        dash(&p.tls_error),
        list_or_dash(&p.codes, ","),
    ));
    s.push_str(&format!(
        "observed:  status {}, mtls {}, flags {}, tls_error {} (data path{})\n",
        o.status,
        o.mtls,
        list_or_dash(&o.response_flags, ","),
        dash(&o.tls_error),
        if altered { ", with faults/--at" } else { "" },
    ));
    if agrees(p, o) {
        s.push_str("the data path agrees with the prediction\n");
    } else {
        s.push_str(
            "the data path differs from the prediction (the prediction assumes healthy \
             certificates and a reachable istiod; faults, the clock or a scenario's faults \
             change that)\n",
        );
    }
    if !e.notes.is_empty() {
        s.push_str("not modelled (the answer may differ on a cluster):\n");
        for n in &e.notes {
            let what = n.evidence.join("; ");
            let message = n
                .message
                .split_once(": ")
                .map_or(n.message.as_str(), |(_, m)| m);
            s.push_str(&format!("  - {what}: {message}\n"));
        }
    }
    s
}

/// Whether the observed outcome is the predicted one in status, mTLS and response flags.
fn agrees(p: &Prediction, o: &Outcome) -> bool {
    p.status == o.status && p.mtls == o.mtls && p.response_flags == o.response_flags
}

fn step_json(step: &TraceStep) -> StepJson<'_> {
    StepJson {
        step: step.step,
        summary: &step.summary,
        decisions: step
            .decisions
            .iter()
            .map(|d| DecisionJson {
                step: d.step,
                resource: d.resource.as_ref().map(ToString::to_string),
                reason: &d.reason,
            })
            .collect(),
    }
}

fn json(p: &Prediction, o: &Outcome, notes: &[Finding]) -> String {
    let view = ExplainJson {
        steps: p.trace.iter().map(step_json).collect(),
        prediction: PredictionJson {
            status: p.status,
            response_flags: &p.response_flags,
            details: &p.details,
            mtls: p.mtls,
            tls_error: p.tls_error.as_deref(),
            peer_principal: p.peer_principal.as_deref(),
            codes: &p.codes,
        },
        observed: OutcomeJson::of(o),
        notes,
    };
    let mut s = serde_json::to_string_pretty(&view)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise: {e}\"}}"));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim::model::ObjectRef;
    use sim::vocab::Kind;

    fn prediction() -> Prediction {
        Prediction {
            status: Status::Reset,
            response_flags: Vec::new(),
            details: String::new(),
            mtls: false,
            tls_error: None,
            peer_principal: None,
            codes: vec![FindingCode::PlaintextToStrict],
            client_tls: None,
            server_roots: None,
            server_mode: Some(sim::model::MtlsMode::Strict),
            sni: None,
            trace: vec![TraceStep {
                step: "inbound-mtls",
                summary: "foo/httpbin accepts STRICT on target port 80".into(),
                decisions: vec![
                    Decision::by(
                        ObjectRef {
                            kind: Kind::PeerAuthentication,
                            namespace: "foo".into(),
                            name: "default".into(),
                        },
                        "peer-authentication/namespace",
                        "namespace-level mode STRICT",
                    ),
                    Decision::default("peer-authentication/default", "PERMISSIVE"),
                ],
            }],
        }
    }

    #[test]
    fn json_names_resources_and_marks_defaults_null() {
        let v: serde_json::Value = serde_json::from_str(&json(
            &prediction(),
            &Outcome::with_status(Status::Reset),
            &[],
        ))
        .unwrap();
        let d = &v["steps"][0]["decisions"];
        assert_eq!(d[0]["resource"], "PeerAuthentication/foo/default");
        assert_eq!(d[0]["step"], "peer-authentication/namespace");
        assert_eq!(d[1]["resource"], serde_json::Value::Null);
        assert_eq!(v["prediction"]["status"], "reset");
        assert_eq!(v["prediction"]["codes"][0], "PlaintextToStrict");
        assert_eq!(v["observed"]["status"], "reset");
        assert!(v["prediction"].get("trace").is_none());
    }

    #[test]
    fn agreement_compares_status_mtls_and_flags() {
        let p = prediction();
        assert!(agrees(&p, &Outcome::with_status(Status::Reset)));
        let mut o = Outcome::with_status(Status::Http(503));
        assert!(!agrees(&p, &o));
        o.status = Status::Reset;
        o.response_flags = vec![ResponseFlag::UpstreamConnectionFailure];
        assert!(!agrees(&p, &o));
    }
}
