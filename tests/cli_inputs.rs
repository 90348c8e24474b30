//! How inputs reach meshsim: each is read once (stdin, `/dev/stdin`, process substitution),
//! paths keep every `..`, and only regular files are read through `include:` and folders, with
//! a size cap. Each of these failed before: a pipe was read twice and loaded nothing, `../../x`
//! lost a `..`, and `/dev/zero` or a FIFO took all memory or blocked forever.

use std::path::Path;
use std::process::Command as StdCommand;

use assert_cmd::Command;
use predicates::prelude::*;

/// A PeerAuthentication Istio's validation rejects: `check` must fail on it, whatever carries it.
const INVALID_POLICY: &str = "\
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: foo}
spec:
  mtls: {mode: STRCT}
";

const NAMESPACE: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: foo\n";

fn meshsim() -> Command {
    let mut cmd = Command::cargo_bin("meshsim").expect("the meshsim binary is built");
    cmd.env("NO_COLOR", "1");
    cmd
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create dir");
    }
    std::fs::write(path, text).expect("write file");
}

/// What `check` says about the invalid policy when it is read from a file: the reference the
/// piped forms must match.
fn check_of_file(dir: &Path) -> (Option<i32>, String) {
    write(dir, "invalid.yaml", INVALID_POLICY);
    let out = meshsim()
        .args(["check", "-f"])
        .arg(dir.join("invalid.yaml"))
        .output()
        .expect("runs");
    (
        out.status.code(),
        String::from_utf8(out.stderr).expect("utf-8"),
    )
}

#[test]
fn an_invalid_policy_on_stdin_fails_check_as_a_file_does() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, stderr) = check_of_file(dir.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("STRCT"), "{stderr}");
    for path in ["-", "/dev/stdin"] {
        meshsim()
            .args(["check", "-f", path])
            .write_stdin(INVALID_POLICY)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("STRCT"));
    }
}

#[test]
fn stdin_named_twice_is_an_error_not_an_empty_second_input() {
    meshsim()
        .args(["diff", "-f", "-", "--against", "-"])
        .write_stdin(NAMESPACE)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("can be read only once"));
}

#[cfg(unix)]
#[test]
fn process_substitution_is_read_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "invalid.yaml", INVALID_POLICY);
    let bin = assert_cmd::cargo::cargo_bin("meshsim");
    let out = StdCommand::new("bash")
        .arg("-c")
        .arg(r#""$0" check -f <(cat "$1")"#)
        .arg(&bin)
        .arg(dir.path().join("invalid.yaml"))
        .env("NO_COLOR", "1")
        .output()
        .expect("bash runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("STRCT"), "{stderr}");
}

#[test]
fn a_scenario_on_stdin_runs() {
    meshsim()
        .args(["run", "-"])
        .write_stdin("name: from stdin\nsteps:\n  - advance: 1h\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("from stdin"));
}

#[test]
fn an_include_two_folders_up_keeps_both_parent_components() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "shared/ns.yaml", NAMESPACE);
    write(
        dir.path(),
        "suite/deep/s.yaml",
        "name: two up\ninclude: [../../shared/ns.yaml]\nsteps: []\n",
    );
    // Run from the scenario's own folder, where a dropped `..` would name suite/shared/ns.yaml.
    meshsim()
        .current_dir(dir.path().join("suite/deep"))
        .args(["run", "s.yaml"])
        .assert()
        .success();
    meshsim()
        .current_dir(dir.path().join("suite/deep"))
        .args(["check", "-f", "../../shared/ns.yaml"])
        .assert()
        .success();
}

#[test]
fn include_of_the_scenarios_own_folder_loads_its_fixtures() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "ns.yaml", NAMESPACE);
    write(
        dir.path(),
        "s.yaml",
        "name: own folder\ninclude: [./]\nsteps: []\n",
    );
    meshsim()
        .current_dir(dir.path())
        .args(["run", "s.yaml"])
        .assert()
        .success();
}

#[cfg(unix)]
#[test]
fn an_include_of_a_device_or_fifo_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let made = StdCommand::new("mkfifo")
        .arg(dir.path().join("pipe.yaml"))
        .status()
        .expect("mkfifo");
    assert!(made.success());
    for (target, what) in [("/dev/zero", "a character device"), ("pipe.yaml", "a FIFO")] {
        write(
            dir.path(),
            "s.yaml",
            &format!("name: device\ninclude: [{target}]\nsteps: []\n"),
        );
        meshsim()
            .current_dir(dir.path())
            .args(["run", "s.yaml"])
            .timeout(std::time::Duration::from_secs(60))
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "not a regular file ({what})"
            )));
    }
}

#[test]
fn an_endless_input_named_directly_is_cut_off_at_the_cap() {
    meshsim()
        .args(["check", "-f", "/dev/zero"])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("larger than 256 MiB"));
}

#[test]
fn a_byte_order_mark_before_api_version_loads() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "bom.yaml", &format!("\u{feff}{NAMESPACE}"));
    meshsim()
        .args(["check", "-f"])
        .arg(dir.path().join("bom.yaml"))
        .assert()
        .success();
}

#[test]
fn deep_nesting_and_alias_bombs_are_bounded_with_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let deep = format!(
        "{NAMESPACE}  labels: {}{}\n",
        "[".repeat(2000),
        "]".repeat(2000)
    );
    write(dir.path(), "deep.yaml", &deep);
    let mut bomb = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: foo}\ndata:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 9].join(", ");
        bomb.push_str(&format!("  a{i}: &a{i} [{refs}]\n"));
    }
    write(dir.path(), "bomb.yaml", &bomb);
    for (file, says) in [
        ("deep.yaml", "recursion limit exceeded"),
        ("bomb.yaml", "repetition limit exceeded"),
    ] {
        meshsim()
            .args(["check", "-f"])
            .arg(dir.path().join(file))
            .timeout(std::time::Duration::from_secs(60))
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
}

/// What the API server, curl or the argument parser refuses is refused here too, naming the
/// file and line or the argument: never loaded, sent or printed as given.
#[test]
fn names_counts_and_request_parts_kubernetes_or_curl_refuse_are_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let deployment = |name: &str, replicas: i64, port: i64| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: foo}}\n\
             spec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    \
             metadata: {{labels: {{app: web}}}}\n    spec:\n      containers: [{{name: c, image: x, \
             ports: [{{containerPort: {port}}}]}}]\n"
        )
    };
    let manifests = [
        (
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: Foo_Bar}\n".to_string(),
            "x.yaml:3: error: invalid Namespace Foo_Bar: metadata.name: Invalid value: \"Foo_Bar\": a lowercase RFC 1123 label",
        ),
        (
            deployment("\"web\\nx\"", 1, 80),
            "error: invalid Deployment foo/web\\nx: metadata.name: Invalid value: \"web\\nx\"",
        ),
        (
            deployment("web", -1, 80),
            "x.yaml:5: error: invalid Deployment foo/web: spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        ),
        (
            deployment("web", 1, -5),
            "spec.template.spec.containers[0].ports[0].containerPort: Invalid value: -5: must be between 1 and 65535, inclusive",
        ),
        (
            deployment("web", 1, 80).replace("containerPort: 80", "containerPort: 80, protocol: Tcp"),
            "spec.template.spec.containers[0].ports[0].protocol: Unsupported value: \"Tcp\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
        ),
        (
            "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: foo}\nspec:\n  selector: {app: web}\n  ports: [{port: 80, protocol: tcp}]\n".to_string(),
            "spec.ports[0].protocol: Unsupported value: \"tcp\"",
        ),
    ];
    for (text, says) in manifests {
        write(dir.path(), "x.yaml", &text);
        meshsim()
            .args(["check", "-f"])
            .arg(dir.path().join("x.yaml"))
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
    write(dir.path(), "ns.yaml", NAMESPACE);
    let fixtures = dir.path().join("ns.yaml");
    let probes: [(&[&str], &str); 4] = [
        (&["--path", "nopath"], "path \"nopath\" must start with `/`"),
        (
            &["-H", "X-A: b\r\nX-B: c"],
            "header \"x-a\": the value contains CR, LF or NUL",
        ),
        (&["--at=-5h"], "invalid duration \"-5h\""),
        (
            &["--fault", "tls-params:workload=foo/web,cipher_suites=BOGUS"],
            "unknown cipher suite \"BOGUS\"",
        ),
    ];
    for (extra, says) in probes {
        meshsim()
            .args(["probe", "-f"])
            .arg(&fixtures)
            .args(["--from", "foo/web", "--to", "web.foo:80"])
            .args(extra)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
    write(
        dir.path(),
        "s.yaml",
        "name: smuggled header\nsteps:\n  - request: {from: foo/web, to: web.foo:80, headers: {x-a: \"b\\r\\nx-b: c\"}}\n    expect: {status: 200}\n",
    );
    meshsim()
        .args(["run"])
        .arg(dir.path().join("s.yaml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "s.yaml:3: error: request: header \"x-a\": the value contains CR, LF or NUL",
        ));
}
