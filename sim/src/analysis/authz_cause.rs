//! Which failure mode an authorization denial is, decided once for `matrix` (analysis path) and
//! `probe` (diagnosis), so both name the same code for the same flow.

use crate::model::{AuthzAction, Resources, Workload};
use crate::policy::AuthzDecision;
use crate::vocab::{FindingCode, SpiffeId, TrustDomains};

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
    res: &Resources,
    caller: &Workload,
    principal: Option<&str>,
    decision: &AuthzDecision,
) -> FindingCode {
    match &decision.matched {
        Some(m) if m.action == AuthzAction::Custom => {
            return FindingCode::CustomAuthorizationDenied
        }
        Some(_) => return FindingCode::DenyPolicyMatched,
        None => {}
    }
    if decision.custom_provider_error.is_some() {
        return FindingCode::CustomAuthorizationDenied;
    }
    let Some(principal) = principal else {
        let identity_miss = decision.misses.iter().any(|m| {
            m.action == AuthzAction::Allow
                && ["principals", "namespaces", "serviceAccounts"]
                    .iter()
                    .any(|f| m.field.contains(f))
        });
        return if identity_miss {
            FindingCode::PrincipalRequiresMtls
        } else {
            FindingCode::NoAllowPolicyMatched
        };
    };
    match principal_mistake(res, caller, principal, decision) {
        Some(PrincipalMistake::TrustDomain { .. }) => FindingCode::TrustDomainMismatch,
        Some(PrincipalMistake::ServiceAccount { .. }) => {
            FindingCode::PrincipalServiceAccountMismatch
        }
        None => FindingCode::NoAllowPolicyMatched,
    }
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
    res: &Resources,
    caller: &Workload,
    principal: &str,
    decision: &AuthzDecision,
) -> Option<PrincipalMistake> {
    let caller_id = SpiffeId::from_principal(principal).ok()?;
    let td = &res.mesh_config.trust_domain;
    let known_td =
        |t: &str| TrustDomains::new(td, &res.mesh_config.trust_domain_aliases).contains(t);
    let app = |w: &Workload| {
        w.pod_labels
            .get("app")
            .cloned()
            .unwrap_or_else(|| w.meta.name.clone())
    };
    let caller_app = app(caller);
    for named in missed_allow_principals(res, decision) {
        let Ok(p) = SpiffeId::from_principal(&named) else {
            continue;
        };
        if p.namespace != caller_id.namespace {
            continue;
        }
        if p.service_account == caller_id.service_account && !known_td(&p.trust_domain) {
            return Some(PrincipalMistake::TrustDomain { named });
        }
        if p.service_account == caller_id.service_account
            || p.service_account == "*"
            || !known_td(&p.trust_domain)
        {
            continue;
        }
        let others_use_it = res.workloads.iter().any(|w| {
            w.meta.namespace == p.namespace
                && w.service_account == p.service_account
                && app(w) != caller_app
        });
        if !others_use_it {
            return Some(PrincipalMistake::ServiceAccount { named });
        }
    }
    None
}

/// The principals named by the ALLOW policies whose rules missed in `decision`, sorted and
/// deduplicated: what the matrix and the diagnosis compare a caller's identity with.
pub(crate) fn missed_allow_principals(res: &Resources, decision: &AuthzDecision) -> Vec<String> {
    let mut applying: Vec<_> = decision
        .misses
        .iter()
        .filter(|m| m.action == AuthzAction::Allow)
        .map(|m| &m.policy)
        .collect();
    applying.sort();
    applying.dedup();
    let mut named: Vec<String> = res
        .authorization_policies
        .iter()
        .filter(|ap| {
            applying
                .iter()
                .any(|r| r.namespace == ap.meta.namespace && r.name == ap.meta.name)
        })
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
