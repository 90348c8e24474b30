//! Real cluster dumps without false alarms (issue 10 item 10): gateways and istiod are not
//! plaintext clients, selector-less Services get a note instead of `503 UH`, and a skipped kind
//! that targets the probed host is named by `probe` and `explain`.

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

const DUMP: &str = "tests/fixtures/real-dump/cluster.yaml";

fn meshsim() -> Command {
    let mut cmd = Command::cargo_bin("meshsim").expect("the meshsim binary is built");
    cmd.env("NO_COLOR", "1")
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    cmd
}

/// Runs meshsim, asserts exit 0 and returns stdout.
fn stdout(args: &[&str]) -> String {
    let out = meshsim().args(args).output().expect("meshsim runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "meshsim {args:?}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&stdout(args)).expect("valid JSON")
}

fn flows(v: &Value) -> &Vec<Value> {
    v["flows"].as_array().expect("flows array")
}

#[test]
fn matrix_of_a_dump_treats_the_gateway_as_an_mtls_client_on_both_paths() {
    for extra in [&[][..], &["--handshake"][..]] {
        let mut args = vec!["matrix", "-f", DUMP, "--format", "json"];
        args.extend_from_slice(extra);
        let v = json(&args);
        let gw: Vec<&Value> = flows(&v)
            .iter()
            .filter(|f| f["from"] == "istio-system/istio-ingressgateway")
            .collect();
        assert_eq!(gw.len(), 1, "{extra:?}: {v:#}");
        assert_eq!(gw[0]["to"], "httpbin.foo:8000");
        assert_eq!(gw[0]["status"], 200, "{extra:?}: {:#}", gw[0]);
        assert_eq!(gw[0]["mtls"], true, "{extra:?}: {:#}", gw[0]);
    }
}

#[test]
fn matrix_of_a_dump_leaves_out_istiod_selectorless_and_gateway_services_with_notes() {
    let v = json(&["matrix", "-f", DUMP, "--format", "json"]);
    for f in flows(&v) {
        assert_ne!(f["from"], "istio-system/istiod", "{f:#}");
        let to = f["to"].as_str().unwrap_or_default();
        assert!(!to.starts_with("kubernetes.default:"), "{f:#}");
        assert!(!to.starts_with("istio-ingressgateway."), "{f:#}");
        assert!(
            !f["codes"].to_string().contains("NoHealthyUpstream"),
            "{f:#}"
        );
    }
    let subjects: Vec<&str> = v["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .filter_map(|n| n["subject"].as_str())
        .collect();
    assert_eq!(
        subjects,
        [
            "Service/default/kubernetes",
            "Service/istio-system/istio-ingressgateway",
            "ServiceEntry/foo/httpbin-alias",
            "istio-system/istiod",
        ]
    );
    let table = stdout(&["matrix", "-f", DUMP]);
    assert!(
        table.contains("note: Service/default/kubernetes: has no selector"),
        "{table}"
    );
}

#[test]
fn probe_and_explain_name_skipped_kinds_that_target_the_probed_host() {
    let args = [
        "-f",
        DUMP,
        "--from",
        "istio-system/istio-ingressgateway",
        "--to",
        "httpbin.foo:8000",
    ];
    let probe = stdout(&[&["probe"][..], &args[..]].concat());
    let explain = stdout(&[&["explain"][..], &args[..]].concat());
    for (command, out) in [("probe", &probe), ("explain", &explain)] {
        // ServiceEntry foo/httpbin-alias is modelled now, and its host is the Kubernetes
        // Service's own, which takes precedence (`initServiceRegistry`): no note names it.
        let kind = "VirtualService foo/httpbin";
        assert!(out.contains(kind), "{command} does not name {kind}:\n{out}");
        // The Sidecar is modelled (and a gateway ignores it): no note names it.
        assert!(!out.contains("Sidecar foo/default"), "{command}:\n{out}");
        // A skipped kind on another host is not this request's business.
        assert!(
            !out.contains("VirtualService foo/elsewhere"),
            "{command}:\n{out}"
        );
    }
    let v = json(&[&["explain"][..], &args[..], &["--format", "json"][..]].concat());
    let notes = v["notes"].as_array().expect("notes");
    assert!(
        notes.iter().all(|n| n["code"] == "UnmodelledField") && notes.len() == 1,
        "{v:#}"
    );
}

#[test]
fn explain_names_a_built_in_default_as_such() {
    let out = stdout(&[
        "explain",
        "-f",
        DUMP,
        "--from",
        "foo/httpbin",
        "--to",
        "httpbin.foo:8000",
    ]);
    assert!(out.contains("- (built-in default) ("), "{out}");
    assert!(!out.contains("- default ("), "{out}");
}

#[test]
fn probe_of_a_selectorless_service_says_meshsim_reads_no_endpoints() {
    let v = json(&[
        "probe",
        "-f",
        DUMP,
        "--from",
        "foo/httpbin",
        "--to",
        "kubernetes.default:443",
        "--format",
        "json",
    ]);
    let f = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["code"] == "NoHealthyUpstream")
        .unwrap_or_else(|| panic!("{v:#}"));
    let message = f["message"].as_str().unwrap_or_default();
    assert!(message.contains("has no selector"), "{message}");
    assert!(message.contains("meshsim does not read"), "{message}");
}

#[test]
fn probe_from_istiod_says_istiod_is_no_mesh_client() {
    let out = stdout(&[
        "probe",
        "-f",
        DUMP,
        "--from",
        "istio-system/istiod",
        "--to",
        "httpbin.foo:8000",
    ]);
    assert!(
        out.contains("istio-system/istiod is istiod, which sends no application traffic"),
        "{out}"
    );
}
