//! The folder walk: which files a folder stands for. The loader (`load_paths`) and the harness
//! (scenario folders, `include:` of a folder) both list folders here, so a folder means the same
//! set of files, in the same order, everywhere.

use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

/// How many folders, and how many manifest files, one walk visits before it stops with an
/// error: a folder such as `/` or `~` named by mistake is refused rather than read for minutes.
pub(crate) const WALK_LIMIT: usize = 50_000;

/// A folder (or an entry in it) could not be listed, or the walk passed its limit (50 000 folders or files).
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
    files_up_to(dir, keep, WALK_LIMIT)
}

/// [`files_under`] with the limit as a parameter, so a test can reach it.
fn files_up_to(
    dir: &Path,
    keep: fn(&Path) -> bool,
    limit: usize,
) -> Result<Vec<PathBuf>, WalkError> {
    let mut out = Vec::new();
    let mut visited = BTreeSet::new();
    walk(dir, keep, limit, &mut out, &mut visited)?;
    Ok(out)
}

fn walk(
    dir: &Path,
    keep: fn(&Path) -> bool,
    limit: usize,
    out: &mut Vec<PathBuf>,
    visited: &mut BTreeSet<PathBuf>,
) -> Result<(), WalkError> {
    let error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| WalkError { path, source }
    };
    // A symlink back up the tree would list the same folder again and again: each real folder
    // is walked once.
    let real = std::fs::canonicalize(dir).map_err(error(dir))?;
    if !visited.insert(real) {
        return Ok(());
    }
    if visited.len() > limit || out.len() > limit {
        return Err(WalkError {
            path: dir.to_path_buf(),
            source: io::Error::other(format!(
                "more than {limit} folders or manifest files below the folder given; \
                 name a narrower folder"
            )),
        });
    }
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
            walk(&path, keep, limit, out, visited)?;
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
    fn a_walk_past_the_limit_stops_with_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for d in ["a", "b", "c", "d"] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
            std::fs::write(root.join(d).join("x.yaml"), "").expect("write");
        }
        assert_eq!(files_up_to(root, is_manifest, 5).expect("within").len(), 4);
        let err = files_up_to(root, is_manifest, 2).expect_err("past the limit");
        assert!(err.to_string().contains("more than 2 folders"), "{err}");
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
