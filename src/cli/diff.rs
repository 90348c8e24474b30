//! `meshsim diff`: the flows whose status, mTLS or codes change between two configurations
//! ("what breaks if we go STRICT").

use serde::Serialize;
use sim::analysis::{self, Flow, FlowChange};

use super::config::load;
use super::matrix::{codes_text, flags_text, flows_of, Handshake};
use super::output::emit_then;
use super::{DiffArgs, Format, EXIT_BAD_INPUT, EXIT_OK};

/// `diff --format json`.
#[derive(Debug, Serialize)]
struct DiffJson<'a> {
    changes: &'a [FlowChange],
}

/// Runs `meshsim diff` and returns the exit code: 0 whenever both configurations load (changes
/// are the answer, not a failure), 2 on bad input.
pub(super) fn diff(args: DiffArgs) -> i32 {
    let hs = Handshake {
        enabled: args.handshake,
        faults: &[],
        at: None,
        seed: args.seed,
    };
    let side = |files: &[std::path::PathBuf]| -> Result<Vec<Flow>, String> {
        let (resources, faults) = load(files, args.release, &args.namespace)?;
        flows_of("diff", files, resources, faults, &hs)
    };
    let computed = side(&args.files).and_then(|old| Ok((old.len(), side(&args.against)?, old)));
    let (compared, changes) = match computed {
        Ok((n, new, old)) => (n.max(new.len()), analysis::diff(&old, &new)),
        Err(e) => {
            eprintln!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    let text = match args.format {
        Format::Human => human(&changes, compared),
        Format::Json => json(&changes),
    };
    emit_then("diff", &text, None, EXIT_OK)
}

fn state(flow: Option<&Flow>) -> String {
    match flow {
        None => "(no such flow)".into(),
        Some(f) => format!(
            "{} {}, flags {}, codes {}",
            f.status,
            if f.mtls { "mTLS" } else { "plaintext" },
            flags_text(f),
            codes_text(f)
        ),
    }
}

fn human(changes: &[FlowChange], compared: usize) -> String {
    if changes.is_empty() {
        return format!("no flow changes ({compared} flow(s) compared)\n");
    }
    let mut s = format!("{} of {compared} flow(s) change:\n", changes.len());
    for c in changes {
        s.push_str(&format!("  {} -> {}\n", c.from, c.to));
        s.push_str(&format!("    before: {}\n", state(c.before.as_ref())));
        s.push_str(&format!("    after:  {}\n", state(c.after.as_ref())));
    }
    s
}

fn json(changes: &[FlowChange]) -> String {
    let mut s = serde_json::to_string_pretty(&DiffJson { changes })
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise: {e}\"}}"));
    s.push('\n');
    s
}
