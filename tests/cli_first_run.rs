//! A first run (issue 10 item 12): help examples that fit on one line and name files that
//! exist, an embedded library that runs without warnings, and certificates valid at the real
//! time.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn meshsim() -> Command {
    let mut cmd = Command::cargo_bin("meshsim").expect("the meshsim binary is built");
    // clap wraps help at the terminal width, 100 columns when it cannot tell (pipes, CI).
    cmd.env("NO_COLOR", "1")
        .env_remove("COLUMNS")
        .current_dir(root());
    cmd
}

const HELP: &[&[&str]] = &[
    &["--help"],
    &["run", "--help"],
    &["probe", "--help"],
    &["explain", "--help"],
    &["matrix", "--help"],
    &["diff", "--help"],
    &["check", "--help"],
    &["certs", "--help"],
    &["ls", "--help"],
    &["diagnose", "--help"],
    &["metrics", "--help"],
];

/// The lines of the `Examples:` block of a help text (up to its first blank line).
fn example_lines(help: &str) -> Vec<&str> {
    help.lines()
        .skip_while(|l| l.trim() != "Examples:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect()
}

/// The input paths an example names: what follows `-f`/`--file`/`--against`/`--plus` up to the
/// next option, and the positional paths of `run`. Output paths (`--out`, `> file`) are not
/// inputs.
fn input_paths(example: &str) -> Vec<&str> {
    // Two spaces after the command start its description.
    let command = example.trim().split("  ").next().unwrap_or_default();
    let words: Vec<&str> = command.split_whitespace().collect();
    let mut out = Vec::new();
    let mut taking = words.get(1) == Some(&"run");
    for w in words.iter().skip(2) {
        if w.starts_with('-') {
            taking = matches!(*w, "-f" | "--file" | "--against" | "--plus");
            continue;
        }
        if matches!(*w, "|" | ">") {
            break;
        }
        if taking {
            out.push(*w);
        }
    }
    out
}

#[test]
fn every_help_example_fits_on_one_line_and_names_files_that_exist() {
    let mut problems = Vec::new();
    for args in HELP {
        let out = meshsim().args(*args).output().expect("meshsim runs");
        let help = String::from_utf8(out.stdout).expect("utf-8");
        let lines = example_lines(&help);
        assert!(lines.len() >= 2, "{args:?}: no examples\n{help}");
        for line in lines {
            let command = line.trim_start();
            if !(command.starts_with("meshsim ") || command.starts_with("openssl ")) {
                problems.push(format!("{args:?}: wrapped or not a command: {line:?}"));
                continue;
            }
            if command.trim_end().ends_with('\\') {
                problems.push(format!("{args:?}: continued on the next line: {line:?}"));
            }
            for path in input_paths(command) {
                if !Path::new(&root()).join(path).exists() {
                    problems.push(format!("{args:?}: {path} does not exist: {line:?}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn example_input_paths_are_read_after_file_options_only() {
    let cases: &[(&str, &[&str])] = &[
        ("meshsim run", &[]),
        ("meshsim run scenarios/ --format json", &["scenarios/"]),
        (
            "meshsim diff -f a/ --plus b.yaml --exit-code",
            &["a/", "b.yaml"],
        ),
        ("meshsim certs -f a/ --out certs/", &["a/"]),
        (
            "meshsim matrix -f a/ --format dot | dot -Tsvg > x.svg",
            &["a/"],
        ),
        ("meshsim run                 the embedded library", &[]),
    ];
    for (example, want) in cases {
        assert_eq!(input_paths(example), *want, "{example}");
    }
}

#[test]
fn the_embedded_library_runs_with_nothing_on_stderr() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = meshsim()
        .current_dir(dir.path())
        .arg("run")
        .output()
        .expect("meshsim runs");
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let noise: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
    assert!(noise.is_empty(), "{}", noise.join("\n"));
}

#[test]
fn the_embedded_library_shows_its_warnings_with_verbose() {
    let out = meshsim()
        .args([
            "run",
            "--verbose",
            "--filter",
            "virtual-service-on-the-probed-host",
        ])
        .output()
        .expect("meshsim runs");
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("warning:"), "{stderr}");
}
