//! `fix_verifies: true`: the first finding's machine-applicable remedy is applied to a copy of
//! the mesh — a fresh mesh from the same scenario and seed, with the earlier steps replayed, so
//! the copy is in exactly the state the step saw — and the same request must then succeed.

use sim::diagnose::Fix;
use sim::mesh::MeshOptions;
use sim::request::RequestSpec;
use sim::Mesh;

use super::{perform, Driver};
use crate::scenario::Scenario;

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
    replay(&mut mesh, scenario, step)?;
    mesh.apply(fix.apply.clone())
        .map_err(|e| format!("applying `{}`: {e}", fix.summary))?;
    let outcomes = mesh
        .request(req)
        .map_err(|e| format!("after `{}`: {e}", fix.summary))?;
    let failed: Vec<String> = outcomes
        .groups()
        .iter()
        .filter(|g| !g.outcome.status.is_success())
        .map(|g| match g.count {
            1 => crate::expect::summary(&g.outcome),
            n => format!("{} ×{n}", crate::expect::summary(&g.outcome)),
        })
        .collect();
    let failed_count: u64 = outcomes
        .groups()
        .iter()
        .filter(|g| !g.outcome.status.is_success())
        .map(|g| g.count)
        .sum();
    if failed.is_empty() {
        Ok(fix.summary.clone())
    } else {
        Err(format!(
            "after `{}`, {} of {} request(s) still failed: {}",
            fix.summary,
            failed_count,
            outcomes.total(),
            failed.join(", ")
        ))
    }
}

/// Does `scenario.steps[..step]` to `mesh` again, through the runner's own `perform`.
fn replay(mesh: &mut impl Driver, scenario: &Scenario, step: usize) -> Result<(), String> {
    for s in scenario.steps.iter().take(step) {
        perform(mesh, &s.action).map_err(|e| format!("replaying line {}: {e}", s.line))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use sim::SimTime;

    use super::super::tests::{scenario, Scripted};
    use super::*;

    #[test]
    fn replay_makes_the_same_mesh_calls_as_the_run_up_to_the_step() {
        let s = scenario(
            "name: replay\nsteps:\n  - advance: 2h\n  - fault: {type: istiod-down}\n  - delete: [{kind: PeerAuthentication, namespace: foo, name: default}]\n  - apply: []\n",
        );
        let mut run = Scripted::default();
        super::super::drive(&mut run, &s, &mut None);
        for step in 0..=s.steps.len() {
            let mut copy = Scripted::default();
            replay(&mut copy, &s, step).expect("replay");
            assert_eq!(copy.log, run.log[..step], "replay up to step {step}");
            assert_eq!(
                copy.now,
                if step == 0 {
                    SimTime::default()
                } else {
                    run.now
                }
            );
        }
    }
}
