//! A scenario's configuration: `include:` files and folders, inline `resources:` and the `mesh:`
//! section, loaded into one `Resources` set. Also used by `probe -f`, where a path may be plain
//! YAML or a scenario file.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use sim::model::{load_sources, load_sources_each, parse_object, LoadError, LoadOptions};
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
    load_configuration_with(tree, paths, LoadOptions::default())
}

/// [`load_configuration`] with `-n` ([`LoadOptions`]); the first file that cannot be loaded is
/// the error.
pub fn load_configuration_with(
    tree: &Tree,
    paths: &[PathBuf],
    options: LoadOptions<'_>,
) -> Result<(Resources, Vec<Fault>), InputError> {
    load_each(tree, paths, options, true).map_err(|mut errors| errors.swap_remove(0))
}

/// [`load_configuration_with`] that reads every file even when some cannot be loaded, and then
/// returns the error of each of those (file, line, what was expected), in order: nothing is
/// skipped silently.
pub fn load_configuration_each(
    tree: &Tree,
    paths: &[PathBuf],
    options: LoadOptions<'_>,
) -> Result<(Resources, Vec<Fault>), Vec<InputError>> {
    load_each(tree, paths, options, false)
}

/// `-n` applies to plain manifests named by `paths` (as `kubectl apply -n -f` would read them);
/// a scenario file's own objects and includes keep the scenario's meaning (`default`).
fn load_each(
    tree: &Tree,
    paths: &[PathBuf],
    options: LoadOptions<'_>,
    stop_at_first: bool,
) -> Result<(Resources, Vec<Fault>), Vec<InputError>> {
    let mut plain = Vec::new();
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if stop_at_first && !errors.is_empty() {
            break;
        }
        if !tree.exists(path) {
            errors.push(InputError::at(path, 0, "no such file or directory"));
            continue;
        }
        if tree.is_dir(path) {
            match manifests_under(tree, path, stop_at_first) {
                Ok((found, mut errs)) => {
                    plain.extend(found);
                    errors.append(&mut errs);
                }
                Err(e) => errors.push(e),
            }
            continue;
        }
        let classified = tree
            .read_named(path)
            .and_then(|text| Ok((super::classify(path, &text)?, text)));
        match classified {
            Ok((super::FileKind::Scenario, text)) => scenarios.push((path.clone(), text)),
            Ok((super::FileKind::Manifest, text)) => plain.push((path.clone(), text)),
            Err(e) => errors.push(e),
        }
    }
    if stop_at_first && !errors.is_empty() {
        return Err(errors);
    }
    let (mut resources, load_errors) = load_sources_each(plain, options, stop_at_first);
    errors.extend(load_errors.into_iter().map(from_load));
    let mut faults = Vec::new();
    for (path, text) in scenarios {
        if stop_at_first && !errors.is_empty() {
            break;
        }
        match super::parse_scenario(tree, &path, &text) {
            Ok(scenario) => {
                resources.merge(scenario.resources);
                faults.extend(scenario.faults);
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok((resources, faults))
    } else {
        // Paths, folders and documents are read in order, so errors come in file order.
        errors.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        errors.dedup();
        Err(errors)
    }
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
    // A failure with no line of its own (a folder that cannot be listed) is reported at this
    // file's `include:` (fuzz_inputs found `/dev/fd/N` vanishing under `include: [/]`).
    let mut resources = load_tree_paths(tree, &includes).map_err(|e| {
        if e.line >= 1 {
            return e;
        }
        InputError::at(
            file,
            lines.key("include").max(1),
            format!("include: {}: {}", e.file.display(), e.message),
        )
    })?;

    for (i, value) in raw.resources.iter().enumerate() {
        let origin = Origin {
            file: file.to_path_buf(),
            // When the item cannot be placed (anchors, a mangled list), the `resources:` key
            // still can, and line 1 is better than none (fuzz_inputs found errors at line 0).
            line: lines
                .item("resources", i)
                .max(lines.key("resources"))
                .max(1),
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
        return Err(InputError::at(
            file,
            lines.key("mesh").max(1),
            problem.clone(),
        ));
    }
    Ok(resources)
}

/// Loads files and folders of plain YAML from either tree, reading each file once; nothing to
/// load is an empty set.
fn load_tree_paths(tree: &Tree, paths: &[PathBuf]) -> Result<Resources, InputError> {
    let mut sources = Vec::new();
    for path in paths {
        if tree.is_dir(path) {
            sources.extend(manifests_under(tree, path, true)?.0);
        } else {
            sources.push((path.clone(), tree.read(path)?));
        }
    }
    load_sources(sources).map_err(from_load)
}

/// A file and its text.
type Read = (PathBuf, String);

/// The manifests in a folder (sorted, recursively) with their text. Scenario files inside it
/// are left out, the same way on disk and in the embedded library. A file that cannot be read
/// or classified is an error beside the others (or the only one, with `stop_at_first`).
fn manifests_under(
    tree: &Tree,
    dir: &Path,
    stop_at_first: bool,
) -> Result<(Vec<Read>, Vec<InputError>), InputError> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    // Read and classified on every core, then taken in order (the first error first).
    let classified: Vec<_> = tree
        .files(dir, is_manifest)?
        .into_par_iter()
        .map(|file| {
            let kind = tree
                .read(&file)
                .and_then(|text| Ok((super::classify(&file, &text)?, text)));
            (file, kind)
        })
        .collect();
    for (file, classified) in classified {
        match classified {
            Ok((super::FileKind::Manifest, text)) => out.push((file, text)),
            Ok((super::FileKind::Scenario, _)) => {}
            Err(e) if stop_at_first => return Err(e),
            Err(e) => errors.push(e),
        }
    }
    Ok((out, errors))
}

fn from_load(e: LoadError) -> InputError {
    InputError::at(&e.origin.file, e.origin.line, e.message)
}
