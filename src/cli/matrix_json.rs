//! `matrix --format json`, written flow by flow.
//!
//! The bytes are those `serde_json::to_writer_pretty` gives for the whole document
//! (`{"flows": [...], "notes": [...]}`), tested in `matrix.rs`. Each flow's layout is written
//! here and only its values go through `serde_json` (escaping, numbers): serde's pretty
//! formatter spent a fifth of a 1 000-workload matrix's instructions on the fixed keys and
//! indentation of a million identical objects (callgrind, `docs/performance.md`).
//!
//! From a [`Matrix`](sim::analysis::Matrix)'s rows ([`write_rows`]), each source, destination
//! and distinct outcome is formatted once and a flow is three copies of bytes: at a million
//! flows, formatting every flow's values was a fifth of the run again.

use std::io::Write;

use serde::Serialize;
use sim::analysis::{Flow, FlowOutcome, MatrixNote, MatrixRow};
use sim::vocab::{FindingCode, ResponseFlag, Status};

/// One compact JSON value (a string escaped, a number, `null`).
fn value(out: &mut impl Write, v: &impl Serialize) -> Result<(), String> {
    serde_json::to_writer(&mut *out, v).map_err(write_error)
}

/// The message of a failed write.
fn write_error(e: impl std::fmt::Display) -> String {
    format!("cannot write to stdout: {e}")
}

/// A list of compact values at the flow's field depth: `[]`, or one item per line.
fn list(out: &mut impl Write, items: &[impl Serialize]) -> Result<(), String> {
    if items.is_empty() {
        return out.write_all(b"[]").map_err(write_error);
    }
    out.write_all(b"[").map_err(write_error)?;
    for (i, item) in items.iter().enumerate() {
        let sep: &[u8] = if i == 0 {
            b"\n        "
        } else {
            b",\n        "
        };
        out.write_all(sep).map_err(write_error)?;
        value(out, item)?;
    }
    out.write_all(b"\n      ]").map_err(write_error)
}

/// A flow's opening and its `from`, up to the `to` value (indented four spaces).
fn head(out: &mut impl Write, from: &str) -> Result<(), String> {
    out.write_all(b"    {\n      \"from\": ")
        .map_err(write_error)?;
    value(out, &from)?;
    out.write_all(b",\n      \"to\": ").map_err(write_error)
}

/// What a flow's JSON says after its `to`.
struct Tail<'a> {
    status: Status,
    mtls: bool,
    response_flags: &'a [ResponseFlag],
    tls_error: &'a Option<String>,
    codes: &'a [FindingCode],
}

impl<'a> From<&'a Flow> for Tail<'a> {
    fn from(f: &'a Flow) -> Tail<'a> {
        Tail {
            status: f.status,
            mtls: f.mtls,
            response_flags: &f.response_flags,
            tls_error: &f.tls_error,
            codes: &f.codes,
        }
    }
}

impl<'a> From<&'a FlowOutcome> for Tail<'a> {
    fn from(o: &'a FlowOutcome) -> Tail<'a> {
        Tail {
            status: o.status,
            mtls: o.mtls,
            response_flags: &o.response_flags,
            tls_error: &o.tls_error,
            codes: &o.codes,
        }
    }
}

/// A flow's fields after its `to` value, and its closing brace.
fn tail(out: &mut impl Write, t: Tail<'_>) -> Result<(), String> {
    let io = write_error;
    out.write_all(b",\n      \"status\": ").map_err(io)?;
    value(out, &t.status)?;
    out.write_all(if t.mtls {
        b",\n      \"mtls\": true,\n      \"response_flags\": ".as_slice()
    } else {
        b",\n      \"mtls\": false,\n      \"response_flags\": ".as_slice()
    })
    .map_err(io)?;
    list(out, t.response_flags)?;
    out.write_all(b",\n      \"tls_error\": ").map_err(io)?;
    value(out, t.tls_error)?;
    out.write_all(b",\n      \"codes\": ").map_err(io)?;
    list(out, t.codes)?;
    out.write_all(b"\n    }").map_err(io)
}

/// One flow as an element of the `flows` array.
fn flow(out: &mut impl Write, f: &Flow) -> Result<(), String> {
    head(out, &f.from)?;
    value(out, &f.to)?;
    tail(out, f.into())
}

/// The separator before a flow: none before the first.
fn separator(any: bool) -> &'static [u8] {
    if any {
        b",\n"
    } else {
        b"\n"
    }
}

/// The whole document: every flow as it comes (the first error ends it), then the notes when
/// there are any, and a final line break.
pub(super) fn write(
    out: &mut impl Write,
    flows: impl Iterator<Item = Result<Flow, String>>,
    notes: &[MatrixNote],
) -> Result<(), String> {
    out.write_all(b"{\n  \"flows\": [").map_err(write_error)?;
    let mut any = false;
    for f in flows {
        let f = f?;
        out.write_all(separator(any)).map_err(write_error)?;
        flow(out, &f)?;
        any = true;
    }
    finish(out, any, notes)
}

/// The same document as [`write()`] from a matrix's rows: the flows of each row whose outcome
/// `keep` keeps, the row's cells naming `destinations` in order.
pub(super) fn write_rows<'m>(
    out: &mut impl Write,
    rows: &mut dyn Iterator<Item = Result<MatrixRow<'m>, String>>,
    destinations: impl Iterator<Item = &'m str>,
    keep: impl Fn(&FlowOutcome) -> bool,
    notes: &[MatrixNote],
) -> Result<(), String> {
    let to = destinations
        .map(|d| {
            let mut bytes = Vec::new();
            value(&mut bytes, &d).map(|()| bytes)
        })
        .collect::<Result<Vec<Vec<u8>>, String>>()?;
    out.write_all(b"{\n  \"flows\": [").map_err(write_error)?;
    let mut any = false;
    let mut from = Vec::new();
    for row in rows {
        let row = row?;
        from.clear();
        head(&mut from, row.from)?;
        // `None` for an outcome `keep` leaves out.
        let tails = row
            .outcomes
            .iter()
            .map(|o| {
                let mut bytes = Vec::new();
                keep(o)
                    .then(|| tail(&mut bytes, o.into()).map(|()| bytes))
                    .transpose()
            })
            .collect::<Result<Vec<Option<Vec<u8>>>, String>>()?;
        for (&cell, to) in row.cells.iter().zip(&to) {
            let Some(tail) = &tails[cell] else {
                continue;
            };
            for bytes in [separator(any), &from, to, tail] {
                out.write_all(bytes).map_err(write_error)?;
            }
            any = true;
        }
    }
    finish(out, any, notes)
}

/// The end of the `flows` array, the notes when there are any, and a final line break.
fn finish(out: &mut impl Write, any: bool, notes: &[MatrixNote]) -> Result<(), String> {
    let io = write_error;
    out.write_all(if any { b"\n  ]".as_slice() } else { b"]" })
        .map_err(io)?;
    if !notes.is_empty() {
        // The notes as serde pretty-prints them one level down: every line after the first
        // indented two more spaces (escaped JSON strings hold no raw line break).
        let text = serde_json::to_string_pretty(notes).map_err(|e| e.to_string())?;
        out.write_all(b",\n  \"notes\": ").map_err(io)?;
        out.write_all(text.replace('\n', "\n  ").as_bytes())
            .map_err(io)?;
    }
    out.write_all(b"\n}\n").map_err(io)
}
