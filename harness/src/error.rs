//! Bad input: a scenario or configuration the harness cannot use, with file, line and what was
//! expected. Never a failed expectation (that is a `Mismatch`).

use std::fmt;
use std::path::{Path, PathBuf};

/// An input error pointing at a file and (when known) a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The file at fault.
    pub file: PathBuf,
    /// 1-based line; 0 when unknown.
    pub line: usize,
    /// 1-based column; 0 when unknown.
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

impl InputError {
    /// An error at a known line (0 for unknown).
    pub fn at(file: &Path, line: usize, message: impl Into<String>) -> InputError {
        InputError {
            file: file.to_path_buf(),
            line,
            column: 0,
            message: message.into(),
        }
    }

    /// Converts a serde_yaml error, keeping its line and column.
    pub fn from_yaml(file: &Path, err: &serde_yaml::Error) -> InputError {
        let (line, column) = err
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        InputError {
            file: file.to_path_buf(),
            line,
            column,
            message: sim::model::yaml_message(err),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.column > 0 {
                write!(f, ":{}", self.column)?;
            }
        }
        write!(f, ": error: {}", self.message)
    }
}

impl std::error::Error for InputError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_prints_file_line_and_column_first() {
        let e = InputError {
            file: "s.yaml".into(),
            line: 3,
            column: 5,
            message: "expected a map".into(),
        };
        assert_eq!(e.to_string(), "s.yaml:3:5: error: expected a map");
    }

    #[test]
    fn serde_location_suffix_is_moved_to_the_front() {
        let err = serde_yaml::from_str::<Vec<u8>>("[1,\n  x]").unwrap_err();
        let e = InputError::from_yaml(Path::new("s.yaml"), &err);
        assert_eq!((e.line, e.column), (2, 3));
        assert!(!e.message.contains(" at line "), "{}", e.message);
    }
}
