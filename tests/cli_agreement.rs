//! `matrix`, `diff` and `check` give the same answers as `probe` for the same flows: every flow of
//! fixed fixture configurations (deterministic, no sampling by chance) is sent through `probe`
//! and compared field by field with what the other command printed.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn meshsim(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("meshsim").expect("the meshsim binary is built");
    cmd.env("NO_COLOR", "1").current_dir(dir);
    cmd
}

/// Runs meshsim in `dir`, expects exit 0 and JSON on stdout.
fn json(dir: &Path, args: &[&str]) -> Value {
    let out = meshsim(dir).args(args).output().expect("meshsim runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "meshsim {args:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

/// `probe --format json` of one flow on the configuration `files`.
fn probe(dir: &Path, files: &[&str], from: &str, to: &str) -> Value {
    // No `--protocol`: probe picks the port's, as the matrix does (TCP to tcp-echo's `tcp` and
    // `tcp-other` ports, HTTP elsewhere).
    let mut args = vec!["probe", "--format", "json", "--from", from, "--to", to];
    args.push("-f");
    args.extend_from_slice(files);
    json(dir, &args)
}

/// Configurations with every kind of outcome: plaintext and mTLS successes, STRICT resets,
/// DestinationRule TLS failures (503 UF,URX), HTTP authorization denials (403) and TCP ones
/// (reset). None declares a fault: the analysis path ignores faults.
const CONFIGS: [&str; 4] = [
    "scenarios/peer-authentication/workload-permissive-overrides-mesh-wide-strict.yaml",
    "scenarios/destination-rule/dr-simple-against-strict-server.yaml",
    "scenarios/authorization/allow-policy-with-no-matching-rule-denies.yaml",
    "scenarios/authorization/tcp-deny-closes-the-connection.yaml",
];

/// Every flow of `matrix` (analysis path) and of `matrix --handshake` (data path) agrees with
/// `probe` in status, mtls, response flags and TLS error, and at least one flow fails (so the
/// comparison covers failures, not only the healthy case).
fn matrix_agrees_with_probe(config: &str) {
    let dir = root();
    let analysis = json(&dir, &["matrix", "--format", "json", "-f", config]);
    let data = json(
        &dir,
        &["matrix", "--format", "json", "--handshake", "-f", config],
    );
    let (analysis, data) = (
        analysis["flows"].as_array().expect("flows"),
        data["flows"].as_array().expect("flows"),
    );
    assert!(analysis.len() >= 30, "{config}: {} flows", analysis.len());
    assert_eq!(analysis.len(), data.len(), "{config}");
    let mut failing = 0;
    for (a, d) in analysis.iter().zip(data) {
        let from = a["from"].as_str().expect("from");
        let to = a["to"].as_str().expect("to");
        assert_eq!(
            (from, to),
            (
                d["from"].as_str().expect("from"),
                d["to"].as_str().expect("to")
            )
        );
        let p = probe(&dir, &[config], from, to);
        for (path, flow) in [("analysis", a), ("handshake", d)] {
            for field in ["status", "mtls", "response_flags", "tls_error"] {
                assert_eq!(
                    flow[field], p[field],
                    "{config}: {from} -> {to}: matrix ({path}) says {field} = {}, probe says {}",
                    flow[field], p[field]
                );
            }
        }
        if p["status"] != 200 {
            failing += 1;
        }
    }
    assert!(
        failing > 0,
        "{config}: a failing flow keeps the comparison honest"
    );
}

#[test]
fn matrix_agrees_with_probe_on_every_flow_when_strict_is_overridden() {
    matrix_agrees_with_probe(CONFIGS[0]);
}

#[test]
fn matrix_agrees_with_probe_on_every_flow_with_a_simple_tls_rule() {
    matrix_agrees_with_probe(CONFIGS[1]);
}

#[test]
fn matrix_agrees_with_probe_on_every_flow_with_authorization_denials() {
    matrix_agrees_with_probe(CONFIGS[2]);
}

#[test]
fn matrix_agrees_with_probe_on_every_flow_with_tcp_denials() {
    matrix_agrees_with_probe(CONFIGS[3]);
}

const MESH_WIDE_STRICT: &str = "\
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: istio-system
spec:
  mtls:
    mode: STRICT
";

#[test]
fn diff_after_states_are_what_probe_sees_on_the_new_configuration() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("strict.yaml"), MESH_WIDE_STRICT).expect("write");
    let fixtures = root().join("scenarios/fixtures/sleep-httpbin.yaml");
    let fixtures = fixtures.to_str().expect("utf-8 path");
    for extra in [&[][..], &["--handshake"][..]] {
        let mut args = vec!["diff", "--format", "json", "-f", fixtures];
        args.extend_from_slice(&["--against", fixtures, "strict.yaml"]);
        args.extend_from_slice(extra);
        let d = json(dir.path(), &args);
        let changes = d["changes"].as_array().expect("changes");
        // Two legacy clients to the four sidecar service ports of foo and bar.
        assert_eq!(changes.len(), 8, "{extra:?}: {d}");
        for c in changes {
            let (from, to) = (
                c["from"].as_str().expect("from"),
                c["to"].as_str().expect("to"),
            );
            let before = probe(dir.path(), &[fixtures], from, to);
            let after = probe(dir.path(), &[fixtures, "strict.yaml"], from, to);
            for field in ["status", "mtls", "response_flags"] {
                assert_eq!(
                    c["before"][field], before[field],
                    "{from} -> {to} before {field}"
                );
                assert_eq!(
                    c["after"][field], after[field],
                    "{from} -> {to} after {field}"
                );
            }
            assert_eq!(after["status"], "reset", "{from} -> {to}");
        }
    }
}

/// The codes of `check --format json` on `files`.
fn check_codes(dir: &Path, files: &[&str]) -> Vec<String> {
    let mut args = vec!["check", "--format", "json", "-f"];
    args.extend_from_slice(files);
    json(dir, &args)["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["code"].as_str().expect("code").to_string())
        .collect()
}

#[test]
fn check_strict_overridden_is_where_probe_sees_plaintext_accepted() {
    let dir = root();
    let config = CONFIGS[0];
    assert_eq!(check_codes(&dir, &[config]), ["StrictOverridden"]);
    // The overridden workload takes plaintext; the rest of the STRICT mesh resets it.
    let overridden = probe(&dir, &[config], "legacy/sleep", "httpbin.foo:8000");
    assert_eq!(
        (overridden["status"].clone(), overridden["mtls"].clone()),
        (200.into(), false.into())
    );
    let enforced = probe(&dir, &[config], "legacy/sleep", "httpbin.bar:8000");
    assert_eq!(enforced["status"], "reset");
}

#[test]
fn check_ignored_peer_authentications_are_ignored_by_probe_too() {
    let dir = root();
    // A selector in the root namespace: Istio ignores the STRICT policy, so plaintext still works.
    let root_selector =
        "scenarios/peer-authentication/root-namespace-policy-with-selector-is-ignored.yaml";
    assert_eq!(
        check_codes(&dir, &[root_selector]),
        ["PeerAuthenticationSelectsNothing"]
    );
    let p = probe(&dir, &[root_selector], "legacy/sleep", "httpbin.foo:8000");
    assert_eq!(p["status"], 200, "{p}");
    // Two namespace-wide policies: only the oldest (STRICT) applies, the PERMISSIVE one is ignored.
    let conflict = "scenarios/peer-authentication/oldest-namespace-policy-wins.yaml";
    assert_eq!(
        check_codes(&dir, &[conflict]),
        ["ConflictingPeerAuthentications"]
    );
    let p = probe(&dir, &[conflict], "legacy/sleep", "httpbin.foo:8000");
    assert_eq!(p["status"], "reset", "{p}");
}

#[test]
fn check_destination_rule_not_applied_leaves_probe_on_auto_mtls() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dr = |host: &str| {
        format!(
            "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: httpbin\n  \
             namespace: foo\nspec:\n  host: {host}\n  trafficPolicy:\n    tls:\n      mode: DISABLE\n"
        )
    };
    std::fs::write(
        dir.path().join("typo.yaml"),
        dr("httpbn.foo.svc.cluster.local"),
    )
    .expect("write");
    std::fs::write(
        dir.path().join("right.yaml"),
        dr("httpbin.foo.svc.cluster.local"),
    )
    .expect("write");
    let fixtures = root().join("scenarios/fixtures/sleep-httpbin.yaml");
    let fixtures = fixtures.to_str().expect("utf-8 path");

    assert_eq!(
        check_codes(dir.path(), &[fixtures, "typo.yaml"]),
        ["DestinationRuleNotApplied"]
    );
    let p = probe(
        dir.path(),
        &[fixtures, "typo.yaml"],
        "foo/sleep",
        "httpbin.foo:8000",
    );
    assert_eq!(
        p["mtls"], true,
        "the misspelt rule's DISABLE applies to nothing: {p}"
    );

    assert!(check_codes(dir.path(), &[fixtures, "right.yaml"]).is_empty());
    let p = probe(
        dir.path(),
        &[fixtures, "right.yaml"],
        "foo/sleep",
        "httpbin.foo:8000",
    );
    assert_eq!(p["mtls"], false, "the correct host applies DISABLE: {p}");
}
