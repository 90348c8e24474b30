//! Effective PeerAuthentication: mesh, namespace and workload levels composed the way
//! `ComposePeerAuthentication` in `pilot/pkg/security/authn/policy_applier.go` does, and the
//! namespace-level mode clients use for auto mTLS (`GetNamespaceMutualTLSMode` in
//! `pilot/pkg/model/authentication.go`).

use crate::vocab::Kind;
use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::model::{Meta, MtlsMode, PeerAuthentication, Resources, Workload};
use crate::policy::decision::{object_ref, Decision};

#[cfg(test)]
mod tests;

const KIND: Kind = Kind::PeerAuthentication;

/// The PeerAuthentication that applies to one workload: its mode and per-target-port overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergedPeerAuthentication {
    /// The workload's mode; never UNSET (nothing configured means PERMISSIVE).
    pub mode: MtlsMode,
    /// `portLevelMtls` of the winning workload policy, keyed by the *target* (container) port.
    pub per_port: BTreeMap<u32, MtlsMode>,
    /// Which policies decided, and which were ignored and why.
    pub decided_by: Vec<Decision>,
}

impl MergedPeerAuthentication {
    /// The mode on a workload (target) port: its `portLevelMtls` entry, else the workload mode.
    pub fn mode_for_port(&self, target_port: u32) -> MtlsMode {
        self.per_port
            .get(&target_port)
            .copied()
            .unwrap_or(self.mode)
    }
}

/// Istio's config order (`configCompareByCreationTime` in `pilot/pkg/model/config.go`): oldest
/// `creationTimestamp` first, then name, then namespace. meshsim's choice for a missing
/// timestamp (hand-written YAML): it sorts after every known one, as if created last, so a
/// policy read from a real cluster dump is never displaced by one typed without metadata.
pub(crate) fn creation_order(a: &Meta, b: &Meta) -> Ordering {
    let by_time = match (a.creation_timestamp, b.creation_timestamp) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    by_time
        .then_with(|| a.name.cmp(&b.name))
        .then_with(|| a.namespace.cmp(&b.namespace))
}

fn has_selector(pa: &PeerAuthentication) -> bool {
    pa.spec
        .selector
        .as_ref()
        .is_some_and(|s| !s.match_labels.is_empty())
}

fn spec_mode(pa: &PeerAuthentication) -> MtlsMode {
    pa.spec.mtls.as_ref().map(|m| m.mode).unwrap_or_default()
}

/// Composes the policies that select one workload (namespace-level, workload-level and mesh
/// policies) into its effective mode. The caller has already filtered workload policies by
/// selector; a selector policy in the root namespace is ignored here, as in Istio.
pub fn compose_peer_authentication(
    root_namespace: &str,
    configs: &[&PeerAuthentication],
) -> MergedPeerAuthentication {
    let mut sorted: Vec<&PeerAuthentication> = configs.to_vec();
    sorted.sort_by(|a, b| creation_order(&a.meta, &b.meta));

    let mut levels: [(&'static str, Option<&PeerAuthentication>); 3] =
        [("mesh", None), ("namespace", None), ("workload", None)];
    let mut ignored = Vec::new();
    for pa in sorted {
        let r = object_ref(KIND, &pa.meta);
        let in_root = pa.meta.namespace == root_namespace;
        let slot = match (in_root, has_selector(pa)) {
            (true, true) => {
                ignored.push(Decision::by(
                    r,
                    "peer-authentication/ignored",
                    format!(
                        "a PeerAuthentication with a selector in the root namespace \
                         {root_namespace} is ignored; it does not become mesh-wide"
                    ),
                ));
                continue;
            }
            (true, false) => 0,
            (false, false) => 1,
            (false, true) => 2,
        };
        match levels[slot].1 {
            None => levels[slot].1 = Some(pa),
            Some(winner) => ignored.push(Decision::by(
                r,
                "peer-authentication/ignored",
                format!(
                    "{}-level PeerAuthentication {}/{} is older (or, on equal creationTimestamp, \
                     has the smaller name) and wins; this one is ignored",
                    levels[slot].0, winner.meta.namespace, winner.meta.name
                ),
            )),
        }
    }

    let mut decided_by = Vec::new();
    let mut mode: Option<MtlsMode> = None;
    for (level, winner) in levels.iter() {
        let Some(pa) = winner else { continue };
        let m = spec_mode(pa);
        let r = object_ref(KIND, &pa.meta);
        let step = match *level {
            "mesh" => "peer-authentication/mesh",
            "namespace" => "peer-authentication/namespace",
            _ => "peer-authentication/workload",
        };
        if m == MtlsMode::Unset {
            let inherited = mode.map(MtlsMode::as_str).unwrap_or("PERMISSIVE (default)");
            decided_by.push(Decision::by(
                r,
                step,
                format!("{level}-level mode is UNSET; inherits {inherited}"),
            ));
        } else {
            mode = Some(m);
            decided_by.push(Decision::by(
                r,
                step,
                format!("{level}-level mode {}", m.as_str()),
            ));
        }
    }
    let mode = match mode {
        Some(m) => m,
        None => {
            decided_by.push(Decision::default(
                "peer-authentication/default",
                "no PeerAuthentication sets a mode; PERMISSIVE",
            ));
            MtlsMode::Permissive
        }
    };

    // portLevelMtls is read only from the winning workload policy (policy_applier.go).
    let mut per_port = BTreeMap::new();
    if let Some(pa) = levels[2].1 {
        for (port, pm) in pa.spec.port_level_mtls.iter().flatten() {
            let (m, why) = if pm.mode == MtlsMode::Unset {
                (mode, "UNSET inherits the workload mode")
            } else {
                (pm.mode, "set by portLevelMtls")
            };
            per_port.insert(*port, m);
            decided_by.push(Decision::by(
                object_ref(KIND, &pa.meta),
                "peer-authentication/port",
                format!("target port {port}: {} ({why})", m.as_str()),
            ));
        }
    }
    decided_by.extend(ignored);
    MergedPeerAuthentication {
        mode,
        per_port,
        decided_by,
    }
}

/// The policies Istio considers for a workload (`getConfigsForWorkload`): those in its namespace
/// and in the root namespace whose selector is absent, empty, or a subset of the pod labels.
fn candidates<'a>(
    res: &'a Resources,
    workload: &Workload,
    pas: impl Iterator<Item = &'a PeerAuthentication>,
) -> Vec<&'a PeerAuthentication> {
    let root = &res.mesh_config.root_namespace;
    pas.filter(|pa| pa.meta.namespace == workload.meta.namespace || &pa.meta.namespace == root)
        .filter(|pa| {
            pa.spec
                .selector
                .as_ref()
                .is_none_or(|s| s.matches(&workload.pod_labels))
        })
        .collect()
}

/// The effective PeerAuthentication of a workload.
pub fn effective_peer_authentication(
    res: &Resources,
    workload: &Workload,
) -> MergedPeerAuthentication {
    let configs = candidates(res, workload, res.peer_authentications.iter());
    compose_peer_authentication(&res.mesh_config.root_namespace, &configs)
}

/// The mode a workload's inbound listener enforces on one target port, and why: the effective
/// policy's port-level entry for that port, else its workload mode.
pub fn inbound_mode(
    res: &Resources,
    workload: &Workload,
    target_port: u16,
) -> (MtlsMode, Vec<Decision>) {
    let merged = effective_peer_authentication(res, workload);
    let port = u32::from(target_port);
    let mode = merged.mode_for_port(port);
    let mut decided_by = merged.decided_by;
    let source = if merged.per_port.contains_key(&port) {
        "its portLevelMtls entry"
    } else {
        "the workload mode"
    };
    decided_by.push(Decision::default(
        "peer-authentication/inbound",
        format!(
            "{}/{} accepts on target port {target_port} as {} ({source})",
            workload.meta.namespace,
            workload.meta.name,
            mode.as_str()
        ),
    ));
    (mode, decided_by)
}

/// The namespace-level mode clients see for a namespace, `None` meaning Istio's `MTLSUnknown`
/// (no namespace policy and no mesh policy). Never UNSET.
pub fn namespace_mtls_mode(res: &Resources, namespace: &str) -> Option<MtlsMode> {
    namespace_mtls_mode_explained(res, namespace).0
}

/// `namespace_mtls_mode` with the decisions behind it.
pub(crate) fn namespace_mtls_mode_explained(
    res: &Resources,
    namespace: &str,
) -> (Option<MtlsMode>, Vec<Decision>) {
    let root = &res.mesh_config.root_namespace;
    let oldest_wide = |ns: &str| {
        res.peer_authentications
            .iter()
            .filter(|pa| pa.meta.namespace == ns && !has_selector(pa))
            .min_by(|a, b| creation_order(&a.meta, &b.meta))
    };
    let mut decided_by = Vec::new();
    // A mesh policy with UNSET counts as PERMISSIVE (addPeerAuthentication).
    let mesh = oldest_wide(root).map(|pa| {
        let m = match spec_mode(pa) {
            MtlsMode::Unset => MtlsMode::Permissive,
            m => m,
        };
        decided_by.push(Decision::by(
            object_ref(KIND, &pa.meta),
            "namespace-mtls/mesh",
            format!("mesh-level mode {}", m.as_str()),
        ));
        m
    });
    if namespace != root {
        if let Some(pa) = oldest_wide(namespace) {
            let m = match spec_mode(pa) {
                MtlsMode::Unset => mesh.unwrap_or(MtlsMode::Permissive),
                m => m,
            };
            decided_by.push(Decision::by(
                object_ref(KIND, &pa.meta),
                "namespace-mtls/namespace",
                format!("namespace {namespace} mode {}", m.as_str()),
            ));
            return (Some(m), decided_by);
        }
    }
    if mesh.is_none() {
        decided_by.push(Decision::default(
            "namespace-mtls/unknown",
            format!("no namespace-level policy in {namespace} and no mesh-level policy"),
        ));
    }
    (mesh, decided_by)
}

/// PeerAuthentications grouped by namespace, so a per-workload lookup reads only its own
/// namespace and the root namespace.
#[derive(Debug, Clone, Default)]
pub struct PeerAuthenticationIndex {
    by_namespace: BTreeMap<String, Vec<usize>>,
}

impl PeerAuthenticationIndex {
    /// Indexes the resource set's PeerAuthentications.
    pub fn build(res: &Resources) -> PeerAuthenticationIndex {
        let mut by_namespace: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, pa) in res.peer_authentications.iter().enumerate() {
            by_namespace
                .entry(pa.meta.namespace.clone())
                .or_default()
                .push(i);
        }
        PeerAuthenticationIndex { by_namespace }
    }

    /// The effective policy of a workload; same answer as `effective_peer_authentication`.
    pub fn effective(&self, res: &Resources, workload: &Workload) -> MergedPeerAuthentication {
        let root = &res.mesh_config.root_namespace;
        let mut namespaces = vec![&workload.meta.namespace];
        if root != &workload.meta.namespace {
            namespaces.push(root);
        }
        let pas = namespaces
            .into_iter()
            .filter_map(|ns| self.by_namespace.get(ns))
            .flatten()
            .filter_map(|&i| res.peer_authentications.get(i));
        let configs = candidates(res, workload, pas);
        compose_peer_authentication(root, &configs)
    }
}
