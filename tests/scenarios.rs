//! Every scenario file in `scenarios/` is a test: one trial per scenario, named by its file and
//! name, failing with the human report of what did not hold.

use std::path::{Path, PathBuf};

use harness::{parse_scenario, render_human, run_scenario, scenario_files, Tree, Verdict};
use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let library = root.join("scenarios");
    let trials = match scenario_files(&Tree::Fs, &[library]) {
        Ok(files) => files
            .iter()
            .map(|f| trial(root, &f.file, &f.text))
            .collect(),
        Err(e) => vec![Trial::test("scenarios", move || {
            Err(Failed::from(e.to_string()))
        })],
    };
    libtest_mimic::run(&args, trials).exit();
}

fn trial(root: &Path, file: &Path, text: &str) -> Trial {
    let shown: PathBuf = file.strip_prefix(root).unwrap_or(file).to_path_buf();
    let parsed = parse_scenario(&Tree::Fs, file, text).map_err(|e| e.to_string());
    match parsed {
        Err(e) => Trial::test(shown.display().to_string(), move || Err(Failed::from(e))),
        Ok(scenario) => {
            let name = format!("{} :: {}", shown.display(), scenario.name);
            Trial::test(name, move || {
                let report = run_scenario(&scenario);
                if report.verdict == Verdict::Passed {
                    Ok(())
                } else {
                    Err(Failed::from(render_human(&[report], false)))
                }
            })
        }
    }
}
