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
            message: strip_location(&err.to_string()),
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

/// serde_yaml appends " at line L column C" to its messages; the location is printed up front
/// instead, like a compiler does.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => message[..i].to_string(),
        _ => message.to_string(),
    }
}

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
        assert_eq!(
            strip_location("steps[0]: invalid type at line 4 column 7"),
            "steps[0]: invalid type"
        );
    }
}
