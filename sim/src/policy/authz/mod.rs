//! AuthorizationPolicy evaluation at a workload's sidecar, in Envoy's order: CUSTOM, then DENY,
//! then ALLOW; AUDIT only records (`pilot/pkg/security/authz/builder/builder.go`, the AP proto's
//! evaluation steps). Policies compile into an `AuthzIndex` so one decision only reads the
//! workload's namespace and the root namespace.

mod facts;
mod index;
pub(crate) mod matcher;
mod rule;
#[cfg(test)]
mod tests;

use crate::vocab::Kind;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use crate::model::{AuthorizationPolicy, AuthzAction, ExtAuthzApi, ObjectRef, Resources, Workload};
use crate::policy::decision::{object_ref, Decision};

pub(crate) use index::InScope;
pub use index::{AuthzIndex, Verdict, VerdictMatch};
pub(crate) use rule::{http_only_fields, port_value_matches};

const KIND: Kind = Kind::AuthorizationPolicy;

/// The HTTP part of a request, as the destination sidecar sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpFacts {
    /// `:method`.
    pub method: String,
    /// `:path`, possibly with a query string.
    pub path: String,
    /// `:authority` (the Host header).
    pub host: String,
    /// Request headers (names matched case-insensitively).
    pub headers: BTreeMap<String, String>,
}

/// What the destination sidecar knows about one request or connection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestFacts {
    /// The peer identity `<td>/ns/<ns>/sa/<sa>` from the client certificate; `None` for
    /// plaintext.
    pub principal: Option<String>,
    /// The direct peer's IP (`source.ip`, `ipBlocks`), when known: the caller's pod IP.
    pub source_ip: Option<IpAddr>,
    /// The original client's IP (`remote.ip`, `remoteIpBlocks`): the rightmost
    /// `X-Forwarded-For` entry when the request carries one, else the direct peer.
    pub remote_ip: Option<IpAddr>,
    /// The workload (target) port the connection arrived on.
    pub destination_port: u16,
    /// The HTTP request; `None` for a TCP connection. Shared: a matrix sends the same request
    /// to one destination from every source.
    pub http: Option<Arc<HttpFacts>>,
    /// The TLS SNI the client sent, if any.
    pub sni: Option<String>,
    /// The address the connection was made to as the destination sidecar sees it
    /// (`destination.ip`): the endpoint's pod IP, the original destination the inbound
    /// listener restores after kube-proxy's DNAT and the sidecar's redirect.
    pub destination_ip: Option<IpAddr>,
}

/// One matched policy rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyMatch {
    /// The policy's action.
    pub action: AuthzAction,
    /// The policy.
    pub policy: ObjectRef,
    /// The index of the matching rule.
    pub rule: usize,
    /// Istio's policy id `ns[NS]-policy[NAME]-rule[I]`.
    pub policy_id: String,
}

/// A rule that did not match, and the first field that failed: what the diagnosis reads to tell
/// a missing identity (plaintext) from a wrong service account or trust domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMiss {
    /// The policy's action.
    pub action: AuthzAction,
    /// The policy.
    pub policy: ObjectRef,
    /// The rule index.
    pub rule: usize,
    /// Istio's policy id `ns[NS]-policy[NAME]-rule[I]`.
    pub policy_id: String,
    /// The field that failed (`principals`, `when request.headers[x]`, `http-only fields`, ...);
    /// `rules` for a policy without rules.
    pub field: String,
    /// One line: what the request had and what the rule wanted.
    pub reason: String,
}

/// The authorization outcome for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthzDecision {
    /// Whether the request may proceed.
    pub allowed: bool,
    /// The rule that decided: the CUSTOM or DENY rule that denied, or the ALLOW rule that allowed.
    pub matched: Option<PolicyMatch>,
    /// AUDIT rules that matched (logged, never deciding).
    pub audited: Vec<PolicyMatch>,
    /// Rules of the applicable policies that did not match, in policy order.
    pub misses: Vec<RuleMiss>,
    /// Rules of dry-run policies (`istio.io/dry-run: "true"`) that matched: reported in Envoy's
    /// shadow stats, never enforced.
    pub dry_run: Vec<PolicyMatch>,
    /// Envoy's response-code details on deny: `rbac_access_denied_matched_policy[ID]`,
    /// `...[none]` when no ALLOW matched, `ext_authz_denied` for CUSTOM.
    pub details: Option<String>,
    /// Each policy considered and why it did or did not match.
    pub decided_by: Vec<Decision>,
    /// Why istiod could not use the CUSTOM provider, when the denial is the
    /// `...-deny-due-to-bad-CUSTOM-action` rule it generated instead.
    pub custom_provider_error: Option<String>,
}

impl AuthzDecision {
    /// The decision without its trace: what [`AuthzIndex::decide`] answers for the same request.
    pub fn verdict(&self) -> Verdict<'_> {
        Verdict {
            allowed: self.allowed,
            matched: self.matched.as_ref().map(|m| VerdictMatch {
                action: m.action,
                policy_id: std::borrow::Cow::Borrowed(m.policy_id.as_str()),
            }),
            details: self.details.as_deref().map(std::borrow::Cow::Borrowed),
            custom_provider_error: self.custom_provider_error.is_some(),
        }
    }
}

/// Istio's RBAC policy name (`policyName` in `builder.go`).
pub(crate) fn policy_id(namespace: &str, name: &str, rule: usize) -> String {
    format!("ns[{namespace}]-policy[{name}]-rule[{rule}]")
}

/// Envoy's `responseDetail`: the policy id with whitespace replaced by `_`, or `none`.
pub fn rbac_denied_details(policy_id: Option<&str>) -> String {
    let id: String = policy_id
        .unwrap_or("none")
        .chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .collect();
    crate::vocab::details::rbac_access_denied(&id)
}

/// The principal a workload's certificate carries, as policies name it:
/// `<trust domain>/ns/<namespace>/sa/<service account>`.
pub fn workload_principal(res: &Resources, workload: &Workload) -> String {
    crate::vocab::SpiffeId::new(
        &res.mesh_config.trust_domain,
        &workload.meta.namespace,
        &workload.service_account,
    )
    .principal()
}

/// The annotation that turns a policy into a dry run (shadow rules, not enforced).
pub const DRY_RUN_ANNOTATION: &str = "istio.io/dry-run";

/// `builder.go` `isDryRun`: the annotation's value is read with Go's `strconv.ParseBool`; a value
/// it rejects (`yes`, `tRuE`, ` true`) is logged by istiod and the policy is enforced.
pub(crate) fn is_dry_run(policy: &AuthorizationPolicy) -> bool {
    policy
        .meta
        .annotations
        .get(DRY_RUN_ANNOTATION)
        .is_some_and(|v| go_parse_bool(v) == Some(true))
}

/// Go's `strconv.ParseBool`: exactly these spellings, nothing else.
pub(crate) fn go_parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Envoy's response-code details when ext_authz denies.
pub const EXT_AUTHZ_DENIED: &str = "ext_authz_denied";

/// The suffix istiod gives a CUSTOM rule it turns into a plain RBAC deny because the provider
/// cannot be used (`badCustomActionSuffix` in `pilot/pkg/security/authz/builder/extauthz.go`).
pub(crate) const BAD_CUSTOM_ACTION_SUFFIX: &str = "-deny-due-to-bad-CUSTOM-action";

/// The prefix of CUSTOM rule names (`extAuthzMatchPrefix`), so ext_authz can find them.
pub(crate) const EXT_AUTHZ_MATCH_PREFIX: &str = "istio-ext-authz";

/// How istiod builds the CUSTOM policies of one workload (`Builder.buildHTTP` / `buildTCP` with
/// `getExtAuthz`, Istio 1.22–1.28, where one provider per workload is allowed).
#[derive(Debug, Clone, PartialEq, Eq)]
enum CustomBuild {
    /// No CUSTOM policy applies.
    None,
    /// The provider resolves: RBAC shadow rules plus the ext_authz filter.
    ExtAuthz,
    /// An HTTP provider on a TCP filter chain: istiod emits nothing, CUSTOM is ignored.
    IgnoredOnTcp(String),
    /// `getExtAuthz` failed: the matching rules become RBAC DENY rules named
    /// `istio-ext-authz-<id>-deny-due-to-bad-CUSTOM-action`.
    BadProvider(String),
}

/// `getExtAuthz` over the providers named by every CUSTOM policy that applies (dry-run ones
/// too), resolved against `meshConfig.extensionProviders` as `processExtensionProvider` does:
/// an unknown name, two different names, an empty or duplicated name, a port outside 1..65535,
/// or a service that is not in the registry (`model.LookupCluster`) makes the provider unusable.
fn custom_build(
    res: &Resources,
    applicable: &[(&AuthorizationPolicy, &'static str)],
    tcp: bool,
) -> CustomBuild {
    let mut names: Vec<&str> = applicable
        .iter()
        .filter(|(p, _)| p.spec.action == AuthzAction::Custom)
        .map(|(p, _)| p.spec.provider.as_ref().map_or("", |x| x.name.as_str()))
        .collect();
    if names.is_empty() {
        return CustomBuild::None;
    }
    names.sort_unstable();
    names.dedup();
    if names.len() > 1 {
        return CustomBuild::BadProvider(format!(
            "only 1 provider can be used per workload, found multiple providers: {names:?}"
        ));
    }
    let name = names[0];
    if name.is_empty() {
        return CustomBuild::BadProvider("no provider specified in authorization policy".into());
    }
    let providers = &res.mesh_config.ext_authz_providers;
    // The last entry of a name wins the map, carrying the duplicate error if there was one.
    let Some((index, provider)) = providers.iter().enumerate().rfind(|(_, p)| p.name == name)
    else {
        let available: Vec<&str> = providers.iter().map(|p| p.name.as_str()).collect();
        return CustomBuild::BadProvider(format!(
            "available providers are {available:?} but found {name:?} (meshConfig.extensionProviders)"
        ));
    };
    if providers[..index].iter().any(|p| p.name == name) {
        return CustomBuild::BadProvider(format!(
            "extension provider name must be unique, found duplicate: {name}"
        ));
    }
    if provider.port == 0 || provider.port > 65535 {
        return CustomBuild::BadProvider(format!(
            "found errors in provider {name}: port number {} must be in the range 1..65535",
            provider.port
        ));
    }
    // `model.LookupCluster`: `namespace/host` names one Service; a bare host must exist in
    // exactly one namespace. The port is not checked against the Service.
    let (namespace, host) = match provider.service.split_once('/') {
        Some((ns, h)) => (Some(ns), h),
        None => (None, provider.service.as_str()),
    };
    let mut namespaces: Vec<&str> = res
        .services
        .iter()
        .filter(|svc| svc.fqdn() == host && namespace.is_none_or(|ns| svc.meta.namespace == ns))
        .map(|svc| svc.meta.namespace.as_str())
        .collect();
    namespaces.sort_unstable();
    namespaces.dedup();
    match namespaces.len() {
        0 => {
            return CustomBuild::BadProvider(format!(
                "found errors in provider {name}: could not find service {} in Istio service \
                 registry",
                provider.service
            ))
        }
        1 => {}
        _ => {
            return CustomBuild::BadProvider(format!(
                "found errors in provider {name}: found {host} in multiple namespaces \
                 {namespaces:?}, specify the namespace explicitly in the format of \
                 <Namespace>/<Hostname>"
            ))
        }
    }
    match (provider.api, tcp) {
        (ExtAuthzApi::Http, true) => CustomBuild::IgnoredOnTcp(name.to_string()),
        _ => CustomBuild::ExtAuthz,
    }
}

/// Why a policy applies to a workload, or `None` (AP proto "selector" and the root namespace):
/// a root-namespace policy without selector is mesh-wide; with a selector it matches workloads
/// in every namespace; elsewhere a policy only reaches its own namespace. Policies with
/// `targetRef(s)` attach to gateways and waypoints, never to sidecars.
pub(crate) fn scope_of(
    policy: &AuthorizationPolicy,
    workload: &Workload,
    root_namespace: &str,
) -> Option<&'static str> {
    if policy.spec.target_ref.is_some()
        || policy
            .spec
            .target_refs
            .as_ref()
            .is_some_and(|t| !t.is_empty())
    {
        return None;
    }
    let in_root = policy.meta.namespace == root_namespace;
    if !in_root && policy.meta.namespace != workload.meta.namespace {
        return None;
    }
    match &policy.spec.selector {
        Some(sel) if !sel.match_labels.is_empty() => {
            sel.matches(&workload.pod_labels).then_some(if in_root {
                "root-namespace policy whose selector matches (any namespace)"
            } else {
                "selector matches the workload"
            })
        }
        _ => Some(if in_root {
            "root-namespace policy without selector (mesh-wide)"
        } else {
            "namespace-wide policy"
        }),
    }
}

/// The matching rules of one policy (every rule that matches, in rule order).
fn policy_matches(
    res: &Resources,
    policy: &AuthorizationPolicy,
    facts: &RequestFacts,
    scope: &str,
    decided_by: &mut Vec<Decision>,
    misses: &mut Vec<RuleMiss>,
) -> Vec<PolicyMatch> {
    let r = object_ref(KIND, &policy.meta);
    let action = policy.spec.action;
    let step = match action {
        AuthzAction::Custom => "authz/custom",
        AuthzAction::Deny => "authz/deny",
        AuthzAction::Allow => "authz/allow",
        AuthzAction::Audit => "authz/audit",
    };
    let rules = policy.spec.rules.as_deref().unwrap_or(&[]);
    if rules.is_empty() {
        decided_by.push(Decision::by(
            r.clone(),
            step,
            format!(
                "{} policy ({scope}) has no rules: it never matches",
                action.as_str()
            ),
        ));
        misses.push(RuleMiss {
            action,
            policy: r,
            rule: 0,
            policy_id: policy_id(&policy.meta.namespace, &policy.meta.name, 0),
            field: "rules".into(),
            reason: "the policy has no rules, so it never matches".into(),
        });
        return Vec::new();
    }
    let mut bundle = vec![res.mesh_config.trust_domain.clone()];
    bundle.extend(res.mesh_config.trust_domain_aliases.iter().cloned());
    let ctx = rule::MatchContext {
        facts,
        policy_namespace: &policy.meta.namespace,
        action,
        bundle: &bundle,
        expansions: None,
        trace: true,
    };
    let mut out = Vec::new();
    for (i, rl) in rules.iter().enumerate() {
        let id = policy_id(&policy.meta.namespace, &policy.meta.name, i);
        match rule::rule_matches(rl, &ctx) {
            Ok(()) => {
                decided_by.push(Decision::by(
                    r.clone(),
                    step,
                    format!("{} {id} matches ({scope})", action.as_str()),
                ));
                out.push(PolicyMatch {
                    action,
                    policy: r.clone(),
                    rule: i,
                    policy_id: id,
                });
            }
            Err(miss) => {
                decided_by.push(Decision::by(
                    r.clone(),
                    step,
                    format!("{} {id} does not match: {}", action.as_str(), miss.reason),
                ));
                misses.push(RuleMiss {
                    action,
                    policy: r.clone(),
                    rule: i,
                    policy_id: id,
                    field: miss.field,
                    reason: miss.reason,
                });
            }
        }
    }
    out
}

/// Evaluates the policies that apply to `workload` (already scoped, see `scope_of`).
pub(crate) fn evaluate_policies(
    res: &Resources,
    applicable: &[(&AuthorizationPolicy, &'static str)],
    facts: &RequestFacts,
) -> AuthzDecision {
    let mut decided_by = Vec::new();
    let mut misses = Vec::new();
    let mut by_action: BTreeMap<AuthzAction, Vec<PolicyMatch>> = BTreeMap::new();
    let mut has_allow = false;
    let mut ordered: Vec<&(&AuthorizationPolicy, &'static str)> = applicable.iter().collect();
    ordered.sort_by(|a, b| {
        (&a.0.meta.namespace, &a.0.meta.name).cmp(&(&b.0.meta.namespace, &b.0.meta.name))
    });
    let mut dry_run = Vec::new();
    let custom = custom_build(res, applicable, facts.http.is_none());
    for (policy, scope) in ordered {
        if policy.spec.action == AuthzAction::Custom {
            if let CustomBuild::IgnoredOnTcp(provider) = &custom {
                decided_by.push(Decision::by(
                    object_ref(KIND, &policy.meta),
                    "authz/custom",
                    format!(
                        "CUSTOM provider {provider} is an HTTP ext_authz service: istiod builds \
                         no CUSTOM filter on a TCP filter chain, so this policy is ignored here"
                    ),
                ));
                continue;
            }
        }
        if is_dry_run(policy) {
            // Istio builds these as RBAC shadow rules: evaluated and logged, never enforced.
            let mut ignored_misses = Vec::new();
            let matches = policy_matches(
                res,
                policy,
                facts,
                scope,
                &mut decided_by,
                &mut ignored_misses,
            );
            decided_by.push(Decision::by(
                object_ref(KIND, &policy.meta),
                "authz/dry-run",
                format!(
                    "{DRY_RUN_ANNOTATION}: \"true\": {} shadow rule(s) matched; not enforced",
                    matches.len()
                ),
            ));
            dry_run.extend(matches);
            continue;
        }
        has_allow |= policy.spec.action == AuthzAction::Allow;
        let matches = policy_matches(res, policy, facts, scope, &mut decided_by, &mut misses);
        by_action
            .entry(policy.spec.action)
            .or_default()
            .extend(matches);
    }
    // Envoy keeps RBAC policies in a map ordered by name and reports the first that matches.
    for v in by_action.values_mut() {
        v.sort_by(|a, b| a.policy_id.cmp(&b.policy_id));
    }
    let first = |a: AuthzAction| by_action.get(&a).and_then(|v| v.first()).cloned();

    if let Some(mut m) = first(AuthzAction::Custom) {
        let bad_provider = match &custom {
            CustomBuild::BadProvider(why) => Some(why.clone()),
            _ => None,
        };
        let (reason, details) = match &bad_provider {
            Some(why) => {
                m.policy_id = format!(
                    "{EXT_AUTHZ_MATCH_PREFIX}-{}{BAD_CUSTOM_ACTION_SUFFIX}",
                    m.policy_id
                );
                (
                    format!(
                        "denied by {}: istiod could not use the CUSTOM provider ({why}) and \
                         generated a deny rule for every CUSTOM rule instead",
                        m.policy_id
                    ),
                    rbac_denied_details(Some(&m.policy_id)),
                )
            }
            None => (
                format!(
                    "denied by CUSTOM {}: meshsim runs no ext_authz provider, so a matching CUSTOM policy denies",
                    m.policy_id
                ),
                EXT_AUTHZ_DENIED.to_string(),
            ),
        };
        decided_by.push(Decision::by(m.policy.clone(), "authz/result", reason));
        return AuthzDecision {
            allowed: false,
            matched: Some(m),
            audited: Vec::new(),
            misses,
            dry_run,
            details: Some(details),
            decided_by,
            custom_provider_error: bad_provider,
        };
    }
    let audited = by_action
        .get(&AuthzAction::Audit)
        .cloned()
        .unwrap_or_default();
    if let Some(m) = first(AuthzAction::Deny) {
        decided_by.push(Decision::by(
            m.policy.clone(),
            "authz/result",
            format!(
                "denied by DENY {}; a DENY is final, no ALLOW can override it",
                m.policy_id
            ),
        ));
        let details = Some(rbac_denied_details(Some(&m.policy_id)));
        return AuthzDecision {
            allowed: false,
            matched: Some(m),
            audited,
            misses,
            dry_run,
            details,
            decided_by,
            custom_provider_error: None,
        };
    }
    if !has_allow {
        decided_by.push(Decision::default(
            "authz/result",
            "allowed: no ALLOW policy applies to the workload",
        ));
        return AuthzDecision {
            allowed: true,
            matched: None,
            audited,
            misses,
            dry_run,
            details: None,
            decided_by,
            custom_provider_error: None,
        };
    }
    match first(AuthzAction::Allow) {
        Some(m) => {
            decided_by.push(Decision::by(
                m.policy.clone(),
                "authz/result",
                format!("allowed by ALLOW {}", m.policy_id),
            ));
            AuthzDecision {
                allowed: true,
                matched: Some(m),
                audited,
                misses,
                dry_run,
                details: None,
                decided_by,
                custom_provider_error: None,
            }
        }
        None => {
            decided_by.push(Decision::default(
                "authz/result",
                "denied: ALLOW policies apply to the workload and none matches",
            ));
            AuthzDecision {
                allowed: false,
                matched: None,
                audited,
                misses,
                dry_run,
                details: Some(rbac_denied_details(None)),
                decided_by,
                custom_provider_error: None,
            }
        }
    }
}
