//! Reading one input, once: a regular file, or (when the user names it on the command line) a
//! pipe such as `-f <(helm template ...)`, `/dev/stdin`, or `-` for standard input. Every read
//! is capped, so `/dev/zero` or a runaway generator fails fast instead of filling memory, and a
//! FIFO reached through `include:` or a folder is refused instead of blocking forever.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// The largest input meshsim reads: a 50 MB cluster dump fits five times over.
pub const MAX_INPUT_BYTES: u64 = 256 * 1024 * 1024;

/// How a path reached meshsim, which decides what it may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    /// On the command line: regular files, pipes, character devices and `-` (stdin).
    Directly,
    /// Through a scenario's `include:` or a folder: regular files only.
    Indirectly,
}

/// Why an input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file system refused to open or describe it.
    #[error("cannot read: {0}")]
    Open(#[source] io::Error),
    /// Reading failed part-way.
    #[error("cannot read: {0}")]
    Read(#[source] io::Error),
    /// A FIFO, device or socket reached indirectly.
    #[error("not a regular file ({0}); only regular files are read through include: and folders")]
    NotRegular(&'static str),
    /// More than [`MAX_INPUT_BYTES`].
    #[error("larger than {} MiB; meshsim reads inputs up to that size", MAX_INPUT_BYTES >> 20)]
    TooLarge,
    /// `-` named a second time: standard input was already read (and is now empty).
    #[error("standard input (`-`) can be read only once; name it once, or save it to a file")]
    StdinTwice,
    /// Not UTF-8 text.
    #[error("not UTF-8 text (byte {valid_up_to} starts an invalid sequence); manifests are YAML or JSON text")]
    NotUtf8 {
        /// Length of the valid prefix.
        valid_up_to: usize,
    },
}

/// True when `path` means standard input (`-`).
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Reads `path` whole, once, as UTF-8 text without a leading byte-order mark.
pub fn read_input(path: &Path, named: Named) -> Result<String, ReadError> {
    let bytes = if is_stdin(path) && named == Named::Directly {
        // Standard input is one stream per process; a second `-` would silently read nothing.
        static STDIN_TAKEN: AtomicBool = AtomicBool::new(false);
        if STDIN_TAKEN.swap(true, Ordering::SeqCst) {
            return Err(ReadError::StdinTwice);
        }
        read_capped(io::stdin().lock())?
    } else {
        // Described before opening: opening a FIFO blocks until something writes to it.
        let meta = std::fs::metadata(path).map_err(ReadError::Open)?;
        if meta.is_file() {
            if meta.len() > MAX_INPUT_BYTES {
                return Err(ReadError::TooLarge);
            }
        } else if named == Named::Indirectly {
            return Err(ReadError::NotRegular(file_type_name(&meta)));
        }
        read_capped(File::open(path).map_err(ReadError::Open)?)?
    };
    let mut text = String::from_utf8(bytes).map_err(|e| ReadError::NotUtf8 {
        valid_up_to: e.utf8_error().valid_up_to(),
    })?;
    // Editors on Windows write a BOM; YAML allows it at the start of a stream.
    if text.starts_with('\u{feff}') {
        text.drain(..'\u{feff}'.len_utf8());
    }
    Ok(text)
}

fn read_capped(reader: impl Read) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Read)?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(ReadError::TooLarge);
    }
    Ok(bytes)
}

fn file_type_name(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a folder"
    } else {
        "not a file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_order_mark_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bom.yaml");
        std::fs::write(&path, "\u{feff}apiVersion: v1\n").expect("write");
        let text = read_input(&path, Named::Indirectly).expect("read");
        assert_eq!(text, "apiVersion: v1\n");
    }

    #[test]
    fn an_endless_device_is_cut_off_at_the_cap() {
        let err = read_input(Path::new("/dev/zero"), Named::Directly).expect_err("too large");
        assert!(matches!(err, ReadError::TooLarge), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_fifos_are_refused_when_named_indirectly() {
        let err = read_input(Path::new("/dev/zero"), Named::Indirectly).expect_err("device");
        assert!(
            matches!(err, ReadError::NotRegular("a character device")),
            "{err}"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("pipe.yaml");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        // No writer ever opens it: opening it for reading would block this test forever.
        let err = read_input(&fifo, Named::Indirectly).expect_err("fifo");
        assert!(matches!(err, ReadError::NotRegular("a FIFO")), "{err}");
    }

    #[test]
    fn text_that_is_not_utf8_names_the_byte() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bin.yaml");
        std::fs::write(&path, b"kind: \xff\n").expect("write");
        let err = read_input(&path, Named::Indirectly).expect_err("binary");
        assert!(
            matches!(err, ReadError::NotUtf8 { valid_up_to: 6 }),
            "{err}"
        );
    }
}
