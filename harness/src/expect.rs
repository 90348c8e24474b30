//! Checking outcomes against an `expect:` block. With several requests (`count > 1`) the block
//! holds when every request meets every field (`match: all`, the default) or when at least one
//! request does (`match: any`).

use std::collections::BTreeMap;

use serde::Serialize;
use sim::diagnose::{Finding, Severity};
use sim::vocab::{join, FindingCode, ResponseFlag};
use sim::{Outcome, OutcomeGroup, Outcomes};

use crate::scenario::{Expect, Match};

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// The `expect` field (`status`, `flags`, ...).
    pub field: String,
    /// What the scenario asked for.
    pub expected: String,
    /// What happened.
    pub actual: String,
}

/// The answer when a diagnosis expectation cannot be checked (no engine ran): it must never
/// pass.
pub const NO_DIAGNOSIS_ENGINE: &str = "diagnosis engine not available";

/// Checks the outcomes of one request step without a diagnosis engine (a `diagnosis:` key then
/// fails as not available); see [`check_with`].
pub fn check<'a>(expect: &Expect, outcomes: &'a Outcomes) -> (Vec<Mismatch>, Option<&'a Outcome>) {
    check_with(expect, outcomes, None)
}

/// The outcome a `diagnosis:` expectation is checked against: the first request that failed,
/// else the first (a burst where only some requests overflow is diagnosed by a failed one).
pub fn diagnosed_outcome(outcomes: &Outcomes) -> Option<&Outcome> {
    outcomes.first_failure_or_first()
}

/// `diagnosis: [codes]` holds when every listed code is among the findings; `diagnosis: []`
/// holds when no finding is an error (a healthy step: warnings and notes may remain), so an
/// empty list can fail like any other expectation.
pub fn check_diagnosis(codes: &[FindingCode], findings: &[Finding]) -> Option<Mismatch> {
    let found: Vec<FindingCode> = findings.iter().map(|f| f.code).collect();
    if codes.is_empty() {
        let errors: Vec<FindingCode> = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.code)
            .collect();
        return (!errors.is_empty()).then(|| Mismatch {
            field: "diagnosis".into(),
            expected: "[] (no error-severity finding)".into(),
            actual: format!("error findings [{}]", join(&errors, ", ")),
        });
    }
    let missing: Vec<FindingCode> = codes
        .iter()
        .copied()
        .filter(|c| !found.contains(c))
        .collect();
    (!missing.is_empty()).then(|| Mismatch {
        field: "diagnosis".into(),
        expected: format!("[{}]", join(codes, ", ")),
        actual: format!(
            "missing [{}]; findings [{}]",
            join(&missing, ", "),
            join(&found, ", ")
        ),
    })
}

/// What the diagnosis engine said about a step's [`diagnosed_outcome`].
#[derive(Debug, Clone, Default)]
pub struct Diagnosis {
    /// The findings, in the engine's order.
    pub findings: Vec<Finding>,
    /// With `fix_verifies`: `Ok(fix summary)` when the first finding's remedy made the request
    /// succeed in a copy of the mesh, `Err(why not)` otherwise.
    pub fix: Option<Result<String, String>>,
}

/// Checks the outcomes of one request step; empty when everything holds. Also returns the
/// outcome whose evidence explains a failure (the first one that missed). `diagnosis` is the
/// engine's answer for [`diagnosed_outcome`]; `None` when no engine ran.
pub fn check_with<'a>(
    expect: &Expect,
    outcomes: &'a Outcomes,
    diagnosis: Option<&Diagnosis>,
) -> (Vec<Mismatch>, Option<&'a Outcome>) {
    let mut out = Vec::new();
    // Requests of one group saw the same result, so they meet or miss the same fields.
    let groups = outcomes.groups();
    let per_request: Vec<Vec<Mismatch>> = groups
        .iter()
        .map(|g| check_one(expect, &g.outcome))
        .collect();
    let first_miss = per_request
        .iter()
        .position(|m| !m.is_empty())
        .map(|i| &groups[i].outcome);

    if outcomes.is_empty() {
        out.push(Mismatch {
            field: "request".into(),
            expected: "at least one outcome".into(),
            actual: "the mesh returned no outcome".into(),
        });
    } else if outcomes.total() == 1 {
        out.extend(per_request.into_iter().flatten());
    } else {
        match expect.matching {
            Match::Any if per_request.iter().any(Vec::is_empty) => {}
            Match::Any => out.extend(any_failure(expect, outcomes, &per_request)),
            Match::All => out.extend(all_failure(outcomes, &per_request)),
        }
    }

    if let Some(codes) = &expect.diagnosis {
        match diagnosis {
            Some(d) => out.extend(check_diagnosis(codes, &d.findings)),
            None => out.push(Mismatch {
                field: "diagnosis".into(),
                expected: format!("[{}]", join(codes, ", ")),
                actual: NO_DIAGNOSIS_ENGINE.into(),
            }),
        }
    }
    if expect.fix_verifies {
        let actual = match diagnosis.and_then(|d| d.fix.as_ref()) {
            Some(Ok(_)) => None,
            Some(Err(why)) => Some(why.clone()),
            None => Some(NO_DIAGNOSIS_ENGINE.to_string()),
        };
        if let Some(actual) = actual {
            out.push(Mismatch {
                field: "fix_verifies".into(),
                expected: "the first finding's remedy makes the request succeed".into(),
                actual,
            });
        }
    }
    (out, first_miss)
}

/// No request met the whole block: name each field that no request met, or, when every field
/// was met by some request but never all by the same one, the combination.
fn any_failure(expect: &Expect, outcomes: &Outcomes, per: &[Vec<Mismatch>]) -> Vec<Mismatch> {
    let groups = outcomes.groups();
    let mut by_field: BTreeMap<&str, usize> = BTreeMap::new();
    for m in per.iter().flatten() {
        *by_field.entry(m.field.as_str()).or_default() += 1;
    }
    let n = outcomes.total();
    let never_met: Vec<&str> = by_field
        .iter()
        .filter(|(_, misses)| **misses == groups.len())
        .map(|(f, _)| *f)
        .collect();
    if never_met.is_empty() {
        return vec![Mismatch {
            field: "request".into(),
            expected: format!(
                "one of {n} requests meeting every field ({})",
                fields(expect)
            ),
            actual: histogram(groups.iter().map(|g| (summary(&g.outcome), g.count))),
        }];
    }
    never_met
        .into_iter()
        .map(|field| Mismatch {
            field: field.into(),
            expected: format!(
                "{} (in at least one of {n} requests)",
                first_expected(per, field)
            ),
            actual: histogram(
                groups
                    .iter()
                    .map(|g| (field_value(field, &g.outcome), g.count)),
            ),
        })
        .collect()
}

/// Some request missed: name each missed field with how many missed and what they saw.
fn all_failure(outcomes: &Outcomes, per: &[Vec<Mismatch>]) -> Vec<Mismatch> {
    let n = outcomes.total();
    let mut fields: Vec<&str> = per.iter().flatten().map(|m| m.field.as_str()).collect();
    fields.sort_unstable();
    fields.dedup();
    fields
        .into_iter()
        .map(|field| {
            let missed: Vec<&OutcomeGroup> = outcomes
                .groups()
                .iter()
                .zip(per)
                .filter(|(_, m)| m.iter().any(|m| m.field == field))
                .map(|(g, _)| g)
                .collect();
            Mismatch {
                field: field.into(),
                expected: format!(
                    "{} (in every one of {n} requests)",
                    first_expected(per, field)
                ),
                actual: format!(
                    "{} of {n} requests missed: {}",
                    missed.iter().map(|g| g.count).sum::<u64>(),
                    histogram(
                        missed
                            .iter()
                            .map(|g| (field_value(field, &g.outcome), g.count))
                    )
                ),
            }
        })
        .collect()
}

fn first_expected(per: &[Vec<Mismatch>], field: &str) -> String {
    per.iter()
        .flatten()
        .find(|m| m.field == field)
        .map(|m| m.expected.clone())
        .unwrap_or_default()
}

fn fields(expect: &Expect) -> String {
    let mut f = Vec::new();
    for (name, set) in [
        ("status", expect.status.is_some()),
        ("flags", expect.flags.is_some()),
        ("tls_error", expect.tls_error.is_some()),
        ("details_contains", expect.details_contains.is_some()),
        ("mtls", expect.mtls.is_some()),
        ("peer_principal", expect.peer_principal.is_some()),
    ] {
        if set {
            f.push(name);
        }
    }
    f.join(", ")
}

/// Every field mismatch of one outcome.
fn check_one(expect: &Expect, o: &Outcome) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let mut miss = |field: &str, expected: String| {
        out.push(Mismatch {
            field: field.into(),
            expected,
            actual: field_value(field, o),
        })
    };
    if let Some(statuses) = &expect.status {
        if !statuses.contains(&o.status) {
            let list: Vec<String> = statuses.iter().map(ToString::to_string).collect();
            miss("status", list.join(" or "));
        }
    }
    if let Some(flags) = &expect.flags {
        if sorted(flags) != sorted(&o.response_flags) {
            miss("flags", format!("[{}]", join(flags, ", ")));
        }
    }
    if let Some(tls) = &expect.tls_error {
        if tls != &o.tls_error {
            miss("tls_error", or_null(tls));
        }
    }
    if let Some(needle) = &expect.details_contains {
        if !o.details.contains(needle.as_str()) {
            miss("details_contains", format!("details containing {needle:?}"));
        }
    }
    if let Some(mtls) = expect.mtls {
        if mtls != o.mtls {
            miss("mtls", mtls.to_string());
        }
    }
    if let Some(p) = &expect.peer_principal {
        if p.as_deref().map(principal) != o.peer_principal.as_deref().map(principal) {
            miss("peer_principal", or_null(p));
        }
    }
    out
}

/// How a field of an outcome is shown next to what was expected.
fn field_value(field: &str, o: &Outcome) -> String {
    match field {
        "status" => o.status.to_string(),
        "flags" => format!("[{}]", join(&o.response_flags, ", ")),
        "tls_error" => or_null(&o.tls_error),
        "details_contains" => format!("details {:?}", o.details),
        "mtls" => o.mtls.to_string(),
        "peer_principal" => or_null(&o.peer_principal),
        _ => summary(o),
    }
}

/// A one-line summary of an outcome: `503 [UF, URX] CERTIFICATE_VERIFY_FAILED`.
pub fn summary(o: &Outcome) -> String {
    let mut s = o.status.to_string();
    if !o.response_flags.is_empty() {
        s.push_str(&format!(" [{}]", join(&o.response_flags, ", ")));
    }
    if let Some(e) = &o.tls_error {
        s.push(' ');
        s.push_str(e);
    }
    s.push_str(if o.mtls { " mtls" } else { " plaintext" });
    s
}

/// `200 ×15, 503 [UO] ×5` — counts of equal values, in sorted order.
fn histogram(values: impl Iterator<Item = (String, u64)>) -> String {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for (v, n) in values {
        *counts.entry(v).or_default() += n;
    }
    counts
        .into_iter()
        .map(|(v, n)| if n == 1 { v } else { format!("{v} ×{n}") })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A principal without the `spiffe://` scheme: RBAC writes `td/ns/x/sa/y`, access logs and
/// certificates `spiffe://td/ns/x/sa/y`; both name the same identity.
fn principal(p: &str) -> &str {
    sim::vocab::without_scheme(p)
}

fn sorted(flags: &[ResponseFlag]) -> Vec<ResponseFlag> {
    let mut v = flags.to_vec();
    v.sort_unstable();
    v
}

fn or_null(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "null".into())
}

#[cfg(test)]
mod tests;
