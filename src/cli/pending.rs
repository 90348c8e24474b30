//! Commands whose engine is not in this build yet: their arguments are final, running them says
//! so and exits 2 (never a fake result).

/// Prints that `command` is not available and returns the bad-usage exit code.
pub fn not_available(command: &str) -> i32 {
    eprintln!("meshsim {command}: not available in this build");
    super::EXIT_BAD_INPUT
}
