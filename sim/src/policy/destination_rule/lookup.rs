//! Which DestinationRule a client uses for a service: `PushContext.destinationRule` and
//! `getExportedDestinationRuleFromNamespace` (`pilot/pkg/model/push_context.go`) pick the
//! consolidated rules of the most specific host in the first scope that has any for the client,
//! then `SidecarScope.DestinationRule` (`pilot/pkg/model/sidecar.go`) picks one of them.

use std::collections::BTreeSet;

use crate::model::{ObjectRef, Resources, Workload};
use crate::policy::decision::{object_ref, Decision};
use crate::policy::routing::Destination;

use super::host::most_specific_host_match;
use super::index::{self, Consolidated, DestinationRuleRelease, HostRules, IndexKind};
use super::{SelectedDestinationRule, KIND};

/// Where a rule sits relative to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Client,
    Service,
    Root,
}

impl Scope {
    fn describe(self) -> &'static str {
        match self {
            Scope::Client => "the client's namespace",
            Scope::Service => "the service's namespace (exported to the client)",
            Scope::Root => "the root namespace (exported to the client)",
        }
    }
}

/// Selects the DestinationRule for traffic from `client` to `dest` as the newest modelled
/// release does. Lookup order: the client's namespace, then the service's namespace, then the
/// root namespace; the first scope whose most specific host has a rule for the client wins.
/// Within it, a rule whose `workloadSelector` matches the client (same namespace) beats the
/// catch-all rule without a selector.
#[cfg(test)]
pub(crate) fn select_destination_rule(
    res: &Resources,
    client: &Workload,
    dest: &Destination,
) -> Option<SelectedDestinationRule> {
    select_destination_rule_explained(res, client, dest).0
}

/// `select_destination_rule`, with the decisions behind a `None` too (which scopes were searched,
/// or that only non-matching selector rules matched).
pub(crate) fn select_destination_rule_explained(
    res: &Resources,
    client: &Workload,
    dest: &Destination,
) -> (Option<SelectedDestinationRule>, Vec<Decision>) {
    let release = DestinationRuleRelease::from(res.mesh_config.release());
    select_destination_rule_for_release(res, client, dest, release)
}

/// `select_destination_rule_explained` for one Istio release's rules (see
/// [`DestinationRuleRelease`]).
pub(crate) fn select_destination_rule_for_release(
    res: &Resources,
    client: &Workload,
    dest: &Destination,
    release: DestinationRuleRelease,
) -> (Option<SelectedDestinationRule>, Vec<Decision>) {
    let client_ns = client.meta.namespace.as_str();
    let root = res.mesh_config.root_namespace.as_str();
    let client_in_root = client_ns == root;
    // Istio searches the service's namespace even when it is the client's, but every rule that
    // lookup could return is already in the client's `namespaceLocal` index; a root-namespace
    // client first saw only private root rules, so the root's exported rules still count.
    let mut scopes = vec![(Scope::Client, client_ns)];
    if dest.namespace() != client_ns || client_in_root {
        scopes.push((Scope::Service, dest.namespace()));
    }
    if root != dest.namespace() {
        scopes.push((Scope::Root, root));
    }
    let mut passed_over = Vec::new();
    for (scope, ns) in &scopes {
        let kind = match scope {
            Scope::Client if client_in_root => IndexKind::RootNamespaceLocal,
            Scope::Client => IndexKind::NamespaceLocal,
            Scope::Service | Scope::Root => IndexKind::Exported,
        };
        let rules = index::build(&res.destination_rules, ns, kind, release);
        let Some(host) = most_specific_host_match(&dest.fqdn, rules.keys().map(String::as_str))
        else {
            continue;
        };
        let host_rules = &rules[&host];
        let candidates: Vec<&Consolidated> = if kind == IndexKind::Exported {
            exported_to(host_rules, client_ns, release, &mut passed_over)
        } else {
            host_rules.rules.iter().collect()
        };
        if candidates.is_empty() {
            // `len(out) > 0` (1.24+) / `out != nil` (1.22, 1.23): a less specific host in the
            // same namespace is never tried.
            passed_over.push(Decision::default(
                "destination-rule/export-to",
                format!(
                    "the most specific host in {ns}, {host}, has no rule exported to {client_ns}; \
                     less specific hosts there are not considered"
                ),
            ));
            continue;
        }
        let reason = format!(
            "host {} matches {} rule(s) for {host} in {}",
            dest.fqdn,
            distinct_rules(&candidates),
            scope.describe()
        );
        let mut decided_by = passed_over;
        decided_by.push(Decision::default("destination-rule/scope", reason));
        let Some(chosen) = for_client(&candidates, client, &mut decided_by) else {
            return (None, decided_by);
        };
        let selected = SelectedDestinationRule {
            spec: chosen.spec.clone(),
            rules: chosen.from.clone(),
            host,
            decided_by: decided_by.clone(),
        };
        return (Some(selected), decided_by);
    }
    let searched: Vec<&str> = scopes.iter().map(|(s, _)| s.describe()).collect();
    let reason = format!(
        "no DestinationRule visible to {client_ns} matches {} (searched {})",
        dest.fqdn,
        searched.join(", then ")
    );
    passed_over.push(Decision::default("destination-rule/none", reason));
    (None, passed_over)
}

fn distinct_rules(candidates: &[&Consolidated]) -> usize {
    let all: BTreeSet<&ObjectRef> = candidates.iter().flat_map(|c| &c.from).collect();
    all.len()
}

/// The export check of `getExportedDestinationRuleFromNamespace`, made after the most specific
/// host was chosen: from 1.24 on each consolidated rule by its own `exportTo`, before that the
/// host's rules all or none by the host's single `exportTo`.
fn exported_to<'r, 'a>(
    host_rules: &'r HostRules<'a>,
    client_ns: &str,
    release: DestinationRuleRelease,
    passed_over: &mut Vec<Decision>,
) -> Vec<&'r Consolidated<'a>> {
    let (kept, dropped): (Vec<_>, Vec<_>) = match release {
        DestinationRuleRelease::Istio1_24On => host_rules
            .rules
            .iter()
            .partition(|c| c.export_to.exports_to(client_ns)),
        DestinationRuleRelease::Istio1_22To1_23 => {
            let all = host_rules.legacy_export_to.exports_to(client_ns);
            host_rules.rules.iter().partition(|_| all)
        }
    };
    for c in dropped {
        let (what, set) = match release {
            DestinationRuleRelease::Istio1_24On => ("exportTo", &c.export_to),
            DestinationRuleRelease::Istio1_22To1_23 => {
                ("the host's merged exportTo", &host_rules.legacy_export_to)
            }
        };
        passed_over.push(Decision::by(
            object_ref(KIND, &c.base.meta),
            "destination-rule/export-to",
            format!(
                "{what} {} does not include {client_ns}; not applied",
                set.describe()
            ),
        ));
    }
    kept
}

/// `SidecarScope.DestinationRule`: the first rule whose `workloadSelector` selects the client
/// (same namespace only), else the *last* catch-all rule listed. `None` when only selector rules
/// for other workloads match: Istio does not fall back to a later scope.
fn for_client<'r, 'a>(
    candidates: &[&'r Consolidated<'a>],
    client: &Workload,
    decided_by: &mut Vec<Decision>,
) -> Option<&'r Consolidated<'a>> {
    let selects = |c: &Consolidated| {
        c.base.meta.namespace == client.meta.namespace
            && c.base
                .spec
                .workload_selector
                .as_ref()
                .is_some_and(|s| s.matches(&client.pod_labels))
    };
    let mut catch_all = None;
    let mut chosen = None;
    for c in candidates.iter().copied() {
        if !c.has_selector() {
            catch_all = Some(c);
        }
        if selects(c) {
            chosen = Some(c);
            break;
        }
    }
    for c in candidates
        .iter()
        .filter(|c| c.has_selector() && !chosen.is_some_and(|x| std::ptr::eq(x, **c)))
    {
        decided_by.push(Decision::by(
            object_ref(KIND, &c.base.meta),
            "destination-rule/selector",
            "workloadSelector does not select the client (or an older selector rule does); not applied",
        ));
    }
    let any_catch_all = candidates.iter().any(|c| !c.has_selector());
    let chosen = match (chosen, catch_all) {
        (Some(c), _) => {
            if any_catch_all {
                decided_by.push(Decision::default(
                    "destination-rule/selector",
                    "a rule whose workloadSelector selects the client takes precedence over the catch-all rule(s)",
                ));
            }
            c
        }
        (None, Some(c)) => c,
        (None, None) => {
            decided_by.push(Decision::default(
                "destination-rule/none",
                "only rules with non-matching workloadSelectors match; no DestinationRule applies",
            ));
            return None;
        }
    };
    if !chosen.has_selector() {
        for other in candidates
            .iter()
            .filter(|c| !c.has_selector() && !std::ptr::eq(**c, chosen))
        {
            decided_by.push(Decision::by(
                object_ref(KIND, &other.base.meta),
                "destination-rule/export-to",
                format!(
                    "kept apart from {} because their exportTo differ ({} and {}; \
                     ENABLE_ENHANCED_DESTINATIONRULE_MERGE, Istio 1.24+); the last catch-all \
                     rule listed applies, not this one",
                    chosen.base.meta.name,
                    other.export_to.describe(),
                    chosen.export_to.describe()
                ),
            ));
        }
    }
    decided_by.push(Decision::by(
        object_ref(KIND, &chosen.base.meta),
        "destination-rule/applied",
        if chosen.has_selector() {
            "workloadSelector selects the client; the oldest such rule is the base"
        } else {
            "the oldest rule for the host is the base"
        },
    ));
    decided_by.extend(chosen.merges.iter().cloned());
    Some(chosen)
}
