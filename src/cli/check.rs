//! `meshsim check`: static findings from the configuration alone, as text, JSON or SARIF 2.1.0.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};
use sim::diagnose::{
    loader_findings, nothing_loaded, static_findings, traffic_findings, unmodelled_fields,
};
use sim::diagnose::{Finding, Severity};
use sim::model::{Meta, ObjectRef, Origin};
use sim::vocab::FindingCode;
use sim::Resources;

use super::output::emit_then;
use super::{CheckArgs, CheckFormat, FailOn, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK};

/// `check --format json`.
#[derive(Debug, Serialize)]
struct CheckJson<'a> {
    findings: &'a [Finding],
}

/// Runs `meshsim check` and returns the exit code: 0 without a finding at or above `--fail-on`,
/// 1 with one, 2 on bad input (every file that cannot be loaded is named on stderr).
pub(super) fn check(args: CheckArgs) -> i32 {
    let resources = match args.config.load_all() {
        Ok(resources) => resources,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            if errors.len() > 1 {
                eprintln!(
                    "meshsim check: {} input(s) could not be loaded",
                    errors.len()
                );
            }
            return EXIT_BAD_INPUT;
        }
    };
    let inputs: Vec<String> = args
        .config
        .files
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    // Loader warnings are findings here, with their file and line, not stderr notes as well.
    let mut findings: Vec<Finding> = nothing_loaded(&resources, &inputs).into_iter().collect();
    findings.extend(static_findings(&resources));
    findings.extend(traffic_findings(&resources));
    findings.extend(loader_findings(&resources));
    findings.extend(unmodelled_fields(&resources));
    let text = match args.format {
        CheckFormat::Human => human(&resources, &findings),
        CheckFormat::Json => pretty(&CheckJson {
            findings: &findings,
        }),
        CheckFormat::Sarif => pretty(&sarif(&resources, &findings)),
    };
    emit_then("check", &text, None, exit_code(&findings, args.fail_on))
}

/// 1 when any finding has `fail_on`'s severity or a higher one, else 0.
fn exit_code(findings: &[Finding], fail_on: FailOn) -> i32 {
    let fails = |s: Severity| match fail_on {
        FailOn::Error => s == Severity::Error,
        FailOn::Warning => matches!(s, Severity::Error | Severity::Warning),
    };
    if findings.iter().any(|f| fails(f.severity)) {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

fn pretty<T: Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise: {e}\"}}"));
    s.push('\n');
    s
}

/// SARIF's `level` for a severity (SARIF 2.1.0 §3.27.10: error, warning, note).
fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// The metadata of the object `kind ns/name` (or `kind name` for a Namespace); a word that is
/// no kind meshsim reads names nothing.
fn meta_of<'r>(res: &'r Resources, kind: &str, ns: &str, name: &str) -> Option<&'r Meta> {
    res.meta_of(&ObjectRef {
        kind: kind.parse().ok()?,
        namespace: ns.to_string(),
        name: name.to_string(),
    })
}

/// The origin of the first resource `text` names with a known file and line: `Kind ns/name`
/// (how the static checks write evidence) or `Kind/ns/name` (an `ObjectRef`).
fn origin_in<'r>(res: &'r Resources, text: &str) -> Option<&'r Origin> {
    let tokens: Vec<&str> = text
        .split_whitespace()
        .map(|t| t.trim_end_matches([':', ',', ';', '.']))
        .collect();
    let known = |m: &'r Meta| {
        let o = &m.origin;
        let file = o.file.to_string_lossy();
        (o.line > 0 && !file.starts_with('<')).then_some(o)
    };
    for (i, tok) in tokens.iter().enumerate() {
        let parts: Vec<&str> = tok.split('/').collect();
        let found = match (parts.as_slice(), tokens.get(i + 1)) {
            ([kind, ns, name], _) => meta_of(res, kind, ns, name),
            ([kind], Some(next)) => match next.split('/').collect::<Vec<_>>().as_slice() {
                [ns, name] => meta_of(res, kind, ns, name),
                [name] if *kind == "Namespace" => meta_of(res, kind, "", name),
                _ => None,
            },
            _ => None,
        };
        if let Some(o) = found.and_then(known) {
            return Some(o);
        }
    }
    None
}

/// Where a finding points: the resource its message names (the static checks name the culprit
/// there), else the first evidence line that names one.
fn origin_of<'r>(res: &'r Resources, f: &Finding) -> Option<&'r Origin> {
    // A loader finding points at what the loader warned about: an unmodelled field at the
    // field, an unknown field at the field, a replaced object at the replaced definition.
    if is_loader_code(f.code) {
        let same = |w: &&sim::model::Warning| w.message == f.message;
        let at = |w: &&sim::model::Warning| f.evidence.first() == Some(&w.origin.to_string());
        if let Some(w) = res
            .warnings
            .iter()
            .find(|w| same(w) && at(w))
            .or_else(|| res.warnings.iter().find(same))
        {
            return Some(&w.origin);
        }
    }
    std::iter::once(f.message.as_str())
        .chain(f.evidence.iter().map(String::as_str))
        .find_map(|t| origin_in(res, t))
}

/// The codes `check` gives loader warnings.
fn is_loader_code(code: FindingCode) -> bool {
    matches!(
        code,
        FindingCode::UnmodelledField
            | FindingCode::UnknownField
            | FindingCode::ObjectReplaced
            | FindingCode::ObjectSkipped
            | FindingCode::ValidationWarning
    )
}

fn human(res: &Resources, findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "no findings\n".into();
    }
    let mut s = String::new();
    let mut counts: BTreeMap<Severity, usize> = BTreeMap::new();
    for f in findings {
        *counts.entry(f.severity).or_default() += 1;
        s.push_str(&format!("{} [{}]: {}\n", f.code, f.severity, f.message));
        if let Some(o) = origin_of(res, f) {
            s.push_str(&format!("  at: {o}\n"));
        }
        for e in &f.evidence {
            s.push_str(&format!("  evidence: {e}\n"));
        }
        s.push_str(&format!("  remedy: {}\n", f.remedy));
    }
    let n = |sev| counts.get(&sev).copied().unwrap_or(0);
    s.push_str(&format!(
        "{} finding(s): {} error, {} warning, {} info\n",
        findings.len(),
        n(Severity::Error),
        n(Severity::Warning),
        n(Severity::Info)
    ));
    s
}

/// A SARIF artifact URI: the path as given, with `/` separators (SARIF 2.1.0 §3.4.3).
fn uri(o: &Origin) -> String {
    o.file.to_string_lossy().replace('\\', "/")
}

/// The SARIF 2.1.0 log: one run, the finding codes as rules, one result per finding.
fn sarif(res: &Resources, findings: &[Finding]) -> Value {
    let mut rules: BTreeMap<&str, &Finding> = BTreeMap::new();
    for f in findings {
        rules.entry(f.code.as_str()).or_insert(f);
    }
    let index: BTreeMap<&str, usize> = rules.keys().enumerate().map(|(i, c)| (*c, i)).collect();
    // Remedies name the resources of one finding, so they stay on the results, not the rules.
    let rules_json: Vec<Value> = rules
        .iter()
        .map(|(code, f)| {
            json!({
                "id": code,
                "name": code,
                "shortDescription": {"text": code},
                "defaultConfiguration": {"level": sarif_level(f.severity)},
            })
        })
        .collect();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let mut r = json!({
                "ruleId": f.code,
                "ruleIndex": index[f.code.as_str()],
                "level": sarif_level(f.severity),
                "message": {"text": f.message},
                "properties": {"evidence": f.evidence, "remedy": f.remedy},
            });
            if let Some(o) = origin_of(res, f) {
                r["locations"] = json!([{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(o)},
                        "region": {"startLine": o.line},
                    }
                }]);
            }
            r
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "meshsim",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules_json,
            }},
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(code: FindingCode, severity: Severity) -> Finding {
        Finding {
            code,
            severity,
            message: "m".into(),
            evidence: Vec::new(),
            remedy: "r".into(),
        }
    }

    #[test]
    fn fail_on_sets_the_least_severity_that_fails_the_check() {
        use Severity::{Error, Info, Warning};
        // (severities found, --fail-on, exit code)
        let cases: &[(&[Severity], FailOn, i32)] = &[
            (&[], FailOn::Error, EXIT_OK),
            (&[Warning, Info], FailOn::Error, EXIT_OK),
            (&[Warning, Error], FailOn::Error, EXIT_FAILED),
            (&[], FailOn::Warning, EXIT_OK),
            (&[Info], FailOn::Warning, EXIT_OK),
            (&[Info, Warning], FailOn::Warning, EXIT_FAILED),
            (&[Error], FailOn::Warning, EXIT_FAILED),
        ];
        for (severities, fail_on, want) in cases {
            let findings: Vec<Finding> = severities
                .iter()
                .map(|s| finding(FindingCode::AllowShadowedByDeny, *s))
                .collect();
            assert_eq!(
                exit_code(&findings, *fail_on),
                *want,
                "{severities:?} {fail_on:?}"
            );
        }
    }

    #[test]
    fn sarif_rules_are_the_distinct_codes_in_order() {
        let res = Resources::default();
        let log = sarif(
            &res,
            &[
                finding(FindingCode::WorkloadCertMissing, Severity::Warning),
                finding(FindingCode::AllowShadowedByDeny, Severity::Error),
                finding(FindingCode::WorkloadCertMissing, Severity::Warning),
            ],
        );
        let rules = &log["runs"][0]["tool"]["driver"]["rules"];
        assert_eq!(rules.as_array().map(Vec::len), Some(2));
        assert_eq!(rules[0]["id"], "AllowShadowedByDeny");
        let results = &log["runs"][0]["results"];
        assert_eq!(results[0]["ruleIndex"], 1);
        assert_eq!(results[1]["level"], "error");
        assert!(results[0].get("locations").is_none());
    }
}
