//! Loading a configuration from `-f` paths and building a mesh from it, shared by the commands.

use std::path::PathBuf;
use std::time::Duration;

use harness::{load_configuration, Tree};
use sim::mesh::MeshOptions;
use sim::{Fault, Mesh, Resources};

/// Loads `-f` paths (YAML files, folders or scenario files); load warnings go to stderr. The
/// error is the loader's `file:line: error: ...` text.
pub(super) fn load(files: &[PathBuf]) -> Result<(Resources, Vec<Fault>), String> {
    let (resources, faults) = load_configuration(&Tree::Fs, files).map_err(|e| e.to_string())?;
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
