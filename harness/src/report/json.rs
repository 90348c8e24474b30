//! The JSON reporter: `{"scenarios": [...], "passed": N, "failed": N, "errors": N}`; field names
//! are part of the product (see docs/cli.md).

use serde::Serialize;

use super::Totals;
use crate::runner::ScenarioReport;

#[derive(Serialize)]
struct JsonReport<'a> {
    scenarios: &'a [ScenarioReport],
    #[serde(flatten)]
    totals: Totals,
}

/// Renders the JSON report (pretty-printed, newline-terminated).
pub fn render_json(reports: &[ScenarioReport]) -> String {
    let report = JsonReport {
        scenarios: reports,
        totals: Totals::of(reports),
    };
    let mut s = serde_json::to_string_pretty(&report)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise the report: {e}\"}}"));
    s.push('\n');
    s
}
