//! `meshsim matrix`: every workload to every Service port, as a table, JSON, CSV, a Graphviz
//! digraph or an SVG grid; from the analysis path, or through the data path with `--handshake`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;
use sim::analysis::{self, Flow, FlowOutcome, Matrix, MatrixNote};
use sim::vocab::join;
use sim::vocab::Status;
use sim::{Fault, Resources};

use super::config::build_mesh;
use super::matrix_filter::{glob, summary_table, FlowFilter, OutcomeCount, SummaryCounter};
use super::progress::Progress;
use super::{MatrixArgs, MatrixFormat, EXIT_BAD_INPUT, EXIT_OK};

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
    if args.summary && !matches!(args.format, MatrixFormat::Table | MatrixFormat::Json) {
        eprintln!("meshsim matrix: --summary prints a table or json (--format table|json)");
        return EXIT_BAD_INPUT;
    }
    let (resources, faults) = match args.config.load() {
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
    let notes = analysis::matrix_notes(&resources);
    let written = if args.handshake {
        let hs = Handshake {
            enabled: true,
            faults: &args.faults,
            at: args.at,
            seed: args.seed,
        };
        match flows_of("matrix", &args.config.files, resources.clone(), faults, &hs) {
            Ok(flows) => write_matrix(
                &args,
                &resources,
                &notes,
                flows.into_iter().map(Ok),
                &filter,
            ),
            Err(e) => {
                eprintln!("{e}");
                return EXIT_BAD_INPUT;
            }
        }
    } else {
        note_ignored_faults("matrix", &args.config.files, &faults);
        let mut m = Matrix::new(&resources);
        if let Some(p) = &filter.from {
            m.retain_sources(|from| glob(p, from));
        }
        if let Some(p) = &filter.to {
            m.retain_targets(|to| glob(p, to));
        }
        let mut progress = Progress::new("matrix", m.len());
        let progress = move |done| progress.update(done);
        if args.format == MatrixFormat::Json && !args.summary {
            // The sources and destinations are filtered above; the outcome filter is per row.
            m.with_rows(progress, |rows| {
                let keep = |o: &FlowOutcome| filter.keeps_status(o.status);
                to_stdout(|out| {
                    super::matrix_json::write_rows(out, rows, m.destinations(), keep, &notes)
                })
            })
        } else {
            m.with_flows(progress, |flows| {
                write_matrix(&args, &resources, &notes, flows, &filter)
            })
        }
    };
    match written {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("meshsim matrix: {e}");
            EXIT_BAD_INPUT
        }
    }
}

/// Writes the flows `filter` keeps, in `args.format` (or its summary), to stdout as they come.
fn write_matrix(
    args: &MatrixArgs,
    resources: &Resources,
    notes: &[MatrixNote],
    flows: impl Iterator<Item = Result<Flow, String>>,
    filter: &FlowFilter,
) -> Result<(), String> {
    let kept = flows.filter(|f| f.as_ref().map_or(true, |f| filter.keeps(f)));
    to_stdout(|out| write_kept(args, resources, notes, kept, out))
}

/// Runs `write` on a buffered stdout and flushes it.
fn to_stdout(
    write: impl FnOnce(&mut std::io::BufWriter<std::io::StdoutLock<'static>>) -> Result<(), String>,
) -> Result<(), String> {
    // A large buffer: a 1 000-workload matrix is 200 MB of JSON.
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    write(&mut out)?;
    out.flush()
        .map_err(|e| format!("cannot write to stdout: {e}"))
}

/// [`write_matrix`] once the filter is applied.
fn write_kept(
    args: &MatrixArgs,
    resources: &Resources,
    notes: &[MatrixNote],
    kept: impl Iterator<Item = Result<Flow, String>>,
    out: &mut impl Write,
) -> Result<(), String> {
    let io = |e: std::io::Error| format!("cannot write to stdout: {e}");
    if args.summary {
        let mut counter = SummaryCounter::default();
        for f in kept {
            counter.add(&f?);
        }
        let (rows, total) = counter.finish();
        let text = match args.format {
            MatrixFormat::Json => pretty_json(&SummaryJson {
                flows: total,
                outcomes: &rows,
                notes,
            }),
            _ => summary_table(&rows, total),
        };
        out.write_all(text.as_bytes()).map_err(io)?;
        return Ok(());
    }
    match args.format {
        MatrixFormat::Table => table(out, kept, notes)?,
        MatrixFormat::Json => json(out, kept, notes)?,
        MatrixFormat::Csv | MatrixFormat::Dot | MatrixFormat::Svg => {
            // Neither format has room for prose; the notes go to stderr so they are not silent.
            for n in notes {
                eprintln!("meshsim matrix: note: {}: {}", n.subject, n.note);
            }
            match args.format {
                MatrixFormat::Csv => csv(out, kept)?,
                format => {
                    // A drawing needs every flow at once.
                    let flows: Vec<Flow> = kept.collect::<Result<_, _>>()?;
                    let text = if format == MatrixFormat::Svg {
                        super::matrix_svg::svg(&flows)
                    } else {
                        dot(resources, &flows)
                    };
                    out.write_all(text.as_bytes()).map_err(io)?;
                }
            }
        }
    }
    Ok(())
}

/// `serde_json::to_string_pretty` of `value`, with a final line break.
fn pretty_json(value: &impl Serialize) -> String {
    let mut s = serde_json::to_string_pretty(value)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise: {e}\"}}"));
    s.push('\n');
    s
}

/// On the analysis path a scenario file's faults are named on stderr: only the data path
/// injects them.
pub(super) fn note_ignored_faults(command: &str, files: &[PathBuf], faults: &[Fault]) {
    if !faults.is_empty() {
        let shown: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        eprintln!(
            "meshsim {command}: note: the configuration ({}) declares {} fault(s); the \
             analysis path ignores faults (add --handshake)",
            shown.join(", "),
            faults.len()
        );
    }
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

/// The flows of one configuration in memory: analysis path, or the data path when `hs.enabled`.
/// A scenario file's faults only matter on the data path; without it they are named on stderr.
pub(super) fn flows_of(
    command: &str,
    files: &[PathBuf],
    resources: Resources,
    mut faults: Vec<Fault>,
    hs: &Handshake<'_>,
) -> Result<Vec<Flow>, String> {
    if !hs.enabled {
        note_ignored_faults(command, files, &faults);
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

/// How many rows the table holds before printing: their widths set the columns'. A longer
/// matrix streams its later rows in those columns (a wider cell pushes its row's later cells).
const TABLE_ROWS_MEASURED: usize = 100_000;

/// One table row's cells.
fn table_cells(f: &Flow) -> [String; 7] {
    [
        f.from.clone(),
        f.to.clone(),
        f.status.to_string(),
        if f.mtls { "yes".into() } else { "no".into() },
        flags_text(f),
        f.tls_error.clone().unwrap_or_else(|| "-".into()),
        codes_text(f),
    ]
}

/// One aligned line: every cell but the last padded to its column's width.
fn table_line(out: &mut impl Write, cells: &[&str], widths: &[usize; 7]) -> std::io::Result<()> {
    for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
        if i + 1 == cells.len() {
            out.write_all(cell.as_bytes())?;
        } else {
            write!(out, "{cell:<w$}  ")?;
        }
    }
    out.write_all(b"\n")
}

fn table(
    out: &mut impl Write,
    mut flows: impl Iterator<Item = Result<Flow, String>>,
    notes: &[MatrixNote],
) -> Result<(), String> {
    const HEADER: [&str; 7] = [
        "FROM",
        "TO",
        "STATUS",
        "MTLS",
        "FLAGS",
        "TLS_ERROR",
        "CODES",
    ];
    let io = |e: std::io::Error| format!("cannot write to stdout: {e}");
    let (mut total, mut ok) = (0usize, 0usize);
    let mut count = |f: &Flow| {
        total += 1;
        ok += usize::from(f.status.is_success());
    };
    let mut measured: Vec<[String; 7]> = Vec::new();
    for f in flows.by_ref() {
        let f = f?;
        count(&f);
        measured.push(table_cells(&f));
        if measured.len() == TABLE_ROWS_MEASURED {
            break;
        }
    }
    let mut widths = HEADER.map(str::len);
    for row in &measured {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    table_line(out, &HEADER, &widths).map_err(io)?;
    for row in measured {
        table_line(out, &row.each_ref().map(String::as_str), &widths).map_err(io)?;
    }
    for f in flows {
        let f = f?;
        count(&f);
        let row = table_cells(&f);
        table_line(out, &row.each_ref().map(String::as_str), &widths).map_err(io)?;
    }
    writeln!(out, "{total} flow(s): {ok} succeed, {} fail", total - ok).map_err(io)?;
    for n in notes {
        writeln!(out, "note: {}: {}", n.subject, n.note).map_err(io)?;
    }
    Ok(())
}

/// `matrix --format json`, streamed ([`super::matrix_json::write`]).
fn json(
    out: &mut impl Write,
    flows: impl Iterator<Item = Result<Flow, String>>,
    notes: &[MatrixNote],
) -> Result<(), String> {
    super::matrix_json::write(out, flows, notes)
}

/// One CSV field, quoted when it holds a separator, a quote or a line break (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn csv(
    out: &mut impl Write,
    flows: impl Iterator<Item = Result<Flow, String>>,
) -> Result<(), String> {
    let io = |e: std::io::Error| format!("cannot write to stdout: {e}");
    out.write_all(b"from,to,status,mtls,response_flags,tls_error,codes\n")
        .map_err(io)?;
    for f in flows {
        let f = f?;
        // Lists inside a field are `|`-separated so a row never needs quoting in practice.
        let cells = [
            f.from,
            f.to,
            f.status.to_string(),
            f.mtls.to_string(),
            join(&f.response_flags, "|"),
            f.tls_error.unwrap_or_default(),
            join(&f.codes, "|"),
        ];
        let row: Vec<String> = cells.iter().map(|c| csv_field(c)).collect();
        writeln!(out, "{}", row.join(",")).map_err(io)?;
    }
    Ok(())
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
        let mut out = Vec::new();
        table(&mut out, flows.into_iter().map(Ok), &[]).unwrap();
        let t = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = t.lines().collect();
        let col = lines[0].find("STATUS").unwrap();
        assert_eq!(&lines[1][col..col + 3], "200");
        assert_eq!(&lines[2][col..col + 3], "503");
        assert!(t.ends_with("2 flow(s): 1 succeed, 1 fail\n"), "{t}");
    }

    #[test]
    fn streamed_json_has_the_bytes_of_the_whole_document() {
        #[derive(Serialize)]
        struct Whole<'a> {
            flows: &'a [Flow],
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            notes: &'a [MatrixNote],
        }
        let note = MatrixNote {
            subject: "Service/default/kubernetes".into(),
            note: "has no selector".into(),
        };
        let mut flows = [
            flow(Status::Http(200), true, &[]),
            flow(Status::Http(503), false, &["UF", "URX"]),
        ];
        flows[1].tls_error = Some("TLSV1_ALERT_UNKNOWN_CA".into());
        for (flows, notes) in [
            (&flows[..], &[][..]),
            (&flows[..], std::slice::from_ref(&note)),
            (&[][..], &[][..]),
        ] {
            let mut out = Vec::new();
            json(&mut out, flows.iter().cloned().map(Ok), notes).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                pretty_json(&Whole { flows, notes })
            );
        }
    }

    #[test]
    fn a_failing_flow_stops_the_json_with_its_error() {
        let flows = vec![
            Ok(flow(Status::Http(200), true, &[])),
            Err("boom".to_string()),
        ];
        let mut out = Vec::new();
        let e = json(&mut out, flows.into_iter(), &[]).unwrap_err();
        assert!(e.contains("boom"), "{e}");
    }

    #[test]
    fn dot_ids_escape_quotes() {
        assert_eq!(dot_id("a\"b"), "\"a\\\"b\"");
        assert_eq!(target_namespace("httpbin.foo:8000"), "foo");
    }
}
