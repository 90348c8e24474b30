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
