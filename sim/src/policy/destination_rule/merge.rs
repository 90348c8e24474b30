//! Merging several DestinationRules for the same host and scope (`mergeDestinationRule` in
//! `pilot/pkg/model/destination_rule.go`): the oldest rule's top-level `trafficPolicy` wins,
//! later rules only fill in a missing one; subsets are unioned and a duplicate name is dropped.

use crate::model::{DestinationRule, DestinationRuleSpec, ObjectRef};
use crate::policy::decision::{object_ref, Decision};
use crate::policy::peer_authn::creation_order;

use super::KIND;

/// Merges rules for one host that share a selector (or have none), oldest first, then fills in
/// from `fill_from`. Istio sorts selector rules first and its enhanced merge
/// (`ENABLE_ENHANCED_DESTINATIONRULE_MERGE`, on by default) merges a later rule into an earlier
/// one whose `exportTo` set it contains; a selector rule's set is `{.}`, so a catch-all rule that
/// lists `.` is merged into it (`TestSetDestinationRuleWithWorkloadSelector`). Catch-all rules
/// with different `exportTo` sets are merged here too (see docs/semantics.md).
pub(super) fn merge(
    rules_for_host: &[&DestinationRule],
    fill_from: &[&DestinationRule],
    decided_by: &mut Vec<Decision>,
) -> (DestinationRuleSpec, Vec<ObjectRef>) {
    let mut first: Vec<&DestinationRule> = rules_for_host.to_vec();
    first.sort_by(|a, b| creation_order(&a.meta, &b.meta));
    let mut rest: Vec<&DestinationRule> = fill_from.to_vec();
    rest.sort_by(|a, b| creation_order(&a.meta, &b.meta));

    let base = first[0];
    let mut spec = base.spec.clone();
    let mut rules = vec![object_ref(KIND, &base.meta)];
    decided_by.push(Decision::by(
        object_ref(KIND, &base.meta),
        "destination-rule/applied",
        if base.spec.workload_selector.is_some() {
            "workloadSelector selects the client; the oldest such rule is the base"
        } else {
            "the oldest rule for the host is the base"
        },
    ));
    for dr in first.iter().skip(1).chain(rest.iter()) {
        let r = object_ref(KIND, &dr.meta);
        let mut notes = Vec::new();
        for subset in &dr.spec.subsets {
            if spec.subsets.iter().any(|s| s.name == subset.name) {
                notes.push(format!("duplicate subset {} dropped", subset.name));
            } else {
                spec.subsets.push(subset.clone());
                notes.push(format!("subset {} added", subset.name));
            }
        }
        match (&spec.traffic_policy, &dr.spec.traffic_policy) {
            (None, Some(tp)) => {
                spec.traffic_policy = Some(tp.clone());
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
        decided_by.push(Decision::by(
            r.clone(),
            "destination-rule/merged",
            format!("merged for the same host: {}", notes.join("; ")),
        ));
        rules.push(r);
    }
    (spec, rules)
}
