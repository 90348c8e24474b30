//! The shipped alert rules (`examples/alerts/`) tested with Prometheus' own rule engine against
//! simulated incidents: `meshsim run --metrics-out` records the istiod-down, CSR-rate-limit,
//! istiod-RBAC-denied, root-rotation, expired-root and 30-day baseline scenarios and fills the promtool test file;
//! `promtool test rules` must pass, and must fail once a rule's threshold is moved to one that
//! should not fire (so the test can fail).
//!
//! Needs `promtool` (Debian's `prometheus` package). Without it the test fails when `CI` is set
//! and otherwise prints a loud skip note, so `cargo test` still works on a bare machine.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use tempfile::TempDir;

/// The scenarios the example test file's groups are named after.
const SCENARIOS: &[&str] = &[
    "scenarios/control-plane/istiod-down-25h-certificates-expired.yaml",
    "scenarios/control-plane/csr-rate-limit-recovers-after-retries.yaml",
    "scenarios/control-plane/istiod-rbac-denied-certificates-not-renewed.yaml",
    "scenarios/certificates/partial-root-rotation-breaks-clients-on-the-old-root.yaml",
    "scenarios/certificates/rotation-keeps-the-mesh-healthy-for-30-days.yaml",
    "scenarios/certificates/expired-root-breaks-every-mtls-hop.yaml",
];

const RULES: &str = "examples/alerts/mesh-alerts.rules.yaml";
const TESTS: &str = "examples/alerts/mesh-alerts.test.yaml";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether promtool can run; without it, fail under CI, else say loudly that this is skipped.
fn promtool_available() -> bool {
    let found = Process::new("promtool").arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "promtool is not installed but CI is set: install Debian's `prometheus` package \
             (apt-get install prometheus), as .ci/run does"
        );
        // Written to the stream itself: the test harness captures `eprintln!` of a passing
        // test, and this note must be seen.
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED tests/alerts.rs: promtool not found (apt-get install prometheus); the \
             example alert rules were NOT tested ***\n"
        );
    }
    found
}

/// Records the scenarios and writes the filled promtool test file into a temp dir.
fn record() -> (TempDir, PathBuf) {
    let out = TempDir::new().expect("temp dir");
    let mut cmd = Command::cargo_bin("meshsim").expect("the meshsim binary is built");
    cmd.current_dir(root())
        .arg("run")
        .args(SCENARIOS)
        .arg("--metrics-out")
        .arg(out.path())
        .args(["--metrics-interval", "5m", "--promtool-tests", TESTS])
        .assert()
        .success();
    let filled = out.path().join("mesh-alerts.test.yaml");
    (out, filled)
}

/// Runs `promtool test rules FILE`: its exit status and output.
fn promtool_test(file: &Path) -> (bool, String) {
    let out = Process::new("promtool")
        .args(["test", "rules"])
        .arg(file)
        .output()
        .expect("promtool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// One recording for both halves (the scenarios take a while in a debug build): the shipped
/// rules pass, and each rule with a threshold the incident never reaches fails.
#[test]
fn the_example_alerts_fire_on_the_incidents_and_fail_with_a_threshold_that_should_not_fire() {
    if !promtool_available() {
        return;
    }
    let (dir, filled) = record();
    let (passed, output) = promtool_test(&filled);
    assert!(passed, "promtool test rules failed:\n{output}");

    let rules = std::fs::read_to_string(root().join(RULES)).expect("rules");
    let tests = std::fs::read_to_string(&filled).expect("filled test file");
    let original = root().join(RULES).display().to_string();
    assert!(tests.contains(&original), "rule_files is made absolute");
    // Each change asks for a threshold the incident never reaches; each must break a test.
    let changes = [
        ("< 3600\n", "< 60\n", "WorkloadCertificateExpiringSoon"),
        (
            "{request_type=\"csr\"}[10m])) > 0",
            "{request_type=\"csr\"}[10m])) > 100",
            "CsrFailures",
        ),
        (
            "fail_verify_error[10m])) > 0",
            "fail_verify_error[10m])) > 100",
            "TlsVerifyFailures",
        ),
        ("< 30 * 24 * 3600", "< -1", "RootCertificateExpiringSoon"),
    ];
    for (from, to, alert) in changes {
        assert!(rules.contains(from), "{RULES} holds `{from}`");
        let changed = dir.path().join(format!("{alert}.rules.yaml"));
        std::fs::write(&changed, rules.replacen(from, to, 1)).expect("write rules");
        let test = dir.path().join(format!("{alert}.test.yaml"));
        let text = tests.replace(&original, &changed.display().to_string());
        std::fs::write(&test, text).expect("write test");
        let (passed, output) = promtool_test(&test);
        assert!(
            !passed,
            "{alert} with `{to}` should fail its tests, but promtool passed:\n{output}"
        );
        assert!(
            output.contains(&format!("alertname: {alert}")),
            "the failure names {alert}:\n{output}"
        );
    }
}

#[test]
fn a_promtool_test_group_naming_no_recorded_scenario_is_bad_input() {
    let out = TempDir::new().expect("temp dir");
    let template = out.path().join("t.test.yaml");
    std::fs::write(
        &template,
        "rule_files: [r.yaml]\ntests:\n  - name: no-such-scenario\n    alert_rule_test: []\n",
    )
    .expect("write template");
    let mut cmd = Command::cargo_bin("meshsim").expect("the meshsim binary is built");
    let assert = cmd
        .current_dir(root())
        .args([
            "run",
            "scenarios/certificates/expired-root-breaks-every-mtls-hop.yaml",
            "--metrics-out",
        ])
        .arg(out.path().join("rec"))
        .arg("--promtool-tests")
        .arg(&template)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("`no-such-scenario`: no recorded scenario file has this stem")
            && stderr.contains("expired-root-breaks-every-mtls-hop"),
        "{stderr}"
    );
}
