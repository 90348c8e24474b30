//! Replay: rebuild the mesh from the dump at the incident time, give every sidecar the twin of
//! the certificates its secret dump shows ([`TwinPki`]), send the flow through the data path,
//! and compare with the logged symptom; then apply the first finding's machine-applicable
//! remedy and send it again.

use crate::diagnose::{fix_for, Finding};
use crate::evidence::Evidence;
use crate::mesh::{MeshError, MeshOptions};
use crate::outcome::Outcome;
use crate::pki::TwinPki;
use crate::request::RequestSpec;
use crate::vocab::{FindingCode, ResponseFlag, SpiffeId, WorkloadRef};
use crate::Mesh;

use super::ClusterArtifacts;

/// What the remedy did in the replay.
#[derive(Debug, Clone)]
pub struct RemedyCheck {
    /// The finding whose remedy was applied.
    pub code: FindingCode,
    /// The change, in one line.
    pub summary: String,
    /// The flow's outcome after it.
    pub outcome: Outcome,
}

/// The replay of one flow.
#[derive(Debug, Clone)]
pub struct Replay {
    /// The data path's outcome on the rebuilt mesh.
    pub outcome: Outcome,
    /// Whether it shows the logged symptom (status, response flags, TLS error); `None` when
    /// the logs show no request of this flow.
    pub matches_logs: Option<bool>,
    /// The first finding's remedy, applied, when it has a machine-applicable one.
    pub remedy: Option<RemedyCheck>,
    /// What the replay had to assume.
    pub notes: Vec<String>,
}

/// Whether two outcomes show the same symptom: status, response flags (as a set) and TLS error.
pub fn same_symptom(a: &Outcome, b: &Outcome) -> bool {
    let sorted = |f: &[ResponseFlag]| {
        let mut v = f.to_vec();
        v.sort();
        v
    };
    a.status == b.status
        && sorted(&a.response_flags) == sorted(&b.response_flags)
        && a.tls_error == b.tls_error
}

/// Replays `req` on the mesh the artifacts describe; `ev` is its Evidence, `findings` its
/// diagnosis, `logged` the client's outcome the logs show.
pub fn replay(
    art: &ClusterArtifacts,
    req: &RequestSpec,
    ev: &Evidence,
    findings: &[Finding],
    logged: Option<&Outcome>,
    seed: u64,
) -> Result<Replay, MeshError> {
    let opts = MeshOptions {
        seed,
        start: art.at,
        ..MeshOptions::default()
    };
    let mut mesh = Mesh::build(art.resources.clone(), &[], opts)?;
    let notes = install_twins(&mut mesh, art, ev)?;
    let first = |m: &mut Mesh| -> Result<Outcome, MeshError> {
        m.request(req)?
            .into_iter()
            .next()
            .ok_or_else(|| MeshError("the mesh returned no outcome".into()))
    };
    let outcome = first(&mut mesh)?;
    let matches_logs = logged.map(|l| same_symptom(l, &outcome));
    let remedy = match findings
        .first()
        .and_then(|f| fix_for(f, ev).map(|fix| (f, fix)))
    {
        Some((f, fix)) => {
            mesh.apply(fix.apply.clone())?;
            Some(RemedyCheck {
                code: f.code,
                summary: fix.summary,
                outcome: first(&mut mesh)?,
            })
        }
        None => None,
    };
    Ok(Replay {
        outcome,
        matches_logs,
        remedy,
        notes,
    })
}

/// Gives each sidecar that a secret dump was shown for the twins of its chain and roots, and
/// each other involved sidecar a healthy certificate under the twin of the first shown root.
fn install_twins(
    mesh: &mut Mesh,
    art: &ClusterArtifacts,
    ev: &Evidence,
) -> Result<Vec<String>, MeshError> {
    let mut notes = Vec::new();
    if art.secrets.is_empty() {
        notes.push(
            "no secret dump given: the replay's certificates are the simulator's own, healthy ones"
                .into(),
        );
        return Ok(notes);
    }
    let pki_err = |e: crate::pki::PkiError| MeshError(format!("twin PKI: {e}"));
    let mut pki = TwinPki::build(
        mesh.options().seed,
        art.secrets
            .iter()
            .map(|s| (s.dump.chain.as_slice(), s.dump.roots.as_slice())),
    )
    .map_err(pki_err)?;
    let mut done: Vec<WorkloadRef> = Vec::new();
    for s in &art.secrets {
        if done.contains(&s.workload) || mesh.control().proxies_of_workload(&s.workload).is_empty()
        {
            continue;
        }
        let cert = pki
            .chain(&s.dump.chain, &s.workload.to_string())
            .map_err(pki_err)?;
        let bundle = pki.bundle(&s.dump.roots);
        mesh.install_credentials(&s.workload, cert, bundle)?;
        done.push(s.workload.clone());
    }
    let reference_root = art
        .secrets
        .iter()
        .find_map(|s| s.dump.roots.first().cloned());
    let td = art.resources.mesh_config.trust_domain.clone();
    for p in ev
        .proxies
        .iter()
        .filter(|p| p.has_sidecar && !p.secrets_shown)
    {
        let Ok(r) = p.proxy.parse::<WorkloadRef>() else {
            continue;
        };
        let Some(w) = art.resources.workload(&r.namespace, &r.name) else {
            continue;
        };
        let Some(root) = &reference_root else {
            continue;
        };
        let spiffe = SpiffeId::new(&td, &w.meta.namespace, &w.service_account);
        let cert = pki
            .assumed_healthy(&spiffe, root, art.at)
            .map_err(pki_err)?;
        let bundle = pki.bundle(std::slice::from_ref(root));
        mesh.install_credentials(&r, cert, bundle)?;
        notes.push(format!(
            "no secret dump for {}: the replay gives it a healthy certificate under the first shown root",
            p.proxy
        ));
    }
    Ok(notes)
}
