//! `meshsim metrics`: the Prometheus exposition of every proxy and istiod at one virtual instant.

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
            let text = sim::metrics::render(&sim::metrics::snapshot(&mesh));
            emit_then("metrics", &text, None, EXIT_OK)
        }
        Err(e) => {
            eprintln!("{e}");
            EXIT_BAD_INPUT
        }
    }
}
