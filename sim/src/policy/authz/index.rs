//! The compiled AuthorizationPolicy index: policies grouped by namespace, namespace-wide apart
//! from selector policies, so a decision reads only the workload's namespace and the root
//! namespace instead of every policy in the mesh. What a decision needs that does not depend on
//! the request (policy ids, deny details, principals expanded over the trust-domain bundle) is
//! computed here once, so [`AuthzIndex::decide`] allocates nothing.

use std::borrow::Cow;
use std::collections::HashMap;

use rustc_hash::FxHashMap;

use crate::model::{AuthorizationPolicy, AuthzAction, Resources, Workload};

use super::matcher::expand_trust_domains;
use super::rule::{rule_matches, MatchContext};
use super::{
    evaluate_policies, is_dry_run, policy_id, rbac_denied_details, scope_of, AuthzDecision,
    RequestFacts,
};

/// One policy, compiled for the trace-off decision.
#[derive(Debug, Clone, Default)]
struct Compiled {
    /// A dry-run policy is shadow rules: it never changes the verdict.
    dry_run: bool,
    /// Istio's policy id of each rule (`ns[NS]-policy[NAME]-rule[I]`).
    ids: Vec<String>,
    /// Envoy's deny details naming each rule (`rbac_access_denied_matched_policy[ID]`).
    details: Vec<String>,
}

/// The rule that decided a [`Verdict`]: its policy's action and Istio's policy id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerdictMatch<'a> {
    /// The policy's action.
    pub action: AuthzAction,
    /// `ns[NS]-policy[NAME]-rule[I]` (with the bad-CUSTOM prefix and suffix when istiod
    /// replaced a CUSTOM rule by a deny).
    pub policy_id: Cow<'a, str>,
}

/// An authorization decision without its trace: the fields of [`AuthzDecision`] a data path
/// or a matrix cell needs, borrowed from the index when possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict<'a> {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The CUSTOM or DENY rule that denied, or the ALLOW rule that allowed.
    pub matched: Option<VerdictMatch<'a>>,
    /// Envoy's response-code details on deny.
    pub details: Option<Cow<'a, str>>,
    /// Whether istiod could not use the CUSTOM provider
    /// ([`AuthzDecision::custom_provider_error`] is set).
    pub custom_provider_error: bool,
}

impl Verdict<'_> {
    /// The verdict of a traced decision, owning its strings.
    fn owned(d: AuthzDecision) -> Verdict<'static> {
        Verdict {
            allowed: d.allowed,
            matched: d.matched.map(|m| VerdictMatch {
                action: m.action,
                policy_id: Cow::Owned(m.policy_id),
            }),
            details: d.details.map(Cow::Owned),
            custom_provider_error: d.custom_provider_error.is_some(),
        }
    }
}

/// The AuthorizationPolicies in scope at one workload's sidecar, as indices into
/// `res.authorization_policies` ([`AuthzIndex::in_scope`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct InScope(Vec<usize>);

#[derive(Debug, Clone, Default)]
struct NamespacePolicies {
    /// Policies without a selector (or with empty `matchLabels`), in (name) order.
    wide: Vec<usize>,
    /// Policies with a selector, keyed by the first label their selector requires, as (rank in
    /// name order, index): a workload reads only the buckets of its own labels, so the cost of a
    /// lookup does not grow with the number of selector policies in its namespace.
    selected: FxHashMap<String, FxHashMap<String, Vec<(usize, usize)>>>,
}

/// AuthorizationPolicies compiled for fast per-workload lookup.
#[derive(Debug, Clone, Default)]
pub struct AuthzIndex {
    root_namespace: String,
    /// Hashed, not ordered: a decision looks one namespace up among thousands (a `BTreeMap`
    /// compared ~15 names per lookup); nothing iterates it.
    by_namespace: FxHashMap<String, NamespacePolicies>,
    /// Per policy (same index as `res.authorization_policies`).
    compiled: Vec<Compiled>,
    /// The mesh trust domain followed by its aliases.
    bundle: Vec<String>,
    /// The principal patterns of the policies that [`expand_trust_domains`] changes, expanded
    /// over `bundle`; every other pattern stands for itself. Usually empty (no aliases, every
    /// principal in the mesh's trust domain), so a decision hashes no pattern.
    expansions: HashMap<String, Vec<String>>,
    /// `rbac_access_denied_matched_policy[none]`.
    denied_none: String,
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
        let mut by_namespace: FxHashMap<String, NamespacePolicies> = FxHashMap::default();
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
        let mut bundle = vec![res.mesh_config.trust_domain.clone()];
        bundle.extend(res.mesh_config.trust_domain_aliases.iter().cloned());
        let mut expansions = HashMap::new();
        let compiled = res
            .authorization_policies
            .iter()
            .map(|p| {
                for pattern in principal_patterns(p) {
                    if !expansions.contains_key(pattern) {
                        let expanded = expand_trust_domains(pattern, &bundle);
                        if expanded != [pattern] {
                            expansions.insert(pattern.to_string(), expanded);
                        }
                    }
                }
                let rules = p.spec.rules.as_deref().unwrap_or(&[]);
                let ids: Vec<String> = (0..rules.len())
                    .map(|i| policy_id(&p.meta.namespace, &p.meta.name, i))
                    .collect();
                Compiled {
                    dry_run: is_dry_run(p),
                    details: ids.iter().map(|id| rbac_denied_details(Some(id))).collect(),
                    ids,
                }
            })
            .collect();
        AuthzIndex {
            root_namespace: res.mesh_config.root_namespace.clone(),
            by_namespace,
            compiled,
            bundle,
            expansions,
            denied_none: rbac_denied_details(None),
        }
    }

    /// [`AuthzIndex::candidates`] without collecting them.
    fn candidate_iter<'s>(&'s self, workload: &'s Workload) -> impl Iterator<Item = usize> + 's {
        let root = (self.root_namespace != workload.meta.namespace)
            .then_some(self.root_namespace.as_str());
        std::iter::once(workload.meta.namespace.as_str())
            .chain(root)
            .filter_map(|ns| self.by_namespace.get(ns))
            .flat_map(move |p| {
                let selected = workload
                    .pod_labels
                    .iter()
                    .filter_map(move |(k, v)| p.selected.get(k).and_then(|by| by.get(v)))
                    .flat_map(|bucket| bucket.iter().map(|&(_, i)| i));
                p.wide.iter().copied().chain(selected)
            })
    }

    /// Authorizes one request arriving at `workload`'s sidecar **without the trace**: the same
    /// verdict as [`AuthzIndex::evaluate`] (`evaluate(..).verdict() == decide(..)`, a property
    /// `tests/properties.rs` checks), with no `decided_by`, `misses`, `audited` or `dry_run`,
    /// and no allocation when no CUSTOM policy applies (policy ids, details and principal
    /// expansions come from the index). A CUSTOM policy needs istiod's provider resolution,
    /// so that rare case runs the traced evaluation and keeps its verdict.
    ///
    /// `res` must be the resource set the index was built from. A caller that needs why a
    /// request was denied without a matched rule (`!allowed`, `matched` is `None`, no
    /// `custom_provider_error`: the rules' misses, as `analysis::authz_cause::denial_code`
    /// reads them) calls [`AuthzIndex::evaluate`] for that request.
    pub fn decide<'s>(
        &'s self,
        res: &Resources,
        workload: &Workload,
        facts: &RequestFacts,
    ) -> Verdict<'s> {
        self.decide_among(res, workload, self.in_scope_iter(res, workload), facts)
    }

    /// The policies [`AuthzIndex::decide`] reads for `workload`, found once for many decisions
    /// at the same sidecar (a matrix decides a million flows at a thousand destinations).
    pub(crate) fn in_scope(&self, res: &Resources, workload: &Workload) -> InScope {
        InScope(self.in_scope_iter(res, workload).collect())
    }

    /// [`AuthzIndex::decide`] over the policies [`AuthzIndex::in_scope`] found for `workload`.
    pub(crate) fn decide_in_scope<'s>(
        &'s self,
        res: &Resources,
        workload: &Workload,
        in_scope: &InScope,
        facts: &RequestFacts,
    ) -> Verdict<'s> {
        self.decide_among(res, workload, in_scope.0.iter().copied(), facts)
    }

    /// The candidates whose scope holds `workload`, and any index `res` lacks (which
    /// [`AuthzIndex::decide_among`] answers with the traced evaluation).
    fn in_scope_iter<'s>(
        &'s self,
        res: &'s Resources,
        workload: &'s Workload,
    ) -> impl Iterator<Item = usize> + 's {
        self.candidate_iter(workload).filter(move |&i| {
            res.authorization_policies
                .get(i)
                .is_none_or(|p| scope_of(p, workload, &self.root_namespace).is_some())
        })
    }

    /// The verdict of the policies `in_scope` (each in scope at `workload`, in any order).
    fn decide_among<'s>(
        &'s self,
        res: &Resources,
        workload: &Workload,
        in_scope: impl Iterator<Item = usize>,
        facts: &RequestFacts,
    ) -> Verdict<'s> {
        let mut has_allow = false;
        // The smallest matching policy id per action: Envoy reports the first in name order.
        let mut deny: Option<(usize, usize)> = None;
        let mut allow: Option<(usize, usize)> = None;
        for i in in_scope {
            let (Some(policy), Some(compiled)) =
                (res.authorization_policies.get(i), self.compiled.get(i))
            else {
                return Verdict::owned(self.evaluate(res, workload, facts));
            };
            let action = policy.spec.action;
            if action == AuthzAction::Custom {
                return Verdict::owned(self.evaluate(res, workload, facts));
            }
            // Dry-run rules and AUDIT rules are logged, never deciding.
            if compiled.dry_run || action == AuthzAction::Audit {
                continue;
            }
            has_allow |= action == AuthzAction::Allow;
            let best = if action == AuthzAction::Deny {
                &mut deny
            } else {
                &mut allow
            };
            let ctx = MatchContext {
                facts,
                policy_namespace: &policy.meta.namespace,
                action,
                bundle: &self.bundle,
                expansions: Some(&self.expansions),
                trace: false,
            };
            for (r, rule) in policy.spec.rules.iter().flatten().enumerate() {
                let first = best.is_none_or(|(bi, br)| compiled.ids[r] < self.compiled[bi].ids[br]);
                if first && rule_matches(rule, &ctx).is_ok() {
                    *best = Some((i, r));
                }
            }
        }
        let matched = |(i, r): (usize, usize), action| {
            Some(VerdictMatch {
                action,
                policy_id: Cow::Borrowed(self.compiled[i].ids[r].as_str()),
            })
        };
        match (deny, allow) {
            (Some(d), _) => Verdict {
                allowed: false,
                matched: matched(d, AuthzAction::Deny),
                details: Some(Cow::Borrowed(&self.compiled[d.0].details[d.1])),
                custom_provider_error: false,
            },
            _ if !has_allow => Verdict {
                allowed: true,
                matched: None,
                details: None,
                custom_provider_error: false,
            },
            (None, Some(a)) => Verdict {
                allowed: true,
                matched: matched(a, AuthzAction::Allow),
                details: None,
                custom_provider_error: false,
            },
            (None, None) => Verdict {
                allowed: false,
                matched: None,
                details: Some(Cow::Borrowed(&self.denied_none)),
                custom_provider_error: false,
            },
        }
    }

    /// The enforced ALLOW policies that apply to `workload` (in scope, not dry-run), as indices
    /// into `res.authorization_policies`, sorted: when a request is denied and no rule matched,
    /// every rule of each of them missed, so these are the policies a traced decision lists in
    /// its ALLOW misses, whatever the request.
    pub fn enforced_allow_policies(&self, res: &Resources, workload: &Workload) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .candidate_iter(workload)
            .filter(|&i| {
                res.authorization_policies.get(i).is_some_and(|p| {
                    p.spec.action == AuthzAction::Allow
                        && !is_dry_run(p)
                        && scope_of(p, workload, &self.root_namespace).is_some()
                })
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
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

/// The principal patterns of a policy (`principals`, `notPrincipals`, `when source.principal`):
/// the values [`expand_trust_domains`] expands.
fn principal_patterns(p: &AuthorizationPolicy) -> impl Iterator<Item = &str> {
    p.spec.rules.iter().flatten().flat_map(|rule| {
        let from = rule
            .from
            .iter()
            .flatten()
            .filter_map(|f| f.source.as_ref())
            .flat_map(|s| s.principals.iter().chain(&s.not_principals).flatten());
        let when = rule
            .when
            .iter()
            .flatten()
            .filter(|c| c.key == "source.principal")
            .flat_map(|c| c.values.iter().chain(&c.not_values).flatten());
        from.chain(when).map(String::as_str)
    })
}
