//! `meshsim probe`: one request against a configuration, its outcome and findings.

use std::collections::BTreeMap;

use serde::Serialize;
use sim::diagnose::Finding;
use sim::request::RequestSpec;
use sim::vocab::Protocol;
use sim::vocab::Status;
use sim::vocab::{join, HostPort, ResponseFlag, WorkloadRef};
use sim::Outcome;

use super::config::build_mesh;
use super::output::emit_then;
use super::{Format, ProbeArgs, ProtocolArg, RequestArgs, EXIT_BAD_INPUT, EXIT_OK};

/// The data-path outcome as `probe --format json` and `explain`'s `observed` print it.
#[derive(Debug, Serialize)]
pub(super) struct OutcomeJson<'a> {
    status: Status,
    response_flags: &'a [ResponseFlag],
    details: &'a str,
    mtls: bool,
    tls_error: Option<&'a str>,
    peer_principal: Option<&'a str>,
    body: &'a str,
    client_log: Option<&'a str>,
    server_log: Option<&'a str>,
}

impl<'a> OutcomeJson<'a> {
    /// The view of `o`.
    pub(super) fn of(o: &'a Outcome) -> OutcomeJson<'a> {
        OutcomeJson {
            status: o.status,
            response_flags: &o.response_flags,
            details: &o.details,
            mtls: o.mtls,
            tls_error: o.tls_error.as_deref(),
            peer_principal: o.peer_principal.as_deref(),
            body: &o.body,
            client_log: o.client_log.as_deref(),
            server_log: o.server_log.as_deref(),
        }
    }
}

/// The JSON shape of `probe --format json` (design.md, "CLI").
#[derive(Debug, Serialize)]
struct ProbeJson<'a> {
    #[serde(flatten)]
    outcome: OutcomeJson<'a>,
    findings: &'a [Finding],
}

/// Runs `meshsim probe` and returns the exit code.
pub(super) fn probe(args: ProbeArgs) -> i32 {
    match simulate_diagnosed("probe", &args.request) {
        Ok((protocol, outcome, findings)) => {
            let text = match args.format {
                Format::Human => human(&args.request, protocol, &outcome, &findings),
                Format::Json => json(&outcome, &findings),
            };
            emit_then("probe", &text, None, EXIT_OK)
        }
        Err(e) => {
            eprintln!("{e}");
            EXIT_BAD_INPUT
        }
    }
}

/// Builds the mesh (faults at time zero), advances the clock, sends one request, and runs the
/// diagnosis engine on the mesh's Evidence (what a cluster shows) — never on the injected faults.
/// Also returns what the request sent (`--protocol`, else the destination port's default).
pub(super) fn simulate_diagnosed(
    command: &str,
    args: &RequestArgs,
) -> Result<(Protocol, Outcome, Vec<Finding>), String> {
    let request = request_spec(command, args)?;
    let (resources, mut faults) = args.config.load()?;
    faults.extend(args.faults.iter().cloned());
    let mut mesh = build_mesh(command, resources, &faults, args.seed, args.at)?;
    let protocol = mesh
        .request_protocol(&request)
        .map_err(|e| format!("meshsim {command}: {e}"))?;
    let outcome = mesh
        .request(&request)
        .map_err(|e| format!("meshsim {command}: {e}"))?
        .into_first()
        .ok_or_else(|| format!("meshsim {command}: the mesh returned no outcome"))?;
    let findings = sim::diagnose::diagnose(&mesh.evidence(&request, &outcome));
    Ok((protocol, outcome, findings))
}

/// The request of `--from`/`--to`/`--path`/... with the arguments checked.
pub(super) fn request_spec(command: &str, args: &RequestArgs) -> Result<RequestSpec, String> {
    let bad = |m: String| format!("meshsim {command}: {m}");
    let from: WorkloadRef = args.from.parse().map_err(|e| {
        bad(format!(
            "--from must be NAMESPACE/WORKLOAD, got {:?}: {e}",
            args.from
        ))
    })?;
    let to: HostPort = args
        .to
        .parse()
        .map_err(|e| bad(format!("--to must be HOST:PORT, got {:?}: {e}", args.to)))?;
    let mut headers = BTreeMap::new();
    for h in &args.headers {
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| bad(format!("--header must be \"NAME: VALUE\", got {h:?}")))?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    let spec = RequestSpec {
        from,
        to,
        path: args.path.clone(),
        method: args.method.clone(),
        headers,
        protocol: args.protocol.map(|p| match p {
            ProtocolArg::Http => Protocol::Http,
            ProtocolArg::Tcp => Protocol::Tcp,
        }),
        count: 1,
        concurrency: 1,
    };
    spec.check().map_err(|e| bad(e.to_string()))?;
    Ok(spec)
}

/// The request as one line: `GET foo/sleep -> httpbin.foo:8000/path`, or `TCP from -> to`
/// when it sends (`protocol`: `--protocol`, else the port's default) a TCP payload.
pub(super) fn request_line(args: &RequestArgs, protocol: Protocol) -> String {
    match protocol {
        Protocol::Http => format!(
            "{} {} -> {}{}\n",
            args.method, args.from, args.to, args.path
        ),
        Protocol::Tcp => format!("TCP {} -> {}\n", args.from, args.to),
    }
}

fn human(args: &RequestArgs, protocol: Protocol, o: &Outcome, findings: &[Finding]) -> String {
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let mut s = request_line(args, protocol);
    let flags = if o.response_flags.is_empty() {
        "-".to_string()
    } else {
        join(&o.response_flags, ",")
    };
    for (k, v) in [
        ("status", o.status.to_string()),
        ("response_flags", flags),
        ("details", o.details.clone()),
        ("mtls", o.mtls.to_string()),
        ("tls_error", dash(&o.tls_error)),
        ("peer_principal", dash(&o.peer_principal)),
        ("client log", dash(&o.client_log)),
        ("server log", dash(&o.server_log)),
    ] {
        s.push_str(&format!("{k:<16}{v}\n"));
    }
    if !o.body.is_empty() {
        s.push_str(&format!("{:<16}{}\n", "body", o.body.trim_end()));
    }
    s.push_str(&format!("findings ({})\n", findings.len()));
    for f in findings {
        s.push_str(&format!("  {} [{}]: {}\n", f.code, f.severity, f.message));
        for e in &f.evidence {
            s.push_str(&format!("    evidence: {e}\n"));
        }
        s.push_str(&format!("    remedy: {}\n", f.remedy));
    }
    s
}

fn json(o: &Outcome, findings: &[Finding]) -> String {
    let view = ProbeJson {
        outcome: OutcomeJson::of(o),
        findings,
    };
    let mut s = serde_json::to_string_pretty(&view)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise: {e}\"}}"));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn request_args(extra: &[&str]) -> RequestArgs {
        let mut argv = vec![
            "meshsim",
            "probe",
            "-f",
            "x.yaml",
            "--from",
            "foo/sleep",
            "--to",
            "httpbin:8000",
        ];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).expect("valid arguments").command {
            Command::Probe(p) => p.request,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn json_has_the_documented_fields() {
        let mut o = Outcome::with_status(Status::Http(503));
        o.response_flags = vec![
            ResponseFlag::UpstreamConnectionFailure,
            ResponseFlag::UpstreamRetryLimitExceeded,
        ];
        o.tls_error = Some("CERTIFICATE_VERIFY_FAILED".into());
        let v: serde_json::Value = serde_json::from_str(&json(&o, &[])).unwrap();
        assert_eq!(v["status"], 503);
        assert_eq!(v["response_flags"], serde_json::json!(["UF", "URX"]));
        assert_eq!(v["details"], "");
        assert_eq!(v["mtls"], false);
        assert_eq!(v["tls_error"], "CERTIFICATE_VERIFY_FAILED");
        assert_eq!(v["peer_principal"], serde_json::Value::Null);
        assert_eq!(v["findings"], serde_json::json!([]));
        let reset: serde_json::Value =
            serde_json::from_str(&json(&Outcome::with_status(Status::Reset), &[])).unwrap();
        assert_eq!(reset["status"], "reset");
    }

    #[test]
    fn headers_faults_and_time_are_read() {
        let args = request_args(&[
            "-H",
            "X-User: alice",
            "--fault",
            "istiod-down",
            "--at",
            "25h",
            "--protocol",
            "tcp",
        ]);
        let spec = request_spec("probe", &args).unwrap();
        assert_eq!(spec.headers["x-user"], "alice");
        assert_eq!(spec.protocol, Some(Protocol::Tcp));
        assert_eq!(args.faults, vec![sim::Fault::IstiodDown]);
        assert_eq!(args.at, Some(std::time::Duration::from_secs(25 * 3600)));
    }

    #[test]
    fn without_protocol_the_port_decides() {
        let spec = request_spec("probe", &request_args(&[])).unwrap();
        assert_eq!(spec.protocol, None);
    }

    #[test]
    fn header_without_colon_is_rejected() {
        let args = request_args(&["-H", "oops"]);
        assert!(request_spec("probe", &args)
            .unwrap_err()
            .contains("NAME: VALUE"));
    }
}
