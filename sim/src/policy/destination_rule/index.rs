//! The per-namespace DestinationRule indexes istiod builds once per push (`setDestinationRules`
//! in `pilot/pkg/model/push_context.go`) and how rules for one host are consolidated into them
//! (`mergeDestinationRule` in `pilot/pkg/model/destination_rule.go`).

use std::collections::BTreeMap;

use crate::model::{DestinationRule, DestinationRuleSpec, ObjectRef};
use crate::policy::decision::{object_ref, Decision};
use crate::policy::peer_authn::creation_order;

use super::export_to::ExportTo;
use super::host::resolve_short_host;
use super::KIND;

/// Which Istio release's consolidation and export check to follow. The two differ in
/// `mergeDestinationRule` and `getExportedDestinationRuleFromNamespace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum DestinationRuleRelease {
    /// Istio 1.22 and 1.23: every catch-all rule for a host in a namespace is merged into one,
    /// and the host keeps one `exportTo` (the first non-empty one merged); a client not in that
    /// set gets none of the host's rules from that namespace.
    Istio1_22To1_23,
    /// Istio 1.24 and later (`ENABLE_ENHANCED_DESTINATIONRULE_MERGE`, default `true`): rules
    /// merge only when their `exportTo` sets are equal (or the newer one's is a superset), the
    /// others are kept apart, and each is checked against the client on its own.
    #[default]
    Istio1_24On,
}

impl From<crate::vocab::IstioRelease> for DestinationRuleRelease {
    /// 1.22 and 1.23 merge the old way; 1.24 added `ENABLE_ENHANCED_DESTINATIONRULE_MERGE`.
    fn from(release: crate::vocab::IstioRelease) -> Self {
        if release >= crate::vocab::IstioRelease::V1_24 {
            DestinationRuleRelease::Istio1_24On
        } else {
            DestinationRuleRelease::Istio1_22To1_23
        }
    }
}

/// One `ConsolidatedDestRule`: the oldest rule (`base`) with later ones merged into it.
#[derive(Debug, Clone)]
pub(super) struct Consolidated<'a> {
    pub(super) export_to: ExportTo,
    pub(super) base: &'a DestinationRule,
    /// The merged spec: the base's top-level `trafficPolicy` (or the first later one when it has
    /// none), the union of subsets by name.
    pub(super) spec: DestinationRuleSpec,
    /// The rules consolidated here, base first (Istio's `from`).
    pub(super) from: Vec<ObjectRef>,
    /// One decision per rule merged into the base.
    pub(super) merges: Vec<Decision>,
}

impl Consolidated<'_> {
    pub(super) fn has_selector(&self) -> bool {
        self.base.spec.workload_selector.is_some()
    }
}

/// The consolidated rules of one resolved host in one index.
#[derive(Debug, Clone, Default)]
pub(super) struct HostRules<'a> {
    pub(super) rules: Vec<Consolidated<'a>>,
    /// 1.22/1.23 only: the host's single `exportTo` (`consolidatedDestRules.exportTo[host]`).
    pub(super) legacy_export_to: ExportTo,
}

/// Which of istiod's three indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IndexKind {
    /// `namespaceLocal`: rules visible in their own namespace.
    NamespaceLocal,
    /// `exportedByNamespace`: rules not private to their namespace.
    Exported,
    /// `rootNamespaceLocal`: the root namespace's private rules.
    RootNamespaceLocal,
}

impl IndexKind {
    fn admits(self, export_to: &ExportTo, namespace: &str) -> bool {
        match self {
            IndexKind::NamespaceLocal => export_to.is_local_to(namespace),
            IndexKind::Exported => !export_to.is_private_only(namespace),
            IndexKind::RootNamespaceLocal => export_to.is_private_only(namespace),
        }
    }
}

/// One index for one namespace, keyed by resolved host. Rules are taken in
/// `sortConfigBySelectorAndCreationTime` order: selector rules first, then by creation.
pub(super) fn build<'a>(
    rules: &'a [DestinationRule],
    namespace: &str,
    kind: IndexKind,
    release: DestinationRuleRelease,
) -> BTreeMap<String, HostRules<'a>> {
    let mut sorted: Vec<&DestinationRule> = rules
        .iter()
        .filter(|dr| dr.meta.namespace == namespace)
        .collect();
    sorted.sort_by(|a, b| {
        let (a_sel, b_sel) = (
            a.spec.workload_selector.is_some(),
            b.spec.workload_selector.is_some(),
        );
        b_sel
            .cmp(&a_sel)
            .then_with(|| creation_order(&a.meta, &b.meta))
    });
    let mut index: BTreeMap<String, HostRules<'a>> = BTreeMap::new();
    for dr in sorted {
        let export_to = ExportTo::of(dr);
        if !kind.admits(&export_to, namespace) {
            continue;
        }
        let host = resolve_short_host(&dr.spec.host, &dr.meta.namespace);
        merge_into(index.entry(host).or_default(), dr, export_to, release);
    }
    index
}

fn selector_labels(dr: &DestinationRule) -> Option<&BTreeMap<String, String>> {
    dr.spec.workload_selector.as_ref().map(|s| &s.match_labels)
}

/// `mergeDestinationRule`, step by step: each existing consolidated rule for the host may
/// absorb the new rule, and the new rule may also (or instead) become an entry of its own. As
/// in Istio, whether it does is decided by the last existing entry examined.
fn merge_into<'a>(
    host_rules: &mut HostRules<'a>,
    dr: &'a DestinationRule,
    export_to: ExportTo,
    release: DestinationRuleRelease,
) {
    if host_rules.rules.is_empty() {
        host_rules.legacy_export_to = export_to.clone();
        host_rules.rules.push(standalone(dr, export_to));
        return;
    }
    let empty = BTreeMap::new();
    let new_labels = selector_labels(dr);
    let mut append_separately = true;
    for mdr in &mut host_rules.rules {
        if release == DestinationRuleRelease::Istio1_24On {
            if export_to == mdr.export_to {
                append_separately = false;
            } else if !mdr.export_to.is_empty() && export_to.is_superset_of(&mdr.export_to) {
                // Merged into the narrower entry and (unless reset below) kept on its own too.
                append_separately = true;
            } else {
                append_separately = true;
                continue;
            }
        }
        let old_labels = selector_labels(mdr.base);
        let both_without = new_labels.is_none() && old_labels.is_none();
        let both_with = new_labels.is_some() && old_labels.is_some();
        let selectors_match = old_labels.unwrap_or(&empty) == new_labels.unwrap_or(&empty);
        if both_with && !selectors_match {
            if release == DestinationRuleRelease::Istio1_24On {
                append_separately = true;
            }
            continue;
        }
        let absorbed = match release {
            DestinationRuleRelease::Istio1_24On => both_without || (both_with && selectors_match),
            DestinationRuleRelease::Istio1_22To1_23 => {
                both_without || (new_labels.is_some() && selectors_match)
            }
        };
        if absorbed {
            append_separately = false;
        }
        absorb(mdr, dr);
        if release == DestinationRuleRelease::Istio1_22To1_23
            && host_rules.legacy_export_to.is_empty()
            && !export_to.is_empty()
        {
            host_rules.legacy_export_to = export_to.clone();
        }
    }
    if append_separately {
        host_rules.rules.push(standalone(dr, export_to));
    }
}

fn standalone(dr: &DestinationRule, export_to: ExportTo) -> Consolidated<'_> {
    Consolidated {
        export_to,
        base: dr,
        spec: dr.spec.clone(),
        from: vec![object_ref(KIND, &dr.meta)],
        merges: Vec::new(),
    }
}

/// The merge itself: subsets with a new name are appended (a duplicate name is dropped), and a
/// top-level `trafficPolicy` fills in only a missing one; nothing else is taken.
fn absorb(mdr: &mut Consolidated<'_>, dr: &DestinationRule) {
    let r = object_ref(KIND, &dr.meta);
    let mut notes = Vec::new();
    for subset in &dr.spec.subsets {
        if mdr.spec.subsets.iter().any(|s| s.name == subset.name) {
            notes.push(format!("duplicate subset {} dropped", subset.name));
        } else {
            mdr.spec.subsets.push(subset.clone());
            notes.push(format!("subset {} added", subset.name));
        }
    }
    match (&mdr.spec.traffic_policy, &dr.spec.traffic_policy) {
        (None, Some(tp)) => {
            mdr.spec.traffic_policy = Some(tp.clone());
            notes.push("its trafficPolicy fills in the missing one".into());
        }
        (Some(_), Some(_)) => {
            notes.push("its top-level trafficPolicy is ignored (an older rule's wins)".into())
        }
        _ => {}
    }
    if notes.is_empty() {
        notes.push("nothing to add".into());
    }
    mdr.merges.push(Decision::by(
        r.clone(),
        "destination-rule/merged",
        format!("merged for the same host: {}", notes.join("; ")),
    ));
    mdr.from.push(r);
}
