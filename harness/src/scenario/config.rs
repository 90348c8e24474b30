//! A scenario's configuration: `include:` files and folders, inline `resources:` and the `mesh:`
//! section, loaded into one `Resources` set. Also used by `probe -f`, where a path may be plain
//! YAML or a scenario file.

use std::path::{Path, PathBuf};

use sim::model::load::{load_paths, load_str, parse_object, LoadError};
use sim::model::{Origin, Resources};
use sim::Fault;

use super::lines::LineIndex;
use super::raw::RawScenario;
use crate::error::InputError;
use crate::tree::{is_manifest, Tree};

/// Loads the configuration named by `paths` (files or folders of plain YAML, or scenario files,
/// whose includes, resources, mesh section and faults then count).
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
        if !tree.is_dir(path)
            && super::classify(path, &tree.read(path)?)? == super::FileKind::Scenario
        {
            scenarios.push(path.clone());
        } else {
            plain.push(path.clone());
        }
    }
    let mut resources = load_tree_paths(tree, &plain)?;
    let mut faults = Vec::new();
    for path in scenarios {
        let scenario = super::parse_scenario(tree, &path, &tree.read(&path)?)?;
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
    Ok(resources)
}

/// Loads files and folders of plain YAML from either tree; nothing to load is an empty set.
/// Folders are expanded here (sorted, recursively) so that scenario files inside them are left
/// out the same way on disk and in the embedded library.
fn load_tree_paths(tree: &Tree, paths: &[PathBuf]) -> Result<Resources, InputError> {
    let mut files = Vec::new();
    for path in paths {
        if tree.is_dir(path) {
            for f in tree.files(path, is_manifest)? {
                if super::classify(&f, &tree.read(&f)?)? == super::FileKind::Manifest {
                    files.push(f);
                }
            }
        } else {
            files.push(path.clone());
        }
    }
    if files.is_empty() {
        return Ok(Resources::default());
    }
    match tree {
        Tree::Fs => load_paths(&files).map_err(from_load),
        Tree::Embedded { .. } => {
            let mut resources = Resources::default();
            for f in files {
                let loaded = load_str(&tree.read(&f)?, &f).map_err(from_load)?;
                resources.merge(loaded);
            }
            Ok(resources)
        }
    }
}

fn from_load(e: LoadError) -> InputError {
    InputError::at(&e.origin.file, e.origin.line, e.message)
}
