//! The NCA Istio test inputs: malformed policies are rejected with file, line and message; valid
//! ones load; nothing in the folder panics.

use std::path::{Path, PathBuf};

use crate::model::load_paths;

/// `shared/testdata` beside the checkout (`../shared` from the repository root; one level
/// further up from a worktree under `wt/`), or `$MESHSIM_TESTDATA`.
fn testdata() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("MESHSIM_TESTDATA")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    candidates.push(
        Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/testdata"
        ))
        .to_path_buf(),
    );
    candidates.push(
        Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/testdata"
        ))
        .to_path_buf(),
    );
    let found = candidates.iter().find(|d| d.is_dir()).cloned();
    if found.is_none() {
        // CI always has shared/ beside the clone: there a missing folder is a failure, not a skip.
        assert!(
            std::env::var_os("CI").is_none(),
            "shared/testdata is absent in CI ({candidates:?})"
        );
        eprintln!("note: shared/testdata is absent ({candidates:?}); conformance test skipped");
    }
    found
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.sort();
    for e in entries {
        if e.is_dir() {
            files_under(&e, out);
        } else if matches!(
            e.extension().and_then(|x| x.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            out.push(e);
        }
    }
}

#[test]
fn nca_parse_error_policies_are_rejected_with_file_line_and_message() {
    let Some(root) = testdata() else { return };
    let dir = root.join("nca-istio/tests/istio_testcases/example_policies/testcase3");
    let mut files = Vec::new();
    files_under(&dir, &mut files);
    let bad: Vec<_> = files
        .iter()
        .filter(|f| f.to_string_lossy().contains("-parse-error-"))
        .collect();
    assert!(
        bad.len() >= 16,
        "expected the 16 parse-error cases, found {}",
        bad.len()
    );
    for file in bad {
        let err = match load_paths(std::slice::from_ref(file)) {
            Ok(_) => panic!("{} must be rejected", file.display()),
            Err(e) => e,
        };
        assert_eq!(&err.origin.file, file, "error names the file: {err}");
        assert!(err.origin.line > 0, "error names a line: {err}");
        assert!(err.message.len() > 20, "error explains: {err}");
        println!("{err}");
    }
}

#[test]
fn nca_valid_syntax_policies_load() {
    let Some(root) = testdata() else { return };
    let dir = root.join("nca-istio/tests/istio_testcases/example_policies/testcase3");
    for name in [
        "testcase3-valid-syntax-source-not-empty.yaml",
        "testcase3-valid-syntax-when-is-empty.yaml",
    ] {
        let res = load_paths(&[dir.join(name)]).unwrap_or_else(|e| panic!("{name} must load: {e}"));
        assert_eq!(res.authorization_policies.len(), 1, "{name}");
    }
}

#[test]
fn every_nca_file_loads_or_fails_with_file_and_line() {
    let Some(root) = testdata() else { return };
    let mut files = Vec::new();
    files_under(&root.join("nca-istio"), &mut files);
    assert!(!files.is_empty());
    for file in &files {
        let result = std::panic::catch_unwind(|| load_paths(std::slice::from_ref(file)));
        match result {
            Err(_) => panic!("loading {} panicked", file.display()),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                assert_eq!(&e.origin.file, file, "{e}");
                assert!(e.origin.line > 0, "error without a line: {e}");
                println!("{e}");
            }
        }
    }
}

#[test]
fn nca_bookinfo_topology_folds_pods_into_deployments_and_policies_load() {
    let Some(root) = testdata() else { return };
    let base = root.join("nca-istio/tests/istio_testcases");
    let topology = load_paths(&[base.join("example_podlist")])
        .unwrap_or_else(|e| panic!("bookinfo topology must load: {e}"));
    let deployments = topology
        .workloads
        .iter()
        .filter(|w| w.kind == crate::model::WorkloadKind::Deployment)
        .count();
    assert!(
        deployments >= 6,
        "bookinfo has at least 6 deployments, found {deployments}"
    );
    let pods: Vec<_> = topology
        .workloads
        .iter()
        .filter(|w| w.kind == crate::model::WorkloadKind::Pod)
        .map(|w| format!("{}/{}", w.meta.namespace, w.meta.name))
        .collect();
    assert!(
        pods.is_empty(),
        "every dumped pod belongs to a loaded Deployment: {pods:?}"
    );
    assert!(!topology.services.is_empty());
    let mut policies = Vec::new();
    files_under(&base.join("example_policies/bookinfo-demo"), &mut policies);
    let mut loaded = 0;
    for file in policies
        .iter()
        .filter(|f| !f.to_string_lossy().ends_with("-scheme.yaml"))
    {
        let res = load_paths(std::slice::from_ref(file))
            .unwrap_or_else(|e| panic!("{} must load: {e}", file.display()));
        loaded += res.authorization_policies.len();
    }
    assert!(loaded >= 19, "bookinfo-demo policies: {loaded}");
}
