//! The compiled AuthorizationPolicy index: policies grouped by namespace, namespace-wide apart
//! from selector policies, so a decision reads only the workload's namespace and the root
//! namespace instead of every policy in the mesh.

use std::collections::{BTreeMap, HashMap};

use crate::model::{AuthorizationPolicy, Resources, Workload};

use super::{evaluate_policies, scope_of, AuthzDecision, RequestFacts};

#[derive(Debug, Clone, Default)]
struct NamespacePolicies {
    /// Policies without a selector (or with empty `matchLabels`), in (name) order.
    wide: Vec<usize>,
    /// Policies with a selector, keyed by the first label their selector requires, as (rank in
    /// name order, index): a workload reads only the buckets of its own labels, so the cost of a
    /// lookup does not grow with the number of selector policies in its namespace.
    selected: HashMap<String, HashMap<String, Vec<(usize, usize)>>>,
}

/// AuthorizationPolicies compiled for fast per-workload lookup.
#[derive(Debug, Clone, Default)]
pub struct AuthzIndex {
    root_namespace: String,
    by_namespace: BTreeMap<String, NamespacePolicies>,
}

impl AuthzIndex {
    /// Indexes the resource set's AuthorizationPolicies.
    pub fn build(res: &Resources) -> AuthzIndex {
        let mut order: Vec<usize> = (0..res.authorization_policies.len()).collect();
        order.sort_by(|&a, &b| {
            let (a, b) = (
                &res.authorization_policies[a].meta,
                &res.authorization_policies[b].meta,
            );
            (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name))
        });
        let mut by_namespace: BTreeMap<String, NamespacePolicies> = BTreeMap::new();
        for (rank, i) in order.into_iter().enumerate() {
            let p = &res.authorization_policies[i];
            let entry = by_namespace.entry(p.meta.namespace.clone()).or_default();
            let first_label = p
                .spec
                .selector
                .as_ref()
                .and_then(|s| s.match_labels.iter().next());
            match first_label {
                Some((k, v)) => entry
                    .selected
                    .entry(k.clone())
                    .or_default()
                    .entry(v.clone())
                    .or_default()
                    .push((rank, i)),
                None => entry.wide.push(i),
            }
        }
        AuthzIndex {
            root_namespace: res.mesh_config.root_namespace.clone(),
            by_namespace,
        }
    }

    /// The policies one decision for `workload` reads: those of its namespace and of the root
    /// namespace (indices into `res.authorization_policies`) whose selector may match (its
    /// first label is on the workload), before full selector matching.
    pub fn candidates(&self, workload: &Workload) -> Vec<usize> {
        let mut out = Vec::new();
        let mut namespaces = vec![workload.meta.namespace.as_str()];
        if self.root_namespace != workload.meta.namespace {
            namespaces.push(self.root_namespace.as_str());
        }
        let mut selected = Vec::new();
        for ns in namespaces {
            if let Some(p) = self.by_namespace.get(ns) {
                out.extend(&p.wide);
                selected.clear();
                for (k, v) in &workload.pod_labels {
                    if let Some(bucket) = p.selected.get(k).and_then(|by_value| by_value.get(v)) {
                        selected.extend(bucket);
                    }
                }
                selected.sort_unstable();
                out.extend(selected.iter().map(|&(_, i)| i));
            }
        }
        out
    }

    /// The policies that apply to `workload`, with why each applies.
    pub fn applicable<'a>(
        &self,
        res: &'a Resources,
        workload: &Workload,
    ) -> Vec<(&'a AuthorizationPolicy, &'static str)> {
        self.candidates(workload)
            .into_iter()
            .filter_map(|i| res.authorization_policies.get(i))
            .filter_map(|p| scope_of(p, workload, &self.root_namespace).map(|s| (p, s)))
            .collect()
    }

    /// Authorizes one request arriving at `workload`'s sidecar.
    pub fn evaluate(
        &self,
        res: &Resources,
        workload: &Workload,
        facts: &RequestFacts,
    ) -> AuthzDecision {
        evaluate_policies(res, &self.applicable(res, workload), facts)
    }

    /// Authorizes without an index, scanning every policy of the mesh: the reference the
    /// index must agree with (`tests/properties.rs`) and the baseline `benches/evaluation.rs`
    /// measures it against.
    pub fn evaluate_unindexed(
        res: &Resources,
        workload: &Workload,
        facts: &RequestFacts,
    ) -> AuthzDecision {
        let root = res.mesh_config.root_namespace.as_str();
        let applicable: Vec<_> = res
            .authorization_policies
            .iter()
            .filter_map(|p| scope_of(p, workload, root).map(|s| (p, s)))
            .collect();
        evaluate_policies(res, &applicable, facts)
    }
}
