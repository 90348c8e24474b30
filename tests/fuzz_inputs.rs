//! Fuzzing the inputs (issue 10): arbitrary bytes and mutated copies of the repository's real
//! manifests and scenario files (byte flips, deleted lines, changed indentation, duplicated
//! keys and lines) go through the loader (`sim::model::load_str`) and the scenario parser
//! (`harness::parse_scenario`). Each must return, quickly, either a result or an error that
//! names the file and a line — never panic.
//!
//! 256 cases per property by default so CI stays fast; `MESHSIM_FUZZ_CASES=20000` runs longer.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use harness::{parse_scenario, Tree};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// How long one input may take before it counts as a hang.
const BUDGET: Duration = Duration::from_secs(5);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every YAML file of the scenario library, the test fixtures and the docs' examples: (path,
/// text).
fn corpus() -> &'static [(PathBuf, String)] {
    static CORPUS: OnceLock<Vec<(PathBuf, String)>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut out = Vec::new();
        for dir in ["scenarios", "tests/fixtures", "docs/examples"] {
            let mut stack = vec![root().join(dir)];
            while let Some(d) = stack.pop() {
                let Ok(entries) = std::fs::read_dir(&d) else {
                    continue;
                };
                for e in entries.flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                        if let Ok(text) = std::fs::read_to_string(&p) {
                            out.push((p, text));
                        }
                    }
                }
            }
        }
        out.sort();
        assert!(out.len() > 50, "corpus too small: {}", out.len());
        out
    })
}

fn cases() -> u32 {
    std::env::var("MESHSIM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/fuzz_inputs.txt",
        ))),
        ..ProptestConfig::default()
    }
}

/// One edit of a text, as a person (or a bad merge) makes them.
#[derive(Debug, Clone)]
enum Mutation {
    /// XOR one byte (the result may not be UTF-8; it is then read lossily, as a file would be).
    FlipByte { at: usize, mask: u8 },
    /// Delete a line.
    DeleteLine { at: usize },
    /// Add or remove leading spaces on a line.
    Indent { at: usize, by: i8 },
    /// Repeat a line right after itself (a duplicated key, a doubled list item).
    DuplicateLine { at: usize },
    /// Insert a tricky token at a line start.
    Insert { at: usize, token: &'static str },
}

const TOKENS: &[&str] = &[
    "---\n",
    "- ",
    "&a ",
    "*a\n",
    "<<: *a\n",
    "!!binary ",
    "? ",
    "{",
    "[",
    "\"",
    "'",
    "\t",
    "kind: List\n",
    "items:\n",
    "metadata: {}\n",
    "spec: null\n",
    "port: 99999999999999999999\n",
    "port: -1\n",
    "replicas: 4294967296\n",
    "mode: STRICT\n",
    // Includes stay inside the repository: one of `/` walks the whole filesystem.
    "include: [.]\n",
    "include: [../nothing-here.yaml]\n",
    "advance: 99999999999d\n",
    "%YAML 1.1\n",
    "\u{feff}",
    "\u{0}",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Mutation::FlipByte { at, mask }),
        any::<usize>().prop_map(|at| Mutation::DeleteLine { at }),
        (any::<usize>(), -4i8..=4).prop_map(|(at, by)| Mutation::Indent { at, by }),
        any::<usize>().prop_map(|at| Mutation::DuplicateLine { at }),
        (any::<usize>(), proptest::sample::select(TOKENS))
            .prop_map(|(at, token)| Mutation::Insert { at, token }),
    ]
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    let n = lines.len();
    match *m {
        Mutation::FlipByte { at, mask } => {
            let mut bytes = text.as_bytes().to_vec();
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] ^= mask;
            }
            return String::from_utf8_lossy(&bytes).into_owned();
        }
        Mutation::DeleteLine { at } => {
            lines.remove(at % n);
        }
        Mutation::Indent { at, by } => {
            let l = &mut lines[at % n];
            if by >= 0 {
                l.insert_str(0, &" ".repeat(by as usize));
            } else {
                let strip = l.len() - l.trim_start_matches(' ').len();
                l.drain(..strip.min(by.unsigned_abs() as usize));
            }
        }
        Mutation::DuplicateLine { at } => {
            let l = lines[at % n].clone();
            lines.insert(at % n + 1, l);
        }
        Mutation::Insert { at, token } => {
            lines[at % n].insert_str(0, token);
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// Loader and scenario parser on `text` as if read from `file`: no panic (proptest reports one
/// with the input), within the budget, and an error names the file and a line.
fn check(file: &Path, text: &str) -> Result<(), TestCaseError> {
    let start = Instant::now();
    match sim::model::load_str(text, file) {
        Ok(_) => {}
        Err(e) => {
            prop_assert_eq!(&e.origin.file, file, "{}", e);
            prop_assert!(e.origin.line >= 1, "no line: {}", e);
        }
    }
    match parse_scenario(&Tree::Fs, file, text) {
        Ok(_) => {}
        Err(e) => {
            let shown = e.to_string();
            // An error in an included file names that file; one in this file names this one.
            prop_assert!(e.line >= 1, "no line: {}", shown);
            prop_assert!(!e.file.as_os_str().is_empty(), "no file: {}", shown);
        }
    }
    prop_assert!(
        start.elapsed() < BUDGET,
        "took {:?} (budget {:?})",
        start.elapsed(),
        BUDGET
    );
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_load_or_fail_with_file_and_line(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let text = String::from_utf8_lossy(&bytes);
        check(&root().join("scenarios/fuzz.yaml"), &text)?;
    }

    #[test]
    fn mutated_real_manifests_load_or_fail_with_file_and_line(
        pick in any::<prop::sample::Index>(),
        edits in proptest::collection::vec(mutation(), 1..6),
    ) {
        let (file, text) = pick.get(corpus());
        let mut text = text.clone();
        for m in &edits {
            text = apply(&text, m);
        }
        check(file, &text)?;
    }
}

#[test]
fn mutations_edit_the_text_they_name() {
    let text = "a: 1\n  b: 2\nc: 3\n";
    let cases: &[(Mutation, &str)] = &[
        (Mutation::DeleteLine { at: 1 }, "a: 1\nc: 3\n"),
        (Mutation::Indent { at: 1, by: -1 }, "a: 1\n b: 2\nc: 3\n"),
        (Mutation::Indent { at: 0, by: 2 }, "  a: 1\n  b: 2\nc: 3\n"),
        (
            Mutation::DuplicateLine { at: 2 },
            "a: 1\n  b: 2\nc: 3\nc: 3\n",
        ),
        (
            Mutation::Insert { at: 0, token: "- " },
            "- a: 1\n  b: 2\nc: 3\n",
        ),
        (
            Mutation::FlipByte { at: 0, mask: 0x20 },
            "A: 1\n  b: 2\nc: 3\n",
        ),
    ];
    for (m, want) in cases {
        assert_eq!(apply(text, m), *want, "{m:?}");
    }
}

/// The samples' exported artifacts (issue 13): istio-proxy logs, istiod logs and secret dumps,
/// each with the loader that reads it.
fn artifacts() -> &'static [(PathBuf, String)] {
    static ARTIFACTS: OnceLock<Vec<(PathBuf, String)>> = OnceLock::new();
    ARTIFACTS.get_or_init(|| {
        let mut out = Vec::new();
        let base = root().join("tests/fixtures/real");
        for case in std::fs::read_dir(&base).expect("samples").flatten() {
            for f in std::fs::read_dir(case.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let p = f.path();
                if p.extension().is_some_and(|x| x == "log" || x == "json") {
                    out.push((
                        p.clone(),
                        std::fs::read_to_string(&p).expect("sample reads"),
                    ));
                }
            }
        }
        out.sort();
        assert!(out.len() >= 20, "artifact corpus too small: {}", out.len());
        out
    })
}

/// Every artifact loader on `text`: no panic, within the budget, and an error names `file`.
fn check_artifact(file: &Path, text: &str) -> Result<(), TestCaseError> {
    let start = Instant::now();
    let name = file.display().to_string();
    let results = [
        sim::artifacts::parse_proxy_log(&name, text).err(),
        sim::artifacts::parse_istiod_log(&name, text).err(),
        sim::artifacts::parse_secret_dump(&name, text).err(),
    ];
    for e in results.into_iter().flatten() {
        prop_assert!(e.to_string().starts_with(&name), "{}", e);
    }
    prop_assert!(start.elapsed() < BUDGET, "took {:?}", start.elapsed());
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_are_read_or_refused_by_every_artifact_loader(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check_artifact(&root().join("fuzz.log"), &String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn mutated_real_artifacts_are_read_or_refused_naming_the_file(
        pick in any::<prop::sample::Index>(),
        edits in proptest::collection::vec(mutation(), 1..6),
    ) {
        let (file, text) = pick.get(artifacts());
        let mut text = text.clone();
        for m in &edits {
            text = apply(&text, m);
        }
        check_artifact(file, &text)?;
    }
}
