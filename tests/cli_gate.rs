//! Issue 10's CI-gate commands end to end: `check` findings for what breaks traffic and for
//! loader warnings, with `--fail-on`; `-n/--namespace` as `kubectl apply -n`; `diff --plus`
//! with grouped output and `--exit-code`; the `ls` inventory.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// The package root: commands run there so `scenarios/...` paths print as written.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs meshsim in `dir` and returns (exit code, stdout, stderr).
fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("meshsim")
        .expect("the meshsim binary is built")
        .env("NO_COLOR", "1")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("meshsim runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("utf-8"),
        String::from_utf8(out.stderr).expect("utf-8"),
    )
}

fn run(args: &[&str]) -> (i32, String, String) {
    run_in(&root(), args)
}

/// Stdout of a run that must exit with `code`.
fn stdout(args: &[&str], code: i32) -> String {
    let (got, out, err) = run(args);
    assert_eq!(got, code, "meshsim {args:?}\nstdout: {out}\nstderr: {err}");
    out
}

fn json(args: &[&str], code: i32) -> Value {
    serde_json::from_str(&stdout(args, code)).expect("valid JSON")
}

fn codes(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["code"].as_str().expect("code").to_string())
        .collect()
}

const FIXTURES: &str = "scenarios/fixtures/";
const SAMPLES: &str = "tests/fixtures/istio-samples/";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write file");
    path
}

// ---- check: what breaks traffic ----------------------------------------------------------------

#[test]
fn check_names_the_destination_rule_whose_tls_breaks_flows_and_fails() {
    let file = "scenarios/destination-rule/dr-disable-against-strict-server.yaml";
    let out = stdout(&["check", "-f", file], 1);
    assert!(
        out.starts_with(
            "DestinationRuleTlsDisable [error]: DestinationRule foo/httpbin sends plaintext \
             (tls.mode DISABLE) to STRICT endpoints: 4 flow(s) fail\n  at: \
             scenarios/destination-rule/dr-disable-against-strict-server.yaml:13\n"
        ),
        "{out}"
    );
    // (scenario, code check must report)
    for (file, code) in [
        (
            "scenarios/destination-rule/dr-simple-against-strict-server.yaml",
            "DestinationRuleTlsSimple",
        ),
        (
            "scenarios/destination-rule/dr-istio-mutual-against-workload-without-sidecar.yaml",
            "MtlsToNonMeshWorkload",
        ),
        (
            "scenarios/authorization/selector-that-matches-no-pod-applies-to-nothing.yaml",
            "AuthorizationPolicySelectsNothing",
        ),
        (
            "scenarios/peer-authentication/port-level-mtls-on-the-service-port-is-unused.yaml",
            "PortLevelMtlsPortUnused",
        ),
        (
            "scenarios/authorization/tcp-allow-with-http-only-fields-denies-all-tcp.yaml",
            "HttpOnlyRuleOnTcpPort",
        ),
    ] {
        let (_, out, _) = run(&["check", "-f", file, "--format", "json"]);
        let v: Value = serde_json::from_str(&out).expect("JSON");
        assert!(codes(&v).contains(&code.to_string()), "{file}: {v}");
    }
}

#[test]
fn check_reports_subsets_allow_nothing_and_unknown_principals() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "policies.yaml",
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: httpbin, namespace: foo}\n\
         spec:\n  host: httpbin.foo.svc.cluster.local\n  subsets:\n  - name: v2\n    labels: {version: v2}\n---\n\
         apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: allow-nothing, namespace: istio-system}\nspec: {}\n---\n\
         apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: allow-sleep, namespace: foo}\n\
         spec:\n  rules:\n  - from:\n    - source: {principals: [cluster.local/ns/foo/sa/slep]}\n",
    );
    let fixtures = root().join("scenarios/fixtures/sleep-httpbin.yaml");
    let fixtures = fixtures.to_str().expect("utf-8 path");
    let (code, out, err) = run_in(
        dir.path(),
        &["check", "-f", fixtures, "policies.yaml", "--format", "json"],
    );
    assert_eq!(code, 0, "warnings only: {out}{err}");
    let v: Value = serde_json::from_str(&out).expect("JSON");
    let mut got = codes(&v);
    got.sort();
    assert_eq!(
        got,
        [
            "NoAllowPolicyMatched",
            "NoHealthyUpstream",
            "PrincipalServiceAccountMismatch"
        ]
    );
    let (code, out, _) = run_in(dir.path(), &["check", "-f", fixtures, "policies.yaml"]);
    assert_eq!(code, 0);
    assert!(out.contains("subset v2 selects {version=v2}"), "{out}");
    assert!(out.contains("at: policies.yaml:1\n"), "{out}");
    assert!(out.contains("at: policies.yaml:10\n"), "{out}");
    assert!(out.contains("at: policies.yaml:15\n"), "{out}");
}

// ---- check: loader warnings, unloadable files, nothing loaded, --fail-on ------------------------

const TYPO: &str = "\
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: foo}
spec:
  mtls:
    mdoe: STRICT
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: foo}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: foo}
spec: {}
";

#[test]
fn check_reports_loader_warnings_once_as_findings_at_their_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "pa.yaml", TYPO);
    let (code, out, err) = run_in(dir.path(), &["check", "-f", "pa.yaml"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        err, "",
        "check prints loader warnings as findings, not on stderr"
    );
    for expected in [
        "UnknownField [warning]: unknown field `spec.mtls.mdoe` ignored (check its spelling and \
         indentation)\n  at: pa.yaml:6\n",
        "ObjectSkipped [info]: skipped networking.k8s.io/v1 Ingress foo/web: meshsim does not \
         model this kind\n  at: pa.yaml:8\n",
        "ObjectReplaced [warning]: PeerAuthentication foo/default defined here was replaced by a \
         later definition (pa.yaml:12)\n  at: pa.yaml:1\n",
    ] {
        assert!(out.contains(expected), "{expected}\nin:\n{out}");
    }
    // SARIF points at the same lines.
    let (_, out, _) = run_in(dir.path(), &["check", "-f", "pa.yaml", "--format", "sarif"]);
    let sarif: Value = serde_json::from_str(&out).expect("SARIF");
    let located: Vec<(String, u64)> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().expect("rule").to_string(),
                r["locations"][0]["physicalLocation"]["region"]["startLine"]
                    .as_u64()
                    .expect("line"),
            )
        })
        .collect();
    for pair in [
        ("UnknownField", 6),
        ("ObjectSkipped", 8),
        ("ObjectReplaced", 1),
    ] {
        assert!(
            located.contains(&(pair.0.to_string(), pair.1)),
            "{pair:?}: {located:?}"
        );
    }
    // Other commands keep printing them on stderr.
    let (_, _, err) = run_in(dir.path(), &["ls", "-f", "pa.yaml"]);
    assert!(
        err.contains("pa.yaml:6: warning: unknown field `spec.mtls.mdoe`"),
        "{err}"
    );
}

#[test]
fn fail_on_warning_fails_the_check_on_a_typo() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "pa.yaml", TYPO);
    // (extra arguments, exit code)
    for (extra, want) in [
        (&[][..], 0),
        (&["--fail-on", "error"][..], 0),
        (&["--fail-on", "warning"][..], 1),
    ] {
        let mut args = vec!["check", "-f", "pa.yaml"];
        args.extend_from_slice(extra);
        let (code, out, err) = run_in(dir.path(), &args);
        assert_eq!(code, want, "{extra:?}: {out}{err}");
    }
}

#[test]
fn check_reports_every_unloadable_file_and_exits_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("m")).expect("mkdir");
    write(
        &dir.path().join("m"),
        "a.yaml",
        "apiVersion: v1\nkind: Service\nmetadata: {name: a\n",
    );
    write(
        &dir.path().join("m"),
        "b.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: b\nspec:\n  ports:\n  - port: 0\n",
    );
    write(&dir.path().join("m"), "c.yaml", TYPO);
    let (code, out, err) = run_in(dir.path(), &["check", "-f", "m/"]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(out, "");
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines[0].starts_with("m/a.yaml:4:1: error: "), "{err}");
    assert!(
        lines[1].starts_with("m/b.yaml:6: error: invalid Service b: spec.ports[0].port"),
        "{err}"
    );
    assert_eq!(lines[2], "meshsim check: 2 input(s) could not be loaded");
}

#[test]
fn check_of_a_folder_with_nothing_to_load_is_an_error_finding() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("empty")).expect("mkdir");
    let (code, out, _) = run_in(dir.path(), &["check", "-f", "empty", "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    let v: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(codes(&v), ["NothingLoaded"]);
    assert_eq!(v["findings"][0]["severity"], "error");
}

// ---- -n/--namespace ---------------------------------------------------------------------------

#[test]
fn namespace_flag_puts_objects_without_one_there_like_kubectl_apply() {
    // The istio.io tasks apply samples/httpbin and samples/curl with `kubectl apply -n foo`.
    let v = json(&["ls", "-n", "foo", "-f", SAMPLES, "--format", "json"], 0);
    let workloads: Vec<String> = v["workloads"]
        .as_array()
        .expect("workloads")
        .iter()
        .map(|w| {
            format!(
                "{}/{}",
                w["namespace"].as_str().unwrap(),
                w["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(workloads, ["foo/curl", "foo/httpbin"]);
    let flows = json(
        &["matrix", "-n", "foo", "-f", SAMPLES, "--format", "json"],
        0,
    );
    assert!(
        flows["flows"]
            .as_array()
            .expect("flows")
            .iter()
            .any(|f| f["from"] == "foo/curl"
                && f["to"] == "httpbin.foo:8000"
                && f["status"] == 200),
        "{flows}"
    );
    // Without -n they land in `default`, as kubectl puts them.
    let v = json(&["ls", "-f", SAMPLES, "--format", "json"], 0);
    assert_eq!(v["workloads"][0]["namespace"], "default");
}

#[test]
fn namespace_flag_refuses_an_object_of_another_namespace() {
    let (code, out, err) = run(&[
        "matrix",
        "-n",
        "foo",
        "-f",
        "scenarios/fixtures/sleep-httpbin.yaml",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(
        err.contains(
            "the namespace from the provided object \"bar\" does not match the namespace \"foo\""
        ),
        "{err}"
    );
    assert!(
        err.starts_with("scenarios/fixtures/sleep-httpbin.yaml:"),
        "{err}"
    );
    // Not a namespace name: a usage error.
    let (code, _, err) = run(&["ls", "-n", "Foo", "-f", SAMPLES]);
    assert_eq!(code, 2);
    assert!(err.contains("not a namespace name"), "{err}");
}

#[test]
fn namespace_flag_leaves_scenario_files_alone() {
    // A scenario's own objects and includes keep their namespaces (no kubectl involved).
    let file = "scenarios/peer-authentication/oldest-namespace-policy-wins.yaml";
    let with = stdout(&["ls", "-n", "foo", "-f", file], 0);
    let without = stdout(&["ls", "-f", file], 0);
    assert_eq!(with, without);
}

// ---- diff --plus ------------------------------------------------------------------------------

const STRICT: &str = "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n\
metadata: {name: default, namespace: istio-system}\nspec:\n  mtls: {mode: STRICT}\n";

#[test]
fn diff_plus_applies_the_change_to_the_base_and_groups_what_breaks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let strict = write(dir.path(), "strict.yaml", STRICT);
    let strict = strict.to_str().expect("utf-8 path");
    let out = stdout(&["diff", "-f", FIXTURES, "--plus", strict], 0);
    assert!(out.starts_with("12 of 56 flow(s) change:\n"), "{out}");
    assert!(
        out.ends_with(
            "12 flow(s) break (success before, failure after):\n  \
             12 flow(s): legacy/* -> 6 service port(s), PlaintextToStrict\n"
        ),
        "{out}"
    );
    // The same as comparing against base and change loaded together.
    let against = stdout(&["diff", "-f", FIXTURES, "--against", FIXTURES, strict], 0);
    assert_eq!(out, against);
    let v = json(
        &["diff", "-f", FIXTURES, "--plus", strict, "--format", "json"],
        0,
    );
    assert_eq!(v["changes"].as_array().map(Vec::len), Some(12));
    let g = &v["groups"][0];
    assert_eq!(
        (
            g["kind"].as_str(),
            g["sources"].as_str(),
            g["flows"].as_u64()
        ),
        (Some("breaks"), Some("legacy/*"), Some(12))
    );
    assert_eq!(g["codes"], serde_json::json!(["PlaintextToStrict"]));
}

#[test]
fn diff_separates_fixes_from_breakages() {
    // Going back from the STRICT override scenario to the plain fixtures fixes what it broke.
    let out = stdout(
        &[
            "diff",
            "-f",
            "scenarios/peer-authentication/workload-permissive-overrides-mesh-wide-strict.yaml",
            "--against",
            "scenarios/fixtures/sleep-httpbin.yaml",
        ],
        0,
    );
    assert!(
        out.contains("6 flow(s) fixed (failure before, success after):\n"),
        "{out}"
    );
    assert!(!out.contains(" break "), "{out}");
}

#[test]
fn diff_exit_code_is_1_only_when_a_flow_changes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let strict = write(dir.path(), "strict.yaml", STRICT);
    let strict = strict.to_str().expect("utf-8 path");
    // (arguments, exit code)
    let cases: [(&[&str], i32); 4] = [
        (
            &["diff", "-f", FIXTURES, "--plus", strict, "--exit-code"],
            1,
        ),
        (&["diff", "-f", FIXTURES, "--plus", strict], 0),
        (
            &["diff", "-f", FIXTURES, "--plus", FIXTURES, "--exit-code"],
            0,
        ),
        (
            &["diff", "-f", FIXTURES, "--against", FIXTURES, "--exit-code"],
            0,
        ),
    ];
    for (args, want) in cases {
        let (code, out, err) = run(args);
        assert_eq!(code, want, "{args:?}: {out}{err}");
    }
    // --plus and --against are one or the other.
    let (code, _, _) = run(&[
        "diff",
        "-f",
        FIXTURES,
        "--plus",
        strict,
        "--against",
        FIXTURES,
    ]);
    assert_eq!(code, 2);
}

// ---- ls ---------------------------------------------------------------------------------------

#[test]
fn ls_lists_workloads_with_their_sidecar_and_why_services_and_policies() {
    let out = stdout(
        &[
            "ls",
            "-f",
            "scenarios/peer-authentication/workload-permissive-overrides-mesh-wide-strict.yaml",
        ],
        0,
    );
    for line in [
        "foo/httpbin     Deployment  1         httpbin          yes      namespace foo has istio-injection=enabled",
        "legacy/sleep    Deployment  1         sleep            no       namespace legacy has no istio-injection or istio.io/rev label",
        "foo/httpbin     8000/http->80  app=httpbin  foo/httpbin",
        "PeerAuthentication  istio-system/default   mesh-wide             mtls STRICT",
    ] {
        assert!(out.contains(line), "{line}\nin:\n{out}");
    }
    assert!(
        out.ends_with("6 workload(s), 6 service(s), 2 policy(ies)\n"),
        "{out}"
    );
    let v = json(&["ls", "-f", FIXTURES, "--format", "json"], 0);
    let legacy = v["workloads"]
        .as_array()
        .expect("workloads")
        .iter()
        .find(|w| w["namespace"] == "legacy" && w["name"] == "sleep")
        .expect("legacy/sleep");
    assert_eq!(legacy["sidecar"], false);
    assert_eq!(legacy["service_account"], "sleep");
    assert_eq!(legacy["replicas"], 1);
}

/// `check` names AuthorizationPolicy rules whose HTTP-only fields reach a TCP port of a sidecar
/// workload: (case, policy spec, findings on tcp-echo's ports 9000/9001, a phrase of the first).
#[test]
fn check_names_http_only_rules_that_reach_tcp_ports() {
    let cases: &[(&str, &str, usize, &str)] = &[
        (
            "an ALLOW rule with methods reaches both TCP ports",
            "action: ALLOW\n  rules:\n  - to:\n    - operation: {methods: [GET]}",
            2,
            "rule 0 (ALLOW) uses HTTP-only fields (methods) and applies to foo/tcp-echo, whose port 9000 is TCP: istiod skips the rule",
        ),
        (
            "a DENY rule with paths loses them",
            "action: DENY\n  rules:\n  - to:\n    - operation: {paths: [/admin]}",
            2,
            "istiod drops those fields on that port's TCP filter chain",
        ),
        (
            "ports limit the rule to one TCP port",
            "action: ALLOW\n  rules:\n  - to:\n    - operation: {ports: [\"9001\"], methods: [GET]}",
            1,
            "whose port 9001 is TCP",
        ),
        (
            "notPorts exclude one TCP port",
            "action: DENY\n  rules:\n  - to:\n    - operation: {notPorts: [\"9001\"], methods: [GET]}\n    when:\n    - {key: \"request.headers[x-debug]\", values: [\"1\"]}",
            1,
            "(methods, when request.headers[x-debug])",
        ),
        (
            "a rule limited to an HTTP port is not reported",
            "action: ALLOW\n  rules:\n  - to:\n    - operation: {ports: [\"80\"], methods: [GET]}",
            0,
            "",
        ),
        (
            "a rule without HTTP-only fields is not reported",
            "action: ALLOW\n  rules:\n  - from:\n    - source: {namespaces: [foo]}",
            0,
            "",
        ),
    ];
    let fixtures = root().join("scenarios/fixtures");
    let both = [
        fixtures.join("sleep-httpbin.yaml"),
        fixtures.join("tcp-echo.yaml"),
    ];
    for (case, spec, want, phrase) in cases {
        let dir = tempfile::tempdir().expect("temp dir");
        write(
            dir.path(),
            "policy.yaml",
            &format!(
                "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n\
                 metadata: {{name: p, namespace: foo}}\nspec:\n  selector: {{matchLabels: {{app: tcp-echo}}}}\n  {spec}\n"
            ),
        );
        let mut args = vec!["check", "-f"];
        args.extend(both.iter().map(|p| p.to_str().expect("utf-8 path")));
        args.extend(["policy.yaml", "--format", "json"]);
        let (_, out, err) = run_in(dir.path(), &args);
        let v: Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{case}: {e}: {out}{err}"));
        let found: Vec<&Value> = v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["code"] == "HttpOnlyRuleOnTcpPort")
            .collect();
        assert_eq!(found.len(), *want, "{case}: {v}");
        if let Some(first) = found.first() {
            let message = first["message"].as_str().expect("message");
            assert!(message.contains(phrase), "{case}: {message}");
        }
    }
}
