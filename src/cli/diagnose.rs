//! `meshsim diagnose`: why requests fail on a real cluster, from what it exports — a resources
//! dump, `istioctl proxy-config secret` dumps, istio-proxy and istiod logs — then a replay of
//! each flow in the simulator (twin certificates, real handshakes) that checks the logged
//! symptom and the first finding's remedy.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Value};
use sim::artifacts::flows::{flow_failed, LoggedFlow};
use sim::artifacts::{
    parse_istiod_log, parse_proxy_log, parse_rfc3339, parse_secret_dump, replay, ClusterArtifacts,
    Replay,
};
use sim::diagnose::{diagnose, Finding};
use sim::model::{read_input, Named};
use sim::request::RequestSpec;
use sim::vocab::{join, HostPort, WorkloadRef};
use sim::Outcome;

use super::output::emit_then;
use super::{DiagnoseArgs, Format, EXIT_BAD_INPUT, EXIT_OK};

/// One diagnosed flow.
struct Diagnosed {
    request: RequestSpec,
    logged: Option<Outcome>,
    findings: Vec<Finding>,
    replay: Replay,
}

/// Runs `meshsim diagnose` and returns the exit code: 0 when diagnosed (whatever was found),
/// 2 on bad input.
pub(super) fn diagnose_cmd(args: DiagnoseArgs) -> i32 {
    match run(&args) {
        Ok((art, flows)) => {
            let text = match args.format {
                Format::Human => human(&art, &flows),
                Format::Json => to_json(&art, &flows),
            };
            emit_then("diagnose", &text, None, EXIT_OK)
        }
        Err(e) => {
            eprintln!("meshsim diagnose: {e}");
            EXIT_BAD_INPUT
        }
    }
}

fn read(path: &Path) -> Result<String, String> {
    read_input(path, Named::Directly).map_err(|e| format!("{}: {e}", path.display()))
}

/// `POD.NAMESPACE=FILE` of `--secret`.
fn secret_arg(text: &str) -> Result<(String, String, PathBuf), String> {
    let bad = || {
        format!("--secret must be POD.NAMESPACE=FILE (as `istioctl proxy-config secret POD.NAMESPACE -o json > FILE`), got {text:?}")
    };
    let (target, file) = text.split_once('=').ok_or_else(bad)?;
    let (pod, ns) = target.rsplit_once('.').ok_or_else(bad)?;
    if pod.is_empty() || ns.is_empty() || file.is_empty() {
        return Err(bad());
    }
    Ok((pod.to_string(), ns.to_string(), PathBuf::from(file)))
}

fn load(args: &DiagnoseArgs) -> Result<ClusterArtifacts, String> {
    // A cluster dump carries many kinds and fields meshsim does not model: they are counted in
    // a note instead of one stderr line each (`meshsim check -f` lists them).
    let (resources, _faults) = harness::load_configuration_with(
        &harness::Tree::Fs,
        &args.resources,
        sim::model::LoadOptions { namespace: None },
    )
    .map_err(|e| e.to_string())?;
    super::config::release_check(&resources)?;
    let warnings = resources.warnings.len();
    let mut secrets = Vec::new();
    for s in &args.secrets {
        let (pod, ns, path) = secret_arg(s)?;
        let file = path.display().to_string();
        let dump = parse_secret_dump(&file, &read(&path)?).map_err(|e| e.to_string())?;
        secrets.push((file, pod, ns, dump));
    }
    let mut logs = Vec::new();
    for path in &args.access_logs {
        let file = path.display().to_string();
        let log = parse_proxy_log(&file, &read(path)?).map_err(|e| e.to_string())?;
        logs.push((file, log));
    }
    let mut istiod = Vec::new();
    for path in &args.istiod_logs {
        let file = path.display().to_string();
        let log = parse_istiod_log(&file, &read(path)?).map_err(|e| e.to_string())?;
        istiod.push((file, log));
    }
    let at = match &args.at {
        Some(t) => Some(parse_rfc3339(t).ok_or_else(|| {
            format!("--at must be an RFC 3339 time such as 2026-01-01T00:00:00Z, got {t:?}")
        })?),
        None => None,
    };
    let mut art =
        ClusterArtifacts::new(resources, secrets, logs, istiod, at).map_err(|e| e.to_string())?;
    if warnings > 0 {
        art.notes.insert(
            0,
            format!(
                "the resources carry {warnings} object(s) or field(s) meshsim does not model \
                 (skipped kinds, unmodelled fields); `meshsim check -f` lists each"
            ),
        );
    }
    Ok(art)
}

fn named_request(args: &DiagnoseArgs) -> Result<Option<RequestSpec>, String> {
    let (Some(from), Some(to)) = (&args.from, &args.to) else {
        return Ok(None);
    };
    let from: WorkloadRef = from
        .parse()
        .map_err(|e| format!("--from must be NAMESPACE/WORKLOAD, got {from:?}: {e}"))?;
    let to: HostPort = to
        .parse()
        .map_err(|e| format!("--to must be HOST:PORT, got {to:?}: {e}"))?;
    Ok(Some(RequestSpec {
        from,
        to,
        path: "/".into(),
        method: "GET".into(),
        headers: Default::default(),
        protocol: None,
        count: 1,
        concurrency: 1,
    }))
}

fn run(args: &DiagnoseArgs) -> Result<(ClusterArtifacts, Vec<Diagnosed>), String> {
    let art = load(args)?;
    let targets: Vec<(RequestSpec, Option<LoggedFlow>)> = match named_request(args)? {
        Some(req) => {
            art.resources
                .find_workload(&req.from)
                .map_err(|e| e.to_string())?;
            let logged = art.flow(&req);
            let req = logged.as_ref().map_or(req, |f| {
                let mut r = f.request();
                r.to = f.to.clone();
                r
            });
            vec![(req, logged)]
        }
        None => art
            .flows()
            .0
            .into_iter()
            .filter(flow_failed)
            .map(|f| (f.request(), Some(f)))
            .collect(),
    };
    let mut art = art;
    let unresolved = art.flows().1;
    if unresolved > 0 {
        art.notes.push(format!(
            "{unresolved} access-log line(s) name a pod IP or Service port the resources do not hold; they are not diagnosed"
        ));
    }
    for s in &art.secrets {
        let sidecar = art
            .resources
            .workload(&s.workload.namespace, &s.workload.name)
            .is_some_and(|w| art.resources.has_sidecar(w));
        if !sidecar {
            art.notes.push(format!(
                "--secret {}: {} runs no sidecar according to the resources, so its secrets are not read",
                s.pod, s.workload
            ));
        }
    }
    let mut out = Vec::new();
    for (req, logged) in targets {
        out.push(diagnose_flow(&art, req, logged, args.seed)?);
    }
    Ok((art, out))
}

fn diagnose_flow(
    art: &ClusterArtifacts,
    req: RequestSpec,
    logged: Option<LoggedFlow>,
    seed: u64,
) -> Result<Diagnosed, String> {
    let logged_outcome = logged.as_ref().map(|f| art.observed(f));
    let fail = |e: sim::mesh::MeshError| format!("replaying {} -> {}: {e}", req.from, req.to);
    // Without a logged request the replay's outcome stands in for what the client saw.
    let observed = match &logged_outcome {
        Some(o) => o.clone(),
        None => {
            let ev = art.evidence(&req, &Outcome::with_status(sim::vocab::Status::Reset));
            replay(art, &req, &ev, &[], None, seed)
                .map_err(fail)?
                .outcome
        }
    };
    let ev = art.evidence(&req, &observed);
    let findings = diagnose(&ev);
    let mut r = replay(art, &req, &ev, &findings, logged_outcome.as_ref(), seed).map_err(fail)?;
    if logged_outcome.is_none() {
        r.notes.push(format!(
            "the logs show no request {} -> {}: the findings read the replay's outcome",
            req.from, req.to
        ));
    }
    Ok(Diagnosed {
        request: req,
        logged: logged_outcome,
        findings,
        replay: r,
    })
}

/// The symptom fields of an outcome, as JSON.
fn symptom(o: &Outcome) -> Value {
    json!({
        "status": o.status,
        "response_flags": o.response_flags,
        "tls_error": o.tls_error,
    })
}

/// `replay` of the JSON contract: the symptom, `matches_logs`, and the remedy's check.
fn replay_json(d: &Diagnosed) -> Value {
    let mut v = symptom(&d.replay.outcome);
    v["matches_logs"] = json!(d.replay.matches_logs);
    v["remedy"] = match &d.replay.remedy {
        Some(r) => json!({
            "code": r.code,
            "summary": r.summary,
            "status": r.outcome.status,
            "succeeded": r.outcome.status.is_success(),
        }),
        None => Value::Null,
    };
    v
}

#[derive(Serialize)]
struct FlowJson<'a> {
    from: String,
    to: String,
    logged: Option<Value>,
    findings: &'a [Finding],
    replay: Value,
    notes: &'a [String],
}

fn flow_json(d: &Diagnosed) -> FlowJson<'_> {
    FlowJson {
        from: d.request.from.to_string(),
        to: d.request.to.to_string(),
        logged: d.logged.as_ref().map(symptom),
        findings: &d.findings,
        replay: replay_json(d),
        notes: &d.replay.notes,
    }
}

/// `{"findings", "replay"}` of the first flow (the contract), its `from`/`to`/`logged`, then
/// every flow under `flows` and the loaders' notes.
fn to_json(art: &ClusterArtifacts, flows: &[Diagnosed]) -> String {
    let mut v = match flows.first() {
        Some(d) => serde_json::to_value(flow_json(d)).unwrap_or(Value::Null),
        None => json!({"findings": [], "replay": null}),
    };
    v["incident_time"] = json!(art.at.to_string());
    v["flows"] = flows
        .iter()
        .map(|d| serde_json::to_value(flow_json(d)).unwrap_or(Value::Null))
        .collect();
    v["artifact_notes"] = json!(art.notes);
    let mut s = serde_json::to_string_pretty(&v)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise: {e}\"}}"));
    s.push('\n');
    s
}

fn symptom_line(o: &Outcome) -> String {
    let mut s = o.status.to_string();
    if !o.response_flags.is_empty() {
        s.push_str(&format!(" {}", join(&o.response_flags, ",")));
    }
    if let Some(e) = &o.tls_error {
        s.push_str(&format!(" tls_error {e}"));
    }
    s
}

fn human(art: &ClusterArtifacts, flows: &[Diagnosed]) -> String {
    let mut s = format!("incident time   {}\n", art.at);
    for n in &art.notes {
        s.push_str(&format!("note            {n}\n"));
    }
    if flows.is_empty() {
        s.push_str("no failing request in the logs (name one with --from/--to)\n");
        return s;
    }
    for d in flows {
        s.push_str(&format!("\n{} -> {}\n", d.request.from, d.request.to));
        let logged = d
            .logged
            .as_ref()
            .map_or("- (no request in the logs)".to_string(), symptom_line);
        s.push_str(&format!("{:<16}{logged}\n", "logged"));
        s.push_str(&format!("findings ({})\n", d.findings.len()));
        for f in &d.findings {
            s.push_str(&format!("  {} [{}]: {}\n", f.code, f.severity, f.message));
            for e in &f.evidence {
                s.push_str(&format!("    evidence: {e}\n"));
            }
            s.push_str(&format!("    remedy: {}\n", f.remedy));
        }
        let matches = match d.replay.matches_logs {
            Some(true) => " (matches the logs)",
            Some(false) => " (DIFFERS from the logs)",
            None => "",
        };
        s.push_str(&format!(
            "{:<16}{}{matches}\n",
            "replay",
            symptom_line(&d.replay.outcome)
        ));
        match &d.replay.remedy {
            Some(r) => s.push_str(&format!(
                "{:<16}{}: {} -> {}{}\n",
                "remedy replay",
                r.code,
                r.summary,
                symptom_line(&r.outcome),
                if r.outcome.status.is_success() {
                    " (the flow succeeds)"
                } else {
                    " (still failing)"
                }
            )),
            None => s.push_str(&format!(
                "{:<16}the first finding has no machine-applicable remedy\n",
                "remedy replay"
            )),
        }
        for n in &d.replay.notes {
            s.push_str(&format!("note            {n}\n"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_arguments_split_at_the_last_dot_and_the_equals() {
        let (pod, ns, file) = secret_arg("httpbin-7d9c-x2x9k.foo=secrets/httpbin.json").unwrap();
        assert_eq!((pod.as_str(), ns.as_str()), ("httpbin-7d9c-x2x9k", "foo"));
        assert_eq!(file, PathBuf::from("secrets/httpbin.json"));
        for bad in ["httpbin.foo", "httpbin=f.json", ".foo=f.json", "x.foo="] {
            assert!(
                secret_arg(bad).unwrap_err().contains("POD.NAMESPACE=FILE"),
                "{bad}"
            );
        }
    }
}
