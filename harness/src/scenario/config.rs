//! A scenario's configuration: `include:` files and folders, inline `resources:` and the `mesh:`
//! section, loaded into one `Resources` set. Also used by `probe -f`, where a path may be plain
//! YAML or a scenario file.

use std::path::{Path, PathBuf};

use sim::model::{load_sources, parse_object, LoadError};
use sim::model::{Origin, Resources};
use sim::Fault;

use super::lines::LineIndex;
use super::raw::RawScenario;
use crate::error::InputError;
use crate::tree::{is_manifest, Tree};

/// Loads the configuration named by `paths` (files or folders of plain YAML, or scenario files,
/// whose includes, resources, mesh section and faults then count). Each path is read once, so
/// `-` (stdin) and pipes such as `-f <(helm template ...)` work.
pub fn load_configuration(
    tree: &Tree,
    paths: &[PathBuf],
) -> Result<(Resources, Vec<Fault>), InputError> {
    let mut plain = Vec::new();
    let mut scenarios = Vec::new();
    for path in paths {
        if !tree.exists(path) {
            return Err(InputError::at(path, 0, "no such file or directory"));
        }
        if tree.is_dir(path) {
            plain.extend(manifests_under(tree, path)?);
            continue;
        }
        let text = tree.read_named(path)?;
        match super::classify(path, &text)? {
            super::FileKind::Scenario => scenarios.push((path.clone(), text)),
            super::FileKind::Manifest => plain.push((path.clone(), text)),
        }
    }
    let mut resources = load_sources(plain).map_err(from_load)?;
    let mut faults = Vec::new();
    for (path, text) in scenarios {
        let scenario = super::parse_scenario(tree, &path, &text)?;
        resources.merge(scenario.resources);
        faults.extend(scenario.faults);
    }
    Ok((resources, faults))
}

/// Builds the resources of one scenario from its includes, inline objects and `mesh:` section.
pub(super) fn scenario_resources(
    tree: &Tree,
    file: &Path,
    raw: &RawScenario,
    lines: &LineIndex,
) -> Result<Resources, InputError> {
    let base = file.parent().unwrap_or(Path::new(""));
    let mut includes = Vec::new();
    for (i, inc) in raw.include.iter().enumerate() {
        let path = crate::tree::normalize(&base.join(inc));
        if !tree.exists(&path) {
            let line = lines.item("include", i).max(lines.key("include"));
            return Err(InputError::at(
                file,
                line,
                format!(
                    "include {inc:?}: no such file or directory ({} relative to this file)",
                    path.display()
                ),
            ));
        }
        includes.push(path);
    }
    let mut resources = load_tree_paths(tree, &includes)?;

    for (i, value) in raw.resources.iter().enumerate() {
        let origin = Origin {
            file: file.to_path_buf(),
            line: lines.item("resources", i),
        };
        if let Some(object) =
            parse_object(value, origin, &mut resources.warnings).map_err(from_load)?
        {
            resources.insert(object);
        }
    }
    resources.normalise();

    if let Some(mesh) = &raw.mesh {
        let origin = Origin {
            file: file.to_path_buf(),
            line: lines.key("mesh"),
        };
        resources.mesh_config = mesh.0.apply(&resources.mesh_config, origin);
    }
    if let Some(problem) = sim::model::release_problems(&resources).first() {
        return Err(InputError::at(file, lines.key("mesh"), problem.clone()));
    }
    Ok(resources)
}

/// Loads files and folders of plain YAML from either tree, reading each file once; nothing to
/// load is an empty set.
fn load_tree_paths(tree: &Tree, paths: &[PathBuf]) -> Result<Resources, InputError> {
    let mut sources = Vec::new();
    for path in paths {
        if tree.is_dir(path) {
            sources.extend(manifests_under(tree, path)?);
        } else {
            sources.push((path.clone(), tree.read(path)?));
        }
    }
    load_sources(sources).map_err(from_load)
}

/// The manifests in a folder (sorted, recursively) with their text. Scenario files inside it
/// are left out, the same way on disk and in the embedded library.
fn manifests_under(tree: &Tree, dir: &Path) -> Result<Vec<(PathBuf, String)>, InputError> {
    let mut out = Vec::new();
    for file in tree.files(dir, is_manifest)? {
        let text = tree.read(&file)?;
        if super::classify(&file, &text)? == super::FileKind::Manifest {
            out.push((file, text));
        }
    }
    Ok(out)
}

fn from_load(e: LoadError) -> InputError {
    InputError::at(&e.origin.file, e.origin.line, e.message)
}
