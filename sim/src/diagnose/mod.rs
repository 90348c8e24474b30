//! Diagnosis rules: Evidence -> Findings with a stable code, evidence lines and a remedy.

pub mod static_checks;

use serde::Serialize;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Traffic fails.
    Error,
    /// Works, but is risky or not what was meant.
    Warning,
    /// Worth knowing.
    Info,
}

/// One finding: a stable code from failure-modes.md, a message, the evidence and the remedy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable PascalCase code, e.g. `PlaintextToStrict`.
    pub code: String,
    /// Severity.
    pub severity: Severity,
    /// One-sentence explanation.
    pub message: String,
    /// The evidence lines that support it.
    pub evidence: Vec<String>,
    /// The fix, in words.
    pub remedy: String,
}
