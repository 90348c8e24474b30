//! Authorization denials the configuration explains: the destination's AuthorizationPolicies
//! are re-evaluated for the request (CUSTOM, DENY, then ALLOW, as Envoy's RBAC filters run) and
//! `NoAllowPolicyMatched` is refined by comparing the ALLOW principals with the caller's
//! identity: another service account of the same namespace, or a foreign trust domain.

use crate::analysis::{
    denial_code, missed_allow_principals, principal_mistake, DenialIndex, PrincipalMistake,
};
use crate::diagnose::Finding;
use crate::model::{AuthzAction, Resources, Workload};
use crate::policy::{resolve_destination, AuthzDecision, AuthzIndex, PodIps};
use crate::vocab::FindingCode;

use super::config::{observed, predicted_failure, trace_lines};
use super::{quote, Ctx};

const AUTHZ_CODES: &[FindingCode] = &[
    FindingCode::DenyPolicyMatched,
    FindingCode::NoAllowPolicyMatched,
    FindingCode::PrincipalRequiresMtls,
    FindingCode::CustomAuthorizationDenied,
    FindingCode::TrustDomainMismatch,
    FindingCode::PrincipalServiceAccountMismatch,
];

pub(super) fn findings(ctx: &Ctx<'_>) -> Vec<Finding> {
    let Some(p) = predicted_failure(ctx) else {
        return Vec::new();
    };
    let Some(code) = p.codes.iter().find(|c| AUTHZ_CODES.contains(c)) else {
        return Vec::new();
    };
    let res = &ctx.ev.resources;
    // The identity the destination saw (its access log's peer), not the predicted one.
    let principal = ctx.ev.outcome.peer_principal.clone();
    let Some((server, decision)) = evaluate(ctx, principal.clone(), p.sni.clone()) else {
        return Vec::new();
    };
    // The re-evaluation must name the policy the observed denial names.
    if decision.allowed || decision.details.as_deref() != Some(ctx.ev.outcome.details.as_str()) {
        return Vec::new();
    }
    let mut evidence = vec![observed(ctx)];
    evidence.push(format!(
        "caller identity: {}",
        principal
            .as_deref()
            .map_or("none (plaintext connection)".to_string(), |s| s.to_string())
    ));
    evidence.extend(trace_lines(res, p));
    for miss in &decision.misses {
        evidence.push(format!(
            "{} {} rule {} did not match on {}: {}",
            miss.action.as_str(),
            quote(res, &miss.policy),
            miss.rule,
            miss.field,
            miss.reason
        ));
    }
    // The same decision the matrix makes (`analysis::denial_code`), so both name one code.
    let Ok(caller) = res.find_workload(&ctx.ev.request.from) else {
        return Vec::new();
    };
    let code = match *code {
        FindingCode::CustomAuthorizationDenied => FindingCode::CustomAuthorizationDenied,
        _ => denial_code(
            &DenialIndex::new(res),
            caller,
            principal.as_deref(),
            &decision,
        ),
    };
    let finding = match code {
        FindingCode::DenyPolicyMatched => deny_matched(res, server, &decision, evidence),
        FindingCode::NoAllowPolicyMatched
        | FindingCode::TrustDomainMismatch
        | FindingCode::PrincipalServiceAccountMismatch => {
            no_allow_matched(ctx, caller, principal.as_deref(), &decision, evidence)
        }
        FindingCode::PrincipalRequiresMtls => Finding::error(
            FindingCode::PrincipalRequiresMtls,
            format!(
                "the ALLOW policies of {}/{} match on peer identity (principals/namespaces), but {} arrived in plaintext with no identity",
                server.meta.namespace, server.meta.name, ctx.ev.request.from
            ),
            evidence,
            "inject a sidecar into the caller so it sends mTLS, and require STRICT on the destination",
        ),
        _ => match &decision.custom_provider_error {
            Some(why) => Finding::error(
                FindingCode::CustomAuthorizationDenied,
                format!(
                    "istiod could not use the CUSTOM provider of {}/{} ({why}), so it turned the \
                     matching CUSTOM rules into RBAC deny rules",
                    server.meta.namespace, server.meta.name
                ),
                evidence,
                "define the provider under meshConfig.extensionProviders (an envoyExtAuthzHttp or \
                 envoyExtAuthzGrpc entry whose service and port exist), or name a defined provider \
                 in the policy's provider.name",
            ),
            None => Finding::error(
                FindingCode::CustomAuthorizationDenied,
                "the CUSTOM (external authorization) provider denied the request".into(),
                evidence,
                "check the external authorizer's decision for this request",
            ),
        },
    };
    vec![finding]
}

/// The destination's authorization decision for the request, with the given peer identity.
fn evaluate<'r>(
    ctx: &'r Ctx<'_>,
    principal: Option<String>,
    sni: Option<String>,
) -> Option<(&'r Workload, AuthzDecision)> {
    let res = &ctx.ev.resources;
    let req = &ctx.ev.request;
    let (ns, name) = (req.from.namespace.as_str(), req.from.name.as_str());
    let dest = resolve_destination(res, ns, &req.to).ok()?;
    let ep = dest.endpoints.first()?;
    let w = res.workload(&ep.namespace, &ep.workload)?;
    // The same pod addresses the data path gives this configuration.
    let pod_ips = PodIps::build(res);
    let source_ip = pod_ips.get(ns, name);
    let (protocol, server_http) = crate::analysis::inbound_protocol(req, &dest.port);
    let mut facts = crate::analysis::request_facts(
        req,
        protocol,
        server_http,
        source_ip,
        principal,
        ep.target_port,
        res.mesh_config.path_normalization,
    );
    facts.sni = sni;
    facts.destination_ip = Some(pod_ips.get(&ep.namespace, &ep.workload));
    Some((w, AuthzIndex::build(res).evaluate(res, w, &facts)))
}

fn deny_matched(
    res: &Resources,
    server: &Workload,
    decision: &AuthzDecision,
    mut evidence: Vec<String>,
) -> Finding {
    let name = decision
        .matched
        .as_ref()
        .map_or("a DENY policy".to_string(), |m| {
            evidence.insert(
                1,
                format!("matched: {} ({})", quote(res, &m.policy), m.policy_id),
            );
            m.policy.to_string()
        });
    let allows = allow_policies_for(res, server);
    let mut message = format!("{name} matched the request and denied it");
    if !allows.is_empty() {
        message.push_str(&format!(
            "; the ALLOW polic{} {} cannot override it: Istio evaluates DENY before ALLOW",
            if allows.len() == 1 { "y" } else { "ies" },
            allows.join(", ")
        ));
    }
    Finding::error(
        FindingCode::DenyPolicyMatched,
        message,
        evidence,
        "the DENY policy says this caller is refused: if that is intended, nothing is wrong; if \
         not, narrow that DENY policy (the caller's namespace in notNamespaces, or its principal \
         in notPrincipals), since an ALLOW policy cannot override a DENY",
    )
}

fn no_allow_matched(
    ctx: &Ctx<'_>,
    caller: &Workload,
    principal: Option<&str>,
    decision: &AuthzDecision,
    mut evidence: Vec<String>,
) -> Finding {
    let res = &ctx.ev.resources;
    let req = &ctx.ev.request;
    let td = &res.mesh_config.trust_domain;
    let aliases = &res.mesh_config.trust_domain_aliases;
    let index = DenialIndex::new(res);
    let mistake = principal.and_then(|p| principal_mistake(&index, caller, p, decision));
    let caller_principal = principal.unwrap_or_default();
    match mistake {
        Some(PrincipalMistake::TrustDomain { named }) => {
            evidence.push(format!(
                "mesh trust domain {td}, aliases [{}]; policy principal {named}",
                aliases.join(", ")
            ));
            Finding::error(
                FindingCode::TrustDomainMismatch,
                format!(
                    "an ALLOW principal names {named}, but its trust domain is neither the mesh's \
                     ({td}) nor an alias: the caller presents {caller_principal}"
                ),
                evidence,
                "write the principal with the mesh's trust domain, or add the old one to meshConfig.trustDomainAliases",
            )
        }
        Some(PrincipalMistake::ServiceAccount { named }) => {
            let csa = &caller.service_account;
            evidence.push(format!(
                "caller {} runs as serviceAccountName {csa}; the policy names {named}",
                req.from
            ));
            // Never "run the caller as the named account": that account may be (or become) the
            // identity of other pods, and whatever is granted to it would be granted to this
            // caller too. The policy's principal is the thing to change.
            Finding::error(
                FindingCode::PrincipalServiceAccountMismatch,
                format!(
                    "an ALLOW principal names {named}, but {} runs as {csa} and presents \
                     {caller_principal}",
                    req.from
                ),
                evidence,
                &format!(
                    "add the caller's principal {caller_principal} to the ALLOW rule (better: give \
                     {} its own service account and add that); do not switch the caller to the \
                     named account, which would hand it that identity's other permissions",
                    req.from
                ),
            )
        }
        None => {
            // An exclusion the policy intends: explain it; nothing here opens it.
            let admitted = missed_allow_principals(&index, decision);
            if !admitted.is_empty() {
                evidence.push(format!("the ALLOW rules admit: {}", admitted.join(", ")));
            }
            Finding::error(
                FindingCode::NoAllowPolicyMatched,
                format!(
                    "ALLOW policies select the destination of {}, and no rule matches this request \
                     from {}: the policies do not admit this caller",
                    req.to, req.from
                ),
                evidence,
                "if the caller should be denied, nothing is wrong: the ALLOW policies are doing \
                 their job; if it should be allowed, add a rule for its own principal, \
                 namespace, path or method (never run it as a service account the policy admits)",
            )
        }
    }
}

/// ALLOW policies that apply to the workload: in its namespace or the root namespace, with no
/// selector or a selector its pod labels match.
fn allow_policies_for(res: &Resources, w: &Workload) -> Vec<String> {
    let root = &res.mesh_config.root_namespace;
    let mut out: Vec<String> = res
        .authorization_policies
        .iter()
        .filter(|ap| ap.spec.action == AuthzAction::Allow)
        .filter(|ap| &ap.meta.namespace == root || ap.meta.namespace == w.meta.namespace)
        .filter(|ap| {
            ap.spec
                .selector
                .as_ref()
                .is_none_or(|s| s.matches(&w.pod_labels))
        })
        .map(|ap| format!("AuthorizationPolicy/{}/{}", ap.meta.namespace, ap.meta.name))
        .collect();
    out.sort();
    out
}
