//! Tests of loading, validation, injection and the Resources API.

mod conformance;
mod injection;
mod interception;
mod loading;
mod locate;
mod resources_api;
mod robustness;
mod validation;

use std::path::Path;

use super::{load_str, LoadError, Resources};

/// Loads `text` as if read from `test.yaml`.
fn load(text: &str) -> Result<Resources, LoadError> {
    load_str(text, Path::new("test.yaml"))
}

/// Loads `text`, failing the test with the loader's message when it is rejected.
fn load_ok(text: &str) -> Resources {
    match load(text) {
        Ok(r) => r,
        Err(e) => panic!("expected the YAML to load, got: {e}"),
    }
}

/// Loads `text`, failing the test when it is accepted.
fn load_err(text: &str) -> LoadError {
    match load(text) {
        Ok(r) => panic!(
            "expected a load error, got {} warnings and success",
            r.warnings.len()
        ),
        Err(e) => e,
    }
}
