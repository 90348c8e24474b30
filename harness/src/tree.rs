//! Where scenario files live: the file system, or the scenario library embedded in the binary.
//! Both are read through the same calls so `include:` resolves identically in each.

use std::path::{Component, Path, PathBuf};

use include_dir::Dir;
use sim::model::files_under;
use sim::model::{is_stdin, read_input, Named};

use crate::error::InputError;

/// A tree of files that scenarios and their includes are read from.
#[derive(Debug, Clone, Copy)]
pub enum Tree {
    /// The local file system.
    Fs,
    /// A directory embedded in the binary, shown under the path `root` (e.g. `scenarios`).
    Embedded {
        /// The embedded directory.
        dir: &'static Dir<'static>,
        /// The path its files are shown under.
        root: &'static str,
    },
}

/// True for the file names scenarios use.
pub fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

pub use sim::model::is_manifest;

impl Tree {
    /// Reads a file reached through `include:` or a folder (on disk: a regular file only).
    pub fn read(&self, path: &Path) -> Result<String, InputError> {
        self.read_as(path, Named::Indirectly)
    }

    /// Reads a path named on the command line (on disk it may also be a pipe, or `-` for
    /// stdin). Read it once and keep the text: a pipe cannot be read twice.
    pub fn read_named(&self, path: &Path) -> Result<String, InputError> {
        self.read_as(path, Named::Directly)
    }

    fn read_as(&self, path: &Path, named: Named) -> Result<String, InputError> {
        match self {
            Tree::Fs => read_input(path, named).map_err(|e| InputError::at(path, 0, e.to_string())),
            Tree::Embedded { dir, root } => {
                let rel = self.relative(path, root)?;
                dir.get_file(&rel)
                    .and_then(|f| f.contents_utf8())
                    .map(str::to_string)
                    .ok_or_else(|| {
                        InputError::at(path, 0, "no such file in the embedded scenario library")
                    })
            }
        }
    }

    /// True when `path` is a directory.
    pub fn is_dir(&self, path: &Path) -> bool {
        match self {
            Tree::Fs => path.is_dir(),
            Tree::Embedded { dir, root } => match self.relative(path, root) {
                Ok(rel) if rel.as_os_str().is_empty() => true,
                Ok(rel) => dir.get_dir(&rel).is_some(),
                Err(_) => false,
            },
        }
    }

    /// True when `path` exists (on disk, `-` stands for stdin and exists).
    pub fn exists(&self, path: &Path) -> bool {
        match self {
            Tree::Fs => is_stdin(path) || path.exists(),
            Tree::Embedded { dir, root } => {
                self.is_dir(path)
                    || self
                        .relative(path, root)
                        .is_ok_and(|rel| dir.get_file(&rel).is_some())
            }
        }
    }

    /// Every YAML file under a directory, recursively, sorted by path.
    pub fn yaml_files(&self, path: &Path) -> Result<Vec<PathBuf>, InputError> {
        self.files(path, is_yaml)
    }

    /// Every file under a directory, recursively, that `keep` accepts, sorted by path.
    pub fn files(&self, path: &Path, keep: fn(&Path) -> bool) -> Result<Vec<PathBuf>, InputError> {
        let mut out = Vec::new();
        match self {
            Tree::Fs => {
                out = files_under(path, keep)
                    .map_err(|e| InputError::at(&e.path, 0, e.to_string()))?;
            }
            Tree::Embedded { dir, root } => {
                let rel = self.relative(path, root)?;
                let sub = if rel.as_os_str().is_empty() {
                    Some(*dir)
                } else {
                    dir.get_dir(&rel)
                };
                let sub =
                    sub.ok_or_else(|| InputError::at(path, 0, "no such embedded directory"))?;
                walk_embedded(sub, Path::new(root), keep, &mut out);
            }
        }
        out.sort();
        Ok(out)
    }

    /// `path` inside the embedded tree, without its display root; `..` is resolved and may not
    /// leave the tree.
    fn relative(&self, path: &Path, root: &str) -> Result<PathBuf, InputError> {
        let clean = normalize(path);
        clean
            .strip_prefix(root)
            .map(Path::to_path_buf)
            .map_err(|_| InputError::at(path, 0, "path is outside the embedded scenario library"))
    }
}

/// Resolves `.` and `..` lexically (the embedded tree has no symlinks to follow). A `..` that
/// cannot be resolved is kept (`../../x` stays `../../x`), and the empty result is `.`.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                // `/..` is `/`.
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

fn walk_embedded(dir: &Dir<'static>, root: &Path, keep: fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
    for file in dir.files() {
        if keep(file.path()) {
            out.push(root.join(file.path()));
        }
    }
    for sub in dir.dirs() {
        walk_embedded(sub, root, keep, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_resolves_parent_components_and_keeps_the_ones_it_cannot() {
        let cases = [
            (
                "scenarios/baseline/../fixtures/a.yaml",
                "scenarios/fixtures/a.yaml",
            ),
            ("../../x.yaml", "../../x.yaml"),
            ("a/../../../x.yaml", "../../x.yaml"),
            ("./", "."),
            ("a/..", "."),
            ("/../x", "/x"),
        ];
        for (given, want) in cases {
            assert_eq!(normalize(Path::new(given)), PathBuf::from(want), "{given}");
        }
    }

    #[test]
    fn fs_walk_lists_yaml_files_sorted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("b")).unwrap();
        std::fs::write(dir.path().join("b/z.yaml"), "").unwrap();
        std::fs::write(dir.path().join("a.yml"), "").unwrap();
        std::fs::write(dir.path().join("notes.md"), "").unwrap();
        let files = Tree::Fs.yaml_files(dir.path()).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            names,
            vec![PathBuf::from("a.yml"), PathBuf::from("b/z.yaml")]
        );
    }
}

#[cfg(test)]
mod embedded_tests {
    use include_dir::{include_dir, Dir};

    use super::*;

    static LIBRARY: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/testdata/embedded");

    fn tree() -> Tree {
        Tree::Embedded {
            dir: &LIBRARY,
            root: "scenarios",
        }
    }

    #[test]
    fn embedded_tree_lists_files_under_its_display_root() {
        let files = tree().yaml_files(Path::new("scenarios")).unwrap();
        assert_eq!(
            files,
            vec![
                PathBuf::from("scenarios/fixtures/ns.yaml"),
                PathBuf::from("scenarios/suite/clock.yaml"),
                PathBuf::from("scenarios/suite/includes.yaml"),
            ]
        );
    }

    #[test]
    fn embedded_include_paths_resolve_relative_to_the_scenario() {
        let t = tree();
        let inc = normalize(&Path::new("scenarios/suite").join("../fixtures/ns.yaml"));
        assert!(t.exists(&inc));
        assert!(t.read(&inc).unwrap().contains("kind: Namespace"));
        assert!(t.is_dir(Path::new("scenarios/suite")));
        assert!(!t.exists(Path::new("scenarios/../outside.yaml")));
    }

    #[test]
    fn embedded_folder_run_skips_fixtures() {
        let files =
            crate::discover::scenario_files(&tree(), &[PathBuf::from("scenarios")]).unwrap();
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].file, PathBuf::from("scenarios/suite/clock.yaml"));
        let scenarios = crate::discover::load_scenarios(&tree(), &files[..1]).unwrap();
        assert_eq!(scenarios[0].name, "embedded clock");
        let report = crate::run_scenario(&scenarios[0]);
        assert_eq!(report.verdict, crate::Verdict::Passed);
    }
}
