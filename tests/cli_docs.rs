//! The examples of `docs/cli.md` cannot rot: every ```` ```console ```` block line starting with
//! `$ meshsim ` is run and its standard output compared with the lines under it, where `...`
//! stands for any number of lines and a last line `[exit N]` is the expected exit code.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One checked example: where it is, the arguments after `meshsim`, the expected output lines
/// and exit code.
#[derive(Debug)]
struct Example {
    line: usize,
    args: Vec<String>,
    expected: Vec<String>,
    code: i32,
}

/// The examples of every ```` ```console ```` block of `text`.
fn examples(text: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    let mut in_console = false;
    for (i, line) in text.lines().enumerate() {
        if !in_console {
            in_console = line.trim_end() == "```console";
            continue;
        }
        if line.trim_end() == "```" {
            in_console = false;
            continue;
        }
        if let Some(cmd) = line.strip_prefix("$ meshsim ") {
            out.push(Example {
                line: i + 1,
                // Single quotes around a word keep a shell from expanding a `*` pattern; the
                // shell removes them, and so does this runner.
                args: cmd
                    .split_whitespace()
                    .map(|w| w.trim_matches('\'').to_string())
                    .collect(),
                expected: Vec::new(),
                code: 0,
            });
        } else if let Some(ex) = out.last_mut() {
            match line
                .strip_prefix("[exit ")
                .and_then(|rest| rest.strip_suffix(']'))
            {
                Some(code) => ex.code = code.parse().expect("[exit N] holds a number"),
                None => ex.expected.push(line.to_string()),
            }
        }
    }
    out
}

/// Whether `actual` matches `expected`, where a `...` line matches any run of lines.
fn matches(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first == "..." => {
            (0..=actual.len()).any(|skip| matches(rest, &actual[skip..]))
        }
        Some((first, rest)) => {
            actual.first() == Some(&first.as_str()) && matches(rest, &actual[1..])
        }
    }
}

/// A scratch directory that sees the repository's `scenarios/` and `tests/` (so `--out` writes
/// stay there).
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    #[cfg(unix)]
    std::os::unix::fs::symlink(root().join("scenarios"), dir.path().join("scenarios"))
        .expect("symlink scenarios");
    #[cfg(unix)]
    std::os::unix::fs::symlink(root().join("tests"), dir.path().join("tests"))
        .expect("symlink tests");
    dir
}

fn run(dir: &Path, ex: &Example) -> Result<(), String> {
    let out = Command::cargo_bin("meshsim")
        .expect("the meshsim binary is built")
        .env("NO_COLOR", "1")
        .current_dir(dir)
        .args(&ex.args)
        .output()
        .expect("meshsim runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let actual: Vec<&str> = stdout.lines().collect();
    let code = out.status.code();
    if code != Some(ex.code) || !matches(&ex.expected, &actual) {
        return Err(format!(
            "docs/cli.md:{}: meshsim {}\nexpected exit {} and:\n{}\n--- got exit {code:?} and:\n{stdout}--- stderr:\n{}",
            ex.line,
            ex.args.join(" "),
            ex.code,
            ex.expected.join("\n"),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

#[cfg(unix)]
#[test]
fn every_console_example_in_the_cli_docs_runs_as_shown() {
    let text = std::fs::read_to_string(root().join("docs/cli.md")).expect("docs/cli.md");
    let examples = examples(&text);
    assert!(
        examples.len() >= 10,
        "only {} checked examples",
        examples.len()
    );
    for command in ["explain", "matrix", "diff", "check", "certs", "diagnose"] {
        assert!(
            examples
                .iter()
                .any(|e| e.args.first().map(String::as_str) == Some(command)),
            "no checked example of {command}"
        );
    }
    let dir = workdir();
    let failures: Vec<String> = examples
        .iter()
        .filter_map(|ex| run(dir.path(), ex).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn ellipsis_matches_any_run_of_lines_and_nothing_else_is_loose() {
    let exp = |lines: &[&str]| lines.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(matches(&exp(&["a", "...", "d"]), &["a", "b", "c", "d"]));
    assert!(matches(&exp(&["a", "...", "b"]), &["a", "b"]));
    assert!(matches(&exp(&["...", "z"]), &["z"]));
    assert!(!matches(&exp(&["a", "c"]), &["a", "b", "c"]));
    assert!(!matches(&exp(&["a"]), &["a", "b"]));
    assert!(!matches(&exp(&["a", "...", "d"]), &["a", "b", "c"]));
}

#[test]
fn console_blocks_yield_commands_outputs_and_exit_codes() {
    let doc = "text\n```console\n$ meshsim check -f x\nno findings\n$ meshsim matrix -f y --at 1h\n[exit 2]\n```\n```sh\nmeshsim run\n```\n";
    let ex = examples(doc);
    assert_eq!(ex.len(), 2);
    assert_eq!(ex[0].line, 3);
    assert_eq!(ex[0].args, ["check", "-f", "x"]);
    assert_eq!(ex[0].expected, ["no findings"]);
    assert_eq!((ex[1].code, ex[1].expected.len()), (2, 0));
}
