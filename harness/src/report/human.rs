//! The human reporter: one line per scenario, then each failure with expected vs actual and the
//! evidence, then `N passed, N failed`.

use std::fmt::Write;

use super::Totals;
use crate::runner::{ScenarioReport, StepReport, Verdict};

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// Renders the human report; `color` adds ANSI colours (callers honour `NO_COLOR` and ttys).
pub fn render_human(reports: &[ScenarioReport], color: bool) -> String {
    let paint = |code: &str, text: &str| {
        if color {
            format!("{code}{text}{RESET}")
        } else {
            text.to_string()
        }
    };
    let mut out = String::new();
    for r in reports {
        let tag = match r.verdict {
            Verdict::Passed => paint(GREEN, "PASS "),
            Verdict::Failed => paint(RED, "FAIL "),
            Verdict::Error => paint(YELLOW, "ERROR"),
        };
        let _ = writeln!(out, "{tag} {}  {}", r.file, r.name);
    }
    let failed: Vec<&ScenarioReport> = reports
        .iter()
        .filter(|r| r.verdict != Verdict::Passed)
        .collect();
    for r in &failed {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{}",
            paint(BOLD, &format!("--- {} ({})", r.name, r.file))
        );
        for step in r.steps.iter().filter(|s| s.verdict != Verdict::Passed) {
            write_step(&mut out, &r.file, step);
        }
    }
    let t = Totals::of(reports);
    let _ = writeln!(out);
    let mut totals = format!("{} passed, {} failed", t.passed, t.failed);
    if t.errors > 0 {
        totals.push_str(&format!(" ({} could not run)", t.errors));
    }
    let _ = writeln!(
        out,
        "{}",
        paint(if t.failed == 0 { GREEN } else { RED }, &totals)
    );
    out
}

fn write_step(out: &mut String, file: &str, step: &StepReport) {
    let place = if step.line > 0 {
        format!("{file}:{}", step.line)
    } else {
        file.to_string()
    };
    let which = if step.index == 0 {
        "setup".to_string()
    } else {
        format!("step {}", step.index)
    };
    let _ = writeln!(out, "  {place}: {which} ({}): {}", step.kind, step.summary);
    if let Some(e) = &step.error {
        let _ = writeln!(out, "    error: {e}");
    }
    for m in &step.mismatches {
        let _ = writeln!(out, "    {}:", m.field);
        let _ = writeln!(out, "      expected: {}", m.expected);
        let _ = writeln!(out, "      actual:   {}", m.actual);
    }
    if !step.evidence.is_empty() {
        let _ = writeln!(out, "    evidence:");
        for line in &step.evidence {
            let _ = writeln!(out, "      {line}");
        }
    }
}
