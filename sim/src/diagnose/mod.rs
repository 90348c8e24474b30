//! Diagnosis rules: Evidence -> Findings with a stable code, evidence lines and a remedy.
//!
//! `diagnose` reads only an [`Evidence`] bundle (what a real cluster can show); it never sees
//! the injected faults. Rules live in `rules/`, one module per area of failure-modes.md.

mod http_fields_on_tcp;
mod remedy;
mod rules;
pub(crate) mod static_checks;
#[cfg(test)]
mod tests;

use serde::Serialize;

pub use remedy::{fix_for, Fix, RESTARTED_AT};
pub use static_checks::{
    loader_findings, nothing_loaded, static_findings, traffic_findings, unmodelled_fields,
};

use crate::evidence::Evidence;
use crate::vocab::FindingCode;

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

impl Severity {
    /// The word every command prints (`error`, `warning`, `info`), as JSON spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding: a stable code from failure-modes.md, a message, the evidence and the remedy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable code from the catalogue, e.g. `PlaintextToStrict`.
    pub code: FindingCode,
    /// Severity.
    pub severity: Severity,
    /// One-sentence explanation.
    pub message: String,
    /// The evidence lines that support it.
    pub evidence: Vec<String>,
    /// The fix, in words.
    pub remedy: String,
}

impl Finding {
    /// An error finding.
    pub(crate) fn error(
        code: FindingCode,
        message: String,
        evidence: Vec<String>,
        remedy: &str,
    ) -> Self {
        Finding {
            code,
            severity: Severity::Error,
            message,
            evidence,
            remedy: remedy.into(),
        }
    }
}

/// Every finding the evidence supports: errors first, then warnings and infos, each group by
/// code; a code found twice with the same message is reported once.
pub fn diagnose(ev: &Evidence) -> Vec<Finding> {
    let mut out = rules::run(ev);
    out.sort_by_key(|f| (f.severity, f.code));
    let mut seen: Vec<(FindingCode, String)> = Vec::new();
    out.retain(|f| {
        let key = (f.code, f.message.clone());
        if seen.contains(&key) {
            false
        } else {
            seen.push(key);
            true
        }
    });
    out
}
