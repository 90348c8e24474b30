//! The folder walk: which files a folder stands for. The loader (`load_paths`) and the harness
//! (scenario folders, `include:` of a folder) both list folders here, so a folder means the same
//! set of files, in the same order, everywhere.

use std::io;
use std::path::{Path, PathBuf};

/// A folder (or an entry in it) could not be listed.
#[derive(Debug, thiserror::Error)]
#[error("cannot list folder: {source}")]
pub struct WalkError {
    /// The folder or entry at fault.
    pub path: PathBuf,
    /// What the file system said.
    #[source]
    pub source: io::Error,
}

/// True for the file names manifests use: YAML, and JSON (which is YAML too).
pub fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// Every regular file below `dir` that `keep` accepts, recursively, sorted by path (each
/// folder's entries in byte order, depth first), so runs are deterministic whatever order the
/// file system lists entries in. Symlinks are followed; anything that is not a regular file or
/// a folder once followed (a dangling link, a socket, a FIFO) is skipped, as it holds no
/// manifest and reading a FIFO would block.
pub fn files_under(dir: &Path, keep: fn(&Path) -> bool) -> Result<Vec<PathBuf>, WalkError> {
    let mut out = Vec::new();
    let mut visited = Vec::new();
    walk(dir, keep, &mut out, &mut visited)?;
    Ok(out)
}

fn walk(
    dir: &Path,
    keep: fn(&Path) -> bool,
    out: &mut Vec<PathBuf>,
    visited: &mut Vec<PathBuf>,
) -> Result<(), WalkError> {
    let error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| WalkError { path, source }
    };
    // A symlink back up the tree would list the same folder again and again: each real folder
    // is walked once.
    let real = std::fs::canonicalize(dir).map_err(error(dir))?;
    if visited.contains(&real) {
        return Ok(());
    }
    visited.push(real);
    let mut entries = std::fs::read_dir(dir)
        .map_err(error(dir))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(error(dir))?;
    entries.sort();
    for path in entries {
        // `metadata` follows symlinks. Only a dangling link is skipped (it holds nothing); any
        // other failure (permission denied, I/O) is an error, never a silently missing file.
        let meta = match std::fs::metadata(&path) {
            Ok(meta) => meta,
            Err(e)
                if e.kind() == io::ErrorKind::NotFound
                    && std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink()) =>
            {
                continue
            }
            Err(e) => return Err(error(&path)(e)),
        };
        if meta.is_dir() {
            walk(&path, keep, out, visited)?;
        } else if meta.is_file() && keep(&path) {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_lists_regular_manifest_files_sorted_depth_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("b/c")).expect("mkdir");
        for f in ["b/c/z.yaml", "b/a.json", "a.yml", "notes.md", "b.yaml"] {
            std::fs::write(root.join(f), "").expect("write");
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("missing"), root.join("dangling.yaml"))
            .expect("symlink");
        let files: Vec<PathBuf> = files_under(root, is_manifest)
            .expect("walk")
            .iter()
            .map(|p| p.strip_prefix(root).expect("under root").to_path_buf())
            .collect();
        let want: Vec<PathBuf> = ["a.yml", "b/a.json", "b/c/z.yaml", "b.yaml"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(files, want);
    }

    #[test]
    fn a_missing_folder_is_an_error_naming_it() {
        let err = files_under(Path::new("/no/such/folder"), is_manifest).expect_err("missing");
        assert_eq!(err.path, PathBuf::from("/no/such/folder"));
        assert!(err.to_string().starts_with("cannot list folder: "), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_loop_is_walked_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("a")).expect("mkdir");
        std::fs::write(root.join("a/x.yaml"), "").expect("write");
        std::os::unix::fs::symlink(root, root.join("a/loop")).expect("symlink");
        let files = files_under(root, is_manifest).expect("walk");
        assert_eq!(files, vec![root.join("a/x.yaml")]);
    }
}
