//! `fix_verifies: true`: the first finding's machine-applicable remedy is applied to a copy of
//! the mesh — a fresh mesh from the same scenario and seed, with the earlier steps replayed, so
//! the copy is in exactly the state the step saw — and the same request must then succeed.

use sim::diagnose::Fix;
use sim::mesh::{MeshOptions, RequestSpec};
use sim::Mesh;

use crate::scenario::{Action, Scenario};

/// Replays `scenario.steps[..step]`, applies `fix`, and sends `req` again: `Ok` with a summary
/// when every request succeeds, `Err` saying what happened otherwise.
pub(super) fn verify(
    scenario: &Scenario,
    step: usize,
    fix: &Fix,
    req: &RequestSpec,
) -> Result<String, String> {
    let opts = MeshOptions {
        seed: scenario.seed,
        ..MeshOptions::default()
    };
    let mut mesh = Mesh::build(scenario.resources.clone(), &scenario.faults, opts)
        .map_err(|e| format!("rebuilding the mesh: {e}"))?;
    for s in scenario.steps.iter().take(step) {
        let replayed = match &s.action {
            Action::Request { request, .. } => mesh.request(request).map(|_| ()),
            Action::Advance(_, by) => {
                mesh.advance(*by);
                Ok(())
            }
            Action::Apply(objects) => mesh.apply(objects.clone()),
            Action::Delete(refs) => mesh.delete(refs),
            Action::Fault(fault) => mesh.inject(fault),
        };
        replayed.map_err(|e| format!("replaying line {}: {e}", s.line))?;
    }
    mesh.apply(fix.apply.clone())
        .map_err(|e| format!("applying `{}`: {e}", fix.summary))?;
    let outcomes = mesh
        .request(req)
        .map_err(|e| format!("after `{}`: {e}", fix.summary))?;
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.status.is_success())
        .map(crate::expect::summary)
        .collect();
    if failed.is_empty() {
        Ok(fix.summary.clone())
    } else {
        Err(format!(
            "after `{}`, {} of {} request(s) still failed: {}",
            fix.summary,
            failed.len(),
            outcomes.len(),
            failed.join(", ")
        ))
    }
}
