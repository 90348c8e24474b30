//! Loading a configuration from `-f` paths and building a mesh from it, shared by the commands.

use std::path::PathBuf;
use std::time::Duration;

use harness::{load_configuration, Tree};
use sim::mesh::MeshOptions;
use sim::{Fault, Mesh, Resources};

use super::ReleaseArg;

/// Loads `-f` paths (YAML files, folders or scenario files); load warnings go to stderr. The
/// error is the loader's `file:line: error: ...` text. `--istio-version`, when given, replaces
/// the release the configuration names.
pub(super) fn load(
    files: &[PathBuf],
    release: ReleaseArg,
) -> Result<(Resources, Vec<Fault>), String> {
    let (mut resources, faults) =
        load_configuration(&Tree::Fs, files).map_err(|e| e.to_string())?;
    if let Some(version) = release.istio_version {
        resources.mesh_config.istio_release = Some(version);
    }
    release_check(&resources)?;
    for w in &resources.warnings {
        eprintln!("{w}");
    }
    Ok((resources, faults))
}

/// Builds the mesh with `faults` injected at time zero, then advances the clock by `at`: the
/// order design.md gives for `--fault` and `--at`.
pub(super) fn build_mesh(
    command: &str,
    resources: Resources,
    faults: &[Fault],
    seed: u64,
    at: Option<Duration>,
) -> Result<Mesh, String> {
    let opts = MeshOptions {
        seed,
        ..MeshOptions::default()
    };
    let mut mesh =
        Mesh::build(resources, faults, opts).map_err(|e| format!("meshsim {command}: {e}"))?;
    if let Some(at) = at {
        mesh.advance(at);
    }
    Ok(mesh)
}

/// Rejects the AuthorizationPolicy fields and keys the configured Istio release does not have
/// (`sim::model::release_problems`), as that release's webhook would.
pub(super) fn release_check(resources: &Resources) -> Result<(), String> {
    let problems = sim::model::release_problems(resources);
    if problems.is_empty() {
        return Ok(());
    }
    Err(problems
        .iter()
        .map(|p| format!("error: {p}"))
        .collect::<Vec<_>>()
        .join("\n"))
}
