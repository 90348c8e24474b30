//! `meshsim diff`: the flows whose status, mTLS or codes change between two configurations
//! ("what breaks if we go STRICT").

use std::path::PathBuf;

use serde::Serialize;
use sim::analysis::{self, ChangeGroup, ChangeKind, Flow, FlowChange, Matrix, StreamDiff};
use sim::vocab::join;

use super::config::{load_unprinted, print_warnings};
use super::matrix::{codes_text, flags_text, flows_of, note_ignored_faults, Handshake};
use super::output::emit_then;
use super::progress::Progress;
use super::{DiffArgs, Format, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK};

/// `diff --format json`: the changed flows, then the same changes grouped.
#[derive(Debug, Serialize)]
struct DiffJson<'a> {
    changes: &'a [FlowChange],
    groups: &'a [ChangeGroup],
}

/// Runs `meshsim diff` and returns the exit code: 0 whenever both configurations load (changes
/// are the answer, not a failure) unless `--exit-code` asks for 1 on any change; 2 on bad input.
pub(super) fn diff(args: DiffArgs) -> i32 {
    let hs = Handshake {
        enabled: args.handshake,
        faults: &[],
        at: None,
        seed: args.seed,
    };
    let compared = match sides(&args, &hs) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    let StreamDiff {
        changes,
        compared: (before, after),
        sources,
    } = compared;
    let compared = before.max(after);
    let groups = analysis::group_changes(&changes, &sources);
    let text = match args.format {
        Format::Human => human(&changes, &groups, compared),
        Format::Json => json(&changes, &groups),
    };
    let code = if args.exit_code && !changes.is_empty() {
        EXIT_FAILED
    } else {
        EXIT_OK
    };
    emit_then("diff", &text, None, code)
}

/// The flows that change between before and after: `-f` against `--against`, or `-f` against
/// `-f` plus `--plus` applied as `kubectl apply` applies it (same kind, namespace and name
/// replaced). On the analysis path both matrices stream side by side; only changes are kept.
fn sides(args: &DiffArgs, hs: &Handshake<'_>) -> Result<StreamDiff, String> {
    let other_files = if args.plus.is_empty() {
        &args.against
    } else {
        &args.plus
    };
    // Both load at once; their warnings and errors are printed in order, as one after the other.
    let (base, other) = std::thread::scope(|scope| {
        let other = scope.spawn(|| load_unprinted(other_files, args.release, &args.namespace));
        let base = load_unprinted(&args.files, args.release, &args.namespace);
        (base, other.join())
    });
    let (base, base_faults) = base?;
    print_warnings(&base);
    let other = other.map_err(|_| "meshsim diff: loading the new configuration failed")??;
    print_warnings(&other.0);
    let (after, after_faults, after_files) = if args.plus.is_empty() {
        let (r, f) = other;
        (r, f, args.against.clone())
    } else {
        let (change, change_faults) = other;
        let mut merged = base.clone();
        merged.merge(change);
        if let Some(version) = args.release.istio_version {
            merged.mesh_config.istio_release = Some(version);
        }
        let mut faults = base_faults.clone();
        faults.extend(change_faults);
        let files: Vec<PathBuf> = args.files.iter().chain(&args.plus).cloned().collect();
        (merged, faults, files)
    };
    let failed = |e: String| format!("meshsim diff: {e}");
    if hs.enabled {
        let old = flows_of("diff", &args.files, base, base_faults, hs)?;
        let new = flows_of("diff", &after_files, after, after_faults, hs)?;
        return analysis::diff_streams(old.into_iter().map(Ok), new.into_iter().map(Ok))
            .map_err(failed);
    }
    note_ignored_faults("diff", &args.files, &base_faults);
    note_ignored_faults("diff", &after_files, &after_faults);
    let (old, new) = (Matrix::new(&base), Matrix::new(&after));
    let mut progress = Progress::new("diff", old.len() + new.len());
    let mut done = (0, 0);
    let progress = move |side: usize, n: u64| {
        if side == 0 {
            done.0 = n;
        } else {
            done.1 = n;
        }
        progress.update(done.0 + done.1);
    };
    let (old_to, new_to): (Vec<&str>, Vec<&str>) =
        (old.destinations().collect(), new.destinations().collect());
    // Each side's next batch is computed while the current ones are compared.
    let progress = std::sync::Mutex::new(progress);
    let report = |side: usize| {
        let progress = &progress;
        move |n: u64| (progress.lock().unwrap_or_else(|e| e.into_inner()))(side, n)
    };
    old.with_rows(report(0), |old_rows| {
        new.with_rows(report(1), |new_rows| {
            analysis::diff_rows(old_rows, &old_to, new_rows, &new_to)
        })
    })
    .map_err(failed)
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

fn human(changes: &[FlowChange], groups: &[ChangeGroup], compared: usize) -> String {
    if changes.is_empty() {
        return format!("no flow changes ({compared} flow(s) compared)\n");
    }
    let mut s = format!("{} of {compared} flow(s) change:\n", changes.len());
    for c in changes {
        s.push_str(&format!("  {} -> {}\n", c.from, c.to));
        s.push_str(&format!("    before: {}\n", state(c.before.as_ref())));
        s.push_str(&format!("    after:  {}\n", state(c.after.as_ref())));
    }
    s.push_str(&summary(groups));
    s
}

/// The grouped view below the flows: breaks, then fixes, then other changes, each group as
/// "N flow(s): SOURCES -> DESTINATIONS, CODES".
fn summary(groups: &[ChangeGroup]) -> String {
    let mut s = String::new();
    for (kind, title) in [
        (ChangeKind::Breaks, "break (success before, failure after)"),
        (ChangeKind::Fixed, "fixed (failure before, success after)"),
        (ChangeKind::Other, "change otherwise"),
    ] {
        let of_kind: Vec<&ChangeGroup> = groups.iter().filter(|g| g.kind == kind).collect();
        let n: usize = of_kind.iter().map(|g| g.flows).sum();
        if n == 0 {
            continue;
        }
        s.push_str(&format!("{n} flow(s) {title}:\n"));
        for g in of_kind {
            let to = match g.to.as_slice() {
                [one] => one.clone(),
                many if many.len() <= 3 => many.join(", "),
                many => format!("{} service port(s)", many.len()),
            };
            let codes = if g.codes.is_empty() {
                "no code".to_string()
            } else {
                join(&g.codes, ",")
            };
            s.push_str(&format!(
                "  {} flow(s): {} -> {to}, {codes}\n",
                g.flows, g.sources
            ));
        }
    }
    s
}

fn json(changes: &[FlowChange], groups: &[ChangeGroup]) -> String {
    let mut s = serde_json::to_string_pretty(&DiffJson { changes, groups })
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialise: {e}\"}}"));
    s.push('\n');
    s
}
