//! `matrix --format json`, written flow by flow.
//!
//! The bytes are those `serde_json::to_writer_pretty` gives for the whole document
//! (`{"flows": [...], "notes": [...]}`), tested in `matrix.rs`. Each flow's layout is written
//! here and only its values go through `serde_json` (escaping, numbers): serde's pretty
//! formatter spent a fifth of a 1 000-workload matrix's instructions on the fixed keys and
//! indentation of a million identical objects (callgrind, `docs/performance.md`).

use std::io::Write;

use serde::Serialize;
use sim::analysis::{Flow, MatrixNote};

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

/// One flow as an element of the `flows` array (indented four spaces).
fn flow(out: &mut impl Write, f: &Flow) -> Result<(), String> {
    let io = write_error;
    out.write_all(b"    {\n      \"from\": ").map_err(io)?;
    value(out, &f.from)?;
    out.write_all(b",\n      \"to\": ").map_err(io)?;
    value(out, &f.to)?;
    out.write_all(b",\n      \"status\": ").map_err(io)?;
    value(out, &f.status)?;
    out.write_all(if f.mtls {
        b",\n      \"mtls\": true,\n      \"response_flags\": ".as_slice()
    } else {
        b",\n      \"mtls\": false,\n      \"response_flags\": ".as_slice()
    })
    .map_err(io)?;
    list(out, &f.response_flags)?;
    out.write_all(b",\n      \"tls_error\": ").map_err(io)?;
    value(out, &f.tls_error)?;
    out.write_all(b",\n      \"codes\": ").map_err(io)?;
    list(out, &f.codes)?;
    out.write_all(b"\n    }").map_err(io)
}

/// The whole document: every flow as it comes (the first error ends it), then the notes when
/// there are any, and a final line break.
pub(super) fn write(
    out: &mut impl Write,
    flows: impl Iterator<Item = Result<Flow, String>>,
    notes: &[MatrixNote],
) -> Result<(), String> {
    let io = write_error;
    out.write_all(b"{\n  \"flows\": [").map_err(io)?;
    let mut any = false;
    for f in flows {
        let f = f?;
        out.write_all(if any { b",\n".as_slice() } else { b"\n" })
            .map_err(io)?;
        flow(out, &f)?;
        any = true;
    }
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
