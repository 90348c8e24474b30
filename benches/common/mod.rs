//! Shared fixtures of the benchmarks (a module of each bench, not a bench itself).

#![allow(dead_code)]

use std::path::PathBuf;

use sim::model::{load_paths, Resources};

/// The repository root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The sleep/httpbin layout of Istio's mTLS migration task (`scenarios/fixtures`).
pub(crate) fn sleep_httpbin() -> Resources {
    let path = root().join("scenarios/fixtures/sleep-httpbin.yaml");
    load_paths(std::slice::from_ref(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
