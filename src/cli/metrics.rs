//! `meshsim metrics`: the Prometheus exposition of every proxy and istiod at one virtual instant.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use harness::ScenarioReport;
use sim::metrics::{fill_tests, input_series, render, InputSeries};

use super::config::build_mesh;
use super::output::emit_then;
use super::{MetricsArgs, EXIT_BAD_INPUT, EXIT_OK};

/// Runs `meshsim metrics` and returns the exit code.
pub(super) fn metrics(args: MetricsArgs) -> i32 {
    let mesh = args.config.load().and_then(|(resources, mut faults)| {
        faults.extend(args.faults.iter().cloned());
        build_mesh("metrics", resources, &faults, args.seed, args.at)
    });
    match mesh {
        Ok(mesh) => {
            let text = render(&sim::metrics::snapshot(&mesh));
            emit_then("metrics", &text, None, EXIT_OK)
        }
        Err(e) => {
            eprintln!("{e}");
            EXIT_BAD_INPUT
        }
    }
}

/// What `run --metrics-out` writes: for each recorded scenario `DIR/STEM/steps/NN.prom` (the
/// exposition after each step; `00` after the mesh was built) and `DIR/STEM/input_series.yaml`
/// (the promtool series), and for each `--promtool-tests` file its filled copy `DIR/NAME`.
/// Returns the number of scenarios written.
pub(super) fn write_recordings(
    dir: &Path,
    reports: &[ScenarioReport],
    templates: &[PathBuf],
) -> Result<usize, String> {
    let io = |path: &Path, e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let mut series: BTreeMap<String, InputSeries> = BTreeMap::new();
    let mut files: BTreeMap<String, &str> = BTreeMap::new();
    for report in reports {
        let Some(rec) = &report.metrics else { continue };
        let stem = Path::new(&report.file)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| report.name.clone());
        if let Some(other) = files.insert(stem.clone(), &report.file) {
            return Err(format!(
                "{} and {other} share the file name `{stem}`: their recordings would overwrite \
                 each other under {}; run them separately",
                report.file,
                dir.display()
            ));
        }
        let steps_dir = dir.join(&stem).join("steps");
        std::fs::create_dir_all(&steps_dir).map_err(|e| io(&steps_dir, e))?;
        for (i, (what, snap)) in rec.steps().iter().enumerate() {
            let path = steps_dir.join(format!("{i:02}.prom"));
            let text = format!("# meshsim: after {what}\n{}", render(snap));
            std::fs::write(&path, text).map_err(|e| io(&path, e))?;
        }
        let recorded = input_series(rec);
        let path = dir.join(&stem).join("input_series.yaml");
        std::fs::write(&path, recorded.to_yaml()).map_err(|e| io(&path, e))?;
        series.insert(stem, recorded);
    }
    for template in templates {
        let text = std::fs::read_to_string(template)
            .map_err(|e| format!("cannot read {}: {e}", template.display()))?;
        let template_dir = template
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let template_dir = std::fs::canonicalize(template_dir)
            .map_err(|e| format!("cannot read {}: {e}", template_dir.display()))?;
        let filled = fill_tests(&text, &template_dir, &series)
            .map_err(|e| format!("{}: {e}", template.display()))?;
        let name = template.file_name().unwrap_or(template.as_os_str());
        let path = dir.join(name);
        std::fs::write(&path, filled).map_err(|e| io(&path, e))?;
    }
    Ok(series.len())
}
