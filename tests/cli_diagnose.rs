//! `meshsim diagnose` on the samples of real Istio 1.2x output under `tests/fixtures/real/`
//! (issue 13): each is diagnosed with the right first code, its replay reproduces the logged
//! symptom, and the first finding's machine-applicable remedy (when it has one) makes the flow
//! succeed. Garbage, truncated and wrong-shape inputs are exit 2 naming the file, never a panic.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

const REAL: &str = "tests/fixtures/real";
const SLEEP_POD: &str = "sleep-5b7f9c6d8d-qz7tm.foo";
const HTTPBIN_POD: &str = "httpbin-7d9c8f7b55-x2x9k.foo";

fn meshsim() -> Command {
    let mut cmd = Command::cargo_bin("meshsim").expect("the meshsim binary is built");
    cmd.env("NO_COLOR", "1")
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    cmd
}

/// Every artifact of a sample folder, as the flags a user would pass.
fn sample_args(case: &str) -> Vec<String> {
    let dir = Path::new(REAL).join(case);
    let f = |name: &str| dir.join(name).display().to_string();
    let mut args = vec![
        "diagnose".to_string(),
        "--resources".into(),
        f("cluster.yaml"),
    ];
    for (name, pod) in [
        ("sleep.secret.json", SLEEP_POD),
        ("httpbin.secret.json", HTTPBIN_POD),
    ] {
        if dir.join(name).exists() {
            args.push("--secret".into());
            args.push(format!("{pod}={}", f(name)));
        }
    }
    for name in ["sleep.log", "httpbin.log"] {
        if dir.join(name).exists() {
            args.push("--access-log".into());
            args.push(f(name));
        }
    }
    if dir.join("istiod.log").exists() {
        args.push("--istiod-log".into());
        args.push(f("istiod.log"));
    }
    args
}

fn run_json(args: &[String]) -> Value {
    let out = meshsim()
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("meshsim runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "meshsim {args:?}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

/// `--from`/`--to` of a sample whose logs show no failure.
type Flow = Option<(&'static str, &'static str)>;

/// (sample, flow, first code, logged status (0: reset), whether the first finding's remedy is
/// machine-applicable).
const SAMPLES: &[(&str, Flow, &str, u64, bool)] = &[
    ("plaintext-into-strict", None, "PlaintextToStrict", 0, true),
    ("deny-policy", None, "DenyPolicyMatched", 403, false),
    (
        "allow-wrong-service-account",
        None,
        "PrincipalServiceAccountMismatch",
        403,
        false,
    ),
    (
        "destination-rule-simple",
        None,
        "DestinationRuleTlsSimple",
        503,
        true,
    ),
    (
        "expired-workload-certificate",
        None,
        "CsrRbacDenied",
        503,
        false,
    ),
    ("root-rotated-one-side", None, "RootCertMismatch", 503, true),
    (
        "no-sds-certificate",
        None,
        "ControlPlaneUnavailable",
        503,
        false,
    ),
    (
        "permissive-override",
        Some(("legacy/sleep", "httpbin.foo:8000")),
        "StrictOverridden",
        200,
        false,
    ),
];

#[test]
fn each_sample_gets_its_first_code_and_a_replay_that_matches_the_logs() {
    for (case, flow, code, status, fixable) in SAMPLES {
        let mut args = sample_args(case);
        if let Some((from, to)) = flow {
            args.extend(["--from", from, "--to", to].map(String::from));
        }
        let v = run_json(&args);
        assert_eq!(v["findings"][0]["code"], *code, "{case}: {v:#}");
        assert_eq!(v["replay"]["matches_logs"], true, "{case}: {v:#}");
        let logged = &v["logged"]["status"];
        let want = if *status == 0 {
            Value::from("reset")
        } else {
            Value::from(*status)
        };
        assert_eq!(logged, &want, "{case}: {v:#}");
        assert_eq!(v["replay"]["status"], want, "{case}: {v:#}");
        let remedy = &v["replay"]["remedy"];
        if *fixable {
            assert_eq!(remedy["succeeded"], true, "{case}: {v:#}");
            assert_eq!(remedy["code"], *code, "{case}: {v:#}");
        } else {
            assert!(remedy.is_null(), "{case}: {v:#}");
        }
    }
}

#[test]
fn the_expired_sample_names_the_certificate_and_quotes_istiod() {
    let v = run_json(&sample_args("expired-workload-certificate"));
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert!(codes.contains(&"WorkloadCertExpired"), "{codes:?}");
    let text = v["findings"][0]["evidence"].to_string();
    assert!(text.contains("tokenreviews"), "{text}");
    assert_eq!(v["replay"]["tls_error"], "CERTIFICATE_VERIFY_FAILED");
    assert_eq!(
        v["replay"]["response_flags"],
        serde_json::json!(["UF", "URX"])
    );
}

#[test]
fn a_named_flow_the_logs_do_not_show_is_replayed_and_said_so() {
    let mut args = sample_args("deny-policy");
    args.extend(["--from", "foo/sleep", "--to", "sleep.foo:80"].map(String::from));
    let v = run_json(&args);
    assert!(v["replay"]["matches_logs"].is_null(), "{v:#}");
    assert!(v["notes"].to_string().contains("no request"), "{v:#}");
}

#[test]
fn without_secrets_the_replay_says_whose_certificates_it_assumed() {
    let d = Path::new(REAL).join("deny-policy");
    let args: Vec<String> = [
        "diagnose",
        "--resources",
        &d.join("cluster.yaml").display().to_string(),
        "--access-log",
        &d.join("sleep.log").display().to_string(),
        "--access-log",
        &d.join("httpbin.log").display().to_string(),
    ]
    .map(String::from)
    .to_vec();
    let v = run_json(&args);
    assert_eq!(v["findings"][0]["code"], "DenyPolicyMatched", "{v:#}");
    assert!(v["notes"].to_string().contains("no secret dump"), "{v:#}");
}

#[test]
fn human_output_shows_logged_findings_replay_and_remedy() {
    let out = meshsim()
        .args(sample_args("root-rotated-one-side"))
        .output()
        .expect("meshsim runs");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "foo/sleep -> httpbin.foo:8000",
        "logged          503 UF,URX tls_error CERTIFICATE_VERIFY_FAILED",
        "RootCertMismatch [error]",
        "(matches the logs)",
        "(the flow succeeds)",
    ] {
        assert!(text.contains(needle), "{needle}\n{text}");
    }
}

/// Writes `text` into a temp file and returns its path.
fn temp(dir: &tempfile::TempDir, name: &str, text: &[u8]) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).expect("write");
    p.display().to_string()
}

#[test]
fn bad_inputs_are_exit_2_naming_the_file_and_what_was_expected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cluster = format!("{REAL}/deny-policy/cluster.yaml");
    let good_secret =
        std::fs::read_to_string(format!("{REAL}/deny-policy/sleep.secret.json")).expect("sample");
    let good_log =
        std::fs::read_to_string(format!("{REAL}/deny-policy/sleep.log")).expect("sample");
    let last = good_log.lines().last().expect("a line").to_string();
    let truncated_log = format!(
        "{}\n{}\n",
        good_log.lines().next().expect("a line"),
        &last[..last.len() / 2]
    );
    let garbage = temp(&dir, "garbage.bin", &[0xff, 0x00, 0x13, 0x37, b'\n', 0xfe]);
    let truncated_secret = temp(
        &dir,
        "trunc.json",
        &good_secret.as_bytes()[..good_secret.len() / 2],
    );
    let wrong_secret = temp(&dir, "wrong.json", b"{\"configs\": []}\n");
    let trunc_log = temp(&dir, "trunc.log", truncated_log.as_bytes());
    let yaml_as_log = temp(
        &dir,
        "cluster-as.log",
        b"apiVersion: v1\nkind: List\nitems: []\n",
    );
    let bad_yaml = temp(&dir, "bad.yaml", b"apiVersion: v1\nkind: List\nitems: [\n");
    let secret_ok = format!("{REAL}/deny-policy/sleep.secret.json");
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (
            vec!["--resources".into(), bad_yaml.clone()],
            vec!["bad.yaml"],
        ),
        (
            vec!["--resources".into(), garbage.clone()],
            vec!["garbage.bin"],
        ),
        (
            vec![
                "--resources".into(),
                cluster.clone(),
                "--secret".into(),
                format!("{SLEEP_POD}={truncated_secret}"),
            ],
            vec!["trunc.json", "not JSON"],
        ),
        (
            vec![
                "--resources".into(),
                cluster.clone(),
                "--secret".into(),
                format!("{SLEEP_POD}={wrong_secret}"),
            ],
            vec!["wrong.json", "dynamicActiveSecrets"],
        ),
        (
            vec![
                "--resources".into(),
                cluster.clone(),
                "--secret".into(),
                format!("{SLEEP_POD}={garbage}"),
            ],
            vec!["garbage.bin"],
        ),
        (
            vec![
                "--resources".into(),
                cluster.clone(),
                "--access-log".into(),
                trunc_log.clone(),
            ],
            vec!["trunc.log:2:", "expected"],
        ),
        (
            vec![
                "--resources".into(),
                cluster.clone(),
                "--access-log".into(),
                yaml_as_log.clone(),
            ],
            vec!["cluster-as.log", "kubectl logs"],
        ),
        (
            vec![
                "--resources".into(),
                cluster.clone(),
                "--istiod-log".into(),
                yaml_as_log.clone(),
            ],
            vec!["cluster-as.log", "istiod"],
        ),
        (
            vec![
                "--resources".into(),
                cluster.clone(),
                "--access-log".into(),
                garbage.clone(),
            ],
            vec!["garbage.bin"],
        ),
        (
            vec![
                "--resources".into(),
                cluster.clone(),
                "--secret".into(),
                format!("nosuchpod.foo={secret_ok}"),
            ],
            vec!["nosuchpod.foo", "not in the resources"],
        ),
        (
            vec![
                "--resources".into(),
                cluster.clone(),
                "--secret".into(),
                secret_ok.clone(),
            ],
            vec!["POD.NAMESPACE=FILE"],
        ),
        (
            vec![
                "--resources".into(),
                cluster.clone(),
                "--at".into(),
                "yesterday".into(),
            ],
            vec!["--at", "RFC 3339"],
        ),
        (vec!["--resources".into(), cluster.clone()], vec!["--at"]),
        (
            vec![
                "--resources".into(),
                cluster.clone(),
                "--access-log".into(),
                dir.path().join("missing.log").display().to_string(),
            ],
            vec!["missing.log"],
        ),
    ];
    for (args, needles) in cases {
        let out = meshsim()
            .arg("diagnose")
            .args(&args)
            .output()
            .expect("meshsim runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}\nstderr: {stderr}");
        for n in needles {
            assert!(stderr.contains(n), "{args:?}: {n:?} not in\n{stderr}");
        }
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// A `kubectl get -A -o yaml` dump of `apps` copies of the deny-policy sample's httpbin
/// (Deployment, ReplicaSet, two injected Pods, Service, Endpoints) in ten namespaces.
fn big_dump(apps: usize) -> String {
    let text = std::fs::read_to_string(format!("{REAL}/deny-policy/cluster.yaml")).expect("sample");
    let (head, rest) = text.split_once("\nitems:\n").expect("a List");
    let (body, tail) = rest.rsplit_once("\nkind: List").expect("a List");
    let items: Vec<&str> = body.split("\n- ").collect();
    let httpbin: Vec<&str> = items
        .iter()
        .copied()
        .filter(|i| i.contains("name: httpbin") && !i.contains("kind: EndpointSlice"))
        .collect();
    let mut out = format!("{head}\nitems:\n");
    for i in &items {
        out.push_str("- ");
        out.push_str(i.trim_start_matches("- "));
        out.push('\n');
    }
    for n in 0..apps {
        let ns = format!("team-{}", n % 10);
        out.push_str(&format!(
            "- apiVersion: v1\n  kind: Namespace\n  metadata:\n    labels:\n      istio-injection: enabled\n    name: {ns}\n"
        ));
        for item in &httpbin {
            let copies = if item.contains("kind: Pod\n") { 2 } else { 1 };
            for c in 0..copies {
                let renamed = item
                    .trim_start_matches("- ")
                    .replace("namespace: foo", &format!("namespace: {ns}"))
                    .replace(
                        "httpbin-7d9c8f7b55-x2x9k",
                        &format!("app{n}-7d9c8f7b55-p{c}"),
                    )
                    .replace("10.244.1.7", &format!("10.245.{}.{}", n, c + 2))
                    .replace("httpbin", &format!("app{n}"))
                    .replace("    replicas: 1\n", "    replicas: 2\n");
                out.push_str("- ");
                out.push_str(&renamed);
                out.push('\n');
            }
        }
    }
    out.push_str(&format!("kind: List{tail}"));
    out
}

#[test]
// Loading speed is measured by the benchmarks (docs/performance.md), not timed here: a timed
// test fails on a loaded machine whatever the code does.
fn a_cluster_dump_of_200_pods_loads_every_pod() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dump = temp(&dir, "big.yaml", big_dump(100).as_bytes());
    let out = meshsim()
        .args(["ls", "-f", &dump, "--format", "json"])
        .output()
        .expect("meshsim runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        std::fs::read_to_string(&dump)
            .expect("dump")
            .matches("\n  kind: Pod\n")
            .count(),
        203
    );
    let pods: u64 = v["workloads"]
        .as_array()
        .expect("workloads")
        .iter()
        .filter_map(|w| w["replicas"].as_u64())
        .sum();
    assert!(pods >= 200, "{pods} pods");
}
