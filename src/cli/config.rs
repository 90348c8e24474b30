//! Loading a configuration from `-f` paths and building a mesh from it, shared by the commands.

use std::path::PathBuf;
use std::time::Duration;

use harness::{load_configuration_each, load_configuration_with, Tree};
use sim::clock::SimTime;
use sim::mesh::MeshOptions;
use sim::model::LoadOptions;
use sim::{Fault, Mesh, Resources};

use super::{ConfigArgs, NamespaceArg, ReleaseArg};

/// Loads `-f` paths (YAML files, folders or scenario files); load warnings go to stderr. The
/// error is the loader's `file:line: error: ...` text. `--istio-version`, when given, replaces
/// the release the configuration names; `-n` is the namespace of objects that name none.
pub(super) fn load(
    files: &[PathBuf],
    release: ReleaseArg,
    namespace: &NamespaceArg,
) -> Result<(Resources, Vec<Fault>), String> {
    let loaded = load_unprinted(files, release, namespace)?;
    print_warnings(&loaded.0);
    Ok(loaded)
}

/// [`load`] without printing the warnings ([`print_warnings`]): two configurations load at
/// once and print in order.
pub(super) fn load_unprinted(
    files: &[PathBuf],
    release: ReleaseArg,
    namespace: &NamespaceArg,
) -> Result<(Resources, Vec<Fault>), String> {
    let options = LoadOptions {
        namespace: namespace.namespace.as_deref(),
    };
    let (mut resources, faults) =
        load_configuration_with(&Tree::Fs, files, options).map_err(|e| e.to_string())?;
    with_release(&mut resources, release)?;
    Ok((resources, faults))
}

/// The loader's warnings on stderr, one per line.
pub(super) fn print_warnings(resources: &Resources) {
    for w in &resources.warnings {
        eprintln!("{w}");
    }
}

/// [`load`] for `check`: every file that cannot be loaded is an error (all of them, in order,
/// each `file:line: error: ...`), and warnings are left in the resources, unprinted, since
/// `check` reports them as findings.
pub(super) fn load_all(
    files: &[PathBuf],
    release: ReleaseArg,
    namespace: &NamespaceArg,
) -> Result<Resources, Vec<String>> {
    let options = LoadOptions {
        namespace: namespace.namespace.as_deref(),
    };
    let (mut resources, _faults) = load_configuration_each(&Tree::Fs, files, options)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    with_release(&mut resources, release).map_err(|e| vec![e])?;
    Ok(resources)
}

impl ConfigArgs {
    /// [`load`] of these arguments.
    pub(super) fn load(&self) -> Result<(Resources, Vec<Fault>), String> {
        load(&self.files, self.release, &self.namespace)
    }

    /// [`load_all`] of these arguments.
    pub(super) fn load_all(&self) -> Result<Resources, Vec<String>> {
        load_all(&self.files, self.release, &self.namespace)
    }
}

/// Applies `--istio-version` and checks the resources against that release.
fn with_release(resources: &mut Resources, release: ReleaseArg) -> Result<(), String> {
    if let Some(version) = release.istio_version {
        resources.mesh_config.istio_release = Some(version);
    }
    release_check(resources)
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
    build_mesh_from(command, resources, faults, seed, at, SimTime::EPOCH)
}

/// [`build_mesh`] with the virtual clock starting at `start` instead of the fixed epoch.
pub(super) fn build_mesh_from(
    command: &str,
    resources: Resources,
    faults: &[Fault],
    seed: u64,
    at: Option<Duration>,
    start: SimTime,
) -> Result<Mesh, String> {
    let opts = MeshOptions {
        seed,
        start,
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
