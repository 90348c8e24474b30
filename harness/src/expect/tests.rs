use sim::vocab::Status;
use sim::vocab::{FindingCode, ResponseFlag};
use sim::{Outcome, Outcomes};

use super::*;

/// The outcomes of a step that sent these requests, in order.
fn all(outcomes: impl IntoIterator<Item = Outcome>) -> Outcomes {
    outcomes.into_iter().collect()
}
use crate::scenario::{Expect, Match};

fn outcome(status: u16, flags: &[&str]) -> Outcome {
    let mut o = Outcome::with_status(Status::Http(status));
    o.response_flags = flags.iter().map(|f| f.parse().unwrap()).collect();
    o
}

fn expect_503_uo(matching: Match) -> Expect {
    Expect {
        status: Some(vec![Status::Http(503)]),
        flags: Some(vec![ResponseFlag::UpstreamOverflow]),
        matching,
        ..Expect::default()
    }
}

#[test]
fn flags_compare_as_a_set() {
    let e = Expect {
        flags: Some(vec![
            ResponseFlag::UpstreamRetryLimitExceeded,
            ResponseFlag::UpstreamConnectionFailure,
        ]),
        ..Expect::default()
    };
    assert!(check(&e, &all([outcome(503, &["UF", "URX"])])).0.is_empty());
    assert_eq!(check(&e, &all([outcome(503, &["UF"])])).0[0].field, "flags");
}

#[test]
fn single_request_reports_expected_and_actual() {
    let e = Expect {
        status: Some(vec![Status::Http(200)]),
        mtls: Some(true),
        ..Expect::default()
    };
    let outs = [outcome(503, &["UF"])];
    let outs = all(outs);
    let (m, culprit) = check(&e, &outs);
    assert_eq!(m.len(), 2);
    assert_eq!(
        (m[0].expected.as_str(), m[0].actual.as_str()),
        ("200", "503")
    );
    assert_eq!(m[1].field, "mtls");
    assert!(culprit.is_some());
}

#[test]
fn any_match_passes_when_one_request_meets_the_block() {
    let mut outs = vec![outcome(200, &[]); 15];
    outs.extend(vec![outcome(503, &["UO"]); 5]);
    assert!(check(&expect_503_uo(Match::Any), &all(outs)).0.is_empty());
}

#[test]
fn any_match_fails_with_a_histogram_when_no_request_meets_it() {
    let outs = vec![outcome(200, &[]); 20];
    let (m, _) = check(&expect_503_uo(Match::Any), &all(outs));
    assert_eq!(m[0].field, "flags");
    assert_eq!(m[1].field, "status");
    assert_eq!(m[1].actual, "200 ×20");
}

#[test]
fn any_match_reports_a_combination_met_only_in_parts() {
    let outs = vec![outcome(503, &[]), outcome(200, &["UO"])];
    let (m, _) = check(&expect_503_uo(Match::Any), &all(outs));
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].field, "request");
}

#[test]
fn all_match_fails_when_one_request_misses() {
    let mut outs = vec![outcome(503, &["UO"]); 3];
    outs.push(outcome(200, &[]));
    let (m, _) = check(&expect_503_uo(Match::All), &all(outs));
    assert_eq!(m.len(), 2);
    assert!(
        m[0].actual.starts_with("1 of 4 requests missed"),
        "{}",
        m[0].actual
    );
}

#[test]
fn null_tls_error_requires_no_tls_error() {
    let e = Expect {
        tls_error: Some(None),
        ..Expect::default()
    };
    let mut o = outcome(503, &["UF"]);
    o.tls_error = Some("CERTIFICATE_VERIFY_FAILED".into());
    let (m, _) = check(&e, &all([o]));
    assert_eq!(
        (m[0].expected.as_str(), m[0].actual.as_str()),
        ("null", "CERTIFICATE_VERIFY_FAILED")
    );
}

#[test]
fn diagnosis_expectation_never_passes_without_the_engine() {
    let e = Expect {
        diagnosis: Some(vec![FindingCode::PlaintextToStrict]),
        fix_verifies: true,
        ..Expect::default()
    };
    let (m, _) = check(&e, &all([outcome(200, &[])]));
    assert_eq!(m.len(), 2);
    assert!(m.iter().all(|m| m.actual == NO_DIAGNOSIS_ENGINE));
}

#[test]
fn peer_principal_matches_with_or_without_the_spiffe_scheme() {
    let mut o = outcome(200, &[]);
    o.peer_principal = Some("cluster.local/ns/foo/sa/sleep".into());
    for written in [
        "cluster.local/ns/foo/sa/sleep",
        "spiffe://cluster.local/ns/foo/sa/sleep",
    ] {
        let e = Expect {
            peer_principal: Some(Some(written.into())),
            ..Expect::default()
        };
        assert!(check(&e, &all([o.clone()])).0.is_empty(), "{written}");
    }
    let e = Expect {
        peer_principal: Some(Some("cluster.local/ns/foo/sa/default".into())),
        ..Expect::default()
    };
    assert_eq!(check(&e, &all([o.clone()])).0.len(), 1);
}

fn finding(code: FindingCode) -> Finding {
    Finding {
        code,
        severity: Severity::Error,
        message: String::new(),
        evidence: Vec::new(),
        remedy: String::new(),
    }
}

#[test]
fn diagnosis_holds_when_every_listed_code_is_found() {
    let e = Expect {
        diagnosis: Some(vec![
            FindingCode::WorkloadCertExpired,
            FindingCode::CsrRbacDenied,
        ]),
        ..Expect::default()
    };
    let found = [
        finding(FindingCode::CsrRbacDenied),
        finding(FindingCode::WorkloadCertExpired),
        finding(FindingCode::StrictOverridden),
    ];
    let d = Diagnosis {
        findings: found.to_vec(),
        fix: None,
    };
    let (m, _) = check_with(&e, &all([outcome(503, &["UF", "URX"])]), Some(&d));
    assert!(m.is_empty(), "{m:?}");
}

#[test]
fn diagnosis_fails_naming_the_missing_and_the_found_codes() {
    let e = Expect {
        diagnosis: Some(vec![
            FindingCode::RootCertMismatch,
            FindingCode::WorkloadCertExpired,
        ]),
        ..Expect::default()
    };
    let (m, _) = check_with(
        &e,
        &all([outcome(503, &["UF", "URX"])]),
        Some(&Diagnosis {
            findings: vec![finding(FindingCode::WorkloadCertExpired)],
            fix: None,
        }),
    );
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].field, "diagnosis");
    assert_eq!(
        m[0].actual,
        "missing [RootCertMismatch]; findings [WorkloadCertExpired]"
    );
}

#[test]
fn a_burst_is_diagnosed_by_its_first_failed_request() {
    let outs = all([
        outcome(200, &[]),
        outcome(503, &["UO"]),
        outcome(503, &["UF"]),
    ]);
    assert_eq!(diagnosed_outcome(&outs), Some(&outcome(503, &["UO"])));
    let ok = all([outcome(200, &[]), outcome(201, &[])]);
    assert_eq!(diagnosed_outcome(&ok), Some(&outcome(200, &[])));
    assert_eq!(diagnosed_outcome(&Outcomes::new()), None);
}

#[test]
fn fix_verifies_holds_only_when_the_remedy_was_verified() {
    let e = Expect {
        fix_verifies: true,
        ..Expect::default()
    };
    let outs = all([outcome(503, &["UF", "URX"])]);
    let with = |fix| Diagnosis {
        findings: vec![finding(FindingCode::WorkloadCertMissing)],
        fix,
    };
    let ok = with(Some(Ok("kubectl rollout restart foo/sleep".into())));
    assert!(check_with(&e, &outs, Some(&ok)).0.is_empty());
    let bad = with(Some(Err("still 503".into())));
    let (m, _) = check_with(&e, &outs, Some(&bad));
    assert_eq!(
        (m[0].field.as_str(), m[0].actual.as_str()),
        ("fix_verifies", "still 503")
    );
    let (m, _) = check_with(&e, &outs, None);
    assert_eq!(m[0].actual, NO_DIAGNOSIS_ENGINE);
}

#[test]
fn an_empty_diagnosis_fails_on_an_error_finding_and_holds_beside_warnings() {
    let e = Expect {
        diagnosis: Some(Vec::new()),
        ..Expect::default()
    };
    let warning = Finding {
        severity: Severity::Warning,
        ..finding(FindingCode::StrictOverridden)
    };
    let cases = [
        (vec![], true),
        (vec![warning.clone()], true),
        (
            vec![warning, finding(FindingCode::PlaintextToStrict)],
            false,
        ),
    ];
    for (findings, holds) in cases {
        let d = Diagnosis {
            findings,
            fix: None,
        };
        let (m, _) = check_with(&e, &all([outcome(200, &[])]), Some(&d));
        assert_eq!(m.is_empty(), holds, "{m:?}");
    }
}
