//! `meshsim matrix`: every workload to every Service port, as a table, JSON, CSV, a Graphviz
//! digraph or an SVG grid; from the analysis path, or through the data path with `--handshake`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;
use sim::analysis::{self, Flow, MatrixNote};
use sim::vocab::join;
use sim::vocab::Status;
use sim::{Fault, Resources};

use super::config::build_mesh;
use super::matrix_filter::{summary, summary_table, FlowFilter, OutcomeCount};
use super::output::emit_then;
use super::{MatrixArgs, MatrixFormat, EXIT_BAD_INPUT, EXIT_OK};

/// `matrix --format json`.
#[derive(Debug, Serialize)]
struct MatrixJson<'a> {
    flows: &'a [Flow],
    /// Workloads and Services the matrix leaves out, and why (absent when none).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    notes: &'a [MatrixNote],
}

/// `matrix --summary --format json`.
#[derive(Debug, Serialize)]
struct SummaryJson<'a> {
    /// Flows counted (after the filters).
    flows: usize,
    /// One entry per outcome and codes, failures first.
    outcomes: &'a [OutcomeCount],
    /// Workloads and Services the matrix leaves out, and why (absent when none).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    notes: &'a [MatrixNote],
}

/// Runs `meshsim matrix` and returns the exit code.
pub(super) fn matrix(args: MatrixArgs) -> i32 {
    if !args.handshake && (!args.faults.is_empty() || args.at.is_some()) {
        eprintln!(
            "meshsim matrix: --fault and --at only apply to the data path; add --handshake \
             (the analysis path reads the configuration alone)"
        );
        return EXIT_BAD_INPUT;
    }
    let computed = args.config.load().and_then(|(resources, faults)| {
        let flows = flows_of(
            "matrix",
            &args.config.files,
            resources.clone(),
            faults,
            &Handshake {
                enabled: args.handshake,
                faults: &args.faults,
                at: args.at,
                seed: args.seed,
            },
        )?;
        Ok((resources, flows))
    });
    let (resources, mut flows) = match computed {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    let filter = FlowFilter {
        from: args.from.clone(),
        to: args.to.clone(),
        only: args.only,
    };
    flows.retain(|f| filter.keeps(f));
    let notes = analysis::matrix_notes(&resources);
    if args.summary {
        let rows = summary(&flows);
        let text = match args.format {
            MatrixFormat::Table => summary_table(&rows, flows.len()),
            MatrixFormat::Json => {
                let mut s = serde_json::to_string_pretty(&SummaryJson {
                    flows: flows.len(),
                    outcomes: &rows,
                    notes: &notes,
                })
                .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise: {e}\"}}"));
                s.push('\n');
                s
            }
            MatrixFormat::Csv | MatrixFormat::Dot | MatrixFormat::Svg => {
                eprintln!("meshsim matrix: --summary prints a table or json (--format table|json)");
                return EXIT_BAD_INPUT;
            }
        };
        return emit_then("matrix", &text, None, EXIT_OK);
    }
    let text = match args.format {
        MatrixFormat::Table => table(&flows, &notes),
        MatrixFormat::Json => json(&flows, &notes),
        MatrixFormat::Csv | MatrixFormat::Dot | MatrixFormat::Svg => {
            // Neither format has room for prose; the notes go to stderr so they are not silent.
            for n in &notes {
                eprintln!("meshsim matrix: note: {}: {}", n.subject, n.note);
            }
            match args.format {
                MatrixFormat::Csv => csv(&flows),
                MatrixFormat::Svg => super::matrix_svg::svg(&flows),
                _ => dot(&resources, &flows),
            }
        }
    };
    emit_then("matrix", &text, None, EXIT_OK)
}

/// How to compute flows through the data path.
pub(super) struct Handshake<'a> {
    /// Use the data path at all.
    pub enabled: bool,
    /// Faults from the command line, after the configuration's own.
    pub faults: &'a [Fault],
    /// Clock advance before the requests.
    pub at: Option<std::time::Duration>,
    /// Mesh seed.
    pub seed: u64,
}

/// The flows of one configuration: analysis path, or the data path when `hs.enabled`. A scenario
/// file's faults only matter on the data path; without it they are named on stderr.
pub(super) fn flows_of(
    command: &str,
    files: &[PathBuf],
    resources: Resources,
    mut faults: Vec<Fault>,
    hs: &Handshake<'_>,
) -> Result<Vec<Flow>, String> {
    if !hs.enabled {
        if !faults.is_empty() {
            let shown: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
            eprintln!(
                "meshsim {command}: note: the configuration ({}) declares {} fault(s); the \
                 analysis path ignores faults (add --handshake)",
                shown.join(", "),
                faults.len()
            );
        }
        return analysis::matrix(&resources).map_err(|e| format!("meshsim {command}: {e}"));
    }
    faults.extend(hs.faults.iter().cloned());
    let mut mesh = build_mesh(command, resources, &faults, hs.seed, hs.at)?;
    sim::mesh::matrix_handshake(&mut mesh).map_err(|e| format!("meshsim {command}: {e}"))
}

/// Response flags as Envoy's access log prints them (`-` when none).
pub(super) fn flags_text(flow: &Flow) -> String {
    if flow.response_flags.is_empty() {
        "-".into()
    } else {
        join(&flow.response_flags, ",")
    }
}

/// Codes comma-separated, `-` when none.
pub(super) fn codes_text(flow: &Flow) -> String {
    if flow.codes.is_empty() {
        "-".into()
    } else {
        join(&flow.codes, ",")
    }
}

fn table(flows: &[Flow], notes: &[MatrixNote]) -> String {
    let header = [
        "FROM",
        "TO",
        "STATUS",
        "MTLS",
        "FLAGS",
        "TLS_ERROR",
        "CODES",
    ];
    let rows: Vec<[String; 7]> = flows
        .iter()
        .map(|f| {
            [
                f.from.clone(),
                f.to.clone(),
                f.status.to_string(),
                if f.mtls { "yes".into() } else { "no".into() },
                flags_text(f),
                f.tls_error.clone().unwrap_or_else(|| "-".into()),
                codes_text(f),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: &[&str]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(&header);
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        out.push_str(&line(&cells));
    }
    let ok = flows.iter().filter(|f| f.status.is_success()).count();
    out.push_str(&format!(
        "{} flow(s): {ok} succeed, {} fail\n",
        flows.len(),
        flows.len() - ok
    ));
    for n in notes {
        out.push_str(&format!("note: {}: {}\n", n.subject, n.note));
    }
    out
}

fn json(flows: &[Flow], notes: &[MatrixNote]) -> String {
    let mut s = serde_json::to_string_pretty(&MatrixJson { flows, notes })
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise: {e}\"}}"));
    s.push('\n');
    s
}

/// One CSV field, quoted when it holds a separator, a quote or a line break (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn csv(flows: &[Flow]) -> String {
    // Lists inside a field are `|`-separated so a row never needs quoting in practice.
    let mut out = String::from("from,to,status,mtls,response_flags,tls_error,codes\n");
    for f in flows {
        let cells = [
            f.from.clone(),
            f.to.clone(),
            f.status.to_string(),
            f.mtls.to_string(),
            join(&f.response_flags, "|"),
            f.tls_error.clone().unwrap_or_default(),
            join(&f.codes, "|"),
        ];
        let row: Vec<String> = cells.iter().map(|c| csv_field(c)).collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// The edge colour of an outcome: green 2xx over mTLS, blue 2xx in plaintext, orange 403 (an
/// authorization denial), red any other failure.
fn colour(flow: &Flow) -> &'static str {
    match flow.status {
        s if s.is_success() && flow.mtls => "green",
        s if s.is_success() => "blue",
        Status::Http(403) => "orange",
        _ => "red",
    }
}

/// A Graphviz ID, always quoted.
fn dot_id(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The namespace of a `SVC.NS:PORT` destination.
pub(super) fn target_namespace(to: &str) -> &str {
    let host = to.rsplit_once(':').map_or(to, |(h, _)| h);
    host.split_once('.').map_or("", |(_, ns)| ns)
}

fn dot(res: &Resources, flows: &[Flow]) -> String {
    // Namespace -> (node id, label, is a service port), sorted for stable output.
    let mut clusters: BTreeMap<String, BTreeMap<String, (String, bool)>> = BTreeMap::new();
    for w in &res.workloads {
        clusters
            .entry(w.meta.namespace.clone())
            .or_default()
            .insert(
                format!("{}/{}", w.meta.namespace, w.meta.name),
                (w.meta.name.clone(), false),
            );
    }
    for f in flows {
        let ns = target_namespace(&f.to).to_string();
        let label = f.to.replacen(&format!(".{ns}"), "", 1);
        clusters
            .entry(ns)
            .or_default()
            .insert(f.to.clone(), (label, true));
    }
    let mut out = String::from(
        "digraph meshsim {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n  \
         edge [fontname=\"Helvetica\", fontsize=10];\n",
    );
    for (ns, nodes) in &clusters {
        out.push_str(&format!(
            "  subgraph {} {{\n    label={};\n",
            dot_id(&format!("cluster_{ns}")),
            dot_id(ns)
        ));
        for (id, (label, is_port)) in nodes {
            let shape = if *is_port { "ellipse" } else { "box" };
            out.push_str(&format!(
                "    {} [label={}, shape={shape}];\n",
                dot_id(id),
                dot_id(label)
            ));
        }
        out.push_str("  }\n");
    }
    for f in flows {
        let mut label = f.status.to_string();
        if f.mtls {
            label.push_str(" mTLS");
        }
        if !f.response_flags.is_empty() {
            label.push(' ');
            label.push_str(&join(&f.response_flags, ","));
        }
        let c = colour(f);
        out.push_str(&format!(
            "  {} -> {} [color={c}, fontcolor={c}, label={}];\n",
            dot_id(&f.from),
            dot_id(&f.to),
            dot_id(&label)
        ));
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(status: Status, mtls: bool, flags: &[&str]) -> Flow {
        Flow {
            from: "foo/sleep".parse().expect("NS/WORKLOAD"),
            to: "httpbin.foo:8000".parse().expect("HOST:PORT"),
            status,
            mtls,
            response_flags: flags.iter().map(|s| s.parse().unwrap()).collect(),
            tls_error: None,
            codes: Vec::new(),
        }
    }

    #[test]
    fn edge_colours_follow_the_outcome() {
        for (f, want) in [
            (flow(Status::Http(200), true, &[]), "green"),
            (flow(Status::Http(200), false, &[]), "blue"),
            (flow(Status::Http(403), true, &[]), "orange"),
            (flow(Status::Http(503), false, &["UF", "URX"]), "red"),
            (flow(Status::Reset, false, &[]), "red"),
        ] {
            assert_eq!(colour(&f), want, "{f:?}");
        }
    }

    #[test]
    fn csv_quotes_fields_with_separators() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn table_columns_are_aligned() {
        let flows = vec![
            flow(Status::Http(200), true, &[]),
            flow(Status::Http(503), false, &["UF", "URX"]),
        ];
        let t = table(&flows, &[]);
        let lines: Vec<&str> = t.lines().collect();
        let col = lines[0].find("STATUS").unwrap();
        assert_eq!(&lines[1][col..col + 3], "200");
        assert_eq!(&lines[2][col..col + 3], "503");
        assert!(t.ends_with("2 flow(s): 1 succeed, 1 fail\n"), "{t}");
    }

    #[test]
    fn dot_ids_escape_quotes() {
        assert_eq!(dot_id("a\"b"), "\"a\\\"b\"");
        assert_eq!(target_namespace("httpbin.foo:8000"), "foo");
    }
}
