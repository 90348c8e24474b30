//! Where output goes and whether it is coloured.

use std::io::{IsTerminal, Write};
use std::path::Path;

/// True when ANSI colour may be used on stdout: a terminal, and `NO_COLOR` unset or empty
/// (<https://no-color.org>).
pub(super) fn stdout_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Writes `text` to `file`, or to stdout when `None`; an error message on failure.
pub(super) fn emit(text: &str, file: Option<&Path>) -> Result<(), String> {
    match file {
        Some(path) => {
            std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|_| out.flush())
                .map_err(|e| format!("cannot write to stdout: {e}"))
        }
    }
}

/// Writes a command's output (to `file`, or stdout) and gives the exit code: `code` once
/// written, bad input (2) with `meshsim COMMAND: ...` on stderr when the output cannot be written.
pub(super) fn emit_then(command: &str, text: &str, file: Option<&Path>, code: i32) -> i32 {
    match emit(text, file) {
        Ok(()) => code,
        Err(e) => {
            eprintln!("meshsim {command}: {e}");
            super::EXIT_BAD_INPUT
        }
    }
}
