//! `explain`, `matrix`, `diff`, `check` and `certs` end to end: every output format, exit codes,
//! bad input, determinism. Inputs are the scenario library's fixtures and scenario files, so the
//! outputs follow the real analysis and data paths.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

/// The package root: commands run there so `scenarios/...` paths print as written.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn meshsim() -> Command {
    let mut cmd = Command::cargo_bin("meshsim").expect("the meshsim binary is built");
    cmd.env("NO_COLOR", "1").current_dir(root());
    cmd
}

/// Runs meshsim with `args`, asserts the exit code and returns stdout.
fn stdout(args: &[&str], code: i32) -> String {
    let out = meshsim().args(args).output().expect("meshsim runs");
    assert_eq!(
        out.status.code(),
        Some(code),
        "meshsim {args:?}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&stdout(args, 0)).expect("valid JSON")
}

const FIXTURES: &str = "scenarios/fixtures/";
const HTTPBIN: &str = "scenarios/fixtures/sleep-httpbin.yaml";
const OVERRIDE: &str =
    "scenarios/peer-authentication/workload-permissive-overrides-mesh-wide-strict.yaml";
const CONFLICT: &str = "scenarios/peer-authentication/oldest-namespace-policy-wins.yaml";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write file");
    path
}

// ---- explain -------------------------------------------------------------------------------

#[test]
fn explain_traces_a_plaintext_caller_rejected_by_strict() {
    let out = stdout(
        &[
            "explain",
            "-f",
            OVERRIDE,
            "--from",
            "legacy/sleep",
            "--to",
            "httpbin.bar:8000",
        ],
        0,
    );
    insta::assert_snapshot!("explain_plaintext_to_strict", out);
}

#[test]
fn explain_json_has_steps_prediction_and_observed() {
    let v = json(&[
        "explain",
        "-f",
        FIXTURES,
        "--from",
        "foo/sleep",
        "--to",
        "httpbin.foo:8000",
        "--format",
        "json",
    ]);
    let steps: Vec<&str> = v["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["step"].as_str().expect("step name"))
        .collect();
    assert_eq!(
        steps,
        [
            "destination",
            "source-sidecar",
            "outbound-listener",
            "outbound-tls",
            "inbound-mtls",
            "authorization"
        ]
    );
    let decision = &v["steps"][0]["decisions"][0];
    assert_eq!(decision["resource"], "Service/foo/httpbin");
    assert!(decision["step"].is_string() && decision["reason"].is_string());
    assert_eq!(v["prediction"]["status"], 200);
    assert_eq!(v["prediction"]["mtls"], true);
    assert_eq!(v["prediction"]["codes"], serde_json::json!([]));
    assert_eq!(v["observed"]["status"], 200);
    assert_eq!(v["observed"]["mtls"], true);
    assert_eq!(
        v["observed"]["peer_principal"],
        "cluster.local/ns/foo/sa/sleep"
    );
}

#[test]
fn explain_observed_applies_faults_and_time_like_probe() {
    let args = [
        "-f",
        FIXTURES,
        "--from",
        "foo/sleep",
        "--to",
        "httpbin.foo:8000",
        "--fault",
        "istiod-down",
        "--at",
        "25h",
        "--format",
        "json",
    ];
    let mut explain = vec!["explain"];
    explain.extend(args);
    let mut probe = vec!["probe"];
    probe.extend(args);
    let e = json(&explain);
    let p = json(&probe);
    // The configuration alone predicts success; the expired certificates break the data path.
    assert_eq!(e["prediction"]["status"], 200);
    for field in ["status", "mtls", "response_flags", "tls_error", "details"] {
        assert_eq!(e["observed"][field], p[field], "{field}");
    }
    assert_ne!(e["observed"]["status"], 200, "{e}");
}

#[test]
fn explain_unknown_workload_exits_2() {
    meshsim()
        .args([
            "explain",
            "-f",
            FIXTURES,
            "--from",
            "foo/nope",
            "--to",
            "httpbin.foo:8000",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("meshsim explain:"))
        .stderr(predicate::str::contains("foo/nope"));
}

// ---- matrix --------------------------------------------------------------------------------

#[test]
fn matrix_table_lists_every_flow_aligned() {
    let out = stdout(&["matrix", "-f", OVERRIDE], 0);
    insta::assert_snapshot!("matrix_table_override", out);
}

#[test]
fn matrix_json_has_one_flow_per_workload_and_service_port() {
    let v = json(&["matrix", "-f", HTTPBIN, "--format", "json"]);
    let flows = v["flows"].as_array().expect("flows");
    // 6 workloads (sleep, httpbin in foo, bar, legacy) x 6 service ports.
    assert_eq!(flows.len(), 36);
    for f in flows {
        for key in [
            "from",
            "to",
            "status",
            "mtls",
            "response_flags",
            "tls_error",
            "codes",
        ] {
            assert!(f.get(key).is_some(), "{key} missing in {f}");
        }
    }
    let legacy_to_foo = flows
        .iter()
        .find(|f| f["from"] == "legacy/sleep" && f["to"] == "httpbin.foo:8000")
        .expect("flow present");
    assert_eq!(legacy_to_foo["status"], 200);
    assert_eq!(legacy_to_foo["mtls"], false);
}

#[test]
fn matrix_csv_has_a_header_and_a_row_per_flow() {
    let out = stdout(&["matrix", "-f", OVERRIDE, "--format", "csv"], 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "from,to,status,mtls,response_flags,tls_error,codes"
    );
    assert_eq!(lines.len(), 37);
    assert!(
        lines.contains(&"legacy/sleep,httpbin.bar:8000,reset,false,,,PlaintextToStrict"),
        "{out}"
    );
    assert!(
        lines.contains(&"foo/sleep,httpbin.bar:8000,200,true,,,"),
        "{out}"
    );
}

#[test]
fn matrix_dot_is_a_digraph_with_namespace_clusters_and_coloured_edges() {
    let out = stdout(&["matrix", "-f", OVERRIDE, "--format", "dot"], 0);
    insta::assert_snapshot!("matrix_dot_override", out);
    assert!(out.starts_with("digraph meshsim {\n") && out.ends_with("}\n"));
    for cluster in ["cluster_bar", "cluster_foo", "cluster_legacy"] {
        assert!(
            out.contains(&format!("subgraph \"{cluster}\"")),
            "{cluster}"
        );
    }
    assert!(out.contains(
        "\"legacy/sleep\" -> \"httpbin.bar:8000\" [color=red, fontcolor=red, label=\"reset\"];"
    ));
    assert!(out.contains(
        "\"legacy/sleep\" -> \"httpbin.foo:8000\" [color=blue, fontcolor=blue, label=\"200\"];"
    ));
    assert!(out.contains(
        "\"foo/sleep\" -> \"httpbin.bar:8000\" [color=green, fontcolor=green, label=\"200 mTLS\"];"
    ));
}

#[test]
fn matrix_dot_colours_a_403_orange() {
    let out = stdout(
        &[
            "matrix",
            "-f",
            "scenarios/authorization/allow-nothing-policy-denies-every-request.yaml",
            "--format",
            "dot",
        ],
        0,
    );
    assert!(out.contains("color=orange"), "{out}");
    assert!(out.contains("label=\"403 mTLS\""), "{out}");
}

#[test]
fn matrix_handshake_output_is_byte_identical_across_runs() {
    let args = ["matrix", "-f", OVERRIDE, "--handshake", "--format", "json"];
    assert_eq!(stdout(&args, 0), stdout(&args, 0));
}

#[test]
fn matrix_handshake_applies_faults_and_time() {
    let v = json(&[
        "matrix",
        "-f",
        HTTPBIN,
        "--handshake",
        "--fault",
        "istiod-down",
        "--at",
        "25h",
        "--format",
        "json",
    ]);
    let f = v["flows"]
        .as_array()
        .expect("flows")
        .iter()
        .find(|f| f["from"] == "foo/sleep" && f["to"] == "httpbin.foo:8000")
        .expect("flow present")
        .clone();
    assert_eq!(f["status"], 503, "{f}");
    assert_eq!(f["mtls"], false, "{f}");
}

#[test]
fn matrix_rejects_faults_and_time_without_handshake() {
    for extra in [["--fault", "istiod-down"], ["--at", "25h"]] {
        meshsim()
            .args(["matrix", "-f", FIXTURES])
            .args(extra)
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains("add --handshake"));
    }
}

#[test]
fn matrix_applies_a_scenario_files_faults_only_with_handshake() {
    let expired = "scenarios/certificates/expired-server-certificate.yaml";
    meshsim()
        .args(["matrix", "-f", expired])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("declares 1 fault(s)"))
        .stderr(predicate::str::contains("add --handshake"));
    let flow = |args: &[&str]| {
        json(args)["flows"]
            .as_array()
            .expect("flows")
            .iter()
            .find(|f| f["from"] == "foo/sleep" && f["to"] == "httpbin.foo:8000")
            .expect("flow present")
            .clone()
    };
    assert_eq!(
        flow(&["matrix", "-f", expired, "--format", "json"])["status"],
        200
    );
    let data = flow(&["matrix", "-f", expired, "--format", "json", "--handshake"]);
    assert_eq!(data["status"], 503);
    assert_eq!(data["tls_error"], "CERTIFICATE_VERIFY_FAILED");
}

// ---- diff ----------------------------------------------------------------------------------

#[test]
fn diff_shows_what_breaks_when_the_mesh_goes_strict() {
    let out = stdout(&["diff", "-f", HTTPBIN, "--against", OVERRIDE], 0);
    insta::assert_snapshot!("diff_to_strict_with_override", out);
}

#[test]
fn diff_json_has_before_and_after_of_each_change() {
    let v = json(&[
        "diff",
        "-f",
        HTTPBIN,
        "--against",
        OVERRIDE,
        "--format",
        "json",
    ]);
    let changes = v["changes"].as_array().expect("changes");
    assert!(!changes.is_empty());
    for c in changes {
        assert_eq!(c["before"]["from"], c["from"]);
        assert_eq!(c["after"]["to"], c["to"]);
        let changed = c["before"]["status"] != c["after"]["status"]
            || c["before"]["mtls"] != c["after"]["mtls"]
            || c["before"]["codes"] != c["after"]["codes"];
        assert!(changed, "{c}");
    }
    // httpbin in foo stays PERMISSIVE: the plaintext flow to it is not a change.
    assert!(!changes
        .iter()
        .any(|c| c["from"] == "legacy/sleep" && c["to"] == "httpbin.foo:8000"));
}

#[test]
fn diff_of_a_configuration_with_itself_is_empty_and_exits_0() {
    let out = stdout(&["diff", "-f", FIXTURES, "--against", FIXTURES], 0);
    assert_eq!(out, "no flow changes (56 flow(s) compared)\n");
    let v = json(&[
        "diff",
        "-f",
        FIXTURES,
        "--against",
        FIXTURES,
        "--format",
        "json",
    ]);
    assert_eq!(v["changes"], serde_json::json!([]));
}

#[test]
fn diff_reports_flows_that_appear() {
    let v = json(&[
        "diff",
        "-f",
        HTTPBIN,
        "--against",
        FIXTURES,
        "--format",
        "json",
    ]);
    let changes = v["changes"].as_array().expect("changes");
    // tcp-echo adds a workload and two ports: 56 - 36 new flows, none changed.
    assert_eq!(changes.len(), 20);
    assert!(changes.iter().all(|c| c["before"].is_null()));
}

// ---- check ---------------------------------------------------------------------------------

#[test]
fn check_reports_conflicting_peer_authentications() {
    let out = stdout(&["check", "-f", CONFLICT], 0);
    insta::assert_snapshot!("check_conflicting_peer_authentications", out);
}

#[test]
fn check_json_has_the_finding_fields() {
    let v = json(&["check", "-f", OVERRIDE, "--format", "json"]);
    let f = &v["findings"][0];
    assert_eq!(f["code"], "StrictOverridden");
    assert_eq!(f["severity"], "warning");
    assert!(f["message"]
        .as_str()
        .expect("message")
        .contains("foo/httpbin-migration"));
    assert_eq!(f["evidence"].as_array().map(Vec::len), Some(2));
    assert!(f["remedy"].is_string());
}

#[test]
fn check_sarif_points_at_the_file_and_line_of_the_resource() {
    let v = json(&["check", "-f", OVERRIDE, "--format", "sarif"]);
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "meshsim");
    assert_eq!(run["tool"]["driver"]["rules"][0]["id"], "StrictOverridden");
    let r = &run["results"][0];
    assert_eq!(r["ruleId"], "StrictOverridden");
    assert_eq!(r["level"], "warning");
    assert!(r["message"]["text"].is_string());
    let loc = &r["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], OVERRIDE);
    // The culprit, foo/httpbin-migration, is the scenario's second inline resource.
    let text = std::fs::read_to_string(root().join(OVERRIDE)).expect("scenario");
    let line = loc["region"]["startLine"].as_u64().expect("startLine") as usize;
    let doc: Vec<&str> = text.lines().skip(line - 1).take(3).collect();
    assert!(
        doc.join("\n").contains("httpbin-migration"),
        "{line}: {doc:?}"
    );
}

/// Real-style samples (`tests/fixtures/nca/`): one uses modelled fields only, the other sets a
/// JWT condition, outlier detection, locality load balancing, a VirtualService and a
/// `proxy.istio.io/config` annotation, which meshsim reads but does not model.
const NCA: &str = "tests/fixtures/nca";

#[test]
fn check_lists_every_unmodelled_field_with_its_line_and_assumption() {
    let v = json(&["check", "-f", NCA, "--format", "json"]);
    let unmodelled: Vec<&str> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] == "UnmodelledField")
        .map(|f| {
            assert_eq!(f["severity"], "info");
            f["message"].as_str().expect("message")
        })
        .collect();
    for (field, assumption) in [
        ("`spec.rules[0].when[0].key`", "requests carry no JWT"),
        (
            "`spec.trafficPolicy.outlierDetection`",
            "no endpoint is ever ejected",
        ),
        (
            "`spec.trafficPolicy.loadBalancer.localityLbSetting`",
            "regardless of locality",
        ),
        ("skipped VirtualService default/reviews", "no routing"),
        ("`proxy.istio.io/config`", "default ProxyConfig"),
    ] {
        assert!(
            unmodelled
                .iter()
                .any(|m| m.contains(field) && m.contains(assumption)),
            "{field}: {unmodelled:#?}"
        );
    }
    assert_eq!(unmodelled.len(), 5, "{unmodelled:#?}");
    // Human output points at the field's line.
    let text = stdout(&["check", "-f", NCA], 0);
    assert!(
        text.contains("at: tests/fixtures/nca/bookinfo-unmodelled.yaml:30"),
        "{text}"
    );
    // SARIF carries the same location.
    let sarif = json(&["check", "-f", NCA, "--format", "sarif"]);
    let lines: Vec<u64> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64())
        .collect();
    assert!(lines.contains(&30), "{lines:?}");
}

#[test]
fn other_commands_print_unmodelled_fields_on_stderr() {
    let out = meshsim()
        .args(["matrix", "-f", NCA])
        .output()
        .expect("meshsim runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "bookinfo-unmodelled.yaml:30: warning: DestinationRule default/reviews: \
                      `spec.trafficPolicy.outlierDetection` is not modelled"
        ),
        "{err}"
    );
}

#[test]
fn check_of_a_clean_configuration_says_so_and_exits_0() {
    assert_eq!(stdout(&["check", "-f", FIXTURES], 0), "no findings\n");
    let v = json(&["check", "-f", FIXTURES, "--format", "sarif"]);
    assert_eq!(v["runs"][0]["results"], serde_json::json!([]));
}

#[test]
fn check_flags_a_destination_rule_whose_host_matches_nothing_at_its_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "dr.yaml",
        "# a typo in the host\n\
         apiVersion: networking.istio.io/v1\n\
         kind: DestinationRule\n\
         metadata:\n  name: httpbin\n  namespace: foo\n\
         spec:\n  host: httpbn.foo.svc.cluster.local\n  trafficPolicy:\n    tls:\n      mode: DISABLE\n",
    );
    let fixtures = root().join(HTTPBIN);
    let out = meshsim()
        .current_dir(dir.path())
        .args(["check", "--format", "sarif", "-f"])
        .arg(&fixtures)
        .arg("dr.yaml")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let r = &v["runs"][0]["results"][0];
    assert_eq!(r["ruleId"], "DestinationRuleNotApplied");
    let loc = &r["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "dr.yaml");
    assert_eq!(loc["region"]["startLine"], 2);
}

// ---- certs ---------------------------------------------------------------------------------

#[test]
fn certs_writes_each_proxy_and_lists_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = meshsim()
        .current_dir(dir.path())
        .args(["certs", "--out", "out", "-f"])
        .arg(root().join(FIXTURES))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    insta::assert_snapshot!("certs_fixtures", text);
    for wl in [
        "bar/httpbin",
        "bar/sleep",
        "foo/httpbin",
        "foo/sleep",
        "foo/tcp-echo",
    ] {
        for file in ["cert-chain.pem", "key.pem", "root-cert.pem"] {
            let path = dir.path().join("out").join(wl).join(file);
            let pem = std::fs::read_to_string(&path).expect("file written");
            assert!(pem.starts_with("-----BEGIN "), "{}", path.display());
        }
    }
    assert!(
        !dir.path().join("out/legacy").exists(),
        "legacy has no sidecar"
    );
}

#[cfg(unix)]
#[test]
fn certs_keys_are_readable_by_the_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    meshsim()
        .args(["certs", "-f", HTTPBIN, "--out"])
        .arg(dir.path())
        .assert()
        .code(0);
    let mode = std::fs::metadata(dir.path().join("foo/sleep/key.pem"))
        .expect("key written")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

fn openssl_present() -> bool {
    let ok = std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    // .ci/run installs openssl: in CI a missing binary is a failure, never a silent skip.
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "openssl is not on PATH in CI"
    );
    if !ok {
        eprintln!("note: openssl not found; skipping the interop check");
    }
    ok
}

/// `openssl verify -CAfile root-cert.pem cert-chain.pem`: at `at` past the mesh's epoch (for an
/// export with `--at`, whose clock starts at the epoch), or at the real time when `None`.
fn openssl_verify(dir: &Path, at: Option<std::time::Duration>) -> std::process::Output {
    let mut cmd = std::process::Command::new("openssl");
    cmd.arg("verify");
    if let Some(at) = at {
        let when = sim::SimTime::EPOCH.unix_secs() + at.as_secs();
        cmd.arg("-attime").arg(when.to_string());
    }
    cmd.arg("-CAfile")
        .arg(dir.join("root-cert.pem"))
        .arg(dir.join("cert-chain.pem"))
        .output()
        .expect("openssl runs")
}

/// Runs `certs` on the sleep/httpbin fixture with `extra` arguments into a fresh directory.
fn export(extra: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    meshsim()
        .args(["certs", "-f", HTTPBIN])
        .args(extra)
        .arg("--out")
        .arg(dir.path())
        .assert()
        .code(0);
    dir
}

#[test]
fn certs_without_at_verify_with_openssl_at_the_real_time() {
    if !openssl_present() {
        return;
    }
    let dir = export(&[]);
    for wl in ["foo/httpbin", "bar/sleep"] {
        let out = openssl_verify(&dir.path().join(wl), None);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains(": OK"),
            "{wl}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn certs_rotated_by_a_healthy_istiod_stay_valid_but_expire_without_it() {
    if !openssl_present() {
        return;
    }
    let at = std::time::Duration::from_secs(25 * 3600);
    let healthy = export(&["--at", "25h"]);
    let out = openssl_verify(&healthy.path().join("foo/httpbin"), Some(at));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let down = export(&["--fault", "istiod-down", "--at", "25h"]);
    let out = openssl_verify(&down.path().join("foo/httpbin"), Some(at));
    assert!(!out.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("certificate has expired"), "{text}");
}

// ---- bad input -----------------------------------------------------------------------------

#[test]
fn malformed_yaml_exits_2_with_file_and_line_for_every_command() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "bad.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n  namespace: foo\nspec:\n  ports: [{port: notanumber}]\n",
    );
    let request = ["--from", "foo/sleep", "--to", "x.foo:80"];
    let cases: Vec<Vec<&str>> = vec![
        [&["explain", "-f", "bad.yaml"][..], &request[..]].concat(),
        vec!["matrix", "-f", "bad.yaml"],
        vec!["matrix", "-f", "bad.yaml", "--handshake"],
        vec!["diff", "-f", "bad.yaml", "--against", "bad.yaml"],
        vec!["check", "-f", "bad.yaml", "--format", "sarif"],
        vec!["certs", "-f", "bad.yaml", "--out", "out"],
    ];
    for args in cases {
        meshsim()
            .current_dir(dir.path())
            .args(&args)
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::is_match(r"bad\.yaml:\d+").expect("regex"));
    }
}

#[test]
fn missing_paths_and_unknown_formats_exit_2() {
    for args in [
        vec!["matrix", "-f", "nope/"],
        vec!["diff", "-f", FIXTURES, "--against", "nope.yaml"],
        vec!["check", "-f", "nope.yaml"],
        vec!["matrix", "-f", FIXTURES, "--format", "png"],
        vec!["check", "-f", FIXTURES, "--format", "junit"],
        vec!["diff", "-f", FIXTURES],
        vec!["certs", "-f", FIXTURES],
    ] {
        meshsim().args(&args).assert().code(2);
    }
}

// ---- --istio-version -----------------------------------------------------------------------

const SERVICE_ACCOUNT_WHEN: &str =
    "scenarios/authorization/when-source-service-account-matches-namespace-and-name.yaml";

#[test]
fn an_unknown_istio_version_exits_2_with_the_supported_list_on_every_mesh_command() {
    let cases: &[&[&str]] = &[
        &["run", "--istio-version", "1.21"],
        &[
            "probe",
            "-f",
            HTTPBIN,
            "--from",
            "foo/sleep",
            "--to",
            "httpbin.foo:8000",
            "--istio-version",
            "1.21",
        ],
        &[
            "explain",
            "-f",
            HTTPBIN,
            "--from",
            "foo/sleep",
            "--to",
            "httpbin.foo:8000",
            "--istio-version",
            "1.21",
        ],
        &["matrix", "-f", HTTPBIN, "--istio-version", "1.21"],
        &[
            "diff",
            "-f",
            HTTPBIN,
            "--against",
            HTTPBIN,
            "--istio-version",
            "1.21",
        ],
        &["check", "-f", HTTPBIN, "--istio-version", "1.21"],
        &[
            "certs",
            "-f",
            HTTPBIN,
            "--out",
            "/nonexistent",
            "--istio-version",
            "1.21",
        ],
    ];
    for args in cases {
        meshsim()
            .args(*args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "supported: 1.22, 1.23, 1.24, 1.25, 1.26, 1.27, 1.28",
            ));
    }
}

#[test]
fn source_service_account_is_allowed_from_1_25_and_rejected_before() {
    let probe = |version: &str| {
        meshsim()
            .args(["probe", "-f", SERVICE_ACCOUNT_WHEN, "--from", "foo/sleep"])
            .args(["--to", "httpbin.foo:8000", "--istio-version", version])
            .assert()
    };
    probe("1.25")
        .code(0)
        .stdout(predicate::str::contains("200"));
    probe("1.24").code(2).stderr(predicate::str::contains(
        "AuthorizationPolicy foo/from-foo-sleep: spec.rules[0].when[0].key: unknown attribute: \
         source.serviceAccount (Istio 1.24)",
    ));
}

#[test]
fn a_scenario_mesh_block_sets_the_release_and_run_rejects_keys_it_lacks() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(root().join(SERVICE_ACCOUNT_WHEN))
        .expect("scenario")
        .replace(
            "include: [../fixtures/sleep-httpbin.yaml]",
            &format!("include: [{}]", root().join(HTTPBIN).display()),
        )
        .replace("istioVersion: \"1.28\"", "istioVersion: \"1.24\"");
    let file = write(dir.path(), "sa-1.24.yaml", &text);
    meshsim()
        .args(["run", file.to_str().expect("utf-8 path")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unknown attribute: source.serviceAccount (Istio 1.24)",
        ));
    let bad = write(
        dir.path(),
        "bad.yaml",
        "name: x\nmesh: {istioVersion: \"2.0\"}\n",
    );
    meshsim()
        .args(["run", bad.to_str().expect("utf-8 path")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("supported: 1.22"));
}
