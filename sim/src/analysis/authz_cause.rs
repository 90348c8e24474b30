//! Which failure mode an authorization denial is, decided once for `matrix` (analysis path) and
//! `probe` (diagnosis), so both name the same code for the same flow.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::model::{AuthorizationPolicy, AuthzAction, Resources, Workload};
use crate::policy::AuthzDecision;
use crate::vocab::{FindingCode, SpiffeId, TrustDomains};

/// What naming a denial's cause looks up, indexed once per configuration: a matrix names the
/// cause of every denied flow, and scanning every policy and workload for each made it
/// quadratic in the mesh's size.
#[derive(Debug)]
pub struct DenialIndex<'a> {
    res: &'a Resources,
    /// AuthorizationPolicies (indices in `res.authorization_policies`) by (namespace, name).
    policies: HashMap<(&'a str, &'a str), Vec<usize>>,
    /// The `app` of every workload running as a service account, by (namespace, account).
    account_apps: HashMap<(&'a str, &'a str), Vec<&'a str>>,
    /// A number for each namespace of a workload: a denied flow compares its caller's
    /// namespace with every missed principal's, and numbers compare without reading strings.
    namespaces: HashMap<&'a str, u32>,
}

/// A workload's app: its `app` label, else its name.
fn app(w: &Workload) -> &str {
    w.pod_labels.get("app").unwrap_or(&w.meta.name)
}

impl<'a> DenialIndex<'a> {
    /// Indexes `res`.
    pub fn new(res: &'a Resources) -> DenialIndex<'a> {
        let mut policies: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
        for (i, ap) in res.authorization_policies.iter().enumerate() {
            policies
                .entry((ap.meta.namespace.as_str(), ap.meta.name.as_str()))
                .or_default()
                .push(i);
        }
        let mut account_apps: HashMap<(&str, &str), Vec<&str>> = HashMap::new();
        let mut namespaces: HashMap<&str, u32> = HashMap::new();
        for w in &res.workloads {
            account_apps
                .entry((w.meta.namespace.as_str(), w.service_account.as_str()))
                .or_default()
                .push(app(w));
            let next = u32::try_from(namespaces.len()).unwrap_or(u32::MAX);
            namespaces.entry(w.meta.namespace.as_str()).or_insert(next);
        }
        DenialIndex {
            res,
            policies,
            account_apps,
            namespaces,
        }
    }

    /// The number of `namespace` when a workload runs in it.
    fn namespace_number(&self, namespace: &str) -> Option<u32> {
        self.namespaces.get(namespace).copied()
    }
}

/// A caller's mTLS identity as the cause of a denial reads it: its SPIFFE parts, and its
/// namespace's number in the [`DenialIndex`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallerIdentity {
    /// Trust domain, namespace and service account.
    pub id: SpiffeId,
    /// [`DenialIndex`]'s number of the namespace.
    namespace: Option<u32>,
}

impl CallerIdentity {
    /// `id`, with its namespace's number in `index`.
    pub(crate) fn new(index: &DenialIndex<'_>, id: SpiffeId) -> CallerIdentity {
        CallerIdentity {
            namespace: index.namespace_number(&id.namespace),
            id,
        }
    }
}

/// Why an ALLOW policy's principal did not match the caller, when it looks like a mistake
/// rather than an intended exclusion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalMistake {
    /// The principal is the caller's namespace and service account in a trust domain that is
    /// neither the mesh's nor an alias.
    TrustDomain {
        /// The principal as the policy writes it.
        named: String,
    },
    /// The principal names a service account of the caller's namespace that no workload of
    /// another app runs as: the caller was meant, under another name.
    ServiceAccount {
        /// The principal as the policy writes it.
        named: String,
    },
}

/// The failure-mode code of a denied request: CUSTOM, then DENY (the rule that matched), then
/// the ALLOW policies that did not. A plaintext caller is `PrincipalRequiresMtls` only when an
/// ALLOW rule failed on an identity field (an ALLOW-nothing policy denies everyone alike);
/// an mTLS caller is a trust-domain or service-account mistake per [`principal_mistake`], else
/// `NoAllowPolicyMatched` — an exclusion the policy intends.
pub fn denial_code(
    index: &DenialIndex<'_>,
    caller: &Workload,
    principal: Option<&str>,
    decision: &AuthzDecision,
) -> FindingCode {
    denial_code_of(
        index,
        caller,
        principal,
        None,
        Denial {
            matched: decision.matched.as_ref().map(|m| m.action),
            custom_provider_error: decision.custom_provider_error.is_some(),
            identity_miss: || identity_miss(decision),
            missed_allow_principals: || {
                Cow::Owned(NamedPrincipal::parse_all(
                    index,
                    missed_allow_principals(index, decision),
                ))
            },
        },
    )
}

/// A principal an ALLOW rule names, with its SPIFFE parts when it has them: parsed once, where
/// a matrix compares it with every denied caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NamedPrincipal {
    /// As the policy writes it.
    pub named: String,
    /// Its trust domain, namespace and service account (`None` for a pattern or a malformed one).
    pub id: Option<SpiffeId>,
    /// The distinct apps of the workloads running as its namespace and service account,
    /// sorted: looked up once instead of for every caller it is compared with.
    pub account_apps: Vec<String>,
    /// [`DenialIndex`]'s number of its namespace.
    namespace: Option<u32>,
}

impl NamedPrincipal {
    /// Each of `named`, parsed, with its account's apps from `index`.
    pub(crate) fn parse_all(index: &DenialIndex<'_>, named: Vec<String>) -> Vec<NamedPrincipal> {
        named
            .into_iter()
            .map(|named| {
                let id = SpiffeId::from_principal(&named).ok();
                let mut account_apps: Vec<String> = id
                    .as_ref()
                    .and_then(|p| {
                        index
                            .account_apps
                            .get(&(p.namespace.as_str(), p.service_account.as_str()))
                    })
                    .into_iter()
                    .flatten()
                    .map(|a| a.to_string())
                    .collect();
                account_apps.sort();
                account_apps.dedup();
                NamedPrincipal {
                    namespace: id
                        .as_ref()
                        .and_then(|p| index.namespace_number(&p.namespace)),
                    named,
                    id,
                    account_apps,
                }
            })
            .collect()
    }
}

/// What [`denial_code_of`] reads of a denial: from a traced decision, or from a trace-off
/// verdict whose misses are computed only when the code needs them.
pub(crate) struct Denial<I, P> {
    /// The action of the rule that denied, if one matched.
    pub matched: Option<AuthzAction>,
    /// Whether istiod could not use the CUSTOM provider.
    pub custom_provider_error: bool,
    /// Whether an ALLOW rule missed on an identity field (asked for plaintext callers only).
    pub identity_miss: I,
    /// [`missed_allow_principals`] (asked for mTLS callers only; borrowed when cached).
    pub missed_allow_principals: P,
}

/// [`denial_code`] from a [`Denial`]: the one rule the traced and the trace-off paths share.
pub(crate) fn denial_code_of<'p>(
    index: &DenialIndex<'_>,
    caller: &Workload,
    principal: Option<&str>,
    caller_id: Option<&CallerIdentity>,
    denial: Denial<impl FnOnce() -> bool, impl FnOnce() -> Cow<'p, [NamedPrincipal]>>,
) -> FindingCode {
    match denial.matched {
        Some(AuthzAction::Custom) => return FindingCode::CustomAuthorizationDenied,
        Some(_) => return FindingCode::DenyPolicyMatched,
        None => {}
    }
    if denial.custom_provider_error {
        return FindingCode::CustomAuthorizationDenied;
    }
    let Some(principal) = principal else {
        return if (denial.identity_miss)() {
            FindingCode::PrincipalRequiresMtls
        } else {
            FindingCode::NoAllowPolicyMatched
        };
    };
    // `principal` parsed, unless the caller knows its parts already (a matrix, per source).
    let parsed;
    let caller_id = match caller_id {
        Some(id) => id,
        None => match SpiffeId::from_principal(principal) {
            Ok(id) => {
                parsed = CallerIdentity::new(index, id);
                &parsed
            }
            Err(_) => return FindingCode::NoAllowPolicyMatched,
        },
    };
    let missed = (denial.missed_allow_principals)();
    match principal_mistake_among(index, caller, caller_id, &missed) {
        Some(PrincipalMistake::TrustDomain { .. }) => FindingCode::TrustDomainMismatch,
        Some(PrincipalMistake::ServiceAccount { .. }) => {
            FindingCode::PrincipalServiceAccountMismatch
        }
        None => FindingCode::NoAllowPolicyMatched,
    }
}

/// Whether an ALLOW rule of `decision` missed on an identity field (`principals`,
/// `namespaces`, `serviceAccounts`): what a plaintext caller lacks.
pub(crate) fn identity_miss(decision: &AuthzDecision) -> bool {
    decision.misses.iter().any(|m| {
        m.action == AuthzAction::Allow
            && ["principals", "namespaces", "serviceAccounts"]
                .iter()
                .any(|f| m.field.contains(f))
    })
}

/// The principal of an ALLOW policy that did not match `caller` (mTLS identity `principal`)
/// and looks meant for it:
///
/// - the caller's own namespace and service account under a trust domain the mesh does not
///   accept (`TrustDomainMismatch`);
/// - a service account of the caller's namespace that no workload of another app runs as
///   (pods of the caller's own `app` label, or nobody): the principal was meant for the caller
///   (`PrincipalServiceAccountMismatch`). A principal that names another app's account is an
///   intended exclusion: the caller is simply not allowed, and taking that account would give
///   it the other app's identity.
///
/// Only the ALLOW policies that apply to the destination (those whose rules missed) count.
pub fn principal_mistake(
    index: &DenialIndex<'_>,
    caller: &Workload,
    principal: &str,
    decision: &AuthzDecision,
) -> Option<PrincipalMistake> {
    principal_mistake_among(
        index,
        caller,
        &CallerIdentity::new(index, SpiffeId::from_principal(principal).ok()?),
        &NamedPrincipal::parse_all(index, missed_allow_principals(index, decision)),
    )
}

/// [`principal_mistake`] among the principals of the ALLOW policies that missed.
fn principal_mistake_among(
    index: &DenialIndex<'_>,
    caller: &Workload,
    caller_id: &CallerIdentity,
    missed: &[NamedPrincipal],
) -> Option<PrincipalMistake> {
    let res = index.res;
    let td = &res.mesh_config.trust_domain;
    let known_td =
        |t: &str| TrustDomains::new(td, &res.mesh_config.trust_domain_aliases).contains(t);
    let CallerIdentity {
        id: caller_id,
        namespace: caller_namespace,
    } = caller_id;
    for NamedPrincipal {
        named,
        id,
        account_apps,
        namespace,
    } in missed
    {
        let Some(p) = id else {
            continue;
        };
        // Different numbers are different namespaces; equal ones are checked as text.
        if namespace != caller_namespace || p.namespace != caller_id.namespace {
            continue;
        }
        if p.service_account == caller_id.service_account && !known_td(&p.trust_domain) {
            return Some(PrincipalMistake::TrustDomain {
                named: named.clone(),
            });
        }
        if p.service_account == caller_id.service_account
            || p.service_account == "*"
            || !known_td(&p.trust_domain)
        {
            continue;
        }
        let others_use_it = account_apps.iter().any(|a| a != app(caller));
        if !others_use_it {
            return Some(PrincipalMistake::ServiceAccount {
                named: named.clone(),
            });
        }
    }
    None
}

/// The principals named by the ALLOW policies whose rules missed in `decision`, sorted and
/// deduplicated: what the matrix and the diagnosis compare a caller's identity with.
pub(crate) fn missed_allow_principals(
    index: &DenialIndex<'_>,
    decision: &AuthzDecision,
) -> Vec<String> {
    let mut applying: Vec<_> = decision
        .misses
        .iter()
        .filter(|m| m.action == AuthzAction::Allow)
        .map(|m| &m.policy)
        .collect();
    applying.sort();
    applying.dedup();
    let policies = &index.res.authorization_policies;
    principals_of(
        applying
            .iter()
            .filter_map(|r| index.policies.get(&(r.namespace.as_str(), r.name.as_str())))
            .flatten()
            .map(|&i| &policies[i]),
    )
}

/// The `from.source.principals` the rules of `policies` name, sorted and deduplicated.
pub(crate) fn principals_of<'p>(
    policies: impl Iterator<Item = &'p AuthorizationPolicy>,
) -> Vec<String> {
    let mut named: Vec<String> = policies
        .flat_map(|ap| ap.spec.rules.iter().flatten())
        .flat_map(|r| r.from.iter().flatten())
        .filter_map(|f| f.source.as_ref())
        .flat_map(|s| s.principals.iter().flatten())
        .cloned()
        .collect();
    named.sort();
    named.dedup();
    named
}
