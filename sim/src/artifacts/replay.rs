//! Replay: rebuild the mesh from the dump at the incident time, give every sidecar the twin of
//! the certificates its secret dump shows ([`TwinPki`]), send the flow through the data path,
//! and compare with the logged symptom; then apply the first finding's machine-applicable
//! remedy and send it again.

use crate::diagnose::{fix_for, Finding};
use crate::evidence::Evidence;
use crate::mesh::{MeshError, MeshOptions};
use crate::model::Object;
use crate::outcome::Outcome;
use crate::pki::{inspect, TwinPki};
use crate::request::RequestSpec;
use crate::vocab::{FindingCode, ResponseFlag, SpiffeId, WorkloadRef};
use crate::Mesh;
use rustls_pki_types::CertificateDer;

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
    let (mut twins, notes) = install_twins(&mut mesh, art, ev)?;
    let first = |m: &mut Mesh| -> Result<Outcome, MeshError> {
        m.request(req)?
            .into_first()
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
            if let Some(t) = twins.as_mut() {
                let shown: Vec<WorkloadRef> = art
                    .secrets
                    .iter()
                    .map(|s| s.workload.clone())
                    .filter(|w| !fix.apply.iter().any(|o| matches!(o, Object::Workload(x) if x.meta.namespace == w.namespace && x.meta.name == w.name)))
                    .collect();
                refresh_restarted(&mut mesh, art, t, &fix.apply, &shown)?;
            }
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

/// The twin world of a replay: twins of every shown certificate, and the CA a restarted pod
/// would get its certificate from.
struct Twins {
    pki: TwinPki,
    /// The root that signed the newest shown workload certificate (what istiod signs with
    /// now), and the `ROOTCA` of that proxy (what `istio-ca-root-cert` distributes now, unless
    /// the dump holds the namespace's `istio-ca-root-cert`, which then wins).
    current: Option<(CertificateDer<'static>, Vec<CertificateDer<'static>>)>,
}

fn pki_err(e: crate::pki::PkiError) -> MeshError {
    MeshError(format!("twin PKI: {e}"))
}

/// The root of `roots` that issued `chain`'s top certificate (by name), else the first.
fn issuing_root(
    chain: &[CertificateDer<'static>],
    roots: &[CertificateDer<'static>],
) -> Option<CertificateDer<'static>> {
    let top_issuer = chain.last().and_then(|c| inspect(c).ok()).map(|c| c.issuer);
    roots
        .iter()
        .find(|r| inspect(r).ok().map(|i| i.subject) == top_issuer)
        .or(roots.first())
        .cloned()
}

impl Twins {
    fn build(art: &ClusterArtifacts, seed: u64) -> Result<Twins, MeshError> {
        let distributed: Vec<Vec<CertificateDer<'static>>> = art
            .resources
            .root_certs
            .iter()
            .map(|cm| cm.roots.iter().cloned().map(CertificateDer::from).collect())
            .collect();
        let pki = TwinPki::build(
            seed,
            art.secrets
                .iter()
                .map(|s| (s.dump.chain.as_slice(), s.dump.roots.as_slice()))
                .chain(distributed.iter().map(|roots| (&[][..], roots.as_slice()))),
        )
        .map_err(pki_err)?;
        let newest = art
            .secrets
            .iter()
            .filter(|s| !s.dump.roots.is_empty())
            .max_by_key(|s| {
                s.dump
                    .chain
                    .first()
                    .and_then(|c| inspect(c).ok())
                    .map(|c| c.not_before)
            });
        let current = newest.and_then(|s| {
            issuing_root(&s.dump.chain, &s.dump.roots).map(|r| (r, s.dump.roots.clone()))
        });
        Ok(Twins { pki, current })
    }

    /// What a freshly started proxy of `w` holds: a certificate from the current CA and the
    /// current bundle.
    fn fresh(
        &mut self,
        mesh: &mut Mesh,
        art: &ClusterArtifacts,
        w: &WorkloadRef,
    ) -> Result<bool, MeshError> {
        let Some((mut root, mut bundle)) = self.current.clone() else {
            return Ok(false);
        };
        let Some(workload) = art.resources.workload(&w.namespace, &w.name) else {
            return Ok(false);
        };
        // A starting pod's ROOTCA is its namespace's `istio-ca-root-cert`, when the dump has it.
        if let Some(cm) = art
            .resources
            .root_certs
            .iter()
            .find(|cm| cm.meta.namespace == w.namespace)
        {
            let distributed: Vec<CertificateDer<'static>> =
                cm.roots.iter().cloned().map(CertificateDer::from).collect();
            if !distributed.contains(&root) {
                if let Some(first) = distributed.first() {
                    root = first.clone();
                }
            }
            bundle = distributed;
        }
        let td = &art.resources.mesh_config.trust_domain;
        let spiffe = SpiffeId::new(td, &workload.meta.namespace, &workload.service_account);
        let cert = self
            .pki
            .assumed_healthy(&spiffe, &root, mesh.now())
            .map_err(pki_err)?;
        let bundle = self.pki.bundle(&bundle);
        mesh.install_credentials(w, cert, bundle)?;
        Ok(true)
    }
}

/// Gives each sidecar that a secret dump was shown for the twins of its chain and roots, and
/// each other involved sidecar what a healthy proxy of the current CA holds.
fn install_twins(
    mesh: &mut Mesh,
    art: &ClusterArtifacts,
    ev: &Evidence,
) -> Result<(Option<Twins>, Vec<String>), MeshError> {
    let mut notes = Vec::new();
    if art.secrets.is_empty() {
        notes.push(
            "no secret dump given: the replay's certificates are the simulator's own, healthy ones"
                .into(),
        );
        return Ok((None, notes));
    }
    let mut twins = Twins::build(art, mesh.options().seed)?;
    let mut done: Vec<WorkloadRef> = Vec::new();
    for s in &art.secrets {
        if done.contains(&s.workload) || mesh.control().proxies_of_workload(&s.workload).is_empty()
        {
            continue;
        }
        let cert = twins
            .pki
            .chain(&s.dump.chain, &s.workload.to_string())
            .map_err(pki_err)?;
        let bundle = twins.pki.bundle(&s.dump.roots);
        mesh.install_credentials(&s.workload, cert, bundle)?;
        done.push(s.workload.clone());
    }
    for p in ev
        .proxies
        .iter()
        .filter(|p| p.has_sidecar && !p.secrets_shown)
    {
        let Ok(r) = p.proxy.parse::<WorkloadRef>() else {
            continue;
        };
        if twins.fresh(mesh, art, &r)? {
            notes.push(format!(
                "no secret dump for {}: the replay gives it a healthy certificate from the current root",
                p.proxy
            ));
        }
    }
    Ok((Some(twins), notes))
}

/// After a remedy: every sidecar it (re)started holds a fresh certificate of the current CA and
/// the current bundle, as a restarted pod would.
fn refresh_restarted(
    mesh: &mut Mesh,
    art: &ClusterArtifacts,
    twins: &mut Twins,
    applied: &[Object],
    shown: &[WorkloadRef],
) -> Result<(), MeshError> {
    let mut targets: Vec<WorkloadRef> = applied
        .iter()
        .filter_map(|o| match o {
            Object::Workload(w) => Some(WorkloadRef::new(&w.meta.namespace, &w.meta.name)),
            _ => None,
        })
        .collect();
    // Sidecars the remedy added (injection enabled) were never shown either.
    for w in &mesh.resources().workloads {
        let r = WorkloadRef::new(&w.meta.namespace, &w.meta.name);
        if mesh.resources().has_sidecar(w) && !shown.contains(&r) && !targets.contains(&r) {
            targets.push(r);
        }
    }
    for r in targets {
        if !mesh.control().proxies_of_workload(&r).is_empty() {
            twins.fresh(mesh, art, &r)?;
        }
    }
    Ok(())
}
