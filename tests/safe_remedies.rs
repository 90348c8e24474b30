//! Safe remedies (issue 10 item 13): no remedy hands a caller another workload's service
//! account, and a denial the policies intend is explained with no machine-applied fix.

use std::path::PathBuf;

use harness::{parse_scenario, Tree};
use sim::diagnose::{diagnose, fix_for, Finding};
use sim::mesh::{Mesh, MeshOptions};
use sim::request::RequestSpec;
use sim::vocab::FindingCode;

const SA_MISMATCH: &str =
    "scenarios/authorization/principal-names-sleep-but-caller-runs-as-default.yaml";
const DENY: &str = "scenarios/authorization/deny-policy-blocks-plaintext-callers.yaml";
const DENY_OVER_ALLOW: &str = "scenarios/authorization/allow-policy-cannot-override-deny.yaml";

/// The error findings of one request against a library scenario's configuration, with whether
/// each has a machine-applicable fix.
fn findings(file: &str, from: &str, to: &str) -> Vec<(Finding, bool)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(&path).expect("scenario reads");
    let scenario = parse_scenario(&Tree::Fs, &path, &text).expect("scenario parses");
    let mut mesh =
        Mesh::build(scenario.resources.clone(), &[], MeshOptions::default()).expect("mesh");
    let req = RequestSpec {
        from: from.parse().expect("NS/WORKLOAD"),
        to: to.parse().expect("HOST:PORT"),
        ..RequestSpec::default()
    };
    let outcome = mesh
        .request(&req)
        .expect("request")
        .into_first()
        .expect("one outcome");
    let ev = mesh.evidence(&req, &outcome);
    diagnose(&ev)
        .into_iter()
        .filter(|f| f.severity == sim::diagnose::Severity::Error)
        .map(|f| {
            let fix = fix_for(&f, &ev).is_some();
            (f, fix)
        })
        .collect()
}

#[test]
fn a_service_account_mismatch_remedy_changes_the_policy_not_the_callers_account() {
    let found = findings(SA_MISMATCH, "foo/sleep-v2", "httpbin.foo:8000");
    let (f, fix) = found
        .iter()
        .find(|(f, _)| f.code == FindingCode::PrincipalServiceAccountMismatch)
        .unwrap_or_else(|| panic!("no PrincipalServiceAccountMismatch: {found:#?}"));
    assert!(!fix, "no machine fix may switch identities: {f:#?}");
    assert!(
        f.remedy
            .contains("add the caller's principal cluster.local/ns/foo/sa/default"),
        "{}",
        f.remedy
    );
    assert!(
        !f.remedy.contains("set the caller's serviceAccountName"),
        "{}",
        f.remedy
    );
}

#[test]
fn intended_denials_are_explained_with_no_fix_that_opens_them() {
    // (scenario, caller, destination, code)
    let cases = [
        // The ALLOW names foo/sleep's account; httpbin is simply not admitted.
        (
            SA_MISMATCH,
            "foo/httpbin",
            "httpbin.foo:8000",
            FindingCode::NoAllowPolicyMatched,
        ),
        (
            DENY,
            "legacy/sleep",
            "httpbin.foo:8000",
            FindingCode::DenyPolicyMatched,
        ),
        (
            DENY_OVER_ALLOW,
            "bar/sleep",
            "httpbin.foo:8000",
            FindingCode::DenyPolicyMatched,
        ),
    ];
    for (file, from, to, code) in cases {
        let found = findings(file, from, to);
        let codes: Vec<FindingCode> = found.iter().map(|(f, _)| f.code).collect();
        assert_eq!(codes, [code], "{file}: {from} -> {to}: {found:#?}");
        let (f, fix) = &found[0];
        assert!(!fix, "{file}: an intended deny got a machine fix: {f:#?}");
        assert!(
            f.remedy.contains("nothing is wrong"),
            "{file}: the remedy does not say the deny may be intended: {}",
            f.remedy
        );
        assert!(!f.remedy.contains("serviceAccountName to"), "{}", f.remedy);
    }
}
