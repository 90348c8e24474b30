//! `matrix --from/--to/--only` and `--summary`: a matrix of a million flows is read by asking
//! about part of it, or by counting it.

use std::collections::BTreeMap;

use clap::ValueEnum;
use serde::Serialize;
use sim::analysis::Flow;
use sim::vocab::{FindingCode, ResponseFlag, Status};

/// Which outcomes `--only` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Only {
    /// Flows that succeed (2xx).
    Allowed,
    /// Flows that do not succeed, whatever stopped them (a denial, a failed handshake, a reset).
    #[value(alias = "failed")]
    Denied,
}

/// What `--from`, `--to` and `--only` keep.
#[derive(Debug, Clone, Default)]
pub(super) struct FlowFilter {
    /// A `NS/WORKLOAD` pattern (`*` matches any run of characters).
    pub from: Option<String>,
    /// A `SVC.NS:PORT` pattern.
    pub to: Option<String>,
    /// Allowed or denied flows only.
    pub only: Option<Only>,
}

impl FlowFilter {
    /// Whether `flow` passes every given filter.
    pub(super) fn keeps(&self, flow: &Flow) -> bool {
        self.from.as_deref().is_none_or(|p| glob(p, &flow.from))
            && self.to.as_deref().is_none_or(|p| glob(p, &flow.to))
            && self.keeps_status(flow.status)
    }

    /// Whether a flow with `status` passes `only`.
    pub(super) fn keeps_status(&self, status: Status) -> bool {
        match self.only {
            None => true,
            Some(Only::Allowed) => status.is_success(),
            Some(Only::Denied) => !status.is_success(),
        }
    }
}

/// `*`-glob match of the whole `text` (no other metacharacters: names hold none).
pub(super) fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        // No `*` at all: an exact match.
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Flows with the same outcome and codes, counted, with the first few as examples.
#[derive(Debug, Clone, Serialize)]
pub(super) struct OutcomeCount {
    /// Status as the client sees it.
    pub status: Status,
    /// Whether the hop used mutual TLS.
    pub mtls: bool,
    /// Envoy response flags.
    pub response_flags: Vec<ResponseFlag>,
    /// The failure-mode codes.
    pub codes: Vec<FindingCode>,
    /// How many flows.
    pub flows: usize,
    /// Up to [`EXAMPLES`] of them, as `FROM -> TO`, in matrix order.
    pub examples: Vec<String>,
}

/// How many example flows a summary row names.
pub(super) const EXAMPLES: usize = 3;

/// The flows grouped by outcome and codes, failures first, then by size.
#[cfg(test)]
pub(super) fn summary(flows: &[Flow]) -> Vec<OutcomeCount> {
    let mut counter = SummaryCounter::default();
    for f in flows {
        counter.add(f);
    }
    counter.finish().0
}

/// Counts flows by outcome and codes as they stream past, keeping [`EXAMPLES`] of each.
#[derive(Debug, Default)]
pub(super) struct SummaryCounter {
    groups: BTreeMap<(String, bool, String, String), OutcomeCount>,
    total: usize,
}

impl SummaryCounter {
    /// Counts one flow.
    pub(super) fn add(&mut self, f: &Flow) {
        self.total += 1;
        let key = (
            f.status.to_string(),
            f.mtls,
            super::matrix::flags_text(f),
            super::matrix::codes_text(f),
        );
        let g = self.groups.entry(key).or_insert_with(|| OutcomeCount {
            status: f.status,
            mtls: f.mtls,
            response_flags: f.response_flags.clone(),
            codes: f.codes.clone(),
            flows: 0,
            examples: Vec::new(),
        });
        g.flows += 1;
        if g.examples.len() < EXAMPLES {
            g.examples.push(format!("{} -> {}", f.from, f.to));
        }
    }

    /// The groups, failures first, then by size, and how many flows were counted.
    pub(super) fn finish(self) -> (Vec<OutcomeCount>, usize) {
        let mut out: Vec<OutcomeCount> = self.groups.into_values().collect();
        // Stable: BTreeMap order breaks ties.
        out.sort_by_key(|g| (g.status.is_success(), std::cmp::Reverse(g.flows)));
        (out, self.total)
    }
}

/// The summary as an aligned table.
pub(super) fn summary_table(rows: &[OutcomeCount], total: usize) -> String {
    let mut out = String::new();
    for g in rows {
        let mut what = g.status.to_string();
        what.push_str(if g.mtls { " mTLS" } else { " plaintext" });
        if !g.response_flags.is_empty() {
            what.push(' ');
            what.push_str(&sim::vocab::join(&g.response_flags, ","));
        }
        if !g.codes.is_empty() {
            what.push_str(&format!(" ({})", sim::vocab::join(&g.codes, ", ")));
        }
        out.push_str(&format!("{:>8}  {what}\n", g.flows));
        let more = g.flows - g.examples.len();
        let mut examples = g.examples.join(", ");
        if more > 0 {
            examples.push_str(&format!(", … {more} more"));
        }
        out.push_str(&format!("          e.g. {examples}\n"));
    }
    let ok: usize = rows
        .iter()
        .filter(|g| g.status.is_success())
        .map(|g| g.flows)
        .sum();
    out.push_str(&format!(
        "{total} flow(s): {ok} succeed, {} fail\n",
        total - ok
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_the_whole_name() {
        let cases = [
            ("foo/*", "foo/sleep", true),
            ("foo/*", "foobar/sleep", false),
            ("*/sleep", "legacy/sleep", true),
            ("*/sleep", "legacy/sleeper", false),
            ("httpbin.*:8000", "httpbin.foo:8000", true),
            ("httpbin.*:8000", "httpbin.foo:80001", false),
            ("*", "anything", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "acb", false),
            ("ab*ba", "aba", false),
            ("exact", "exact", true),
            ("exact", "exactly", false),
        ];
        for (p, t, want) in cases {
            assert_eq!(glob(p, t), want, "{p} ~ {t}");
        }
    }

    fn flow(from: &str, to: &str, status: u16) -> Flow {
        Flow {
            from: from.into(),
            to: to.into(),
            status: Status::Http(status),
            mtls: status == 200,
            response_flags: Vec::new(),
            tls_error: None,
            codes: Vec::new(),
        }
    }

    #[test]
    fn filters_combine() {
        let flows = [
            flow("foo/sleep", "httpbin.foo:8000", 200),
            flow("foo/sleep", "httpbin.bar:8000", 403),
            flow("bar/sleep", "httpbin.foo:8000", 503),
        ];
        let keep = |f: FlowFilter| -> Vec<usize> {
            (0..flows.len()).filter(|&i| f.keeps(&flows[i])).collect()
        };
        assert_eq!(keep(FlowFilter::default()), [0, 1, 2]);
        let from_foo = || FlowFilter {
            from: Some("foo/*".into()),
            ..FlowFilter::default()
        };
        assert_eq!(keep(from_foo()), [0, 1]);
        let only = |o| FlowFilter {
            only: Some(o),
            ..from_foo()
        };
        assert_eq!(keep(only(Only::Denied)), [1]);
        assert_eq!(keep(only(Only::Allowed)), [0]);
        let to = FlowFilter {
            to: Some("httpbin.foo:*".into()),
            ..FlowFilter::default()
        };
        assert_eq!(keep(to), [0, 2]);
    }

    #[test]
    fn a_summary_counts_each_outcome_once_failures_first() {
        let flows = [
            flow("a/x", "s.a:80", 200),
            flow("a/y", "s.a:80", 200),
            flow("a/z", "s.a:80", 403),
        ];
        let rows = summary(&flows);
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].status, rows[0].flows), (Status::Http(403), 1));
        assert_eq!((rows[1].status, rows[1].flows), (Status::Http(200), 2));
        assert_eq!(rows[1].examples, ["a/x -> s.a:80", "a/y -> s.a:80"]);
    }
}
