//! The `meshsim` command line as users and CI see it: help, exit codes, reporters, selection.
//! Most use scenarios that need no request (clock moves only), so they isolate the CLI from the
//! data path; the data path's own outcomes are covered by `tests/cli_commands.rs`.

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

const CLOCK_ONLY: &str = "\
name: clock moves forward
description: The virtual clock advances without touching any workload.
steps:
  - advance: 25h
  - advance: 30d
";

const EMPTY_STEPS: &str = "name: empty mesh builds\nsteps: []\n";

const FIXTURE: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: foo\n";

fn meshsim() -> Command {
    let mut cmd = Command::cargo_bin("meshsim").expect("the meshsim binary is built");
    cmd.env("NO_COLOR", "1");
    cmd
}

/// A folder with two passing scenarios and a fixture that is not a scenario.
fn library() -> TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "a/clock.yaml", CLOCK_ONLY);
    write(dir.path(), "b/empty.yaml", EMPTY_STEPS);
    write(dir.path(), "fixtures/ns.yaml", FIXTURE);
    dir
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create dir");
    }
    std::fs::write(path, text).expect("write file");
}

fn stdout_of(cmd: &mut Command) -> String {
    String::from_utf8(cmd.output().expect("runs").stdout).expect("utf-8")
}

#[test]
fn every_command_has_help_with_examples() {
    for cmd in [
        vec!["--help"],
        vec!["run", "--help"],
        vec!["probe", "--help"],
        vec!["explain", "--help"],
        vec!["matrix", "--help"],
        vec!["diff", "--help"],
        vec!["check", "--help"],
        vec!["certs", "--help"],
    ] {
        meshsim()
            .args(&cmd)
            .assert()
            .success()
            .stdout(predicate::str::contains("Examples:"))
            .stdout(predicate::str::contains("meshsim "));
    }
}

#[test]
fn run_help_documents_formats_partition_and_exit_codes() {
    meshsim()
        .args(["run", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--partition <K/N>"))
        .stdout(predicate::str::contains("junit"))
        .stdout(predicate::str::contains("2 bad input"));
}

#[test]
fn passing_scenarios_exit_0_with_a_human_summary() {
    let dir = library();
    let out = stdout_of(meshsim().current_dir(dir.path()).args(["run", "."]));
    insta::assert_snapshot!("human_two_passing", out);
    meshsim()
        .current_dir(dir.path())
        .args(["run", "."])
        .assert()
        .code(0);
}

#[test]
fn json_report_counts_and_names_each_scenario() {
    let dir = library();
    let out = stdout_of(
        meshsim()
            .current_dir(dir.path())
            .args(["run", ".", "--format", "json"]),
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(v["passed"], 2);
    assert_eq!(v["failed"], 0);
    assert_eq!(v["scenarios"][0]["file"], "a/clock.yaml");
    assert_eq!(v["scenarios"][0]["verdict"], "passed");
    assert_eq!(v["scenarios"][0]["steps"][1]["kind"], "advance");
    assert_eq!(v["scenarios"][0]["steps"][1]["line"], 5);
    assert_eq!(v["scenarios"][1]["name"], "empty mesh builds");
}

#[test]
fn junit_report_has_a_suite_per_file() {
    let dir = library();
    let out = stdout_of(
        meshsim()
            .current_dir(dir.path())
            .args(["run", ".", "--format", "junit"]),
    );
    insta::assert_snapshot!("junit_two_passing", out);
}

#[test]
fn output_flag_writes_the_report_to_a_file() {
    let dir = library();
    meshsim()
        .current_dir(dir.path())
        .args(["run", ".", "--format", "junit", "--output", "report.xml"])
        .assert()
        .success()
        .stdout(predicate::str::is_empty());
    let xml = std::fs::read_to_string(dir.path().join("report.xml")).expect("report written");
    assert!(
        xml.contains("<testcase name=\"clock moves forward\""),
        "{xml}"
    );
}

#[test]
fn reports_are_byte_identical_across_runs() {
    let dir = library();
    let run = || {
        stdout_of(
            meshsim()
                .current_dir(dir.path())
                .args(["run", ".", "--format", "json"]),
        )
    };
    assert_eq!(run(), run());
}

#[test]
fn malformed_scenario_exits_2_with_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "bad.yaml",
        "name: bad\nsteps:\n  - advance: [1h\n",
    );
    meshsim()
        .current_dir(dir.path())
        .args(["run", "bad.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::is_match(r"bad\.yaml:\d+:\d+: error:").expect("regex"));
}

#[test]
fn unknown_key_exits_2_with_a_suggestion() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "typo.yaml",
        "name: typo\nsteps:\n  - request: {from: foo/sleep, to: httpbin.foo:8000}\n    expect:\n      stauts: 200\n",
    );
    meshsim()
        .current_dir(dir.path())
        .args(["run", "typo.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("typo.yaml:5:7: error:"))
        .stderr(predicate::str::contains("unknown field `stauts`"))
        .stderr(predicate::str::contains("did you mean `status`?"));
}

#[test]
fn one_malformed_file_stops_the_whole_run() {
    let dir = library();
    write(
        dir.path(),
        "c/bad.yaml",
        "name: bad\nsteps:\n  - advance: soon\n",
    );
    meshsim()
        .current_dir(dir.path())
        .args(["run", "."])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("c/bad.yaml:3:"))
        .stderr(predicate::str::contains("nothing was run"));
}

#[test]
fn fixtures_in_a_folder_are_not_scenarios() {
    let dir = library();
    let out = stdout_of(
        meshsim()
            .current_dir(dir.path())
            .args(["run", ".", "--list"]),
    );
    assert_eq!(
        out,
        "a/clock.yaml  clock moves forward\nb/empty.yaml  empty mesh builds\n"
    );
}

#[test]
fn naming_a_fixture_explicitly_is_an_error() {
    let dir = library();
    meshsim()
        .current_dir(dir.path())
        .args(["run", "fixtures/ns.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a scenario file"));
}

#[test]
fn partition_deals_sorted_scenarios_round_robin() {
    let dir = library();
    write(dir.path(), "c/third.yaml", "name: third\nsteps: []\n");
    let list = |p: &str| {
        stdout_of(
            meshsim()
                .current_dir(dir.path())
                .args(["run", ".", "--list", "--partition", p]),
        )
    };
    assert_eq!(
        list("1/2"),
        "a/clock.yaml  clock moves forward\nc/third.yaml  third\n"
    );
    assert_eq!(list("2/2"), "b/empty.yaml  empty mesh builds\n");
    meshsim()
        .args(["run", ".", "--partition", "3/2"])
        .assert()
        .code(2);
}

#[test]
fn filter_matches_names_and_paths() {
    let dir = library();
    let out = stdout_of(
        meshsim()
            .current_dir(dir.path())
            .args(["run", ".", "--filter", "clock"]),
    );
    assert!(out.contains("clock moves forward"), "{out}");
    assert!(!out.contains("empty mesh builds"), "{out}");
    assert!(out.ends_with("1 passed, 0 failed\n"), "{out}");
}

#[test]
fn missing_path_and_empty_folder_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    meshsim()
        .current_dir(dir.path())
        .args(["run", "nope/"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no such file or directory"));
    meshsim()
        .current_dir(dir.path())
        .args(["run", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no scenario files"));
}

#[test]
fn probe_rejects_bad_arguments_with_exit_2() {
    let dir = library();
    meshsim()
        .current_dir(dir.path())
        .args([
            "probe",
            "-f",
            "fixtures",
            "--from",
            "sleep",
            "--to",
            "httpbin.foo:8000",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("NAMESPACE/WORKLOAD"));
    meshsim()
        .current_dir(dir.path())
        .args([
            "probe",
            "-f",
            "fixtures",
            "--from",
            "foo/sleep",
            "--to",
            "httpbin.foo:8000",
        ])
        .args(["--fault", "istiod-sad"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown fault type"));
    meshsim()
        .current_dir(dir.path())
        .args([
            "probe",
            "-f",
            "fixtures",
            "--from",
            "foo/sleep",
            "--to",
            "httpbin.foo:8000",
        ])
        .args(["--at", "soon"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid duration"));
    meshsim()
        .args(["probe", "--from", "foo/sleep", "--to", "httpbin.foo:8000"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--file"));
}

/// A manifest with a YAML typo used to look like a scenario: skipped from folders (exit 0, "no
/// findings", a PASS) or reported as `unknown field apiVersion`. Every command that reads it now
/// stops with the syntax error and its line, exit 2.
#[test]
fn a_yaml_typo_in_a_manifest_is_exit_2_with_its_line_in_every_command() {
    let dir = library();
    let typo = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bar\n   labels: {}\n";
    write(dir.path(), "fixtures/typo.yaml", typo);
    write(
        dir.path(),
        "c/includes.yaml",
        "name: includes the fixtures\ninclude: [../fixtures/]\nsteps: []\n",
    );
    let fixtures = dir.path().join("fixtures");
    let typo_file = fixtures.join("typo.yaml");
    let folder = fixtures.to_str().expect("utf-8 path");
    let file = typo_file.to_str().expect("utf-8 path");
    let runs: [&[&str]; 5] = [
        &["check", "-f", folder],
        &["check", "-f", file],
        &["matrix", "-f", folder],
        &["certs", "-f", folder, "--out", "/nonexistent-meshsim-out"],
        &["run", dir.path().to_str().expect("utf-8 path")],
    ];
    for args in runs {
        meshsim()
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "typo.yaml:5:10: error: mapping values are not allowed in this context",
            ));
    }
}
