//! `matrix --format svg`: the connectivity matrix as a picture that stays readable at scale — a
//! source × destination grid grouped by namespace, one square per flow coloured by outcome,
//! with the outcome in each square's tooltip. A Graphviz drawing of the same flows stops being
//! readable near 50 services; a grid of 200 × 400 is still one screen of squares.
//!
//! Hand-written rather than through a plotting crate: the picture is rectangles, lines and text,
//! and writing them directly keeps the output byte-for-byte deterministic.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sim::analysis::Flow;
use sim::vocab::{join, Status};

/// Side of one cell, in pixels.
const CELL: usize = 14;
/// Width of one character of the 11 px label font (monospace, so labels can be measured).
const CHAR: usize = 7;
/// Gap between two namespace groups: room for the group's bold namespace heading.
const GAP: usize = 16;
/// Height of the legend under the grid.
const LEGEND: usize = 40;

/// What a cell shows, and its colour (the DOT output's colours, as RGB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cell {
    /// 2xx over mutual TLS.
    Mtls,
    /// 2xx in plaintext.
    Plaintext,
    /// 403: an authorization denial.
    Denied,
    /// Any other failure.
    Failed,
    /// No flow for this pair (the workload has no route to that port).
    None,
}

impl Cell {
    /// The cell for a flow's outcome.
    pub(super) fn of(flow: &Flow) -> Cell {
        match flow.status {
            s if s.is_success() && flow.mtls => Cell::Mtls,
            s if s.is_success() => Cell::Plaintext,
            Status::Http(403) => Cell::Denied,
            _ => Cell::Failed,
        }
    }

    /// Fill colour.
    pub(super) fn rgb(self) -> &'static str {
        match self {
            Cell::Mtls => "#2e7d32",
            Cell::Plaintext => "#1565c0",
            Cell::Denied => "#ef6c00",
            Cell::Failed => "#c62828",
            Cell::None => "#eeeeee",
        }
    }

    fn legend(self) -> &'static str {
        match self {
            Cell::Mtls => "2xx mTLS",
            Cell::Plaintext => "2xx plaintext",
            Cell::Denied => "403 denied",
            Cell::Failed => "failed",
            Cell::None => "no flow",
        }
    }
}

/// The legend, in order.
const LEGEND_CELLS: [Cell; 5] = [
    Cell::Mtls,
    Cell::Plaintext,
    Cell::Denied,
    Cell::Failed,
    Cell::None,
];

/// Escapes text for XML content and attribute values.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Axis entries grouped by namespace: `(namespace, [(key, label)])`, sorted.
type Groups = Vec<(String, Vec<(String, String)>)>;

/// Groups keys by namespace, each with its label inside the group.
fn groups(keys: impl Iterator<Item = (String, String, String)>) -> Groups {
    let mut by_ns: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (ns, key, label) in keys {
        by_ns.entry(ns).or_default().insert(key, label);
    }
    by_ns
        .into_iter()
        .map(|(ns, m)| (ns, m.into_iter().collect()))
        .collect()
}

/// The pixel offset of every entry along one axis, with a gap between groups.
fn offsets(groups: &Groups, start: usize) -> (BTreeMap<String, usize>, usize) {
    let mut at = BTreeMap::new();
    let mut pos = start;
    for (i, (_, entries)) in groups.iter().enumerate() {
        if i > 0 {
            pos += GAP;
        }
        for (key, _) in entries {
            at.insert(key.clone(), pos);
            pos += CELL;
        }
    }
    (at, pos)
}

/// The longest label of an axis, in pixels (namespace names included).
fn label_width(groups: &Groups) -> usize {
    groups
        .iter()
        .flat_map(|(ns, e)| std::iter::once(ns.len()).chain(e.iter().map(|(_, l)| l.len())))
        .max()
        .unwrap_or(0)
        * CHAR
        + 2 * CHAR
}

/// The SVG document for `flows`.
pub(super) fn svg(flows: &[Flow]) -> String {
    let rows = groups(flows.iter().map(|f| {
        let (ns, name) = f.from.split_once('/').unwrap_or(("", f.from.as_str()));
        (ns.to_string(), f.from.clone(), name.to_string())
    }));
    let cols = groups(flows.iter().map(|f| {
        let ns = super::matrix::target_namespace(&f.to).to_string();
        let label = f.to.replacen(&format!(".{ns}"), "", 1);
        (ns, f.to.clone(), label)
    }));
    let left = label_width(&rows);
    // Column labels are drawn rotated, so their length is the header's height.
    let top = label_width(&cols) + CELL;
    let (row_at, bottom) = offsets(&rows, top);
    let (col_at, right) = offsets(&cols, left);
    let legend_width: usize = LEGEND_CELLS
        .iter()
        .map(|c| CELL + 4 + (c.legend().len() + 2) * CHAR)
        .sum::<usize>()
        + CHAR;
    let width = (right + CELL).max(legend_width);
    let height = bottom + LEGEND;

    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"monospace\" font-size=\"11\">"
    );
    let _ = writeln!(
        out,
        "<title>meshsim matrix: {} flow(s), {} source(s) × {} destination(s)</title>",
        flows.len(),
        row_at.len(),
        col_at.len()
    );
    let _ = writeln!(
        out,
        "<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>"
    );
    // Pairs without a flow get a grey cell, so they read as "no flow" rather than as background.
    let pairs: std::collections::BTreeSet<(&str, &str)> = flows
        .iter()
        .map(|f| (f.from.as_str(), f.to.as_str()))
        .collect();
    let _ = writeln!(out, "<g id=\"grid\">");
    for (ns, entries) in &rows {
        for (key, _) in entries {
            let y = row_at[key];
            for (cns, centries) in &cols {
                for (ckey, _) in centries {
                    if pairs.contains(&(key.as_str(), ckey.as_str())) {
                        continue;
                    }
                    let x = col_at[ckey];
                    let _ = writeln!(
                        out,
                        "<rect x=\"{x}\" y=\"{y}\" width=\"{c}\" height=\"{c}\" fill=\"{}\" \
                         stroke=\"#ffffff\"><title>{} → {}: no flow ({ns} → {cns})</title></rect>",
                        Cell::None.rgb(),
                        xml(key),
                        xml(ckey),
                        c = CELL
                    );
                }
            }
        }
    }
    let _ = writeln!(out, "</g>");
    let _ = writeln!(out, "<g id=\"flows\">");
    for f in flows {
        let (Some(x), Some(y)) = (col_at.get(&f.to), row_at.get(&f.from)) else {
            continue;
        };
        let cell = Cell::of(f);
        let mut what = f.status.to_string();
        if f.mtls {
            what.push_str(" mTLS");
        }
        if !f.response_flags.is_empty() {
            let _ = write!(what, " {}", join(&f.response_flags, ","));
        }
        if let Some(e) = &f.tls_error {
            let _ = write!(what, " {e}");
        }
        if !f.codes.is_empty() {
            let _ = write!(what, " ({})", join(&f.codes, ", "));
        }
        let _ = writeln!(
            out,
            "<rect class=\"flow\" x=\"{x}\" y=\"{y}\" width=\"{c}\" height=\"{c}\" fill=\"{}\" \
             stroke=\"#ffffff\" data-from=\"{}\" data-to=\"{}\"><title>{} → {}: {}</title></rect>",
            cell.rgb(),
            xml(&f.from),
            xml(&f.to),
            xml(&f.from),
            xml(&f.to),
            xml(&what),
            c = CELL
        );
    }
    let _ = writeln!(out, "</g>");
    // Row labels, namespace headings in bold above each group.
    let _ = writeln!(out, "<g id=\"rows\" text-anchor=\"end\">");
    for (ns, entries) in &rows {
        let first = row_at[&entries[0].0];
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" font-weight=\"bold\">{}</text>",
            left - CHAR,
            first - 2,
            xml(ns)
        );
        for (key, label) in entries {
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\">{}</text>",
                left - CHAR,
                row_at[key] + CELL - 3,
                xml(label)
            );
        }
    }
    let _ = writeln!(out, "</g>");
    // Column labels, rotated to read bottom-up, with the namespace in bold.
    let _ = writeln!(out, "<g id=\"columns\">");
    for (ns, entries) in &cols {
        let first = col_at[&entries[0].0];
        let _ = writeln!(
            out,
            "<text transform=\"translate({},{}) rotate(-90)\" font-weight=\"bold\">{}</text>",
            first - 2,
            top - CHAR,
            xml(ns)
        );
        for (key, label) in entries {
            let _ = writeln!(
                out,
                "<text transform=\"translate({},{}) rotate(-90)\">{}</text>",
                col_at[key] + CELL - 3,
                top - CHAR,
                xml(label)
            );
        }
    }
    let _ = writeln!(out, "</g>");
    let _ = writeln!(out, "<g id=\"legend\">");
    let mut x = CHAR;
    for cell in LEGEND_CELLS {
        let y = bottom + LEGEND / 2 - CELL / 2;
        let _ = writeln!(
            out,
            "<rect x=\"{x}\" y=\"{y}\" width=\"{c}\" height=\"{c}\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{}\">{}</text>",
            cell.rgb(),
            x + CELL + 4,
            y + CELL - 3,
            cell.legend(),
            c = CELL
        );
        x += CELL + 4 + (cell.legend().len() + 2) * CHAR;
    }
    let _ = writeln!(out, "</g>");
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(from: &str, to: &str, status: u16, mtls: bool) -> Flow {
        Flow {
            from: from.into(),
            to: to.into(),
            status: Status::Http(status),
            mtls,
            response_flags: Vec::new(),
            tls_error: None,
            codes: Vec::new(),
        }
    }

    #[test]
    fn labels_are_escaped_as_xml() {
        assert_eq!(xml("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
    }

    #[test]
    fn cells_are_coloured_by_outcome() {
        let cases = [
            (flow("a/x", "s.b:80", 200, true), Cell::Mtls),
            (flow("a/x", "s.b:80", 200, false), Cell::Plaintext),
            (flow("a/x", "s.b:80", 403, true), Cell::Denied),
            (flow("a/x", "s.b:80", 503, false), Cell::Failed),
        ];
        for (f, want) in cases {
            assert_eq!(Cell::of(&f), want, "{f:?}");
        }
    }

    #[test]
    fn every_pair_gets_a_cell_and_every_flow_a_coloured_one() {
        let flows = [
            flow("a/x", "s.a:80", 200, true),
            flow("b/y", "t.b:80", 503, false),
        ];
        let doc = svg(&flows);
        // Two sources × two destinations, two flows: the other two pairs are grey.
        assert_eq!(doc.matches("no flow (").count(), 2);
        assert_eq!(doc.matches("class=\"flow\"").count(), 2);
        assert!(doc.contains("a/x → s.a:80: 200 mTLS"));
    }
}
