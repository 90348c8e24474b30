//! `meshsim run`: find, parse, select, run and report scenarios.

use std::path::PathBuf;

use harness::{
    exit_code, load_scenarios, render_human, render_json, render_junit, run_scenarios,
    scenario_files, select, RunOptions, Tree,
};
use include_dir::{include_dir, Dir};

use super::output::{emit_then, stdout_color};
use super::{RunArgs, RunFormat, EXIT_BAD_INPUT, EXIT_OK};

/// The scenario library compiled into the binary (`build.rs` reruns the build when it changes).
static LIBRARY: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/scenarios");

/// The root the embedded library's files are shown under.
const LIBRARY_ROOT: &str = "scenarios";

/// Runs `meshsim run` and returns the exit code.
pub(super) fn run(args: RunArgs) -> i32 {
    let embedded = args.paths.is_empty();
    let (tree, paths) = if args.paths.is_empty() {
        (
            Tree::Embedded {
                dir: &LIBRARY,
                root: LIBRARY_ROOT,
            },
            vec![PathBuf::from(LIBRARY_ROOT)],
        )
    } else {
        (Tree::Fs, args.paths.clone())
    };

    let files = match scenario_files(&tree, &paths) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    if files.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        eprintln!(
            "meshsim run: no scenario files in {} (a scenario file has a top-level `name:` or \
             `steps:`)",
            shown.join(", ")
        );
        return EXIT_BAD_INPUT;
    }
    let scenarios = match load_scenarios(&tree, &files) {
        Ok(s) => s,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!(
                "meshsim run: {} scenario file(s) could not be read; nothing was run",
                errors.len()
            );
            return EXIT_BAD_INPUT;
        }
    };
    let mut scenarios = scenarios;
    if let Some(version) = args.release.istio_version {
        for s in &mut scenarios {
            s.resources.mesh_config.istio_release.get_or_insert(version);
            if let Err(e) = super::config::release_check(&s.resources) {
                eprintln!("{}: {e}", s.file.display());
                return EXIT_BAD_INPUT;
            }
        }
    }
    let selected = select(scenarios, args.filter.as_deref(), args.partition);
    let mut warnings: Vec<String> = selected
        .iter()
        .flat_map(|s| s.warnings.iter().map(ToString::to_string))
        .collect();
    warnings.dedup();
    // The embedded library sets unmodelled fields and HTTP-only DENY rules on purpose (its
    // scenarios test those warnings), so a first `meshsim run` stays quiet; the user's own
    // files always show theirs, as `kubectl apply` shows Istio's validation warnings.
    if embedded && !args.verbose {
        warnings.clear();
    }
    for w in &warnings {
        eprintln!("{w}");
    }

    if args.list {
        let text: String = selected
            .iter()
            .map(|s| format!("{}  {}\n", s.file.display(), s.name))
            .collect();
        return emit_then("run", &text, args.output.as_deref(), EXIT_OK);
    }
    if selected.is_empty() {
        eprintln!("meshsim run: no scenario matched the filter/partition");
    }

    let opts = RunOptions {
        progress: true,
        metrics_interval: args.metrics_out.as_ref().map(|_| args.metrics_interval),
    };
    let reports = run_scenarios(&selected, opts);
    if let Some(dir) = &args.metrics_out {
        match super::metrics::write_recordings(dir, &reports, &args.promtool_tests) {
            Ok(n) => eprintln!(
                "meshsim run: metrics of {n} scenario(s) written under {}",
                dir.display()
            ),
            Err(e) => {
                eprintln!("meshsim run: {e}");
                return EXIT_BAD_INPUT;
            }
        }
    }
    let text = match args.format {
        RunFormat::Human => render_human(&reports, args.output.is_none() && stdout_color()),
        RunFormat::Json => render_json(&reports),
        RunFormat::Junit => render_junit(&reports),
    };
    emit_then("run", &text, args.output.as_deref(), exit_code(&reports))
}
