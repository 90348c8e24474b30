//! Reporters: human (a line per scenario, failures in detail, a totals line), JSON (stable
//! field names) and JUnit XML (a testsuite per file, a testcase per scenario). Reports contain
//! no wall-clock times, so the same run prints the same bytes.

mod human;
mod json;
mod junit;

pub use human::render_human;
pub use json::render_json;
pub use junit::render_junit;

use crate::runner::{ScenarioReport, Verdict};

/// Counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    /// Scenarios whose expectations all held.
    pub passed: usize,
    /// Scenarios with a failed expectation or an error.
    pub failed: usize,
    /// Of the failed, those that could not run (bad input the mesh rejected).
    pub errors: usize,
}

impl Totals {
    /// Counts the reports.
    pub fn of(reports: &[ScenarioReport]) -> Totals {
        let mut t = Totals::default();
        for r in reports {
            match r.verdict {
                Verdict::Passed => t.passed += 1,
                Verdict::Failed => t.failed += 1,
                Verdict::Error => {
                    t.failed += 1;
                    t.errors += 1;
                }
            }
        }
        t
    }
}

/// The process exit code for a run: 0 all passed, 1 an expectation failed, 2 a scenario could
/// not run (bad input).
pub fn exit_code(reports: &[ScenarioReport]) -> i32 {
    match reports.iter().map(|r| r.verdict).max() {
        None | Some(Verdict::Passed) => 0,
        Some(Verdict::Failed) => 1,
        Some(Verdict::Error) => 2,
    }
}

#[cfg(test)]
mod tests;
